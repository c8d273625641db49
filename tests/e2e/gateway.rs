//! A running `swim` gateway for tests, queried over HTTP: the real binary
//! on port 0 (its address read from its first line of output), or, for
//! tests that need no process of their own (no signals, no kill -9, no
//! RSS), the real server started in this process on a listener bound to
//! port 0, as mini-redis's tests do: no process to boot.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::turns::{Turn, in_process_turn, turn};
use std::time::{Duration, Instant};

use serde_json::Value;

/// What runs the gateway.
enum Runner {
    /// The `swim` binary.
    Process(Child),
    /// `server::run` on a thread of this process; stopped by its signal.
    InProcess {
        shutdown: swim::shutdown::Shutdown,
        thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    },
}

/// A gateway; stopped (a process killed) when dropped.
pub struct Gateway {
    runner: Runner,
    /// None for a member of a group that holds the turn as a whole.
    _turn: Option<Turn>,
    /// `http://127.0.0.1:PORT/api/swim/v1`.
    pub base: String,
    /// The keys `swim demo` printed on its first run.
    pub developer_key: Option<String>,
    /// The system key requests are made with.
    pub key: Option<String>,
    http: reqwest::blocking::Client,
}

impl Gateway {
    /// Starts `swim ARGS --port 0 --data-dir DIR` and waits until it
    /// listens; requests use the system key it prints (the demo's first run).
    pub fn start(args: &[&str], data_dir: &Path) -> Gateway {
        Self::start_keyed(args, data_dir, None)
    }

    /// Like `start`, with a key made earlier (a restart prints none).
    pub fn start_keyed(args: &[&str], data_dir: &Path, key: Option<String>) -> Gateway {
        Self::start_with(args, data_dir, key, Stdio::inherit(), "warn")
    }

    /// Like `start_keyed`, with its log (at `level`) going to `stderr`.
    pub fn start_with(
        args: &[&str],
        data_dir: &Path,
        key: Option<String>,
        stderr: Stdio,
        level: &str,
    ) -> Gateway {
        Self::spawn(args, data_dir, key, stderr, level, &[], Some(turn())).started()
    }

    /// Like `start_keyed`, returning as soon as it listens: `/health` may
    /// still say `starting` (then `started` waits; a TLS gateway's test
    /// trusts its certificate first).
    pub fn start_unready(args: &[&str], data_dir: &Path) -> Gateway {
        Self::spawn(
            args,
            data_dir,
            None,
            Stdio::inherit(),
            "warn",
            &[],
            Some(turn()),
        )
    }

    /// Waits until `/health` no longer says `starting` (every source has
    /// delivered or failed once), as a load balancer would.
    pub fn started(self) -> Gateway {
        wait_for(
            "the sources' first answers",
            Duration::from_secs(120),
            || {
                // Listening comes before serving: a gateway loading large
                // plugins (a JavaScript component is 18 MB) takes
                // connections it answers only once they are loaded, so a
                // request that times out meanwhile is asked again.
                let response = self.request("/health").send().ok()?;
                let body: Value = serde_json::from_str(&response.text().ok()?).ok()?;
                (body["data"]["status"] != "starting").then_some(())
            },
        );
        self
    }

    /// One of several gateways running together (a cluster): the caller
    /// holds the [`turn`] for the group; `envs` are set for the process.
    pub fn member(args: &[&str], data_dir: &Path, envs: &[(&str, &str)]) -> Gateway {
        Self::spawn(args, data_dir, None, Stdio::inherit(), "warn", envs, None).started()
    }

    fn spawn(
        args: &[&str],
        data_dir: &Path,
        key: Option<String>,
        stderr: Stdio,
        level: &str,
        envs: &[(&str, &str)],
        turn: Option<Turn>,
    ) -> Gateway {
        let mut child = Command::new(env!("CARGO_BIN_EXE_swim"))
            .args(args)
            .args(["--port", "0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", level)
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start swim");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next()
            .expect("swim printed nothing")
            .expect("read swim's output");
        let address = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .to_string();
        let (mut developer_key, mut system_key) = (None, None);
        for line in lines.by_ref() {
            let line = line.expect("read swim's output");
            if let Some(k) = line.strip_prefix("developer key: ") {
                developer_key = Some(k.to_string());
            }
            if let Some(k) = line.strip_prefix("system key: ") {
                system_key = Some(k.to_string());
            }
            if line == "try:" {
                break;
            }
        }
        // Keep draining stdout so the process never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Gateway {
            runner: Runner::Process(child),
            _turn: turn,
            base: format!("{address}/api/swim/v1"),
            developer_key,
            key: key.or(system_key),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    /// Trusts `pem` (a test's own CA or self-signed certificate) for
    /// `https://` requests from now on.
    pub fn trusting(mut self, pem: &str) -> Gateway {
        self.http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
            .build()
            .unwrap();
        self
    }

    /// A GET of a path under the API, with the gateway's key.
    pub fn request(&self, path: &str) -> reqwest::blocking::RequestBuilder {
        let request = self.http.get(format!("{}{path}", self.base));
        match &self.key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    /// GET a path under the API: status and body.
    pub fn get_text(&self, path: &str) -> (u16, String) {
        let response = self
            .request(path)
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e} ({e:?})"));
        let status = response.status().as_u16();
        (status, response.text().unwrap())
    }

    /// GET a path: status and JSON body.
    pub fn get(&self, path: &str) -> (u16, Value) {
        let (status, text) = self.get_text(path);
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {text:.300}"));
        (status, json)
    }

    /// GET a path that must answer 200: its JSON body.
    pub fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// The HTTP client, for requests with headers.
    pub fn http(&self) -> &reqwest::blocking::Client {
        &self.http
    }

    /// Every event after `since`, paging through `/events`.
    pub fn events_since(&self, since: u64, channels: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut since = since;
        loop {
            let body = self.ok(&format!(
                "/events?since={since}&limit=10000&channels={channels}"
            ));
            let data = &body["data"];
            let events = data["events"].as_array().unwrap().clone();
            let next = data["next_since"].as_u64().unwrap();
            let done = events.is_empty() || next == since;
            all.extend(events);
            since = next;
            if done {
                return all;
            }
        }
    }

    /// Every flight `/flights?QUERY` matches, paging through.
    pub fn all_flights(&self, query: &str) -> Vec<Value> {
        let mut all = Vec::new();
        for page in 1.. {
            let body = self.ok(&format!("/flights?{query}&per_page=250&page={page}"));
            all.extend(body["data"].as_array().unwrap().iter().cloned());
            if !body["pagination"]["has_more"].as_bool().unwrap() {
                break;
            }
        }
        all
    }

    /// The binary's process.
    fn child(&mut self) -> &mut Child {
        match &mut self.runner {
            Runner::Process(child) => child,
            Runner::InProcess { .. } => panic!("this gateway runs in the test's process"),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        match &self.runner {
            Runner::Process(child) => child.id(),
            Runner::InProcess { .. } => panic!("this gateway runs in the test's process"),
        }
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        let child = self.child();
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Asks the process to stop (SIGTERM) and waits for its exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let child = self.child();
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        child.wait().unwrap()
    }

    /// Starts the real server in this process on 127.0.0.1:0 with
    /// `config`; requests use a system key made in its database first.
    pub fn in_process(config: swim::server::ServerConfig) -> Gateway {
        use swim::auth::KeyStore as _;
        let turn = Some(in_process_turn());
        std::fs::create_dir_all(&config.data_dir).unwrap();
        let keys = swim::auth::SqliteKeys::open(&config.db_path()).unwrap();
        let new = swim::auth::NewKey {
            tier: swim::auth::Tier::System,
            owner: "tests".into(),
            email: None,
            expires_at: None,
            can_write: true,
            sources: Vec::new(),
        };
        let (key, _) = keys.create(&new, swim::health::wall_ms()).unwrap();
        let shutdown = swim::shutdown::Shutdown::new();
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let signal = shutdown.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                address_tx.send(listener.local_addr()?).unwrap();
                swim::server::run(listener, config, async move { signal.wait().await }).await
            })
        });
        let address = address_rx.recv().expect("the server bound its listener");
        let gateway = Gateway {
            runner: Runner::InProcess {
                shutdown,
                thread: Some(thread),
            },
            _turn: turn,
            base: format!("http://{address}/api/swim/v1"),
            developer_key: None,
            key: Some(key),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        gateway.started()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        match &mut self.runner {
            Runner::Process(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Runner::InProcess { shutdown, thread } => {
                shutdown.trigger();
                if let Some(thread) = thread.take() {
                    let stopped = thread.join().expect("the server thread panicked");
                    if !std::thread::panicking() {
                        stopped.expect("the server stopped with an error");
                        // Still holding the in-process turn, so no other
                        // gateway's threads are counted.
                        assert_no_server_threads();
                    }
                }
            }
        }
    }
}

/// The gateway's long-lived threads, by name.
const SERVER_THREADS: [&str; 6] = [
    "pipeline",
    "fanout",
    "db-checkpoint",
    "audit-log",
    "plugin-epoch",
    "plugin-reload",
];

/// Waits (2 s at most) until no thread of a stopped server is left in this
/// process: the shutdown signal reached every one of them.
fn assert_no_server_threads() {
    let running = || -> Vec<String> {
        std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .flatten()
                    .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                    .map(|name| name.trim().to_string())
                    .filter(|name| SERVER_THREADS.contains(&name.as_str()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let left = wait_for_value(Duration::from_secs(2), || {
        let left = running();
        left.is_empty().then_some(()).ok_or(left)
    });
    if let Err(left) = left {
        panic!("threads left running after the server stopped: {left:?}");
    }
}

/// Polls `check` until it is `Ok` or `timeout` passes (then its last `Err`).
fn wait_for_value<E>(timeout: Duration, mut check: impl FnMut() -> Result<(), E>) -> Result<(), E> {
    let start = Instant::now();
    loop {
        match check() {
            Ok(()) => return Ok(()),
            Err(e) if start.elapsed() >= timeout => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A server config for in-process tests: `source` on the data in `dir`.
pub fn config(dir: &Path, source: swim::server::SourceConfig) -> swim::server::ServerConfig {
    swim::server::ServerConfig::new(dir, source)
}

/// The simulator as a source.
pub fn sim(
    seed: u64,
    flights: usize,
    speed: f64,
    stop_after: Option<u64>,
) -> swim::server::SourceConfig {
    swim::server::SourceConfig::Sim {
        config: swim::source::sim::SimConfig {
            seed,
            flights,
            ..Default::default()
        },
        speed,
        stop_after,
    }
}

/// Creates a key with `swim keys create ARGS` in `data_dir`; returns it.
pub fn create_key(data_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_swim"))
        .args(["keys", "create"])
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("run swim keys create");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find_map(|l| l.strip_prefix("key: "))
        .unwrap_or_else(|| panic!("no key in {text}"))
        .to_string()
}

/// Polls `check` until it returns some value or `timeout` passes.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the audit log in `data_dir` (written from a queue) has rows
/// and no more arrive for half a second.
pub fn settled_audit_log(data_dir: &Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(data_dir.join("swim.db")).unwrap();
    let count = || -> i64 {
        db.query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))
            .unwrap()
    };
    let mut last = count();
    wait_for("the audit queue to drain", Duration::from_secs(30), || {
        std::thread::sleep(Duration::from_millis(400));
        let now = count();
        let settled = now > 0 && now == last;
        last = now;
        settled.then_some(())
    });
    db
}

/// Waits until the simulator (started with `--stop-after N`) has had its
/// `n` snapshots applied, and returns the gateway's truth.
pub fn settled_truth(gw: &Gateway, n: u64) -> Value {
    wait_for(
        "every simulated snapshot applied",
        Duration::from_secs(300),
        || {
            let health = gw.ok("/health");
            let applied = health["data"]["sources"]["sim"]["applied"].as_u64()?;
            (applied >= n).then_some(())
        },
    );
    gw.ok("/sim/truth")["data"].clone()
}

/// A VATSIM feed in the test: serves whatever `body` holds at any path;
/// its URL.
pub fn feed_server(body: Arc<Mutex<Vec<u8>>>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/v3/vatsim-data.json",
        listener.local_addr().unwrap()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let body = body.lock().unwrap().clone();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    url
}

/// A process's resident memory, KB.
pub fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// A process's resident memory, MB.
pub fn rss_mb(pid: u32) -> u64 {
    rss_kb(pid) / 1024
}
