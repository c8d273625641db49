//! A feed that serves garbage: each malformed snapshot is refused whole
//! (flights, change feed and seq unchanged), `/health` names the error, and
//! the next good snapshot applies. The feed is a small HTTP server in the
//! test; the gateway polls it every second as it would the VATSIM feed.
//! The timeout case runs the binary with a config file (`timeout_s`); the
//! rest run the server in-process.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::gateway::{self, Gateway, feed_server, wait_for};

fn pilot(cid: u32, callsign: &str, altitude: &str) -> String {
    format!(
        r#"{{"cid":{cid},"name":"T","callsign":"{callsign}","server":"X","pilot_rating":0,
        "latitude":40.64,"longitude":-73.78,"altitude":{altitude},"groundspeed":0,
        "transponder":"2000","heading":90,"qnh_i_hg":29.92,"qnh_mb":1013,
        "flight_plan":{{"flight_rules":"I","aircraft":"B738/L","aircraft_faa":"B738/L",
        "aircraft_short":"B738","departure":"KJFK","arrival":"KBOS","alternate":"",
        "cruise_tas":"450","altitude":"FL330","deptime":"1200","enroute_time":"0100",
        "fuel_time":"0300","remarks":"","route":"DCT","revision_id":1,"assigned_transponder":"2000"}},
        "logon_time":"2026-01-16T11:00:00Z","last_updated":"2026-01-16T12:00:00Z"}}"#
    )
}

fn feed(stamp: &str, pilots: &[String]) -> Vec<u8> {
    format!(
        r#"{{"general":{{"version":3,"reload":1,"update":"x","update_timestamp":"{stamp}","connected_clients":1,"unique_users":1}},
        "pilots":[{}],"controllers":[],"atis":[],"servers":[],"prefiles":[]}}"#,
        pilots.join(",")
    )
    .into_bytes()
}

struct Picture {
    callsigns: Vec<String>,
    last_seq: u64,
}

fn picture(gw: &Gateway) -> Picture {
    let flights = gw.ok("/flights?status=all&per_page=1000");
    let events = gw.ok("/events?since=0&limit=10000");
    Picture {
        callsigns: flights["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                f["identity"]["aircraft_identification"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect(),
        last_seq: events["data"]["last_seq"].as_u64().unwrap(),
    }
}

fn health(gw: &Gateway) -> (u16, Value) {
    let (status, body) = gw.get("/health");
    (status, body["data"]["sources"]["vatsim"].clone())
}

#[test]
fn malformed_snapshots_are_refused_whole_and_the_next_good_one_applies() {
    let body = Arc::new(Mutex::new(feed(
        "2026-01-16T12:00:00Z",
        &[pilot(1, "AAL1", "13"), pilot(2, "DAL2", "13")],
    )));
    let url = feed_server(body.clone());
    let tmp = tempfile::tempdir().unwrap();
    let source = swim::server::SourceConfig::Vatsim {
        url,
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(30),
    };
    let gw = Gateway::in_process(gateway::config(tmp.path(), source));
    wait_for("the first snapshot", Duration::from_secs(30), || {
        (picture(&gw).callsigns.len() == 2).then_some(())
    });
    let before = picture(&gw);
    // The same snapshot polled again is skipped, not re-applied.
    wait_for(
        "an unchanged snapshot skipped",
        Duration::from_secs(30),
        || {
            let (_, source) = health(&gw);
            (source["skipped"].as_u64().unwrap() >= 1).then_some(())
        },
    );
    assert_eq!(health(&gw).1["applied"], 1);
    assert_eq!(picture(&gw).last_seq, before.last_seq);

    let good = body.lock().unwrap().clone();
    let bad: [(&str, Vec<u8>, &str); 5] = [
        (
            "bad JSON",
            b"{\"general\": {\"version\": 3, \"upd".to_vec(),
            "not valid JSON",
        ),
        (
            // Its head (and update_timestamp) is the applied snapshot's.
            "the applied snapshot truncated",
            good[..good.len() - 40].to_vec(),
            "not valid JSON",
        ),
        (
            "a v2 feed",
            br#"{"general":{"version":2,"update_timestamp":"2026-01-16T12:01:00Z"},"clients":[]}"#
                .to_vec(),
            "the retired v2 format",
        ),
        (
            "a v1 feed",
            br#"{"general":{"version":1,"update_timestamp":"2026-01-16T12:01:30Z"},"clients":[{"callsign":"X"}]}"#
                .to_vec(),
            "the retired v1 format",
        ),
        (
            "a string where a number belongs",
            feed(
                "2026-01-16T12:02:00Z",
                &[pilot(1, "AAL1", "13"), pilot(3, "UAL3", "\"2500\"")],
            ),
            "pilots[1].altitude",
        ),
    ];
    for (what, bytes, named) in bad {
        let rejected_before = health(&gw).1["rejected"].as_u64().unwrap();
        *body.lock().unwrap() = bytes;
        let source = wait_for(what, Duration::from_secs(30), || {
            let (status, source) = health(&gw);
            (status == 503 && source["rejected"].as_u64().unwrap() > rejected_before)
                .then_some(source)
        });
        let error = source["last_error"].as_str().unwrap();
        assert!(error.contains(named), "{what}: /health says {error:?}");
        // Polled again, the same refused body is refused again, never
        // taken for an unchanged snapshot: the source stays degraded.
        let rejected = source["rejected"].as_u64().unwrap();
        let source = wait_for("two more polls", Duration::from_secs(30), || {
            let (status, source) = health(&gw);
            assert_eq!(
                status, 503,
                "{what}: /health recovered on a refused body: {source}"
            );
            (source["rejected"].as_u64().unwrap() >= rejected + 2).then_some(source)
        });
        let error = source["last_error"].as_str().unwrap();
        assert!(error.contains(named), "{what}: /health says {error:?}");
        let now = picture(&gw);
        assert_eq!(now.callsigns, before.callsigns, "{what}: flights changed");
        assert_eq!(
            now.last_seq, before.last_seq,
            "{what}: the change feed moved"
        );
    }

    *body.lock().unwrap() = feed(
        "2026-01-16T12:03:00Z",
        &[
            pilot(1, "AAL1", "13"),
            pilot(2, "DAL2", "13"),
            pilot(4, "SWA4", "13"),
        ],
    );
    wait_for("the next good snapshot", Duration::from_secs(30), || {
        (picture(&gw).callsigns.len() == 3).then_some(())
    });
    let (status, source) = health(&gw);
    assert_eq!(status, 200);
    assert!(source["last_error"].is_null());
    let created = gw.events_since(before.last_seq, "flight.created");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["data"]["callsign"], "SWA4");
    assert_eq!(created[0]["seq"], before.last_seq + 1);
}

/// A feed that accepts the connection and never answers.
fn silent_feed() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/v3/vatsim-data.json",
        listener.local_addr().unwrap()
    );
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    url
}

/// A feed that never answers: `/health` is `starting` (503) until the
/// first fetch times out, then `degraded`, naming the timeout.
#[test]
fn a_fetch_that_times_out_says_so_and_after_how_long() {
    let url = silent_feed();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("swim.toml");
    std::fs::write(
        &config,
        format!("[source]\nkind = \"vatsim\"\nurl = \"{url}\"\ninterval_s = 1\ntimeout_s = 3\n"),
    )
    .unwrap();
    let gw = Gateway::start_unready(&["serve", "--config", config.to_str().unwrap()], tmp.path());
    // Before its first fetch has answered or failed, the gateway has
    // nothing true to serve: `starting`, never `ok` (it said ok before).
    let (status, body) = gw.get("/health");
    assert_eq!(
        (
            status,
            &body["data"]["status"],
            &body["data"]["waiting_for"]
        ),
        (
            503,
            &Value::from("starting"),
            &serde_json::json!(["vatsim"])
        ),
        "{body}"
    );
    let source = wait_for("a timed-out fetch", Duration::from_secs(30), || {
        let (status, source) = health(&gw);
        (status == 503 && source["fetch_errors"].as_u64() >= Some(1)).then_some(source)
    });
    assert_eq!(gw.get("/health").1["data"]["status"], "degraded");
    let error = source["last_error"].as_str().unwrap();
    assert!(
        error.contains("timed out after 3.0 s"),
        "/health says {error:?}"
    );
}
