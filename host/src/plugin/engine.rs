//! The one wasmtime engine of the process: its configuration, the epoch
//! ticker that enforces call deadlines, and compilation with an on-disk cache.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

/// How often the epoch advances: the granularity of call deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// The shared engine plus the compile cache directory.
pub struct PluginEngine {
    engine: Engine,
    cache_dir: Option<PathBuf>,
    ticker_stop: Arc<AtomicBool>,
}

impl PluginEngine {
    /// An engine with epoch interruption, its ticker thread, and (if given)
    /// a directory for compiled components.
    pub fn new(cache_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        let engine = Engine::new(&config)
            .map_err(anyhow::Error::from)
            .context("creating the wasm engine")?;
        if let Some(dir) = &cache_dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the plugin cache dir {}", dir.display()))?;
        }
        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_ticker(engine.clone(), ticker_stop.clone());
        Ok(PluginEngine {
            engine,
            cache_dir,
            ticker_stop,
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles a component, or loads it from the cache when these exact
    /// bytes were compiled before by this exact engine build.
    pub fn compile(&self, bytes: &[u8]) -> anyhow::Result<Component> {
        let Some(path) = self.cache_path(bytes) else {
            return Ok(Component::new(&self.engine, bytes)?);
        };
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of this
            // same engine build (the compatibility hash is in its name) into
            // the host's own data dir; a file that fails the header checks is
            // recompiled below.
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring a bad cache entry: {e:#}")
                }
            }
        }
        let component = Component::new(&self.engine, bytes)?;
        if let Err(e) = store_atomically(&path, &component) {
            tracing::warn!(path = %path.display(), "could not cache a compiled plugin: {e:#}");
        }
        Ok(component)
    }

    fn cache_path(&self, bytes: &[u8]) -> Option<PathBuf> {
        let dir = self.cache_dir.as_ref()?;
        let mut engine_hash = DefaultHasher::new();
        self.engine
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

fn spawn_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("plugin-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawn the epoch ticker thread");
}

/// The SHA-256 of a plugin file, as shown to operators.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
