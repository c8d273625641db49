//! The payloads of the events a cycle makes, in PERTI's field names so its
//! clients read them unchanged. Each payload is serialized once, when the
//! event is made, from typed structs; the feed, REST and every subscriber
//! share those bytes.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::feed::event::{Payload, payload};
use crate::flight::{FlightRecord, Phase};
use crate::time::iso_millis;

/// `callsign`, `flight_uid`, `dep`, `arr`: what every flight event carries.
#[derive(Serialize)]
pub struct Basics<'a> {
    callsign: Option<&'a str>,
    flight_uid: u64,
    dep: Option<&'a str>,
    arr: Option<&'a str>,
}

impl<'a> Basics<'a> {
    /// The basics of a flight.
    pub fn of(r: &'a FlightRecord) -> Self {
        let fp = r.flight_plan.as_ref();
        Basics {
            callsign: r.identity.as_ref().map(|i| i.callsign.as_str()),
            flight_uid: r.flight_uid,
            dep: fp.map(|f| f.dept_icao.as_str()),
            arr: fp.map(|f| f.dest_icao.as_str()),
        }
    }
}

#[derive(Serialize)]
struct Created<'a> {
    #[serde(flatten)]
    basics: Basics<'a>,
    equipment: Option<&'a str>,
    route: Option<&'a str>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    altitude_ft: Option<i32>,
    groundspeed_kts: Option<i32>,
    heading_deg: Option<i32>,
}

/// `flight.created`.
pub fn created(r: &FlightRecord) -> Payload {
    let fp = r.flight_plan.as_ref();
    let p = r.position.as_ref();
    payload(&Created {
        basics: Basics::of(r),
        equipment: fp.map(|f| f.aircraft_type.as_str()),
        route: fp.map(|f| f.route.as_str()),
        latitude: p.map(|p| p.lat),
        longitude: p.map(|p| p.lon),
        altitude_ft: p.map(|p| p.altitude_ft),
        groundspeed_kts: p.map(|p| p.groundspeed_kts),
        heading_deg: p.map(|p| p.heading_deg),
    })
}

#[derive(Serialize)]
struct Deleted<'a> {
    callsign: Option<&'a str>,
    flight_uid: u64,
}

/// `flight.deleted`.
pub fn deleted(r: &FlightRecord) -> Payload {
    payload(&Deleted {
        callsign: r.identity.as_ref().map(|i| i.callsign.as_str()),
        flight_uid: r.flight_uid,
    })
}

/// One entry of a `flight.positions` batch.
#[derive(Serialize)]
pub struct PositionEntry<'a> {
    #[serde(flatten)]
    basics: Basics<'a>,
    latitude: f64,
    longitude: f64,
    altitude_ft: i32,
    groundspeed_kts: i32,
    heading_deg: i32,
    vertical_rate_fpm: i32,
    current_artcc: Option<&'a str>,
    phase: &'static str,
}

/// The batch entry of a flight (none if it has no position).
pub fn position(r: &FlightRecord) -> Option<PositionEntry<'_>> {
    let p = r.position.as_ref()?;
    Some(PositionEntry {
        basics: Basics::of(r),
        latitude: p.lat,
        longitude: p.lon,
        altitude_ft: p.altitude_ft,
        groundspeed_kts: p.groundspeed_kts,
        heading_deg: p.heading_deg,
        vertical_rate_fpm: p.vertical_rate_fpm,
        current_artcc: r
            .progress
            .as_ref()
            .and_then(|g| g.current_artcc.as_ref())
            .map(|c| c.as_str()),
        phase: r.progress.map_or(Phase::Prefile, |g| g.phase).as_str(),
    })
}

#[derive(Serialize)]
struct Positions<'a> {
    count: usize,
    positions: &'a [PositionEntry<'a>],
}

/// `flight.positions`: `{count, positions[]}`.
pub fn positions(entries: &[PositionEntry<'_>]) -> Payload {
    payload(&Positions {
        count: entries.len(),
        positions: entries,
    })
}

/// A detector's event about a flight: the flight's basics plus the
/// plugin's payload object (the basics win where both name a field).
pub fn detected(r: &FlightRecord, extra: &str) -> Result<Payload, String> {
    let mut m: Map<String, Value> = serde_json::from_str(extra)
        .map_err(|e| format!("event payload is not a JSON object: {e}"))?;
    if let Value::Object(basics) = serde_json::to_value(Basics::of(r)).unwrap_or(Value::Null) {
        m.extend(basics);
    }
    Ok(payload(&m))
}

/// A detector's event about no flight: its payload as given, if it is JSON.
pub fn standalone(extra: &str) -> Result<Payload, String> {
    let value: Value =
        serde_json::from_str(extra).map_err(|e| format!("payload is not JSON: {e}"))?;
    Ok(payload(&value))
}

#[derive(Serialize)]
struct ProgramEvent<'a> {
    program_id: u64,
    program_type: &'static str,
    airport: &'a str,
    #[serde(serialize_with = "iso_millis")]
    start_time: i64,
    #[serde(serialize_with = "iso_millis")]
    end_time: i64,
    reason: &'a str,
    status: &'static str,
    rate: Option<u32>,
    scope: &'a crate::tmi::Scope,
    /// Flights it controls after this cycle (released: flights it let go).
    flights: usize,
}

/// `tmi.issued`, `tmi.modified`, `tmi.released`: PERTI's fields, plus the
/// number of flights the change touched.
pub fn program(p: &crate::tmi::Program, flights: usize) -> Payload {
    payload(&ProgramEvent {
        program_id: p.id,
        program_type: p.type_name(),
        airport: &p.airport,
        start_time: p.start_utc,
        end_time: p.end_utc,
        reason: &p.reason,
        status: p.status.as_str(),
        rate: p.rate,
        scope: &p.scope,
        flights,
    })
}
