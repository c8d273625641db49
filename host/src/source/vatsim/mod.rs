//! The VATSIM v3 data feed (`https://data.vatsim.net/v3/vatsim-data.json`).
//!
//! - `feed`: the feed's JSON shape, borrowed from the input bytes.
//! - `controllers`: the ATC positions online (read loosely).
//! - `fields`: the feed's free-text fields (altitudes, squawks, times).
//! - `snapshot`: a parsed feed as flight sections, or why it was refused.
//! - `poller`: fetching it over HTTP on an interval, with backoff.

pub mod controllers;
pub mod feed;
pub mod fields;
pub mod poller;
pub mod snapshot;

pub use controllers::{Controller, ControllerRoster};
pub use snapshot::{FeedError, FeedFlight, Snapshot, parse};
