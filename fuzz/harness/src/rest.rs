//! REST query strings, sent to the real gateway (in this process, on a
//! loopback port, simulated traffic, access control off so every input
//! reaches a handler). Whatever the query, the answer is not a server
//! error, a JSON answer parses, and a 400 says what is wrong.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use swim::server::{AuthConfig, ServerConfig, SourceConfig};
use swim::shutdown::Shutdown;

/// The read routes a query string goes to; the input's first byte picks one.
const ROUTES: &[&str] = &[
    "/flights",
    "/flight",
    "/positions",
    "/events",
    "/tmi/programs",
    "/tmi/controlled",
    "/plugins",
    "/keys",
    "/",
];

/// A gateway for the replay test, stopped when dropped.
pub struct Gateway {
    base: String,
    shutdown: Shutdown,
    thread: Option<std::thread::JoinHandle<()>>,
    http: reqwest::blocking::Client,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Starts a gateway on simulated traffic in a temporary directory.
    pub fn start() -> Gateway {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let source = SourceConfig::Sim {
            config: swim::source::sim::SimConfig {
                seed: 7,
                flights: 200,
                ..Default::default()
            },
            speed: 30.0,
            stop_after: None,
        };
        let config = ServerConfig {
            auth: AuthConfig {
                enabled: false,
                ..Default::default()
            },
            ..ServerConfig::new(dir.path(), source)
        };
        let shutdown = Shutdown::new();
        let signal = shutdown.clone();
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a loopback port");
                let address = listener
                    .local_addr()
                    .expect("a bound listener has an address");
                // The receiver waits for it just below.
                let _ = address_tx.send(address);
                swim::server::run(listener, config, async move { signal.wait().await })
                    .await
                    .expect("the gateway runs");
            })
        });
        let address = address_rx.recv().expect("the gateway bound its port");
        let gateway = Gateway {
            base: format!("http://{address}/api/swim/v1"),
            shutdown,
            thread: Some(thread),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            _dir: dir,
        };
        gateway.wait_for_flights();
        gateway
    }

    /// Waits until the first cycle is served, so queries see flights.
    fn wait_for_flights(&self) {
        for _ in 0..200 {
            let health: Option<Value> = self
                .http
                .get(format!("{}/health", self.base))
                .send()
                .and_then(|r| r.bytes())
                .ok()
                .and_then(|body| serde_json::from_slice(&body).ok());
            let active = health.as_ref().and_then(|h| h["data"]["flights"].as_u64());
            if active.unwrap_or(0) > 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the gateway served no flights within 10 s");
    }

    /// Sends `data` as a query string and checks the answer.
    pub fn check(&self, data: &[u8]) {
        let Some((&pick, query)) = data.split_first() else {
            return;
        };
        let route = ROUTES[pick as usize % ROUTES.len()];
        let url = format!("{}{route}?{}", self.base, encode(query));
        let reply = self.http.get(&url).send().expect("the gateway answers");
        let status = reply.status().as_u16();
        let json = reply
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.contains("json"));
        let body = reply.bytes().expect("a whole body");
        assert!(
            status < 500,
            "{url} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        if json {
            let value: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("{url}: the JSON answer does not parse: {e}"));
            if status == 400 {
                let message = value["message"].as_str().unwrap_or_default();
                assert!(!message.is_empty(), "{url}: a 400 says why: {value}");
            }
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.shutdown.trigger();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Percent-encodes what may not stand in a query as it is; `&`, `=`, `%`
/// and `+` stay, so inputs can build pairs and escapes of their own.
fn encode(query: &[u8]) -> String {
    let mut out = String::with_capacity(query.len());
    for &b in query {
        if b.is_ascii_alphanumeric() || b"&=%+-_.~,:*!$'()/?@;".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The libFuzzer target: one gateway for the whole run.
pub fn query(data: &[u8]) {
    static GATEWAY: OnceLock<Gateway> = OnceLock::new();
    GATEWAY.get_or_init(Gateway::start).check(data);
}
