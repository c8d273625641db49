//! The cycle (docs/ARCHITECTURE.md: the one-way flow): a source's batch is merged into the
//! store, the detectors see the changes, their owned patches are applied,
//! and the cycle's events are stamped with `seq`.
//!
//! - `event`: events and their PERTI-shaped payloads.
//! - `cycle`: one cycle, start to end.
//! - `throttle`: which changed flights a cycle writes to the database.
//! - `worker`: the thread that runs cycles in order, persists, publishes.

pub mod cycle;
pub mod event;
mod programs;
pub mod throttle;
pub mod worker;

pub use cycle::{CycleOutput, Pipeline, StageTimings};
pub use worker::{Retention, Shared, Work, Worker};
