//! Storage (docs/ARCHITECTURE.md, storage and the change feed): the embedded SQLite database in the data dir.
//!
//! - `migrate`: the SQL files of `migrations/sqlite/`, embedded, run in order at start.
//! - `sqlite`: the flights and the change feed: one transaction per cycle,
//!   restore on restart, reads of older events, retention.

//! - `archive`: the change feed's older events, read from the database.

pub mod archive;
pub mod migrate;
pub mod sqlite;

pub use archive::SqliteArchive;
pub use sqlite::{Checkpointer, CycleWrite, Database, DbError, Restored};
