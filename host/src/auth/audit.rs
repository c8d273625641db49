//! The audit log: every write request and every auth failure, one row
//! each, written in batches by a thread of its own so a request never
//! waits on the database.

use std::sync::mpsc;
use std::time::Duration;

use rusqlite::params;

use crate::db::{Backend, Database, DbError, PgUrl};
use crate::text::cut;

/// One audited request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// When, epoch ms.
    pub at: i64,
    /// The key's display prefix, if a key was presented and known.
    pub key_prefix: Option<String>,
    /// The client's address.
    pub client_addr: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Response status.
    pub status: u16,
    /// Response body bytes.
    pub bytes: u64,
    /// Why it was refused, for failures.
    pub detail: Option<String>,
}

/// Rows waiting for the writer beyond this are dropped and counted
/// (a request never blocks on the audit log).
const QUEUE: usize = 100_000;
/// The longest path a row keeps, bytes; a longer one is cut and says how
/// much was cut (a request line can be tens of KB).
pub const MAX_PATH: usize = 256;
/// The longest detail a row keeps, bytes.
pub const MAX_DETAIL: usize = 512;
/// Rows kept at most by default, whatever their age: with [`MAX_PATH`] and
/// [`MAX_DETAIL`] a row is under 1 KB, so the table stays under about 1 GB
/// (typical rows are ~150 bytes, ~150 MB).
pub const DEFAULT_MAX_ROWS: u64 = 1_000_000;

impl AuditRow {
    /// The row with its free-text fields cut to their bounds.
    pub fn bounded(mut self) -> AuditRow {
        self.path = cut(self.path, MAX_PATH);
        self.detail = self.detail.map(|d| cut(d, MAX_DETAIL));
        self.method = cut(self.method, 16);
        self.client_addr = self.client_addr.map(|a| cut(a, 64));
        self
    }
}

/// How long and how many audit rows are kept.
#[derive(Debug, Clone, Copy)]
pub struct AuditBounds {
    /// Rows older than this are deleted.
    pub retention: Duration,
    /// The newest this many rows are kept at most.
    pub max_rows: u64,
}
/// Rows per transaction at most.
const BATCH: usize = 1_000;
/// How often old rows are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// The sending side; the writer thread stops when it is dropped.
pub struct AuditLog {
    tx: mpsc::SyncSender<AuditRow>,
    dropped: std::sync::atomic::AtomicU64,
}

impl AuditLog {
    /// Starts the writer on the backend's database, keeping rows within `bounds`.
    pub fn start(backend: &Backend, bounds: AuditBounds) -> Result<AuditLog, DbError> {
        let table: Box<dyn AuditTable> = match backend {
            Backend::Sqlite(path) => Box::new(Database::open(path)?),
            Backend::Postgres(url) => Box::new(PgAudit::open(url)?),
        };
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("audit-log".into())
            .spawn(move || write_rows(table, rx, bounds))
            .map_err(|e| DbError::Corrupt {
                path: backend.to_string().into(),
                what: "audit thread".into(),
                message: e.to_string(),
            })?;
        Ok(AuditLog {
            tx,
            dropped: Default::default(),
        })
    }

    /// Queues a row (its path and detail cut to their bounds).
    pub fn record(&self, row: AuditRow) {
        if self.tx.try_send(row.bounded()).is_err() {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Rows that could not be queued (the writer fell behind).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The audit table of one engine.
trait AuditTable: Send {
    /// Inserts rows in one transaction.
    fn insert(&mut self, rows: &[AuditRow]) -> Result<(), DbError>;
    /// Deletes rows before `before` (epoch ms) and beyond the newest `max_rows`.
    fn prune(&mut self, before: i64, max_rows: u64) -> Result<(), DbError>;
}

fn write_rows(mut table: Box<dyn AuditTable>, rx: mpsc::Receiver<AuditRow>, bounds: AuditBounds) {
    // The first batch prunes: a gateway restarted often still keeps its bound.
    let mut last_prune = std::time::Instant::now() - PRUNE_EVERY;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter().take(BATCH - 1));
        if let Err(e) = table.insert(&batch) {
            tracing::error!(rows = batch.len(), error = %e, "audit rows not written");
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = std::time::Instant::now();
            let before = crate::health::wall_ms() - bounds.retention.as_millis() as i64;
            if let Err(e) = table.prune(before, bounds.max_rows) {
                tracing::warn!(error = %e, "audit retention pass failed");
            }
        }
    }
}

impl AuditTable for Database {
    fn insert(&mut self, rows: &[AuditRow]) -> Result<(), DbError> {
        self.with_tx(|tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO audit_log (at, key_prefix, client_addr, method, path, status, bytes, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for r in rows {
                stmt.execute(params![
                    r.at, r.key_prefix, r.client_addr, r.method, r.path, r.status, r.bytes as i64, r.detail
                ])?;
            }
            Ok(())
        })
    }

    fn prune(&mut self, before: i64, max_rows: u64) -> Result<(), DbError> {
        self.with(|c| {
            c.execute("DELETE FROM audit_log WHERE at < ?1", [before])?;
            c.execute(
                "DELETE FROM audit_log WHERE id <= (SELECT MAX(id) FROM audit_log) - ?1",
                [max_rows as i64],
            )
        })?;
        Ok(())
    }
}

/// The audit table in PostgreSQL (every instance writes its rows there).
struct PgAudit {
    url: PgUrl,
    /// None after a failure: the next batch reconnects.
    client: Option<crate::db::postgres::PgClient>,
}

impl PgAudit {
    fn open(url: &PgUrl) -> Result<PgAudit, DbError> {
        Ok(PgAudit {
            url: url.clone(),
            client: Some(crate::db::postgres::open(url)?),
        })
    }

    fn with(
        &mut self,
        doing: &str,
        f: impl FnOnce(&mut postgres::Client) -> Result<(), postgres::Error>,
    ) -> Result<(), DbError> {
        let client = match self.client.as_mut() {
            Some(client) => client,
            None => self.client.insert(self.url.connect()?),
        };
        let result = f(client);
        if result.is_err() && client.is_closed() {
            self.client = None;
        }
        result.map_err(|e| self.url.err(doing, e))
    }
}

impl AuditTable for PgAudit {
    fn insert(&mut self, rows: &[AuditRow]) -> Result<(), DbError> {
        let at: Vec<i64> = rows.iter().map(|r| r.at).collect();
        let prefix: Vec<Option<&str>> = rows.iter().map(|r| r.key_prefix.as_deref()).collect();
        let addr: Vec<Option<&str>> = rows.iter().map(|r| r.client_addr.as_deref()).collect();
        let method: Vec<&str> = rows.iter().map(|r| r.method.as_str()).collect();
        let path: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
        let status: Vec<i32> = rows.iter().map(|r| i32::from(r.status)).collect();
        let bytes: Vec<i64> = rows.iter().map(|r| r.bytes as i64).collect();
        let detail: Vec<Option<&str>> = rows.iter().map(|r| r.detail.as_deref()).collect();
        self.with("writing audit rows", |c| {
            c.execute(
                "INSERT INTO audit_log (at, key_prefix, client_addr, method, path, status, bytes, detail)
                 SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
                                      $6::INT[], $7::BIGINT[], $8::TEXT[])",
                &[&at, &prefix, &addr, &method, &path, &status, &bytes, &detail],
            )
            .map(drop)
        })
    }

    fn prune(&mut self, before: i64, max_rows: u64) -> Result<(), DbError> {
        self.with("pruning the audit log", |c| {
            c.execute("DELETE FROM audit_log WHERE at < $1", &[&before])?;
            c.execute(
                "DELETE FROM audit_log WHERE id <= (SELECT MAX(id) FROM audit_log) - $1",
                &[&(max_rows as i64)],
            )
            .map(drop)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_and_details_are_cut_and_say_so() {
        let row = AuditRow {
            at: 0,
            key_prefix: None,
            client_addr: None,
            method: "GET".into(),
            path: format!("/api/swim/v1/{}", "é".repeat(30_000)),
            status: 401,
            bytes: 0,
            detail: Some("x".repeat(2_000)),
        }
        .bounded();
        assert!(row.path.len() <= MAX_PATH + 24, "{}", row.path.len());
        assert!(row.path.ends_with("bytes)"));
        assert!(row.path.contains("...(+"));
        assert!(row.detail.unwrap().len() <= MAX_DETAIL + 24);
    }

    #[test]
    fn the_log_keeps_at_most_max_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("swim.db");
        let mut db = Database::open(&path).unwrap();
        db.with(|c| {
            for i in 0..50 {
                c.execute(
                    "INSERT INTO audit_log (at, method, path, status, bytes) VALUES (?1, 'GET', '/', 401, 0)",
                    [crate::health::wall_ms() + i],
                )?;
            }
            Ok(())
        })
        .unwrap();
        AuditTable::prune(&mut db, crate::health::wall_ms() - 3_600_000, 20).unwrap();
        let (n, oldest): (i64, i64) = db
            .with(|c| {
                c.query_row("SELECT COUNT(*), MIN(id) FROM audit_log", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
            })
            .unwrap();
        assert_eq!((n, oldest), (20, 31), "the newest 20 stay");
    }
}
