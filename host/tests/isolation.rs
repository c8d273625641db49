//! Misbehaving guests (real wasm crates in tests/guests): each fault fails
//! only that plugin's call, the host and other plugins keep working, and
//! repeated faults quarantine the plugin until its file changes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Recorder, detector_manifest, guest, put, squawk_changes};
use swim::plugin::{CallError, Fault, PluginAction, Registry, Status, watcher};
use swim::wit::Context;

const THRESHOLD: u32 = 3;

fn open(
    mode: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    Arc<Registry>,
    Recorder,
    watcher::DirWatcher,
) {
    let (tmp, dir) = common::plugins_dir();
    put(
        &dir,
        "bad.toml",
        detector_manifest("bad", &format!("mode = \"{mode}\""), THRESHOLD).as_bytes(),
    );
    put(&dir, "bad.wasm", &guest("misbehave"));
    let recorder = Recorder::default();
    let (registry, watch) = watcher::open_watched(dir.clone(), None, recorder.sink()).unwrap();
    (tmp, dir, registry, recorder, watch)
}

fn call_bad(registry: &Registry) -> Result<usize, Fault> {
    let slot = registry.slot("bad").unwrap();
    match slot.detect(
        &Context::empty(0),
        &squawk_changes(&[(1, None, Some(1200))]),
    ) {
        Ok(d) => Ok(d.events.len()),
        Err(CallError::Fault { fault, .. }) => Err(fault),
        Err(other) => panic!("unexpected call error: {other}"),
    }
}

/// The other plugins still answer correctly.
fn assert_others_work(registry: &Registry) {
    let squawk = registry.slot("squawk").unwrap();
    let d = squawk
        .detect(
            &Context::empty(0),
            &squawk_changes(&[(9, Some(1), Some(7700))]),
        )
        .unwrap();
    assert_eq!(d.events.len(), 1);
}

#[test]
fn an_infinite_loop_is_stopped_by_its_deadline() {
    let (_tmp, _dir, registry, _, _watch) = open("loop");
    assert_eq!(call_bad(&registry), Err(Fault::Timeout { ms: 100 }));
    assert_others_work(&registry);
}

#[test]
fn allocating_past_the_memory_limit_traps() {
    let (_tmp, _dir, registry, _, _watch) = open("oom");
    match call_bad(&registry) {
        Err(Fault::OutOfMemory {
            limit_mb: 16,
            requested_mb,
        }) => assert!(requested_mb > 16),
        other => panic!("expected out of memory, got {other:?}"),
    }
    assert_others_work(&registry);
}

#[test]
fn a_panic_traps_with_the_panic_message() {
    let (_tmp, _dir, registry, _, _watch) = open("panic");
    match call_bad(&registry) {
        Err(Fault::Trap(message)) => assert!(message.contains("panicking on purpose"), "{message}"),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_others_work(&registry);
}

#[test]
fn repeated_faults_quarantine_the_plugin_until_its_file_changes() {
    for mode in ["loop", "oom", "panic"] {
        let (_tmp, dir, registry, recorder, _watch) = open(mode);
        for _ in 0..THRESHOLD {
            assert!(
                !matches!(call_bad(&registry), Ok(_) | Err(Fault::Quarantined { .. })),
                "{mode}"
            );
        }
        let slot = registry.slot("bad").unwrap();
        assert_eq!(slot.status(), Status::Quarantined, "{mode}");
        assert!(
            registry
                .active(swim::plugin::Kind::Detector)
                .iter()
                .all(|s| s.name() != "bad")
        );
        assert!(
            matches!(
                call_bad(&registry),
                Err(Fault::Quarantined {
                    faults: THRESHOLD,
                    ..
                })
            ),
            "{mode}"
        );
        assert_eq!(
            slot.snapshot().calls,
            u64::from(THRESHOLD),
            "a quarantined plugin is not called"
        );
        assert_eq!(
            recorder.actions("bad").last(),
            Some(&PluginAction::Quarantined)
        );
        assert_others_work(&registry);

        put(
            &dir,
            "bad.toml",
            detector_manifest("bad", "mode = \"echo\"", THRESHOLD).as_bytes(),
        );
        common::wait_until(Duration::from_secs(2), || slot.status() == Status::Active)
            .expect("lifted on file change");
        assert_eq!(call_bad(&registry), Ok(1), "{mode}");
    }
}

#[test]
fn a_quarantined_override_gives_way_to_the_builtin_until_its_file_changes() {
    let (_tmp, dir) = common::plugins_dir();
    let manifest =
        |mode: &str| detector_manifest("departure", &format!("mode = \"{mode}\""), THRESHOLD);
    put(&dir, "departure.toml", manifest("panic").as_bytes());
    put(&dir, "departure.wasm", &guest("misbehave"));
    let recorder = Recorder::default();
    let (registry, _watch) = watcher::open_watched(dir.clone(), None, recorder.sink()).unwrap();
    let slot = registry.slot("departure").unwrap();
    let origin = |slot: &swim::plugin::Slot| slot.snapshot().origin.unwrap();
    assert!(
        origin(&slot).ends_with("departure.wasm"),
        "{}",
        origin(&slot)
    );
    let detect = || {
        slot.detect(
            &Context::empty(0),
            &squawk_changes(&[(1, None, Some(1200))]),
        )
    };
    for _ in 0..THRESHOLD {
        assert!(detect().is_err());
    }
    // Detection goes on with the built-in; the operator is told why.
    assert_eq!(slot.status(), Status::Active);
    assert_eq!(origin(&slot), "builtin");
    assert!(detect().is_ok());
    let problem = slot.snapshot().problem().unwrap();
    assert!(problem.contains("quarantined after 3"), "{problem}");
    assert!(problem.contains("running: builtin"), "{problem}");
    // A changed file is tried again.
    put(&dir, "departure.toml", manifest("echo").as_bytes());
    common::wait_until(Duration::from_secs(5), || origin(&slot) != "builtin")
        .expect("the file's version is back after it changed");
    assert_eq!(detect().map(|d| d.events.len()), Ok(1));
    assert_eq!(slot.snapshot().problem(), None);
}

#[test]
fn a_manifest_over_the_operators_ceiling_is_refused_naming_it() {
    let (_tmp, dir) = common::plugins_dir();
    put(
        &dir,
        "bad.toml",
        detector_manifest("bad", "", THRESHOLD).as_bytes(),
    );
    put(&dir, "bad.wasm", &guest("misbehave"));
    // The manifest asks for 16 MiB; this operator allows 8.
    let policy = swim::plugin::Policy {
        ceiling: swim::plugin::manifest::Limits {
            memory_mb: 8,
            ..swim::plugin::manifest::CEILING
        },
        ..Default::default()
    };
    let (registry, _watch) =
        watcher::open_watched_with(dir.clone(), None, Recorder::default().sink(), policy).unwrap();
    let status = registry.slot("bad").unwrap().snapshot();
    assert_eq!(status.status, Status::Failed);
    let why = status.rejected.unwrap();
    assert!(
        why.contains("memory_mb = 16 is over the gateway's ceiling of 8"),
        "{why}"
    );
}

#[test]
fn a_fixed_file_restores_a_faulting_plugin() {
    let (_tmp, dir, registry, _, _watch) = open("panic");
    for _ in 0..THRESHOLD - 1 {
        assert!(call_bad(&registry).is_err());
    }
    put(
        &dir,
        "bad.toml",
        detector_manifest("bad", "mode = \"echo\"", THRESHOLD).as_bytes(),
    );
    registry.reload("bad");
    assert_eq!(call_bad(&registry), Ok(1));
    assert_eq!(registry.slot("bad").unwrap().status(), Status::Active);
}

#[test]
fn a_guest_reaches_no_file_environment_or_network() {
    let (_tmp, _dir, registry, _, _watch) = open("escape");
    let slot = registry.slot("bad").unwrap();
    let detection = slot
        .detect(&Context::empty(0), &squawk_changes(&[(1, None, None)]))
        .unwrap();
    let seen: serde_json::Value = serde_json::from_str(&detection.events[0].payload).unwrap();
    assert_eq!(
        seen,
        serde_json::json!({"file": false, "env": 0, "args": 0, "net": false})
    );
}

/// A fresh file first runs as a baseline (Winch) build: the same deadline
/// and memory limit hold there.
#[test]
fn the_baseline_build_enforces_the_same_limits() {
    use swim::plugin::engine::Tier;
    use swim::plugin::source::Source;
    use swim::plugin::version::{FilterParams, Origin};
    let loader = swim::plugin::Loader::new(None).unwrap();
    for (mode, expect_oom) in [("loop", false), ("oom", true)] {
        let source = Source {
            name: "bad".into(),
            origin: Origin::Builtin,
            bytes: guest("misbehave"),
            manifest: Some(detector_manifest(
                "bad",
                &format!("mode = \"{mode}\""),
                THRESHOLD,
            )),
        };
        let version = loader
            .load(&source, FilterParams::default(), Tier::Baseline)
            .unwrap();
        assert_eq!(version.tier, Tier::Baseline);
        let slot = swim::plugin::Slot::new("bad", Recorder::default().sink());
        slot.install(Arc::new(version));
        let fault = match slot.detect(&Context::empty(0), &squawk_changes(&[(1, None, Some(1))])) {
            Err(CallError::Fault { fault, .. }) => fault,
            other => panic!("{mode}: expected a fault, got {other:?}"),
        };
        match fault {
            Fault::OutOfMemory { .. } => assert!(expect_oom, "{mode}"),
            Fault::Timeout { ms: 100 } => assert!(!expect_oom, "{mode}"),
            other => panic!("{mode}: unexpected {other:?}"),
        }
    }
}
