//! `swim bench`: benchmarks that print figures (docs/BENCHMARKS.md). They are
//! not tests: nothing here passes or fails on speed.
//!
//! They live in their own crate and binary (`swim-bench`, which `swim
//! bench` runs) so the gateway carries no native copies of the plugins: the
//! plugins bench times the built-ins' logic compiled natively against the
//! same logic as wasm.

pub mod accuracy;
mod broadcast;
mod cluster;
mod cycle;
mod examples;
mod exe;
mod fanout;
mod feed;
mod inputs;
mod measure;
mod plugins;
mod reload;
mod slots;
mod soak;

use std::process::ExitCode;

use clap::Subcommand;

pub use measure::{machine, median_p99, rss_kb};

/// Benchmark subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Each built-in plugin on a batch, as wasm and as the same logic
    /// compiled natively: ns per item and the ratio.
    Plugins {
        /// Items per batch.
        #[arg(long, default_value_t = 10_000)]
        items: usize,
        /// Timed batches per plugin (the median is reported).
        #[arg(long, default_value_t = 30)]
        rounds: usize,
        /// A directory holding the Python and JavaScript examples, built
        /// (`scripts/build-examples DIR`): each is timed beside the Rust
        /// built-in doing like work, with its load costs.
        #[arg(long)]
        examples: Option<std::path::PathBuf>,
    },
    /// Feed snapshots (the simulator's, or `--feed synthetic`) through the
    /// real cycle, per stage, against a bare serde_json parse of the same
    /// bytes.
    Cycle {
        /// Pilots in the feed.
        #[arg(long, default_value_t = 10_000)]
        flights: u64,
        /// Timed cycles.
        #[arg(long, default_value_t = 30)]
        cycles: usize,
        /// Where the snapshots come from.
        #[arg(long, value_enum, default_value = "sim")]
        feed: cycle::BenchFeed,
    },
    /// File write to live for never-seen files, while another thread calls
    /// the plugin in a loop: latency, failed calls, lost events.
    Reload {
        /// Files to swap in.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
    },
    /// N real WebSocket clients (a child process) with mixed filters
    /// against the gateway on the simulator: publish-to-receive latency,
    /// messages and bytes per second, server memory per connection. With
    /// `--mode broadcast`: every client on every event, the gateway beside
    /// a minimal broadcaster, delivered events/s and CPU per frame of both.
    Fanout {
        /// WebSocket clients (the published figures use 10000).
        #[arg(long, default_value_t = 1_000)]
        clients: usize,
        /// `mixed`: the gateway on the simulator, clients with a mix of
        /// filters; `thinned`: the same with `positions_interval: 60` on
        /// every positions subscription; `broadcast`: one event at a time (a track POSTed
        /// `--rate` times a second) to every client, and the same through
        /// the reference broadcaster.
        #[arg(long, value_enum, default_value = "mixed")]
        mode: fanout::Mix,
        /// Events a second (`--mode broadcast`).
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        /// Simulated flights.
        #[arg(long, default_value_t = 2_000)]
        flights: usize,
        /// Simulator speed (a snapshot every 15 s / speed).
        #[arg(long, default_value_t = 5.0)]
        speed: f64,
        /// Seconds of traffic measured.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
    },
    /// The fan-out with one gateway, then with two (clients split between
    /// the leader and a follower): delivered messages/s and p99 of each.
    /// Needs NATS with JetStream and PostgreSQL.
    Cluster {
        /// WebSocket clients.
        #[arg(long, default_value_t = 2_000)]
        clients: usize,
        /// Simulated flights.
        #[arg(long, default_value_t = 2_000)]
        flights: usize,
        /// Simulator speed (a snapshot every 15 s / speed).
        #[arg(long, default_value_t = 5.0)]
        speed: f64,
        /// Seconds of traffic measured per run.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// The NATS server.
        #[arg(long, default_value = "nats://127.0.0.1:4222")]
        nats: String,
        /// The PostgreSQL server (each run makes and drops a database on it).
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
        postgres: String,
    },
    /// What the gateway publishes against the simulator's truth, per source
    /// mix (the feed; the feed and a partner's tracks; the feed and ADL
    /// EDCTs): recall, precision and time error of OUT, OFF, ON, IN and
    /// `cdm.edct`, and derived values outside physical limits.
    Accuracy(accuracy::AccuracyArgs),
    /// `swim demo` for minutes under churning WebSocket clients (random
    /// filters, disconnects, resumes): every stream checked against the
    /// change feed, the server's files and memory sampled.
    Soak(soak::SoakArgs),
    /// The client side of `fanout` (started by it).
    #[command(hide = true)]
    FanoutClients {
        /// The server's WebSocket URL.
        #[arg(long)]
        url: String,
        /// System keys, comma-separated.
        #[arg(long, value_delimiter = ',')]
        keys: Vec<String>,
        /// Clients.
        #[arg(long)]
        clients: usize,
        /// Seconds of traffic.
        #[arg(long)]
        seconds: u64,
        /// What the clients subscribe to.
        #[arg(long, value_enum)]
        mix: fanout::Mix,
    },
}

/// Runs a benchmark.
pub fn run(cmd: &BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Plugins {
            items,
            rounds,
            examples,
        } => plugins::run(*items, *rounds, examples.as_deref())?,
        BenchCommand::Reload { rounds } => reload::run(*rounds)?,
        BenchCommand::Fanout {
            clients,
            mode: fanout::Mix::Broadcast,
            rate,
            seconds,
            ..
        } => broadcast::run(*clients, *rate, *seconds)?,
        BenchCommand::Fanout {
            clients,
            mode: mix @ (fanout::Mix::Mixed | fanout::Mix::Thinned),
            flights,
            speed,
            seconds,
            ..
        } => fanout::run(*clients, *flights, *speed, *seconds, *mix)?,
        BenchCommand::FanoutClients {
            url,
            keys,
            clients,
            seconds,
            mix,
        } => {
            let run = fanout::Run {
                clients: *clients,
                seconds: *seconds,
                mix: *mix,
            };
            return fanout::clients(url, keys, run);
        }
        BenchCommand::Cluster {
            clients,
            flights,
            speed,
            seconds,
            nats,
            postgres,
        } => cluster::run(*clients, *flights, *speed, *seconds, nats, postgres)?,
        BenchCommand::Accuracy(args) => accuracy::run(args)?,
        BenchCommand::Soak(args) => {
            if !soak::run(args)? {
                return Ok(ExitCode::FAILURE);
            }
        }
        BenchCommand::Cycle {
            flights,
            cycles,
            feed,
        } => cycle::run(*flights, *cycles, *feed)?,
    }
    Ok(ExitCode::SUCCESS)
}
