//! A synthetic VATSIM v3 feed of any size, for `swim bench cycle`: pilots
//! flying between 300 airports, each cycle a little further along, with
//! plans, routes and remarks of realistic length (~1.2 KB per pilot, like
//! the real feed).

use serde_json::{Value, json};

const AIRLINES: [&str; 8] = ["AAL", "DAL", "UAL", "SWA", "JBU", "BAW", "DLH", "AFR"];

fn airport(i: u64) -> String {
    format!("K{:03}", i % 300)
}

fn pilot(i: u64, cycle: u64, at: &str) -> Value {
    let progress = (cycle as f64 * 0.002 + (i % 97) as f64 * 0.01) % 1.0;
    let (lat, lon) = (
        25.0 + (i % 20) as f64 + progress * 10.0,
        -120.0 + (i % 50) as f64 + progress * 20.0,
    );
    let airborne = !i.is_multiple_of(10);
    json!({
        "cid": 1_000_000 + i,
        "name": format!("Pilot {i} KXXX"),
        "callsign": format!("{}{}", AIRLINES[(i % 8) as usize], 100 + i),
        "server": "USA-EAST",
        "pilot_rating": 0,
        "military_rating": 0,
        "latitude": lat,
        "longitude": lon,
        "altitude": if airborne { 35_000 - (cycle % 7) as i64 * 10 } else { 20 },
        "groundspeed": if airborne { 450 } else { (cycle % 3) as i64 * 6 },
        "transponder": if i % 1000 == 7 && cycle % 40 == 39 { "7700" } else { "2200" },
        "heading": (i * 37 % 360),
        "qnh_i_hg": 29.92,
        "qnh_mb": 1013,
        "flight_plan": {
            "flight_rules": "I",
            "aircraft": "B738/M-SDE2E3FGHIJ2J3J4J5M1RWXY/LB1D1",
            "aircraft_faa": "B738/L",
            "aircraft_short": "B738",
            "departure": airport(i),
            "arrival": airport(i + 7),
            "alternate": airport(i + 13),
            "cruise_tas": "450",
            "altitude": "FL350",
            "deptime": "1200",
            "enroute_time": "0300",
            "fuel_time": "0500",
            "remarks": "PBN/A1B1C1D1L1O1S1 DOF/260116 REG/N123AB EET/KZNY0013 KZBW0041 OPR/AAL PER/C RMK/TCAS SIMBRIEF /V/",
            "route": "DEEZZ5 DEEZZ DCT HEERO DCT KANNI Q29 WOZEE DCT BRNAN DCT HUBBS BRNAN3",
            "revision_id": 1,
            "assigned_transponder": "2200"
        },
        "logon_time": "2026-01-16T09:00:00Z",
        "last_updated": at
    })
}

/// The feed's bytes at `cycle` (15 s apart) with `n` pilots.
pub fn snapshot_bytes(n: u64, cycle: u64) -> Vec<u8> {
    let seconds = cycle * 15;
    let at = format!(
        "2026-01-16T{:02}:{:02}:{:02}Z",
        12 + seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    let pilots: Vec<Value> = (0..n).map(|i| pilot(i, cycle, &at)).collect();
    let feed = json!({
        "general": { "version": 3, "reload": 1, "update": "20260116120000", "update_timestamp": at, "connected_clients": n, "unique_users": n },
        "pilots": pilots,
        "controllers": [],
        "atis": [],
        "servers": [],
        "prefiles": [],
        "facilities": [],
        "ratings": [],
        "pilot_ratings": [],
        "military_ratings": []
    });
    serde_json::to_vec(&feed).expect("serialize a synthetic feed")
}
