//! Keys in the embedded SQLite database.

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{OptionalExtension, Row, params};

use super::{ApiKey, COLUMNS, KeyStore, NewKey, Usage, split_sources};
use crate::auth::key::{self, Tier};
use crate::db::{Database, DbError};

/// The keys table behind its own connection.
pub struct SqliteKeys {
    db: Mutex<Database>,
}

impl SqliteKeys {
    /// Opens the keys of the database at `path` (migrating it if needed).
    pub fn open(path: &Path) -> Result<SqliteKeys, DbError> {
        Ok(SqliteKeys {
            db: Mutex::new(Database::open(path)?),
        })
    }
}

impl KeyStore for SqliteKeys {
    fn insert(&self, key: &str, new: &NewKey, now: i64) -> anyhow::Result<ApiKey> {
        let db = self.db.lock();
        db.with(|c| {
            c.execute(
                "INSERT INTO api_keys (key_hash, key_prefix, tier, owner, email, created_at,
                   expires_at, can_write, sources) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    hex::encode(key::hash(key)),
                    key::display_prefix(key),
                    new.tier.as_str(),
                    new.owner,
                    new.email,
                    now,
                    new.expires_at,
                    new.can_write || new.tier == Tier::System,
                    new.sources.join(","),
                ],
            )?;
            bump_version(c)
        })?;
        let id = db.with(|c| Ok(c.last_insert_rowid()))?;
        drop(db);
        let record = self
            .by_id(id)?
            .ok_or_else(|| anyhow::anyhow!("key {id} vanished"))?;
        Ok(record)
    }

    fn list(&self) -> Result<Vec<ApiKey>, DbError> {
        self.db.lock().with(|c| {
            let mut stmt =
                c.prepare(&format!("SELECT {COLUMNS} FROM api_keys ORDER BY id DESC"))?;
            let rows = stmt.query_map([], from_row)?;
            rows.collect()
        })
    }

    fn by_id(&self, id: i64) -> Result<Option<ApiKey>, DbError> {
        self.db.lock().with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()
        })
    }

    fn by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>, DbError> {
        self.db.lock().with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM api_keys WHERE key_hash = ?1"),
                [hex::encode(hash)],
                from_row,
            )
            .optional()
        })
    }

    fn revoke(&self, id: i64, now: i64) -> Result<bool, DbError> {
        self.db.lock().with(|c| {
            let n = c.execute(
                "UPDATE api_keys SET is_active = 0, revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id, now],
            )?;
            bump_version(c)?;
            Ok(n > 0)
        })
    }

    fn version(&self) -> Result<i64, DbError> {
        self.db.lock().with(|c| {
            c.query_row(
                "SELECT value FROM gateway_state WHERE key = 'keys_version'",
                [],
                |r| r.get(0),
            )
        })
    }

    fn add_usage(&self, usage: &[(i64, Usage)]) -> Result<(), DbError> {
        self.db.lock().with_tx(|tx| {
            let mut stmt = tx.prepare_cached(
                "UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?2),
                   requests = requests + ?3, bytes_out = bytes_out + ?4 WHERE id = ?1",
            )?;
            for (id, u) in usage {
                stmt.execute(params![
                    id,
                    u.last_used_at,
                    u.requests as i64,
                    u.bytes_out as i64
                ])?;
            }
            Ok(())
        })
    }
}

fn bump_version(c: &rusqlite::Connection) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE gateway_state SET value = value + 1 WHERE key = 'keys_version'",
        [],
    )?;
    Ok(())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<ApiKey> {
    let tier: String = row.get(2)?;
    let sources: String = row.get(10)?;
    let hash_hex: String = row.get(14)?;
    let mut key_hash = [0u8; 32];
    hex::decode_to_slice(&hash_hex, &mut key_hash).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(14, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(ApiKey {
        id: row.get(0)?,
        key_prefix: row.get(1)?,
        tier: Tier::parse(&tier).unwrap_or(Tier::Public),
        owner: row.get(3)?,
        email: row.get(4)?,
        created_at: row.get(5)?,
        expires_at: row.get(6)?,
        is_active: row.get(7)?,
        revoked_at: row.get(8)?,
        can_write: row.get(9)?,
        sources: split_sources(&sources),
        last_used_at: row.get(11)?,
        requests: row.get::<_, i64>(12)? as u64,
        bytes_out: row.get::<_, i64>(13)? as u64,
        key_hash,
    })
}
