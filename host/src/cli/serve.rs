//! `swim serve`, `swim demo`, `swim replay`, `swim record`: the gateway with
//! each kind of source, and recording a feed.

use crate::auth::provision::SelfServiceConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use serde::Deserialize;

use super::GatewayOptions;
use crate::auth::{NewKey, Tier, keystore};
use crate::cluster::ClusterConfig;
use crate::server::{self, ServerConfig, SourceConfig};
use crate::source::adl::{self, AdlConfig};
use crate::source::recording::RecordingWriter;
use crate::source::sim::SimConfig;
use crate::source::vatsim::poller;
use crate::tls::TlsConfig;

/// Native TLS, for serve, demo and replay.
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// Serve HTTPS and WSS with this PEM certificate chain (leaf first);
    /// a renewed file is picked up without a restart.
    #[arg(long, env = "SWIM_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, env = "SWIM_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl TlsArgs {
    /// The flags, else the config file's `[tls]`.
    fn config(&self, file: Option<&FileTls>) -> Option<TlsConfig> {
        match (&self.tls_cert, &self.tls_key, file) {
            (Some(cert), Some(key), _) => Some(TlsConfig {
                cert: cert.clone(),
                key: key.clone(),
            }),
            (_, _, Some(f)) => Some(TlsConfig {
                cert: f.cert.clone(),
                key: f.key.clone(),
            }),
            _ => None,
        }
    }
}

/// Cluster membership, for serve, demo and replay (docs/CLUSTER.md).
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Run as a member of the cluster on this NATS server (JetStream), e.g.
    /// `nats://127.0.0.1:4222`; needs `--database`.
    #[arg(long, env = "SWIM_CLUSTER", value_name = "NATS_URL")]
    pub cluster: Option<String>,
    /// The change feed's JetStream stream (every member names the same).
    #[arg(long, env = "SWIM_STREAM", requires = "cluster")]
    pub stream: Option<String>,
    /// This instance's name in the cluster (default: host name and pid).
    #[arg(long, env = "SWIM_INSTANCE_ID", requires = "cluster")]
    pub instance_id: Option<String>,
    /// Where other members reach this one's HTTP, e.g.
    /// `http://10.0.0.5:8090` (default: the listen address).
    #[arg(long, env = "SWIM_ADVERTISE_URL", requires = "cluster")]
    pub advertise_url: Option<String>,
    /// Copies JetStream keeps of the cluster's stream, lease and plugin
    /// store when this instance creates them (3 on a 3-node NATS cluster).
    #[arg(long, env = "SWIM_REPLICAS", requires = "cluster")]
    pub replicas: Option<usize>,
}

impl ClusterArgs {
    /// The flags over the config file's `[cluster]`.
    fn config(&self, file: Option<&FileCluster>) -> Option<ClusterConfig> {
        let nats_url = self
            .cluster
            .clone()
            .or_else(|| file.and_then(|f| f.nats_url.clone()))?;
        let mut config = ClusterConfig::new(nats_url);
        if let Some(stream) = self
            .stream
            .clone()
            .or_else(|| file.and_then(|f| f.stream.clone()))
        {
            config.stream = stream;
        }
        if let Some(id) = self
            .instance_id
            .clone()
            .or_else(|| file.and_then(|f| f.instance_id.clone()))
        {
            config.instance_id = id;
        }
        config.advertise_url = self
            .advertise_url
            .clone()
            .or_else(|| file.and_then(|f| f.advertise_url.clone()));
        if let Some(n) = self.replicas.or_else(|| file.and_then(|f| f.replicas)) {
            config.replicas = n;
        }
        Some(config)
    }
}

/// `swim serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML config file (see `docs/CONFIG.md`).
    #[arg(long, env = "SWIM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Poll this copy of the VATSIM v3 feed instead of the live one.
    #[arg(long, env = "SWIM_FEED_URL")]
    pub feed_url: Option<String>,
    /// Read PERTI's ADL from this SQL Server (ADO.NET connection string;
    /// docs/ADL.md) beside the feed. Wins over the config's `[adl]`.
    #[arg(long, env = "SWIM_ADL_CONNECTION_STRING", hide_env_values = true)]
    pub adl_connection_string: Option<String>,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `swim demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Flights connected at any time.
    #[arg(long, default_value_t = 2_000)]
    pub flights: usize,
    /// How much faster than real time the simulator runs.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Random seed (the same seed gives the same traffic).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated seconds between snapshots (the real feed: 15).
    #[arg(long, default_value_t = 15)]
    pub interval: u32,
    /// Stop the simulator after this many snapshots (the gateway keeps serving).
    #[arg(long)]
    pub stop_after: Option<u64>,
    /// Send a quarter of new flights to this airport (ICAO), a busy hub on
    /// which to try ground stops and GDPs.
    #[arg(long)]
    pub hub: Option<String>,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `swim replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A recording made by `swim record`.
    pub file: PathBuf,
    /// How much faster than recorded.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `swim record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The recording to write.
    #[arg(long)]
    pub out: PathBuf,
    /// The feed to record.
    #[arg(long, env = "SWIM_FEED_URL", default_value = poller::DEFAULT_URL)]
    pub feed_url: String,
    /// Stop after this many snapshots (default: until Ctrl-C).
    #[arg(long)]
    pub count: Option<usize>,
    /// Seconds between polls.
    #[arg(long, default_value_t = 15)]
    pub interval: u64,
}

/// The config file of `swim serve`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    #[serde(default)]
    source: FileSource,
    #[serde(default)]
    retention: FileRetention,
    #[serde(default)]
    auth: FileAuth,
    #[serde(default)]
    websocket: FileWebSocket,
    #[serde(default)]
    http: FileHttp,
    #[serde(default)]
    plugins: FilePlugins,
    tls: Option<FileTls>,
    cluster: Option<FileCluster>,
    database: Option<FileDatabase>,
    adl: Option<FileAdl>,
    #[serde(default)]
    webhooks: FileWebhooks,
    keys: Option<FileKeys>,
}

/// `[keys]`: self-service keys through VATSIM Connect (off without).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileKeys {
    /// VATSIM Connect's user endpoint (`https://auth.vatsim.net/api/user`).
    vatsim_connect_url: String,
    /// How long a provisioned key lasts (PERTI: 365 days).
    expires_days: Option<u64>,
}

/// `[webhooks]`: where callbacks may point, retries, bounds
/// (docs/WEBHOOKS.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWebhooks {
    allow_loopback: Option<bool>,
    allow_private: Option<bool>,
    retry_s: Option<Vec<u64>>,
    circuit_cooldown_s: Option<u64>,
    timeout_s: Option<u64>,
    max_batch_events: Option<usize>,
    max_batch_kb: Option<usize>,
    dead_letters_kept: Option<usize>,
    max_webhooks: Option<usize>,
}

/// `[adl]`: PERTI's ADL beside the feed (docs/ADL.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAdl {
    connection_string: Option<String>,
    interval_s: Option<u64>,
    page_size: Option<usize>,
    query_timeout_s: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCluster {
    nats_url: Option<String>,
    stream: Option<String>,
    instance_id: Option<String>,
    advertise_url: Option<String>,
    replicas: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDatabase {
    url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTls {
    cert: PathBuf,
    key: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWebSocket {
    heartbeat_s: Option<u64>,
    ping_s: Option<u64>,
    /// Close a client silent (no pong, no message) this long.
    ping_timeout_s: Option<u64>,
    key_recheck_s: Option<u64>,
    /// The share of a filter plugin's deadline one subscriber's filter may
    /// take alone on every flight, percent.
    filter_budget_percent: Option<u64>,
}

/// `[plugins]`: what the plugins directory may hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePlugins {
    /// The largest component file, MiB.
    max_component_mb: Option<u64>,
    /// The most a manifest's `[limits]` may ask for.
    max_call_timeout_ms: Option<u64>,
    max_memory_mb: Option<u64>,
    max_fault_threshold: Option<u32>,
}

/// `[http]`: what every accepted connection is held to.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHttp {
    /// Connections open at once from one address (0: no cap).
    max_connections_per_address: Option<usize>,
    /// A new connection's first request must arrive within this long.
    first_request_timeout_s: Option<u64>,
    /// A connection idle (nothing read or written) this long is closed.
    idle_timeout_s: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAuth {
    enabled: Option<bool>,
    open_paths: Option<Vec<String>>,
    cors_origins: Option<Vec<String>>,
    audit_retention_days: Option<u64>,
    audit_max_rows: Option<u64>,
    anonymous_per_minute: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSource {
    /// vatsim (default), sim, replay.
    kind: Option<String>,
    url: Option<String>,
    interval_s: Option<u64>,
    /// vatsim: how long one fetch may take.
    timeout_s: Option<u64>,
    file: Option<PathBuf>,
    speed: Option<f64>,
    flights: Option<usize>,
    /// sim: the airport a quarter of new flights fly to.
    hub: Option<String>,
    seed: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRetention {
    events_hours: Option<u64>,
    /// Finer than `events_hours` (wins over it): short feeds for tests
    /// and small deployments.
    events_minutes: Option<u64>,
    positions_minutes: Option<u64>,
}

/// Runs `swim serve`.
pub fn serve(cli: &GatewayOptions, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let file = match &args.config {
        Some(path) => read_config(path)?,
        None => FileConfig::default(),
    };
    let source = source_from(&file.source, args.feed_url.clone())?;
    let listen = cli.listen_addr(file.listen);
    let mut config = server_config(cli, source);
    config.tls = args.tls.config(file.tls.as_ref());
    if let (None, Some(db)) = (&config.database, &file.database) {
        let url = db
            .url
            .parse()
            .map_err(|e| anyhow::anyhow!("config [database] url: {e}"))?;
        config.database = Some(url);
    }
    config.cluster = args.cluster.config(file.cluster.as_ref());
    config.adl = adl_from(file.adl.as_ref(), args.adl_connection_string.clone())?;
    apply_retention_and_auth(&file, &mut config);
    apply_connections(&file, &mut config);
    apply_plugins(&file, &mut config);
    apply_webhooks(&file.webhooks, &mut config.webhooks);
    config.self_service = file.keys.as_ref().map(|k| SelfServiceConfig {
        connect_url: k.vatsim_connect_url.clone(),
        expires: Duration::from_secs(k.expires_days.unwrap_or(365).max(1) * 86_400),
    });
    cli.data.ensure()?;
    run_server(listen, config, || Ok(Vec::new()))
}

/// The config file's `[retention]` and `[auth]` over the defaults.
fn apply_retention_and_auth(file: &FileConfig, config: &mut ServerConfig) {
    let r = &file.retention;
    if let Some(h) = r.events_hours {
        config.retention.events = Duration::from_secs(h * 3600);
    }
    if let Some(m) = r.events_minutes {
        config.retention.events = Duration::from_secs(m * 60);
    }
    if let Some(m) = r.positions_minutes {
        config.retention.positions = Duration::from_secs(m * 60);
    }
    let a = &file.auth;
    let auth = &mut config.auth;
    auth.enabled = a.enabled.unwrap_or(auth.enabled);
    auth.open_paths = a.open_paths.clone().unwrap_or(auth.open_paths.clone());
    auth.cors_origins = a.cors_origins.clone().unwrap_or_default();
    if let Some(days) = a.audit_retention_days {
        auth.audit_retention = Duration::from_secs(days * 86_400);
    }
    auth.audit_max_rows = a.audit_max_rows.unwrap_or(auth.audit_max_rows);
    auth.anonymous_per_minute = a.anonymous_per_minute.unwrap_or(auth.anonymous_per_minute);
}

/// The config file's `[websocket]` and `[http]` timings and bounds.
fn apply_connections(file: &FileConfig, config: &mut ServerConfig) {
    let w = &file.websocket;
    config.ws.heartbeat = seconds_or(w.heartbeat_s, config.ws.heartbeat);
    config.ws.ping = seconds_or(w.ping_s, config.ws.ping);
    config.ws.ping_timeout = seconds_or(w.ping_timeout_s, config.ws.ping_timeout);
    config.ws.key_recheck = seconds_or(w.key_recheck_s, config.ws.key_recheck);
    if let Some(percent) = w.filter_budget_percent {
        config.ws.filter_budget_percent = percent.clamp(1, 100);
    }
    let h = &file.http;
    let http = &mut config.http;
    http.per_address = h.max_connections_per_address.unwrap_or(http.per_address);
    http.first_request = seconds_or(h.first_request_timeout_s, http.first_request);
    http.idle = seconds_or(h.idle_timeout_s, http.idle);
}

/// The config file's `[plugins]`: the operator's bounds on plugin files
/// and limits.
fn apply_plugins(file: &FileConfig, config: &mut ServerConfig) {
    let p = &file.plugins;
    let plugins = &mut config.plugins;
    if let Some(mb) = p.max_component_mb {
        plugins.max_component_bytes = mb.max(1) << 20;
    }
    let ceiling = &mut plugins.ceiling;
    ceiling.call_timeout_ms = p.max_call_timeout_ms.unwrap_or(ceiling.call_timeout_ms);
    ceiling.memory_mb = p.max_memory_mb.unwrap_or(ceiling.memory_mb);
    ceiling.fault_threshold = p.max_fault_threshold.unwrap_or(ceiling.fault_threshold);
}

/// The config file's `[webhooks]` over the defaults.
fn apply_webhooks(file: &FileWebhooks, webhooks: &mut crate::webhook::WebhookConfig) {
    let allowed = &mut webhooks.allowed;
    allowed.loopback = file.allow_loopback.unwrap_or(allowed.loopback);
    allowed.private = file.allow_private.unwrap_or(allowed.private);
    if let Some(retry) = &file.retry_s {
        webhooks.retry = retry.iter().map(|s| Duration::from_secs(*s)).collect();
    }
    webhooks.circuit_cooldown = seconds_or(file.circuit_cooldown_s, webhooks.circuit_cooldown);
    webhooks.timeout = seconds_or(file.timeout_s, webhooks.timeout);
    let events = file.max_batch_events.unwrap_or(webhooks.max_batch_events);
    webhooks.max_batch_events = events.clamp(1, 10_000);
    if let Some(kb) = file.max_batch_kb {
        webhooks.max_batch_bytes = kb.clamp(1, 64 << 10) << 10;
    }
    webhooks.dead_letters_kept = file.dead_letters_kept.unwrap_or(webhooks.dead_letters_kept);
    webhooks.max_webhooks = file.max_webhooks.unwrap_or(webhooks.max_webhooks);
}

/// `s` seconds (at least one), or `default` when not given.
fn seconds_or(s: Option<u64>, default: Duration) -> Duration {
    s.map_or(default, |s| Duration::from_secs(s.max(1)))
}

fn read_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config {}", path.display()))
}

/// The ADL source, if a connection string is given (flag or environment
/// first, then `[adl]`).
fn adl_from(file: Option<&FileAdl>, flag: Option<String>) -> anyhow::Result<Option<AdlConfig>> {
    let empty = FileAdl::default();
    let file = file.unwrap_or(&empty);
    let Some(connection_string) = flag.or(file.connection_string.clone()) else {
        anyhow::ensure!(
            file.interval_s.is_none() && file.page_size.is_none() && file.query_timeout_s.is_none(),
            "config [adl]: settings without `connection_string` (or SWIM_ADL_CONNECTION_STRING)"
        );
        return Ok(None);
    };
    // Refused here, at start, rather than retried every poll.
    adl::client::config(&connection_string).map_err(|e| anyhow::anyhow!("config [adl]: {e}"))?;
    let mut config = AdlConfig::new(connection_string);
    if let Some(s) = file.interval_s {
        config.interval = Duration::from_secs(s.max(1));
    }
    if let Some(n) = file.page_size {
        config.page_size = n.clamp(1, 5_000);
    }
    if let Some(s) = file.query_timeout_s {
        config.query_timeout = Duration::from_secs(s.max(1));
    }
    Ok(Some(config))
}

/// A feed URL the poller can fetch, or an error naming it (a typo would
/// otherwise start a gateway that never gets a snapshot).
fn checked_feed_url(url: String) -> anyhow::Result<String> {
    match reqwest::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(url),
        Ok(u) => anyhow::bail!(
            "feed URL {url:?}: the scheme is {:?}; give an http(s) URL such as {}",
            u.scheme(),
            poller::DEFAULT_URL
        ),
        Err(e) => anyhow::bail!(
            "feed URL {url:?} is not a URL ({e}); give one such as {}",
            poller::DEFAULT_URL
        ),
    }
}

fn source_from(s: &FileSource, feed_url: Option<String>) -> anyhow::Result<SourceConfig> {
    let interval = Duration::from_secs(s.interval_s.unwrap_or(15).max(1));
    Ok(match s.kind.as_deref().unwrap_or("vatsim") {
        "vatsim" => SourceConfig::Vatsim {
            url: checked_feed_url(
                feed_url
                    .or(s.url.clone())
                    .unwrap_or_else(|| poller::DEFAULT_URL.into()),
            )?,
            interval,
            timeout: s
                .timeout_s
                .map_or(poller::FETCH_TIMEOUT, |t| Duration::from_secs(t.max(1))),
        },
        "sim" => SourceConfig::Sim {
            config: SimConfig {
                seed: s.seed.unwrap_or(1),
                flights: s.flights.unwrap_or(2_000),
                interval_ms: interval.as_millis() as i64,
                start_ms: 0,
                hub: s.hub.clone(),
            },
            speed: s.speed.unwrap_or(1.0),
            stop_after: None,
        },
        "replay" => SourceConfig::Replay {
            file: s
                .file
                .clone()
                .context("config [source]: kind = \"replay\" needs `file`")?,
            speed: s.speed.unwrap_or(1.0),
        },
        other => anyhow::bail!("config [source]: kind {other:?} is not one of vatsim, sim, replay"),
    })
}

/// Runs `swim demo`.
pub fn demo(cli: &GatewayOptions, args: &DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.speed > 0.0, "--speed must be above 0");
    anyhow::ensure!(args.interval > 0, "--interval must be at least 1 second");
    let source = SourceConfig::Sim {
        config: SimConfig {
            seed: args.seed,
            flights: args.flights,
            interval_ms: i64::from(args.interval) * 1000,
            start_ms: 0,
            hub: args.hub.as_deref().map(known_hub).transpose()?,
        },
        speed: args.speed,
        stop_after: args.stop_after,
    };
    let listen = cli.listen_addr(None);
    let mut banner = vec![format!(
        "simulating {} flights at x{} (seed {}); a snapshot every {:.1} s",
        args.flights,
        args.speed,
        args.seed,
        f64::from(args.interval) / args.speed
    )];
    cli.data.ensure()?;
    let mut config = server_config(cli, source);
    config.tls = args.tls.config(None);
    config.cluster = args.cluster.config(None);
    // A local demo: webhooks may call a receiver on this machine.
    config.webhooks.allowed.loopback = true;
    // The keys are made once the address is ours: a first run that cannot
    // listen makes none (it could not show them).
    run_server(listen, config, || {
        banner.extend(demo_keys(cli)?);
        Ok(banner)
    })
}

/// `--hub` as an airport the simulator flies to, or an error saying what
/// to give instead.
fn known_hub(hub: &str) -> anyhow::Result<String> {
    let icao = hub.trim().to_ascii_uppercase();
    let airports = crate::reference::AirportTable::embedded();
    if airports.get(&icao).is_some() {
        return Ok(icao);
    }
    let guess = ["K", "C", "E", "L"]
        .iter()
        .map(|prefix| format!("{prefix}{icao}"))
        .find(|g| icao.len() == 3 && airports.get(g).is_some());
    match guess {
        Some(g) => anyhow::bail!("--hub {hub:?} is not an ICAO code; did you mean {g}?"),
        None => anyhow::bail!(
            "--hub {hub:?} is not an airport the simulator knows (give an ICAO code such as KJFK or EGLL)"
        ),
    }
}

/// Runs `swim replay`.
pub fn replay(cli: &GatewayOptions, args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.speed > 0.0, "--speed must be above 0");
    crate::source::recording::RecordingReader::open(&args.file)
        .with_context(|| format!("cannot replay {}", args.file.display()))?;
    let source = SourceConfig::Replay {
        file: args.file.clone(),
        speed: args.speed,
    };
    let mut config = server_config(cli, source);
    config.tls = args.tls.config(None);
    config.cluster = args.cluster.config(None);
    cli.data.ensure()?;
    run_server(cli.listen_addr(None), config, || Ok(Vec::new()))
}

fn server_config(cli: &GatewayOptions, source: SourceConfig) -> ServerConfig {
    ServerConfig {
        plugins_dir: cli.plugins.resolve(&cli.data),
        database: cli.database.database.clone(),
        ..ServerConfig::new(&cli.data.data_dir, source)
    }
}

/// On the first run, a developer key and a system key; later runs say
/// where the keys are.
fn demo_keys(cli: &GatewayOptions) -> anyhow::Result<Vec<String>> {
    let keys = keystore::open(&cli.backend())?;
    if !keys.list()?.is_empty() {
        return Ok(vec![
            "keys: made on the first run and shown once (only their hashes are kept): \
             `swim keys list` lists them, `swim keys create --tier developer --owner me` makes a new one"
                .into(),
        ]);
    }
    let mut lines = Vec::new();
    for (tier, label) in [
        (Tier::Developer, "developer key"),
        (Tier::System, "system key"),
    ] {
        let new = NewKey {
            tier,
            owner: "demo".into(),
            email: None,
            expires_at: None,
            can_write: tier == Tier::System,
            sources: Vec::new(),
        };
        let (key, _) = keys.create(&new, crate::health::wall_ms())?;
        lines.push(format!("{label}: {key}"));
    }
    lines.push("(keys are shown once; only their hashes are stored)".into());
    Ok(lines)
}

/// Serves until the shutdown signal; `banner` (lines printed under the
/// address) is asked for once the address is ours.
fn run_server(
    listen: SocketAddr,
    config: ServerConfig,
    banner: impl FnOnce() -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<ExitCode> {
    // A bad certificate stops the start here, with the reason.
    config.tls.as_ref().map(TlsConfig::load).transpose()?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener.local_addr()?;
        let banner = banner()?;
        // Tests and scripts read the address from this line.
        println!("listening on {scheme}://{address}");
        let key = banner
            .iter()
            .find_map(|l| l.strip_prefix("developer key: "))
            .unwrap_or("YOUR_KEY")
            .to_string();
        for line in &banner {
            println!("{line}");
        }
        let system = banner.iter().find_map(|l| l.strip_prefix("system key: "));
        print_try_lines(address, scheme == "https", &key, system);
        server::run(listener, config, server::shutdown_signal()).await
    });
    // Whatever is still running (a blocking call in flight) gets a moment,
    // not a say over when the process ends.
    runtime.shutdown_timeout(Duration::from_secs(1));
    served?;
    Ok(ExitCode::SUCCESS)
}

fn print_try_lines(address: SocketAddr, tls: bool, key: &str, system: Option<&str>) {
    let (http, ws) = if tls {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    let base = format!("{http}://{address}/api/swim/v1");
    let auth = format!("-H 'Authorization: Bearer {key}'");
    // The system key sees every panel (plugins need it).
    let page_key = system.unwrap_or(key);
    println!("dashboard: {http}://{address}/dashboard#key={page_key}");
    println!("try:");
    println!("  curl -s '{base}/health'");
    println!("  curl -s {auth} '{base}/flights?per_page=5'");
    println!("  curl -s {auth} '{base}/events?since=0&channels=flight.departed,flight.arrived'");
    println!("  curl -s {auth} '{base}/positions?bounds=-125,24,-66,50'");
    let ws = format!("{ws}://{address}/api/swim/v1/ws?api_key={key}");
    println!(
        "  websocat '{ws}'   # then send: {{\"action\":\"subscribe\",\"channels\":[\"flight.departed\",\"flight.arrived\"]}}"
    );
    println!("  python3 -m websockets '{ws}'");
    if let Some(system) = system {
        // Writes need permission: the system key has every one.
        let auth = format!("-H 'X-API-Key: {system}'");
        let two_hours = 2 * 3_600_000;
        let end = crate::time::format_iso_millis(crate::health::wall_ms() + two_hours);
        println!(
            "  curl -s {auth} '{base}/ingest/track' -d '{{\"tracks\":[{{\"callsign\":\"AAL101\",\"latitude\":40.6,\"longitude\":-73.8}}]}}'"
        );
        println!(
            "  curl -s {auth} '{base}/tmi/programs' -d '{{\"program_type\":\"GS\",\"airport\":\"KJFK\",\"end_time\":\"{end}\"}}'   # then GET {base}/tmi/controlled"
        );
    }
}

/// How long `swim record` waits for a new snapshot before saying why none
/// came.
const RECORD_QUIET: Duration = Duration::from_secs(30);

/// What `swim record` says when no new snapshot came for a while.
fn say_why_quiet(health: &crate::health::Health, url: &str) {
    let source = health.sources().remove("record").unwrap_or_default();
    let seconds = RECORD_QUIET.as_secs();
    match (&source.last_error, &source.last_snapshot) {
        (Some(error), _) => {
            eprintln!("no new snapshot for {seconds} s from {url}: {error}")
        }
        (None, Some(stamp)) => eprintln!(
            "no new snapshot for {seconds} s: the feed's update_timestamp is still {stamp} \
             ({} polls skipped as unchanged)",
            source.skipped
        ),
        (None, None) => eprintln!("no snapshot for {seconds} s: {url} has not answered yet"),
    }
}

/// Runs `swim record`.
pub fn record(args: &RecordArgs) -> anyhow::Result<ExitCode> {
    let url = checked_feed_url(args.feed_url.clone())?;
    let mut writer = RecordingWriter::create(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let runtime = tokio::runtime::Runtime::new()?;
    let count = runtime.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<crate::source::Fetched>(2);
        let health = std::sync::Arc::new(crate::health::Health::default());
        let config = poller::PollConfig {
            name: "record".into(),
            url: url.clone(),
            interval: Duration::from_secs(args.interval.max(1)),
            timeout: poller::FETCH_TIMEOUT,
        };
        let poll = tokio::spawn(poller::run(config, tx, health.clone()));
        let mut n = 0usize;
        // A feed that never changes (or never answers) is said, not
        // waited on in silence.
        let mut quiet = tokio::time::interval(RECORD_QUIET);
        quiet.reset();
        loop {
            tokio::select! {
                _ = quiet.tick() => say_why_quiet(&health, &url),
                item = rx.recv() => match item {
                    Some(crate::source::Fetched { bytes, .. }) => {
                        writer.append(&bytes)?;
                        // Recorded counts as applied: the same snapshot
                        // polled again is not recorded twice.
                        let stamp = poller::peek_update_timestamp(&bytes).unwrap_or_default();
                        health.applied("record", &stamp, bytes.len());
                        n += 1;
                        println!("recorded snapshot {n} ({} bytes)", bytes.len());
                        quiet.reset();
                        if args.count.is_some_and(|c| n >= c) {
                            break;
                        }
                    }
                    None => break,
                },
                () = server::shutdown_signal() => break,
            }
        }
        poll.abort();
        anyhow::Ok(n)
    })?;
    println!("{count} snapshots in {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
