//! What an operator (and the dashboard) asks of the API beyond the
//! picture: one flight's track and its events, and taking a plugin out of
//! service and back.

use std::time::Duration;

use serde_json::{Value, json};

use crate::gateway::{Gateway, wait_for};

const LONG: Duration = Duration::from_secs(90);

fn busy_demo(tmp: &tempfile::TempDir) -> Gateway {
    Gateway::start(
        &["demo", "--flights", "300", "--speed", "20", "--seed", "9"],
        tmp.path(),
    )
}

fn post_as(gw: &Gateway, key: &str, path: &str, body: &str) -> (u16, Value) {
    let response = gw
        .http()
        .post(format!("{}{path}", gw.base))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn a_flights_track_and_its_events_follow_it() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = busy_demo(&tmp);
    // A flight that has just departed: it has a track and events.
    let departed = wait_for("a departure", LONG, || {
        gw.events_since(0, "flight.departed").into_iter().next()
    });
    let uid = departed["data"]["flight_uid"].as_u64().unwrap();
    let track = wait_for("a track of several points", LONG, || {
        let track = gw.ok(&format!("/flight/track?flight_uid={uid}"))["data"].clone();
        (track["points"].as_array()?.len() >= 3).then_some(track)
    });
    assert_eq!(track["flight_uid"], json!(uid));
    let points = track["points"].as_array().unwrap();
    let times: Vec<i64> = points.iter().map(|p| p["t"].as_i64().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[1] - w[0] >= 30_000),
        "points at least 30 s apart, in order: {times:?}"
    );
    // Its newest point is where the flight is (within a cycle's flying).
    let flight = gw.ok(&format!("/flight?flight_uid={uid}&format=legacy"))["data"].clone();
    let last = points.last().unwrap();
    for (axis, field) in [("lat", "latitude"), ("lon", "longitude")] {
        let (kept, now) = (
            last[axis].as_f64().unwrap(),
            flight["position"][field].as_f64().unwrap(),
        );
        assert!(
            (kept - now).abs() < 1.0,
            "{axis}: track {kept}, flight {now}"
        );
    }

    // Its events: after the track's since_seq, only this flight's, the
    // departure among them.
    let since = track["since_seq"].as_u64().unwrap();
    let page = gw.ok(&format!(
        "/events?flight_uid={uid}&since={since}&limit=1000&channels=-flight.positions"
    ))["data"]
        .clone();
    let events = page["events"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["seq"] == departed["seq"]),
        "the departure ({}) among its events: {events:?}",
        departed["seq"]
    );
    assert!(
        events.iter().all(|e| e["data"]["flight_uid"] == json!(uid)),
        "{events:?}"
    );

    // Named by callsign as /flight names it; wrong names are told so.
    let callsign = departed["data"]["callsign"].as_str().unwrap();
    let by_callsign = gw.ok(&format!("/flight/track?callsign={callsign}"));
    assert_eq!(by_callsign["data"]["flight_uid"], json!(uid));
    assert_eq!(gw.get("/flight/track").0, 400);
    assert_eq!(gw.get("/flight/track?flight_uid=x").0, 400);
    assert_eq!(gw.get("/flight/track?flight_uid=999999999").0, 404);
    assert_eq!(gw.get("/events?flight_uid=-1").0, 400);
}

#[test]
fn an_operator_quarantines_a_plugin_and_restores_it() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = busy_demo(&tmp);
    let key = gw.key.clone().unwrap();
    let departure = |gw: &Gateway| {
        gw.ok("/plugins")["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "departure")
            .cloned()
            .unwrap()
    };
    wait_for("a departure", LONG, || {
        gw.events_since(0, "flight.departed").into_iter().next()
    });

    // Only a system key may; an unknown plugin and a bad body are named.
    let developer = gw.developer_key.clone().unwrap();
    let (status, _) = post_as(&gw, &developer, "/plugins/departure/quarantine", "");
    assert_eq!(status, 403);
    let (status, body) = post_as(&gw, &key, "/plugins/nosuch/quarantine", "");
    assert_eq!(status, 404, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("nosuch"),
        "{body}"
    );
    let (status, body) = post_as(&gw, &key, "/plugins/departure/quarantine", "[1]");
    assert_eq!(status, 400, "{body}");
    // No body and `null` are no reason given: an idle plugin held and freed.
    for body in ["", "null"] {
        let (status, answer) = post_as(&gw, &key, "/plugins/fleet/quarantine", body);
        assert_eq!(status, 200, "{body:?}: {answer}");
        assert!(
            answer["data"]["last_error"]
                .as_str()
                .unwrap()
                .contains("no reason given")
        );
        let (status, answer) = post_as(&gw, &key, "/plugins/fleet/restore", "");
        assert_eq!((status, &answer["data"]["status"]), (200, &json!("active")));
    }

    let (status, body) = post_as(
        &gw,
        &key,
        "/plugins/departure/quarantine",
        r#"{"reason": "checking a bad release"}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "quarantined", "{body}");
    let held = departure(&gw);
    assert_eq!(held["status"], "quarantined");
    assert!(
        held["last_error"]
            .as_str()
            .unwrap()
            .contains("checking a bad release"),
        "{held}"
    );
    // While it is held, no departure is detected.
    // An operator's hold is counted, not a problem: /health stays 200.
    let health = gw.ok("/health")["data"].clone();
    assert_eq!(health["plugins"]["quarantined"], 1, "{health}");
    let from = health["last_seq"].as_u64().unwrap();
    let quarantined = gw.events_since(from.saturating_sub(200), "system.plugin");
    assert!(
        quarantined
            .iter()
            .any(|e| e["data"]["action"] == "quarantined" && e["data"]["plugin"] == "departure"),
        "{quarantined:?}"
    );
    std::thread::sleep(Duration::from_secs(8));
    let during = gw.events_since(from, "flight.departed");
    assert!(
        during.is_empty(),
        "departures while quarantined: {during:?}"
    );

    // Restored: called again, and departures come again.
    let (status, body) = post_as(&gw, &key, "/plugins/departure/restore", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "active", "{body}");
    let from = gw.ok("/health")["data"]["last_seq"].as_u64().unwrap();
    wait_for("a departure after the restore", LONG, || {
        gw.events_since(from, "flight.departed").into_iter().next()
    });
    let restored = gw.events_since(from.saturating_sub(200), "system.plugin");
    assert!(
        restored.iter().any(|e| e["data"]["action"] == "restored"),
        "{restored:?}"
    );
}
