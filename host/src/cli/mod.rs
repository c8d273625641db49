//! The `swim` command line (README.md, Commands): one binary, subcommands.

mod adl;
mod keys;
mod plugins;
mod scaffold;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::telemetry::{self, LogFormat};

/// VATSWIM: the hub for real-time flight information on VATSIM.
#[derive(Debug, Parser)]
#[command(name = "swim", version, about)]
pub struct Cli {
    /// Where state lives (database, compiled-plugin cache).
    #[arg(
        long,
        global = true,
        env = "SWIM_DATA_DIR",
        default_value = "./swim-data"
    )]
    pub data_dir: PathBuf,
    /// The plugins directory (default: DATA_DIR/plugins).
    #[arg(long, global = true, env = "SWIM_PLUGINS_DIR")]
    pub plugins_dir: Option<PathBuf>,
    /// Log line format.
    #[arg(
        long,
        global = true,
        env = "SWIM_LOG_FORMAT",
        value_enum,
        default_value = "human"
    )]
    pub log_format: LogFormat,
    /// Address to listen on.
    #[arg(long, global = true, env = "SWIM_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Port to listen on (on 127.0.0.1, or the host of `--listen`).
    #[arg(long, global = true, env = "SWIM_PORT")]
    pub port: Option<u16>,
    /// Keep state (flights, the change feed's archive, keys, audit, TMI) in
    /// this PostgreSQL database instead of DATA_DIR/swim.db, e.g.
    /// `postgres://postgres@127.0.0.1/swim` (created if missing).
    #[arg(long, global = true, env = "SWIM_DATABASE_URL", value_name = "URL")]
    pub database: Option<crate::db::PgUrl>,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The plugins directory in effect.
    pub fn plugins_dir(&self) -> PathBuf {
        self.plugins_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("plugins"))
    }

    /// The address to listen on: `--listen`, else the config's, else
    /// 127.0.0.1:8090; `--port` replaces the port.
    pub fn listen_addr(&self, from_config: Option<SocketAddr>) -> SocketAddr {
        let mut addr = self
            .listen
            .or(from_config)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8090)));
        if let Some(port) = self.port {
            addr.set_port(port);
        }
        addr
    }

    /// Where state is kept: `--database`, else the SQLite file in the data dir.
    pub fn backend(&self) -> crate::db::Backend {
        match &self.database {
            Some(url) => crate::db::Backend::Postgres(url.clone()),
            None => crate::db::Backend::Sqlite(self.data_dir.join("swim.db")),
        }
    }

    /// Where compiled components are cached.
    pub fn cache_dir(&self) -> PathBuf {
        self.data_dir.join("cache")
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The gateway with the built-in traffic simulator as its source.
    Demo(serve::DemoArgs),
    /// The gateway as configured (default source: the live VATSIM feed).
    Serve(serve::ServeArgs),
    /// The gateway with a recording as its source.
    Replay(serve::ReplayArgs),
    /// Record feed snapshots to a file for `swim replay`.
    Record(serve::RecordArgs),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Inspect and run plugins.
    #[command(subcommand)]
    Plugins(plugins::PluginsCommand),
    /// Benchmarks (figures, not pass/fail).
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
    /// PERTI's ADL source: check a database before pointing a gateway at it.
    #[command(subcommand)]
    Adl(adl::AdlCommand),
}

/// Parses the command line and runs it; errors are printed with their context.
pub fn main() -> ExitCode {
    // Two TLS crypto providers are linked (ring, which everything here
    // uses, and aws-lc-rs, which tiberius' rustls pulls in): rustls needs
    // to be told which serves a client built without naming one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    // Benchmarks print figures; their log would only get in the way.
    let default_level = if matches!(cli.command, Command::Bench(_)) {
        "warn"
    } else {
        "info"
    };
    telemetry::init(cli.log_format, default_level);
    let result = match &cli.command {
        Command::Demo(args) => serve::demo(&cli, args),
        Command::Serve(args) => serve::serve(&cli, args),
        Command::Replay(args) => serve::replay(&cli, args),
        Command::Record(args) => serve::record(args),
        Command::Keys(cmd) => keys::run(&cli, cmd),
        Command::Plugins(cmd) => plugins::run(&cli, cmd),
        Command::Bench(cmd) => crate::bench::run(cmd),
        Command::Adl(cmd) => adl::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
