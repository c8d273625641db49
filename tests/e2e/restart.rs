//! `kill -9` during a high-rate demo, then start again on the same data
//! dir: the flights come back at once, the change feed keeps every event a
//! client saw, and seq continues with no gap and no duplicate.

use std::time::Duration;

use serde_json::Value;

use crate::gateway::{Gateway, wait_for};

const DEMO: &[&str] = &["demo", "--flights", "300", "--speed", "100", "--seed", "3"];

fn last_seq(gw: &Gateway) -> u64 {
    gw.ok("/health")["data"]["last_seq"].as_u64().unwrap()
}

#[test]
fn a_killed_gateway_resumes_its_flights_and_seq_without_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = Gateway::start(DEMO, tmp.path());
    wait_for("events to flow", Duration::from_secs(120), || {
        (last_seq(&gw) > 600).then_some(())
    });
    // What a client saw before the crash.
    let seen = gw.events_since(0, "");
    let seen_last = seen.last().unwrap()["seq"].as_u64().unwrap();
    let key = gw.key.clone();
    assert!(key.is_some(), "the first run printed no system key");
    gw.kill();

    // The second run prints no keys: the first run's key still works.
    let gw = Gateway::start_keyed(DEMO, tmp.path(), key);
    let restored = gw.ok("/flights?status=all&per_page=1")["pagination"]["total"]
        .as_u64()
        .unwrap();
    assert!(restored >= 300, "only {restored} flights came back");
    let resumed_from = last_seq(&gw);
    assert!(resumed_from >= seen_last, "{resumed_from} < {seen_last}");
    wait_for(
        "new cycles after the restart",
        Duration::from_secs(120),
        || (last_seq(&gw) > resumed_from + 100).then_some(()),
    );

    let all = gw.events_since(0, "");
    let seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (1..=*seqs.last().unwrap()).collect();
    assert_eq!(seqs, expected, "seq has a gap or a duplicate");
    for (before, after) in seen.iter().zip(&all) {
        assert_eq!(
            strip(before),
            strip(after),
            "event {} changed",
            before["seq"]
        );
    }
    // Time goes on from where the data stopped.
    let times: Vec<&str> = all
        .iter()
        .map(|e| e["timestamp"].as_str().unwrap())
        .collect();
    if let Some(w) = times.windows(2).find(|w| w[0] > w[1]) {
        panic!("event times went backwards: {} then {}", w[0], w[1]);
    }

    // SIGTERM: the cycle in flight commits and the process exits 0.
    assert!(gw.terminate().success());
}

fn strip(e: &Value) -> (Value, Value, Value) {
    (e["seq"].clone(), e["type"].clone(), e["data"].clone())
}

#[test]
fn a_second_gateway_on_the_same_data_dir_is_refused_and_the_first_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = Gateway::start(DEMO, tmp.path());
    let before = last_seq(&gw);
    let mut second = std::process::Command::new(env!("CARGO_BIN_EXE_swim"))
        .args(DEMO)
        .args(["--port", "0", "--data-dir"])
        .arg(tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_for(
        "the second gateway to exit",
        Duration::from_secs(60),
        || second.try_wait().unwrap(),
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("is in use by another gateway (process"),
        "{stderr}"
    );
    // The first is untouched: it goes on committing.
    wait_for(
        "new cycles on the first gateway",
        Duration::from_secs(60),
        || (last_seq(&gw) > before + 50).then_some(()),
    );
}
