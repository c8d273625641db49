//! Which database engine a gateway keeps its state in: the embedded SQLite
//! file in its data dir (the default), or a PostgreSQL database shared by
//! the instances of a cluster.

use std::path::PathBuf;

use super::{CycleStore, Database, DbError, PgArchive, PgDatabase, PgUrl, SqliteArchive};
use crate::feed::EventArchive;

/// Where the gateway's state lives.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The SQLite file (WAL) at this path.
    Sqlite(PathBuf),
    /// This PostgreSQL database.
    Postgres(PgUrl),
}

impl Backend {
    /// A writer for the pipeline's cycles.
    pub fn cycle_store(&self) -> Result<Box<dyn CycleStore>, DbError> {
        Ok(match self {
            Backend::Sqlite(path) => Box::new(Database::open(path)?),
            Backend::Postgres(url) => Box::new(PgDatabase::open(url)?),
        })
    }

    /// The change feed's archive (older events for readers).
    pub fn archive(&self) -> Box<dyn EventArchive> {
        match self {
            Backend::Sqlite(path) => Box::new(SqliteArchive::new(path.clone())),
            Backend::Postgres(url) => Box::new(PgArchive::new(url.clone())),
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Sqlite(path) => write!(f, "sqlite {}", path.display()),
            Backend::Postgres(url) => write!(f, "{url}"),
        }
    }
}
