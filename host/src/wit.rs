//! Host-side bindings of `vatswim:plugin@0.1.0`, one module per world. The
//! `types` and `host` interfaces are generated once (with the detector world)
//! and shared, so one `Flight` type serves all three worlds.

/// The version of the WIT package this host implements.
pub const PACKAGE: &str = "vatswim:plugin";
/// See [`PACKAGE`].
pub const PACKAGE_VERSION: &str = "0.1.0";

/// The `detector` world.
pub mod detector {
    wasmtime::component::bindgen!({
        world: "detector",
        path: "../wit",
    });
}

/// The `ingest-adapter` world.
pub mod ingest_adapter {
    wasmtime::component::bindgen!({
        world: "ingest-adapter",
        path: "../wit",
        with: {
            "vatswim:plugin/types": super::detector::vatswim::plugin::types,
            "vatswim:plugin/host": super::detector::vatswim::plugin::host,
        },
    });
}

/// The `subscription-filter` world.
pub mod subscription_filter {
    wasmtime::component::bindgen!({
        world: "subscription-filter",
        path: "../wit",
        with: {
            "vatswim:plugin/types": super::detector::vatswim::plugin::types,
            "vatswim:plugin/host": super::detector::vatswim::plugin::host,
        },
    });
}

pub use detector::vatswim::plugin::host::LogLevel;
pub use detector::vatswim::plugin::types::*;

impl Context {
    /// A context with nothing in it but the time: what a smoke call sees.
    pub fn empty(now: Timestamp) -> Self {
        Context {
            now,
            airports: Vec::new(),
            programs: Vec::new(),
            program_changes: Vec::new(),
        }
    }
}
