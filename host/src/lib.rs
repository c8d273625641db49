//! VATSWIM, the hub for real-time flight information in the VATSIM network.
//!
//! Data flows one way: source -> adapter -> store -> detectors -> change
//! feed -> fan-out. This crate is the host: the `swim` binary and the
//! library its tests start in-process.

pub mod bench;
pub mod cli;
pub mod flight;
pub mod pipeline;
pub mod plugin;
pub mod source;
pub mod store;
pub mod telemetry;
