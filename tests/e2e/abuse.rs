//! Hardening III: one key cannot hurt the others. Each test replays an
//! attack a hostile user made with keys and limits that were all within
//! what the docs allowed, against the real binary, and checks what the
//! attacker is told, that an honest client goes on being served, and that
//! the server's memory stays bounded.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::gateway::{Gateway, create_key, rss_mb, settled_audit_log, wait_for};
use crate::ws_client::Ws;

/// `swim serve` on a small simulated world, with a system key as the
/// gateway's own; `extra` is more of its config file.
fn start_with(dir: &Path, extra: &str) -> Gateway {
    let config = dir.join("swim.toml");
    std::fs::write(
        &config,
        format!("[source]\nkind = \"sim\"\nflights = 300\nseed = 5\nspeed = 20.0\n{extra}"),
    )
    .unwrap();
    let key = create_key(dir, &["--tier", "system", "--owner", "tests"]);
    let config = config.to_str().unwrap().to_string();
    Gateway::start_keyed(&["serve", "--config", &config], dir, Some(key))
}

fn start(dir: &Path) -> Gateway {
    start_with(dir, "")
}

fn key(dir: &Path, tier: &str) -> String {
    create_key(dir, &["--tier", tier, "--owner", tier])
}

/// The next error or `subscribed` answer (skipping events).
fn answer(ws: &mut Ws) -> Value {
    loop {
        let m = ws.next();
        if m["type"] == "error" || m["type"] == "subscribed" {
            return m;
        }
    }
}

/// A `flight.positions` batch with flights in it, within 30 s.
fn positions(ws: &mut Ws) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(m) = ws.next_within(Duration::from_secs(5))
            && m["type"] == "flight.positions"
        {
            let n = m["data"]["positions"].as_array().map_or(0, Vec::len);
            if n > 0 {
                return n;
            }
        }
    }
    panic!("no positions within 30 s");
}

fn fleet(gw: &Gateway) -> Value {
    let plugins = gw.ok("/plugins")["data"].clone();
    plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "fleet")
        .cloned()
        .unwrap()
}

#[test]
fn a_filter_too_costly_for_the_shared_plugin_is_refused_to_its_subscriber_alone() {
    let tmp = tempfile::tempdir().unwrap();
    // A tight budget (10% of fleet's 50 ms: 5 ms; the default is 20%): the
    // attack below is several times over it, the honest filter ten times
    // under it, on a loaded machine too.
    let gw = start_with(tmp.path(), "[websocket]\nfilter_budget_percent = 10\n");
    let dev = key(tmp.path(), "developer");
    let system = key(tmp.path(), "system");

    // An honest subscriber of the fleet filter: every callsign by letter.
    let letters: Vec<String> = ('A'..='Z').map(|c| format!("{c}*")).collect();
    let (mut honest, _) = Ws::open(&gw, &dev);
    honest.subscribe(
        &["flight.positions"],
        json!({"plugin": {"name": "fleet", "params": {"callsigns": letters}}}),
    );
    assert!(positions(&mut honest) > 0);

    // Thousands of prefixes: a public key cannot even send them (its
    // params are bounded); a key that may is refused by the trial.
    let prefixes: Vec<String> = (0..1_500).map(|i| format!("Q{i}*")).collect();
    let costly = json!({"plugin": {"name": "fleet", "params": {"callsigns": prefixes}}});
    let public = key(tmp.path(), "public");
    let (mut small, _) = Ws::open(&gw, &public);
    small.send(json!({"action": "subscribe", "channels": ["flight.positions"], "filters": costly}));
    let refused = answer(&mut small);
    assert_eq!(refused["code"], "FILTER_TOO_LARGE", "{refused}");

    let mut attackers: Vec<Ws> = (0..3).map(|_| Ws::open(&gw, &system).0).collect();
    for (i, ws) in attackers.iter_mut().enumerate() {
        let letter = ['Q', 'R', 'S'][i];
        let many: Vec<String> = (0..6_000).map(|j| format!("{letter}{j}*")).collect();
        ws.send(
            json!({"action": "subscribe", "channels": ["flight.positions"],
            "filters": {"plugin": {"name": "fleet", "params": {"callsigns": many}}}}),
        );
        let refused = answer(ws);
        assert_eq!(refused["code"], "FILTER_TOO_COSTLY", "{refused}");
        let why = refused["message"].as_str().unwrap();
        assert!(why.contains("tried alone on"), "{why}");
    }
    // The honest subscriber goes on; the plugin was never at fault.
    for _ in 0..3 {
        assert!(positions(&mut honest) > 0);
    }
    let status = fleet(&gw);
    assert_eq!(status["status"], "active", "{status}");
    assert_eq!(status["faults"], 0, "{status}");
}

#[test]
fn a_connections_channels_are_bounded_by_its_tier() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(tmp.path());
    let public = key(tmp.path(), "public");
    let (mut ws, _) = Ws::open(&gw, &public);
    let names: Vec<String> = (0..64).map(|i| format!("flight.custom_{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    ws.subscribe(&names, json!({}));
    ws.send(json!({"action": "subscribe", "channels": ["flight.one_more"]}));
    let refused = answer(&mut ws);
    assert_eq!(refused["code"], "TOO_MANY_CHANNELS", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("public tier's limit is 64"),
        "{refused}"
    );
    let long = format!("flight.{}", "x".repeat(100));
    ws.send(json!({"action": "subscribe", "channels": [long]}));
    assert_eq!(answer(&mut ws)["code"], "INVALID_CHANNEL");
    ws.send(json!({"action": "status"}));
    let status = ws.next_of("status");
    let held = status["data"]["subscriptions"]["channels"]
        .as_array()
        .unwrap();
    assert_eq!(held.len(), 64);

    // The attack that took the server to 1.5 GB: five public connections
    // subscribing to thousands of distinct long channel names, at their
    // message rate, for 10 s.
    drop(ws);
    let before = rss_mb(gw.pid());
    std::thread::scope(|s| {
        for c in 0..5 {
            let (gw, public) = (&gw, &public);
            s.spawn(move || {
                let (mut ws, _) = Ws::open(gw, public);
                let started = Instant::now();
                let mut n = 0;
                while started.elapsed() < Duration::from_secs(10) {
                    let names: Vec<String> = (0..1_000)
                        .map(|i| format!("flight.{c}_{n}_{i}_{}", "y".repeat(40)))
                        .collect();
                    n += 1;
                    if !ws.try_send_text(
                        &json!({"action": "subscribe", "channels": names}).to_string(),
                    ) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(120));
                    while let Ok(m) = ws.next_within(Duration::from_millis(1)) {
                        assert_ne!(m["type"], "subscribed", "{m}");
                    }
                }
            });
        }
    });
    let after = rss_mb(gw.pid());
    println!("channel flood: RSS {before} MB -> {after} MB");
    assert!(after < before + 50, "RSS grew from {before} to {after} MB");
    let (mut good, _) = Ws::open(&gw, &public);
    good.subscribe(&["flight.positions"], json!({}));
    assert!(positions(&mut good) > 0);
}

/// A raw WebSocket on `url`: the upgrade sent, its 101 read.
fn raw_websocket(url: &str) -> std::net::TcpStream {
    use std::io::Read;
    let mut tcp = crate::ws_client::raw_upgrade(url);
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp
}

/// A client frame: `opcode`, masked or not, with `payload`.
fn frame(opcode: u8, masked: bool, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut out = vec![
        0x80 | opcode,
        (payload.len() as u8) | if masked { 0x80 } else { 0 },
    ];
    if masked {
        out.extend(mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    } else {
        out.extend(payload);
    }
    out
}

/// Everything the server sends after `frame` until it closes (10 s at most).
fn answer_to(url: &str, frame: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut tcp = raw_websocket(url);
    tcp.write_all(frame).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut all = Vec::new();
    let _ = tcp.read_to_end(&mut all);
    all
}

#[test]
fn protocol_violations_get_their_close_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(tmp.path());
    let system = key(tmp.path(), "system");
    let url = Ws::url(&gw, &format!("ws?api_key={system}"));
    let close = |code: u16| {
        let [hi, lo] = code.to_be_bytes();
        move |bytes: &[u8]| bytes.windows(4).any(|w| w == [0x88, 0x02, hi, lo])
    };
    // Text that is not UTF-8: 1007.
    let got = answer_to(&url, &frame(0x1, true, &[0xff, 0xfe, 0x41]));
    assert!(close(1007)(&got), "{}", String::from_utf8_lossy(&got));
    assert!(String::from_utf8_lossy(&got).contains("not UTF-8"));
    // An unmasked frame from a client, and a reserved opcode: 1002.
    for bad in [frame(0x1, false, b"{}"), frame(0x3, true, b"{}")] {
        let got = answer_to(&url, &bad);
        assert!(close(1002)(&got), "{}", String::from_utf8_lossy(&got));
        assert!(String::from_utf8_lossy(&got).contains("PROTOCOL_ERROR"));
    }
}

#[test]
fn idle_sockets_are_closed_and_one_address_cannot_hold_every_descriptor() {
    use std::io::Read;
    let tmp = tempfile::tempdir().unwrap();
    let gw = start_with(
        tmp.path(),
        "[http]\nmax_connections_per_address = 40\nfirst_request_timeout_s = 2\n",
    );
    let health = gw.ok("/health")["data"]["connections"].clone();
    let limit = health["file_descriptor_limit"].as_u64().unwrap();
    assert!(
        limit > 1_024,
        "the open-file limit was not raised: {health}"
    );
    // Sockets that send nothing: the 40 the address may hold are closed
    // after the first-request deadline, the rest at once.
    let address = gw
        .base
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let started = Instant::now();
    let mut idle: Vec<std::net::TcpStream> = (0..60)
        .map(|_| std::net::TcpStream::connect(&address).unwrap())
        .collect();
    let mut closed_after = Vec::new();
    // The last ones first: those over the cap are closed at once.
    for socket in idle.iter_mut().rev() {
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let n = socket.read(&mut [0u8; 16]).unwrap_or(usize::MAX);
        assert!(
            n == 0 || n == usize::MAX,
            "the server sent {n} bytes to a silent socket"
        );
        closed_after.push(started.elapsed());
    }
    let late = closed_after
        .iter()
        .filter(|t| **t >= Duration::from_millis(1_500))
        .count();
    assert!(late <= 40, "more than the cap were held: {closed_after:?}");
    assert!(
        late >= 30,
        "the first-request deadline was not waited for: {closed_after:?}"
    );
    assert!(
        closed_after.iter().all(|t| *t < Duration::from_secs(8)),
        "{closed_after:?}"
    );
    // Their places are free again: a request is served.
    assert_eq!(gw.get("/health").0, 200);
    let connections = gw.ok("/health")["data"]["connections"].clone();
    assert!(
        connections["refused_per_address"].as_u64().unwrap() >= 20,
        "{connections}"
    );
    assert!(connections["open"].as_u64().unwrap() < 10, "{connections}");
}

#[test]
fn clients_that_never_read_are_let_go_when_marked_slow() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("swim.toml");
    std::fs::write(
        &config,
        "[source]\nkind = \"sim\"\nflights = 3000\nseed = 5\nspeed = 30.0\n",
    )
    .unwrap();
    let system = key(tmp.path(), "system");
    let config = config.to_str().unwrap().to_string();
    let gw = Gateway::start_keyed(
        &["serve", "--config", &config],
        tmp.path(),
        Some(system.clone()),
    );
    let (mut honest, _) = Ws::open(&gw, &system);
    honest.subscribe(&["flight.positions"], json!({}));
    assert!(positions(&mut honest) > 0);
    let clients = || {
        gw.ok("/health")["data"]["websocket_clients"]
            .as_u64()
            .unwrap()
    };
    let before = rss_mb(gw.pid());
    // Ten clients subscribe and then never read.
    let url = Ws::url(&gw, &format!("ws?api_key={system}"));
    let silent: Vec<std::net::TcpStream> = (0..10)
        .map(|_| {
            use std::io::Write;
            let mut tcp = raw_websocket(&url);
            let subscribe = br#"{"action":"subscribe","channels":["flight.positions"]}"#;
            tcp.write_all(&frame(0x1, true, subscribe)).unwrap();
            tcp
        })
        .collect();
    wait_for(
        "the silent clients to connect",
        Duration::from_secs(10),
        || (clients() == 11).then_some(()),
    );
    let started = Instant::now();
    let mut peak = before;
    // Marked slow once their queue is full (8 MB), they are gone within
    // moments, not after the write or ping timeouts (30 s, 60 s).
    while clients() > 1 {
        peak = peak.max(rss_mb(gw.pid()));
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "{} clients still connected after {:?}",
            clients(),
            started.elapsed()
        );
        // The honest client is served meanwhile.
        assert!(positions(&mut honest) > 0);
    }
    let gone = started.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let after = rss_mb(gw.pid());
    println!(
        "never-reading clients gone after {gone:?}; RSS {before} -> peak {peak} -> {after} MB"
    );
    assert!(after < before + 50, "RSS {before} -> {after} MB");
    drop(silent);
}

/// A GET of `path` without a key from `source` (a loopback address of its
/// own); the status line's code.
async fn anonymous_get(server: std::net::SocketAddr, source: std::net::IpAddr, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(std::net::SocketAddr::new(source, 0)).unwrap();
    let mut tcp = socket.connect(server).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    tcp.read_exact(&mut head).await.unwrap();
    std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap()
}

#[test]
fn failed_requests_from_thousands_of_addresses_cost_bounded_memory_and_audit_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(tmp.path());
    let server: std::net::SocketAddr = gw
        .base
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let prefix = gw
        .base
        .split_once("/api")
        .map(|(_, p)| format!("/api{p}"))
        .unwrap();
    let path = format!("{prefix}/flights/{}", "x".repeat(60_000));
    std::thread::sleep(Duration::from_secs(2));
    let before = rss_mb(gw.pid());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let statuses: Vec<u16> = runtime.block_on(async {
        let mut all = Vec::new();
        // 3,000 addresses, 50 at a time.
        for chunk in (0..3_000u32).collect::<Vec<_>>().chunks(50) {
            let requests = chunk.iter().map(|i| {
                let source = std::net::IpAddr::from([127, 1, (i / 250) as u8, (i % 250 + 1) as u8]);
                anonymous_get(server, source, &path)
            });
            all.extend(futures_util::future::join_all(requests).await);
        }
        all
    });
    assert!(statuses.iter().all(|s| *s == 401), "{:?}", &statuses[..5]);
    let peak = rss_mb(gw.pid());
    let db = settled_audit_log(tmp.path());
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    println!("3,000 addresses: RSS {before} -> {peak} MB, {rows} audit rows");
    assert!(peak < before + 50, "RSS grew from {before} to {peak} MB");
    assert!(
        rows <= 1_010,
        "{rows} audit rows for one minute of failures"
    );
    // A keyed client is served meanwhile.
    assert_eq!(gw.get("/flights?per_page=1").0, 200);
}
