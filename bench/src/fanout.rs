//! `swim bench fanout`: N real WebSocket clients over loopback against
//! the real server.
//!
//! This process runs the gateway (simulator source) and records when the
//! change feed publishes each event; a child process (`swim bench
//! fanout-clients`, this binary again) holds the clients, so the server's
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

use swim::auth::{KeyStore, NewKey, Tier};
use swim::server::{self, ServerConfig, SourceConfig};
use swim::source::sim::SimConfig;

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
    let keys = swim::auth::SqliteKeys::open(&dir.path().join("swim.db"))?;
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
        key_list.push(keys.create(&new, swim::health::wall_ms())?.0);
    }
    Ok(key_list)
}

/// The gateway on the simulator, with its state in `dir`.
pub(super) fn sim_config(dir: &std::path::Path, flights: usize, speed: f64) -> ServerConfig {
    let source = SourceConfig::Sim {
        config: SimConfig {
            seed: 3,
            flights,
            interval_ms: 15_000,
            start_ms: 0,
            hub: None,
        },
        speed,
        stop_after: None,
    };
    ServerConfig {
        // Every bench client connects from loopback.
        http: swim::net::ConnectionLimits {
            per_address: 0,
            ..Default::default()
        },
        ..ServerConfig::new(dir, source)
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
    let (clients, seconds) = (run.clients, run.seconds);
    let mut child = client_process(url, keys, run)?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("piped")).lines();
    let rss_before = super::rss_kb("self");
    let mut heard = Heard::default();
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
                heard.line(&line, clients, rss_before, &mut stdin).await?;
            }
            _ = feed_tick.tick() => {
                let Ok(sent) = pass_on_publishes(&published, &mut stdin).await else { break };
                if heard.cpu_at_go.is_some() && heard.report.is_none() {
                    events_published += sent as u64;
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
    let r = heard
        .report
        .context("the client process reported nothing")?;
    print_clients(&r);
    // The child reports after its clients stopped: the span from go to
    // the report is the traffic's seconds plus their closing.
    let cpu_seconds = heard
        .cpu_at_go
        .map_or(f64::NAN, |go| heard.cpu_at_report - go);
    Ok(Measured {
        report: r,
        cpu_seconds,
        events_published,
    })
}

/// What the clients' process has said, and this process's CPU time when
/// it said it.
#[derive(Default)]
struct Heard {
    report: Option<ClientReport>,
    cpu_at_go: Option<f64>,
    cpu_at_report: f64,
}

impl Heard {
    /// One line from the clients' process: all connected (then measure
    /// the idle connections and say go), its report, or something to show.
    async fn line(
        &mut self,
        line: &str,
        clients: usize,
        rss_before: u64,
        stdin: &mut tokio::process::ChildStdin,
    ) -> anyhow::Result<()> {
        if let Some(n) = line.strip_prefix("connected ") {
            // Every client connected and idle (not subscribed yet).
            tokio::time::sleep(Duration::from_secs(1)).await;
            print_idle_rss(n.parse().unwrap_or(clients), rss_before);
            self.cpu_at_go = Some(cpu_seconds());
            tokio::io::AsyncWriteExt::write_all(stdin, b"go\n").await?;
        } else if let Some(json) = line.strip_prefix("report ") {
            self.cpu_at_report = cpu_seconds();
            self.report = Some(serde_json::from_str::<ClientReport>(json)?);
        } else {
            println!("{line}");
        }
        Ok(())
    }
}

/// Tells the clients' process the publish time of each event published
/// since the last call; how many.
async fn pass_on_publishes(
    published: &Published,
    stdin: &mut tokio::process::ChildStdin,
) -> std::io::Result<usize> {
    let batch: Vec<(u64, u64)> = std::mem::take(&mut *published.lock());
    if !batch.is_empty() {
        let text: String = batch
            .iter()
            .map(|(s, t)| format!("pub {s} {t}\n"))
            .collect();
        tokio::io::AsyncWriteExt::write_all(stdin, text.as_bytes()).await?;
    }
    Ok(batch.len())
}

/// The clients' process (this binary's `fanout-clients`), its stdin and
/// stdout piped: it is told when to go and what was published, and
/// prints its report.
fn client_process(url: &str, keys: &[String], run: Run) -> anyhow::Result<tokio::process::Child> {
    let Run {
        clients,
        seconds,
        mix,
    } = run;
    tokio::process::Command::new(crate::exe::this()?)
        .args(["fanout-clients", "--url", url, "--keys", &keys.join(",")])
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
        .context("starting the client process")
}

/// What the server holds per idle connection (every client connected,
/// none subscribed yet).
fn print_idle_rss(n: usize, rss_before: u64) {
    let grown = super::rss_kb("self").saturating_sub(rss_before);
    println!(
        "server RSS: {} MB before, +{} MB with {n} idle connections = {:.1} KB per connection",
        rss_before / 1024,
        grown / 1024,
        grown as f64 / n.max(1) as f64
    );
}

/// The clients' report, as the bench prints it.
fn print_clients(r: &ClientReport) {
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

/// What the clients count together: messages and bytes received, how
/// connections failed or ended, and each event's receipt time.
#[derive(Default)]
struct Tally {
    messages: AtomicU64,
    bytes: AtomicU64,
    failures: AtomicU64,
    closed: AtomicU64,
    endings: Mutex<BTreeMap<String, u64>>,
    receipts: Mutex<Vec<(u64, u64)>>,
}

impl Tally {
    fn ended(&self, why: String) {
        *self.endings.lock().entry(why).or_default() += 1;
    }

    fn failed(&self, why: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.ended(why);
    }

    fn closed(&self, why: String) {
        self.closed.fetch_add(1, Ordering::Relaxed);
        self.ended(why);
    }
}

/// What every client waits on: a bound on connects in flight, the barrier
/// all have connected (or failed) at, the parent's go and the stop.
#[derive(Clone)]
struct Signals {
    connecting: Arc<tokio::sync::Semaphore>,
    connected: Arc<tokio::sync::Barrier>,
    go: tokio::sync::watch::Receiver<bool>,
    stop: tokio::sync::watch::Receiver<bool>,
}

/// One client: connects, waits for the go, subscribes, reads until the
/// stop, and records when each event arrived.
async fn one_client(i: usize, url: String, mix: Mix, tally: Arc<Tally>, mut signals: Signals) {
    let permit = signals.connecting.acquire_owned().await;
    let socket =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(&url)).await;
    drop(permit);
    signals.connected.wait().await;
    let mut ws = match socket {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(e)) => return tally.failed(format!("connect failed: {e}")),
        Err(_) => return tally.failed("connect timed out".into()),
    };
    let _ = signals.go.wait_for(|g| *g).await;
    let subscribe = Message::text(subscription(i, mix).to_string());
    if ws.send(subscribe).await.is_err() {
        return tally.closed("closed before subscribing".into());
    }
    let mut mine = Vec::new();
    loop {
        let message = tokio::select! {
            _ = signals.stop.wait_for(|s| *s) => break,
            m = ws.next() => m,
        };
        match message {
            Some(Ok(Message::Text(t))) => {
                tally.messages.fetch_add(1, Ordering::Relaxed);
                tally.bytes.fetch_add(t.len() as u64, Ordering::Relaxed);
                if let Some(seq) = seq_of(&t) {
                    mine.push((seq, now_us()));
                }
            }
            Some(Ok(Message::Close(frame))) => {
                let why = frame.map_or("close without a code".into(), |f| {
                    format!("close {}", u16::from(f.code))
                });
                tally.closed(why);
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tally.closed(format!("error: {e}"));
                break;
            }
            None => {
                tally.closed("ended without a close".into());
                break;
            }
        }
    }
    tally.receipts.lock().extend(mine);
}

/// What the parent says on stdin: "go" when its traffic starts, then
/// "pub SEQ MICROS" per event it published.
#[derive(Default)]
struct FromParent {
    publishes: Mutex<HashMap<u64, u64>>,
    started: Mutex<Option<std::time::Instant>>,
}

/// Reads the parent's lines on a thread of their own; `go` is sent on
/// its "go".
fn listen_to_parent(go: tokio::sync::watch::Sender<bool>) -> Arc<FromParent> {
    let parent = Arc::new(FromParent::default());
    let heard = parent.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(std::io::stdin())
            .lines()
            .map_while(Result::ok)
        {
            if line == "go" {
                *heard.started.lock() = Some(std::time::Instant::now());
                let _ = go.send(true);
            } else if let Some(rest) = line.strip_prefix("pub ") {
                let mut it = rest.split(' ').filter_map(|x| x.parse::<u64>().ok());
                if let (Some(seq), Some(at)) = (it.next(), it.next()) {
                    heard.publishes.lock().insert(seq, at);
                }
            }
        }
    });
    parent
}

/// The child's side of the fan-out bench: `n` clients over `url` (several,
/// comma-separated, for a cluster), traffic for `seconds`, then the report.
async fn run_clients(url: &str, keys: &[String], run: Run) -> anyhow::Result<ClientReport> {
    let Run {
        clients: n,
        seconds,
        ..
    } = run;
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    // A watch, not a Notify: a client busy with a message when the stop
    // comes still sees it at its next wait (a missed notify_waiters left
    // clients running forever).
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tally = Arc::new(Tally::default());
    let signals = Signals {
        connecting: Arc::new(tokio::sync::Semaphore::new(256)),
        connected: Arc::new(tokio::sync::Barrier::new(n + 1)),
        go: go_rx.clone(),
        stop: stop_rx,
    };
    let tasks = spawn_clients(url, keys, run, &tally, &signals);
    // Every client connects or fails within its timeout; the bound here is
    // for a runtime too starved to run their timers.
    if tokio::time::timeout(SLACK, signals.connected.wait())
        .await
        .is_err()
    {
        println!(
            "FAILED: not every client had connected or failed after {} s",
            SLACK.as_secs()
        );
    }
    println!(
        "connected {}",
        n - tally.failures.load(Ordering::Relaxed) as usize
    );
    let parent = listen_to_parent(go_tx);
    let mut go = go_rx;
    // (An error: the parent closed our stdin without a go.)
    if !matches!(
        tokio::time::timeout(SLACK, go.wait_for(|g| *g)).await,
        Ok(Ok(_))
    ) {
        println!("FAILED: the parent never said go");
    }
    // Counting starts with the traffic.
    tally.messages.store(0, Ordering::Relaxed);
    tally.bytes.store(0, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let elapsed = parent
        .started
        .lock()
        .map_or(seconds as f64, |s| s.elapsed().as_secs_f64());
    let _ = stop_tx.send(true);
    wait_for_clients(tasks, &tally).await;
    let _ = std::io::stdout().flush();
    Ok(report(n, elapsed, &tally, &parent.publishes.lock()))
}

/// The clients' tasks: client `i` on gateway `i mod` the number given
/// (several, comma-separated, for a cluster), keys shared as many at a time
/// as a system key may connect.
fn spawn_clients(
    url: &str,
    keys: &[String],
    run: Run,
    tally: &Arc<Tally>,
    signals: &Signals,
) -> Vec<tokio::task::JoinHandle<()>> {
    let urls: Vec<&str> = url.split(',').collect();
    let per_key = Tier::System.websocket_connections() as usize;
    (0..run.clients)
        .map(|i| {
            let key = &keys[(i / per_key).min(keys.len() - 1)];
            let url = format!("{}?api_key={key}", urls[i % urls.len()]);
            tokio::spawn(one_client(i, url, run.mix, tally.clone(), signals.clone()))
        })
        .collect()
}

/// Waits up to 10 s for the stopped clients to finish; those that do not
/// are counted.
async fn wait_for_clients(tasks: Vec<tokio::task::JoinHandle<()>>, tally: &Tally) {
    let finish_by = tokio::time::Instant::now() + Duration::from_secs(10);
    for t in tasks {
        if tokio::time::timeout_at(finish_by, t).await.is_err() {
            tally.ended("did not stop in time".into());
        }
    }
}

/// The clients' figures: publish-to-receive latency from the parent's
/// publish times and the clients' receipts.
fn report(n: usize, seconds: f64, tally: &Tally, publishes: &HashMap<u64, u64>) -> ClientReport {
    let mut latencies: Vec<f64> = tally
        .receipts
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
    ClientReport {
        clients: n,
        connect_failures: tally.failures.load(Ordering::Relaxed) as usize,
        closed_early: tally.closed.load(Ordering::Relaxed) as usize,
        seconds,
        messages: tally.messages.load(Ordering::Relaxed),
        bytes: tally.bytes.load(Ordering::Relaxed),
        latency_ms_p50: at(0.5),
        latency_ms_p99: at(0.99),
        latency_ms_max: at(1.0),
        samples: latencies.len(),
        endings: std::mem::take(&mut *tally.endings.lock()),
    }
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
