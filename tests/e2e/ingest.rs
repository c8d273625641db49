//! Partner ingest against the real server with the simulator running:
//! track, metering and ADL bodies, every kind of bad input with its exact
//! reply, and a partner's own adapter dropped in while the gateway runs.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::gateway::{Gateway, wait_for};

fn start(tmp: &tempfile::TempDir) -> Gateway {
    Gateway::start(&["demo", "--flights", "80", "--seed", "21"], tmp.path())
}

/// POSTs `body` to a path under the API with the gateway's (system) key.
pub fn post(
    gw: &Gateway,
    path: &str,
    content_type: &str,
    body: impl Into<Vec<u8>>,
) -> (u16, Value) {
    let response = gw
        .http()
        .post(format!("{}{path}", gw.base))
        .bearer_auth(gw.key.as_deref().unwrap())
        .header("content-type", content_type)
        .body(body.into())
        .send()
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("POST {path}: not JSON ({e}): {text:.300}"));
    (status, json)
}

fn post_json(gw: &Gateway, path: &str, body: &Value) -> (u16, Value) {
    post(gw, path, "application/json", body.to_string())
}

/// A flight in the phase, as `/flights` shows it.
fn a_flight(gw: &Gateway, phase: &str) -> Value {
    wait_for(
        &format!("a flight {phase}"),
        Duration::from_secs(60),
        || {
            let body = gw.ok(&format!("/flights?phase={phase}&per_page=1"));
            body["data"].get(0).cloned()
        },
    )
}

/// The callsign of a flight en route.
fn an_enroute_callsign(gw: &Gateway) -> String {
    a_flight(gw, "enroute")["identity"]["aircraft_identification"]
        .as_str()
        .unwrap()
        .to_string()
}

fn flight(gw: &Gateway, callsign: &str) -> Value {
    gw.ok(&format!("/flight?callsign={callsign}"))["data"].clone()
}

fn last_seq(gw: &Gateway) -> u64 {
    gw.ok("/health")["data"]["last_seq"].as_u64().unwrap()
}

fn report(body: &Value) -> (u64, u64, u64, u64, u64) {
    let d = &body["data"];
    let n = |k: &str| d[k].as_u64().unwrap_or_else(|| panic!("no {k} in {body}"));
    (
        n("processed"),
        n("created"),
        n("updated"),
        n("not_found"),
        n("errors"),
    )
}

#[test]
fn a_track_moves_a_flight_and_the_positions_batch_shows_it() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(&tmp);
    let callsign = an_enroute_callsign(&gw);
    let since = last_seq(&gw);
    let body = json!({"tracks": [
        {"callsign": callsign, "latitude": 12.3456, "longitude": -45.6789, "altitude_ft": 31000,
         "ground_speed_kts": 444, "squawk": "4321", "track_source": "radar"},
        {"callsign": "NOSUCH1", "latitude": 1.0, "longitude": 2.0}
    ]});
    let (status, reply) = post_json(&gw, "/ingest/track", &body);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(report(&reply), (2, 0, 1, 1, 0), "{reply}");
    assert_eq!(reply["data"]["error_details"], json!([]));

    // The ingest is a cycle of its own: its positions batch carries the
    // new position, after the seq the gateway had before the POST.
    let batches = gw.events_since(since, "flight.positions");
    let entry = batches
        .iter()
        .flat_map(|e| e["data"]["positions"].as_array().unwrap().clone())
        .find(|p| p["callsign"] == callsign.as_str())
        .unwrap_or_else(|| panic!("{callsign} in no positions batch after seq {since}"));
    assert_eq!(entry["latitude"], 12.3456);
    assert_eq!(entry["longitude"], -45.6789);
    assert_eq!(entry["altitude_ft"], 31000);
    assert_eq!(entry["groundspeed_kts"], 444);
    // The track section is the partner's (the feed does not write it).
    let track = &flight(&gw, &callsign)["track"];
    assert_eq!(track["source"], "radar");
    assert_eq!(track["squawk"], "4321");
}

#[test]
fn metering_fills_the_section_and_a_partial_update_keeps_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(&tmp);
    let target = a_flight(&gw, "enroute");
    let callsign = target["identity"]["aircraft_identification"]
        .as_str()
        .unwrap();
    let airport = target["flight_plan"]["arrival_aerodrome"].as_str().unwrap();
    let body = json!({"airport": airport, "metering_point": "camrn", "metering": [{
        "callsign": callsign, "scheduled_time_of_arrival": "2026-11-22T18:30:00Z",
        "metering_time": "2026-11-22T18:15:00Z", "metering_delay": 5, "metering_frozen": true,
        "arrival_stream": "north", "metering_status": "METERED"}]});
    let (status, reply) = post_json(&gw, "/ingest/metering", &body);
    assert_eq!((status, report(&reply)), (200, (1, 0, 1, 0, 0)), "{reply}");
    // PERTI's FIXM names (the partner posts its TBFM names).
    let expected = json!({
        "sequence_number": null, "scheduled_time_of_arrival": "2026-11-22T18:30:00Z",
        "scheduled_time_of_departure": null, "metering_point": "CAMRN",
        "metering_time": "2026-11-22T18:15:00Z", "delay_value": 5, "frozen_indicator": true,
        "metering_status": "METERED", "arrival_stream": "NORTH", "undelayed_eta": null,
        "eta_vertex": null, "sta_vertex": null, "vertex_point": null, "metering_source": null,
        "metering_updated_time": null});
    assert_eq!(flight(&gw, callsign)["metering"], expected);

    // PERTI's per-airport reads: the metered arrivals, FIXM (camelCase)
    // names by default, PERTI's column names for format=json.
    let listed = gw.ok(&format!("/metering/{airport}"))["data"].clone();
    assert_eq!(listed["type"], "metering_data");
    assert_eq!(listed["airport"], airport);
    let metered = listed["flights"].as_array().unwrap();
    assert_eq!(metered.len(), 1, "{listed}");
    assert_eq!(metered[0]["aircraftIdentification"], callsign);
    assert_eq!(metered[0]["meteringPoint"], "CAMRN");
    assert_eq!(metered[0]["delayValue"], 5);
    assert_eq!(metered[0]["sequenceNumber"], 1);
    assert_eq!(listed["summary"]["metered"], 1);
    assert_eq!(listed["summary"]["avg_delay_minutes"], 5.0);
    let sequence = gw.ok(&format!("/metering/{airport}/sequence?format=json"))["data"].clone();
    assert_eq!(sequence["type"], "sequence_list");
    assert_eq!(sequence["flights"][0]["callsign"], callsign);
    assert_eq!(sequence["flights"][0]["metering_frozen"], true);
    let arrivals = gw.ok(&format!("/metering/{airport}?metered_only=false"))["data"].clone();
    assert!(arrivals["count"].as_u64().unwrap() >= 1, "{arrivals}");
    let (status, csv) = gw.get_text(&format!("/metering/{airport}?format=csv"));
    assert_eq!(status, 200);
    assert!(csv.starts_with("aircraftIdentification,"), "{csv}");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert_eq!(gw.get("/metering/K1").0, 400);
    assert_eq!(gw.get(&format!("/metering/{airport}/queue")).0, 404);
    assert_eq!(gw.get(&format!("/metering/{airport}?format=kml")).0, 400);

    let update =
        json!({"airport": airport, "metering": [{"callsign": callsign, "metering_delay": 7}]});
    let (status, reply) = post_json(&gw, "/ingest/metering", &update);
    assert_eq!((status, report(&reply)), (200, (1, 0, 1, 0, 0)), "{reply}");
    let mut expected = expected;
    expected["delay_value"] = json!(7);
    assert_eq!(flight(&gw, callsign)["metering"], expected);

    // A record naming no flight, with a bad status and a bad time: all three.
    let bad = json!({"airport": airport, "metering": [
        {"metering_status": "LATE", "metering_time": "soon", "metering_delay": 3}
    ]});
    let (status, reply) = post_json(&gw, "/ingest/metering", &bad);
    assert_eq!((status, report(&reply)), (200, (0, 0, 0, 0, 1)), "{reply}");
    let fields: Vec<&str> = reply["data"]["error_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["callsign", "metering_status", "metering_time"],
        "{reply}"
    );
    assert_eq!(flight(&gw, callsign)["metering"], expected);
}

#[test]
fn bad_bodies_are_refused_whole_and_bad_items_one_by_one() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(&tmp);
    let callsign = an_enroute_callsign(&gw);
    let track = |lat: f64| json!({"callsign": callsign, "latitude": lat, "longitude": 1.5});
    let error = |reply: &Value| {
        (
            reply["code"].as_str().unwrap().to_string(),
            reply["message"].as_str().unwrap().to_string(),
        )
    };

    // Not JSON: 400, nothing applied.
    let (status, reply) = post(&gw, "/ingest/track", "application/json", "{\"tracks\": [");
    assert_eq!(status, 400);
    let (code, message) = error(&reply);
    assert_eq!(code, "INVALID_BODY");
    assert!(
        message.starts_with("nothing was applied: body is not valid JSON"),
        "{message}"
    );

    // The wrong shape.
    let (status, reply) = post_json(&gw, "/ingest/track", &json!({"flights": [track(1.0)]}));
    assert_eq!(
        (status, error(&reply).1.as_str()),
        (
            400,
            r#"nothing was applied: body must be an object with a "tracks" array"#
        )
    );

    // Over the item limit: 1001 tracks, the first of them good.
    let over: Vec<Value> = (0..1001).map(|_| track(2.0)).collect();
    let (status, reply) = post_json(&gw, "/ingest/track", &json!({"tracks": over}));
    assert_eq!(
        (status, error(&reply).1.as_str()),
        (
            400,
            "nothing was applied: 1001 tracks is over the limit of 1000 per request"
        )
    );

    // Too large: 413 before any adapter sees it.
    let huge = format!(
        r#"{{"tracks":[{}], "pad":"{}"}}"#,
        track(3.0),
        "x".repeat(5 << 20)
    );
    let (status, reply) = post(&gw, "/ingest/track", "application/json", huge);
    assert_eq!(status, 413);
    assert_eq!(error(&reply).0, "PAYLOAD_TOO_LARGE");

    // No adapter for the route.
    let (status, reply) = post_json(&gw, "/ingest/radar", &json!({}));
    assert_eq!(status, 404);
    assert!(
        error(&reply).1.contains("routes: adl, metering, track"),
        "{reply}"
    );

    // None of those touched the flight.
    assert_eq!(flight(&gw, &callsign)["track"], Value::Null);

    // Good and bad items in one body: the good ones apply, each bad one
    // is reported with its index and field; a bad squawk leaves out the
    // squawk, not the position (item 3 applies).
    let body = json!({"tracks": [
        {"callsign": callsign, "latitude": 95.0, "longitude": 1.0},
        track(4.0),
        {"latitude": 1.0, "longitude": 1.0},
        {"callsign": callsign, "latitude": 1.0, "longitude": 1.0, "squawk": "9999"}
    ]});
    let (status, reply) = post_json(&gw, "/ingest/track", &body);
    assert_eq!((status, report(&reply)), (200, (2, 0, 2, 0, 3)), "{reply}");
    assert_eq!(
        reply["data"]["error_details"],
        json!([
            {"index": 0, "field": "latitude", "error": "95 is out of range: must be between -90 and 90"},
            {"index": 2, "field": "callsign", "error": "missing required field: callsign"},
            {"index": 3, "field": "squawk", "error": "must be four octal digits, e.g. \"1200\""}
        ])
    );
    assert_eq!(flight(&gw, &callsign)["track"]["source"], "partner");
    assert_eq!(reply["data"]["warnings"], 0, "{reply}");

    // Every fault of an item is reported, not only the first.
    let body = json!({"tracks": [
        {"latitude": 95.0, "longitude": "east", "squawk": "9999", "heading_deg": 400, "colour": "red"}
    ]});
    let (status, reply) = post_json(&gw, "/ingest/track", &body);
    assert_eq!((status, report(&reply)), (200, (0, 0, 0, 0, 1)), "{reply}");
    assert_eq!(
        reply["data"]["error_details"],
        json!([
            {"index": 0, "field": "callsign", "error": "missing required field: callsign"},
            {"index": 0, "field": "latitude", "error": "95 is out of range: must be between -90 and 90"},
            {"index": 0, "field": "longitude", "error": "must be a number"},
            {"index": 0, "field": "squawk", "error": "must be four octal digits, e.g. \"1200\""},
            {"index": 0, "field": "heading_deg", "error": "400 is out of range: must be between 0 and 360"}
        ]),
        "{reply}"
    );
    // A refused item's unknown fields are not also warnings.
    assert_eq!(reply["data"]["warnings"], 0, "{reply}");

    // An unknown field is a warning: the item applies, the field is named.
    let body = json!({"tracks": [
        {"callsign": callsign, "latitude": 5.0, "longitude": 1.5, "colour": "red", "track_source": "adsb"}
    ]});
    let (status, reply) = post_json(&gw, "/ingest/track", &body);
    assert_eq!((status, report(&reply)), (200, (1, 0, 1, 0, 0)), "{reply}");
    assert_eq!(reply["data"]["warnings"], 1, "{reply}");
    assert_eq!(
        reply["data"]["warning_details"],
        json!([{"index": 0, "field": "colour", "error": "unknown field; ignored"}])
    );
    assert_eq!(flight(&gw, &callsign)["track"]["source"], "adsb");
}

#[test]
fn adl_creates_flights_and_sections_it_does_not_own_are_refused_per_item() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(&tmp);
    let target = a_flight(&gw, "enroute");
    let callsign = target["identity"]["aircraft_identification"]
        .as_str()
        .unwrap()
        .to_string();
    let dep = target["flight_plan"]["departure_aerodrome"]
        .as_str()
        .unwrap();
    let arr = target["flight_plan"]["arrival_aerodrome"].as_str().unwrap();
    let since = last_seq(&gw);
    // Two hours ago, to the second.
    let out_ms = (swim::health::wall_ms() - 2 * 3_600_000) / 1000 * 1000;
    let out = swim::time::format_iso_millis(out_ms);
    let body = json!({"flights": [
        // Times under their FIXM alias and a position ADL may not write.
        {"callsign": callsign, "dept_icao": dep, "dest_icao": arr,
         "actual_off_block_time": out,
         "latitude": 10.0, "longitude": 20.0, "phase": "enroute"},
        // A flight the gateway does not know: created.
        {"callsign": "adl42", "dept_icao": "KBOS", "dest_icao": "KJFK", "cid": 1234567,
         "aircraft_type": "A320", "route": "MERIT J60 HFD", "cruise_altitude": 24000},
        // Every fault of an item is reported.
        {"callsign": "ADL43", "dept_icao": "K$", "dest_icao": "KJFK",
         "flight_rules": "X", "cruise_altitude": -5},
        // A time no flight alive now could have, and a bad TMI member:
        // those fields are left out, the rest applies (it used to refuse
        // the item whole).
        {"callsign": "ADL44", "dept_icao": "KBOS", "dest_icao": "KJFK", "off_utc": "1999-01-01T00:00:00Z",
         "aircraft_type": "B738", "tmi": {"ctl_type": "AFP", "delay_minutes": "ten"}},
        // PERTI's SDK phase (FlightPhase.PREFLIGHT) is understood (and,
        // as ADL does not own it, refused by name), a latitude without a
        // longitude leaves out the position, not the item.
        {"callsign": "ADL45", "dept_icao": "KBOS", "dest_icao": "KJFK", "phase": "PREFLIGHT",
         "latitude": 42.36, "route": "SSOXS5 SSOXS"}
    ]});
    let (status, reply) = post_json(&gw, "/ingest/adl", &body);
    assert_eq!((status, report(&reply)), (200, (4, 3, 1, 0, 4)), "{reply}");
    let details = reply["data"]["error_details"].as_array().unwrap();
    let fields: Vec<(u64, &str)> = details
        .iter()
        .map(|d| (d["index"].as_u64().unwrap(), d["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            (0, "position"),
            (0, "progress.phase"),
            (2, "dept_icao"),
            (2, "flight_rules"),
            (2, "cruise_altitude"),
            (3, "off_utc"),
            (3, "tmi.ctl_type"),
            (3, "tmi.delay_minutes"),
            (4, "longitude"),
            (4, "progress.phase"),
        ],
        "{reply}"
    );
    let far = details[5]["error"].as_str().unwrap();
    assert!(far.contains("days from now"), "{far}");
    let alone = details[8]["error"].as_str().unwrap();
    assert!(alone.contains("needs both coordinates"), "{alone}");
    assert!(
        details[0]["error"]
            .as_str()
            .unwrap()
            .contains("plugin adl does not own position"),
        "{reply}"
    );

    // The owned part of item 0 applied; the refused position did not.
    let after = flight(&gw, &callsign);
    // `/flight` nests its times, as PERTI's flight.php.
    let stored = after["times"]["actual"]["off_block_time"].as_str().unwrap();
    let stored_ms = chrono::DateTime::parse_from_rfc3339(stored)
        .unwrap()
        .timestamp_millis();
    assert_eq!(stored_ms, out_ms, "{stored}");
    assert_ne!(after["position"]["latitude"], 10.0);
    // Items 3 and 4: every good field applied, the bad ones named above.
    let partly = flight(&gw, "ADL44");
    assert_eq!(partly["identity"]["aircraft_type"], "B738", "{partly}");
    assert!(
        partly["times"]["actual"]["time_of_departure"].is_null(),
        "{partly}"
    );
    assert!(partly["tmi"]["control_type"].is_null(), "{partly}");
    let planned = flight(&gw, "ADL45");
    assert_eq!(
        planned["flight_plan"]["route_text"], "SSOXS5 SSOXS",
        "{planned}"
    );
    assert_eq!(
        gw.get("/flight?callsign=ADL43").0,
        404,
        "a flight that cannot be told creates nothing"
    );
    // The new flight exists, filed as ADL said, and was announced.
    let created = flight(&gw, "ADL42");
    assert_eq!(created["flight_plan"]["route_text"], "MERIT J60 HFD");
    assert_eq!(created["flight_plan"]["cruising_level"], 24000);
    assert_eq!(created["identity"]["pilot_cid"], 1234567);
    assert_eq!(created["progress"]["flight_status"], "prefile");
    let announced = gw.events_since(since, "flight.created");
    assert!(announced.iter().any(|e| e["data"]["callsign"] == "ADL42"));
}

/// A flight en route and a CSV line for the partner adapter that moves it.
fn csv_line_for_a_flight_en_route(gw: &Gateway) -> (String, String) {
    let target = a_flight(gw, "enroute");
    let callsign = target["identity"]["aircraft_identification"]
        .as_str()
        .unwrap()
        .to_string();
    let line = format!("{callsign},33.25,-97.5,12000\n");
    (callsign, line)
}

fn stage_partner_adapter(plugins: &Path) {
    std::fs::create_dir_all(plugins).unwrap();
    let guest = Path::new(env!("SWIM_TEST_GUESTS_DIR")).join("csv_positions.wasm");
    // The manifest first, so the plugin loads with its route and rights.
    std::fs::write(
        plugins.join("csv.toml"),
        "name = \"csv\"\nkind = \"ingest-adapter\"\nroute = \"csv\"\nowns = [\"position\", \"track\"]\n",
    )
    .unwrap();
    std::fs::copy(guest, plugins.join("csv.wasm")).unwrap();
}

#[test]
fn a_partner_adapter_dropped_in_serves_its_route_without_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(&tmp);
    let (callsign, line) = csv_line_for_a_flight_en_route(&gw);
    let (status, _) = post(&gw, "/ingest/csv", "text/csv", line.clone());
    assert_eq!(status, 404, "no such route before the drop");

    let dropped = Instant::now();
    stage_partner_adapter(&tmp.path().join("plugins"));
    let reply = wait_for("the csv route", Duration::from_secs(30), || {
        let (status, reply) = post(&gw, "/ingest/csv", "text/csv", line.clone());
        (status == 200).then_some(reply)
    });
    eprintln!(
        "the dropped adapter served its route {:?} after the drop",
        dropped.elapsed()
    );
    assert_eq!(report(&reply), (1, 0, 1, 0, 0), "{reply}");
    let plugins = gw.ok("/plugins");
    let csv = plugins["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "csv")
        .cloned()
        .unwrap_or_else(|| panic!("csv not in {plugins}"));
    assert_eq!(csv["status"], "active", "{csv}");
    assert_eq!(flight(&gw, &callsign)["track"]["source"], "csv");

    // An adapter that traps or spins refuses the body: nothing applied,
    // and the route keeps serving.
    let other = wait_for("another flight en route", Duration::from_secs(60), || {
        let body = gw.ok("/flights?phase=enroute&per_page=50");
        body["data"]
            .as_array()?
            .iter()
            .filter_map(|f| f["identity"]["aircraft_identification"].as_str())
            .find(|c| *c != callsign)
            .map(String::from)
    });
    for hook in ["!panic", "!loop"] {
        let body = format!("{other},1.5,2.5\n{hook}\n");
        let (status, reply) = post(&gw, "/ingest/csv", "text/csv", body);
        assert_eq!(status, 500, "{reply}");
        assert_eq!(reply["code"], "ADAPTER_FAULT");
        let message = reply["message"].as_str().unwrap();
        assert!(message.contains("nothing was applied"), "{message}");
    }
    assert_ne!(flight(&gw, &other)["track"]["source"], "csv");
    let (status, reply) = post(&gw, "/ingest/csv", "text/csv", format!("{other},1.5,2.5\n"));
    assert_eq!((status, report(&reply)), (200, (1, 0, 1, 0, 0)), "{reply}");
}

#[test]
fn an_adapter_dropped_while_the_gateway_starts_is_served() {
    // The address is printed before the plugins are compiled (seconds on a
    // fresh data dir): an operator's deploy script copies the file then.
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(&tmp);
    stage_partner_adapter(&tmp.path().join("plugins"));
    let (_, line) = csv_line_for_a_flight_en_route(&gw);
    let started = Instant::now();
    let reply = loop {
        let (status, reply) = post(&gw, "/ingest/csv", "text/csv", line.clone());
        if status == 200 {
            break reply;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the adapter dropped during the start was never loaded: {status} {reply}; plugins: {}",
            gw.ok("/plugins")
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(report(&reply), (1, 0, 1, 0, 0), "{reply}");
}

#[test]
fn an_adapter_may_serve_a_nested_route_as_perti_names_them() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let guest = Path::new(env!("SWIM_TEST_GUESTS_DIR")).join("csv_positions.wasm");
    std::fs::write(
        plugins.join("vnastrack.toml"),
        "name = \"vnastrack\"\nkind = \"ingest-adapter\"\nroute = \"vnas/track\"\nowns = [\"position\", \"track\"]\n",
    )
    .unwrap();
    std::fs::copy(guest, plugins.join("vnastrack.wasm")).unwrap();
    let gw = start(&tmp);
    let (_, line) = csv_line_for_a_flight_en_route(&gw);
    let (status, reply) = post(&gw, "/ingest/vnas/track", "text/csv", line.clone());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(report(&reply), (1, 0, 1, 0, 0), "{reply}");
    let (status, reply) = post(&gw, "/ingest/vnas", "text/csv", line);
    assert_eq!(status, 404, "only the whole route: {reply}");
    assert!(
        reply["message"].as_str().unwrap().contains("vnas/track"),
        "{reply}"
    );
}

/// `/flights` and `/positions` answers are kept for the cycle they were
/// rendered from (`api::cache`): a client polling the same query must see
/// each change as soon as the ingest that made it is answered, never the
/// kept answer of the cycle before.
#[test]
fn a_polled_query_shows_each_ingest_as_soon_as_it_is_answered() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(&tmp);
    let callsign = an_enroute_callsign(&gw);
    let flights = format!("/flights?callsign={callsign}&per_page=5");
    let positions = format!("/positions?callsign={callsign}");
    for (round, squawk) in ["1111", "2222", "3333"].into_iter().enumerate() {
        // Asked twice before the change: the second answer is the kept one.
        for _ in 0..2 {
            gw.ok(&flights);
            gw.ok(&positions);
        }
        let body = json!({"tracks": [{"callsign": callsign, "latitude": 10.5 + round as f64,
            "longitude": -45.25, "squawk": squawk, "track_source": "radar"}]});
        let (status, reply) = post_json(&gw, "/ingest/track", &body);
        assert_eq!(status, 200, "{reply}");
        let listed = gw.ok(&flights);
        assert_eq!(
            listed["data"][0]["track"]["squawk"], squawk,
            "round {round}: /flights answered from an older cycle: {listed}"
        );
        // The time of the data /flights answered from (shown fresh by
        // the squawk): /positions answers from that cycle or a later one.
        let fresh = listed["timestamp"].as_str().unwrap().to_string();
        let collection = gw.ok(&positions);
        let as_of = collection["metadata"]["timestamp"].as_str().unwrap();
        assert!(
            as_of >= fresh.as_str(),
            "round {round}: /positions answered from data of {as_of}, /flights from {fresh}"
        );
        assert_eq!(collection["metadata"]["count"], 1, "{collection}");
    }
}
