//! A plugin's optimized build in a fresh slot, as the benchmarks call it
//! (the gateway's own loading path, without a registry).

use std::sync::Arc;

use crate::plugin::engine::Tier;
use crate::plugin::source::{self, Source};
use crate::plugin::version::{FilterParams, Origin};
use crate::plugin::{Loader, Slot, events};

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
