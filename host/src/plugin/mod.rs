//! The plugin runtime: WebAssembly components behind the WIT contract
//! `vatswim:plugin@0.1.0` (see `wit/`), loaded from the built-ins and the
//! plugins directory, hot-reloaded, and isolated.
//!
//! - `columns`: flights as typed columns, the cheap shape for the boundary.
//! - `engine`: the one wasmtime engine, epoch deadlines, compile cache.
//! - `manifest`: `NAME.toml`.
//! - `order`: which detector runs before which (writers before readers).
//! - `source`: built-ins and the plugins directory.
//! - `validate`: what makes a file acceptable, with exact errors.
//! - `version`: one loaded version and its live instance.
//! - `sandbox`: what an instance may touch (nothing but log and clock).
//! - `fault`: traps, timeouts, out-of-memory.
//! - `slot`: a plugin by name: atomic swap, fault counting, quarantine.
//! - `registry`: all plugins; `watcher`: hot reload.
//! - `events`: `system.plugin` events.

pub mod columns;
pub mod engine;
pub mod events;
pub mod fault;
pub mod manifest;
pub mod order;
pub mod policy;
pub mod registry;
pub mod sandbox;
pub mod slot;
pub mod source;
pub mod validate;
pub mod version;
pub mod watcher;

pub use events::{EventSink, PluginAction, PluginEvent};
pub use fault::Fault;
pub use manifest::{Kind, Manifest};
pub use policy::Policy;
pub use registry::{Loader, Registry};
pub use slot::{CallError, FilterError, PluginStatus, Slot, Status};
