//! The options several subcommands share: where state lives, the plugins
//! directory, the database, and the gateway's address.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// The port the gateway listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8090;

/// Where state lives. Global within its subcommand, so `swim keys list
/// --data-dir D` works as `swim keys --data-dir D list` does.
#[derive(Debug, Clone, Args)]
pub struct DataDir {
    /// Where state lives (database, compiled-plugin cache).
    #[arg(
        long,
        global = true,
        env = "SWIM_DATA_DIR",
        default_value = "./swim-data"
    )]
    pub data_dir: PathBuf,
}

impl DataDir {
    /// Creates the data directory if it is missing; the error names it and
    /// the option that set it.
    pub fn ensure(&self) -> anyhow::Result<()> {
        let dir = &self.data_dir;
        if dir.exists() && !dir.is_dir() {
            anyhow::bail!(
                "the data directory {} is a file, not a directory (give another with --data-dir or SWIM_DATA_DIR)",
                dir.display()
            );
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!(
                "the data directory {} cannot be created: {e} (give a writable one with --data-dir or SWIM_DATA_DIR)",
                dir.display()
            )
        })
    }

    /// Where compiled components are cached.
    pub fn cache_dir(&self) -> PathBuf {
        self.data_dir.join("cache")
    }
}

/// The plugins directory.
#[derive(Debug, Clone, Args)]
pub struct PluginsDir {
    /// The plugins directory (default: DATA_DIR/plugins).
    #[arg(long, global = true, env = "SWIM_PLUGINS_DIR")]
    pub plugins_dir: Option<PathBuf>,
}

impl PluginsDir {
    /// The plugins directory in effect.
    pub fn resolve(&self, data: &DataDir) -> PathBuf {
        self.plugins_dir
            .clone()
            .unwrap_or_else(|| data.data_dir.join("plugins"))
    }
}

/// PostgreSQL instead of the embedded SQLite file.
#[derive(Debug, Clone, Args)]
pub struct Database {
    /// Keep state (flights, the change feed's archive, keys, audit, TMI) in
    /// this PostgreSQL database instead of DATA_DIR/swim.db, e.g.
    /// `postgres://postgres@127.0.0.1/swim` (created if missing).
    #[arg(long, global = true, env = "SWIM_DATABASE_URL", value_name = "URL")]
    pub database: Option<crate::db::PgUrl>,
}

impl Database {
    /// Where state is kept: `--database`, else the SQLite file in the data dir.
    pub fn backend(&self, data: &DataDir) -> crate::db::Backend {
        match &self.database {
            Some(url) => crate::db::Backend::Postgres(url.clone()),
            None => crate::db::Backend::Sqlite(data.data_dir.join("swim.db")),
        }
    }
}

/// What every gateway command (`demo`, `serve`, `replay`) takes.
#[derive(Debug, Clone, Args)]
pub struct GatewayOptions {
    #[command(flatten)]
    pub data: DataDir,
    #[command(flatten)]
    pub plugins: PluginsDir,
    #[command(flatten)]
    pub database: Database,
    /// Address to listen on.
    #[arg(long, env = "SWIM_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Port to listen on (on 127.0.0.1, or the host of `--listen`).
    #[arg(long, env = "SWIM_PORT")]
    pub port: Option<u16>,
}

impl GatewayOptions {
    /// The address to listen on: `--listen`, else the config's, else
    /// 127.0.0.1:DEFAULT_PORT; `--port` replaces the port.
    pub fn listen_addr(&self, from_config: Option<SocketAddr>) -> SocketAddr {
        let mut addr = self
            .listen
            .or(from_config)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)));
        if let Some(port) = self.port {
            addr.set_port(port);
        }
        addr
    }

    /// Where state is kept.
    pub fn backend(&self) -> crate::db::Backend {
        self.database.backend(&self.data)
    }
}
