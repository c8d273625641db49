//! The change feed's archive (`feed::EventArchive`) in the embedded
//! database: the events table, read on a read-only connection of its own
//! (WAL lets it read while the pipeline writes).

use std::path::PathBuf;

use parking_lot::Mutex;

use super::{Database, DbError};
use crate::feed::{ArchiveError, Event, EventArchive};

/// Events kept in the SQLite database at `path`.
pub struct SqliteArchive {
    path: PathBuf,
    /// Opened on first use: a feed whose readers never look back past
    /// memory never opens it.
    reader: Mutex<Option<Database>>,
}

impl SqliteArchive {
    /// The archive in the database file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteArchive {
            path: path.into(),
            reader: Mutex::new(None),
        }
    }

    fn read<T>(&self, f: impl FnOnce(&Database) -> Result<T, DbError>) -> Result<T, ArchiveError> {
        let mut reader = self.reader.lock();
        let db = match reader.as_ref() {
            Some(db) => db,
            None => reader.insert(Database::open_reader(&self.path).map_err(failed)?),
        };
        f(db).map_err(failed)
    }
}

fn failed(e: DbError) -> ArchiveError {
    ArchiveError(e.to_string())
}

impl EventArchive for SqliteArchive {
    fn events_after(&self, after_seq: u64, limit: usize) -> Result<Vec<Event>, ArchiveError> {
        self.read(|db| db.events_after(after_seq, limit))
    }

    fn oldest_seq(&self) -> Result<Option<u64>, ArchiveError> {
        self.read(Database::oldest_seq)
    }
}
