//! The `swim` command line (README.md, Commands): one binary, subcommands.

mod adl;
mod bench;
mod keys;
mod options;
mod plugins;
mod scaffold;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use bench::beside_this_executable;
pub use options::{DEFAULT_PORT, DataDir, Database, GatewayOptions, PluginsDir};

use crate::telemetry::{self, LogFormat};

/// VATSWIM: the hub for real-time flight information on VATSIM.
#[derive(Debug, Parser)]
#[command(name = "swim", version, about)]
pub struct Cli {
    /// Log line format.
    #[arg(
        long,
        global = true,
        env = "SWIM_LOG_FORMAT",
        value_enum,
        default_value = "human"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The gateway with the built-in traffic simulator as its source.
    Demo {
        #[command(flatten)]
        gateway: GatewayOptions,
        #[command(flatten)]
        args: serve::DemoArgs,
    },
    /// The gateway as configured (default source: the live VATSIM feed).
    Serve {
        #[command(flatten)]
        gateway: GatewayOptions,
        #[command(flatten)]
        args: serve::ServeArgs,
    },
    /// The gateway with a recording as its source.
    Replay {
        #[command(flatten)]
        gateway: GatewayOptions,
        #[command(flatten)]
        args: serve::ReplayArgs,
    },
    /// Record feed snapshots to a file for `swim replay`.
    Record(serve::RecordArgs),
    /// Create, list and revoke API keys.
    Keys {
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        database: Database,
        #[command(subcommand)]
        cmd: keys::KeysCommand,
    },
    /// Inspect and run plugins.
    Plugins {
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        plugins: PluginsDir,
        #[command(subcommand)]
        cmd: plugins::PluginsCommand,
    },
    /// Benchmarks (figures, not pass/fail): runs `swim-bench`, built beside
    /// this binary (`cargo build --release` builds both).
    #[command(disable_help_flag = true)]
    Bench {
        /// The benchmark and its options (`swim bench --help` lists them).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
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
    if let Command::Bench { args } = &cli.command {
        return bench::run(args);
    }
    telemetry::init(cli.log_format, "info");
    let result = match &cli.command {
        Command::Demo { gateway, args } => serve::demo(gateway, args),
        Command::Serve { gateway, args } => serve::serve(gateway, args),
        Command::Replay { gateway, args } => serve::replay(gateway, args),
        Command::Record(args) => serve::record(args),
        Command::Keys {
            data,
            database,
            cmd,
        } => keys::run(&database.backend(data), data, cmd),
        Command::Plugins { data, plugins, cmd } => plugins::run(data, plugins, cmd),
        Command::Bench { .. } => unreachable!("handled before the log starts"),
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
