//! Self-service keys (PERTI's `keys/provision` and `keys/revoke`): a pilot
//! client exchanges a VATSIM Connect access token for a developer key tied
//! to the pilot's CID, one per CID and client; its owner revokes it with a
//! token of the same CID.
//!
//! Keys are kept as hashes only, yet a second provision (the same pilot on
//! a second machine) returns the same key, as PERTI's does: a self-service
//! key is derived, the HMAC-SHA256 of the CID, the client and a generation
//! under a secret kept in the database. Revoking moves the generation on,
//! so the next provision gives a new key. Whoever can read the database can
//! derive the active self-service keys (PERTI keeps every key in plain
//! text); keys made with `swim keys create` cannot be.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use rusqlite::{OptionalExtension, params};
use sha2::Sha256;

use super::connect::{self, ConnectError, Pilot};
use super::gate::Gatekeeper;
use super::key::{self, Tier};
use super::keystore::{ApiKey, NewKey};
use crate::db::Database;

/// Self-service keys' settings (`[keys]`, docs/CONFIG.md).
#[derive(Debug, Clone, PartialEq)]
pub struct SelfServiceConfig {
    /// VATSIM Connect's user endpoint.
    pub connect_url: String,
    /// How long a provisioned key lasts (PERTI: a year).
    pub expires: Duration,
}

/// Why a provision or revocation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Connect did not vouch for the token.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The owner has no such active key.
    #[error("{0}")]
    NoKeys(String),
    /// The keys could not be read or written.
    #[error("the keys cannot be read or written: {0}")]
    Store(#[from] anyhow::Error),
}

/// A key handed to a pilot client.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The key itself.
    pub api_key: String,
    /// Its record.
    pub record: ApiKey,
    /// Whose it is.
    pub pilot: Pilot,
    /// False when an active key was returned.
    pub is_new: bool,
}

/// What a revocation did.
#[derive(Debug, Clone)]
pub struct Revoked {
    /// Keys revoked.
    pub count: usize,
    /// Whose.
    pub cid: u64,
}

/// The gateway's self-service keys.
pub struct Provisioning {
    gate: Arc<Gatekeeper>,
    ledger: Mutex<Database>,
    secret: Vec<u8>,
    http: reqwest::Client,
    config: SelfServiceConfig,
}

impl Provisioning {
    /// Opens the ledger of provisioned keys in the database at `path`
    /// (making its secret on first use).
    pub fn open(
        path: &Path,
        gate: Arc<Gatekeeper>,
        config: SelfServiceConfig,
    ) -> anyhow::Result<Provisioning> {
        let ledger = Database::open(path)?;
        let secret = ledger.with(|c| {
            let mut fresh = [0u8; 32];
            getrandom::fill(&mut fresh).map_err(|e| {
                rusqlite::Error::ToSqlConversionFailure(format!("no randomness: {e}").into())
            })?;
            c.execute(
                "INSERT OR IGNORE INTO provisioning_secret (id, secret) VALUES (1, ?1)",
                [&fresh[..]],
            )?;
            c.query_row(
                "SELECT secret FROM provisioning_secret WHERE id = 1",
                [],
                |r| r.get::<_, Vec<u8>>(0),
            )
        })?;
        Ok(Provisioning {
            gate,
            ledger: Mutex::new(ledger),
            secret,
            http: reqwest::Client::builder()
                .user_agent("VATSWIM/1.0")
                .build()?,
            config,
        })
    }

    /// The pilot's active key for `client`, or a new one.
    pub async fn provision(
        self: &Arc<Self>,
        token: &str,
        client: &str,
        version: &str,
    ) -> Result<Provisioned, ProvisionError> {
        let pilot = connect::who(&self.http, &self.config.connect_url, token).await?;
        let this = self.clone();
        let (client, version) = (client.to_string(), version.to_string());
        let asked = pilot.clone();
        let (api_key, record, is_new) = tokio::task::spawn_blocking(move || {
            this.issue_or_return(&asked, &client, &version, crate::health::wall_ms())
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))??;
        Ok(Provisioned {
            api_key,
            record,
            pilot,
            is_new,
        })
    }

    /// Revokes the pilot's active self-service keys: every one, those of
    /// one client, or the one given.
    pub async fn revoke(
        self: &Arc<Self>,
        token: &str,
        api_key: Option<&str>,
        client: Option<&str>,
    ) -> Result<Revoked, ProvisionError> {
        let pilot = connect::who(&self.http, &self.config.connect_url, token).await?;
        let this = self.clone();
        let hash = api_key.map(key::hash);
        let client = client.map(str::to_string);
        let cid = pilot.cid;
        let count = tokio::task::spawn_blocking(move || {
            this.revoke_owned(cid, hash, client.as_deref(), crate::health::wall_ms())
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))??;
        if count == 0 {
            return Err(ProvisionError::NoKeys(
                "No active API keys found matching criteria".into(),
            ));
        }
        Ok(Revoked { count, cid })
    }

    /// The latest generation's key if it is still active, else the next
    /// generation's, made now. One at a time (the ledger's lock), so two
    /// provisions of one pilot never make two keys.
    fn issue_or_return(
        &self,
        pilot: &Pilot,
        client: &str,
        version: &str,
        now: i64,
    ) -> anyhow::Result<(String, ApiKey, bool)> {
        let ledger = self.ledger.lock();
        let latest: Option<(i64, i64)> = ledger.with(|c| {
            c.query_row(
                "SELECT generation, key_id FROM provisioned_keys WHERE cid = ?1 AND client_name = ?2
                 ORDER BY generation DESC LIMIT 1",
                params![pilot.cid as i64, client],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })?;
        if let Some((generation, key_id)) = latest
            && let Some(record) = self.gate.keys().by_id(key_id)?
            && usable(&record, now)
        {
            let api_key = self.derive(pilot.cid, client, generation);
            if key::same_hash(&key::hash(&api_key), &record.key_hash) {
                return Ok((api_key, record, false));
            }
        }
        let generation = latest.map_or(1, |(g, _)| g + 1);
        let api_key = self.derive(pilot.cid, client, generation);
        let new = NewKey {
            tier: Tier::Developer,
            owner: owner(pilot, client),
            email: pilot.email.clone(),
            expires_at: Some(now + self.config.expires.as_millis() as i64),
            can_write: false,
            sources: Vec::new(),
        };
        let record = self.gate.keys().insert(&api_key, &new, now)?;
        ledger.with(|c| {
            c.execute(
                "INSERT INTO provisioned_keys (cid, client_name, generation, key_id, client_version,
                   created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![pilot.cid as i64, client, generation, record.id, version, now],
            )
        })?;
        Ok((api_key, record, true))
    }

    /// Revokes the owner's active keys that match; how many.
    fn revoke_owned(
        &self,
        cid: u64,
        hash: Option<[u8; 32]>,
        client: Option<&str>,
        now: i64,
    ) -> anyhow::Result<usize> {
        let ids: Vec<i64> = self.ledger.lock().with(|c| {
            let mut stmt = c.prepare(
                "SELECT key_id FROM provisioned_keys WHERE cid = ?1
                 AND (?2 IS NULL OR client_name = ?2)",
            )?;
            let rows = stmt.query_map(params![cid as i64, client], |r| r.get(0))?;
            rows.collect()
        })?;
        let mut count = 0;
        for id in ids {
            let Some(record) = self.gate.keys().by_id(id)? else {
                continue;
            };
            let wanted = hash.is_none_or(|h| key::same_hash(&h, &record.key_hash));
            if record.is_active && wanted && self.gate.revoke(id, now)? {
                count += 1;
            }
        }
        Ok(count)
    }

    /// The key of a CID, client and generation.
    fn derive(&self, cid: u64, client: &str, generation: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        mac.update(format!("provision\n{cid}\n{client}\n{generation}").as_bytes());
        let tag = mac.finalize().into_bytes();
        format!("swim_{}_{}", Tier::Developer.key_tag(), hex::encode(tag))
    }

    /// A provisioned key's rate limit, requests a minute.
    pub fn rate_limit() -> u32 {
        Tier::Developer.requests_per_minute()
    }
}

/// Active and not expired.
fn usable(record: &ApiKey, now: i64) -> bool {
    record.is_active && record.expires_at.is_none_or(|at| at > now)
}

/// Who a key belongs to, as `GET /keys` shows it.
fn owner(pilot: &Pilot, client: &str) -> String {
    match &pilot.name {
        Some(name) => format!("VATSIM {} ({name}), {client}", pilot.cid),
        None => format!("VATSIM {}, {client}", pilot.cid),
    }
}
