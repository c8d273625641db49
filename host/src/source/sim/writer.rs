//! Writes the simulated world as a VATSIM v3 data feed, field for field as
//! the real one (strings where the real feed has strings), so the gateway
//! reads it with the same parser.

use serde::Serialize;

use super::{SimFlight, State};
use vatswim_plugin_api::time::format_utc;

#[derive(Serialize)]
struct Feed<'a> {
    general: General,
    pilots: Vec<Pilot<'a>>,
    controllers: Vec<Controller>,
    atis: [(); 0],
    servers: [(); 0],
    prefiles: [(); 0],
}

#[derive(Serialize)]
struct General {
    version: u32,
    reload: u32,
    update: String,
    update_timestamp: String,
    connected_clients: usize,
    unique_users: usize,
}

#[derive(Serialize)]
struct Pilot<'a> {
    cid: u32,
    name: &'a str,
    callsign: &'a str,
    server: &'a str,
    pilot_rating: u8,
    military_rating: u8,
    latitude: f64,
    longitude: f64,
    altitude: i32,
    groundspeed: i32,
    transponder: &'a str,
    heading: i32,
    qnh_i_hg: f64,
    qnh_mb: i32,
    flight_plan: Plan<'a>,
    logon_time: String,
    last_updated: &'a str,
}

/// A controller as the real feed writes one.
#[derive(Serialize)]
struct Controller {
    cid: u32,
    name: &'static str,
    callsign: String,
    frequency: String,
    facility: u8,
    rating: u8,
    server: &'static str,
    visual_range: u32,
    text_atis: Option<Vec<String>>,
    last_updated: String,
    logon_time: String,
}

/// How many of the busiest departure airports have a tower and an
/// approach controller online.
const STAFFED_AIRPORTS: usize = 10;

#[derive(Serialize)]
struct Plan<'a> {
    flight_rules: &'a str,
    aircraft: String,
    aircraft_faa: String,
    aircraft_short: &'a str,
    departure: &'a str,
    arrival: &'a str,
    alternate: &'a str,
    cruise_tas: String,
    altitude: String,
    deptime: String,
    enroute_time: String,
    fuel_time: &'a str,
    remarks: &'a str,
    route: &'a str,
    revision_id: u32,
    assigned_transponder: &'a str,
}

/// The feed at `now` with these flights.
pub fn snapshot<'a>(now: i64, flights: impl Iterator<Item = (&'a SimFlight, State)>) -> Vec<u8> {
    let stamp = format_utc(now);
    let flights: Vec<(&SimFlight, State)> = flights.collect();
    let controllers = controllers(&flights, now, &stamp);
    let pilots: Vec<Pilot<'_>> = flights.iter().map(|(f, s)| pilot(f, *s, &stamp)).collect();
    let feed = Feed {
        general: General {
            version: 3,
            reload: 1,
            update: stamp
                .chars()
                .filter(char::is_ascii_digit)
                .take(14)
                .collect(),
            update_timestamp: stamp.clone(),
            connected_clients: pilots.len(),
            unique_users: pilots.len(),
        },
        pilots,
        controllers,
        atis: [],
        servers: [],
        prefiles: [],
    };
    serde_json::to_vec(&feed).expect("the feed serializes")
}

/// A tower and an approach at the busiest departure airports, logged on
/// at the top of the hour (so a controller stays the same between
/// snapshots); the numbers follow from the airport's code.
fn controllers(flights: &[(&SimFlight, State)], now: i64, stamp: &str) -> Vec<Controller> {
    let mut departures: std::collections::BTreeMap<&str, usize> = Default::default();
    for (f, _) in flights {
        *departures.entry(f.dep.icao.as_str()).or_default() += 1;
    }
    let mut busiest: Vec<(&str, usize)> = departures.into_iter().collect();
    busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let logon = format_utc(now - now.rem_euclid(3_600_000));
    let code = |icao: &str| icao.bytes().fold(0u32, |h, b| h * 31 + u32::from(b));
    busiest
        .iter()
        .take(STAFFED_AIRPORTS)
        .flat_map(|(icao, _)| {
            let id = icao
                .strip_prefix('K')
                .filter(|_| icao.len() == 4)
                .unwrap_or(icao);
            [(4, "TWR", 118_000, 50), (5, "APP", 124_000, 150)].map(
                |(facility, suffix, base, range)| {
                    let n = code(icao);
                    Controller {
                        cid: 1_500_000 + (n % 400_000) + u32::from(facility),
                        name: "Simulated Controller",
                        callsign: format!("{id}_{suffix}"),
                        frequency: format!(
                            "{}.{:03}",
                            (base + n % 1_000 * 5) / 1_000,
                            (base + n % 1_000 * 5) % 1_000
                        ),
                        facility,
                        rating: 3,
                        server: "SIM",
                        visual_range: range,
                        text_atis: None,
                        last_updated: stamp.to_string(),
                        logon_time: logon.clone(),
                    }
                },
            )
        })
        .collect()
}

fn pilot<'a>(f: &'a SimFlight, s: State, stamp: &'a str) -> Pilot<'a> {
    let deptime = chrono::DateTime::from_timestamp_millis(f.schedule.out)
        .map_or_else(String::new, |t| t.format("%H%M").to_string());
    let enroute_min = (f.schedule.on - f.schedule.off) / 60_000;
    Pilot {
        cid: f.cid,
        name: "Simulated Pilot",
        callsign: &f.callsign,
        server: "SIM",
        pilot_rating: 1,
        military_rating: 0,
        latitude: (s.lat * 1e5).round() / 1e5,
        longitude: (s.lon * 1e5).round() / 1e5,
        altitude: s.altitude_ft,
        groundspeed: s.groundspeed_kts,
        transponder: "2000",
        heading: s.heading_deg,
        qnh_i_hg: 29.92,
        qnh_mb: 1013,
        flight_plan: Plan {
            flight_rules: "I",
            aircraft: format!("{}/L", f.aircraft),
            aircraft_faa: format!("{}/L", f.aircraft),
            aircraft_short: f.aircraft,
            departure: &f.dep.icao,
            arrival: &f.dest.icao,
            alternate: "",
            cruise_tas: format!("{}", f.cruise_kts.round() as i32 - 20),
            altitude: format!("{}", f.cruise_alt_ft),
            deptime,
            enroute_time: format!("{:02}{:02}", enroute_min / 60, enroute_min % 60),
            fuel_time: "0600",
            remarks: "/V/ SIMULATED",
            route: "DCT",
            revision_id: 1,
            assigned_transponder: "2000",
        },
        logon_time: format_utc(f.schedule.connect),
        last_updated: stamp,
    }
}
