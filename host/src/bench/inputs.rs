//! Benchmark inputs, built identically for the host's (wasmtime) types and
//! the guest's (wit-bindgen) types: the two sets of generated types have the
//! same names and fields, so one macro builds both.

/// A change of `uid` whose squawk goes from `before` to `after`, with a full
/// position (the section the squawk detector reads), in the types of `$t`.
macro_rules! squawk_change {
    ($($t:ident)::+, $uid:expr, $before:expr, $after:expr) => {{
        use $($t)::+ as t;
        let flight = |squawk: Option<u16>, lat: f64| t::Flight {
            flight_uid: $uid,
            identity: None,
            flight_plan: None,
            position: Some(t::Position {
                lat,
                lon: -73.0 + ($uid % 50) as f64 * 0.1,
                altitude_ft: 35_000,
                heading_deg: 270,
                groundspeed_kts: 450,
                vertical_rate_fpm: 0,
                squawk,
                updated_at: 1_700_000_000_000,
            }),
            progress: None,
            times: None,
            tmi: None,
            track: None,
            metering: None,
        };
        t::Change { flight_uid: $uid, before: Some(flight($before, 40.0)), after: Some(flight($after, 40.01)) }
    }};
}

/// A subject for filter benchmarks, in the types of `$t`.
macro_rules! subject {
    ($($t:ident)::+, $i:expr) => {{
        use $($t)::+ as t;
        let i: u64 = $i;
        t::Subject {
            flight_uid: i,
            callsign: $crate::bench::inputs::callsign(i),
            dept_icao: "KJFK".into(),
            dest_icao: "KLAX".into(),
            lat: 40.0,
            lon: -73.0,
            altitude_ft: 35_000,
            phase: t::Phase::Enroute,
        }
    }};
}

pub(crate) use {squawk_change, subject};

/// The squawk a flight shows at `i`: one flight in a hundred starts squawking 7700.
pub fn squawks(i: u64) -> (Option<u16>, Option<u16>) {
    if i.is_multiple_of(100) {
        (Some(2000), Some(7700))
    } else {
        (Some(2000), Some(2000))
    }
}

/// A callsign from a handful of airlines.
pub fn callsign(i: u64) -> String {
    const AIRLINES: [&str; 8] = ["AAL", "DAL", "UAL", "SWA", "JBU", "BAW", "DLH", "AFR"];
    format!("{}{}", AIRLINES[(i % 8) as usize], 100 + i % 9000)
}

/// A `{"tracks":[...]}` body of `n` tracks in PERTI's shape.
pub fn track_body(n: usize) -> Vec<u8> {
    let tracks: Vec<serde_json::Value> = (0..n as u64)
        .map(|i| {
            serde_json::json!({
                "callsign": callsign(i),
                "latitude": 40.0 + (i % 100) as f64 * 0.01,
                "longitude": -73.0 - (i % 100) as f64 * 0.01,
                "altitude_ft": 35_000,
                "ground_speed_kts": 450,
                "heading_deg": 270,
                "vertical_rate_fpm": -500,
                "squawk": "1200",
                "track_source": "radar",
                "timestamp": "2026-01-16T12:00:00Z"
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "tracks": tracks })).expect("serialize a track body")
}

/// The fleet filter params used by the benchmark.
pub const FLEET_PARAMS: &str = r#"{"callsigns":["AAL100","DAL*","UAL1234","SWA*","BAW9"]}"#;
