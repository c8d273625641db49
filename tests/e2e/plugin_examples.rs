//! The Python and JavaScript examples in `plugins/examples/`, each built
//! from source with its pinned tool, dropped into a running gateway and
//! used as a partner or a client would.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::gateway::{self, Gateway, feed_server, wait_for};
use crate::guest_build::{self, drop_in, example_project};
use crate::ingest::post;
use crate::turns::turn;
use crate::ws_client::Ws;

/// A pilot of a v3 snapshot, flying `dep`-`arr` (alternate `alt`).
struct Pilot {
    cid: u32,
    callsign: &'static str,
    route: (&'static str, &'static str, &'static str),
    at: (f64, f64),
    altitude_ft: i32,
    groundspeed_kts: i32,
}

impl Pilot {
    fn json(&self) -> Value {
        let (dep, arr, alt) = self.route;
        json!({
            "cid": self.cid, "name": "T", "callsign": self.callsign, "server": "X",
            "pilot_rating": 0, "latitude": self.at.0, "longitude": self.at.1,
            "altitude": self.altitude_ft, "groundspeed": self.groundspeed_kts,
            "transponder": "2000", "heading": 90, "qnh_i_hg": 29.92, "qnh_mb": 1013,
            "flight_plan": {
                "flight_rules": "I", "aircraft": "B738/L", "aircraft_faa": "B738/L",
                "aircraft_short": "B738", "departure": dep, "arrival": arr, "alternate": alt,
                "cruise_tas": "450", "altitude": "FL330", "deptime": "1200",
                "enroute_time": "0100", "fuel_time": "0300", "remarks": "", "route": "DCT",
                "revision_id": 1, "assigned_transponder": "2000"
            },
            "logon_time": "2026-01-16T11:00:00Z", "last_updated": "2026-01-16T12:00:00Z"
        })
    }
}

fn snapshot(stamp: &str, pilots: &[Pilot]) -> Vec<u8> {
    json!({
        "general": {"version": 3, "reload": 1, "update": "x", "update_timestamp": stamp,
                    "connected_clients": pilots.len(), "unique_users": pilots.len()},
        "pilots": pilots.iter().map(Pilot::json).collect::<Vec<_>>(),
        "controllers": [], "atis": [], "servers": [], "prefiles": []
    })
    .to_string()
    .into_bytes()
}

/// A gateway polling a feed the test writes, every second.
fn fed_gateway(dir: &std::path::Path, first: Vec<u8>) -> (Gateway, Arc<Mutex<Vec<u8>>>) {
    let body = Arc::new(Mutex::new(first));
    let source = swim::server::SourceConfig::Vatsim {
        url: feed_server(body.clone()),
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(30),
    };
    (Gateway::in_process(gateway::config(dir, source)), body)
}

/// Waits until `plugin` is loaded and active.
fn until_active(gw: &Gateway, plugin: &str) {
    wait_for(&format!("{plugin} active"), Duration::from_secs(90), || {
        let list = gw.ok("/plugins");
        list["data"]
            .as_array()?
            .iter()
            .any(|p| p["name"] == plugin && p["status"] == "active")
            .then_some(())
    });
}

#[test]
fn the_python_vnas_adapter_takes_pertis_track_messages() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let _one_heavy_build = turn();
        let project = example_project("vnas_track", tmp.path());
        let wasm = guest_build::python(&project, "ingest-adapter", "vnas_track");
        drop_in(
            &tmp.path().join("data/plugins"),
            &project,
            &wasm,
            "vnas_track",
            None,
        );
    }
    let gw = Gateway::start(
        &["demo", "--flights", "80", "--seed", "21"],
        &tmp.path().join("data"),
    );
    until_active(&gw, "vnas_track");
    let callsign = wait_for("a flight en route", Duration::from_secs(60), || {
        let body = gw.ok("/flights?phase=enroute&per_page=1");
        body["data"][0]["identity"]["aircraft_identification"]
            .as_str()
            .map(String::from)
    });
    // PERTI's connector's message (example_payload.json), for a flight of
    // the demo, plus two bad tracks.
    let message = json!({
        "facility_id": "ZDC", "system_type": "ERAM", "timestamp": "2026-03-06T15:30:00.000Z",
        "tracks": [
            {"callsign": callsign, "gufi": "VAT-20260306-UAL123-KORD-KJFK", "beacon_code": "1234",
             "position": {"latitude": 38.9445, "longitude": -77.4558, "altitude_ft": 35000,
                          "altitude_type": "barometric", "ground_speed_kts": 450,
                          "track_deg": 270, "vertical_rate_fpm": -500},
             "track_quality": {"source": "radar", "mode_c": true, "mode_s": true,
                               "ads_b": false, "position_quality": 9},
             "timestamp": "2026-03-06T15:30:00.000Z"},
            {"position": {"latitude": 1.0, "longitude": 2.0}},
            {"callsign": "NOPE1", "position": {"latitude": 91.0, "longitude": 2.0}}
        ]
    });
    let started = Instant::now();
    let (status, reply) = post(
        &gw,
        "/ingest/vnas/track",
        "application/json",
        message.to_string(),
    );
    let took = started.elapsed();
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"]["updated"], 1, "{reply}");
    let faults: Vec<(u64, &str)> = reply["data"]["error_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().unwrap(),
                e["field"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(faults, [(1, "callsign"), (2, "latitude")], "{reply}");
    eprintln!("vnas_track: 3 tracks answered in {took:?}");
    let flight = gw.ok(&format!("/flight?callsign={callsign}&format=legacy"))["data"].clone();
    assert_eq!(flight["position"]["latitude"], 38.9445, "{flight}");
    assert_eq!(flight["position"]["altitude_ft"], 35000, "{flight}");
    assert_eq!(flight["position"]["squawk"], "1234", "{flight}");
    assert_eq!(flight["track"]["source"], "vnas:ZDC/ERAM", "{flight}");

    // Refused whole, as PERTI's endpoint refuses them.
    for (body, says) in [
        (json!({"tracks": []}), "facility_id is required"),
        (
            json!({"facility_id": "ZDC", "system_type": "ARTS", "tracks": []}),
            "ERAM or STARS",
        ),
        (
            json!({"facility_id": "ZDC", "tracks": vec![json!({}); 1001]}),
            "at most 1000",
        ),
    ] {
        let (status, refused) = post(
            &gw,
            "/ingest/vnas/track",
            "application/json",
            body.to_string(),
        );
        assert_eq!(status, 400, "{refused}");
        let message = refused["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
}

/// KJFK to KBOS, alternate KPVD.
const BOSTON: (&str, &str, &str) = ("KJFK", "KBOS", "KPVD");

#[test]
fn the_python_detector_reports_a_landing_at_the_alternate_as_a_diversion() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let _one_heavy_build = turn();
        let project = example_project("diverted", tmp.path());
        let wasm = guest_build::python(&project, "detector", "diverted");
        drop_in(
            &tmp.path().join("data/plugins"),
            &project,
            &wasm,
            "diverted",
            None,
        );
    }
    let approach = [
        Pilot {
            cid: 1,
            callsign: "DIV1",
            route: BOSTON,
            at: (41.80, -71.40),
            altitude_ft: 2500,
            groundspeed_kts: 160,
        },
        Pilot {
            cid: 2,
            callsign: "BOS1",
            route: BOSTON,
            at: (42.30, -71.00),
            altitude_ft: 1500,
            groundspeed_kts: 140,
        },
        Pilot {
            cid: 3,
            callsign: "OUT1",
            route: BOSTON,
            at: (39.50, -75.50),
            altitude_ft: 3000,
            groundspeed_kts: 150,
        },
    ];
    let (gw, feed) = fed_gateway(
        &tmp.path().join("data"),
        snapshot("2026-01-16T12:00:00Z", &approach),
    );
    until_active(&gw, "diverted");
    wait_for("the flights", Duration::from_secs(30), || {
        (gw.all_flights("status=all").len() == 3).then_some(())
    });
    // Each lands: at the alternate, at the destination, in a field.
    let landed = [
        Pilot {
            at: (41.724, -71.428),
            altitude_ft: 60,
            groundspeed_kts: 40,
            ..approach[0]
        },
        Pilot {
            at: (42.364, -71.005),
            altitude_ft: 20,
            groundspeed_kts: 30,
            ..approach[1]
        },
        Pilot {
            at: (39.50, -75.50),
            altitude_ft: 400,
            groundspeed_kts: 40,
            ..approach[2]
        },
    ];
    *feed.lock().unwrap() = snapshot("2026-01-16T12:00:15Z", &landed);
    let arrived = wait_for("three landings", Duration::from_secs(30), || {
        let events = gw.events_since(0, "flight.arrived");
        (events.len() == 3).then_some(events)
    });
    let diverted = gw.events_since(0, "flight.diverted");
    let seen: Vec<(String, Value, Value)> = diverted
        .iter()
        .map(|e| {
            let d = &e["data"];
            (
                d["callsign"].as_str().unwrap().to_string(),
                d["landed_at"].clone(),
                d["diversion"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("DIV1".to_string(), json!("KPVD"), json!("alternate")),
            ("OUT1".to_string(), Value::Null, json!("elsewhere")),
        ],
        "{diverted:?} (arrived: {arrived:?})"
    );
    assert_eq!(diverted[0]["data"]["dest"], "KBOS");
    let distance = diverted[0]["data"]["distance_to_dest_nm"].as_f64().unwrap();
    assert!((40.0..46.0).contains(&distance), "{distance}");
}

#[test]
fn the_javascript_filter_keeps_the_flights_inside_an_artcc() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let _one_heavy_build = turn();
        let project = example_project("artcc", tmp.path());
        let wasm = guest_build::javascript(&project, "artcc");
        drop_in(
            &tmp.path().join("data/plugins"),
            &project,
            &wasm,
            "artcc",
            None,
        );
    }
    let over = |cid, callsign, at| Pilot {
        cid,
        callsign,
        route: BOSTON,
        at,
        altitude_ft: 30_000,
        groundspeed_kts: 450,
    };
    let moving = |dlat: f64| {
        [
            over(1, "NY1", (40.64 + dlat, -73.78)),
            over(2, "BOS1", (42.36 + dlat, -71.00)),
            over(3, "DC1", (38.85 + dlat, -77.04)),
        ]
    };
    let (gw, feed) = fed_gateway(
        &tmp.path().join("data"),
        snapshot("2026-01-16T12:00:00Z", &moving(0.0)),
    );
    until_active(&gw, "artcc");
    let key = gw.key.clone().unwrap();
    let (mut ny, _) = Ws::open(&gw, &key);
    ny.subscribe(
        &["flight.positions"],
        json!({"plugin": {"name": "artcc", "params": {"artcc": "ZNY"}}}),
    );
    let (mut two, _) = Ws::open(&gw, &key);
    two.subscribe(
        &["flight.positions"],
        json!({"plugin": {"name": "artcc", "params": {"artcc": ["KZBW", "zdc"]}}}),
    );
    // An id it does not know is refused, naming the ones it does.
    let (mut wrong, _) = Ws::open(&gw, &key);
    wrong.send(
        json!({"action": "subscribe", "channels": ["flight.positions"],
                      "filters": {"plugin": {"name": "artcc", "params": {"artcc": "ZZZ"}}}}),
    );
    let refused = wrong.next_of("error");
    assert_eq!(refused["code"], "INVALID_FILTER", "{refused}");
    let says = refused["message"].as_str().unwrap();
    assert!(
        says.contains("unknown ARTCC") && says.contains("ZNY"),
        "{says}"
    );

    *feed.lock().unwrap() = snapshot("2026-01-16T12:00:15Z", &moving(0.05));
    let callsigns = |ws: &mut Ws| -> Vec<String> {
        let m = ws.next_of("flight.positions");
        let mut names: Vec<String> = m["data"]["positions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["callsign"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(callsigns(&mut ny), ["NY1"]);
    assert_eq!(callsigns(&mut two), ["BOS1", "DC1"]);
}
