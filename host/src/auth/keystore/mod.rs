//! Keys in the database: create, list, revoke, look up by hash, and the
//! batched writes of usage (last use, request and byte counts).
//!
//! `KeyStore` is the seam (docs/ARCHITECTURE.md, seams): `sqlite` keeps
//! keys in the gateway's own file, `postgres` in the database the
//! instances of a cluster share, so a key made or revoked on one is seen by
//! every one.

mod postgres;
mod sqlite;

use std::sync::Arc;

use serde::Serialize;

use super::key::Tier;
use crate::db::{Backend, DbError};
use crate::time::{iso_millis, iso_millis_opt};

pub use postgres::PgKeys;
pub use sqlite::SqliteKeys;

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

/// Where keys are kept.
pub trait KeyStore: Send + Sync {
    /// Creates a key; returns the key (shown once) and its record.
    fn create(&self, new: &NewKey, now: i64) -> anyhow::Result<(String, ApiKey)> {
        let key =
            super::key::generate(new.tier).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let record = self.insert(&key, new, now)?;
        Ok((key, record))
    }
    /// Keeps `key` (its hash) as a new key; its record (a self-service
    /// key is derived, not drawn: `auth::provision`).
    fn insert(&self, key: &str, new: &NewKey, now: i64) -> anyhow::Result<ApiKey>;
    /// Every key, newest first.
    fn list(&self) -> Result<Vec<ApiKey>, DbError>;
    /// The key with this id.
    fn by_id(&self, id: i64) -> Result<Option<ApiKey>, DbError>;
    /// The key whose hash this is.
    fn by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>, DbError>;
    /// Revokes a key; false if there is no such key.
    fn revoke(&self, id: i64, now: i64) -> Result<bool, DbError>;
    /// Changes to any key so far (another process may have made some):
    /// instances drop their cached lookups when it moves.
    fn version(&self) -> Result<i64, DbError>;
    /// Adds the usage counted since the last flush, in one transaction.
    fn add_usage(&self, usage: &[(i64, Usage)]) -> Result<(), DbError>;
}

/// The key store of a backend.
pub fn open(backend: &Backend) -> Result<Arc<dyn KeyStore>, DbError> {
    Ok(match backend {
        Backend::Sqlite(path) => Arc::new(SqliteKeys::open(path)?),
        Backend::Postgres(url) => Arc::new(PgKeys::open(url)?),
    })
}

/// The columns both engines read, in this order.
const COLUMNS: &str = "id, key_prefix, tier, owner, email, created_at, expires_at, is_active, \
     revoked_at, can_write, sources, last_used_at, requests, bytes_out, key_hash";

fn split_sources(sources: &str) -> Vec<String> {
    sources
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}
