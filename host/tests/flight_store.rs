//! Merging feed snapshots into the flight store: what appears, changes,
//! disconnects and is purged, and that an unchanged flight reports nothing.

mod common;

use swim::flight::Phase;
use swim::source::vatsim::Snapshot;
use swim::store::flights::PURGE_AFTER_MS;
use swim::store::{Change, FlightStore};

const T0: i64 = 1_768_564_800_000; // 2026-01-16T12:00:00Z

fn snapshot() -> Snapshot {
    common::fixture_snapshot()
}

fn callsign(c: &Change) -> String {
    let record = c.after.as_ref().or(c.before.as_ref()).unwrap();
    record.identity.as_ref().unwrap().callsign.clone()
}

#[test]
fn the_first_snapshot_creates_every_flight_with_its_ids() {
    let mut store = FlightStore::new(1);
    let changes = store.merge_snapshot(&snapshot(), T0);
    let names: Vec<String> = changes.iter().map(callsign).collect();
    assert_eq!(names, ["DAL44", "N172SP", "BAW117", "VFR1", "UAL1"]);
    assert!(changes.iter().all(|c| c.before.is_none()));
    let uids: Vec<u64> = changes.iter().map(|c| c.flight_uid).collect();
    assert_eq!(uids, [1, 2, 3, 4, 5]);

    let dal = changes[0].after.as_ref().unwrap();
    let id = dal.identity.as_ref().unwrap();
    assert_eq!(id.gufi_legacy, "VAT-20260116-DAL44-KJFK-EGLL");
    assert_eq!(id.flight_key, "1000001|DAL44|KJFK|EGLL|2330");
    let gufi = uuid::Uuid::parse_str(&id.gufi).expect("a UUID");
    assert_eq!(gufi.get_version_num(), 4);
    assert!(dal.progress.unwrap().is_active);

    let ual = changes[4].after.as_ref().unwrap();
    assert!(ual.position.is_none());
    let progress = ual.progress.unwrap();
    assert_eq!(
        (progress.is_active, progress.phase),
        (false, Phase::Prefile)
    );
}

#[test]
fn an_unchanged_snapshot_changes_nothing_and_a_move_changes_one_flight() {
    let mut store = FlightStore::new(1);
    let first = snapshot();
    store.merge_snapshot(&first, T0);
    assert_eq!(store.merge_snapshot(&first, T0 + 15_000), []);

    let mut moved = first.clone();
    let p = moved.pilots[0].position.as_mut().unwrap();
    p.altitude_ft += 1_000;
    p.updated_at += 15_000;
    let changes = store.merge_snapshot(&moved, T0 + 15_000);
    assert_eq!(changes.len(), 1);
    let (before, after) = (
        changes[0].before.as_ref().unwrap(),
        changes[0].after.as_ref().unwrap(),
    );
    assert_eq!(changes[0].flight_uid, 1);
    assert_eq!(after.position.unwrap().vertical_rate_fpm, 4_000);
    assert_eq!(
        before.identity.as_ref().unwrap().gufi,
        after.identity.as_ref().unwrap().gufi,
        "ids are for life"
    );
}

#[test]
fn leaving_the_feed_disconnects_and_two_hours_later_purges() {
    let mut store = FlightStore::new(1);
    let full = snapshot();
    store.merge_snapshot(&full, T0);
    let mut without = full.clone();
    without.pilots.retain(|p| p.identity.callsign != "N172SP");

    let changes = store.merge_snapshot(&without, T0 + 15_000);
    assert_eq!(changes.len(), 1);
    let gone = changes[0].after.as_ref().unwrap();
    assert_eq!(
        (
            changes[0].flight_uid,
            gone.progress.unwrap().is_active,
            gone.progress.unwrap().phase
        ),
        (2, false, Phase::Disconnected)
    );

    let back = store.merge_snapshot(&full, T0 + 30_000);
    assert_eq!(back.len(), 1);
    assert_eq!(
        (back[0].flight_uid, back[0].before.is_none()),
        (6, true),
        "a reconnect is a new flight"
    );

    let purged = store.merge_snapshot(&full, T0 + 15_000 + PURGE_AFTER_MS);
    assert_eq!(purged.len(), 1);
    assert_eq!((purged[0].flight_uid, purged[0].after.is_none()), (2, true));
    assert!(store.get(2).is_none());
    assert_eq!(store.len(), 5);
}

#[test]
fn a_prefile_that_connects_is_the_same_flight() {
    let mut store = FlightStore::new(1);
    let first = snapshot();
    store.merge_snapshot(&first, T0);
    let mut connected = first.clone();
    let mut ual = connected.prefiles.remove(0);
    ual.position = connected.pilots[0].position;
    connected.pilots.push(ual);

    let changes = store.merge_snapshot(&connected, T0 + 15_000);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].flight_uid, 5);
    let after = changes[0].after.as_ref().unwrap();
    assert!(after.position.is_some() && after.progress.unwrap().is_active);
}

#[test]
fn a_partner_created_flight_outlives_snapshots_without_it_and_is_adopted_by_its_connection() {
    use swim::wit::FieldValue;
    let mut store = FlightStore::new(1);
    let mut without_dal = snapshot();
    let dal = without_dal.pilots.remove(0);
    store.merge_snapshot(&without_dal, T0);
    let fields = [
        FieldValue::IdentityCallsign("DAL44".into()),
        FieldValue::FlightPlanDeptIcao("KJFK".into()),
        FieldValue::FlightPlanDestIcao("EGLL".into()),
    ];
    let uid = store.create_for_partner(&fields, T0).unwrap();
    assert!(store.get(uid).unwrap().partner_created);
    // The feed does not show it: not a disconnection.
    assert_eq!(store.merge_snapshot(&without_dal, T0 + 15_000), []);

    // A restart keeps it a partner's flight.
    let records = store.flights().map(|r| (**r).clone()).collect();
    let mut store = FlightStore::restore(store.next_uid(), records, Default::default());
    assert_eq!(store.merge_snapshot(&without_dal, T0 + 30_000), []);

    // The feed's connection with its callsign takes it over: same uid.
    let mut with_dal = without_dal.clone();
    with_dal.pilots.insert(0, dal);
    let changes = store.merge_snapshot(&with_dal, T0 + 45_000);
    assert_eq!(changes.len(), 1, "{changes:?}");
    let adopted = changes[0].after.as_ref().unwrap();
    assert_eq!(adopted.flight_uid, uid);
    assert!(!adopted.partner_created);
    assert!(adopted.progress.unwrap().is_active);
    let dal44 = swim::wit::FlightRef::Callsign("DAL44".into());
    let lookup = store.lookup([&dal44].into_iter());
    assert_eq!(lookup.resolve(&store, &dal44), Some(uid));
}

/// DAL44 in the feed at 35,012 ft, at `at`.
fn dal44_at(base: &Snapshot, altitude: i32, at: i64) -> Snapshot {
    let mut s = base.clone();
    let p = s.pilots[0].position.as_mut().unwrap();
    p.altitude_ft = altitude;
    p.updated_at = at;
    s
}

/// A partner's track at 8,000 ft, then the feed at 37,000 ft: two
/// reporters' pictures, never a climb (it was 223,794 fpm); the feed's own
/// next sample gives a rate; a rate past the limit is withheld and counted.
#[test]
fn a_jump_between_a_partners_track_and_the_feed_is_never_a_vertical_rate() {
    use swim::store::authority::Writer;
    use swim::wit::{FieldValue, Kind, PositionUpdate};
    let mut store = FlightStore::new(1);
    let base = snapshot();
    store.merge_snapshot(&dal44_at(&base, 37_000, T0), T0);
    let owns = vec!["position".to_string(), "track".to_string()];
    let partner = Writer::Plugin {
        name: "track",
        kind: Kind::IngestAdapter,
        owns: &owns,
    };
    let track = |altitude: i32, at: i64| {
        FieldValue::Position(PositionUpdate {
            lat: 50.0,
            lon: -30.0,
            altitude_ft: Some(altitude),
            heading_deg: None,
            groundspeed_kts: Some(450),
            vertical_rate_fpm: None,
            squawk: None,
            updated_at: at,
        })
    };
    let (after, refused) = store
        .patch(1, partner, &[track(8_000, T0 + 5_000)])
        .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    let rate = |store: &FlightStore| store.get(1).unwrap().position.unwrap().vertical_rate_fpm;
    assert_eq!(after.position.unwrap().altitude_ft, 8_000);
    assert_eq!(rate(&store), 0, "feed then partner: no rate either");
    // The partner's own next sample, 6 s later and 600 ft lower.
    store
        .patch(1, partner, &[track(7_400, T0 + 11_000)])
        .unwrap();
    assert_eq!(rate(&store), -6_000);

    store.merge_snapshot(&dal44_at(&base, 37_000, T0 + 15_000), T0 + 15_000);
    assert_eq!(rate(&store), -6_000, "the jump to the feed is no rate");
    store.merge_snapshot(&dal44_at(&base, 37_500, T0 + 30_000), T0 + 30_000);
    assert_eq!(rate(&store), 2_000, "the feed's own two samples");
    assert_eq!(store.implausible().vertical_rate, 0);

    // 20,000 ft in 15 s: 80,000 fpm, withheld and counted.
    store.merge_snapshot(&dal44_at(&base, 17_500, T0 + 45_000), T0 + 45_000);
    assert_eq!(rate(&store), 2_000, "the last plausible rate stays");
    assert_eq!(store.implausible().vertical_rate, 1);
    // A partner's ground speed past the limit is refused by name; the
    // rest of its position applies.
    let fast = FieldValue::Position(PositionUpdate {
        groundspeed_kts: Some(1_500),
        ..match track(17_000, T0 + 50_000) {
            FieldValue::Position(p) => p,
            _ => unreachable!(),
        }
    });
    let (after, refused) = store.patch(1, partner, &[fast]).unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].field, "position.groundspeed_kts");
    assert!(
        refused[0].message.contains("1500 kt"),
        "{}",
        refused[0].message
    );
    let position = after.position.unwrap();
    assert_eq!(
        (position.altitude_ft, position.groundspeed_kts),
        (17_000, 471),
        "the feed's 471 kt stays"
    );
    assert_eq!(store.implausible().groundspeed, 1);
}
