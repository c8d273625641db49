//! Watches the plugins directory and reloads what changed, off the hot path.
//!
//! Writers may save a file in several steps (or overwrite it in place), so
//! events are debounced per plugin name: a name is reloaded once its files
//! have been quiet for [`QUIET`]. A half-written file fails validation and
//! never replaces the working version; the final write triggers another try.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use notify::{RecursiveMode, Watcher as _};

use super::events::EventSink;
use super::registry::Registry;
use super::source::plugin_name;

/// How long a plugin's files must be quiet before it is reloaded.
pub const QUIET: Duration = Duration::from_millis(15);
/// The longest a busy file can postpone its reload.
const MAX_WAIT: Duration = Duration::from_millis(400);

/// Keeps the watch alive; dropping it stops watching.
pub struct DirWatcher {
    _watcher: notify::RecommendedWatcher,
}

/// Opens the registry over `dir` and watches the directory. The watch starts
/// before the registry reads the directory: a file dropped while it opens
/// (compiling the built-ins on a cold cache takes a while, and the address
/// is printed before) is queued and loaded right after, never missed.
pub fn open_watched(
    dir: PathBuf,
    cache_dir: Option<PathBuf>,
    events: EventSink,
) -> anyhow::Result<(Arc<Registry>, DirWatcher)> {
    open_watched_with(dir, cache_dir, events, super::Policy::default())
}

/// Like `open_watched`, holding the directory's files to `policy`.
pub fn open_watched_with(
    dir: PathBuf,
    cache_dir: Option<PathBuf>,
    events: EventSink,
    policy: super::Policy,
) -> anyhow::Result<(Arc<Registry>, DirWatcher)> {
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating the plugins dir {}", dir.display()))?;
    let (tx, rx) = mpsc::channel::<String>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        // Opening and reading a file (as a reload does) is reported too:
        // only changes of content or name matter.
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        for name in event.paths.iter().filter_map(|p| plugin_name(p)) {
            let _ = tx.send(name);
        }
    })
    .context("starting the plugins dir watcher")?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    let registry = Registry::open_with(Some(dir.clone()), cache_dir, events, policy)?;
    let reloads = registry.clone();
    std::thread::Builder::new()
        .name("plugin-reload".into())
        .spawn(move || reload_loop(&reloads, &rx))
        .context("spawning the plugin reload thread")?;
    tracing::info!(dir = %dir.display(), "watching the plugins directory");
    Ok((registry, DirWatcher { _watcher: watcher }))
}

/// Collects changed names until they are quiet, then reloads them; ends
/// when the watcher is dropped.
fn reload_loop(registry: &Registry, rx: &mpsc::Receiver<String>) {
    while let Ok(first) = rx.recv() {
        let mut pending = BTreeSet::from([first]);
        let started = Instant::now();
        loop {
            match rx.recv_timeout(QUIET) {
                Ok(name) => {
                    pending.insert(name);
                    if started.elapsed() < MAX_WAIT {
                        continue;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            break;
        }
        for name in pending {
            registry.reload(&name);
        }
    }
}
