//! The leader's lease (docs/CLUSTER.md, the leader): one key in a
//! JetStream key-value bucket. Whoever creates the key leads; the leader
//! renews it with the revision it holds, so a renewal after someone else
//! took over is refused. nats-server 2.9 has no per-key TTL, so the
//! bucket's max age (3 renew intervals) makes an unrenewed lease vanish,
//! and the next `create` by another instance succeeds.
//!
//! The revision that created the lease is the leader's *term*: the leader
//! claims the database with it, so a deposed leader's commit is refused
//! there too (`db::PgDatabase::claim_term`).

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// How often the leader renews; the lease lapses after 3 times this.
pub const RENEW_EVERY: Duration = Duration::from_secs(2);
/// How often a follower tries to take a lapsed lease.
pub const TRY_EVERY: Duration = Duration::from_secs(1);
/// The key holding the lease.
const KEY: &str = "leader";

/// Who holds the lease, as stored in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The leader's instance id.
    pub instance_id: String,
    /// Where it serves HTTP (writes are forwarded there).
    pub url: String,
}

/// The lease's bucket (`STREAM_LEADER`), created if missing.
///
/// Made as the key-value layout's stream (`KV_<bucket>`, one message per
/// key) rather than with `create_key_value`, whose account query
/// nats-server 2.9 answers in a shape this client no longer reads.
pub async fn bucket(
    js: &jetstream::Context,
    stream: &str,
    replicas: usize,
) -> anyhow::Result<kv::Store> {
    let name = format!("{stream}_LEADER");
    if let Ok(store) = js.get_key_value(&name).await {
        return Ok(store);
    }
    let config = jetstream::stream::Config {
        name: format!("KV_{name}"),
        description: Some("VATSWIM: the leader's lease".into()),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_age: RENEW_EVERY * 3,
        duplicate_window: RENEW_EVERY * 3,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: jetstream::stream::DiscardPolicy::New,
        storage: jetstream::stream::StorageType::File,
        num_replicas: replicas.max(1),
        ..Default::default()
    };
    if let Err(created) = js.create_stream(config).await {
        // Another instance may have made it first.
        tracing::debug!(error = %created, "lease bucket not created");
    }
    js.get_key_value(&name)
        .await
        .map_err(|e| anyhow::anyhow!("the lease bucket {name} could not be opened: {e}"))
}

/// The current holder, if the lease is held.
pub async fn holder(store: &kv::Store) -> Option<Holder> {
    let entry = store.entry(KEY).await.ok()??;
    if entry.operation != kv::Operation::Put {
        return None;
    }
    serde_json::from_slice(&entry.value).ok()
}

/// A lease this instance holds.
pub struct Lease {
    store: kv::Store,
    value: Bytes,
    revision: u64,
    /// The revision that created it: the leader's term.
    pub term: u64,
    renewed: Instant,
}

impl Lease {
    /// Takes the lease if nobody holds it.
    pub async fn try_acquire(store: &kv::Store, me: &Holder) -> Option<Lease> {
        let value = Bytes::from(serde_json::to_vec(me).ok()?);
        let revision = store.create(KEY, value.clone()).await.ok()?;
        Some(Lease {
            store: store.clone(),
            value,
            revision,
            term: revision,
            renewed: Instant::now(),
        })
    }

    /// Gives the lease up (a leader stopping on purpose, after its last
    /// cycle): the next instance takes it within a second instead of
    /// waiting for it to lapse. Only this revision is deleted, never a
    /// lease someone else took meanwhile.
    pub async fn release(self) {
        match self
            .store
            .delete_expect_revision(KEY, Some(self.revision))
            .await
        {
            Ok(()) => tracing::info!(term = self.term, "lease released"),
            Err(e) => tracing::warn!(error = %e, "lease not released; it lapses by itself"),
        }
    }

    /// Renews; an error when another instance holds the lease now, or when
    /// it could not be renewed for so long that another may.
    pub async fn renew(&mut self) -> Result<(), String> {
        match self
            .store
            .update(KEY, self.value.clone(), self.revision)
            .await
        {
            Ok(revision) => {
                self.revision = revision;
                self.renewed = Instant::now();
                Ok(())
            }
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                Err("another instance holds the lease".into())
            }
            Err(e) if self.renewed.elapsed() >= RENEW_EVERY * 2 => Err(format!(
                "the lease was not renewed for {:.1} s (last error: {e}); another instance may lead",
                self.renewed.elapsed().as_secs_f64()
            )),
            Err(e) => {
                tracing::warn!(error = %e, "lease renewal failed; retrying");
                Ok(())
            }
        }
    }
}
