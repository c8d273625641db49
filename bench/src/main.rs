//! `swim-bench`, which `swim bench` runs: figures, not pass/fail.

use std::process::ExitCode;

use clap::Parser;
use swim::telemetry::{self, LogFormat};
use vatswim_bench::BenchCommand;

/// VATSWIM's benchmarks (docs/BENCHMARKS.md).
#[derive(Debug, Parser)]
#[command(name = "swim bench", bin_name = "swim bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

fn main() -> ExitCode {
    // As in `swim`: two TLS crypto providers are linked, rustls must be
    // told which serves a client built without naming one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    // Benchmarks print figures; the gateway's log would only get in the way.
    telemetry::init(LogFormat::Human, "warn");
    match vatswim_bench::run(&cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
