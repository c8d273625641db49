//! Plugins across a cluster (docs/CLUSTER.md, plugins): `swim plugins push`
//! puts `NAME.wasm` (and `NAME.toml`) into the JetStream object store
//! `<STREAM>_PLUGINS`; every instance watches the store and writes each
//! object into its own plugins dir, where the directory watcher hot-loads
//! it as if an operator had dropped it there (validation, the compile
//! cache, quarantine: all as for a local file). A deleted object removes
//! the file. Each instance tells the others its plugins' status on
//! `<STREAM>_PLUGIN_STATUS`, so `/plugins` and `swim plugins list
//! --cluster` show it per instance.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, object_store};
use bytes::Bytes;
use futures_util::StreamExt as _;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt as _;

use crate::plugin::Registry;
use crate::shutdown::Shutdown;

/// How often an instance reports its plugins' status.
pub const STATUS_EVERY: Duration = Duration::from_secs(1);
/// A report older than this is not shown.
const STATUS_STALE: Duration = Duration::from_secs(5);

/// The object store's name.
pub fn bucket(stream: &str) -> String {
    format!("{stream}_PLUGINS")
}

/// The subject statuses go on.
pub fn status_subject(stream: &str) -> String {
    format!("{stream}_PLUGIN_STATUS")
}

/// The object store, created if missing.
pub async fn store(
    js: &jetstream::Context,
    stream: &str,
    replicas: usize,
) -> anyhow::Result<object_store::ObjectStore> {
    let name = bucket(stream);
    if let Ok(store) = js.get_object_store(&name).await {
        return Ok(store);
    }
    let config = object_store::Config {
        bucket: name.clone(),
        description: Some("VATSWIM: plugins pushed to every instance".into()),
        num_replicas: replicas.max(1),
        ..Default::default()
    };
    match js.create_object_store(config).await {
        Ok(store) => Ok(store),
        Err(created) => js.get_object_store(&name).await.map_err(|e| {
            anyhow::anyhow!(
                "the plugin store {name} could not be made ({created}) nor opened ({e})"
            )
        }),
    }
}

/// Pushes a plugin: its manifest first (or removes a stale one), then the
/// component, so an instance never loads the new component with the old
/// manifest for long.
pub async fn push(
    store: &object_store::ObjectStore,
    name: &str,
    wasm: &[u8],
    manifest: Option<&str>,
) -> anyhow::Result<()> {
    let toml = format!("{name}.toml");
    match manifest {
        Some(text) => {
            store
                .put(toml.as_str(), &mut text.as_bytes())
                .await
                .map_err(|e| anyhow::anyhow!("storing {toml}: {e}"))?;
        }
        None => {
            let _ = store.delete(&toml).await;
        }
    }
    let file = format!("{name}.wasm");
    store
        .put(file.as_str(), &mut &wasm[..])
        .await
        .map_err(|e| anyhow::anyhow!("storing {file}: {e}"))?;
    Ok(())
}

/// Whether an object name is one a plugins dir takes (`NAME.wasm`,
/// `NAME.toml`, no path).
fn plugin_file(name: &str) -> bool {
    let stem_ok = |stem: &str| {
        !stem.is_empty()
            && stem
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    match name.rsplit_once('.') {
        Some((stem, "wasm" | "toml")) => stem_ok(stem),
        _ => false,
    }
}

/// Mirrors the store into `dir` until `stop`: each object written (whole,
/// then renamed into place) or removed as the store changes.
pub async fn mirror(store: object_store::ObjectStore, dir: PathBuf, stop: Shutdown) {
    while !stop.is_triggered() {
        if let Err(e) = mirror_once(&store, &dir, &stop).await {
            tracing::warn!(error = %e, "pushed plugins: watching the store failed; again in 1 s");
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = stop.wait() => return,
        }
    }
}

async fn mirror_once(
    store: &object_store::ObjectStore,
    dir: &Path,
    stop: &Shutdown,
) -> anyhow::Result<()> {
    let mut changes = store
        .watch_with_history()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    loop {
        let change = tokio::select! {
            () = stop.wait() => return Ok(()),
            change = changes.next() => change,
        };
        let Some(change) = change else {
            anyhow::bail!("the store's watch ended");
        };
        let info = change.map_err(|e| anyhow::anyhow!("{e}"))?;
        if !plugin_file(&info.name) {
            tracing::warn!(object = %info.name, "pushed plugins: not a NAME.wasm or NAME.toml; ignored");
            continue;
        }
        let path = dir.join(&info.name);
        if info.deleted {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => tracing::info!(file = %path.display(), "pushed plugin removed"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "pushed plugin not removed")
                }
            }
            continue;
        }
        if let Err(e) = fetch(store, &info.name, &path).await {
            tracing::warn!(object = %info.name, error = %e, "pushed plugin not written");
        }
    }
}

/// Writes one object to `path` whole: to a hidden file, then renamed, so
/// the directory watcher never reads half a component.
async fn fetch(store: &object_store::ObjectStore, name: &str, path: &Path) -> anyhow::Result<()> {
    let mut object = store.get(name).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut bytes = Vec::new();
    object.read_to_end(&mut bytes).await?;
    if tokio::fs::read(path).await.is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    tokio::fs::create_dir_all(dir).await?;
    let partial = dir.join(format!(".{name}.pushing"));
    tokio::fs::write(&partial, &bytes).await?;
    tokio::fs::rename(&partial, path).await?;
    tracing::info!(file = %path.display(), bytes = bytes.len(), "pushed plugin written");
    Ok(())
}

/// One plugin's status on one instance, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstancePlugin {
    /// The plugin.
    pub name: String,
    /// `active`, `failed`, `quarantined`, `disabled`.
    pub status: String,
    /// Its version, if loaded.
    pub version: Option<String>,
    /// Its last error, if any.
    pub last_error: Option<String>,
}

/// What one instance reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StatusReport {
    instance: String,
    plugins: Vec<InstancePlugin>,
}

/// Every instance's plugins, as last reported.
#[derive(Default)]
pub struct ClusterPlugins {
    by_instance: RwLock<BTreeMap<String, (Instant, Vec<InstancePlugin>)>>,
}

impl ClusterPlugins {
    /// Each live instance's plugins.
    pub fn current(&self) -> BTreeMap<String, Vec<InstancePlugin>> {
        self.by_instance
            .read()
            .iter()
            .filter(|(_, (at, _))| at.elapsed() < STATUS_STALE)
            .map(|(id, (_, plugins))| (id.clone(), plugins.clone()))
            .collect()
    }

    fn note(&self, report: StatusReport) {
        let mut all = self.by_instance.write();
        all.retain(|_, (at, _)| at.elapsed() < STATUS_STALE * 10);
        all.insert(report.instance, (Instant::now(), report.plugins));
    }
}

/// This instance's plugins as reported to the others.
pub fn statuses_of(registry: &Registry) -> Vec<InstancePlugin> {
    registry
        .statuses()
        .into_iter()
        .map(|s| InstancePlugin {
            status: serde_json::to_value(s.status)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            name: s.name,
            version: s.version,
            last_error: s.last_error,
        })
        .collect()
}

/// Reports this instance's plugins and takes the others' until `stop`.
pub async fn exchange_status(
    client: async_nats::Client,
    stream: String,
    instance: String,
    registry: Arc<Registry>,
    seen: Arc<ClusterPlugins>,
    stop: Shutdown,
) {
    let subject = status_subject(&stream);
    let Ok(mut reports) = client.subscribe(subject.clone()).await else {
        tracing::warn!("plugin statuses: no subscription to {subject}");
        return;
    };
    let mut tick = tokio::time::interval(STATUS_EVERY);
    loop {
        tokio::select! {
            () = stop.wait() => return,
            _ = tick.tick() => {
                let report = StatusReport { instance: instance.clone(), plugins: statuses_of(&registry) };
                if let Ok(json) = serde_json::to_vec(&report) {
                    let _ = client.publish(subject.clone(), Bytes::from(json)).await;
                }
            }
            Some(message) = reports.next() => {
                if let Ok(report) = serde_json::from_slice::<StatusReport>(&message.payload) {
                    seen.note(report);
                }
            }
        }
    }
}

/// Each instance's plugins, heard for `listen` (for `swim plugins list`).
pub async fn listen_status(
    client: &async_nats::Client,
    stream: &str,
    listen: Duration,
) -> anyhow::Result<BTreeMap<String, Vec<InstancePlugin>>> {
    let mut reports = client
        .subscribe(status_subject(stream))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let seen = ClusterPlugins::default();
    let deadline = tokio::time::Instant::now() + listen;
    while let Ok(Some(message)) = tokio::time::timeout_at(deadline, reports.next()).await {
        if let Ok(report) = serde_json::from_slice::<StatusReport>(&message.payload) {
            seen.note(report);
        }
    }
    Ok(seen.current())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_plugin_file_names_reach_a_plugins_dir() {
        for ok in ["geo.wasm", "geo.toml", "my_filter-2.wasm"] {
            assert!(plugin_file(ok), "{ok}");
        }
        for bad in [
            "../x.wasm",
            "x/y.wasm",
            ".wasm",
            "x.so",
            "x",
            "a b.wasm",
            ".hidden.toml",
        ] {
            assert!(!plugin_file(bad), "{bad}");
        }
    }
}
