//! What a gateway is told to run: its source, its state, access control,
//! the WebSocket timings, TLS, cluster membership.

use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::ClusterConfig;
use crate::db::{Backend, PgUrl};
use crate::fanout::WsConfig;
use crate::pipeline::Retention;
use crate::source::sim::SimConfig;
use crate::tls::TlsConfig;

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
    /// PERTI's ADL, read beside the source (docs/ADL.md).
    pub adl: Option<crate::source::adl::AdlConfig>,
    /// Change feed retention.
    pub retention: Retention,
    /// Keys, limits, CORS.
    pub auth: AuthConfig,
    /// WebSocket timings.
    pub ws: WsConfig,
    /// Serve HTTPS and WSS with this certificate (plain HTTP without).
    pub tls: Option<TlsConfig>,
    /// Keep state in this PostgreSQL database instead of the data dir's
    /// SQLite file.
    pub database: Option<PgUrl>,
    /// Run as a member of this cluster (needs `database`).
    pub cluster: Option<ClusterConfig>,
    /// Per-address cap, first-request deadline and idle timeout of
    /// accepted connections.
    pub http: crate::net::ConnectionLimits,
    /// What the plugins directory may hold: file sizes, the ceiling on
    /// manifests' limits.
    pub plugins: crate::plugin::Policy,
    /// Outbound webhooks' targets, retries and bounds.
    pub webhooks: crate::webhook::WebhookConfig,
    /// Self-service keys through VATSIM Connect (off without).
    pub self_service: Option<crate::auth::provision::SelfServiceConfig>,
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
    /// `source` with its state in `data_dir` (plugins in its `plugins/`),
    /// every other setting at its default.
    pub fn new(data_dir: &std::path::Path, source: SourceConfig) -> ServerConfig {
        ServerConfig {
            data_dir: data_dir.to_path_buf(),
            plugins_dir: data_dir.join("plugins"),
            source,
            adl: None,
            retention: Retention::default(),
            auth: AuthConfig::default(),
            ws: WsConfig::default(),
            tls: None,
            database: None,
            cluster: None,
            http: Default::default(),
            plugins: Default::default(),
            webhooks: Default::default(),
            self_service: None,
        }
    }

    /// The SQLite file.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("swim.db")
    }

    /// Where state is kept.
    pub fn backend(&self) -> Backend {
        match &self.database {
            Some(url) => Backend::Postgres(url.clone()),
            None => Backend::Sqlite(self.db_path()),
        }
    }
}
