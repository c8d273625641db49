//! `swim bench fanout`: N real WebSocket clients over loopback against
//! the real server.
//!
//! This process runs the gateway (simulator source) and records when the
//! change feed publishes each event; a child process (`swim bench
//! fanout-clients`, the same binary) holds the clients, so the server's
//! memory and CPU are its own. The parent streams `seq publish_us` lines
//! to the child; the child matches them with each client's receive times
//! (both read the same system clock) and reports publish-to-receive
//! latency, messages and bytes per second.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message;

use crate::auth::{KeyStore, NewKey, Tier};
use crate::server::{self, AuthConfig, ServerConfig, SourceConfig};
use crate::source::sim::SimConfig;

/// What the child reports.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ClientReport {
    clients: usize,
    connect_failures: usize,
    closed_early: usize,
    pub seconds: f64,
    pub messages: u64,
    bytes: u64,
    // NaN (no samples) travels as null.
    #[serde(deserialize_with = "nan_if_null")]
    pub latency_ms_p50: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub latency_ms_p99: f64,
    #[serde(deserialize_with = "nan_if_null")]
    latency_ms_max: f64,
    samples: usize,
    /// Why connections failed or ended early: a close code, or what
    /// happened instead ("reset", "connect timed out", ...), with counts.
    endings: BTreeMap<String, u64>,
}

fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// What the clients subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mix {
    /// What a population of real clients asks for (`subscription` in
    /// bench/fanout.rs).
    Mixed,
    /// The same, every positions subscriber asking for at most one batch
    /// a minute of the feed's clock (`positions_interval: 60`).
    Thinned,
    /// Every client on `flight.positions`, unfiltered: every event goes to
    /// every client (`bench/broadcast.rs`).
    Broadcast,
}

impl Mix {
    fn as_str(self) -> &'static str {
        match self {
            Mix::Mixed => "mixed",
            Mix::Thinned => "thinned",
            Mix::Broadcast => "broadcast",
        }
    }
}

/// The thinned mix's `positions_interval`, seconds of the feed's clock.
const THINNED_INTERVAL_S: u32 = 60;

/// What one run measured: the clients' report and the server process's CPU.
pub(super) struct Measured {
    pub report: ClientReport,
    /// CPU-seconds (user + system) this process spent while the clients
    /// were subscribed.
    pub cpu_seconds: f64,
    /// Events the server published meanwhile.
    pub events_published: u64,
}

/// CPU-seconds (user + system) this process has used.
pub(super) fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes the struct we own.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Publish times (`seq`, microseconds since the epoch) the clients'
/// receive times are matched with.
pub(super) type Published = Arc<Mutex<Vec<(u64, u64)>>>;

/// How long one client's connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the clients get, beyond the traffic's seconds, to connect and
/// to finish; past it the run ends and reports what it has.
const SLACK: Duration = Duration::from_secs(120);

pub(super) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Raises this process's open-file limit to its hard limit.
fn raise_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write and read the struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    limit.rlim_cur
}

/// Runs the benchmark: the server here, the clients in a child process.
pub fn run(
    clients: usize,
    flights: usize,
    speed: f64,
    seconds: u64,
    mix: Mix,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let keys = crate::auth::SqliteKeys::open(&dir.path().join("swim.db"))?;
    let key_list = system_keys(&keys, clients)?;
    let config = sim_config(dir.path(), flights, speed);
    println!("{}", super::machine());
    println!(
        "{clients} clients in a child process, {flights} simulated flights, a snapshot every {:.1} s, {seconds} s of traffic",
        15.0 / speed
    );
    measure(
        config,
        &key_list,
        Box::new(|| Ok((Vec::new(), Vec::new()))),
        Run {
            clients,
            seconds,
            mix,
        },
        None,
    )
    .map(drop)
}

/// How many clients, for how long, subscribed to what.
#[derive(Debug, Clone, Copy)]
pub(super) struct Run {
    pub clients: usize,
    pub seconds: u64,
    pub mix: Mix,
}

/// Events sent into the gateway while the clients listen (the broadcast
/// bench's ingest), started once the gateway serves at its HTTP base URL.
pub(super) type Traffic = Box<dyn FnOnce(String) -> tokio::task::JoinHandle<()> + Send>;

/// Other gateways to spread clients over, started once this one serves:
/// their WebSocket URLs, and what keeps them running until dropped.
pub(super) type Others = Box<dyn FnOnce() -> anyhow::Result<(Vec<String>, Vec<KillOnDrop>)> + Send>;

/// A child process killed when dropped.
pub(super) struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Enough system keys for `clients` connections.
pub(super) fn system_keys(keys: &dyn KeyStore, clients: usize) -> anyhow::Result<Vec<String>> {
    let per_key = Tier::System.websocket_connections() as usize;
    let mut key_list = Vec::new();
    for _ in 0..clients.div_ceil(per_key).max(1) {
        let new = NewKey {
            tier: Tier::System,
            owner: "bench".into(),
            email: None,
            expires_at: None,
            can_write: false,
            sources: Vec::new(),
        };
        key_list.push(keys.create(&new, crate::health::wall_ms())?.0);
    }
    Ok(key_list)
}

/// The gateway on the simulator, with its state in `dir`.
pub(super) fn sim_config(dir: &std::path::Path, flights: usize, speed: f64) -> ServerConfig {
    ServerConfig {
        data_dir: dir.to_path_buf(),
        plugins_dir: dir.join("plugins"),
        source: SourceConfig::Sim {
            config: SimConfig {
                seed: 3,
                flights,
                interval_ms: 15_000,
                start_ms: 0,
                hub: None,
            },
            speed,
            stop_after: None,
        },
        adl: None,
        retention: Default::default(),
        auth: AuthConfig::default(),
        ws: Default::default(),
        tls: None,
        database: None,
        cluster: None,
        // Every bench client connects from loopback.
        http: crate::net::ConnectionLimits {
            per_address: 0,
            ..Default::default()
        },
        plugins: Default::default(),
    }
}

/// Serves `config` here, recording when each event is published, while
/// the child process's clients connect to this gateway and to `others`
/// (WebSocket URLs of other instances, round robin); prints and returns
/// the clients' report.
pub(super) fn measure(
    config: ServerConfig,
    key_list: &[String],
    others: Others,
    run: Run,
    traffic: Option<Traffic>,
) -> anyhow::Result<Measured> {
    let clients = run.clients;
    let files = raise_file_limit();
    anyhow::ensure!(
        files as usize > clients + 256,
        "the open-file limit is {files}; {clients} clients need more (raise the hard limit: ulimit -Hn)"
    );
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("ws://{}/api/swim/v1/ws", listener.local_addr()?);
        let published: Published = Arc::default();
        let recorder = published.clone();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(server::run_observed(
            listener,
            config,
            async move {
                let _ = stop_rx.await;
            },
            move |feed| {
                let mut live = feed.subscribe();
                std::thread::spawn(move || {
                    while let Ok(batch) = live.blocking_recv() {
                        let at = now_us();
                        recorder
                            .lock()
                            .extend(batch.events.iter().map(|e| (e.seq, at)));
                    }
                });
            },
        ));
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut urls = vec![url.clone()];
        let (more, _running) = tokio::task::spawn_blocking(others).await??;
        urls.extend(more);
        let base = url.replace("ws://", "http://").replace("/ws", "");
        let traffic = traffic.map(|start| start(base));
        let report = drive_clients(&urls.join(","), key_list, run, published).await;
        if let Some(traffic) = traffic {
            traffic.abort();
        }
        let metrics_url = url.replace("ws://", "http://").replace("/ws", "/metrics");
        if let Ok(text) = reqwest::get(&metrics_url).await?.text().await {
            let (p50, p99) = server_side(&text);
            println!("server side, publish to socket write (histogram buckets): p50 <= {p50}, p99 <= {p99}");
        }
        let _ = stop_tx.send(());
        let _ = server.await;
        report
    })
}

/// Spawns the client process, feeds it publish times, prints and returns
/// its report with the CPU this process spent while the clients listened.
pub(super) async fn drive_clients(
    url: &str,
    keys: &[String],
    run: Run,
    published: Published,
) -> anyhow::Result<Measured> {
    let Run {
        clients,
        seconds,
        mix,
    } = run;
    let exe = std::env::current_exe()?;
    let mut child = tokio::process::Command::new(exe)
        .args([
            "bench",
            "fanout-clients",
            "--url",
            url,
            "--keys",
            &keys.join(","),
        ])
        .args([
            "--clients",
            &clients.to_string(),
            "--seconds",
            &seconds.to_string(),
            "--mix",
            mix.as_str(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the client process")?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("piped")).lines();
    let rss_before = super::rss_kb("self");
    let mut report = None;
    let mut cpu_at_go = None;
    let mut cpu_at_report = 0.0;
    let mut events_published = 0u64;
    let mut feed_tick = tokio::time::interval(Duration::from_millis(50));
    let deadline = tokio::time::sleep(Duration::from_secs(seconds) + 2 * SLACK);
    tokio::pin!(deadline);
    let interrupted = server::shutdown_signal();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            () = &mut deadline => {
                println!("FAILED: the client process did not finish in time; ending the run");
                break;
            }
            () = &mut interrupted => {
                println!("interrupted; ending the run");
                break;
            }
            line = lines.next_line() => {
                let Some(line) = line? else { break };
                if let Some(n) = line.strip_prefix("connected ") {
                    // Every client connected and idle (not subscribed yet).
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let n: usize = n.parse().unwrap_or(clients);
                    let grown = super::rss_kb("self").saturating_sub(rss_before);
                    println!(
                        "server RSS: {} MB before, +{} MB with {n} idle connections = {:.1} KB per connection",
                        rss_before / 1024,
                        grown / 1024,
                        grown as f64 / n.max(1) as f64
                    );
                    cpu_at_go = Some(cpu_seconds());
                    tokio::io::AsyncWriteExt::write_all(&mut stdin, b"go\n").await?;
                } else if let Some(json) = line.strip_prefix("report ") {
                    cpu_at_report = cpu_seconds();
                    report = Some(serde_json::from_str::<ClientReport>(json)?);
                } else {
                    println!("{line}");
                }
            }
            _ = feed_tick.tick() => {
                let batch: Vec<(u64, u64)> = std::mem::take(&mut *published.lock());
                if cpu_at_go.is_some() && report.is_none() {
                    events_published += batch.len() as u64;
                }
                if !batch.is_empty() {
                    let text: String = batch.iter().map(|(s, t)| format!("pub {s} {t}\n")).collect();
                    if tokio::io::AsyncWriteExt::write_all(&mut stdin, text.as_bytes()).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    // The child ends by itself once it has reported; past a grace it is killed.
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
    let r = report.context("the client process reported nothing")?;
    println!(
        "clients {} (connect failures {}, closed early {}), {:.0} s",
        r.clients, r.connect_failures, r.closed_early, r.seconds
    );
    if !r.endings.is_empty() {
        let endings: Vec<String> = r
            .endings
            .iter()
            .map(|(why, n)| format!("{why}: {n}"))
            .collect();
        println!(
            "FAILED connections and early closes: {}",
            endings.join(", ")
        );
    }
    println!(
        "received {:.0} messages/s, {:.2} MB/s",
        r.messages as f64 / r.seconds,
        r.bytes as f64 / r.seconds / 1e6
    );
    println!(
        "publish-to-receive: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
        r.latency_ms_p50, r.latency_ms_p99, r.latency_ms_max, r.samples
    );
    // The child reports after its clients stopped: the span from go to
    // the report is the traffic's seconds plus their closing.
    let cpu_seconds = cpu_at_go.map_or(f64::NAN, |go| cpu_at_report - go);
    Ok(Measured {
        report: r,
        cpu_seconds,
        events_published,
    })
}

/// Upper bounds of the p50 and p99 buckets of the server's
/// publish-to-send histogram.
fn server_side(metrics: &str) -> (String, String) {
    let buckets: Vec<(String, u64)> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("swim_ws_publish_to_send_seconds_bucket{le=\""))
        .filter_map(|l| {
            let (le, n) = l.split_once("\"} ")?;
            Some((le.to_string(), n.parse().ok()?))
        })
        .collect();
    let total = buckets.last().map_or(0, |b| b.1);
    let at = |q: f64| {
        buckets
            .iter()
            .find(|(_, n)| *n as f64 >= q * total as f64)
            .map_or("?".to_string(), |(le, _)| format!("{le} s"))
    };
    (at(0.5), at(0.99))
}

/// What client `i` subscribes to.
fn subscription(i: usize, mix: Mix) -> serde_json::Value {
    match mix {
        Mix::Mixed => mixed_subscription(i),
        Mix::Thinned => {
            let mut subscribe = mixed_subscription(i);
            let wants_positions = subscribe["channels"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c == "flight.positions"));
            if wants_positions {
                subscribe["filters"]["positions_interval"] = THINNED_INTERVAL_S.into();
            }
            subscribe
        }
        Mix::Broadcast => json!({"action": "subscribe", "channels": ["flight.positions"]}),
    }
}

/// The mixed subscriptions: what a population of real clients asks for
/// (many identical ones, as many clients watch the same airports).
fn mixed_subscription(i: usize) -> serde_json::Value {
    const AIRPORTS: [&str; 8] = [
        "KJFK", "KATL", "EGLL", "KLAX", "EDDF", "KORD", "LFPG", "KDFW",
    ];
    const AIRLINES: [&str; 6] = ["AAL", "DAL", "UAL", "BAW", "DLH", "AFR"];
    let positions_and_events = ["flight.positions", "flight.departed", "flight.arrived"];
    match i % 10 {
        0..=3 => json!({"action": "subscribe", "channels": ["flight.departed", "flight.arrived"]}),
        4 | 5 => json!({"action": "subscribe", "channels": positions_and_events,
                        "filters": {"airports": [AIRPORTS[i % AIRPORTS.len()]]}}),
        6 | 7 => json!({"action": "subscribe", "channels": positions_and_events,
                        "filters": {"callsign_prefix": [AIRLINES[i % AIRLINES.len()]]}}),
        8 => json!({"action": "subscribe", "channels": ["flight.positions"],
                    "filters": {"bbox": {"north": 50, "south": 40, "east": -70, "west": -80}}}),
        _ => json!({"action": "subscribe", "channels": ["flight.positions"],
                    "filters": {"plugin": {"name": "nearby", "params": {"lat": 51.47, "lon": -0.45, "radius_nm": 150}}}}),
    }
}

/// The seq of an event frame (`{"seq":N,...`), without parsing the rest.
fn seq_of(text: &str) -> Option<u64> {
    let rest = text.strip_prefix("{\"seq\":")?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// `swim bench fanout-clients`: the child's side.
pub fn clients(url: &str, keys: &[String], run: Run) -> anyhow::Result<ExitCode> {
    raise_file_limit();
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(run_clients(url, keys, run))?;
    println!("report {}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}

async fn run_clients(url: &str, keys: &[String], run: Run) -> anyhow::Result<ClientReport> {
    let Run {
        clients: n,
        seconds,
        mix,
    } = run;
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    // A watch, not a Notify: a client busy with a message when the stop
    // comes still sees it at its next wait (a missed notify_waiters left
    // clients running forever).
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let endings: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let receipts: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let (messages, bytes, failures, closed) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let gate = Arc::new(tokio::sync::Semaphore::new(256));
    let connected = Arc::new(tokio::sync::Barrier::new(n + 1));
    let mut tasks = Vec::with_capacity(n);
    // Several gateways (a cluster): clients spread over them in turn.
    let urls: Vec<&str> = url.split(',').collect();
    for i in 0..n {
        let url = format!(
            "{}?api_key={}",
            urls[i % urls.len()],
            keys[(i / Tier::System.websocket_connections() as usize).min(keys.len() - 1)]
        );
        let (mut go, mut stop, receipts) = (go_rx.clone(), stop_rx.clone(), receipts.clone());
        let endings = endings.clone();
        let (messages, bytes, failures, closed) = (
            messages.clone(),
            bytes.clone(),
            failures.clone(),
            closed.clone(),
        );
        let (gate, connected) = (gate.clone(), connected.clone());
        tasks.push(tokio::spawn(async move {
            let ended = |why: String| *endings.lock().entry(why).or_default() += 1;
            let permit = gate.acquire_owned().await;
            let socket =
                tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(&url)).await;
            drop(permit);
            connected.wait().await;
            let mut ws = match socket {
                Ok(Ok((ws, _))) => ws,
                Ok(Err(e)) => {
                    failures.fetch_add(1, Ordering::Relaxed);
                    return ended(format!("connect failed: {e}"));
                }
                Err(_) => {
                    failures.fetch_add(1, Ordering::Relaxed);
                    return ended("connect timed out".into());
                }
            };
            let _ = go.wait_for(|g| *g).await;
            if ws
                .send(Message::text(subscription(i, mix).to_string()))
                .await
                .is_err()
            {
                closed.fetch_add(1, Ordering::Relaxed);
                return ended("closed before subscribing".into());
            }
            let mut mine = Vec::new();
            loop {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => break,
                    m = ws.next() => match m {
                        Some(Ok(Message::Text(t))) => {
                            messages.fetch_add(1, Ordering::Relaxed);
                            bytes.fetch_add(t.len() as u64, Ordering::Relaxed);
                            if let Some(seq) = seq_of(&t) {
                                mine.push((seq, now_us()));
                            }
                        }
                        Some(Ok(Message::Close(frame))) => {
                            closed.fetch_add(1, Ordering::Relaxed);
                            ended(frame.map_or("close without a code".into(), |f| format!("close {}", u16::from(f.code))));
                            break;
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => { closed.fetch_add(1, Ordering::Relaxed); ended(format!("error: {e}")); break; }
                        None => { closed.fetch_add(1, Ordering::Relaxed); ended("ended without a close".into()); break; }
                    }
                }
            }
            receipts.lock().extend(mine);
        }));
    }
    // Every client connects or fails within its timeout; the bound here is
    // for a runtime too starved to run their timers.
    if tokio::time::timeout(SLACK, connected.wait()).await.is_err() {
        println!(
            "FAILED: not every client had connected or failed after {} s",
            SLACK.as_secs()
        );
    }
    println!(
        "connected {}",
        n - failures.load(Ordering::Relaxed) as usize
    );
    // Publish times from the parent, and its go.
    let publishes: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    let recorder = publishes.clone();
    let go_tx = Arc::new(go_tx);
    let go = go_tx.clone();
    let start = Arc::new(Mutex::new(None::<std::time::Instant>));
    let started = start.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(std::io::stdin())
            .lines()
            .map_while(Result::ok)
        {
            if line == "go" {
                *started.lock() = Some(std::time::Instant::now());
                let _ = go.send(true);
            } else if let Some(rest) = line.strip_prefix("pub ") {
                let mut it = rest.split(' ').filter_map(|x| x.parse::<u64>().ok());
                if let (Some(seq), Some(at)) = (it.next(), it.next()) {
                    recorder.lock().insert(seq, at);
                }
            }
        }
    });
    let mut rx = go_tx.subscribe();
    if tokio::time::timeout(SLACK, rx.wait_for(|g| *g))
        .await
        .is_err()
    {
        println!("FAILED: the parent never said go");
    }
    // Counting starts with the traffic.
    messages.store(0, Ordering::Relaxed);
    bytes.store(0, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let elapsed = start
        .lock()
        .map_or(seconds as f64, |s| s.elapsed().as_secs_f64());
    let _ = stop_tx.send(true);
    let finish_by = tokio::time::Instant::now() + Duration::from_secs(10);
    for t in tasks {
        if tokio::time::timeout_at(finish_by, t).await.is_err() {
            *endings
                .lock()
                .entry("did not stop in time".into())
                .or_default() += 1;
        }
    }
    let _ = std::io::stdout().flush();
    let publishes = publishes.lock();
    let mut latencies: Vec<f64> = receipts
        .lock()
        .iter()
        .filter_map(|(seq, at)| {
            publishes
                .get(seq)
                .map(|p| at.saturating_sub(*p) as f64 / 1e3)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    Ok(ClientReport {
        clients: n,
        connect_failures: failures.load(Ordering::Relaxed) as usize,
        closed_early: closed.load(Ordering::Relaxed) as usize,
        seconds: elapsed,
        messages: messages.load(Ordering::Relaxed),
        bytes: bytes.load(Ordering::Relaxed),
        latency_ms_p50: at(0.5),
        latency_ms_p99: at(0.99),
        latency_ms_max: at(1.0),
        samples: latencies.len(),
        endings: std::mem::take(&mut *endings.lock()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seq_is_read_from_the_front_of_a_frame() {
        assert_eq!(
            seq_of(r#"{"seq":4187,"type":"flight.created"}"#),
            Some(4187)
        );
        assert_eq!(seq_of(r#"{"type":"pong"}"#), None);
    }
}
