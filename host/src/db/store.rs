//! The cycle store: where the pipeline persists each cycle and what it
//! restores at start. The seam between the pipeline and the database
//! engine (docs/ARCHITECTURE.md, seams): the embedded SQLite `Database`
//! by default, `PgDatabase` when the gateway runs on PostgreSQL.

use super::DbError;
use super::sqlite::{CycleWrite, Database, Restored};
use crate::tmi::Program;

/// The pipeline's durable state, written once per cycle.
pub trait CycleStore: Send {
    /// The flights and counters as the last committed cycle left them.
    fn restore(&mut self) -> Result<Restored, DbError>;
    /// Active TMI programs and those that ended within the last day.
    fn programs(&mut self, now: i64) -> Result<Vec<Program>, DbError>;
    /// Writes one cycle in one transaction (all or nothing).
    fn persist_cycle(&mut self, write: &CycleWrite<'_>) -> Result<(), DbError>;
    /// The change feed's epoch, if one was started (16 hex digits).
    fn feed_epoch(&mut self) -> Result<Option<String>, DbError>;
    /// Starts a new epoch of the change feed.
    fn set_feed_epoch(&mut self, epoch: &str) -> Result<(), DbError>;
    /// The state a source kept to resume with.
    fn source_state(&mut self, source: &str) -> Result<Option<String>, DbError>;
    /// Stores a source's state to resume with.
    fn set_source_state(&mut self, source: &str, state: &str) -> Result<(), DbError>;
    /// Deletes events past their retention (`flight.positions` before
    /// `positions_before`, others before `events_before`); returns how many.
    fn prune(&mut self, events_before: i64, positions_before: i64) -> Result<usize, DbError>;
    /// The oldest seq still kept.
    fn oldest_seq(&mut self) -> Result<Option<u64>, DbError>;
}

impl CycleStore for Database {
    fn restore(&mut self) -> Result<Restored, DbError> {
        Database::restore(self)
    }
    fn programs(&mut self, now: i64) -> Result<Vec<Program>, DbError> {
        Database::programs(self, now)
    }
    fn persist_cycle(&mut self, write: &CycleWrite<'_>) -> Result<(), DbError> {
        Database::persist_cycle(self, write)
    }
    fn feed_epoch(&mut self) -> Result<Option<String>, DbError> {
        Database::feed_epoch(self)
    }
    fn set_feed_epoch(&mut self, epoch: &str) -> Result<(), DbError> {
        Database::set_feed_epoch(self, epoch)
    }
    fn source_state(&mut self, source: &str) -> Result<Option<String>, DbError> {
        Database::source_state(self, source)
    }
    fn set_source_state(&mut self, source: &str, state: &str) -> Result<(), DbError> {
        Database::set_source_state(self, source, state)
    }
    fn prune(&mut self, events_before: i64, positions_before: i64) -> Result<usize, DbError> {
        Database::prune(self, events_before, positions_before)
    }
    fn oldest_seq(&mut self) -> Result<Option<u64>, DbError> {
        Database::oldest_seq(self)
    }
}
