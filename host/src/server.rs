//! The gateway assembled: database, plugins, pipeline thread, source, REST.
//!
//! [`run`] takes its listener, so tests bind `127.0.0.1:0` and start the
//! real server in-process; the binary prints the address it listens on.
//! Shutdown (the future resolving): stop taking requests and snapshots,
//! let the cycle in flight commit, stop.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
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
use crate::auth::{Gatekeeper, KeyStore};
use crate::db::{Checkpointer, Database, SqliteArchive};
use crate::fanout::{Hub, WsConfig, connection};
use crate::feed::{self, ChangeFeed, HighWater};
use crate::health::{Health, wall_ms};
use crate::metrics::Metrics;
use crate::pipeline::{Pipeline, Retention, Shared, Work, Worker};
use crate::plugin::{EventSink, PluginEvent, Registry, watcher};
use crate::reference::AirportTable;
use crate::shutdown::Shutdown;
use crate::source::sim::{SimConfig, Simulator, World};
use crate::source::{replay, sim, vatsim};
use crate::store::{FlightStore, FlightsView};
use crate::tls::{self, SwappableCert, TlsConfig, TlsListener};
use crate::tmi::Programs;

/// How often the write-ahead log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

/// Snapshots waiting for the pipeline; a source waits beyond this.
const WORK_QUEUE: usize = 4;

/// Where flight data comes from.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    /// The VATSIM v3 feed over HTTP.
    Vatsim {
        /// Its URL.
        url: String,
        /// Time between polls.
        interval: Duration,
        /// How long one fetch may take.
        timeout: Duration,
    },
    /// The built-in simulator.
    Sim {
        /// Its settings (a start time of 0 means now).
        config: SimConfig,
        /// How much faster than real time.
        speed: f64,
        /// Stop after this many snapshots.
        stop_after: Option<u64>,
    },
    /// A recording made by `swim record`.
    Replay {
        /// The file.
        file: PathBuf,
        /// How much faster than recorded.
        speed: f64,
    },
}

/// Everything the server needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// State: the database, the compiled-plugin cache.
    pub data_dir: PathBuf,
    /// The plugins directory.
    pub plugins_dir: PathBuf,
    /// The source.
    pub source: SourceConfig,
    /// Change feed retention.
    pub retention: Retention,
    /// Keys, limits, CORS.
    pub auth: AuthConfig,
    /// WebSocket timings.
    pub ws: WsConfig,
    /// Serve HTTPS and WSS with this certificate (plain HTTP without).
    pub tls: Option<TlsConfig>,
}

/// Access control settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Require keys (off only for a private gateway behind another gate).
    pub enabled: bool,
    /// Paths under the API that need no key.
    pub open_paths: Vec<String>,
    /// Origins browsers may call from.
    pub cors_origins: Vec<String>,
    /// How long audit rows are kept.
    pub audit_retention: Duration,
    /// Audit rows kept at most (the newest).
    pub audit_max_rows: u64,
    /// Requests a minute from one client address that present no valid key.
    pub anonymous_per_minute: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            enabled: true,
            open_paths: vec!["/health".into(), "/metrics".into()],
            cors_origins: Vec::new(),
            audit_retention: Duration::from_secs(90 * 86_400),
            audit_max_rows: crate::auth::audit::DEFAULT_MAX_ROWS,
            anonymous_per_minute: 60,
        }
    }
}

impl ServerConfig {
    /// The SQLite file.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("swim.db")
    }
}

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
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data dir {}", config.data_dir.display()))?;
    // A bad certificate refuses the start before anything else is opened.
    let tls = match &config.tls {
        Some(files) => Some((files.load()?, files.clone())),
        None => None,
    };
    // The one shutdown signal: the caller's future, or a fatal error
    // inside (a cycle that cannot be committed), triggers it.
    let signal = Shutdown::new();
    tokio::spawn({
        let signal = signal.clone();
        async move {
            shutdown.await;
            signal.trigger();
        }
    });
    let db = Database::open(&config.db_path())?;
    let _checkpointer = Checkpointer::spawn(&config.db_path(), CHECKPOINT_EVERY)?;
    let restored = db.restore()?;
    let programs = db.programs(wall_ms())?;
    tracing::info!(
        flights = restored.records.len(),
        next_seq = restored.next_seq,
        "state restored"
    );
    let (work_tx, work_rx) = mpsc::channel::<Work>(WORK_QUEUE);
    let (plugin_tx, plugin_rx) = std::sync::mpsc::channel::<PluginEvent>();
    let registry = open_registry(&config, plugin_sink(plugin_tx, &work_tx)).await?;
    let _watch = watcher::watch(registry.clone())?;

    let next_seq = restored.next_seq;
    // A restarted simulator continues from where the data stopped, so
    // event times never go backwards across a restart.
    let resume_after = restored
        .records
        .iter()
        .filter_map(|r| r.position.map(|p| p.updated_at))
        .max();
    let simulator = match &config.source {
        SourceConfig::Sim { config, .. } => Some(open_simulator(&db, config, resume_after)?),
        _ => None,
    };
    let store = FlightStore::restore(
        restored.next_uid,
        restored.records,
        restored.disconnected_at,
    );
    let high_water = HighWater::in_dir(&config.data_dir);
    let epoch = feed_epoch(&db, &high_water, next_seq - 1)?;
    let shared = Arc::new(Shared {
        view: ArcSwap::from_pointee(FlightsView::build(&store, 0, 0)),
        programs: ArcSwap::from_pointee(Vec::new()),
        feed: Arc::new(
            ChangeFeed::new(
                next_seq - 1,
                Some(Box::new(SqliteArchive::new(config.db_path()))),
                feed::RECENT_EVENTS,
            )
            .with_epoch(epoch),
        ),
        health: Arc::new(Health::default()),
        metrics: Arc::new(Metrics::default()),
    });
    observe(&shared.feed);
    let pipeline = Pipeline::with_store(registry.clone(), store, next_seq)
        .with_programs(Programs::restore(programs, wall_ms()));
    let worker = Worker::new(
        pipeline,
        Some(db),
        shared.clone(),
        plugin_rx,
        config.retention,
        signal.clone(),
    )
    .with_high_water(high_water);
    let pipeline_thread = std::thread::Builder::new()
        .name("pipeline".into())
        .spawn(move || worker.run(work_rx))?;

    let work_queue = work_tx.downgrade();
    // Requests (ingest, TMI) reach the pipeline until shutdown, even after
    // a finite source (replay, `--stop-after`) is done.
    let requests_open = work_tx.clone();
    let (source_task, sim) = start_source(&config.source, simulator, work_tx, &shared.health);
    let gate = open_gate(&config)?;
    let housekeeping = gate
        .clone()
        .map(|g| tokio::spawn(keep_house(g, signal.clone())));
    let hub = Hub::new(shared.clone(), registry.clone(), signal.clone());
    let fanout_thread = hub.spawn()?;
    tokio::spawn(connection::heartbeats(hub.clone(), config.ws.heartbeat));
    let state = AppState {
        shared,
        registry,
        started: Instant::now(),
        sim,
        gate: gate.clone(),
        cors_origins: config.auth.cors_origins.clone(),
        hub: hub.clone(),
        ws: config.ws,
        work: work_queue,
    };
    serve_http(listener, api::router(state), tls, &signal).await?;
    close_websockets(&hub).await;
    if let Some(task) = housekeeping {
        let _ = task.await;
    }
    if let Some(gate) = gate {
        tokio::task::spawn_blocking(move || gate.flush_usage()).await?;
    }

    tracing::info!("shutting down: finishing the cycle in flight");
    drop(requests_open);
    source_task.abort();
    let _ = source_task.await;
    let pipeline = tokio::task::spawn_blocking(move || pipeline_thread.join()).await?;
    let _ = tokio::task::spawn_blocking(move || fanout_thread.join()).await?;
    pipeline.map_err(|_| anyhow::anyhow!("the pipeline thread panicked"))?
}

/// Serves `app` on `listener` until the shutdown signal: plain HTTP, or
/// HTTPS with `tls`'s certificate, renewed from its files while serving.
async fn serve_http(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<(tls::Certificate, TlsConfig)>,
    signal: &Shutdown,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    tracing::info!(%address, tls = tls.is_some(), "listening");
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let stop = signal.clone();
    let graceful = async move { stop.wait().await };
    let Some((certificate, files)) = tls else {
        return axum::serve(listener, app)
            .with_graceful_shutdown(graceful)
            .await
            .context("serving HTTP");
    };
    let served = SwappableCert::new(certificate);
    let renewals = tls::watch(files, served.clone(), tls::RELOAD_CHECK, signal.clone());
    tokio::spawn(renewals);
    let listener = TlsListener::new(listener, TlsConfig::server_config(&served), signal.clone())?;
    // `tap_io` gives the listener axum's connect info (the peer address).
    axum::serve(listener.tap_io(|_| {}), app)
        .with_graceful_shutdown(graceful)
        .await
        .context("serving HTTPS")
}

/// The feed's epoch: the database's, unless it has none (a new database)
/// or it is behind its own high-water mark (restored from a backup: its
/// seqs will be reused for other events), then a new one.
fn feed_epoch(db: &Database, mark: &HighWater, last_seq: u64) -> anyhow::Result<String> {
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

fn open_gate(config: &ServerConfig) -> anyhow::Result<Option<Arc<Gatekeeper>>> {
    if !config.auth.enabled {
        tracing::warn!("access control is off: every request is served without a key");
        return Ok(None);
    }
    let path = config.db_path();
    let keys = Arc::new(KeyStore::open(&path)?);
    let bounds = AuditBounds {
        retention: config.auth.audit_retention,
        max_rows: config.auth.audit_max_rows,
    };
    let audit = AuditLog::start(&path, bounds)?;
    let gate = Gatekeeper::new(
        keys,
        RateLimits::default(),
        AddressLimits::new(config.auth.anonymous_per_minute),
        audit,
        config.auth.open_paths.clone(),
    );
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

async fn open_registry(config: &ServerConfig, sink: EventSink) -> anyhow::Result<Arc<Registry>> {
    let dir = config.plugins_dir.clone();
    let cache = config.data_dir.join("cache");
    tokio::task::spawn_blocking(move || Registry::open(Some(dir), Some(cache), sink)).await?
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

/// The simulator: the stored world resumed when the settings ask for it
/// (its flights continue where the data stopped), else a new world,
/// stored so that the next start resumes it.
fn open_simulator(
    db: &Database,
    config: &SimConfig,
    resume_after: Option<i64>,
) -> anyhow::Result<Simulator> {
    let airports = AirportTable::embedded();
    // The next whole second: after anything stamped at startup.
    let now = (wall_ms() / 1000 + 1) * 1000;
    let next_at = match config.start_ms {
        0 => resume_after.map_or(now, |t| (t / 1000 * 1000 + config.interval_ms).max(now)),
        start => start,
    };
    let stored = db
        .source_state("sim")?
        .and_then(|text| serde_json::from_str::<World>(&text).ok());
    if let Some(world) = stored.filter(|w| w.continues(config, next_at)) {
        tracing::info!(
            seed = world.seed,
            since_ms = next_at - world.origin_ms,
            "the simulated world resumes"
        );
        return Ok(Simulator::resume(&world, airports, next_at));
    }
    let config = SimConfig {
        start_ms: next_at,
        ..config.clone()
    };
    let world = serde_json::to_string(&World::of(&config))?;
    db.set_source_state("sim", &world)?;
    Ok(Simulator::new(config, airports))
}

type SimHandle = Option<Arc<Mutex<Simulator>>>;

fn start_source(
    source: &SourceConfig,
    simulator: Option<Simulator>,
    work: mpsc::Sender<Work>,
    health: &Arc<Health>,
) -> (tokio::task::JoinHandle<()>, SimHandle) {
    match source.clone() {
        SourceConfig::Vatsim {
            url,
            interval,
            timeout,
        } => {
            health.add_source("vatsim", "vatsim", Some(url.clone()));
            let config = vatsim::poller::PollConfig {
                name: "vatsim".into(),
                url,
                interval,
                timeout,
            };
            (
                tokio::spawn(vatsim::poller::run(config, work, health.clone())),
                None,
            )
        }
        SourceConfig::Sim {
            config,
            speed,
            stop_after,
        } => {
            health.add_source("sim", "sim", Some(format!("seed {} x{speed}", config.seed)));
            let simulator = simulator.expect("a simulator source has its simulator");
            let simulator = Arc::new(Mutex::new(simulator));
            let task = tokio::spawn(sim::runner::run(
                simulator.clone(),
                speed,
                stop_after,
                "sim".into(),
                work,
            ));
            (task, Some(simulator))
        }
        SourceConfig::Replay { file, speed } => {
            health.add_source("replay", "replay", Some(file.display().to_string()));
            let health = health.clone();
            let task = tokio::spawn(async move {
                if let Err(e) = replay::run(file, speed, "replay".into(), work).await {
                    health.fetch_failed("replay", &e.to_string());
                }
            });
            (task, None)
        }
    }
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
