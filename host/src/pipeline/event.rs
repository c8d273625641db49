//! Events on the change feed and their payloads, in PERTI's field names so
//! its clients read them unchanged.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::flight::FlightRecord;

/// One event of the change feed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Position in the change feed: strictly increasing, no gaps.
    pub seq: u64,
    /// The channel, e.g. "flight.departed".
    #[serde(rename = "type")]
    pub kind: String,
    /// The cycle's time, epoch milliseconds.
    pub timestamp: i64,
    /// The flight it is about, if any.
    #[serde(skip)]
    pub flight_uid: Option<u64>,
    /// The payload.
    pub data: Value,
}

fn plan_fields(r: &FlightRecord) -> (Value, Value) {
    let fp = r.flight_plan.as_ref();
    (
        json!(fp.map(|f| f.dept_icao.as_str())),
        json!(fp.map(|f| f.dest_icao.as_str())),
    )
}

/// `callsign`, `flight_uid`, `dep`, `arr`: what every flight event carries.
pub fn flight_basics(r: &FlightRecord) -> Map<String, Value> {
    let (dep, arr) = plan_fields(r);
    let mut m = Map::new();
    m.insert(
        "callsign".into(),
        json!(r.identity.as_ref().map(|i| i.callsign.as_str())),
    );
    m.insert("flight_uid".into(), json!(r.flight_uid));
    m.insert("dep".into(), dep);
    m.insert("arr".into(), arr);
    m
}

/// `flight.created`.
pub fn created(r: &FlightRecord) -> Value {
    let mut m = flight_basics(r);
    let fp = r.flight_plan.as_ref();
    m.insert(
        "equipment".into(),
        json!(fp.map(|f| f.aircraft_type.as_str())),
    );
    m.insert("route".into(), json!(fp.map(|f| f.route.as_str())));
    let p = r.position.as_ref();
    m.insert("latitude".into(), json!(p.map(|p| p.lat)));
    m.insert("longitude".into(), json!(p.map(|p| p.lon)));
    m.insert("altitude_ft".into(), json!(p.map(|p| p.altitude_ft)));
    m.insert(
        "groundspeed_kts".into(),
        json!(p.map(|p| p.groundspeed_kts)),
    );
    m.insert("heading_deg".into(), json!(p.map(|p| p.heading_deg)));
    Value::Object(m)
}

/// `flight.deleted`.
pub fn deleted(r: &FlightRecord) -> Value {
    let mut m = Map::new();
    m.insert(
        "callsign".into(),
        json!(r.identity.as_ref().map(|i| i.callsign.as_str())),
    );
    m.insert("flight_uid".into(), json!(r.flight_uid));
    Value::Object(m)
}

/// One entry of a `flight.positions` batch (`None` if it has no position).
pub fn position(r: &FlightRecord) -> Option<Value> {
    let p = r.position.as_ref()?;
    let mut m = flight_basics(r);
    m.insert("latitude".into(), json!(p.lat));
    m.insert("longitude".into(), json!(p.lon));
    m.insert("altitude_ft".into(), json!(p.altitude_ft));
    m.insert("groundspeed_kts".into(), json!(p.groundspeed_kts));
    m.insert("heading_deg".into(), json!(p.heading_deg));
    m.insert("vertical_rate_fpm".into(), json!(p.vertical_rate_fpm));
    m.insert("current_artcc".into(), Value::Null);
    Some(Value::Object(m))
}

/// A detector's event about a flight: the flight's basics plus the
/// plugin's payload object (the basics win where both name a field).
pub fn detected(r: &FlightRecord, payload: &str) -> Result<Value, String> {
    let extra: Map<String, Value> = serde_json::from_str(payload)
        .map_err(|e| format!("event payload is not a JSON object: {e}"))?;
    let mut m = extra;
    m.extend(flight_basics(r));
    Ok(Value::Object(m))
}
