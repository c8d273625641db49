//! Whole cycles: a feed snapshot in, changes and seq-stamped events out,
//! with the built-in detectors (real wasm) and their owned patches applied.

mod common;

use common::{Recorder, detector_manifest, guest, put};
use swim::feed::Event;
use swim::pipeline::Pipeline;
use swim::plugin::Registry;
use swim::source::vatsim::Snapshot;

const T0: i64 = 1_768_564_800_000; // 2026-01-16T12:00:00Z

fn snapshot() -> Snapshot {
    common::fixture_snapshot()
}

/// VFR1 (at KMCO, no destination) moving at `groundspeed` and `altitude`.
fn with_vfr1(base: &Snapshot, groundspeed: i32, altitude: i32, at: i64) -> Snapshot {
    let mut s = base.clone();
    let p = s.pilots[3].position.as_mut().unwrap();
    p.groundspeed_kts = groundspeed;
    p.altitude_ft = altitude;
    p.updated_at = at;
    s
}

fn kinds(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

fn pipeline(dir: std::path::PathBuf) -> Pipeline {
    let registry = Registry::open(Some(dir), None, Recorder::default().sink()).unwrap();
    Pipeline::new(registry, 1, 1)
}

#[test]
fn a_flights_life_becomes_seq_stamped_events() {
    let (_tmp, dir) = common::plugins_dir();
    let mut p = pipeline(dir);
    let base = snapshot();

    let first = p.run_snapshot(&base, T0);
    assert_eq!(
        kinds(&first.events),
        ["flight.created"; 5]
            .iter()
            .copied()
            .chain(["flight.emergency", "flight.positions"])
            .collect::<Vec<_>>()
    );
    assert_eq!(
        first.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 7]
    );
    let created = &first.events[0].data_value();
    assert_eq!(created["callsign"], "DAL44");
    assert_eq!(
        (
            created["dep"].as_str(),
            created["arr"].as_str(),
            created["equipment"].as_str()
        ),
        (Some("KJFK"), Some("EGLL"), Some("B763"))
    );
    assert_eq!(created["altitude_ft"], 35_012);
    let emergency = &first.events[5].data_value();
    assert_eq!(
        (emergency["callsign"].as_str(), emergency["squawk"].as_str()),
        (Some("BAW117"), Some("7700"))
    );
    assert_eq!(
        first.events[6].data_value()["count"],
        4,
        "the prefile has no position"
    );
    assert!(first.issues.is_empty(), "{:?}", first.issues);

    let taxi = p.run_snapshot(&with_vfr1(&base, 12, 12, T0 + 15_000), T0 + 15_000);
    assert_eq!(kinds(&taxi.events), ["flight.positions"]);
    assert_eq!(taxi.events[0].seq, 8);
    let vfr1 = p.store().get(4).unwrap();
    // It moved no distance: it started as long before the sample as
    // reaching 12 kt from a standstill takes (2.4 s at 2.5 kt/s).
    assert_eq!(
        vfr1.times.unwrap().out_utc,
        Some(T0 + 12_600),
        "OUT patched into the store"
    );

    // 250 ft above KMCO (96 ft): off 6 s before the sample that shows it.
    let liftoff = p.run_snapshot(&with_vfr1(&base, 110, 346, T0 + 30_000), T0 + 30_000);
    assert_eq!(
        kinds(&liftoff.events),
        ["flight.departed", "flight.positions"]
    );
    assert_eq!(liftoff.events[0].seq, 9);
    let departed = &liftoff.events[0].data_value();
    assert_eq!(departed["callsign"], "VFR1");
    assert_eq!(departed["flight_uid"], 4);
    assert_eq!(departed["dep"], "KMCO");
    assert_eq!(departed["off_utc"], "2026-01-16T12:00:24Z");
    let change = liftoff.changes.iter().find(|c| c.flight_uid == 4).unwrap();
    assert_eq!(
        change.after.as_ref().unwrap().times.unwrap().off_utc,
        Some(T0 + 24_000),
        "the change carries the patched record"
    );

    let mut gone = with_vfr1(&base, 110, 346, T0 + 30_000);
    gone.pilots.remove(3);
    let left = p.run_snapshot(&gone, T0 + 45_000);
    assert_eq!(kinds(&left.events), ["flight.deleted"]);
    assert_eq!(
        left.events[0].data_value(),
        serde_json::json!({"callsign": "VFR1", "flight_uid": 4})
    );
    assert_eq!(
        (left.events[0].seq, p.next_seq()),
        (11, 12),
        "no gaps, no repeats"
    );
}

#[test]
fn a_faulting_detector_loses_only_its_own_output() {
    let (_tmp, dir) = common::plugins_dir();
    put(
        &dir,
        "bad.toml",
        detector_manifest("bad", "mode = \"panic\"", 5).as_bytes(),
    );
    put(&dir, "bad.wasm", &guest("misbehave"));
    let mut p = pipeline(dir);
    let out = p.run_snapshot(&snapshot(), T0);
    assert!(
        kinds(&out.events).contains(&"flight.emergency"),
        "squawk still ran"
    );
    assert_eq!(out.events.len(), 7);
    assert_eq!(out.issues.len(), 1);
    assert_eq!(out.issues[0].plugin, "bad");
    assert!(
        out.issues[0].message.contains("panicking on purpose"),
        "{}",
        out.issues[0].message
    );
}

/// A cycle's `cdm.edct` payloads.
fn edct_events(out: &swim::pipeline::CycleOutput) -> Vec<serde_json::Value> {
    out.events
        .iter()
        .filter(|e| e.kind == "cdm.edct")
        .map(|e| e.data_value())
        .collect()
}

/// The `tmi` detector writes a flight's EDCT and the `edct` detector reads
/// it: the second runs after the first and sees its patch in the same
/// cycle, so a GDP issued here gives `cdm.edct` (before, the patch was
/// applied after every detector had run and the event never came).
#[test]
fn a_detector_sees_what_an_earlier_one_wrote_in_the_same_cycle() {
    use swim::flight::ControlType;
    use swim::tmi::{ProgramSpec, Scope, TmiCommand};
    let (_tmp, dir) = common::plugins_dir();
    let mut p = pipeline(dir);
    p.run_snapshot(&snapshot(), T0);
    let gdp = ProgramSpec {
        kind: ControlType::Gdp,
        airport: "KJFK".into(),
        start_utc: None,
        end_utc: T0 + 10 * 3_600_000,
        scope: Scope::default(),
        rate: Some(1),
        reason: "VOLUME".into(),
    };
    let (issued, program) = p.run_tmi(TmiCommand::Issue(gdp), T0 + 1_000).unwrap();
    assert!(issued.issues.is_empty(), "{:?}", issued.issues);
    let given = edct_events(&issued);
    assert_eq!(given.len(), 1, "BAW117, on the ground at EGLL: {given:?}");
    let uid = given[0]["flight_uid"].as_u64().expect("the event's flight");
    let record = p.store().get(uid).expect("the flight");
    let edct = record
        .tmi
        .as_ref()
        .and_then(|t| t.edct_utc)
        .expect("an EDCT");
    assert_eq!(given[0]["callsign"], "BAW117");
    assert_eq!(given[0]["ctl_type"], "GDP");
    assert_eq!(given[0]["program_id"], program.id);
    assert_eq!(
        given[0]["edct_utc"],
        vatswim_plugin_api::time::format_utc(edct)
    );

    let (released, _) = p
        .run_tmi(TmiCommand::Release(program.id), T0 + 2_000)
        .unwrap();
    let lifted = edct_events(&released);
    assert_eq!(lifted.len(), 1, "{lifted:?}");
    assert_eq!(lifted[0]["edct_utc"], serde_json::Value::Null);
    assert_eq!(lifted[0]["previous_edct_utc"], given[0]["edct_utc"]);
}

/// Two detectors each reading what the other writes could never be
/// ordered: the second to load is refused, naming both, and the first runs.
#[test]
fn detectors_that_would_depend_on_each_other_in_a_circle_are_refused_naming_them() {
    let (_tmp, dir) = common::plugins_dir();
    let manifest = |name: &str, reads: &str, key: &str, writes: &str| {
        format!(
            "name = \"{name}\"\nkind = \"detector\"\nreads = [\"{reads}\"]\n{key} = [\"{writes}\"]\n"
        )
    };
    let ping = manifest(
        "ping",
        "progress.dist_to_dest_nm",
        "owns",
        "progress.pct_complete",
    );
    let pong = manifest(
        "pong",
        "progress.pct_complete",
        "writes",
        "progress.dist_to_dest_nm",
    );
    put(&dir, "ping.toml", ping.as_bytes());
    put(&dir, "ping.wasm", common::builtin("squawk"));
    put(&dir, "pong.toml", pong.as_bytes());
    put(&dir, "pong.wasm", common::builtin("squawk"));
    let recorder = Recorder::default();
    let registry = Registry::open(Some(dir), None, recorder.sink()).unwrap();
    assert_eq!(
        recorder.actions("ping"),
        [swim::plugin::PluginAction::Loaded]
    );
    let refused = recorder.last("pong").expect("pong was tried");
    assert_eq!(refused.action, swim::plugin::PluginAction::Failed);
    let message = refused.message.unwrap_or_default();
    assert!(message.contains("pong -> ping -> pong"), "{message}");
    assert!(registry.slot("pong").unwrap().current().is_none());
    assert!(
        registry
            .detectors_in_order()
            .iter()
            .any(|(v, _)| v.manifest.name == "ping")
    );
}
