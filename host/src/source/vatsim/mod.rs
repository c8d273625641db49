//! The VATSIM v3 data feed (`https://data.vatsim.net/v3/vatsim-data.json`).
//!
//! - `feed`: the feed's JSON shape, borrowed from the input bytes.
//! - `fields`: the feed's free-text fields (altitudes, squawks, times).
//! - `snapshot`: a parsed feed as flight sections, or why it was refused.
//! - `poller`: fetching it over HTTP on an interval, with backoff.

pub mod feed;
pub mod fields;
pub mod poller;
pub mod snapshot;

pub use snapshot::{FeedError, FeedFlight, Snapshot, parse};
