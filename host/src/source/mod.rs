//! Sources of flight data. A source produces one batch per cycle; a batch
//! is applied atomically (docs/ARCHITECTURE.md, sources).
//!
//! - `vatsim`: the VATSIM v3 data feed, parsed natively (the hot path).
//! - `sim`: the built-in traffic simulator, which writes v3 JSON and keeps
//!   the ground truth.
//! - `replay` and `recording`: snapshots recorded by `swim record`, served again.

pub mod recording;
pub mod replay;
pub mod sim;
pub mod vatsim;
