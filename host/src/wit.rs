//! The WIT contract `vatswim:plugin@0.1.0` as host types: the bindings, one
//! module per world, and the kind of plugin each world makes. The `types`
//! and `host` interfaces are generated once (with the detector world) and
//! shared, so one `Flight` type serves all three worlds.
//!
//! At the crate root, not inside `plugin/`: the store, ingest and the
//! pipeline speak these types (patches, field values) as much as the
//! plugin runtime does, and none of them should depend on the runtime.

/// The version of the WIT package this host implements.
pub const PACKAGE: &str = "vatswim:plugin";
/// See [`PACKAGE`].
pub const PACKAGE_VERSION: &str = "0.1.0";

/// The three kinds of plugin, one per WIT world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Turns changes into events and owned-field patches.
    Detector,
    /// Turns a partner's body into patches (`POST /ingest/{route}`).
    IngestAdapter,
    /// Matches events for subscribers.
    SubscriptionFilter,
}

impl Kind {
    /// The WIT world name of this kind.
    pub fn world(self) -> &'static str {
        match self {
            Kind::Detector => "detector",
            Kind::IngestAdapter => "ingest-adapter",
            Kind::SubscriptionFilter => "subscription-filter",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.world())
    }
}

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
