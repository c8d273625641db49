//! `/flights`, `/flight` and `/positions` against the simulator's own list
//! of connected flights: filters, pagination, formats, bad parameters,
//! ETag and gzip.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::gateway::{self, Gateway, settled_truth};

const SNAPSHOTS: u64 = 40;

fn callsigns(flights: &[Value]) -> BTreeSet<String> {
    flights
        .iter()
        .map(|f| f["identity"]["callsign"].as_str().unwrap().to_string())
        .collect()
}

fn start() -> (tempfile::TempDir, Gateway, Vec<Value>) {
    let tmp = tempfile::tempdir().unwrap();
    let source = gateway::sim(11, 600, 200.0, Some(SNAPSHOTS));
    let gw = Gateway::in_process(gateway::config(tmp.path(), source));
    let truth = settled_truth(&gw, SNAPSHOTS);
    let connected = truth["flights"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["connected"].as_bool().unwrap())
        .cloned()
        .collect();
    (tmp, gw, connected)
}

#[test]
fn flights_filters_and_pages_return_what_the_simulator_flies() {
    let (_tmp, gw, connected) = start();
    let truth: BTreeSet<String> = connected
        .iter()
        .map(|f| f["callsign"].as_str().unwrap().to_string())
        .collect();

    let active = gw.all_flights("status=active");
    assert_eq!(callsigns(&active), truth);
    assert_eq!(active.len(), truth.len(), "a flight appears on two pages");

    // The busiest departure airport, filtered by the gateway and by the truth.
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for f in &connected {
        *counts.entry(f["dept_icao"].as_str().unwrap()).or_default() += 1;
    }
    let (busiest, _) = counts.iter().max_by_key(|(_, n)| **n).unwrap();
    let from_busiest: BTreeSet<String> = connected
        .iter()
        .filter(|f| f["dept_icao"] == *busiest)
        .map(|f| f["callsign"].as_str().unwrap().to_string())
        .collect();
    let got = gw.all_flights(&format!("dept_icao={}", busiest.to_lowercase()));
    assert_eq!(callsigns(&got), from_busiest);

    let aal: BTreeSet<String> = truth
        .iter()
        .filter(|c| c.starts_with("AAL"))
        .cloned()
        .collect();
    assert_eq!(callsigns(&gw.all_flights("callsign=AAL*")), aal);

    // Every phase filter together covers every flight exactly once.
    let mut by_phase = 0;
    for phase in ["taxiing", "departed", "enroute", "descending", "arrived"] {
        let flights = gw.all_flights(&format!("phase={phase}"));
        assert!(flights.iter().all(|f| f["progress"]["phase"] == phase));
        by_phase += flights.len();
    }
    assert_eq!(by_phase, truth.len());

    // ARTCC filters agree with the records.
    let zny: Vec<&Value> = active
        .iter()
        .filter(|f| f["flight_plan"]["departure_artcc"] == "ZNY")
        .collect();
    assert_eq!(gw.all_flights("dep_artcc=ZNY").len(), zny.len());

    let page2 = gw.ok("/flights?per_page=50&page=2");
    assert_eq!(page2["data"].as_array().unwrap().len(), 50);
    assert_eq!(page2["pagination"]["total"], truth.len());
    assert_eq!(page2["pagination"]["page"], 2);
    assert_eq!(page2["pagination"]["total_pages"], truth.len().div_ceil(50));
}

#[test]
fn formats_bad_parameters_lookups_etags_and_gzip() {
    let (_tmp, gw, connected) = start();
    let n = connected.len();

    let (status, csv) = gw.get_text("/flights?format=csv&per_page=1000");
    assert_eq!(status, 200);
    assert!(csv.starts_with("flight_uid,gufi,callsign"));
    assert_eq!(csv.lines().count(), n + 1);
    let (_, ndjson) = gw.get_text("/flights?format=ndjson&per_page=1000");
    assert_eq!(ndjson.lines().count(), n);
    // The OpenAPI document lists each content type /flights answers with.
    let openapi = gw.ok("/openapi.json");
    let documented = &openapi["paths"]["/flights"]["get"]["responses"]["200"]["content"];
    for format in ["json", "fixm", "geojson", "ndjson", "csv"] {
        let reply = gw
            .request(&format!("/flights?format={format}&per_page=1"))
            .send()
            .unwrap();
        let served = reply.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        let media = served.split(';').next().unwrap().trim();
        assert!(
            documented.get(media).is_some(),
            "{format}: {media} is not in the document"
        );
    }
    for line in ndjson.lines() {
        serde_json::from_str::<Value>(line).unwrap();
    }

    let geo = gw.ok("/positions");
    assert_eq!(geo["type"], "FeatureCollection");
    let features = geo["features"].as_array().unwrap();
    assert_eq!(features.len(), n);
    for f in features {
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["geometry"]["type"], "Point");
        let c = f["geometry"]["coordinates"].as_array().unwrap();
        assert_eq!(c.len(), 3);
        assert!(c[0].as_f64().unwrap().abs() <= 180.0 && c[1].as_f64().unwrap().abs() <= 90.0);
    }
    // A box around North America holds exactly the features inside it.
    let inside = features
        .iter()
        .filter(|f| {
            let c = &f["geometry"]["coordinates"];
            let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            (-130.0..=-60.0).contains(&lon) && (20.0..=55.0).contains(&lat)
        })
        .count();
    let boxed = gw.ok("/positions?bounds=-130,20,-60,55&include_route=true");
    assert_eq!(boxed["features"].as_array().unwrap().len(), inside);
    // PERTI ignores `format` here and answers GeoJSON: so does the gateway
    // for the JSON formats.
    for format in ["json", "geojson", "fixm"] {
        let body = gw.ok(&format!("/positions?bounds=-130,20,-60,55&format={format}"));
        assert_eq!(body["type"], "FeatureCollection", "{format}");
    }

    for (query, param) in [
        ("/flights?per_page=abc", "per_page"),
        ("/flights?page=0", "page"),
        ("/positions?bounds=1,2,3", "bounds"),
        ("/positions?bounds=a,b,c,d", "bounds"),
        ("/flights?format=xml", "format"),
        ("/positions?format=csv", "format"),
        ("/positions?format=ndjson", "format"),
        ("/flights?phase=flying", "phase"),
        ("/flights?tmi_controlled=maybe", "tmi_controlled"),
        ("/flight?flight_uid=x", "flight_uid"),
        ("/events?since=-1", "since"),
    ] {
        let (status, body) = gw.get(query);
        assert_eq!(status, 400, "{query}: {body}");
        // PERTI's error shape.
        assert_eq!(
            (&body["error"], &body["status"]),
            (&serde_json::json!(true), &serde_json::json!(400)),
            "{body}"
        );
        assert_eq!(body["code"], "INVALID_PARAM", "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("`{param}`")),
            "{query}: {message}"
        );
    }
    let perti =
        "/flights?strata=high&dep_tracon=N90&current_sector=X&include_route=true&format=fixm";
    assert_eq!(gw.get(perti).0, 200);

    let one = &gw.ok("/flights?per_page=1")["data"][0];
    // format=fixm: PERTI's FIXM field names for the same flight.
    let uid = &one["flight_uid"];
    let fixm = gw.ok(&format!("/flight?flight_uid={uid}&format=fixm"))["data"].clone();
    let listed = gw.ok("/flights?per_page=1&format=fixm")["data"][0].clone();
    for f in [&fixm, &listed] {
        assert_eq!(
            f["identity"]["aircraft_identification"],
            one["identity"]["callsign"]
        );
        assert_eq!(
            f["flight_plan"]["departure_aerodrome"],
            one["flight_plan"]["departure"]
        );
        // (The phase may move between the two reads: only its name is checked.)
        assert!(f["progress"]["flight_status"].is_string(), "{f}");
        assert!(f["identity"].get("callsign").is_none(), "{f}");
        assert_eq!(f["data_source"], one["_source"]);
    }
    let callsign = one["identity"]["callsign"].as_str().unwrap();
    for query in [
        format!("gufi={}", one["gufi"].as_str().unwrap()),
        // PERTI's legacy GUFI is accepted where the GUFI is, as PERTI does.
        format!("gufi={}", one["gufi_legacy"].as_str().unwrap()),
        format!("flight_uid={}", one["flight_uid"]),
        format!("callsign={callsign}"),
    ] {
        let found = gw.ok(&format!("/flight?{query}"));
        assert_eq!(found["data"]["gufi"], one["gufi"], "{query}");
    }
    assert_eq!(gw.get("/flight").0, 400);
    assert_eq!(gw.get("/flight?callsign=NOPE123").0, 404);
    assert_eq!(gw.get("/nothing-here").0, 404);

    let url = format!("{}/flights?per_page=1000", gw.base);
    let first = gw.request("/flights?per_page=1000").send().unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let again = gw
        .request("/flights?per_page=1000")
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.text().unwrap().is_empty());

    let raw = reqwest::blocking::Client::builder()
        .no_gzip()
        .build()
        .unwrap();
    let zipped = raw
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let plain_len = gw
        .request("/flights?per_page=1000")
        .send()
        .unwrap()
        .bytes()
        .unwrap()
        .len();
    assert!(zipped.bytes().unwrap().len() * 3 < plain_len);
}
