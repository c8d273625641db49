//! The process's wasmtime engines: its configuration, the epoch ticker that
//! enforces call deadlines, and compilation with an on-disk cache.
//!
//! Two compilers, two engines: Winch (a baseline compiler, ~30 ms for a
//! 100 KB plugin) makes a new file live fast; Cranelift (optimizing, ~100-150
//! ms) compiles the version that stays, in the background. Only Cranelift
//! output is cached on disk.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, Strategy};

/// How often the epoch advances: the granularity of call deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// The most the compile cache keeps on disk. A Rust plugin's build is
/// ~1 MB, a Python or JavaScript one ~35 MB: every plugin in use fits, and a
/// partner trying version after version cannot fill the disk. The least
/// recently used entries go first.
pub const CACHE_BUDGET_BYTES: u64 = 512 * 1024 * 1024;

/// Which compiler produced a plugin's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Winch: compiles fast, runs slower; live while the optimized build compiles.
    Baseline,
    /// Cranelift: the code that stays.
    Optimized,
}

/// The two engines plus the compile cache directory.
pub struct PluginEngine {
    optimized: Engine,
    baseline: Engine,
    cache_dir: Option<PathBuf>,
    ticker_stop: Arc<AtomicBool>,
}

fn engine_with(strategy: Strategy) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.strategy(strategy);
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    Engine::new(&config)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("creating the {strategy:?} wasm engine"))
}

impl PluginEngine {
    /// Both engines with epoch interruption, their ticker thread, and (if
    /// given) a directory for compiled components.
    pub fn new(cache_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let optimized = engine_with(Strategy::Cranelift)?;
        // Winch exists for x86_64 and aarch64 only; elsewhere every build is
        // an optimized one (reloads just take longer).
        let baseline = engine_with(Strategy::Winch).unwrap_or_else(|e| {
            tracing::warn!(
                "no baseline compiler on this machine, reloads use Cranelift only: {e:#}"
            );
            optimized.clone()
        });
        if let Some(dir) = &cache_dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the plugin cache dir {}", dir.display()))?;
        }
        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_ticker([optimized.clone(), baseline.clone()], ticker_stop.clone());
        Ok(PluginEngine {
            optimized,
            baseline,
            cache_dir,
            ticker_stop,
        })
    }

    /// The engine of a tier.
    pub fn engine(&self, tier: Tier) -> &Engine {
        match tier {
            Tier::Baseline => &self.baseline,
            Tier::Optimized => &self.optimized,
        }
    }

    /// Whether the optimized build of these bytes is in the disk cache.
    pub fn is_cached(&self, bytes: &[u8]) -> bool {
        self.cache_path(bytes).is_some_and(|p| p.exists())
    }

    /// Compiles a component for `tier`; optimized builds come from (and go
    /// to) the cache when these exact bytes were compiled before by this
    /// exact engine build.
    pub fn compile(&self, bytes: &[u8], tier: Tier) -> anyhow::Result<Component> {
        let cache = self.cache_path(bytes).filter(|_| tier == Tier::Optimized);
        let Some(path) = cache else {
            return Ok(Component::new(self.engine(tier), bytes)?);
        };
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of this
            // same engine build (the compatibility hash is in its name) into
            // the host's own data dir; a file that fails the header checks is
            // recompiled below.
            match unsafe { Component::deserialize_file(&self.optimized, &path) } {
                Ok(component) => {
                    // Used now: the last to be pruned.
                    let _ = touch(&path);
                    return Ok(component);
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring a bad cache entry: {e:#}")
                }
            }
        }
        let component = Component::new(&self.optimized, bytes)?;
        if let Err(e) = store_atomically(&path, &component) {
            tracing::warn!(path = %path.display(), "could not cache a compiled plugin: {e:#}");
        }
        match prune(&path, CACHE_BUDGET_BYTES) {
            Ok(0) => {}
            Ok(n) => tracing::info!("removed {n} least recently used builds from the plugin cache"),
            Err(e) => tracing::warn!("could not prune the plugin cache: {e}"),
        }
        Ok(component)
    }

    fn cache_path(&self, bytes: &[u8]) -> Option<PathBuf> {
        let dir = self.cache_dir.as_ref()?;
        let mut engine_hash = DefaultHasher::new();
        self.optimized
            .precompile_compatibility_hash()
            .hash(&mut engine_hash);
        let digest = hex::encode(Sha256::digest(bytes));
        Some(dir.join(format!("{digest}-{:016x}.cwasm", engine_hash.finish())))
    }
}

impl Drop for PluginEngine {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// Writes to a temporary file then renames, so a reader never sees half a file.
fn store_atomically(path: &Path, component: &Component) -> anyhow::Result<()> {
    let bytes = component.serialize()?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn touch(path: &Path) -> std::io::Result<()> {
    std::fs::File::options()
        .write(true)
        .open(path)?
        .set_modified(std::time::SystemTime::now())
}

/// Deletes the least recently used builds beside `kept` (just written)
/// until the cache holds at most `budget` bytes; how many it deleted.
fn prune(kept: &Path, budget: u64) -> std::io::Result<usize> {
    let Some(dir) = kept.parent() else {
        return Ok(0);
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "cwasm") {
            continue;
        }
        let meta = entry.metadata()?;
        entries.push((meta.modified()?, meta.len(), path));
    }
    let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
    entries.sort();
    let mut deleted = 0;
    for (_, len, path) in entries {
        if total <= budget {
            break;
        }
        if path != kept && std::fs::remove_file(&path).is_ok() {
            total -= len;
            deleted += 1;
        }
    }
    Ok(deleted)
}

fn spawn_ticker(engines: [Engine; 2], stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("plugin-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engines.iter().for_each(Engine::increment_epoch);
            }
        })
        .expect("spawn the epoch ticker thread");
}

/// The SHA-256 of a plugin file, as shown to operators.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn entry(dir: &Path, name: &str, bytes: usize, age_s: u64) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, vec![0u8; bytes]).unwrap();
        let when = SystemTime::now() - Duration::from_secs(age_s);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
        path
    }

    #[test]
    fn the_cache_keeps_its_budget_by_dropping_the_least_recently_used() {
        let dir = tempfile::tempdir().unwrap();
        let oldest = entry(dir.path(), "a.cwasm", 400, 300);
        let old = entry(dir.path(), "b.cwasm", 400, 200);
        let recent = entry(dir.path(), "c.cwasm", 400, 100);
        let other = entry(dir.path(), "notes.txt", 5000, 900);
        let new = entry(dir.path(), "d.cwasm", 400, 0);
        assert_eq!(prune(&new, 1000).unwrap(), 2);
        assert!(!oldest.exists() && !old.exists());
        assert!(recent.exists() && new.exists(), "the most recent stay");
        assert!(other.exists(), "only builds are the cache's to delete");
        // The entry just written stays even when it alone is over budget.
        assert_eq!(prune(&new, 10).unwrap(), 1);
        assert!(new.exists() && !recent.exists());
    }
}
