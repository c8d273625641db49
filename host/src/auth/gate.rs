//! The gatekeeper: who is calling (the key, from a cache in front of the
//! database), whether the key may (active, not expired, its bucket not
//! empty, its write permissions), and what it used.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::audit::{AuditLog, AuditRow};
use super::connections::Connections;
use super::failures::Failures;
use super::key::{self, Tier};
use super::keystore::{ApiKey, KeyStore, Usage};
use super::limiter::{AddressLimits, Decision, RateLimits};
use super::shared::SharedLimits;

/// How long a lookup (found or not) is trusted.
pub const CACHE_TTL: Duration = Duration::from_secs(300);
/// Cached lookups at most (unknown keys are cached too, so a flood of
/// made-up keys is bounded).
const CACHE_MAX: usize = 50_000;

/// Why a request has no valid key: 401 with the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// No key presented.
    Missing,
    /// No such key.
    Unknown,
    /// Past its expiry.
    Expired,
    /// Deactivated.
    Inactive,
    /// Revoked.
    Revoked,
}

impl AuthError {
    /// The stable code clients see.
    pub fn code(self) -> &'static str {
        match self {
            AuthError::Missing => "MISSING_API_KEY",
            AuthError::Unknown => "INVALID_API_KEY",
            AuthError::Expired => "KEY_EXPIRED",
            AuthError::Inactive => "KEY_INACTIVE",
            AuthError::Revoked => "KEY_REVOKED",
        }
    }

    /// What to tell the client.
    pub fn message(self) -> &'static str {
        match self {
            AuthError::Missing => {
                "an API key is required: send `Authorization: Bearer KEY` or `X-API-Key: KEY`"
            }
            AuthError::Unknown => "the API key is not known",
            AuthError::Expired => "the API key has expired",
            AuthError::Inactive => "the API key is not active",
            AuthError::Revoked => "the API key has been revoked",
        }
    }
}

#[derive(Clone)]
struct Cached {
    key: Option<Arc<ApiKey>>,
    at: Instant,
}

/// Keys, limits, usage and the audit log, shared by every request.
pub struct Gatekeeper {
    keys: Arc<dyn KeyStore>,
    cache: Mutex<HashMap<[u8; 32], Cached>>,
    seen_version: AtomicI64,
    limits: RateLimits,
    /// Requests with no valid key, per client address.
    anonymous: AddressLimits,
    failures: Failures,
    usage: Mutex<HashMap<i64, Usage>>,
    /// Every write and every auth failure.
    pub audit: AuditLog,
    /// Open WebSocket connections per key.
    pub connections: Arc<Connections>,
    /// A cluster's instances' counts, when limits hold across them.
    shared: Option<Arc<SharedLimits>>,
    open_paths: Vec<String>,
}

impl Gatekeeper {
    /// A gatekeeper over these keys.
    /// `open_paths` (under the API prefix, e.g. `/health`) need no key.
    pub fn new(
        keys: Arc<dyn KeyStore>,
        limits: RateLimits,
        anonymous: AddressLimits,
        audit: AuditLog,
        open_paths: Vec<String>,
    ) -> Self {
        let version = keys.version().unwrap_or(0);
        Gatekeeper {
            keys,
            cache: Mutex::new(HashMap::new()),
            seen_version: AtomicI64::new(version),
            limits,
            anonymous,
            failures: Failures::default(),
            usage: Mutex::new(HashMap::new()),
            audit,
            connections: Arc::new(Connections::default()),
            shared: None,
            open_paths,
        }
    }

    /// Whether a request path (with the API prefix) needs no key.
    pub fn is_open(&self, path: &str) -> bool {
        let path = path.strip_prefix(crate::API_PREFIX).unwrap_or(path);
        self.open_paths.iter().any(|p| p == path)
    }

    /// The key store.
    pub fn keys(&self) -> &Arc<dyn KeyStore> {
        &self.keys
    }

    /// The valid key behind a presented one.
    pub fn authenticate(
        &self,
        presented: Option<&str>,
        now: i64,
    ) -> Result<Arc<ApiKey>, AuthError> {
        let presented = presented
            .filter(|k| !k.is_empty())
            .ok_or(AuthError::Missing)?;
        if !key::well_formed(presented) {
            return Err(AuthError::Unknown);
        }
        let hash = key::hash(presented);
        let found = self.lookup(&hash).ok_or(AuthError::Unknown)?;
        if !key::same_hash(&found.key_hash, &hash) {
            return Err(AuthError::Unknown);
        }
        usable(found, now)
    }

    /// Whether a key that was valid at connect still is (a long-lived
    /// connection re-checks: expiry, revocation, deactivation).
    pub fn still_valid(&self, key: &ApiKey, now: i64) -> Result<Arc<ApiKey>, AuthError> {
        let found = self.lookup(&key.key_hash).ok_or(AuthError::Unknown)?;
        usable(found, now)
    }

    /// The key with this hash: from the cache, else from the database
    /// (a database error is treated as unknown, and not cached).
    fn lookup(&self, hash: &[u8; 32]) -> Option<Arc<ApiKey>> {
        if let Some(c) = self
            .cache
            .lock()
            .get(hash)
            .filter(|c| c.at.elapsed() < CACHE_TTL)
        {
            return c.key.clone();
        }
        let key = match self.keys.by_hash(hash) {
            Ok(k) => k.map(Arc::new),
            Err(e) => {
                tracing::error!(error = %e, "key lookup failed");
                return None;
            }
        };
        let mut cache = self.cache.lock();
        if cache.len() >= CACHE_MAX {
            cache.retain(|_, c| c.at.elapsed() < CACHE_TTL);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(
            *hash,
            Cached {
                key: key.clone(),
                at: Instant::now(),
            },
        );
        key
    }

    /// Takes one request from the key's bucket (and, in a cluster, from
    /// its budget for the minute across the instances).
    pub fn rate(&self, key: &ApiKey) -> Decision {
        let decision = self.limits.check(key.id, key.tier);
        let (Some(shared), Decision::Allowed { limit, remaining }) = (&self.shared, decision)
        else {
            return decision;
        };
        match shared.admit(key.id, limit, crate::health::wall_ms()) {
            Ok(left) => Decision::Allowed {
                limit,
                remaining: remaining.min(left),
            },
            Err(retry_after) => Decision::Limited { limit, retry_after },
        }
    }

    /// Limits this gatekeeper's keys across a cluster's instances.
    pub fn with_shared_limits(mut self, shared: Arc<SharedLimits>) -> Self {
        self.connections = Arc::new(Connections::shared(shared.clone()));
        self.shared = Some(shared);
        self
    }

    /// A request that presented no valid key: takes one request from its
    /// address's bucket and audits it, a row for the first failure of its
    /// kind from the address in a minute and one summary for the rest.
    /// `Limited`: the address is over its limit, and the request gets 429.
    /// An IPv6 address is counted by its /64 (`net::client_block`).
    pub fn unauthenticated(&self, address: Option<IpAddr>, mut row: AuditRow) -> Decision {
        let decision = self.address_rate(address);
        let address = address.map(crate::net::client_block);
        if let Decision::Limited { .. } = decision {
            row.status = 429;
            row.detail = Some(format!(
                "RATE_LIMITED (no valid key; was {})",
                row.detail.as_deref().unwrap_or("-")
            ));
        }
        if let Some(row) = self.failures.note(address, row) {
            self.audit(row);
        }
        decision
    }

    /// A request that needs no key but is held to its address's limit
    /// (self-service keys: each one asks VATSIM Connect).
    pub fn address_rate(&self, address: Option<IpAddr>) -> Decision {
        match address.map(crate::net::client_block) {
            Some(address) => self.anonymous.check(address),
            None => Decision::Allowed {
                limit: 0,
                remaining: 0,
            },
        }
    }

    /// Counts a request and its response bytes against the key.
    pub fn count(&self, key: &ApiKey, bytes: u64, now: i64) {
        let mut usage = self.usage.lock();
        let u = usage.entry(key.id).or_default();
        u.requests += 1;
        u.bytes_out += bytes;
        u.last_used_at = u.last_used_at.max(now);
    }

    /// Revokes a key on this instance: refused from the next request on.
    pub fn revoke(&self, id: i64, now: i64) -> anyhow::Result<bool> {
        let found = self.keys.revoke(id, now)?;
        self.cache.lock().clear();
        self.seen_version
            .store(self.keys.version()?, Ordering::Relaxed);
        Ok(found)
    }

    /// Writes the usage counted so far and drops cached lookups if another
    /// process changed a key; run every few seconds.
    pub fn housekeeping(&self) {
        match self.keys.version() {
            Ok(v) if v != self.seen_version.swap(v, Ordering::Relaxed) => self.cache.lock().clear(),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the keys version"),
        }
        self.flush_usage();
        for row in self.failures.close_due(crate::health::wall_ms()) {
            self.audit(row);
        }
        self.limits.shrink();
        self.anonymous.shrink();
    }

    /// Writes the usage counted so far (the counts are taken out first, so
    /// none is counted twice or lost to a concurrent request).
    pub fn flush_usage(&self) {
        let taken: Vec<(i64, Usage)> = self.usage.lock().drain().collect();
        if taken.is_empty() {
            return;
        }
        if let Err(e) = self.keys.add_usage(&taken) {
            tracing::warn!(error = %e, "key usage not written; kept for the next flush");
            let mut usage = self.usage.lock();
            for (id, u) in taken {
                let e = usage.entry(id).or_default();
                e.requests += u.requests;
                e.bytes_out += u.bytes_out;
                e.last_used_at = e.last_used_at.max(u.last_used_at);
            }
        }
    }

    /// Records an audited request.
    pub fn audit(&self, row: AuditRow) {
        self.audit.record(row);
    }
}

fn usable(key: Arc<ApiKey>, now: i64) -> Result<Arc<ApiKey>, AuthError> {
    match &*key {
        k if k.revoked_at.is_some() => Err(AuthError::Revoked),
        k if !k.is_active => Err(AuthError::Inactive),
        k if k.expires_at.is_some_and(|t| t <= now) => Err(AuthError::Expired),
        _ => Ok(key),
    }
}

/// Whether a key may write to an ingest route (`route`) or issue TMIs
/// (`"tmi"`): system keys may do anything; others need `can_write` and
/// the route among their allowed sources.
pub fn may_write(key: &ApiKey, route: &str) -> bool {
    key.tier == Tier::System || (key.can_write && key.sources.iter().any(|s| s == route))
}
