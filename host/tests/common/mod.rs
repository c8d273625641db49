//! Helpers shared by the host's integration tests: real compiled guests,
//! an event recorder, and flight changes to feed detectors.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use swim::flight::{FlightRecord, Position, Reporter};
use swim::plugin::columns;
use swim::plugin::{EventSink, PluginAction, PluginEvent};
use swim::wit::Changes;

/// The bytes of a guest built by the host's build script (`misbehave`, or a
/// built-in such as `vatswim_plugin_fleet`).
pub fn guest(name: &str) -> Vec<u8> {
    let path = Path::new(env!("SWIM_TEST_GUESTS_DIR")).join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("test guest {} missing: {e}", path.display()))
}

/// The embedded bytes of a built-in plugin.
pub fn builtin(name: &str) -> &'static [u8] {
    swim::plugin::source::builtin(name)
        .expect("built-in plugin")
        .wasm
}

/// Writes a plugin file the way writers should: temp file, then rename.
pub fn put(dir: &Path, file: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, dir.join(file)).unwrap();
}

/// A detector manifest for `name` with `config` lines and a fault threshold.
pub fn detector_manifest(name: &str, config: &str, fault_threshold: u32) -> String {
    format!(
        "name = \"{name}\"\nkind = \"detector\"\nversion = \"1.0.0\"\n[config]\n{config}\n[limits]\ncall_timeout_ms = 100\nmemory_mb = 16\nfault_threshold = {fault_threshold}\n"
    )
}

/// Collects `system.plugin` events.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<PluginEvent>>>);

impl Recorder {
    pub fn sink(&self) -> EventSink {
        let events = self.0.clone();
        Arc::new(move |e| events.lock().push(e))
    }

    pub fn actions(&self, plugin: &str) -> Vec<PluginAction> {
        self.0
            .lock()
            .iter()
            .filter(|e| e.plugin == plugin)
            .map(|e| e.action)
            .collect()
    }

    pub fn last(&self, plugin: &str) -> Option<PluginEvent> {
        self.0
            .lock()
            .iter()
            .rev()
            .find(|e| e.plugin == plugin)
            .cloned()
    }
}

/// A flight at a position squawking `squawk`.
pub fn flight(uid: u64, squawk: Option<u16>) -> FlightRecord {
    FlightRecord {
        flight_uid: uid,
        position: Some(Position {
            lat: 40.64,
            lon: -73.78,
            altitude_ft: 12_000,
            heading_deg: 90,
            groundspeed_kts: 280,
            vertical_rate_fpm: 1500,
            squawk,
            updated_at: 1_700_000_000_000,
            reported_by: Reporter::Feed,
        }),
        ..FlightRecord::default()
    }
}

/// Changes of squawk, one `(uid, before, after)` per flight, as the columns
/// a detector reading every section receives.
pub fn squawk_changes(items: &[(u64, Option<u16>, Option<u16>)]) -> Changes {
    let pairs: Vec<(FlightRecord, FlightRecord)> = items
        .iter()
        .map(|&(uid, b, a)| (flight(uid, b), flight(uid, a)))
        .collect();
    columns::changes(
        columns::ReadSet::ALL,
        pairs.iter().map(|(b, a)| (b.flight_uid, Some(b), Some(a))),
    )
}

/// Polls `cond` until it holds or `timeout` passes; returns how long it took.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if cond() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

/// A fresh plugins directory.
pub fn plugins_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    (dir, path)
}

/// The crafted v3 feed snapshot in tests/fixtures, parsed.
pub fn fixture_snapshot() -> swim::source::vatsim::Snapshot {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vatsim-v3-small.json"
    );
    swim::source::vatsim::parse(&std::fs::read(path).unwrap()).unwrap()
}
