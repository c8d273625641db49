//! `swim bench soak`: the real `swim demo` (a child process) under
//! hundreds of WebSocket clients that connect, subscribe with random
//! channels and filters, disconnect (cleanly or not) and resume with
//! `since` at random, for minutes.
//!
//! Afterwards every session is checked against the change feed as REST
//! `/events` serves it (no gap, no duplicate, nothing made up), and the
//! server's open files and memory, sampled throughout, must be flat after
//! warm-up and back to their baseline once the clients are gone.

mod client;
mod verify;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use tokio::time::Instant;

use self::client::{ClientLog, Plan};
use self::verify::Findings;
use swim::auth::{KeyStore, NewKey, Tier};

/// What to run.
#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// WebSocket clients, each churning on its own.
    #[arg(long, default_value_t = 500)]
    pub clients: usize,
    /// Simulated flights.
    #[arg(long, default_value_t = 2_000)]
    pub flights: usize,
    /// Simulator speed (a snapshot every 15 s / speed).
    #[arg(long, default_value_t = 30.0)]
    pub speed: f64,
    /// Minutes of churn (the published figures use 10 and more).
    #[arg(long, default_value_t = 1.0)]
    pub minutes: f64,
}

/// One reading of the server process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at_s: f64,
    rss_kb: u64,
    /// The change feed's recent events held in memory (a cache that fills
    /// to its bound, `feed::RECENT_BYTES`).
    feed_kb: u64,
    fds: usize,
}

/// Runs the soak; `Ok(false)` when a check failed (the report says which).
pub fn run(args: &SoakArgs) -> anyhow::Result<bool> {
    let dir = tempfile::tempdir()?;
    let key = system_key(dir.path())?;
    let address = free_address()?;
    println!("{}", super::machine());
    println!(
        "swim demo --flights {} --speed {}; {} churning clients for {} min",
        args.flights, args.speed, args.clients, args.minutes
    );
    let mut server = Server::start(dir.path(), &address, args)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let outcome = runtime.block_on(soak(&server, &address, &key, args));
    server.stop();
    outcome
}

async fn soak(server: &Server, address: &str, key: &str, args: &SoakArgs) -> anyhow::Result<bool> {
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
        base: format!("http://{address}/api/swim/v1"),
        key: key.to_string(),
    };
    let ready = wait_ready(&api).await?;
    let first_seq = ready["last_seq"].as_u64().unwrap_or(0);
    let baseline = server.sample(&api, 0.0).await;
    let (airports, prefixes) = live_names(&api).await?;
    let run_for = Duration::from_secs_f64(args.minutes * 60.0);
    let started = Instant::now();
    let plan = Arc::new(Plan {
        url: format!("ws://{address}/api/swim/v1/ws?api_key={key}"),
        first_seq,
        until: started + run_for,
        airports,
        prefixes,
    });
    let clients: Vec<_> = (0..args.clients)
        .map(|i| tokio::spawn(client::churn(0x50A4 + i as u64, plan.clone())))
        .collect();
    // The reference is read as the run goes: `flight.positions` batches
    // are kept for an hour of (simulated, so here minutes of) feed time.
    let mut reference = Reference::after(first_seq);
    let mut samples = vec![baseline];
    while started.elapsed() < run_for {
        let pause = Duration::from_secs(10).min(run_for.saturating_sub(started.elapsed()));
        tokio::time::sleep(pause).await;
        samples.push(server.sample(&api, started.elapsed().as_secs_f64()).await);
        reference.read(&api, u64::MAX).await?;
        server.check_alive()?;
    }
    let mut logs = Vec::new();
    for client in clients {
        logs.push(client.await?);
    }
    // The clients are gone: the server's files should be back to baseline.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = server.sample(&api, started.elapsed().as_secs_f64()).await;
    let sessions: Vec<verify::Session> = logs.iter().flat_map(|l| l.sessions.clone()).collect();
    let last_received = sessions
        .iter()
        .filter_map(|s| s.received.last().map(|(seq, _)| *seq))
        .max()
        .unwrap_or(first_seq);
    reference.read(&api, last_received).await?;
    reference.events.retain(|(seq, _)| *seq <= last_received);
    println!(
        "feed read from /events during the run: seqs {}..={} ({} events; the clients' last {last_received})",
        first_seq + 1,
        reference.since,
        reference.events.len()
    );
    let findings = verify::check(&sessions, &reference.events);
    Ok(report(
        &logs,
        &findings,
        &samples,
        after,
        reference.events.len(),
    ))
}

/// The gateway's REST API, as the soak reads it.
struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    /// A JSON answer from `path` (under the API).
    async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let reply = self.http.get(&url).bearer_auth(&self.key).send().await?;
        let body = reply.bytes().await?;
        serde_json::from_slice(&body).with_context(|| format!("{url} did not answer JSON"))
    }

    /// A gauge from `/metrics`.
    async fn gauge(&self, name: &str) -> Option<f64> {
        let url = format!("{}/metrics", self.base);
        let text = self.http.get(&url).send().await.ok()?.text().await.ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }
}

/// The change feed as REST `/events` serves it: (seq, type) in order.
struct Reference {
    events: Vec<(u64, String)>,
    /// The last seq read.
    since: u64,
}

impl Reference {
    fn after(seq: u64) -> Self {
        Reference {
            events: Vec::new(),
            since: seq,
        }
    }

    /// Reads on until `until` or the feed's end, whichever comes first.
    async fn read(&mut self, api: &Api, until: u64) -> anyhow::Result<()> {
        while self.since < until {
            let page = api
                .get_json(&format!("/events?since={}&limit=1000", self.since))
                .await?;
            let batch = page["data"]["events"]
                .as_array()
                .context("an /events page")?;
            for event in batch {
                let seq = event["seq"].as_u64().context("an event's seq")?;
                let kind = event["type"].as_str().unwrap_or_default();
                self.events.push((seq, kind.to_string()));
            }
            let next = page["data"]["next_since"].as_u64().unwrap_or(self.since);
            if next <= self.since {
                return Ok(());
            }
            self.since = next;
            if batch.len() < 1000 {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// Prints the figures; whether every check passed.
fn report(
    logs: &[ClientLog],
    findings: &Findings,
    samples: &[Sample],
    after: Sample,
    feed_events: usize,
) -> bool {
    let mut passed = true;
    let connect_failures: usize = logs.iter().map(|l| l.connect_failures).sum();
    let mut endings = std::collections::BTreeMap::<String, u64>::new();
    for log in logs {
        for (why, n) in &log.server_endings {
            *endings.entry(why.clone()).or_default() += n;
        }
    }
    println!(
        "sessions {} ({} resumed with since), events received {}, feed events {}",
        findings.sessions, findings.resumed, findings.events, feed_events
    );
    println!(
        "gaps {}, duplicates {}, phantoms {}, RESUME_GAPs {}",
        findings.gaps, findings.duplicates, findings.phantoms, findings.resume_gaps
    );
    if !findings.clean() {
        passed = false;
        println!("FAILED: streams were not exact: {:?}", findings.examples);
    }
    if connect_failures > 0 || !endings.is_empty() {
        passed = false;
        println!(
            "FAILED: {connect_failures} connects failed; sessions the server ended: {endings:?}"
        );
    }
    passed &= flat(samples, after);
    passed
}

/// Whether files and memory stayed flat after warm-up (the first fifth)
/// and files came back to the baseline once the clients left. Memory is
/// judged without the change feed's recent-events cache, which fills to
/// its bound (`feed::RECENT_BYTES`) on its own schedule.
fn flat(samples: &[Sample], after: Sample) -> bool {
    let baseline = samples[0];
    let settled = &samples[(samples.len() / 5).max(1).min(samples.len() - 1)..];
    let rest = |s: &Sample| s.rss_kb.saturating_sub(s.feed_kb);
    let (warm, last) = (settled[0], settled[settled.len() - 1]);
    let rest_max = settled.iter().map(rest).max().unwrap_or(0);
    let max_fds = samples.iter().map(|s| s.fds).max().unwrap_or(0);
    println!(
        "server RSS: {} MB before the clients; after warm-up ({:.0} s) {} MB of which the feed cache {} MB; at the end {} MB, cache {} MB",
        baseline.rss_kb / 1024,
        warm.at_s,
        warm.rss_kb / 1024,
        warm.feed_kb / 1024,
        last.rss_kb / 1024,
        last.feed_kb / 1024,
    );
    println!(
        "RSS without the feed cache after warm-up: {} MB, at most {} MB, {} MB at the end ({:+.1} MB/min over the run after warm-up)",
        rest(&warm) / 1024,
        rest_max / 1024,
        rest(&last) / 1024,
        slope_mb_per_min(settled, rest)
    );
    println!(
        "open files: {} before, at most {} during, {} after the clients left",
        baseline.fds, max_fds, after.fds
    );
    let trend: Vec<String> = samples
        .iter()
        .map(|s| {
            let (rss, feed) = (s.rss_kb / 1024, s.feed_kb / 1024);
            format!("{:.0}s {rss}MB (cache {feed}MB) {}fd", s.at_s, s.fds)
        })
        .collect();
    println!("samples: {}", trend.join(", "));
    let mut ok = true;
    // Allowance for allocator retention; a leak grows with every
    // connection, and the run makes tens of thousands.
    if rest_max > rest(&warm) + rest(&warm) / 5 {
        ok = false;
        println!("FAILED: memory (without the feed cache) grew more than 20% after warm-up");
    }
    if after.fds > baseline.fds + 8 {
        ok = false;
        println!(
            "FAILED: {} files still open after the clients left (baseline {})",
            after.fds, baseline.fds
        );
    }
    ok
}

/// The least-squares slope of `value` (KB) over the samples, in MB/min.
fn slope_mb_per_min(samples: &[Sample], value: impl Fn(&Sample) -> u64) -> f64 {
    let n = samples.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mean_t = samples.iter().map(|s| s.at_s).sum::<f64>() / n;
    let mean_v = samples.iter().map(|s| value(s) as f64).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for s in samples {
        num += (s.at_s - mean_t) * (value(s) as f64 - mean_v);
        den += (s.at_s - mean_t).powi(2);
    }
    if den == 0.0 {
        0.0
    } else {
        num / den * 60.0 / 1024.0
    }
}

/// A system key in the data dir's database (before the server opens it).
fn system_key(data_dir: &Path) -> anyhow::Result<String> {
    let keys = swim::auth::SqliteKeys::open(&data_dir.join("swim.db"))?;
    let new = NewKey {
        tier: Tier::System,
        owner: "soak".into(),
        email: None,
        expires_at: None,
        can_write: false,
        sources: Vec::new(),
    };
    Ok(keys.create(&new, swim::health::wall_ms())?.0)
}

fn free_address() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}

/// Waits until the demo serves flights; its health.
async fn wait_ready(api: &Api) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let health = api.get_json("/health").await.unwrap_or_default();
        if health["data"]["flights"].as_u64().unwrap_or(0) > 0 {
            return Ok(health["data"].clone());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the demo served no flights within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Airports and callsign prefixes of live flights, for clients' filters.
async fn live_names(api: &Api) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let page = api.get_json("/flights?per_page=200").await?;
    let mut airports = Vec::new();
    let mut prefixes = Vec::new();
    for flight in page["data"].as_array().into_iter().flatten() {
        for field in ["departure", "destination"] {
            if let Some(code) = flight["flight_plan"][field].as_str() {
                airports.push(code.to_string());
            }
        }
        if let Some(callsign) = flight["identity"]["callsign"].as_str() {
            prefixes.push(callsign.chars().take(3).collect());
        }
    }
    airports.sort();
    airports.dedup();
    prefixes.sort();
    prefixes.dedup();
    Ok((airports, prefixes))
}

/// The demo, as an operator runs it.
struct Server {
    child: Child,
}

impl Server {
    fn start(data_dir: &Path, address: &str, args: &SoakArgs) -> anyhow::Result<Server> {
        let log = std::fs::File::create(data_dir.join("demo.log"))?;
        let child = Command::new(crate::exe::swim()?)
            .args(["demo", "--listen", address, "--data-dir"])
            .arg(data_dir)
            .args(["--flights", &args.flights.to_string()])
            .args(["--speed", &args.speed.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting swim demo")?;
        Ok(Server { child })
    }

    async fn sample(&self, api: &Api, at_s: f64) -> Sample {
        let feed_kb = api.gauge("swim_feed_memory_bytes").await.unwrap_or(0.0) as u64 / 1024;
        let pid = self.child.id();
        let rss_kb = super::rss_kb(&pid.to_string());
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
        Sample {
            at_s,
            rss_kb,
            feed_kb,
            fds,
        }
    }

    fn check_alive(&self) -> anyhow::Result<()> {
        let pid = self.child.id();
        anyhow::ensure!(
            Path::new(&format!("/proc/{pid}")).exists(),
            "the demo process ended during the run"
        );
        Ok(())
    }

    /// Stops the demo as an operator would (SIGTERM), then makes sure.
    fn stop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
