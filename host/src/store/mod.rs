//! The unified flight store (SPEC section 4).
//!
//! - `flights`: the records, merged from each feed snapshot into changes.
//! - `authority`: who may write which section, and applying patches field
//!   by field with a reason for every refusal.

pub mod authority;
pub mod flights;

pub use flights::{Change, FlightStore};
