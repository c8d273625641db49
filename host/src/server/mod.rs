//! The gateway assembled: database, plugins, pipeline thread, source, REST.
//!
//! [`run`] takes its listener, so tests bind `127.0.0.1:0` and start the
//! real server in-process; the binary prints the address it listens on.
//! Shutdown (the future resolving): stop taking requests and snapshots,
//! let the cycle in flight commit, stop.
//!
//! - `config`: what the gateway is told to run.
//! - `lock`: one gateway per data directory.
//! - `leader`: the pipeline and the source, over a restored store.
//! - `member`: a cluster member following, then leading (docs/CLUSTER.md).

mod adl;
mod config;
mod leader;
mod lock;
mod member;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use arc_swap::ArcSwap;
use axum::serve::ListenerExt as _;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::api::{self, AppState};
use crate::auth::audit::{AuditBounds, AuditLog};
use crate::auth::limiter::{AddressLimits, RateLimits};
use crate::auth::shared::SharedLimits;
use crate::auth::{Gatekeeper, keystore};
use crate::cluster::lease::Holder;
use crate::cluster::{Cluster, ClusterConfig};
use crate::db::{Backend, Checkpointer, CycleStore, PgUrl};
use crate::fanout::{Hub, connection};
use crate::feed::{self, ChangeFeed, HighWater};
use crate::health::Health;
use crate::metrics::Metrics;
use crate::net::{AddressTable, ConnectionLimits, GuardedListener};
use crate::pipeline::{Shared, Work};
use crate::plugin::{EventSink, PluginEvent, Registry, watcher};
use crate::shutdown::Shutdown;
use crate::store::FlightsView;
use crate::tls::{self, SwappableCert, TlsConfig, TlsListener};

pub use config::{AuthConfig, ServerConfig, SourceConfig};

/// How often the write-ahead log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

/// Snapshots waiting for the pipeline; a source waits beyond this.
const WORK_QUEUE: usize = 4;

/// Runs the gateway on `listener` until `shutdown` resolves.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run_observed(listener, config, shutdown, |_| {}).await
}

/// Like `run`; `observe` gets the change feed once it exists (benchmarks
/// record when each event was published).
pub async fn run_observed(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    observe: impl FnOnce(&Arc<ChangeFeed>),
) -> anyhow::Result<()> {
    let _data_dir = claim_data_dir(&config)?;
    // A bad certificate refuses the start before anything else is opened.
    let tls = match &config.tls {
        Some(files) => Some((files.load()?, files.clone())),
        None => None,
    };
    let signal = one_signal(shutdown);
    let backend = config.backend();
    let (work_tx, work_rx) = mpsc::channel::<Work>(WORK_QUEUE);
    let (plugin_tx, plugin_rx) = std::sync::mpsc::channel::<PluginEvent>();
    let (registry, _watch) = open_registry(&config, plugin_sink(plugin_tx, &work_tx)).await?;
    raise_open_file_limit();
    let start = Start::open(&config, &backend, &listener).await?;
    let shared = new_shared(&start, &backend);
    observe(&shared.feed);
    let (gate, housekeeping) =
        start_gate(&config, &backend, start.shared_limits(), &signal).await?;
    let (hub, fanout_thread) = start_fanout(&config, &shared, &registry, &signal)?;
    let webhooks = start_webhooks(&config, &shared, &signal).await?;
    let state = AppState {
        shared: shared.clone(),
        registry: registry.clone(),
        started: Instant::now(),
        leading: Default::default(),
        gate: gate.clone(),
        cors_origins: config.auth.cors_origins.clone(),
        hub: hub.clone(),
        ws: config.ws,
        cluster_plugins: start.share_plugins(&config, &registry, &signal),
        cache: Default::default(),
        webhooks,
        provisioning: start_self_service(&config, gate.as_ref())?,
        connections: Default::default(),
    };
    let guard = (connection_limits(&config), state.connections.clone());
    let ready = leader::Ready {
        config: config.clone(),
        shared,
        registry,
        signal: signal.clone(),
        leading: state.leading.clone(),
        work_tx,
        work_rx,
        plugin_rx,
    };
    let outcome = Arc::new(Mutex::new(member::Outcome::default()));
    let begun = start.begin(ready, outcome.clone()).await?;
    serve_http(listener, api::router(state), tls, guard, &signal).await?;
    close_websockets(&hub).await;
    let stopping = Stopping {
        housekeeping,
        gate,
        membership: begun.membership,
        outcome,
        fanout_thread,
    };
    stopping.wait().await
}

/// The data directory, made if need be and locked before anything in it is
/// opened: one gateway per data directory.
fn claim_data_dir(config: &ServerConfig) -> anyhow::Result<lock::DataDirLock> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data dir {}", config.data_dir.display()))?;
    lock::DataDirLock::acquire(&config.data_dir)
}

/// As many open files as the system lets this process have: each
/// connection is one.
fn raise_open_file_limit() {
    match crate::net::raise_open_file_limit() {
        Ok(limit) => tracing::info!(limit, "open-file limit"),
        Err(e) => tracing::warn!("cannot read or raise the open-file limit: {e}"),
    }
}

/// The fan-out's hub, its router thread, and the heartbeats to its clients.
fn start_fanout(
    config: &ServerConfig,
    shared: &Arc<Shared>,
    registry: &Arc<Registry>,
    signal: &Shutdown,
) -> anyhow::Result<(Arc<Hub>, std::thread::JoinHandle<()>)> {
    let hub = Hub::new(
        shared.clone(),
        registry.clone(),
        signal.clone(),
        config.ws.filter_budget_percent,
    );
    let fanout_thread = crate::fanout::router::spawn(&hub)?;
    tokio::spawn(connection::heartbeats(hub.clone(), config.ws.heartbeat));
    Ok((hub, fanout_thread))
}

/// Outbound webhooks' delivery, on a gateway whose state is its SQLite
/// file (a cluster's delivery, one instance per webhook, is not built yet).
async fn start_webhooks(
    config: &ServerConfig,
    shared: &Arc<Shared>,
    signal: &Shutdown,
) -> anyhow::Result<Option<Arc<crate::webhook::Webhooks>>> {
    if config.database.is_some() {
        return Ok(None);
    }
    let store = crate::webhook::SqliteWebhooks::open(&config.db_path())?;
    let webhooks = crate::webhook::Webhooks::start(
        Arc::new(store),
        shared.clone(),
        config.webhooks.clone(),
        signal.clone(),
    )
    .await?;
    Ok(Some(webhooks))
}

/// Self-service keys, when VATSIM Connect is configured, keys are on and
/// kept in the SQLite file (PostgreSQL's ledger is not built yet).
fn start_self_service(
    config: &ServerConfig,
    gate: Option<&Arc<Gatekeeper>>,
) -> anyhow::Result<Option<Arc<crate::auth::provision::Provisioning>>> {
    let (Some(self_service), Some(gate)) = (&config.self_service, gate) else {
        return Ok(None);
    };
    if config.database.is_some() {
        tracing::warn!("self-service keys are not served with a PostgreSQL database yet");
        return Ok(None);
    }
    let provisioning = crate::auth::provision::Provisioning::open(
        &config.db_path(),
        gate.clone(),
        self_service.clone(),
    )?;
    tracing::info!(
        connect = self_service.connect_url,
        "self-service keys are on"
    );
    Ok(Some(Arc::new(provisioning)))
}

/// What every connection is held to; an idle WebSocket is pinged, so it
/// must not time out between pings.
fn connection_limits(config: &ServerConfig) -> ConnectionLimits {
    ConnectionLimits {
        idle: config.http.idle.max(config.ws.ping * 2),
        ..config.http
    }
}

/// The keys' gate (none without keys), what it shares with the other
/// instances of a cluster, and its housekeeping task.
async fn start_gate(
    config: &ServerConfig,
    backend: &Backend,
    shared_limits: Option<SharedLimitsParts>,
    signal: &Shutdown,
) -> anyhow::Result<(Option<Arc<Gatekeeper>>, Option<tokio::task::JoinHandle<()>>)> {
    let gate = {
        let (config, backend, shared) = (config.clone(), backend.clone(), shared_limits.clone());
        tokio::task::spawn_blocking(move || open_gate(&config, &backend, shared)).await??
    };
    if let (Some((client, subject, shared)), Some(gate)) = (shared_limits, &gate) {
        let connections = gate.connections.clone();
        tokio::spawn(crate::cluster::usage::exchange(
            client,
            subject,
            shared,
            connections,
            signal.clone(),
        ));
    }
    let housekeeping = gate
        .clone()
        .map(|g| tokio::spawn(keep_house(g, signal.clone())));
    Ok((gate, housekeeping))
}

/// What is waited for once the HTTP server has stopped, in order.
struct Stopping {
    housekeeping: Option<tokio::task::JoinHandle<()>>,
    gate: Option<Arc<Gatekeeper>>,
    membership: Option<tokio::task::JoinHandle<()>>,
    outcome: Arc<Mutex<member::Outcome>>,
    fanout_thread: std::thread::JoinHandle<()>,
}

impl Stopping {
    /// Lets the tasks finish, writes the keys' usage, stops leading (the
    /// pipeline's last cycle) and the fan-out thread; the pipeline's error,
    /// if it failed.
    async fn wait(self) -> anyhow::Result<()> {
        if let Some(task) = self.housekeeping {
            let _ = task.await;
        }
        if let Some(gate) = self.gate {
            tokio::task::spawn_blocking(move || gate.flush_usage()).await?;
        }
        if let Some(task) = self.membership {
            let _ = task.await;
        }
        let stopped = stop_leading(&self.outcome).await;
        let fanout_thread = self.fanout_thread;
        let _ = tokio::task::spawn_blocking(move || fanout_thread.join()).await?;
        stopped
    }
}

/// The one shutdown signal: the caller's future, or a fatal error inside
/// (a cycle that cannot be committed, a lost lease), triggers it.
fn one_signal(shutdown: impl Future<Output = ()> + Send + 'static) -> Shutdown {
    let signal = Shutdown::new();
    tokio::spawn({
        let signal = signal.clone();
        async move {
            shutdown.await;
            signal.trigger();
        }
    });
    signal
}

/// What the pipeline publishes and every reader reads, empty until the
/// first cycle; the change feed goes on from where the store left off.
fn new_shared(start: &Start, backend: &Backend) -> Arc<Shared> {
    let feed = ChangeFeed::new(
        start.last_seq(),
        Some(backend.archive()),
        feed::RECENT_EVENTS,
    )
    .with_epoch(start.epoch().to_string());
    Arc::new(Shared {
        view: ArcSwap::from_pointee(FlightsView::default()),
        programs: ArcSwap::from_pointee(Vec::new()),
        controllers: ArcSwap::default(),
        feed: Arc::new(feed),
        health: Arc::new(Health::default()),
        metrics: Arc::new(Metrics::default()),
        tracks: Default::default(),
    })
}

/// Stops the pipeline if this instance leads, then releases its lease (the
/// last cycle is committed and relayed: the next leader may start). The
/// error that ended leading on its own (a lost lease) wins over the stop's.
async fn stop_leading(outcome: &Mutex<member::Outcome>) -> anyhow::Result<()> {
    let (running, failed, lease) = {
        let mut outcome = outcome.lock();
        (
            outcome.running.take(),
            outcome.error.take(),
            outcome.lease.take(),
        )
    };
    let stopped = match running {
        Some(running) => running.stop().await,
        None => Ok(()),
    };
    if let Some(lease) = lease {
        let _ = tokio::time::timeout(Duration::from_secs(2), lease.release()).await;
    }
    failed.map_or(stopped, Err)
}

/// Where other members reach this one: `advertise_url`, else the address
/// it listens on (an unspecified one, `0.0.0.0`, is not reachable: set
/// `advertise_url` for members on other hosts).
fn advertised_url(
    cluster: &ClusterConfig,
    tls: bool,
    listener: &TcpListener,
) -> anyhow::Result<String> {
    if let Some(url) = &cluster.advertise_url {
        return Ok(url.trim_end_matches('/').to_string());
    }
    let mut address = listener.local_addr()?;
    if address.ip().is_unspecified() {
        tracing::warn!(
            %address,
            "listening on all addresses: other members reach this one at 127.0.0.1; \
             set [cluster] advertise_url (--advertise-url) when they run elsewhere"
        );
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let scheme = if tls { "https" } else { "http" };
    Ok(format!("{scheme}://{address}"))
}

/// What runs beside the server until it stops.
struct Begun {
    /// A cluster member's life.
    membership: Option<tokio::task::JoinHandle<()>>,
    /// The SQLite checkpointer, stopped when dropped.
    _checkpointer: Option<Checkpointer>,
}

/// How this instance starts: alone (it leads at once, from its restored
/// store) or as a cluster member (it follows the stream until it leads).
enum Start {
    Alone {
        store: Box<dyn CycleStore>,
        restored: crate::db::Restored,
        epoch: String,
        high_water: HighWater,
        _checkpointer: Option<Checkpointer>,
    },
    Member {
        cluster: Box<Cluster>,
        url: PgUrl,
        me: Holder,
        last_seq: u64,
    },
}

impl Start {
    async fn open(
        config: &ServerConfig,
        backend: &Backend,
        listener: &TcpListener,
    ) -> anyhow::Result<Start> {
        if let Some(cluster) = &config.cluster {
            let Backend::Postgres(url) = backend else {
                anyhow::bail!(
                    "cluster mode keeps state in PostgreSQL: give --database URL (or SWIM_DATABASE_URL) with --cluster"
                );
            };
            let mut cluster = Cluster::join(cluster.clone(), config.retention.events).await?;
            let last_seq = crate::cluster::stream::last_seq(&mut cluster.stream).await?;
            let me = Holder {
                instance_id: cluster.config.instance_id.clone(),
                url: advertised_url(&cluster.config, config.tls.is_some(), listener)?,
            };
            return Ok(Start::Member {
                cluster: Box::new(cluster),
                url: url.clone(),
                me,
                last_seq,
            });
        }
        let (store, restored, epoch, high_water, checkpointer) = {
            let backend = backend.clone();
            let data_dir = config.data_dir.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let checkpointer = match &backend {
                    Backend::Sqlite(path) => Some(Checkpointer::spawn(path, CHECKPOINT_EVERY)?),
                    Backend::Postgres(_) => None,
                };
                let mut store = backend.cycle_store()?;
                let restored = store.restore()?;
                let high_water = HighWater::in_dir(&data_dir);
                let epoch = feed_epoch(store.as_mut(), &high_water, restored.next_seq - 1)?;
                Ok((store, restored, epoch, high_water, checkpointer))
            })
            .await??
        };
        tracing::info!(
            flights = restored.records.len(),
            next_seq = restored.next_seq,
            database = %backend,
            "state restored"
        );
        Ok(Start::Alone {
            store,
            restored,
            epoch,
            high_water,
            _checkpointer: checkpointer,
        })
    }

    /// A member mirrors the plugins pushed to the cluster into its plugins
    /// dir and reports its own; returns where the others' reports go.
    fn share_plugins(
        &self,
        config: &ServerConfig,
        registry: &Arc<Registry>,
        signal: &Shutdown,
    ) -> Option<Arc<crate::cluster::plugins::ClusterPlugins>> {
        use crate::cluster::plugins;
        let Start::Member { cluster, me, .. } = self else {
            return None;
        };
        let seen = Arc::new(plugins::ClusterPlugins::default());
        tokio::spawn(plugins::mirror(
            cluster.plugins.clone(),
            config.plugins_dir.clone(),
            signal.clone(),
        ));
        tokio::spawn(plugins::exchange_status(
            cluster.client.clone(),
            cluster.config.stream.clone(),
            me.instance_id.clone(),
            registry.clone(),
            seen.clone(),
            signal.clone(),
        ));
        Some(seen)
    }

    /// A member's limits hold across the cluster: the parts they need.
    fn shared_limits(&self) -> Option<SharedLimitsParts> {
        let Start::Member { cluster, me, .. } = self else {
            return None;
        };
        Some((
            cluster.client.clone(),
            crate::cluster::usage::subject(&cluster.config.stream),
            Arc::new(SharedLimits::new(me.instance_id.clone())),
        ))
    }

    /// The seq the feed starts after.
    fn last_seq(&self) -> u64 {
        match self {
            Start::Alone { restored, .. } => restored.next_seq - 1,
            Start::Member { last_seq, .. } => *last_seq,
        }
    }

    fn epoch(&self) -> &str {
        match self {
            Start::Alone { epoch, .. } => epoch,
            Start::Member { cluster, .. } => &cluster.epoch,
        }
    }

    /// Leads now (alone), or starts the member's life as a task.
    async fn begin(
        self,
        ready: leader::Ready,
        outcome: Arc<Mutex<member::Outcome>>,
    ) -> anyhow::Result<Begun> {
        match self {
            Start::Alone {
                store,
                restored,
                high_water,
                _checkpointer,
                ..
            } => {
                ready.shared.metrics.is_leader.set(1);
                // Leading starts with database reads (programs, the
                // simulator's world).
                let running = tokio::task::spawn_blocking(move || {
                    leader::lead(store, restored, None, Some(high_water), ready)
                })
                .await??;
                outcome.lock().running = Some(running);
                Ok(Begun {
                    membership: None,
                    _checkpointer,
                })
            }
            Start::Member {
                cluster, url, me, ..
            } => Ok(Begun {
                membership: Some(tokio::spawn(member::run(*cluster, url, me, ready, outcome))),
                _checkpointer: None,
            }),
        }
    }
}

/// Serves `app` on `listener` until the shutdown signal: plain HTTP, or
/// HTTPS with `tls`'s certificate, renewed from its files while serving.
async fn serve_http(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<(tls::Certificate, TlsConfig)>,
    (limits, connections): (ConnectionLimits, Arc<AddressTable>),
    signal: &Shutdown,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    tracing::info!(%address, tls = tls.is_some(), "listening");
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let stop = signal.clone();
    let graceful = async move { stop.wait().await };
    let Some((certificate, files)) = tls else {
        // `tap_io` gives the listener axum's connect info (the peer address).
        let listener = GuardedListener::new(listener, limits, connections).tap_io(|_| {});
        return axum::serve(listener, app)
            .with_graceful_shutdown(graceful)
            .await
            .context("serving HTTP");
    };
    let served = SwappableCert::new(certificate);
    let renewals = tls::watch(files, served.clone(), tls::RELOAD_CHECK, signal.clone());
    tokio::spawn(renewals);
    let listener = TlsListener::new(listener, TlsConfig::server_config(&served), signal.clone())?;
    let listener = GuardedListener::new(listener, limits, connections).tap_io(|_| {});
    axum::serve(listener, app)
        .with_graceful_shutdown(graceful)
        .await
        .context("serving HTTPS")
}

/// The feed's epoch: the database's, unless it has none (a new database)
/// or it is behind its own high-water mark (restored from a backup: its
/// seqs will be reused for other events), then a new one.
fn feed_epoch(db: &mut dyn CycleStore, mark: &HighWater, last_seq: u64) -> anyhow::Result<String> {
    if let Some(epoch) = db.feed_epoch()? {
        if !mark.rewound(&epoch, last_seq) {
            return Ok(epoch);
        }
        tracing::warn!(
            epoch,
            last_seq,
            "the database is behind the feed it published (restored from a backup?): a new epoch starts"
        );
    }
    let epoch = feed::epoch::new_epoch();
    db.set_feed_epoch(&epoch)?;
    mark.write(&epoch, last_seq);
    tracing::info!(epoch, "the change feed starts a new epoch");
    Ok(epoch)
}

/// How long WebSocket clients get to be sent their 1001 at shutdown.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Waits (up to [`CLOSE_GRACE`]) until every WebSocket session, told by
/// the shutdown signal, has sent its close frame and gone.
async fn close_websockets(hub: &Hub) {
    let deadline = Instant::now() + CLOSE_GRACE;
    while hub.client_count() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left = hub.client_count();
    if left > 0 {
        tracing::warn!(clients = left, "WebSocket clients still open at shutdown");
    }
}

/// The NATS connection, subject and counts a cluster member's limits use.
type SharedLimitsParts = (async_nats::Client, String, Arc<SharedLimits>);

fn open_gate(
    config: &ServerConfig,
    backend: &Backend,
    shared: Option<SharedLimitsParts>,
) -> anyhow::Result<Option<Arc<Gatekeeper>>> {
    if !config.auth.enabled {
        tracing::warn!("access control is off: every request is served without a key");
        return Ok(None);
    }
    let keys = keystore::open(backend)?;
    let bounds = AuditBounds {
        retention: config.auth.audit_retention,
        max_rows: config.auth.audit_max_rows,
    };
    let audit = AuditLog::start(backend, bounds)?;
    let mut gate = Gatekeeper::new(
        keys,
        RateLimits::default(),
        AddressLimits::new(config.auth.anonymous_per_minute),
        audit,
        config.auth.open_paths.clone(),
    );
    if let Some((_, _, shared)) = shared {
        gate = gate.with_shared_limits(shared);
    }
    Ok(Some(Arc::new(gate)))
}

/// Usage flushes and cross-process revocations, every two seconds, until
/// shutdown.
async fn keep_house(gate: Arc<Gatekeeper>, shutdown: Shutdown) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.wait() => return,
        }
        let gate = gate.clone();
        let _ = tokio::task::spawn_blocking(move || gate.housekeeping()).await;
    }
}

async fn open_registry(
    config: &ServerConfig,
    sink: EventSink,
) -> anyhow::Result<(Arc<Registry>, watcher::DirWatcher)> {
    let dir = config.plugins_dir.clone();
    let cache = config.data_dir.join("cache");
    let policy = config.plugins.clone();
    tokio::task::spawn_blocking(move || watcher::open_watched_with(dir, Some(cache), sink, policy))
        .await?
}

/// Plugin events go to the pipeline, which stamps them into the change
/// feed; the weak sender lets the work queue close at shutdown.
fn plugin_sink(
    events: std::sync::mpsc::Sender<PluginEvent>,
    work: &mpsc::Sender<Work>,
) -> EventSink {
    let work = work.downgrade();
    let events = Mutex::new(events);
    Arc::new(move |event| {
        let _ = events.lock().send(event);
        if let Some(work) = work.upgrade() {
            // A full queue means the pipeline is busy and drains events anyway.
            let _ = work.try_send(Work::Wake);
        }
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
