//! Hot reload: replacing a plugin file while calls run, bad files that must
//! never replace a working version, and removal falling back to a built-in.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::{Recorder, detector_manifest, guest, put, squawk_changes, wait_until};
use swim::plugin::engine::Tier;
use swim::plugin::{PluginAction, Registry, Slot, Status, watcher};
use swim::wit::{Changes, Context};

const LIVE_WITHIN: Duration = Duration::from_secs(1);

/// One emergency among the changes: squawk answers `flight.emergency`
/// once, the echo guest answers `test.echo` for every change.
fn probe_changes() -> Changes {
    squawk_changes(&[(1, Some(2000), Some(7700)), (2, Some(1200), Some(1200))])
}

fn kinds(slot: &Slot) -> Vec<String> {
    let detection = slot
        .detect(&Context::empty(0), &probe_changes())
        .expect("call succeeds");
    detection.events.into_iter().map(|e| e.kind).collect()
}

fn open_watched(
    dir: &std::path::Path,
    recorder: &Recorder,
) -> (Arc<Registry>, watcher::DirWatcher) {
    watcher::open_watched(dir.to_path_buf(), None, recorder.sink()).unwrap()
}

/// A watched plugins dir holding `probe`: a copy of the squawk detector.
struct Probe {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    registry: Arc<Registry>,
    _watch: watcher::DirWatcher,
    recorder: Recorder,
    slot: Arc<Slot>,
}

fn squawk_probe() -> Probe {
    let (_tmp, dir) = common::plugins_dir();
    put(
        &dir,
        "probe.toml",
        detector_manifest("probe", "", 5).as_bytes(),
    );
    put(&dir, "probe.wasm", common::builtin("squawk"));
    let recorder = Recorder::default();
    let (registry, _watch) = open_watched(&dir, &recorder);
    let slot = registry.slot("probe").unwrap();
    Probe {
        _tmp,
        dir,
        registry,
        _watch,
        recorder,
        slot,
    }
}

#[test]
fn replacing_a_file_under_load_fails_no_call_and_is_live_within_a_second() {
    let Probe {
        _tmp,
        dir,
        registry: _,
        _watch,
        recorder,
        slot,
    } = squawk_probe();
    assert_eq!(kinds(&slot), ["flight.emergency"]);

    let (calls, failures, stop) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let caller = {
        let (slot, calls, failures, stop) =
            (slot.clone(), calls.clone(), failures.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match slot.detect(&Context::empty(0), &probe_changes()) {
                    Ok(d) if matches!(d.events.len(), 1 | 2) => {}
                    _ => _ = failures.fetch_add(1, Ordering::Relaxed),
                }
                calls.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    wait_until(Duration::from_secs(5), || {
        calls.load(Ordering::Relaxed) > 50
    })
    .expect("caller runs");

    assert_eq!(
        slot.current().unwrap().tier,
        Tier::Optimized,
        "startup loads optimized builds"
    );
    put(&dir, "probe.wasm", &guest("misbehave"));
    let took = wait_until(LIVE_WITHIN, || kinds(&slot) == ["test.echo", "test.echo"]);
    // The baseline build goes live first; the optimized one replaces it
    // while the caller keeps calling.
    let optimized = wait_until(Duration::from_secs(10), || {
        slot.current()
            .is_some_and(|v| v.tier == Tier::Optimized && v.description.name == "misbehave")
    });
    stop.store(true, Ordering::Relaxed);
    caller.join().unwrap();

    assert!(
        took.is_some(),
        "new version not live within {LIVE_WITHIN:?}"
    );
    assert!(
        optimized.is_some(),
        "the optimized build never replaced the baseline build"
    );
    assert_eq!(kinds(&slot), ["test.echo", "test.echo"]);
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "calls failed during the swaps"
    );
    assert!(calls.load(Ordering::Relaxed) > 50);
    assert_eq!(
        recorder.actions("probe"),
        [PluginAction::Loaded, PluginAction::Reloaded]
    );
}

#[test]
fn a_call_in_flight_finishes_on_the_version_it_started_with() {
    let (_tmp, dir) = common::plugins_dir();
    let slow = detector_manifest("probe", "mode = \"slow\"\ndelay_ms = 300", 5)
        .replace("call_timeout_ms = 100", "call_timeout_ms = 2000");
    put(&dir, "probe.toml", slow.as_bytes());
    put(&dir, "probe.wasm", &guest("misbehave"));
    let registry = Registry::open(Some(dir.clone()), None, Recorder::default().sink()).unwrap();
    let slot = registry.slot("probe").unwrap();

    let in_flight = {
        let slot = slot.clone();
        std::thread::spawn(move || kinds(&slot))
    };
    std::thread::sleep(Duration::from_millis(50));
    put(
        &dir,
        "probe.toml",
        detector_manifest("probe", "", 5).as_bytes(),
    );
    put(&dir, "probe.wasm", common::builtin("squawk"));
    registry.reload("probe");

    assert_eq!(
        kinds(&slot),
        ["flight.emergency"],
        "new calls run on the new version"
    );
    assert_eq!(
        in_flight.join().unwrap(),
        ["test.echo", "test.echo"],
        "the old call finished on the old version"
    );
}

/// Writes a bad `probe.wasm` (and manifest), reloads, and checks the working
/// squawk version still answers and the error says what is wrong.
fn assert_rejected(bytes: &[u8], manifest: &str, expected: &str) {
    let Probe {
        _tmp,
        dir,
        registry,
        _watch,
        recorder,
        slot,
    } = squawk_probe();
    let working = slot.current().unwrap().digest.clone();

    put(&dir, "probe.toml", manifest.as_bytes());
    put(&dir, "probe.wasm", bytes);
    let failed = wait_until(LIVE_WITHIN * 3, || {
        recorder.actions("probe").contains(&PluginAction::Failed)
    });
    assert!(failed.is_some(), "no failure reported for {expected:?}");

    let message = recorder
        .last("probe")
        .and_then(|e| e.message)
        .unwrap_or_default();
    assert!(
        message.contains(expected),
        "error {message:?} does not say {expected:?}"
    );
    assert_eq!(
        slot.current().unwrap().digest,
        working,
        "the working version was replaced"
    );
    assert_eq!(kinds(&slot), ["flight.emergency"]);
    let status = registry
        .statuses()
        .into_iter()
        .find(|s| s.name == "probe")
        .unwrap();
    assert_eq!(status.status, Status::Active);
    assert!(status.last_error.unwrap().contains(expected));
}

#[test]
fn a_corrupt_file_is_rejected_and_the_working_version_stays() {
    let manifest = detector_manifest("probe", "", 5);
    assert_rejected(
        b"this is not wasm at all",
        &manifest,
        "not a WebAssembly file",
    );
    let mut truncated = common::builtin("squawk").to_vec();
    truncated.truncate(truncated.len() / 2);
    assert_rejected(&truncated, &manifest, "not a valid component");
}

#[test]
fn a_core_module_is_rejected_as_not_a_component() {
    let manifest = detector_manifest("probe", "", 5);
    assert_rejected(
        b"\0asm\x01\0\0\0",
        &manifest,
        "a core WebAssembly module, not a component",
    );
}

#[test]
fn a_component_of_the_wrong_world_is_rejected() {
    let manifest = detector_manifest("probe", "", 5);
    assert_rejected(
        common::builtin("fleet"),
        &manifest,
        "implements the subscription-filter world, but its manifest says kind = \"detector\"",
    );
}

#[test]
fn a_plugin_whose_init_fails_is_rejected_with_its_message() {
    let manifest = detector_manifest("probe", "mode = \"init-fail\"", 5);
    assert_rejected(
        &guest("misbehave"),
        &manifest,
        "init failed: refusing to start: mode is init-fail",
    );
}

#[test]
fn removing_an_override_falls_back_to_the_builtin() {
    let (_tmp, dir) = common::plugins_dir();
    let recorder = Recorder::default();
    let (registry, _watch) = open_watched(&dir, &recorder);
    let slot = registry.slot("squawk").unwrap();
    assert_eq!(slot.current().unwrap().origin.label(), "builtin");

    put(
        &dir,
        "squawk.toml",
        detector_manifest("squawk", "", 5).as_bytes(),
    );
    put(&dir, "squawk.wasm", &guest("misbehave"));
    wait_until(LIVE_WITHIN, || kinds(&slot) == ["test.echo", "test.echo"]).expect("override live");

    std::fs::remove_file(dir.join("squawk.wasm")).unwrap();
    std::fs::remove_file(dir.join("squawk.toml")).unwrap();
    wait_until(LIVE_WITHIN, || kinds(&slot) == ["flight.emergency"]).expect("built-in back");
    assert_eq!(slot.current().unwrap().origin.label(), "builtin");
}

#[test]
fn removing_a_plugin_without_builtin_unloads_it() {
    let (_tmp, dir) = common::plugins_dir();
    put(&dir, "probe.wasm", &guest("misbehave"));
    let recorder = Recorder::default();
    let (registry, _watch) = open_watched(&dir, &recorder);
    assert!(
        registry.slot("probe").is_some(),
        "a file with no manifest loads with its world's defaults"
    );
    std::fs::remove_file(dir.join("probe.wasm")).unwrap();
    wait_until(LIVE_WITHIN, || registry.slot("probe").is_none()).expect("unloaded");
    assert_eq!(
        recorder.actions("probe"),
        [PluginAction::Loaded, PluginAction::Unloaded]
    );
}

#[test]
fn a_manifest_alone_configures_the_builtin_and_can_disable_it() {
    let (_tmp, dir) = common::plugins_dir();
    put(
        &dir,
        "squawk.toml",
        b"kind = \"detector\"\nenabled = false\n",
    );
    let recorder = Recorder::default();
    let (registry, _watch) = open_watched(&dir, &recorder);
    let slot = registry.slot("squawk").unwrap();
    assert_eq!(slot.status(), Status::Disabled);
    let active = |r: &Registry| {
        r.active(swim::plugin::Kind::Detector)
            .iter()
            .any(|s| s.name() == "squawk")
    };
    assert!(!active(&registry));
    assert_eq!(slot.current().unwrap().origin.label(), "builtin");

    put(
        &dir,
        "squawk.toml",
        b"kind = \"detector\"\nenabled = true\n",
    );
    wait_until(LIVE_WITHIN, || slot.status() == Status::Active).expect("enabled again");
    assert!(active(&registry));
}

#[test]
fn a_bad_override_at_start_falls_back_to_the_builtin_and_says_why() {
    let (_tmp, dir) = common::plugins_dir();
    // A gateway restarted with these in its plugins dir used to run with
    // no departure or arrival detector at all.
    put(&dir, "departure.wasm", b"\0asm not really");
    put(&dir, "arrival.toml", b"name = \"arrival\"\nkind = [oops");
    let recorder = Recorder::default();
    let registry = Registry::open(Some(dir.clone()), None, recorder.sink()).unwrap();
    for name in ["departure", "arrival"] {
        let status = registry
            .statuses()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap();
        assert_eq!(status.status, Status::Active, "{name}: {status:?}");
        assert_eq!(status.origin.as_deref(), Some("builtin"), "{name}");
        let rejected = status.rejected.clone().expect("the rejection is kept");
        let problem = status.problem().expect("an operator is told");
        assert!(
            problem.contains(&rejected) && problem.contains("running: builtin"),
            "{problem}"
        );
        assert_eq!(
            recorder.actions(name),
            vec![PluginAction::Loaded, PluginAction::Failed],
            "{name}"
        );
    }
    let departure = registry.slot("departure").unwrap();
    assert!(departure.is_callable(), "core detection keeps running");
    // Fixing the file clears the problem.
    std::fs::remove_file(dir.join("departure.wasm")).unwrap();
    registry.reload_optimized("departure");
    let status = registry.slot("departure").unwrap().snapshot();
    assert!(status.problem().is_none(), "{status:?}");
}
