//! Webhooks in the database: the subscriptions, where each one's delivery
//! stands, and its dead letters.
//!
//! `WebhookStore` is the seam (docs/ARCHITECTURE.md, seams); the embedded
//! gateway keeps webhooks in its SQLite file (`SqliteWebhooks`).

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::subscription::{Cursor, Format, NewWebhook, Webhook};
use crate::db::{Database, DbError};
use crate::time::{iso_millis, iso_millis_opt};

/// A batch kept after the endpoint refused it through every retry.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    /// Row id (to replay it).
    pub id: i64,
    /// The webhook.
    pub webhook_id: i64,
    /// The first event's seq.
    pub first_seq: u64,
    /// The last event's seq.
    pub last_seq: u64,
    /// Events in it.
    pub events: usize,
    /// Attempts made.
    pub attempts: u32,
    /// The endpoint's last HTTP status, if it answered.
    pub last_status: Option<u16>,
    /// What went wrong the last time.
    pub error: String,
    /// When it was dead-lettered.
    #[serde(serialize_with = "iso_millis")]
    pub created_utc: i64,
    /// When it was last sent again and taken.
    #[serde(serialize_with = "iso_millis_opt")]
    pub replayed_utc: Option<i64>,
    /// The body as it was sent.
    #[serde(skip)]
    pub body: String,
}

/// A batch to dead-letter.
#[derive(Debug, Clone)]
pub struct NewDeadLetter<'a> {
    /// The first event's seq.
    pub first_seq: u64,
    /// The last event's seq.
    pub last_seq: u64,
    /// Events in it.
    pub events: usize,
    /// The body as sent.
    pub body: &'a str,
    /// Attempts made.
    pub attempts: u32,
    /// The endpoint's last HTTP status.
    pub last_status: Option<u16>,
    /// What went wrong.
    pub error: &'a str,
}

/// A webhook's cursor moved: every event up to `seq` is dealt with, and
/// the endpoint took `batches` batches of `events` events on the way, the
/// last at `success_at`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CursorMove {
    /// The webhook.
    pub id: i64,
    /// The new cursor (it never moves back).
    pub seq: u64,
    /// Events delivered since the last write.
    pub events: u64,
    /// Batches delivered since the last write.
    pub batches: u64,
    /// When the endpoint last took a batch, if it did.
    pub success_at: Option<i64>,
}

/// Where webhooks are kept.
pub trait WebhookStore: Send + Sync {
    /// Registers a webhook whose delivery starts after `cursor`.
    fn create(&self, new: &NewWebhook, cursor: &Cursor, now: i64) -> Result<Webhook, DbError>;
    /// Every webhook, newest first (deactivated ones too).
    fn list(&self) -> Result<Vec<Webhook>, DbError>;
    /// One webhook.
    fn get(&self, id: i64) -> Result<Option<Webhook>, DbError>;
    /// Deactivates a webhook: no more deliveries. False if there was no
    /// active webhook `id`.
    fn deactivate(&self, id: i64, now: i64) -> Result<bool, DbError>;
    /// Moves cursors (and counts deliveries), all in one transaction.
    fn advance(&self, moves: &[CursorMove]) -> Result<(), DbError>;
    /// A new epoch: delivery starts over at `cursor`.
    fn restart_at(&self, id: i64, cursor: &Cursor) -> Result<(), DbError>;
    /// An attempt failed.
    fn failed(&self, id: i64, error: &str, now: i64) -> Result<(), DbError>;
    /// Keeps a refused batch (the newest `keep` per webhook) and moves the
    /// cursor past it, in one transaction.
    fn dead_letter(
        &self,
        id: i64,
        letter: &NewDeadLetter<'_>,
        keep: usize,
        now: i64,
    ) -> Result<(), DbError>;
    /// A webhook's dead letters, newest first, and how many it has.
    fn dead_letters(&self, id: i64, limit: usize) -> Result<(Vec<DeadLetter>, u64), DbError>;
    /// One dead letter of a webhook.
    fn dead_letter_of(&self, id: i64, letter: i64) -> Result<Option<DeadLetter>, DbError>;
    /// A dead letter was sent again and taken.
    fn replayed(&self, letter: i64, now: i64) -> Result<(), DbError>;
}

/// Webhooks in the embedded SQLite database, behind their own connection.
pub struct SqliteWebhooks {
    db: Mutex<Database>,
}

impl SqliteWebhooks {
    /// Opens the webhooks of the database at `path` (migrating it if needed).
    pub fn open(path: &Path) -> Result<SqliteWebhooks, DbError> {
        Ok(SqliteWebhooks {
            db: Mutex::new(Database::open(path)?),
        })
    }
}

const COLUMNS: &str = "id, source_id, callback_url, shared_secret, channels, filters, format, \
    is_active, created_at, updated_at, cursor_seq, cursor_epoch, last_success_at, \
    last_failure_at, consecutive_failures, last_error, delivered_events, delivered_batches";

const LETTER_COLUMNS: &str = "id, webhook_id, first_seq, last_seq, events, attempts, \
    last_status, error, created_at, replayed_at, body";

impl WebhookStore for SqliteWebhooks {
    fn create(&self, new: &NewWebhook, cursor: &Cursor, now: i64) -> Result<Webhook, DbError> {
        self.db.lock().with(|c| {
            c.execute(
                "INSERT INTO webhooks (source_id, callback_url, shared_secret, channels, filters,
                   format, created_at, updated_at, cursor_seq, cursor_epoch)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)",
                params![
                    new.source_id,
                    new.callback_url,
                    new.shared_secret,
                    serde_json::to_string(&new.channels).unwrap_or_default(),
                    new.filters.to_string(),
                    new.format.as_str(),
                    now,
                    cursor.seq as i64,
                    cursor.epoch,
                ],
            )?;
            one(c, c.last_insert_rowid())?.ok_or(rusqlite::Error::QueryReturnedNoRows)
        })
    }

    fn list(&self) -> Result<Vec<Webhook>, DbError> {
        self.db.lock().with(|c| {
            let mut stmt =
                c.prepare(&format!("SELECT {COLUMNS} FROM webhooks ORDER BY id DESC"))?;
            let rows = stmt.query_map([], from_row)?;
            rows.collect()
        })
    }

    fn get(&self, id: i64) -> Result<Option<Webhook>, DbError> {
        self.db.lock().with(|c| one(c, id))
    }

    fn deactivate(&self, id: i64, now: i64) -> Result<bool, DbError> {
        self.db.lock().with(|c| {
            let n = c.execute(
                "UPDATE webhooks SET is_active = 0, updated_at = ?2 WHERE id = ?1 AND is_active = 1",
                params![id, now],
            )?;
            Ok(n > 0)
        })
    }

    fn advance(&self, moves: &[CursorMove]) -> Result<(), DbError> {
        self.db.lock().with_tx(|tx| {
            let mut update = tx.prepare_cached(
                "UPDATE webhooks SET cursor_seq = MAX(cursor_seq, ?2),
                   delivered_events = delivered_events + ?3,
                   delivered_batches = delivered_batches + ?4,
                   last_success_at = COALESCE(?5, last_success_at),
                   consecutive_failures = CASE
                     WHEN ?5 IS NOT NULL AND COALESCE(last_failure_at, 0) <= ?5 THEN 0
                     ELSE consecutive_failures END
                 WHERE id = ?1",
            )?;
            for m in moves {
                update.execute(params![
                    m.id,
                    m.seq as i64,
                    m.events as i64,
                    m.batches as i64,
                    m.success_at
                ])?;
            }
            Ok(())
        })
    }

    fn restart_at(&self, id: i64, cursor: &Cursor) -> Result<(), DbError> {
        self.db.lock().with(|c| {
            c.execute(
                "UPDATE webhooks SET cursor_seq = ?2, cursor_epoch = ?3 WHERE id = ?1",
                params![id, cursor.seq as i64, cursor.epoch],
            )
            .map(drop)
        })
    }

    fn failed(&self, id: i64, error: &str, now: i64) -> Result<(), DbError> {
        self.db.lock().with(|c| {
            c.execute(
                "UPDATE webhooks SET last_failure_at = ?2, last_error = ?3,
                   consecutive_failures = consecutive_failures + 1 WHERE id = ?1",
                params![id, now, error],
            )
            .map(drop)
        })
    }

    fn dead_letter(
        &self,
        id: i64,
        letter: &NewDeadLetter<'_>,
        keep: usize,
        now: i64,
    ) -> Result<(), DbError> {
        self.db.lock().with_tx(|tx| {
            tx.execute(
                "INSERT INTO webhook_dead_letters (webhook_id, first_seq, last_seq, events, body,
                   attempts, last_status, error, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id,
                    letter.first_seq as i64,
                    letter.last_seq as i64,
                    letter.events as i64,
                    letter.body,
                    letter.attempts,
                    letter.last_status,
                    letter.error,
                    now
                ],
            )?;
            // The newest `keep` stay: disk is bounded per webhook.
            tx.execute(
                "DELETE FROM webhook_dead_letters WHERE webhook_id = ?1 AND id <= (
                   SELECT id FROM webhook_dead_letters WHERE webhook_id = ?1
                   ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                params![id, keep as i64],
            )?;
            tx.execute(
                "UPDATE webhooks SET cursor_seq = MAX(cursor_seq, ?2) WHERE id = ?1",
                params![id, letter.last_seq as i64],
            )
            .map(drop)
        })
    }

    fn dead_letters(&self, id: i64, limit: usize) -> Result<(Vec<DeadLetter>, u64), DbError> {
        self.db.lock().with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {LETTER_COLUMNS} FROM webhook_dead_letters WHERE webhook_id = ?1
                 ORDER BY id DESC LIMIT ?2"
            ))?;
            let letters = stmt
                .query_map(params![id, limit as i64], letter_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let total: i64 = c.query_row(
                "SELECT COUNT(*) FROM webhook_dead_letters WHERE webhook_id = ?1",
                [id],
                |r| r.get(0),
            )?;
            Ok((letters, total as u64))
        })
    }

    fn dead_letter_of(&self, id: i64, letter: i64) -> Result<Option<DeadLetter>, DbError> {
        self.db.lock().with(|c| {
            c.query_row(
                &format!(
                    "SELECT {LETTER_COLUMNS} FROM webhook_dead_letters
                     WHERE webhook_id = ?1 AND id = ?2"
                ),
                params![id, letter],
                letter_from_row,
            )
            .optional()
        })
    }

    fn replayed(&self, letter: i64, now: i64) -> Result<(), DbError> {
        self.db.lock().with(|c| {
            c.execute(
                "UPDATE webhook_dead_letters SET replayed_at = ?2 WHERE id = ?1",
                params![letter, now],
            )
            .map(drop)
        })
    }
}

fn one(c: &rusqlite::Connection, id: i64) -> rusqlite::Result<Option<Webhook>> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM webhooks WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Webhook> {
    let channels: Vec<String> = serde_json::from_str(&row.get::<_, String>(4)?).unwrap_or_default();
    let filters = serde_json::from_str(&row.get::<_, String>(5)?).unwrap_or_default();
    Ok(Webhook {
        id: row.get(0)?,
        source_id: row.get(1)?,
        direction: "outbound",
        callback_url: row.get(2)?,
        shared_secret: row.get(3)?,
        event_types: channels.join(","),
        channels,
        filters,
        format: Format::parse(&row.get::<_, String>(6)?).unwrap_or_default(),
        is_active: row.get(7)?,
        created_utc: row.get(8)?,
        updated_utc: row.get(9)?,
        cursor: Cursor {
            seq: row.get::<_, i64>(10)? as u64,
            epoch: row.get(11)?,
        },
        last_success_utc: row.get(12)?,
        last_failure_utc: row.get(13)?,
        consecutive_failures: row.get(14)?,
        last_error: row.get(15)?,
        delivered_events: row.get::<_, i64>(16)? as u64,
        delivered_batches: row.get::<_, i64>(17)? as u64,
    })
}

fn letter_from_row(row: &Row<'_>) -> rusqlite::Result<DeadLetter> {
    Ok(DeadLetter {
        id: row.get(0)?,
        webhook_id: row.get(1)?,
        first_seq: row.get::<_, i64>(2)? as u64,
        last_seq: row.get::<_, i64>(3)? as u64,
        events: row.get::<_, i64>(4)? as usize,
        attempts: row.get(5)?,
        last_status: row.get(6)?,
        error: row.get(7)?,
        created_utc: row.get(8)?,
        replayed_utc: row.get(9)?,
        body: row.get(10)?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn store() -> (tempfile::TempDir, SqliteWebhooks) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteWebhooks::open(&dir.path().join("swim.db")).unwrap();
        (dir, store)
    }

    fn new() -> NewWebhook {
        NewWebhook {
            source_id: "bot".into(),
            callback_url: "https://example.net/hook".into(),
            shared_secret: "0123456789abcdef".into(),
            channels: vec!["flight.departed".into()],
            filters: json!({}),
            format: Format::Json,
        }
    }

    #[test]
    fn a_webhooks_cursor_only_moves_forward_and_dead_letters_are_bounded() {
        let (_dir, store) = store();
        let cursor = Cursor {
            seq: 10,
            epoch: "e1".into(),
        };
        let hook = store.create(&new(), &cursor, 1_000).unwrap();
        assert_eq!(hook.cursor, cursor);
        let delivered = CursorMove {
            id: hook.id,
            seq: 20,
            events: 4,
            batches: 1,
            success_at: Some(2_000),
        };
        let behind = CursorMove {
            id: hook.id,
            seq: 15,
            ..CursorMove::default()
        };
        store.advance(&[delivered, behind]).unwrap();
        store.failed(hook.id, "HTTP 503", 3_000).unwrap();
        let now = store.get(hook.id).unwrap().unwrap();
        assert_eq!(
            (
                now.cursor.seq,
                now.delivered_events,
                now.consecutive_failures
            ),
            (20, 4, 1)
        );
        for n in 0..5u64 {
            let letter = NewDeadLetter {
                first_seq: 21 + n,
                last_seq: 21 + n,
                events: 1,
                body: "{}",
                attempts: 4,
                last_status: Some(400),
                error: "HTTP 400",
            };
            store.dead_letter(hook.id, &letter, 3, 4_000).unwrap();
        }
        let (letters, total) = store.dead_letters(hook.id, 10).unwrap();
        assert_eq!(total, 3);
        assert_eq!(
            letters.iter().map(|l| l.first_seq).collect::<Vec<_>>(),
            [25, 24, 23]
        );
        assert_eq!(store.get(hook.id).unwrap().unwrap().cursor.seq, 25);
        assert!(store.deactivate(hook.id, 5_000).unwrap());
        assert!(!store.deactivate(hook.id, 5_000).unwrap());
        assert!(!store.get(hook.id).unwrap().unwrap().is_active);
    }
}
