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
        .map(|f| {
            f["identity"]["aircraft_identification"]
                .as_str()
                .unwrap()
                .to_string()
        })
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
        assert!(
            flights
                .iter()
                .all(|f| f["progress"]["flight_status"] == phase)
        );
        by_phase += flights.len();
    }
    assert_eq!(by_phase, truth.len());

    // ARTCC filters agree with the records.
    let zny: Vec<&Value> = active
        .iter()
        .filter(|f| f["flight_plan"]["departure_airspace"] == "ZNY")
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
    for format in [
        "json", "fixm", "legacy", "geojson", "ndjson", "csv", "xml", "kml",
    ] {
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
        let flight = serde_json::from_str::<Value>(line).unwrap();
        assert!(flight["identity"]["aircraft_identification"].is_string());
    }
    // XML: PERTI's response as XML, each flight a <flight> with FIXM names.
    let (status, xml) = gw.get_text("/flights?format=xml&per_page=1000");
    assert_eq!(status, 200);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<swim_flights>"));
    assert_eq!(xml.matches("<flight>").count(), n);
    assert_eq!(xml.matches("<aircraft_identification>").count(), n);
    // KML: one placemark per flight with a position, named by callsign.
    let (status, kml) = gw.get_text("/flights?format=kml&per_page=1000");
    assert_eq!(status, 200);
    assert!(kml.contains("<kml xmlns=\"http://www.opengis.net/kml/2.2\">"));
    assert_eq!(kml.matches("<Placemark>").count(), n);
    for truth in connected.iter().take(5) {
        let callsign = truth["callsign"].as_str().unwrap();
        assert!(
            kml.contains(&format!("<name>{callsign}</name>")),
            "{callsign}"
        );
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
        // PERTI's positions carry the class and the great-circle distance.
        let p = &f["properties"];
        assert!(matches!(p["weight_class"].as_str(), Some("H" | "L")), "{p}");
        assert!(p["gcd_nm"].as_f64().unwrap() > 0.0, "{p}");
        assert!(p["ete_minutes"].as_i64().unwrap() > 0, "{p}");
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
        ("/flights?format=pdf", "format"),
        ("/positions?format=xml", "format"),
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
    let answer = gw.request(perti).send().unwrap();
    assert_eq!(answer.status(), 200);
    // Accepted, and named as not applied.
    assert_eq!(
        answer.headers()["x-swim-unserved-filters"],
        "dep_tracon,current_sector,strata"
    );
    let plain = gw.request("/flights?per_page=1").send().unwrap();
    assert!(plain.headers().get("x-swim-unserved-filters").is_none());

    // PERTI's default is FIXM, and so is `json`; `legacy` is the earlier
    // snake_case record (docs/PERTI.md).
    let one = gw.ok("/flights?per_page=1")["data"][0].clone();
    let uid = &one["flight_uid"];
    let as_json = gw.ok("/flights?per_page=1&format=json")["data"][0].clone();
    let legacy = gw.ok("/flights?per_page=1&format=legacy")["data"][0].clone();
    let callsign = one["identity"]["aircraft_identification"].as_str().unwrap();
    assert_eq!(as_json["identity"]["aircraft_identification"], callsign);
    assert_eq!(legacy["identity"]["callsign"], callsign);
    assert_eq!(legacy["gufi"], one["gufi"]["value"]);
    assert!(one["identity"].get("callsign").is_none(), "{one}");
    // The GUFI as a FIXM metadata object, as PERTI writes it.
    assert_eq!(one["gufi"]["codeSpace"], "urn:uuid");
    assert_eq!(one["gufi"]["value"], one["gufi"]["value"].as_str().unwrap());
    // Derived fields: the aircraft's class, the operator, distances.
    let sim_type = one["identity"]["aircraft_type_icao"].as_str().unwrap();
    let expected_class = if ["B77W", "B789", "A359"].contains(&sim_type) {
        "H"
    } else {
        "L"
    };
    assert_eq!(
        one["identity"]["weight_class"], expected_class,
        "{sim_type}"
    );
    assert!(one["identity"]["wake_turbulence"].is_string(), "{one}");
    assert_eq!(one["identity"]["operator_icao"], &callsign[..3]);
    let gcd = one["progress"]["great_circle_distance"].as_f64().unwrap();
    assert!(gcd > 0.0, "{one}");
    assert!(
        one["times"]["estimated_elapsed_time"].as_i64().unwrap() > 0,
        "{one}"
    );
    // The filed deptime on its day: the estimated off-block time.
    let eobt = one["times"]["estimated_off_block_time"].as_str().unwrap();
    let hhmm = one["flight_key"]
        .as_str()
        .unwrap()
        .rsplit('|')
        .next()
        .unwrap();
    assert_eq!(
        &eobt[11..16],
        format!("{}:{}", &hhmm[..2], &hhmm[2..]),
        "{one}"
    );
    assert_eq!(one["data_source"], "vatswim");
    // When the gateway first saw it (also the GUFI's creation time), when
    // the pilot logged on (the feed's logon_time), when it was last placed.
    assert!(one["first_tracked_time"].is_string(), "{one}");
    assert_eq!(one["gufi"]["creationTime"], one["first_tracked_time"]);
    assert!(one["logon_time"].is_string(), "{one}");
    assert_eq!(
        one["position_time"].is_string(),
        one["position"]["latitude"].is_number()
    );
    assert_eq!(legacy["_logon_time"], one["logon_time"]);
    // The single flight nests its times and TMI, as PERTI's flight.php does;
    // `format` changes nothing there but `legacy`.
    for format in ["", "&format=fixm", "&format=json"] {
        let detail = gw.ok(&format!("/flight?flight_uid={uid}{format}"))["data"].clone();
        assert_eq!(detail["identity"]["aircraft_identification"], callsign);
        assert!(detail["times"]["actual"].is_object(), "{detail}");
        assert!(
            detail["tmi"]["ground_stop"]["held"].is_boolean(),
            "{detail}"
        );
        assert_eq!(detail["schema_version"], "swim_v1_fixm");
        assert_eq!(detail["progress"]["great_circle_distance"], gcd);
    }
    // PERTI's path form, /flight/{gufi}, with either GUFI.
    let by_path = gw.ok(&format!("/flight/{}", one["gufi_legacy"].as_str().unwrap()));
    assert_eq!(by_path["data"]["flight_uid"], *uid);
    assert_eq!(gw.get("/flight/VAT-19990101-NOPE-KJFK-KLAX").0, 404);
    let detail = gw.ok(&format!("/flight?flight_uid={uid}&format=legacy"))["data"].clone();
    assert_eq!(detail["identity"]["callsign"], callsign);
    let gufi = one["gufi"]["value"].as_str().unwrap();
    for query in [
        format!("gufi={gufi}"),
        // PERTI's legacy GUFI is accepted where the GUFI is, as PERTI does.
        format!("gufi={}", one["gufi_legacy"].as_str().unwrap()),
        format!("flight_uid={uid}"),
        format!("callsign={callsign}"),
    ] {
        let found = gw.ok(&format!("/flight?{query}"));
        assert_eq!(found["data"]["gufi"]["value"], gufi, "{query}");
    }
    assert_eq!(gw.get("/flight").0, 400);

    // The ATC positions online (the simulator staffs its busiest airports),
    // in PERTI's controllers.php shape, filtered and summarised as there.
    let online = gw.ok("/controllers?per_page=500");
    let positions = online["data"].as_array().unwrap();
    assert!(positions.len() >= 2, "{online}");
    assert_eq!(online["pagination"]["total"], positions.len());
    let tower = positions
        .iter()
        .find(|c| c["facility"]["type"] == "TWR")
        .unwrap();
    let tower_id = tower["facility"]["id"].as_str().unwrap();
    assert_eq!(tower["callsign"], format!("{tower_id}_TWR"));
    assert!(tower["frequency"].as_f64().unwrap() > 118.0, "{tower}");
    assert!(tower["logon_time"].is_string());
    let towers = gw.ok("/controllers?facility_type=TWR&per_page=500")["data"].clone();
    assert_eq!(
        towers.as_array().unwrap().len() * 2,
        positions.len(),
        "a tower and an approach each"
    );
    let one_airport = gw.ok(&format!("/controllers?callsign={tower_id}_*"))["data"].clone();
    assert_eq!(one_airport.as_array().unwrap().len(), 2, "{one_airport}");
    let staffing = gw.ok("/controllers?summary=true");
    assert_eq!(staffing["count"], positions.len());
    assert_eq!(staffing["data"][0]["controller_count"], 1);
    assert_eq!(gw.get("/controllers?per_page=501").0, 400);
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
