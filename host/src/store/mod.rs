//! The unified flight store (docs/ARCHITECTURE.md, the unified flight record).
//!
//! - `flights`: the records, merged from each feed snapshot into changes.
//! - `authority`: who may write which section, and applying patches field
//!   by field with a reason for every refusal.
//! - `motion`: vertical rate from one reporter's samples; values past
//!   physical limits withheld.
//! - `partner`: finding and creating the flights partners' ingest names.
//! - `progress`: phase, distance to go, ETA and ARTCCs the host derives.
//! - `view`: the read-only picture REST serves, built once per cycle.
//! - `track`: where each flight has been, from the views published.

pub mod authority;
pub mod flights;
pub mod motion;
pub mod partner;
pub mod progress;
pub mod track;
pub mod view;

pub use flights::{Change, FlightStore};
pub use track::Tracks;
pub use view::FlightsView;
