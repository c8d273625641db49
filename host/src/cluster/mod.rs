//! Several gateways as one (docs/CLUSTER.md): NATS JetStream carries the
//! change feed and the leader's lease, PostgreSQL holds the state. One
//! instance leads (runs the sources, the pipeline, ingest and TMI and
//! relays each committed cycle to the stream); the others follow (read the
//! stream into their change feed, and the flights from the database) and
//! serve their own clients. No consensus of our own: the lease is a
//! JetStream key, the order is the stream's, fencing is the stream's
//! expected sequence and the database's leader term.
//!
//! - `stream`: the change feed stream: open, relay, follow.
//! - `lease`: the leader's lease.
//! - `view`: a follower's flights and programs, from the database.
//! - `usage`: each instance's key usage told to the others (shared limits).
//! - `plugins`: plugins pushed to every instance, and each one's status.

pub mod lease;
pub mod plugins;
pub mod stream;
pub mod usage;
pub mod view;

use std::time::Duration;

use async_nats::jetstream::{self, kv};

/// The default name of the change feed stream.
pub const DEFAULT_STREAM: &str = "SWIM_EVENTS";

/// Where the cluster is and who this instance is.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The NATS server(s), e.g. `nats://127.0.0.1:4222`.
    pub nats_url: String,
    /// The change feed stream (the lease bucket is `STREAM_LEADER`).
    pub stream: String,
    /// This instance's name in `/health` and the lease.
    pub instance_id: String,
    /// Where other instances reach this one's HTTP (writes are forwarded
    /// to the leader there); default: the address it listens on.
    pub advertise_url: Option<String>,
    /// Copies JetStream keeps of the stream, the lease and the plugin store
    /// (3 on a three-node NATS cluster survives one node lost).
    pub replicas: usize,
}

impl ClusterConfig {
    /// A member of the cluster at `nats_url` with the default stream and an
    /// instance id from the host name and process id.
    pub fn new(nats_url: impl Into<String>) -> Self {
        ClusterConfig {
            nats_url: nats_url.into(),
            stream: DEFAULT_STREAM.into(),
            instance_id: default_instance_id(),
            advertise_url: None,
            replicas: 1,
        }
    }
}

/// A NATS connection named for `who`; `nats_url` may list several
/// servers of a NATS cluster, comma-separated (the client fails over).
pub async fn connect(nats_url: &str, who: &str) -> anyhow::Result<async_nats::Client> {
    let servers: Vec<&str> = nats_url.split(',').map(str::trim).collect();
    async_nats::ConnectOptions::new()
        .name(format!("vatswim {who}"))
        .connection_timeout(Duration::from_secs(5))
        .connect(servers)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach NATS at {nats_url}: {e}"))
}

fn default_instance_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "swim".into());
    format!("{host}-{}", std::process::id())
}

/// A connected member: the stream, its epoch, the lease's bucket.
pub struct Cluster {
    /// Its configuration.
    pub config: ClusterConfig,
    /// The NATS connection.
    pub client: async_nats::Client,
    /// JetStream.
    pub js: jetstream::Context,
    /// The change feed stream.
    pub stream: async_nats::jetstream::stream::Stream,
    /// The change feed's epoch (kept with the stream).
    pub epoch: String,
    /// The lease's bucket.
    pub leases: kv::Store,
    /// Plugins pushed to every instance.
    pub plugins: async_nats::jetstream::object_store::ObjectStore,
}

impl Cluster {
    /// Connects, opening (or creating) the stream, the lease bucket and
    /// the plugin store; events older than `max_age` leave the stream.
    pub async fn join(config: ClusterConfig, max_age: Duration) -> anyhow::Result<Cluster> {
        let client = connect(&config.nats_url, &config.instance_id).await?;
        let js = jetstream::new(client.clone());
        let (stream, epoch) = stream::open(&js, &config.stream, max_age, config.replicas).await?;
        let leases = lease::bucket(&js, &config.stream, config.replicas).await?;
        let plugins = plugins::store(&js, &config.stream, config.replicas).await?;
        tracing::info!(
            instance = %config.instance_id,
            stream = %config.stream,
            epoch,
            "joined the cluster"
        );
        Ok(Cluster {
            config,
            client,
            js,
            stream,
            epoch,
            leases,
            plugins,
        })
    }
}
