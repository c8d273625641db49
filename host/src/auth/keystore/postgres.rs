//! Keys in PostgreSQL, shared by every instance of a cluster: a key made
//! or revoked through any of them (or `swim keys --database`) is seen by
//! all, within their key re-check interval.

use parking_lot::Mutex;
use postgres::{Client, Row};

use super::{ApiKey, COLUMNS, KeyStore, NewKey, Usage, split_sources};
use crate::auth::key::{self, Tier};
use crate::db::{DbError, PgUrl, postgres as pg};

/// The keys table behind a connection of its own.
pub struct PgKeys {
    url: PgUrl,
    /// None after a failure: the next call reconnects.
    client: Mutex<Option<pg::PgClient>>,
}

impl PgKeys {
    /// Connects (creating and migrating the database if needed).
    pub fn open(url: &PgUrl) -> Result<PgKeys, DbError> {
        Ok(PgKeys {
            url: url.clone(),
            client: Mutex::new(Some(pg::off_runtime(|| pg::open(url))?)),
        })
    }

    fn with<T: Send>(
        &self,
        doing: &str,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, DbError> {
        pg::off_runtime(|| self.with_here(doing, f))
    }

    fn with_here<T>(
        &self,
        doing: &str,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, DbError> {
        let mut slot = self.client.lock();
        let client = match slot.as_mut() {
            Some(client) => client,
            None => slot.insert(self.url.connect()?),
        };
        let result = f(client);
        if result.as_ref().is_err_and(|_| client.is_closed()) {
            *slot = None;
        }
        result.map_err(|e| self.url.err(doing, e))
    }

    fn one(
        &self,
        doing: &str,
        filter: &str,
        value: &(dyn postgres::types::ToSql + Sync),
    ) -> Result<Option<ApiKey>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE {filter} = $1");
        let row = self.with(doing, |c| c.query_opt(&sql, &[value]))?;
        row.map(|r| from_row(&r)).transpose()
    }
}

const BUMP_VERSION: &str = "UPDATE gateway_state SET value = value + 1 WHERE key = 'keys_version'";

impl KeyStore for PgKeys {
    fn insert(&self, key: &str, new: &NewKey, now: i64) -> anyhow::Result<ApiKey> {
        let id: i64 = self.with("creating a key", |c| {
            let mut tx = c.transaction()?;
            let id = tx
                .query_one(
                    "INSERT INTO api_keys (key_hash, key_prefix, tier, owner, email, created_at,
                       expires_at, can_write, sources) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     RETURNING id",
                    &[
                        &hex::encode(key::hash(key)),
                        &key::display_prefix(key),
                        &new.tier.as_str(),
                        &new.owner,
                        &new.email,
                        &now,
                        &new.expires_at,
                        &(new.can_write || new.tier == Tier::System),
                        &new.sources.join(","),
                    ],
                )?
                .get(0);
            tx.execute(BUMP_VERSION, &[])?;
            tx.commit()?;
            Ok(id)
        })?;
        let record = self
            .by_id(id)?
            .ok_or_else(|| anyhow::anyhow!("key {id} vanished"))?;
        Ok(record)
    }

    fn list(&self) -> Result<Vec<ApiKey>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys ORDER BY id DESC");
        let rows = self.with("listing keys", |c| c.query(&sql, &[]))?;
        rows.iter().map(from_row).collect()
    }

    fn by_id(&self, id: i64) -> Result<Option<ApiKey>, DbError> {
        self.one("reading a key", "id", &id)
    }

    fn by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>, DbError> {
        self.one("looking a key up", "key_hash", &hex::encode(hash))
    }

    fn revoke(&self, id: i64, now: i64) -> Result<bool, DbError> {
        self.with("revoking a key", |c| {
            let mut tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE api_keys SET is_active = FALSE, revoked_at = COALESCE(revoked_at, $2)
                 WHERE id = $1",
                &[&id, &now],
            )?;
            tx.execute(BUMP_VERSION, &[])?;
            tx.commit()?;
            Ok(n > 0)
        })
    }

    fn version(&self) -> Result<i64, DbError> {
        self.with("reading the keys' version", |c| {
            c.query_one(
                "SELECT value FROM gateway_state WHERE key = 'keys_version'",
                &[],
            )
            .map(|r| r.get(0))
        })
    }

    fn add_usage(&self, usage: &[(i64, Usage)]) -> Result<(), DbError> {
        if usage.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = usage.iter().map(|(id, _)| *id).collect();
        let last: Vec<i64> = usage.iter().map(|(_, u)| u.last_used_at).collect();
        let requests: Vec<i64> = usage.iter().map(|(_, u)| u.requests as i64).collect();
        let bytes: Vec<i64> = usage.iter().map(|(_, u)| u.bytes_out as i64).collect();
        self.with("adding key usage", |c| {
            c.execute(
                "UPDATE api_keys k SET last_used_at = GREATEST(COALESCE(k.last_used_at, 0), u.l),
                   requests = k.requests + u.r, bytes_out = k.bytes_out + u.b
                 FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[]) AS u(id, l, r, b)
                 WHERE k.id = u.id",
                &[&ids, &last, &requests, &bytes],
            )
            .map(drop)
        })
    }
}

fn from_row(row: &Row) -> Result<ApiKey, DbError> {
    let hash_hex: &str = row.get(14);
    let mut key_hash = [0u8; 32];
    let id: i64 = row.get(0);
    hex::decode_to_slice(hash_hex, &mut key_hash).map_err(|e| DbError::Corrupt {
        path: "api_keys".into(),
        what: format!("key {id}"),
        message: e.to_string(),
    })?;
    Ok(ApiKey {
        id,
        key_prefix: row.get(1),
        tier: Tier::parse(row.get(2)).unwrap_or(Tier::Public),
        owner: row.get(3),
        email: row.get(4),
        created_at: row.get(5),
        expires_at: row.get(6),
        is_active: row.get(7),
        revoked_at: row.get(8),
        can_write: row.get(9),
        sources: split_sources(row.get(10)),
        last_used_at: row.get(11),
        requests: row.get::<_, i64>(12) as u64,
        bytes_out: row.get::<_, i64>(13) as u64,
        key_hash,
    })
}
