//! Sources of flight data. A source produces one batch per cycle; a batch
//! is applied atomically (SPEC section 5).
//!
//! - `vatsim`: the VATSIM v3 data feed, parsed natively (the hot path).

pub mod vatsim;
