//! Storage (docs/ARCHITECTURE.md, storage and the change feed): the
//! embedded SQLite database in the data dir by default, PostgreSQL when
//! configured (docs/CLUSTER.md).
//!
//! - `store`: `CycleStore`, what the pipeline persists and restores,
//!   whichever the engine.
//! - `migrate`: the SQL files of `migrations/sqlite/`, embedded, run in order at start.
//! - `sqlite`: the flights and the change feed: one transaction per cycle,
//!   restore on restart, reads of older events, retention.
//! - `postgres`: the same on PostgreSQL, with what several instances need.
//! - `archive`: the change feed's older events, read from either database.
//! - `backend`: which engine a gateway uses, chosen by its configuration.

pub mod archive;
pub mod backend;
pub mod migrate;
pub mod postgres;
pub mod sqlite;
pub mod store;

pub use archive::{PgArchive, SqliteArchive};
pub use backend::Backend;
pub use postgres::{PgDatabase, PgUrl};
pub use sqlite::{Checkpointer, CycleWrite, Database, DbError, Restored};
pub use store::CycleStore;
