//! Benchmark inputs: real flight records turned into the columns a plugin
//! receives, and the same columns moved into the guest crate's types so the
//! native run gets identical input.

use swim::flight::{FlightRecord, Phase, Position, Reporter};
use swim::plugin::columns::{self, ReadSet, Subject};

pub use swim::plugin::columns::guest_changes;
use swim::wit;
use vatswim_plugin_api as guest;

/// The squawk a flight shows before and after: one flight in a hundred
/// starts squawking 7700.
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

fn flight(uid: u64, squawk: Option<u16>, lat: f64) -> FlightRecord {
    FlightRecord {
        flight_uid: uid,
        position: Some(Position {
            lat,
            lon: -73.0 + (uid % 50) as f64 * 0.1,
            altitude_ft: 35_000,
            heading_deg: 270,
            groundspeed_kts: 450,
            vertical_rate_fpm: 0,
            squawk,
            updated_at: 1_700_000_000_000,
            reported_by: Reporter::Feed,
        }),
        ..FlightRecord::default()
    }
}

/// `n` changes of moving flights, as columns for a plugin reading `reads`.
pub fn squawk_changes(n: u64, reads: ReadSet) -> wit::Changes {
    moving_flights(n, reads, squawks)
}

/// `n` moving flights none of which squawks an emergency: a cycle as it
/// nearly always is (what the detector costs when it has nothing to say).
pub fn quiet_changes(n: u64, reads: ReadSet) -> wit::Changes {
    moving_flights(n, reads, |_| (Some(2000), Some(2000)))
}

fn moving_flights(
    n: u64,
    reads: ReadSet,
    squawks: impl Fn(u64) -> (Option<u16>, Option<u16>),
) -> wit::Changes {
    let pairs: Vec<(FlightRecord, FlightRecord)> = (0..n)
        .map(|i| {
            let (before, after) = squawks(i);
            (flight(i, before, 40.0), flight(i, after, 40.01))
        })
        .collect();
    columns::changes(
        reads,
        pairs.iter().map(|(b, a)| (b.flight_uid, Some(b), Some(a))),
    )
}

/// The ICAO code of synthetic airport `i` (A000, A001, ...).
fn airport_code(i: u64) -> String {
    format!("A{:03}", i % 1000)
}

/// Where synthetic airport `i` is: spread over the northern hemisphere.
fn airport_at(i: u64) -> (f64, f64) {
    (10.0 + (i % 60) as f64, -120.0 + (i / 60 % 200) as f64 * 1.2)
}

/// A context with `n` synthetic airports, in the host's and the guest's types.
pub fn airport_contexts(n: u64) -> (wit::Context, guest::Context) {
    let host: Vec<wit::Airport> = (0..n)
        .map(|i| {
            let (lat, lon) = airport_at(i);
            wit::Airport {
                icao: airport_code(i),
                lat,
                lon,
                elevation_ft: (i % 50) as i32 * 20,
                artcc: "ZZZ".into(),
            }
        })
        .collect();
    let guest_airports = host
        .iter()
        .map(|a| guest::Airport {
            icao: a.icao.clone(),
            lat: a.lat,
            lon: a.lon,
            elevation_ft: a.elevation_ft,
            artcc: a.artcc.clone(),
        })
        .collect();
    let ctx = wit::Context {
        airports: host,
        ..wit::Context::empty(1_700_000_000_000)
    };
    let guest_ctx = guest::Context {
        now: 1_700_000_000_000,
        airports: guest_airports,
        programs: vec![],
        program_changes: vec![],
    };
    (ctx, guest_ctx)
}

/// A route and remarks of the lengths the real feed's plans have (the
/// median plan carries ~250 bytes of them), so that what a detector that
/// reads the whole flight plan copies is what it would copy live.
const ROUTE: &str = "KORRY4 KORRY J80 DJB J146 SAAME GIJ J146 OBH J10 LBF J94 CYS J28 \
    BTY J86 OAL MOD3 OAKLAND";
const REMARKS: &str = "PBN/A1B1C1D1L1O1S1S2 DOF/261201 REG/N12345 EET/KZOB0034 \
    KZMP0201 OPR/AAL PER/C RMK/TCAS /V/";

/// A flight at synthetic airport `at` with the altitude, groundspeed and
/// OOOI times given, its plan from `dept` to `dest`.
fn ground_flight(
    i: u64,
    (dept, dest, at): (u64, u64, u64),
    altitude_ft: i32,
    groundspeed_kts: i32,
    times: swim::flight::Times,
) -> FlightRecord {
    let (lat, lon) = airport_at(at);
    FlightRecord {
        flight_uid: i,
        flight_plan: Some(std::sync::Arc::new(swim::flight::FlightPlan {
            dept_icao: airport_code(dept),
            dest_icao: airport_code(dest),
            route: ROUTE.into(),
            remarks: REMARKS.into(),
            ..Default::default()
        })),
        position: Some(Position {
            lat,
            lon,
            altitude_ft,
            groundspeed_kts,
            ..Position::default()
        }),
        times: Some(times),
        ..FlightRecord::default()
    }
}

/// `n` flights on final at their destinations (of 300): one in a hundred
/// touches down this cycle, the others are still above the field.
pub fn arrival_changes(n: u64, reads: ReadSet) -> wit::Changes {
    let times = swim::flight::Times {
        out_utc: Some(1),
        off_utc: Some(2),
        ..Default::default()
    };
    let pairs: Vec<(FlightRecord, FlightRecord)> = (0..n)
        .map(|i| {
            let elevation = (i % 300 % 50) as i32 * 20;
            let airports = ((i + 7) % 300, i % 300, i % 300);
            let after_alt = if i.is_multiple_of(100) {
                elevation
            } else {
                elevation + 900
            };
            (
                ground_flight(i, airports, elevation + 1_500, 150, times),
                ground_flight(i, airports, after_alt, 130, times),
            )
        })
        .collect();
    columns::changes(
        reads,
        pairs.iter().map(|(b, a)| (b.flight_uid, Some(b), Some(a))),
    )
}

/// `n` flights held for a GDP: one in a hundred gets a new EDCT this cycle.
pub fn edct_changes(n: u64, reads: ReadSet) -> wit::Changes {
    let flight = |i: u64, edct_utc: i64| {
        let mut f = ground_flight(
            i,
            (i % 300, (i + 7) % 300, i % 300),
            0,
            0,
            Default::default(),
        );
        f.identity = Some(std::sync::Arc::new(swim::flight::Identity {
            callsign: callsign(i),
            cid: 1_000_000 + i as u32,
            ..Default::default()
        }));
        f.tmi = Some(swim::flight::Tmi {
            ctl_type: Some(swim::flight::ControlType::Gdp),
            program_id: Some(7),
            edct_utc: Some(edct_utc),
            delay_minutes: Some(12),
            ..Default::default()
        });
        f
    };
    let pairs: Vec<(FlightRecord, FlightRecord)> = (0..n)
        .map(|i| {
            let moved = if i.is_multiple_of(100) { 60_000 } else { 0 };
            (
                flight(i, 1_700_000_000_000),
                flight(i, 1_700_000_000_000 + moved),
            )
        })
        .collect();
    columns::changes(
        reads,
        pairs.iter().map(|(b, a)| (b.flight_uid, Some(b), Some(a))),
    )
}

/// `n` flights at their departure airports (of 300): one in a hundred lifts
/// off this cycle, the others taxi.
pub fn departure_changes(n: u64, reads: ReadSet) -> wit::Changes {
    let flight = |i: u64, altitude_ft: i32, groundspeed_kts: i32| {
        let times = swim::flight::Times {
            out_utc: Some(1),
            ..Default::default()
        };
        let airports = (i % 300, (i + 7) % 300, i % 300);
        ground_flight(i, airports, altitude_ft, groundspeed_kts, times)
    };
    let pairs: Vec<(FlightRecord, FlightRecord)> = (0..n)
        .map(|i| {
            let elevation = (i % 300 % 50) as i32 * 20;
            let after_alt = if i.is_multiple_of(100) {
                elevation + 900
            } else {
                elevation
            };
            (flight(i, elevation, 120), flight(i, after_alt, 150))
        })
        .collect();
    columns::changes(
        reads,
        pairs.iter().map(|(b, a)| (b.flight_uid, Some(b), Some(a))),
    )
}

/// `n` subjects for filter benchmarks.
pub fn subjects(n: u64) -> wit::Subjects {
    let callsigns: Vec<String> = (0..n).map(callsign).collect();
    columns::subjects(callsigns.iter().enumerate().map(|(i, c)| Subject {
        flight_uid: i as u64,
        callsign: c,
        dept_icao: "KJFK",
        dest_icao: "KLAX",
        lat: 40.0,
        lon: -73.0,
        altitude_ft: 35_000,
        phase: Phase::Enroute,
    }))
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

/// Moves every named field from one generated type to its twin.
macro_rules! moved {
    ($src:expr => $($ty:ident)::+ { $($field:ident $(: $conv:ident)?),* $(,)? }) => {{
        let s = $src;
        $($ty)::+ { $($field: moved!(@conv s.$field $(, $conv)?)),* }
    }};
    (@conv $value:expr) => { $value };
    (@conv $value:expr, $conv:ident) => { $conv($value) };
}

fn sc(c: wit::StringColumn) -> guest::StringColumn {
    moved!(c => guest::StringColumn { text, ends })
}

/// The same subjects in the guest crate's types.
pub fn guest_subjects(s: wit::Subjects) -> guest::Subjects {
    moved!(s => guest::Subjects {
        flight_uid, callsign: sc, dept_icao: sc, dest_icao: sc, lat, lon, altitude_ft, phase,
    })
}
