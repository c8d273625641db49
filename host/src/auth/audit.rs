//! The audit log: every write request and every auth failure, one row
//! each, written in batches by a thread of its own so a request never
//! waits on the database.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::params;

use crate::db::{Database, DbError};

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
    /// Starts the writer on the database at `path`, keeping rows for `retention`.
    pub fn start(path: &Path, retention: Duration) -> Result<AuditLog, DbError> {
        let db = Database::open(path)?;
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("audit-log".into())
            .spawn(move || write_rows(db, rx, retention))
            .map_err(|e| DbError::Corrupt {
                path: path.to_path_buf(),
                what: "audit thread".into(),
                message: e.to_string(),
            })?;
        Ok(AuditLog {
            tx,
            dropped: Default::default(),
        })
    }

    /// Queues a row.
    pub fn record(&self, row: AuditRow) {
        if self.tx.try_send(row).is_err() {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Rows that could not be queued (the writer fell behind).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }
}

fn write_rows(mut db: Database, rx: mpsc::Receiver<AuditRow>, retention: Duration) {
    let mut last_prune = std::time::Instant::now();
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter().take(BATCH - 1));
        let result = db.with_tx(|tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO audit_log (at, key_prefix, client_addr, method, path, status, bytes, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for r in &batch {
                stmt.execute(params![
                    r.at, r.key_prefix, r.client_addr, r.method, r.path, r.status, r.bytes as i64, r.detail
                ])?;
            }
            Ok(())
        });
        if let Err(e) = result {
            tracing::error!(rows = batch.len(), error = %e, "audit rows not written");
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = std::time::Instant::now();
            let before = crate::health::wall_ms() - retention.as_millis() as i64;
            let pruned = db.with(|c| c.execute("DELETE FROM audit_log WHERE at < ?1", [before]));
            if let Err(e) = pruned {
                tracing::warn!(error = %e, "audit retention pass failed");
            }
        }
    }
}
