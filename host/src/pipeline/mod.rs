//! The cycle (DESIGN: the one-way flow): a source's batch is merged into the
//! store, the detectors see the changes, their owned patches are applied,
//! and the cycle's events are stamped with `seq`.
//!
//! - `event`: events and their PERTI-shaped payloads.
//! - `cycle`: one cycle, start to end.

pub mod cycle;
pub mod event;

pub use cycle::{CycleOutput, Pipeline, StageTimings};
pub use event::Event;
