//! Each built-in plugin loads from the binary and its world's calls return
//! what the plugin's logic says, for real inputs.

mod common;

use common::{Recorder, squawk_changes};
use swim::flight::Phase;
use swim::plugin::columns::{self, Subject};
use swim::plugin::slot::{DEFAULT_FILTER_BUDGET_PERCENT, FilterTrial};
use swim::plugin::{FilterError, Kind, PluginAction, Registry, Status};
use swim::wit::{Context, FieldValue, FlightRef};

fn registry() -> (std::sync::Arc<Registry>, Recorder, tempfile::TempDir) {
    let (tmp, dir) = common::plugins_dir();
    let recorder = Recorder::default();
    let registry = Registry::open(Some(dir), None, recorder.sink()).expect("open registry");
    (registry, recorder, tmp)
}

#[test]
fn every_builtin_loads_active_from_the_binary() {
    let (registry, recorder, _tmp) = registry();
    let statuses = registry.statuses();
    let names: Vec<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "adl",
            "arrival",
            "departure",
            "edct",
            "fleet",
            "metering",
            "nearby",
            "squawk",
            "tmi",
            "track"
        ]
    );
    for status in &statuses {
        assert_eq!(status.status, Status::Active, "{status:?}");
        assert_eq!(status.origin.as_deref(), Some("builtin"));
        assert_eq!(recorder.actions(&status.name), [PluginAction::Loaded]);
    }
    assert_eq!(registry.active(Kind::Detector).len(), 5);
    assert!(registry.adapter_for_route("track").is_some());
}

#[test]
fn squawk_reports_each_new_emergency_once() {
    let (registry, _, _tmp) = registry();
    let squawk = registry.slot("squawk").unwrap();
    let changes = squawk_changes(&[
        (1, Some(2000), Some(7700)),
        (2, Some(7600), Some(7600)),
        (3, Some(1200), Some(7500)),
        (4, Some(7700), Some(2000)),
        (5, None, Some(1200)),
    ]);
    let detection = squawk.detect(&Context::empty(0), &changes).unwrap();
    let seen: Vec<(u64, &str, serde_json::Value)> = detection
        .events
        .iter()
        .map(|e| {
            (
                e.flight_uid.unwrap(),
                e.kind.as_str(),
                serde_json::from_str(&e.payload).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                1,
                "flight.emergency",
                serde_json::json!({"squawk": "7700", "emergency": "general_emergency"})
            ),
            (
                3,
                "flight.emergency",
                serde_json::json!({"squawk": "7500", "emergency": "unlawful_interference"})
            ),
        ]
    );
    assert!(detection.patches.is_empty());
}

#[test]
fn track_turns_a_perti_body_into_position_patches() {
    let (registry, _, _tmp) = registry();
    let track = registry.adapter_for_route("track").unwrap();
    let body = br#"{"tracks":[
        {"callsign":"ual123","latitude":40.6413,"longitude":-73.7781,"altitude_ft":35000,
         "ground_speed_kts":450,"squawk":"1200","track_source":"radar","timestamp":"2026-01-16T12:00:00Z"},
        {"callsign":"DAL1","latitude":95.0,"longitude":0},
        {"latitude":1,"longitude":2},
        {"callsign":"AAL9","latitude":10,"longitude":20,"squawk":"7780"}
    ]}"#;
    let parsed = track.parse("application/json", body).unwrap().unwrap();
    // AAL9's bad squawk leaves out the squawk, not its position.
    let applied: Vec<u32> = parsed.items.iter().map(|i| i.index).collect();
    assert_eq!(applied, [0, 3]);
    let FieldValue::Position(aal9) = &parsed.items[1].patch.fields[0] else {
        panic!("expected a position patch")
    };
    assert_eq!((aal9.lat, aal9.lon, aal9.squawk), (10.0, 20.0, None));
    let item = &parsed.items[0];
    assert_eq!(item.index, 0);
    assert!(matches!(&item.patch.flight, FlightRef::Callsign(c) if c == "UAL123"));
    let FieldValue::Position(p) = &item.patch.fields[0] else {
        panic!("expected a position patch")
    };
    assert_eq!(
        (
            p.lat,
            p.lon,
            p.altitude_ft,
            p.groundspeed_kts,
            p.heading_deg
        ),
        (40.6413, -73.7781, Some(35000), Some(450), None)
    );
    assert_eq!((p.squawk, p.updated_at), (Some(1200), 1_768_564_800_000));
    let faults: Vec<(u32, &str)> = parsed
        .errors
        .iter()
        .map(|e| (e.index, e.field.as_str()))
        .collect();
    assert_eq!(faults, [(1, "latitude"), (2, "callsign"), (3, "squawk")]);
    assert!(
        parsed.errors[0].message.contains("between -90 and 90"),
        "{}",
        parsed.errors[0].message
    );
}

#[test]
fn track_refuses_whole_bodies_it_cannot_read() {
    let (registry, _, _tmp) = registry();
    let track = registry.adapter_for_route("track").unwrap();
    let refusal = |body: &[u8]| track.parse("application/json", body).unwrap().unwrap_err();
    assert!(refusal(b"{not json").starts_with("body is not valid JSON"));
    assert_eq!(
        refusal(br#"{"flights":[]}"#),
        r#"body must be an object with a "tracks" array"#
    );
    let over: Vec<String> = (0..1001)
        .map(|i| format!(r#"{{"callsign":"X{i}","latitude":1,"longitude":1}}"#))
        .collect();
    let body = format!(r#"{{"tracks":[{}]}}"#, over.join(","));
    assert_eq!(
        refusal(body.as_bytes()),
        "1001 tracks is over the limit of 1000 per request"
    );
}

fn subject(uid: u64, callsign: &str) -> Subject<'_> {
    Subject {
        flight_uid: uid,
        callsign,
        dept_icao: "KJFK",
        dest_icao: "EGLL",
        lat: 45.0,
        lon: -40.0,
        altitude_ft: 36_000,
        phase: Phase::Enroute,
    }
}

#[test]
fn fleet_matches_each_compiled_filter_in_one_batch() {
    let (registry, _, _tmp) = registry();
    let fleet = registry.slot("fleet").unwrap();
    let dal = fleet
        .compile_filter(r#"{"callsigns":["dal*"]}"#, &FilterTrial::default())
        .unwrap();
    let exact = fleet
        .compile_filter(
            r#"{"callsigns":["BAW117","AAL1"]}"#,
            &FilterTrial::default(),
        )
        .unwrap();
    let batch = columns::subjects([
        subject(1, "DAL44"),
        subject(2, "BAW117"),
        subject(3, "AAL10"),
        subject(4, "dal9"),
    ]);
    let mut matches = fleet
        .match_batch(&batch, DEFAULT_FILTER_BUDGET_PERCENT)
        .unwrap()
        .matches;
    matches.sort_by_key(|m| m.filter);
    let got: Vec<(u32, Vec<u32>)> = matches
        .into_iter()
        .map(|m| (m.filter, m.subjects))
        .collect();
    assert_eq!(got, [(dal, vec![0, 3]), (exact, vec![1])]);

    fleet.release_filter(dal).unwrap();
    let after: Vec<u32> = fleet
        .match_batch(&batch, DEFAULT_FILTER_BUDGET_PERCENT)
        .unwrap()
        .matches
        .iter()
        .map(|m| m.filter)
        .collect();
    assert_eq!(after, [exact]);
}

/// `n` prefixes no callsign has: each costs the fleet plugin a comparison
/// per subject, so enough of them take any batch past a deadline.
fn costly_fleet(n: usize) -> String {
    let prefixes: Vec<String> = (0..n).map(|i| format!("Q{i}*")).collect();
    serde_json::json!({ "callsigns": prefixes }).to_string()
}

#[test]
fn a_filter_too_costly_alone_is_refused_before_it_joins_the_shared_instance() {
    let (registry, _, _tmp) = registry();
    let fleet = registry.slot("fleet").unwrap();
    let names: Vec<String> = (0..20_000).map(|i| format!("DAL{i}")).collect();
    let probe = columns::subjects(names.iter().enumerate().map(|(i, n)| subject(i as u64, n)));
    let trial = FilterTrial {
        probe,
        budget_percent: 40,
    };
    let err = fleet
        .compile_filter(&costly_fleet(6_000), &trial)
        .unwrap_err();
    assert!(matches!(err, FilterError::TooCostly(_)), "{err}");
    assert!(err.to_string().contains("on 20000 flights"), "{err}");
    // An ordinary filter passes the same trial; the refusal was not the
    // plugin's fault.
    fleet
        .compile_filter(r#"{"callsigns":["DAL1*"]}"#, &trial)
        .unwrap();
    let status = fleet.snapshot();
    assert_eq!((status.status, status.faults), (Status::Active, 0));
}

#[test]
fn filters_each_within_budget_cannot_add_up_past_the_deadline() {
    let (registry, _, _tmp) = registry();
    let fleet = registry.slot("fleet").unwrap();
    let names: Vec<String> = (0..5_000).map(|i| format!("DAL{i}")).collect();
    let subjects =
        || columns::subjects(names.iter().enumerate().map(|(i, n)| subject(i as u64, n)));
    let trial = FilterTrial {
        probe: subjects(),
        budget_percent: 40,
    };
    // Ten subscribers, each with 2,000 prefixes of its own: each takes
    // milliseconds alone (10 million comparisons), all of them together
    // more than the 50 ms deadline.
    let outcomes: Vec<Result<u32, FilterError>> = (0..10)
        .map(|k| {
            let prefixes: Vec<String> = (0..2_000).map(|i| format!("Q{k}x{i}*")).collect();
            let params = serde_json::json!({ "callsigns": prefixes }).to_string();
            fleet.compile_filter(&params, &trial)
        })
        .collect();
    let refused: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(!refused.is_empty(), "ten costly filters were all taken");
    assert!(
        refused
            .iter()
            .all(|e| e.contains("already take") || e.contains("took more than")),
        "{refused:?}"
    );
    // Those taken are matched (a batch costs about what their trials
    // did; should a loaded machine still push it past the deadline, the
    // costliest are dropped, never the plugin quarantined).
    for _ in 0..3 {
        fleet.match_batch(&subjects(), 40).unwrap();
    }
    assert_eq!(fleet.snapshot().status, Status::Active);
}

#[test]
fn a_filter_that_faults_the_shared_call_is_dropped_alone_and_the_plugin_is_not_quarantined() {
    let (registry, _, _tmp) = registry();
    let fleet = registry.slot("fleet").unwrap();
    let honest = fleet
        .compile_filter(r#"{"callsigns":["DAL7*"]}"#, &FilterTrial::default())
        .unwrap();
    // Compiled with no flights to try it on, so it passes; the traffic
    // then grows past what it can match within the deadline.
    let costly = fleet
        .compile_filter(&costly_fleet(6_000), &FilterTrial::default())
        .unwrap();
    let names: Vec<String> = (0..20_000).map(|i| format!("DAL{i}")).collect();
    let batch = columns::subjects(names.iter().enumerate().map(|(i, n)| subject(i as u64, n)));
    let first = fleet.match_batch(&batch, 40).unwrap();
    assert_eq!(first.too_costly.len(), 1, "{:?}", first.too_costly);
    assert_eq!(first.too_costly[0].0, costly);
    assert!(
        first.too_costly[0].1.contains("deadline"),
        "{:?}",
        first.too_costly
    );
    let honest_matches = |m: &[swim::wit::Matches]| {
        m.iter()
            .find(|m| m.filter == honest)
            .map(|m| m.subjects.len())
    };
    // DAL7, DAL70-79, DAL700-799, DAL7000-7999.
    assert_eq!(honest_matches(&first.matches), Some(1_111));
    for _ in 0..10 {
        let next = fleet.match_batch(&batch, 40).unwrap();
        assert!(next.too_costly.is_empty());
        assert_eq!(honest_matches(&next.matches), Some(1_111));
    }
    assert_eq!(fleet.snapshot().status, Status::Active);
}

#[test]
fn nearby_matches_flights_within_its_radius_as_wasm() {
    let (registry, _, _tmp) = registry();
    let nearby = registry.slot("nearby").unwrap();
    let jfk = nearby
        .compile_filter(
            r#"{"lat": 40.6413, "lon": -73.7781, "radius_nm": 50}"#,
            &FilterTrial::default(),
        )
        .unwrap();
    let at = |uid, lat, lon| Subject {
        lat,
        lon,
        ..subject(uid, "X")
    };
    let batch = columns::subjects([
        at(1, 40.7769, -73.8740), // LGA, 9 nm
        at(2, 42.3656, -71.0096), // BOS, 162 nm
        at(3, f64::NAN, f64::NAN),
    ]);
    let matches = nearby
        .match_batch(&batch, DEFAULT_FILTER_BUDGET_PERCENT)
        .unwrap()
        .matches;
    assert_eq!(matches.len(), 1);
    assert_eq!(
        (matches[0].filter, &matches[0].subjects[..]),
        (jfk, &[0u32][..])
    );
    let refused = nearby
        .compile_filter(r#"{"lat": 40}"#, &FilterTrial::default())
        .unwrap_err();
    assert!(refused.to_string().contains("`lon`"), "{refused}");
}

#[test]
fn fleet_rejects_bad_params_with_the_plugins_message() {
    let (registry, _, _tmp) = registry();
    let fleet = registry.slot("fleet").unwrap();
    let err = fleet
        .compile_filter(r#"{"callsigns":"AAL1"}"#, &FilterTrial::default())
        .unwrap_err();
    assert!(
        matches!(&err, FilterError::Rejected(m) if m.starts_with("params need `callsigns`")),
        "{err}"
    );
    let err = fleet
        .compile_filter(r#"{"callsigns":["AAL1", 7]}"#, &FilterTrial::default())
        .unwrap_err();
    assert_eq!(err.to_string(), "callsigns[1] must be a non-empty string");
    let err = fleet
        .compile_filter("not json", &FilterTrial::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("filter params are not valid JSON"),
        "{err}"
    );
}
