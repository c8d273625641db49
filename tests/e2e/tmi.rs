//! Ground stops and ground delay programs against the real server, with
//! the simulator sending a quarter of its flights to a hub (`--hub KJFK`).
//! Every check reads one committed view (`/flights`), so holds and slots
//! are compared with the flights as that same cycle left them.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::gateway::{Gateway, wait_for};
use crate::ingest::post;
use crate::ws_client::Ws;
use vatswim_plugin_api::time::{format_utc, parse_rfc3339};

const HUB: &str = "KJFK";

fn start(tmp: &tempfile::TempDir, seed: &str) -> Gateway {
    Gateway::start(
        &[
            "demo",
            "--flights",
            "300",
            "--hub",
            HUB,
            "--speed",
            "5",
            "--seed",
            seed,
        ],
        tmp.path(),
    )
}

fn iso_in(hours: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    format_utc(now + hours * 3_600_000)
}

fn send(gw: &Gateway, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = gw
        .http()
        .request(method, format!("{}{path}", gw.base))
        .bearer_auth(gw.key.as_deref().unwrap());
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_str(&response.text().unwrap()).unwrap(),
    )
}

/// The flights bound for the hub, as one committed view shows them: in the
/// legacy shape, the one with the ETA each slot was given from (`slot_eta`).
fn bound_for_hub(gw: &Gateway) -> Vec<Value> {
    let body = gw.ok(&format!(
        "/flights?dest_icao={HUB}&per_page=1000&format=legacy"
    ));
    assert_eq!(body["pagination"]["has_more"], false);
    body["data"].as_array().unwrap().clone()
}

fn on_ground(f: &Value) -> bool {
    matches!(f["progress"]["phase"].as_str(), Some("prefile" | "taxiing"))
}

fn uid(f: &Value) -> u64 {
    f["flight_uid"].as_u64().unwrap()
}

/// Epoch milliseconds of an ISO 8601 time the API wrote.
fn ms(iso: &Value) -> i64 {
    iso.as_str()
        .and_then(parse_rfc3339)
        .unwrap_or_else(|| panic!("not a time: {iso}"))
}

#[test]
fn a_ground_stop_holds_exactly_its_scope_and_releasing_it_lets_every_flight_go() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(&tmp, "9");
    let ground = wait_for(
        "flights on the ground bound for the hub",
        Duration::from_secs(120),
        || {
            let ground: Vec<Value> = bound_for_hub(&gw).into_iter().filter(on_ground).collect();
            (ground.len() >= 4).then_some(ground)
        },
    );
    // Scope: every departure ARTCC seen but the first grounded flight's, so
    // the stop must tell in-scope flights from the rest.
    let excluded = ground[0]["flight_plan"]["departure_artcc"]
        .as_str()
        .unwrap()
        .to_string();
    let artccs: BTreeSet<String> = gw
        .all_flights("per_page=250")
        .iter()
        .filter_map(|f| {
            f["flight_plan"]["departure_airspace"]
                .as_str()
                .map(String::from)
        })
        .filter(|a| *a != excluded)
        .collect();
    let in_scope = |f: &Value| {
        f["flight_plan"]["departure_artcc"]
            .as_str()
            .is_some_and(|a| artccs.contains(a))
    };
    // Two WebSocket subscribers: one watching the hub, one another airport.
    let channels = ["tmi.issued", "tmi.modified", "tmi.released"];
    let key = gw.key.clone().unwrap();
    let (mut watching, _) = Ws::open(&gw, &key);
    watching.subscribe(&channels, json!({"airports": [HUB]}));
    let (mut elsewhere, _) = Ws::open(&gw, &key);
    elsewhere.subscribe(&channels, json!({"airports": ["KSEA"]}));
    let (status, issued) = send(
        &gw,
        reqwest::Method::POST,
        "/tmi/programs",
        Some(
            json!({"program_type": "GS", "airport": HUB, "end_time": iso_in(3),
                    "reason": "THUNDERSTORMS", "scope": {"artccs": artccs}}),
        ),
    );
    assert_eq!(status, 201, "{issued}");
    // PERTI's shape: `id` the number, `program_id` the name.
    let id = issued["data"]["id"].as_u64().unwrap();
    let name = issued["data"]["program_id"].as_str().unwrap().to_string();
    let parts: Vec<&str> = name.split('_').collect();
    assert_eq!(parts[..2], ["GS", HUB], "{name}");
    assert!(
        parts[2].len() == 8 && parts[2].bytes().all(|b| b.is_ascii_digit()),
        "{name}"
    );
    assert_eq!(issued["data"]["status"], "ACTIVE");

    let check = |flights: &[Value]| -> BTreeSet<u64> {
        let held: BTreeSet<u64> = flights
            .iter()
            .filter(|f| f["tmi"]["ground_stop_held"] == true)
            .map(uid)
            .collect();
        let eligible: BTreeSet<u64> = flights
            .iter()
            .filter(|f| on_ground(f) && in_scope(f))
            .map(uid)
            .collect();
        assert_eq!(
            held, eligible,
            "held flights are exactly those in scope on the ground"
        );
        for f in flights.iter().filter(|f| held.contains(&uid(f))) {
            assert_eq!(f["tmi"]["control_type"], "GS");
            assert_eq!(f["tmi"]["program_id"], id);
        }
        held
    };
    let first = check(&bound_for_hub(&gw));
    assert!(!first.is_empty(), "the stop holds someone");
    assert!(!first.contains(&uid(&ground[0])), "out of scope, not held");

    // PERTI's parameters, filtered as its server filters them (KJFK is ZNY).
    let stops = |q: &str| {
        gw.ok(&format!("/tmi/programs?{q}"))["data"]["ground_stops"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(stops("artcc=ZNY"), 1);
    assert_eq!(stops("artcc=ZLA,ZOA"), 0);
    assert_eq!(stops("program_type=GS&flights=1&include_flights=true"), 1);
    let controlled = |q: &str| {
        gw.ok(&format!("/tmi/controlled?{q}"))["pagination"]["total"]
            .as_u64()
            .unwrap()
    };
    assert!(controlled("program_type=GS&artcc=ZNY&include_exempt=true") > 0);
    assert!(
        controlled("phase=prefile,taxiing,PROPOSED") > 0,
        "held flights are on the ground"
    );
    for none in [
        "control_type=gdp",
        "type=afp",
        "type=reroute",
        "artcc=ZLA",
        "phase=enroute",
    ] {
        assert_eq!(controlled(none), 0, "{none}");
    }
    let (status, body) = gw.get("/tmi/controlled?type=balloon");
    assert_eq!(status, 400, "{body}");
    let listed = gw.ok("/tmi/controlled?per_page=5");
    let listed = listed["data"].as_array().unwrap();
    assert!(!listed.is_empty(), "the stop holds flights");
    for f in listed {
        assert_eq!(
            f["tmi"]["program"],
            name.as_str(),
            "the program's name, as PERTI"
        );
        assert_eq!(f["tmi"]["slot"]["program_id"], id);
    }

    // PERTI's documented per-type routes, over the same program.
    let gs_list = gw.ok(&format!("/tmi/gs?airport={HUB}"));
    assert_eq!(gs_list["status"], "ok");
    let listed_gs = &gs_list["data"]["programs"][0];
    assert_eq!(listed_gs["program_id"], id);
    assert_eq!(listed_gs["program_type"], "GS");
    assert_eq!(listed_gs["ctl_element"], HUB);
    assert_eq!(listed_gs["status"], "ACTIVE");
    let gs_name = listed_gs["program_name"].as_str().unwrap().to_string();
    assert!(gs_name.starts_with(&format!("{HUB}-GS-")), "{gs_name}");
    for path_id in [id.to_string(), name.clone(), gs_name.clone()] {
        let one = gw.ok(&format!("/tmi/gs/{path_id}"));
        assert_eq!(one["data"]["program_id"], id, "{path_id}");
    }
    assert_eq!(
        gw.get(&format!("/tmi/gdp/{id}")).0,
        404,
        "a GS is not a GDP"
    );
    assert_eq!(gw.get("/tmi/gs/999999").0, 404);
    assert_eq!(gw.get("/tmi/gs?limit=0").0, 400);
    let gs_flights = gw.ok(&format!("/tmi/gs/{id}/flights"))["data"].clone();
    let held_now = gs_flights["flights"].as_array().unwrap();
    assert!(!held_now.is_empty(), "{gs_flights}");
    assert_eq!(gs_flights["summary"]["total"], held_now.len());
    for f in held_now {
        assert_eq!(f["tmi"]["ground_stop"]["held"], true, "{f}");
        assert_eq!(f["tmi"]["program"], name.as_str());
    }

    // As flights appear, the ones in scope are held in the cycle they appear.
    let mut held_later = BTreeSet::new();
    let started = Instant::now();
    while held_later.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "no flight became eligible"
        );
        std::thread::sleep(Duration::from_millis(500));
        held_later = check(&bound_for_hub(&gw))
            .difference(&first)
            .copied()
            .collect();
    }

    let since = gw.ok("/health")["data"]["last_seq"].as_u64().unwrap();
    // Released by its name (PERTI's `program_id`); its number works too.
    let (status, released) = send(
        &gw,
        reqwest::Method::DELETE,
        &format!("/tmi/programs/{name}"),
        None,
    );
    assert_eq!(status, 200, "{released}");
    assert_eq!(released["data"]["status"], "RELEASED");
    let after = bound_for_hub(&gw);
    assert!(
        after.iter().all(|f| f["tmi"]["is_controlled"] == false),
        "every hold cleared"
    );
    assert_eq!(gw.ok("/tmi/controlled")["pagination"]["total"], 0);
    let events = gw.events_since(since, "tmi.released");
    assert_eq!(events.len(), 1, "{events:?}");
    let data = &events[0]["data"];
    assert_eq!(
        (data["program_id"].as_u64(), data["status"].as_str()),
        (Some(id), Some("RELEASED"))
    );
    assert!(data["flights"].as_u64().unwrap() >= 1, "{data}");
    let programs = gw.ok("/tmi/programs?include_history=true");
    assert_eq!(programs["data"]["ground_stops"][0]["status"], "RELEASED");
    // PERTI's `id`: one program, ended or not.
    let by_id = gw.ok(&format!("/tmi/programs?id={id}"));
    assert_eq!(by_id["data"]["ground_stops"][0]["id"], id);
    assert_eq!(
        gw.ok("/tmi/programs?id=999999")["data"]["ground_stops"],
        json!([])
    );
    // Released early: PURGED in PERTI's per-type lists, and only in history.
    let active_gs = gw.ok("/tmi/gs")["data"]["total"].as_u64().unwrap();
    assert_eq!(active_gs, 0);
    let history = gw.ok("/tmi/gs?include_history=true");
    assert_eq!(history["data"]["programs"][0]["status"], "PURGED");
    assert_eq!(programs["data"]["summary"]["active_ground_stops"], 0);
    assert_eq!(
        send(
            &gw,
            reqwest::Method::DELETE,
            &format!("/tmi/programs/{id}"),
            None
        )
        .0,
        409
    );

    // The hub's subscriber got both, with the feed's seq; the other none.
    let issued_live = watching.next_of("tmi.issued");
    assert_eq!(issued_live["data"]["program_id"], id);
    let released_live = watching.next_of("tmi.released");
    assert_eq!(released_live["seq"], events[0]["seq"]);
    let other = elsewhere.drain(Duration::from_secs(2));
    assert!(
        other
            .iter()
            .all(|m| !m["type"].as_str().unwrap().starts_with("tmi.")),
        "{other:?}"
    );
}

/// The hub's GDP slots in one view: (uid, eta, slot, delay, edct).
fn slots(flights: &[Value], id: u64) -> Vec<(u64, i64, i64, i64, i64)> {
    let mut slots: Vec<_> = flights
        .iter()
        .filter(|f| f["tmi"]["program_id"] == id && f["tmi"]["control_type"] == "GDP")
        .map(|f| {
            let t = &f["tmi"];
            (
                uid(f),
                ms(&t["slot_eta"]),
                ms(&t["slot_time"]),
                t["delay_minutes"].as_i64().unwrap(),
                ms(&f["times"]["edct"]),
            )
        })
        .collect();
    slots.sort_by_key(|s| s.2);
    slots
}

/// Ration-by-schedule: spaced at least 60/rate minutes, in ETA order, and
/// every delay is exactly its slot minus its ETA.
fn assert_rbs(slots: &[(u64, i64, i64, i64, i64)], rate: i64) {
    let spacing = 3_600_000 / rate;
    for pair in slots.windows(2) {
        assert!(
            pair[1].2 - pair[0].2 >= spacing,
            "slots closer than {spacing} ms: {pair:?}"
        );
        assert!(pair[0].1 <= pair[1].1, "slots out of ETA order: {pair:?}");
    }
    for &(uid, eta, slot, delay, edct) in slots {
        assert_eq!(
            slot - eta,
            delay * 60_000,
            "flight {uid}: slot = ETA + delay"
        );
        assert!(edct < slot, "flight {uid}: departs before its slot");
    }
}

#[test]
fn a_gdp_gives_slots_by_ration_by_schedule_and_a_new_rate_gives_them_again() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(&tmp, "13");
    wait_for(
        "flights on the ground bound for the hub",
        Duration::from_secs(120),
        || {
            let n = bound_for_hub(&gw).iter().filter(|f| on_ground(f)).count();
            (n >= 6).then_some(())
        },
    );
    let before_issue = gw.ok("/health")["data"]["last_seq"].as_u64().unwrap();
    let (status, issued) = send(
        &gw,
        reqwest::Method::POST,
        "/tmi/programs",
        Some(
            json!({"program_type": "GDP", "airport": HUB, "end_time": iso_in(8),
                    "reason": "VOLUME", "rate": 4}),
        ),
    );
    assert_eq!(status, 201, "{issued}");
    let id = issued["data"]["id"].as_u64().unwrap();
    let before = slots(&bound_for_hub(&gw), id);
    assert!(before.len() >= 4, "{before:?}");
    assert_rbs(&before, 4);
    assert_edct_events(&gw, before_issue, &before, Some(id));
    let delayed: i64 = before.iter().map(|s| s.3).sum();
    assert!(
        delayed > 0,
        "four arrivals an hour delays someone: {before:?}"
    );

    let since = gw.ok("/health")["data"]["last_seq"].as_u64().unwrap();
    let (status, modified) = send(
        &gw,
        reqwest::Method::PATCH,
        &format!("/tmi/programs/{id}"),
        Some(json!({"rate": 30})),
    );
    assert_eq!(status, 200, "{modified}");
    assert_eq!(modified["data"]["rates"]["program_rate"], 30);
    let after = slots(&bound_for_hub(&gw), id);
    assert_rbs(&after, 30);
    let moved: Vec<_> = after
        .iter()
        .filter(|a| before.iter().any(|b| b.0 == a.0 && b.4 != a.4))
        .copied()
        .collect();
    assert!(
        !moved.is_empty(),
        "a new rate moves EDCTs: {before:?} then {after:?}"
    );
    assert_edct_events(&gw, since, &moved, Some(id));
    let kept: Vec<_> = after
        .iter()
        .filter(|a| before.iter().any(|b| b.0 == a.0))
        .collect();
    let delayed_after: i64 = kept.iter().map(|s| s.3).sum();
    assert!(
        delayed_after < delayed,
        "a higher rate means less delay: {before:?} then {after:?}"
    );
    let events = gw.events_since(since, "tmi.modified");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["data"]["rate"], 30);
    let counted = events[0]["data"]["flights"].as_u64().unwrap() as usize;
    assert!(counted >= kept.len(), "{events:?}");
    let controlled = gw.ok("/tmi/controlled?type=gdp");
    assert_eq!(
        controlled["statistics"]["gdp"].as_u64().unwrap() as usize,
        after.len()
    );

    // PERTI's documented per-type routes, over the same program.
    let listed = gw.ok("/tmi/gdp")["data"]["programs"][0].clone();
    assert_eq!(listed["id"], id);
    assert_eq!(listed["program_rate"], 30);
    let gdp_name = listed["program_id"].as_str().unwrap().to_string();
    assert!(gdp_name.starts_with(&format!("GDP-{HUB}-")), "{gdp_name}");
    let name = modified["data"]["program_id"].as_str().unwrap().to_string();
    for path_id in [id.to_string(), name, gdp_name.clone()] {
        assert_eq!(
            gw.ok(&format!("/tmi/gdp/{path_id}"))["data"]["id"],
            id,
            "{path_id}"
        );
    }
    assert_eq!(gw.get(&format!("/tmi/gs/{id}")).0, 404, "a GDP is not a GS");
    let given = gw.ok(&format!("/tmi/gdp/{id}/slots"))["data"].clone();
    let slot_list = given["slots"].as_array().unwrap();
    assert!(!slot_list.is_empty(), "{given}");
    assert_eq!(given["summary"]["assigned_slots"], slot_list.len());
    let times: Vec<i64> = slot_list.iter().map(|s| ms(&s["slot_time_utc"])).collect();
    assert!(
        times.windows(2).all(|w| w[1] - w[0] >= 2 * 60_000),
        "in order, at least 60/30 minutes apart: {times:?}"
    );
    assert!(slot_list.iter().all(|s| s["slot_status"] == "ASSIGNED"));
    let gdp_flights = gw.ok(&format!("/tmi/gdp/{gdp_name}/flights"))["data"].clone();
    let gdp_flights = gdp_flights["flights"].as_array().unwrap();
    assert!(!gdp_flights.is_empty(), "the GDP controls flights");
    for f in gdp_flights {
        let delay = (ms(&f["cta_utc"]) - ms(&f["gdp_original_eta_utc"])) / 60_000;
        assert_eq!(f["program_delay_min"].as_i64(), Some(delay), "{f}");
    }
    assert_eq!(gw.get(&format!("/tmi/gdp/{id}/slots?hour=24")).0, 400);

    // Nonsense is refused and changes nothing.
    let (status, refused) = send(
        &gw,
        reqwest::Method::PATCH,
        &format!("/tmi/programs/{id}"),
        Some(json!({"rate": 0})),
    );
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("rate 0 must be between 1 and 120")
    );
    let (status, _) = post(
        &gw,
        "/tmi/programs",
        "application/json",
        "{\"program_type\":",
    );
    assert_eq!(status, 400);
    assert_eq!(
        gw.ok("/tmi/programs")["data"]["gdp_programs"][0]["rates"]["program_rate"],
        30
    );

    // PERTI's documented create bodies (its openapi example, another airport).
    let example = json!({"gdp_airport": "KBOS", "gdp_start": iso_in(0), "gdp_end": iso_in(6),
        "program_rate": 40, "gdp_origin_centers": "ZNY ZDC", "impacting_condition": "WEATHER",
        "adv_number": "ADVZY 001"});
    let (status, made) = send(
        &gw,
        reqwest::Method::POST,
        "/tmi/gdp",
        Some(example.clone()),
    );
    assert_eq!(status, 200, "{made}");
    let made_id = made["data"]["program_id"].as_str().unwrap().to_string();
    assert!(made_id.starts_with("GDP-KBOS-"), "{made}");
    assert_eq!(made["data"]["program"]["scope_centers"], "ZNY ZDC");
    let boston = gw.ok("/tmi/gdp?airport=KBOS")["data"]["programs"][0].clone();
    assert_eq!(
        (&boston["program_id"], &boston["program_rate"]),
        (&json!(made_id), &json!(40))
    );
    let mut limited = example;
    limited["delay_limit"] = json!(180);
    let (status, refused) = send(&gw, reqwest::Method::POST, "/tmi/gdp", Some(limited));
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .starts_with("delay_limit is not served")
    );
    let stop = |tier: u8| {
        json!({"ctl_element": "KBOS", "start_utc": iso_in(0), "end_utc": iso_in(1),
               "scope_type": "TIER", "scope_tier": tier, "cause_text": "Low visibility"})
    };
    let (status, refused) = send(&gw, reqwest::Method::POST, "/tmi/gs", Some(stop(1)));
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("scope_tier 1 is not served")
    );
    let (status, stopped) = send(&gw, reqwest::Method::POST, "/tmi/gs", Some(stop(3)));
    assert_eq!(status, 200, "{stopped}");
    let stop_id = stopped["data"]["program_id"].as_u64().unwrap();
    assert_eq!(
        gw.ok(&format!("/tmi/gs/{stop_id}"))["data"]["status"],
        "ACTIVE"
    );

    // Released: every EDCT it gave is lifted, as `cdm.edct` with none.
    let held = slots(&bound_for_hub(&gw), id);
    let since = gw.ok("/health")["data"]["last_seq"].as_u64().unwrap();
    let (status, released) = send(
        &gw,
        reqwest::Method::DELETE,
        &format!("/tmi/programs/{id}"),
        None,
    );
    assert_eq!(status, 200, "{released}");
    assert_edct_events(&gw, since, &held, None);
}

/// Every flight of `slots` got a `cdm.edct` event after `since` carrying
/// its EDCT as the view shows it (`program` Some), or lifting it (None).
fn assert_edct_events(
    gw: &Gateway,
    since: u64,
    slots: &[(u64, i64, i64, i64, i64)],
    program: Option<u64>,
) {
    assert!(!slots.is_empty());
    let events = gw.events_since(since, "cdm.edct");
    for &(uid, _, _, delay, edct) in slots {
        let theirs: Vec<&Value> = events
            .iter()
            .map(|e| &e["data"])
            .filter(|d| d["flight_uid"] == uid)
            .collect();
        let carried = theirs.iter().any(|d| match program {
            Some(id) => {
                d["program_id"] == id
                    && d["ctl_type"] == "GDP"
                    && d["delay_minutes"] == delay
                    && d["edct_utc"].as_str().and_then(parse_rfc3339) == Some(edct)
            }
            None => d["edct_utc"].is_null() && !d["previous_edct_utc"].is_null(),
        });
        assert!(
            carried,
            "flight {uid} (EDCT {edct}, program {program:?}): its cdm.edct events {theirs:?}"
        );
    }
}

/// A flight's callsign, departure and uid as `/flights` (FIXM) shows them.
fn ident(f: &Value) -> (String, String, u64) {
    (
        f["identity"]["aircraft_identification"]
            .as_str()
            .unwrap()
            .to_string(),
        f["flight_plan"]["departure_aerodrome"]
            .as_str()
            .unwrap()
            .to_string(),
        f["flight_uid"].as_u64().unwrap(),
    )
}

fn adl_tmi(gw: &Gateway, callsign: &str, dep: &str, tmi: Value) -> Value {
    let body = json!({"flights": [{"callsign": callsign, "dept_icao": dep, "dest_icao": HUB,
        "is_active": true, "tmi": tmi}]});
    let (status, reply) = post(gw, "/ingest/adl", "application/json", body.to_string());
    assert_eq!(status, 200, "{reply}");
    reply
}

#[test]
fn adl_controls_the_flights_of_its_programs_and_the_gateway_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    // Real time, so the flights stay at the gate for the whole test.
    let gw = Gateway::start(
        &[
            "demo",
            "--flights",
            "300",
            "--hub",
            HUB,
            "--speed",
            "1",
            "--seed",
            "21",
        ],
        tmp.path(),
    );
    let parked: Vec<Value> = wait_for(
        "flights parked at their gates, bound for the hub",
        Duration::from_secs(120),
        || {
            let flights = gw.ok(&format!(
                "/flights?dest_icao={HUB}&phase=prefile,taxiing&per_page=1000"
            ));
            let list = flights["data"].as_array().unwrap().clone();
            (list.len() >= 2).then_some(list)
        },
    );
    let (a, a_dep, a_uid) = ident(&parked[0]);
    let (b, b_dep, b_uid) = ident(&parked[1]);

    // PERTI's own example: a GDP slot from ADL's program. `is_active` is
    // the feed's to say: a warning, not an error; the TMI applies.
    let slot = iso_in(2);
    let reply = adl_tmi(
        &gw,
        &a,
        &a_dep,
        json!({"ctl_type": "GDP", "slot_time_utc": slot, "delay_minutes": 45, "program_id": 9001}),
    );
    assert_eq!(reply["data"]["updated"], 1, "{reply}");
    assert_eq!(reply["data"]["errors"], 0, "{reply}");
    assert_eq!(
        reply["data"]["warning_details"][0]["field"], "is_active",
        "{reply}"
    );
    let by_adl = gw.ok(&format!("/flight?flight_uid={a_uid}"))["data"]["tmi"].clone();
    assert_eq!(by_adl["control_type"], "GDP", "{by_adl}");
    assert_eq!(by_adl["slot"]["program_id"], 9001);
    assert_eq!(by_adl["delay"]["value"], 45);
    assert_eq!(ms(&by_adl["slot"]["time"]), ms(&json!(slot)));
    assert_eq!(
        by_adl["program_name"],
        Value::Null,
        "ADL's program is not one of the gateway's"
    );
    let listed = gw.ok("/tmi/controlled")["data"].as_array().unwrap().clone();
    let entry = listed
        .iter()
        .find(|f| f["flight_uid"] == a_uid)
        .expect("listed as controlled");
    assert_eq!(entry["tmi"]["controlled_by"], "adl");

    // A gateway ground stop at the hub holds the rest, not ADL's flight.
    let (status, issued) = send(
        &gw,
        reqwest::Method::POST,
        "/tmi/programs",
        Some(json!({"program_type": "GS", "airport": HUB, "end_time": iso_in(3)})),
    );
    assert_eq!(status, 201, "{issued}");
    let gs = issued["data"]["id"].as_u64().unwrap();
    let tmi_of = |uid: u64| gw.ok(&format!("/flight?flight_uid={uid}"))["data"]["tmi"].clone();
    wait_for(
        "the stop holds the other flight",
        Duration::from_secs(30),
        || (tmi_of(b_uid)["ground_stop"]["held"] == true).then_some(()),
    );
    let still = tmi_of(a_uid);
    assert_eq!(
        (&still["control_type"], &still["slot"]["program_id"]),
        (&json!("GDP"), &json!(9001)),
        "ADL's control stands: {still}"
    );

    // ADL may not change a flight the gateway's program holds.
    let refused = adl_tmi(
        &gw,
        &b,
        &b_dep,
        json!({"ctl_type": "GDP", "delay_minutes": 10}),
    );
    assert_eq!(refused["data"]["errors"], 1, "{refused}");
    let why = refused["data"]["error_details"][0]["error"]
        .as_str()
        .unwrap();
    assert!(why.contains(&format!("gateway's program {gs}")), "{why}");
    assert_eq!(tmi_of(b_uid)["ground_stop"]["held"], true);

    // ADL lets its flight go; the stop takes it as it takes any other.
    let reply = adl_tmi(&gw, &a, &a_dep, json!({}));
    assert_eq!(reply["data"]["errors"], 0, "{reply}");
    wait_for(
        "the stop holds the flight ADL let go",
        Duration::from_secs(30),
        || {
            let t = tmi_of(a_uid);
            (t["ground_stop"]["held"] == true && t["slot"]["program_id"] == gs).then_some(())
        },
    );
}
