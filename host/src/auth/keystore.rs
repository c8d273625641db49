//! Keys in the database: create, list, revoke, look up by hash, and the
//! batched writes of usage (last use, request and byte counts).

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::key::{self, Tier};
use crate::db::{Database, DbError};
use crate::time::{iso_millis, iso_millis_opt};

/// A stored key (never the key itself). Times are epoch ms, shown as
/// ISO 8601 UTC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiKey {
    /// Row id, used to revoke.
    pub id: i64,
    /// The first characters of the key.
    pub key_prefix: String,
    /// Its tier.
    pub tier: Tier,
    /// Who it belongs to.
    pub owner: String,
    /// Contact.
    pub email: Option<String>,
    /// When it was made, epoch ms.
    #[serde(serialize_with = "iso_millis")]
    pub created_at: i64,
    /// When it stops working, epoch ms.
    #[serde(serialize_with = "iso_millis_opt")]
    pub expires_at: Option<i64>,
    /// False once revoked or deactivated.
    pub is_active: bool,
    /// When it was revoked, epoch ms.
    #[serde(serialize_with = "iso_millis_opt")]
    pub revoked_at: Option<i64>,
    /// May write (ingest).
    pub can_write: bool,
    /// Ingest routes it may write (system keys: all).
    pub sources: Vec<String>,
    /// Last request, epoch ms (written in batches).
    #[serde(serialize_with = "iso_millis_opt")]
    pub last_used_at: Option<i64>,
    /// Requests answered (written in batches).
    pub requests: u64,
    /// Response bytes (written in batches).
    pub bytes_out: u64,
    /// The stored hash (compared in constant time after the lookup).
    #[serde(skip)]
    pub key_hash: [u8; 32],
}

#[cfg(test)]
impl ApiKey {
    /// A key record with defaults, for unit tests.
    pub fn for_tests(id: i64, tier: Tier) -> ApiKey {
        ApiKey {
            id,
            key_prefix: format!("swim_{}_test", tier.key_tag()),
            tier,
            owner: "test".into(),
            email: None,
            created_at: 0,
            expires_at: None,
            is_active: true,
            revoked_at: None,
            can_write: false,
            sources: Vec::new(),
            last_used_at: None,
            requests: 0,
            bytes_out: 0,
            key_hash: [0; 32],
        }
    }
}

/// What `swim keys create` asks for.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// Tier.
    pub tier: Tier,
    /// Owner.
    pub owner: String,
    /// Contact.
    pub email: Option<String>,
    /// Expiry, epoch ms.
    pub expires_at: Option<i64>,
    /// May write.
    pub can_write: bool,
    /// Allowed ingest routes.
    pub sources: Vec<String>,
}

/// Usage of one key since the last flush.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Last request, epoch ms.
    pub last_used_at: i64,
    /// Requests.
    pub requests: u64,
    /// Response bytes.
    pub bytes_out: u64,
}

/// The keys table behind its own connection.
pub struct KeyStore {
    db: Mutex<Database>,
}

const COLUMNS: &str = "id, key_prefix, tier, owner, email, created_at, expires_at, is_active, \
     revoked_at, can_write, sources, last_used_at, requests, bytes_out, key_hash";

impl KeyStore {
    /// Opens the keys of the database at `path` (migrating it if needed).
    pub fn open(path: &Path) -> Result<KeyStore, DbError> {
        Ok(KeyStore {
            db: Mutex::new(Database::open(path)?),
        })
    }

    /// Creates a key; returns the key (shown once) and its record.
    pub fn create(&self, new: &NewKey, now: i64) -> anyhow::Result<(String, ApiKey)> {
        let key = key::generate(new.tier).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let db = self.db.lock();
        db.with(|c| {
            c.execute(
                "INSERT INTO api_keys (key_hash, key_prefix, tier, owner, email, created_at,
                   expires_at, can_write, sources) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    hex::encode(key::hash(&key)),
                    key::display_prefix(&key),
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
        Ok((key, record))
    }

    /// Every key, newest first.
    pub fn list(&self) -> Result<Vec<ApiKey>, DbError> {
        self.db.lock().with(|c| {
            let mut stmt =
                c.prepare(&format!("SELECT {COLUMNS} FROM api_keys ORDER BY id DESC"))?;
            let rows = stmt.query_map([], from_row)?;
            rows.collect()
        })
    }

    /// The key with this id.
    pub fn by_id(&self, id: i64) -> Result<Option<ApiKey>, DbError> {
        self.db.lock().with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()
        })
    }

    /// The key whose hash this is.
    pub fn by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>, DbError> {
        self.db.lock().with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM api_keys WHERE key_hash = ?1"),
                [hex::encode(hash)],
                from_row,
            )
            .optional()
        })
    }

    /// Revokes a key; false if there is no such key.
    pub fn revoke(&self, id: i64, now: i64) -> Result<bool, DbError> {
        self.db.lock().with(|c| {
            let n = c.execute(
                "UPDATE api_keys SET is_active = 0, revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id, now],
            )?;
            bump_version(c)?;
            Ok(n > 0)
        })
    }

    /// Changes to any key so far (another process may have made some).
    pub fn version(&self) -> Result<i64, DbError> {
        self.db.lock().with(|c| {
            c.query_row(
                "SELECT value FROM gateway_state WHERE key = 'keys_version'",
                [],
                |r| r.get(0),
            )
        })
    }

    /// Adds the usage counted since the last flush, in one transaction.
    pub fn add_usage(&self, usage: &[(i64, Usage)]) -> Result<(), DbError> {
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
        sources: sources
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        last_used_at: row.get(11)?,
        requests: row.get::<_, i64>(12)? as u64,
        bytes_out: row.get::<_, i64>(13)? as u64,
        key_hash,
    })
}
