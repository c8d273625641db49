//! A public deployment's hostile clients and tired operators: a WebSocket
//! client that floods and never reads, anonymous requests with huge paths,
//! a bad plugin override at start, and a SIGTERM with clients connected.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::gateway::{Gateway, create_key, rss_mb, settled_audit_log, wait_for};
use crate::ws_client::{Ended, Ws};

/// `swim serve` on a small simulated world.
fn start(dir: &Path) -> Gateway {
    let config = dir.join("swim.toml");
    std::fs::write(
        &config,
        "[source]\nkind = \"sim\"\nflights = 300\nseed = 5\nspeed = 20.0\n",
    )
    .unwrap();
    let key = create_key(dir, &["--tier", "system", "--owner", "tests"]);
    let config = config.to_str().unwrap().to_string();
    Gateway::start_keyed(&["serve", "--config", &config], dir, Some(key))
}

#[test]
fn a_client_that_floods_and_never_reads_is_closed_and_memory_stays_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(tmp.path());
    let public = create_key(tmp.path(), &["--tier", "public", "--owner", "abuser"]);

    // Past three times its rate in a second, a client is told why and closed.
    let mut ws = Ws::connect(&gw, &public);
    for _ in 0..31 {
        ws.send_text(r#"{"action":"ping"}"#);
    }
    let mut errors = Vec::new();
    let code = loop {
        match ws.next_within(Duration::from_secs(10)) {
            Ok(m) if m["type"] == "error" => errors.push(m),
            Ok(_) => {}
            Err(Ended::Closed(code)) => break code,
            Err(Ended::Quiet) => panic!("a client past its rate was not closed: {errors:?}"),
        }
    };
    assert_eq!(code, 4029, "{errors:?}");
    // Replies still queued at the close may be dropped; the reason is sent.
    assert!(
        errors.iter().all(|e| e["code"] == "RATE_LIMITED"),
        "{errors:?}"
    );
    let why = errors.last().unwrap()["message"].as_str().unwrap();
    assert!(why.contains("more than 30 messages in one second"), "{why}");

    // Five public connections (the tier's limit) flood without reading,
    // reconnecting as soon as they are closed.
    let before = rss_mb(gw.pid());
    let flood_for = Duration::from_secs(8);
    let closes: Vec<(u32, Duration)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..5)
            .map(|_| {
                let (gw, public) = (&gw, &public);
                s.spawn(move || {
                    let started = Instant::now();
                    let (mut connections, mut longest) = (0, Duration::ZERO);
                    let url = Ws::url(gw, &format!("ws?api_key={public}"));
                    while started.elapsed() < flood_for {
                        let Ok((socket, _)) = tungstenite::connect(&url) else {
                            // The key's five slots are still being released.
                            std::thread::sleep(Duration::from_millis(20));
                            continue;
                        };
                        let mut ws = Ws::from_socket(socket);
                        connections += 1;
                        let opened = Instant::now();
                        while ws.try_send_text("{}") {
                            assert!(
                                opened.elapsed() < Duration::from_secs(5),
                                "a flooding client was not closed within 5 s"
                            );
                        }
                        longest = longest.max(opened.elapsed());
                    }
                    (connections, longest)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    std::thread::sleep(Duration::from_secs(1));
    let after = rss_mb(gw.pid());
    let connections: u32 = closes.iter().map(|c| c.0).sum();
    println!(
        "flood: {connections} connections closed, longest open {:?}; RSS {before} MB -> {after} MB",
        closes.iter().map(|c| c.1).max()
    );
    assert!(
        connections >= 5,
        "every flooder was closed at least once: {closes:?}"
    );
    assert!(after < before + 50, "RSS grew from {before} to {after} MB");
    // A well-behaved client is served meanwhile.
    let (mut good, _) = Ws::open(&gw, &public);
    good.send(json!({"action": "ping"}));
    assert_eq!(good.next_of("pong")["type"], "pong");
}

fn db_bytes(dir: &Path) -> u64 {
    ["swim.db", "swim.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

#[test]
fn anonymous_requests_are_limited_per_address_and_cannot_fill_the_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(tmp.path());
    let http = reqwest::blocking::Client::new();
    let long = "x".repeat(60_000);
    let url = format!("{}/flights/{long}", gw.base);
    std::thread::sleep(Duration::from_secs(3));
    let before = db_bytes(tmp.path());
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    let mut retry_after = None;
    for _ in 0..300 {
        let response = http.get(&url).send().unwrap();
        *statuses.entry(response.status().as_u16()).or_default() += 1;
        if response.status() == 429 {
            retry_after = response.headers().get("retry-after").cloned();
        }
    }
    // The default: 60 a minute per address, then 429 with Retry-After.
    // The bucket refills one request a second while the loop runs.
    let refused = statuses.get(&401).copied().unwrap_or(0);
    assert!((60..=70).contains(&refused), "{statuses:?}");
    assert_eq!(
        statuses.get(&429).copied(),
        Some(300 - refused),
        "{statuses:?}"
    );
    let seconds: u64 = retry_after.unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&seconds), "Retry-After {seconds}");
    // Still served with a key.
    assert_eq!(gw.get("/flights?per_page=1").0, 200);

    // The audit log holds a row for the first failure of each kind and
    // short paths; the database did not grow by the requests' size.
    let db = settled_audit_log(tmp.path());
    let (rows, longest): (i64, i64) = db
        .query_row(
            "SELECT COUNT(*), COALESCE(MAX(LENGTH(path)), 0) FROM audit_log",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(rows <= 4, "{rows} audit rows for 300 anonymous requests");
    assert!(longest <= 300, "an audit row kept a {longest}-byte path");
    let grown = db_bytes(tmp.path()).saturating_sub(before);
    assert!(grown < 4 << 20, "the database grew by {grown} bytes");
}

#[test]
fn a_bad_override_at_start_leaves_core_detection_running_and_health_degraded() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(plugins.join("departure.wasm"), b"\0asm garbage").unwrap();
    std::fs::write(plugins.join("arrival.toml"), b"kind = [").unwrap();
    let gw = start(tmp.path());
    let (status, body) = gw.get("/health");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["data"]["status"], "degraded");
    let problems = body["data"]["plugins"]["problems"]
        .as_array()
        .unwrap()
        .clone();
    let named: Vec<&str> = problems
        .iter()
        .filter_map(|p| p["plugin"].as_str())
        .collect();
    assert_eq!(named, ["arrival", "departure"], "{problems:?}");
    for p in &problems {
        let why = p["problem"].as_str().unwrap();
        assert!(why.contains("running: builtin"), "{why}");
    }
    // The built-ins run in their place: takeoffs are still detected.
    wait_for("a departure", Duration::from_secs(120), || {
        let events = gw.events_since(0, "flight.departed");
        (!events.is_empty()).then_some(())
    });
}

#[test]
fn sigterm_closes_websockets_with_1001_and_exits_within_5_s() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(tmp.path());
    let key = gw.key.clone().unwrap();
    let mut clients: Vec<Ws> = (0..3).map(|_| Ws::open(&gw, &key).0).collect();
    for ws in &mut clients {
        ws.subscribe(&["flight.positions"], json!({}));
    }
    let started = Instant::now();
    let status = std::thread::scope(|s| {
        let closes: Vec<_> = clients
            .iter_mut()
            .map(|ws| {
                s.spawn(move || {
                    loop {
                        match ws.next_within(Duration::from_secs(10)) {
                            Ok(_) => {}
                            Err(Ended::Closed(code)) => return code,
                            Err(Ended::Quiet) => return 0,
                        }
                    }
                })
            })
            .collect();
        let status = gw.terminate();
        let codes: Vec<u16> = closes.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(
            codes,
            [1001, 1001, 1001],
            "clients are told the server goes away"
        );
        status
    });
    let took = started.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        took < Duration::from_secs(5),
        "SIGTERM to exit took {took:?}"
    );
}
