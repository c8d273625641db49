//! A plugin's optimized build in a fresh slot, as the benchmarks call it
//! (the gateway's own loading path, without a registry).

use std::sync::Arc;

use swim::plugin::engine::Tier;
use swim::plugin::manifest::Limits;
use swim::plugin::policy::Policy;
use swim::plugin::source::{self, Source};
use swim::plugin::version::{FilterParams, Origin};
use swim::plugin::{Loader, Slot, events};

/// The loader the benchmarks time plugins with: the gateway's, with a
/// ceiling that lets a manifest give a benchmark's batches (10,000 items,
/// a debug build) room no gateway's operator would allow by default.
pub fn loader(cache_dir: Option<std::path::PathBuf>) -> anyhow::Result<Loader> {
    let policy = Policy {
        ceiling: Limits {
            call_timeout_ms: 60_000,
            memory_mb: 1024,
            ..Policy::default().ceiling
        },
        ..Policy::default()
    };
    Ok(Loader::new(cache_dir)?.with_policy(policy))
}

/// Loads a built-in into a fresh slot, with `manifest` replacing its own if given.
pub fn builtin_slot(
    loader: &Loader,
    name: &str,
    manifest: Option<String>,
) -> anyhow::Result<Arc<Slot>> {
    let builtin = source::builtin(name).ok_or_else(|| anyhow::anyhow!("no built-in {name}"))?;
    installed(
        loader,
        Source {
            name: name.into(),
            origin: Origin::Builtin,
            bytes: builtin.wasm.to_vec(),
            manifest: Some(manifest.unwrap_or_else(|| builtin.manifest.to_string())),
        },
    )
}

/// `source`'s optimized build in a fresh slot.
pub fn installed(loader: &Loader, source: Source) -> anyhow::Result<Arc<Slot>> {
    let slot = Arc::new(Slot::new(&source.name, events::log_only()));
    let version = loader.load(&source, FilterParams::default(), Tier::Optimized)?;
    slot.install(Arc::new(version));
    Ok(slot)
}
