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

/// Events kept in PostgreSQL (the cluster's archive: every instance reads
/// the events the leader committed).
pub struct PgArchive {
    url: super::PgUrl,
    /// Connected on first use, and again after a failure.
    reader: Mutex<Option<super::PgDatabase>>,
}

impl PgArchive {
    /// The archive in the database at `url`.
    pub fn new(url: super::PgUrl) -> Self {
        PgArchive {
            url,
            reader: Mutex::new(None),
        }
    }

    fn read<T: Send>(
        &self,
        f: impl FnOnce(&mut super::PgDatabase) -> Result<T, DbError> + Send,
    ) -> Result<T, ArchiveError> {
        super::postgres::off_runtime(|| self.read_here(f))
    }

    fn read_here<T>(
        &self,
        f: impl FnOnce(&mut super::PgDatabase) -> Result<T, DbError>,
    ) -> Result<T, ArchiveError> {
        let mut reader = self.reader.lock();
        let db = match reader.as_mut() {
            Some(db) => db,
            None => reader.insert(super::PgDatabase::open(&self.url).map_err(failed)?),
        };
        let result = f(db);
        if result.is_err() {
            // A broken connection is not kept: the next read reconnects.
            *reader = None;
        }
        result.map_err(failed)
    }
}

impl EventArchive for PgArchive {
    fn events_after(&self, after_seq: u64, limit: usize) -> Result<Vec<Event>, ArchiveError> {
        self.read(|db| db.events_after(after_seq, limit))
    }

    fn oldest_seq(&self) -> Result<Option<u64>, ArchiveError> {
        use super::CycleStore as _;
        self.read(|db| db.oldest_seq())
    }
}
