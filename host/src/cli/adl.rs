//! `swim adl check`: is this database one the ADL source can read?

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use crate::source::adl::check;

/// `swim adl ...`.
#[derive(Debug, Subcommand)]
pub enum AdlCommand {
    /// Connect, list the tables and columns the ADL source reads with what
    /// the server has, count the active flights and show the newest change;
    /// exit 1 naming what is missing.
    Check {
        /// ADO.NET connection string (docs/ADL.md).
        #[arg(long, env = "SWIM_ADL_CONNECTION_STRING", hide_env_values = true)]
        connection_string: String,
        /// How long connecting and each query may take, seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
    },
}

/// Runs `swim adl`.
pub fn run(command: &AdlCommand) -> anyhow::Result<ExitCode> {
    let AdlCommand::Check {
        connection_string,
        timeout,
    } = command;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let timeout = Duration::from_secs((*timeout).max(1));
    let report = match runtime.block_on(check::run(connection_string, timeout)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("adl check failed: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    println!("server: {}", report.server);
    for (table, column, found) in &report.columns {
        let found = found.as_deref().unwrap_or("MISSING");
        println!("  dbo.{table}.{column}: {found}");
    }
    let missing = report.missing();
    if !missing.is_empty() {
        eprintln!("adl check failed: missing columns: {}", missing.join(", "));
        return Ok(ExitCode::FAILURE);
    }
    match report.active_flights {
        Some(n) => println!("active flights: {n}"),
        None => println!("active flights: unknown"),
    }
    match report.newest_change {
        Some(t) => println!("newest change: {}Z", t.format("%Y-%m-%dT%H:%M:%S")),
        None => println!("newest change: none recorded"),
    }
    println!("ok: the ADL source can read this database");
    Ok(ExitCode::SUCCESS)
}
