//! Storage (docs/ARCHITECTURE.md, storage and the change feed): the embedded SQLite database in the data dir.
//!
//! - `migrate`: the SQL files of `migrations/sqlite/`, embedded, run in order at start.
//! - `sqlite`: the flights and the change feed: one transaction per cycle,
//!   restore on restart, reads of older events, retention.

pub mod migrate;
pub mod sqlite;

pub use sqlite::{Checkpointer, CycleWrite, Database, DbError, Restored};
