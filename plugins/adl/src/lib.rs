//! Ingest adapter for ADL flight data (`POST /ingest/adl`), in PERTI's shape:
//!
//! ```json
//! {"flights": [{"callsign": "UAL123", "dept_icao": "KORD", "dest_icao": "KJFK",
//!               "cid": 1234567, "aircraft_type": "B738", "route": "...",
//!               "cruise_altitude": 35000, "cruise_speed": 450, "alternate": "KBOS",
//!               "out_utc": "2026-01-16T12:00:00Z", "off_utc": "..."}]}
//! ```
//!
//! `callsign`, `dept_icao` and `dest_icao` are required. An item names its
//! flight by `flight_uid`, else `gufi`, else callsign. Times take PERTI's
//! names or their FIXM aliases (`out_utc` or `actual_off_block_time`, ...).
//! `tmi` (`ctl_type`, `gs_held`, `program_id`, `slot_time_utc`,
//! `delay_minutes`) states the flight's control by ADL's own programs, as a
//! whole: `{}` lets the flight go. The host applies it unless the flight is
//! under a gateway program (the authority matrix, per flight).
//! Fields PERTI accepts that belong to sections ADL does not own (position,
//! `phase`, `eta_utc`) are passed on so the host refuses them by the
//! authority matrix and reports each one; `is_active` is the feed's and is
//! answered with a warning. Config: `max_items` (default 500).

use serde_json::Value;
use vatswim_plugin_api::body::{self, Faults, Item, ItemFault};
use vatswim_plugin_api::{
    ControlType, Description, FieldValue, FlightRef, IngestAdapter, ItemError, Parsed, Patch,
    Phase, PositionUpdate, Tmi,
};

/// The adapter.
pub struct AdlAdapter {
    max_items: usize,
}

impl IngestAdapter for AdlAdapter {
    fn describe() -> Description {
        Description::new(
            "adl",
            env!("CARGO_PKG_VERSION"),
            "ADL flight data: {\"flights\":[...]}",
        )
    }

    fn init(config: Value) -> Result<Self, String> {
        Ok(AdlAdapter {
            max_items: body::max_items(&config, 500)?,
        })
    }

    fn parse(&self, _content_type: &str, bytes: &[u8]) -> Result<Parsed, String> {
        let flights = body::items(&mut body::object(bytes)?, "flights", self.max_items)?;
        let now = vatswim_plugin_api::log::now();
        let mut parsed = body::parse_each_field(&flights, FIELDS, |item| flight_patch(item, now));
        note_is_active(&flights, &mut parsed);
        Ok(parsed)
    }
}

/// Every field an ADL flight item may have, PERTI's names and their
/// aliases (others are reported as warnings).
const FIELDS: &[&str] = &[
    "callsign",
    "dept_icao",
    "dest_icao",
    "flight_uid",
    "gufi",
    "cid",
    "aircraft_type",
    "aircraft_icao",
    "route",
    "fp_route",
    "alternate",
    "alt_icao",
    "remarks",
    "deptime",
    "flight_rules",
    "rules",
    "cruise_altitude",
    "fp_altitude_ft",
    "cruise_speed",
    "fp_tas_kts",
    "actual_off_block_time",
    "out_utc",
    "actual_time_of_departure",
    "off_utc",
    "actual_landing_time",
    "on_utc",
    "actual_in_block_time",
    "in_utc",
    "latitude",
    "lat",
    "longitude",
    "lon",
    "altitude",
    "altitude_ft",
    "heading",
    "heading_deg",
    "ground_speed",
    "groundspeed_kts",
    "vertical_rate",
    "vertical_rate_fpm",
    "phase",
    "is_active",
    "estimated_time_of_arrival",
    "eta_utc",
    "tmi",
];

/// `is_active` is taken and not applied: whether a flight is connected is
/// the VATSIM feed's to say. A warning for each item that applies (an
/// entry for an item also passed on), so PERTI's own example, which sends
/// it, is not an error.
fn note_is_active(flights: &[Value], parsed: &mut Parsed) {
    let applied: Vec<u32> = parsed.items.iter().map(|i| i.index).collect();
    for index in applied {
        if flights[index as usize].get("is_active").is_some() {
            parsed.errors.push(ItemError::warning(
                index,
                "is_active",
                "not applied: whether a flight is active comes from the VATSIM feed",
            ));
        }
    }
}

/// The patch for one flight item with the faults of the fields it leaves
/// out (each reported, the rest applies), or every fault of an item whose
/// flight cannot be told (callsign, airports, `flight_uid`, `gufi`).
fn flight_patch(item: &Item, now: i64) -> Result<(Patch, Faults), Faults> {
    let mut which = Faults::default();
    let callsign = which.check(body::required_code(item, "callsign"));
    let dept = which.check(airport(item, "dept_icao"));
    let dest = which.check(airport(item, "dest_icao"));
    let uid = which.optional(body::optional_int(
        item,
        &["flight_uid"],
        1,
        i64::from(i32::MAX),
    ));
    let gufi = which.optional(body::optional_text(item, &["gufi"]));
    let mut left_out = Faults::default();
    let mut fields = Vec::new();
    identity_and_plan(item, &mut left_out, &mut fields);
    times(item, now, &mut left_out, &mut fields);
    outside_adl(item, now, &mut left_out, &mut fields);
    let (Some(callsign), Some(dept), Some(dest)) = (callsign, dept, dest) else {
        return Err(which.and(left_out));
    };
    if let Err(which) = which.finish() {
        return Err(which.and(left_out));
    }
    let flight = match (uid, gufi) {
        (Some(uid), _) => FlightRef::Uid(uid as u64),
        (None, Some(gufi)) => FlightRef::Gufi(gufi),
        (None, None) => FlightRef::Callsign(callsign.clone()),
    };
    fields.splice(
        0..0,
        [
            FieldValue::IdentityCallsign(callsign),
            FieldValue::FlightPlanDeptIcao(dept),
            FieldValue::FlightPlanDestIcao(dest),
        ],
    );
    Ok((Patch { flight, fields }, left_out))
}

fn airport(item: &Item, field: &'static str) -> Result<String, ItemFault> {
    let code = body::required_code(item, field)?;
    if (3..=4).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(code)
    } else {
        Err((
            field,
            format!("{code:?} is not an airport code (3 or 4 letters or digits)"),
        ))
    }
}

/// A field's names (PERTI's and its aliases) and the patch field it makes.
type Aliased<T> = (&'static [&'static str], fn(T) -> FieldValue);

fn identity_and_plan(item: &Item, faults: &mut Faults, fields: &mut Vec<FieldValue>) {
    if let Some(cid) = faults.optional(body::optional_int(item, &["cid"], 1, i64::from(i32::MAX))) {
        fields.push(FieldValue::IdentityCid(cid as u32));
    }
    let texts: [Aliased<String>; 5] = [
        (
            &["aircraft_type", "aircraft_icao"],
            FieldValue::FlightPlanAircraftType,
        ),
        (&["route", "fp_route"], FieldValue::FlightPlanRoute),
        (&["alternate", "alt_icao"], FieldValue::FlightPlanAltIcao),
        (&["remarks"], FieldValue::FlightPlanRemarks),
        (&["deptime"], FieldValue::FlightPlanDeptime),
    ];
    for (names, field) in texts {
        if let Some(v) = faults.optional(body::optional_text(item, names)) {
            fields.push(field(v));
        }
    }
    match faults.optional(body::optional_code(item, &["flight_rules", "rules"])) {
        Some(rules) if rules == "I" || rules == "V" => {
            fields.push(FieldValue::FlightPlanRules(rules))
        }
        Some(_) => faults.note("flight_rules", "must be \"I\" (IFR) or \"V\" (VFR)"),
        None => {}
    }
    let altitude = body::optional_int(item, &["cruise_altitude", "fp_altitude_ft"], 0, 100_000);
    if let Some(ft) = faults.optional(altitude) {
        fields.push(FieldValue::FlightPlanAltitudeFt(ft));
    }
    let speed = body::optional_int(item, &["cruise_speed", "fp_tas_kts"], 0, 2_000);
    if let Some(kts) = faults.optional(speed) {
        fields.push(FieldValue::FlightPlanTasKts(kts));
    }
}

/// OOOI times, under PERTI's names or their FIXM aliases.
fn times(item: &Item, now: i64, faults: &mut Faults, fields: &mut Vec<FieldValue>) {
    let oooi: [Aliased<Option<i64>>; 4] = [
        (
            &["actual_off_block_time", "out_utc"],
            FieldValue::TimesOutUtc,
        ),
        (
            &["actual_time_of_departure", "off_utc"],
            FieldValue::TimesOffUtc,
        ),
        (&["actual_landing_time", "on_utc"], FieldValue::TimesOnUtc),
        (&["actual_in_block_time", "in_utc"], FieldValue::TimesInUtc),
    ];
    for (names, field) in oooi {
        let time = body::optional_time(item, names).and_then(|t| {
            t.map(|t| within_a_flights_life(item, names, t, now))
                .transpose()
        });
        if let Some(t) = faults.optional(time) {
            fields.push(field(Some(t)));
        }
    }
}

/// How far from now an OOOI time may be: no flight (nor an ADL catching up
/// on one) spans more.
const OOOI_WINDOW_MS: i64 = 7 * 86_400_000;

/// `t`, or why no flight alive now could have it (an OFF in 1999, a
/// typo'd year), naming the field as the item sent it.
fn within_a_flights_life(
    item: &Item,
    names: &[&'static str],
    t: i64,
    now: i64,
) -> Result<i64, ItemFault> {
    if (t - now).abs() <= OOOI_WINDOW_MS {
        return Ok(t);
    }
    let name = names
        .iter()
        .copied()
        .find(|n| item.contains_key(*n))
        .unwrap_or(names[0]);
    let days = (t - now).abs() / 86_400_000;
    Err((
        name,
        format!(
            "is {days} days from now: not a time in the life of a flight the gateway tracks (at most {} days)",
            OOOI_WINDOW_MS / 86_400_000
        ),
    ))
}

/// Fields PERTI's ADL ingest takes beyond what every item has: TMI (ADL's
/// own), and fields the authority matrix gives to other writers, passed on
/// as patches so the host refuses and reports them, rather than dropping
/// them silently here.
fn outside_adl(item: &Item, now: i64, faults: &mut Faults, fields: &mut Vec<FieldValue>) {
    let has_position = item.contains_key("latitude") || item.contains_key("lat");
    if let Some(position) = has_position
        .then(|| position_of(item, now, faults))
        .flatten()
    {
        fields.push(FieldValue::Position(position));
    }
    if let Some(name) = faults.optional(body::optional_text(item, &["phase"])) {
        match parse_phase(&name) {
            Some(phase) => fields.push(FieldValue::ProgressPhase(phase)),
            None => faults.note(
                "phase",
                format!("{name:?} is not a phase (PERTI's FlightPhase or the gateway's)"),
            ),
        }
    }
    // Checked so a malformed value is reported; applied by no one.
    let _ = faults.optional(body::optional_bool(item, &["is_active"]));
    let eta = body::optional_time(item, &["estimated_time_of_arrival", "eta_utc"]);
    if let Some(eta) = faults.optional(eta) {
        fields.push(FieldValue::ProgressEtaUtc(Some(eta)));
    }
    let tmi = item.get("tmi").filter(|v| !v.is_null());
    if let Some(tmi) = tmi.and_then(|tmi| tmi_of(tmi, faults)) {
        fields.push(FieldValue::Tmi(tmi));
    }
}

/// A position an ADL item sends (refused later by the authority matrix,
/// but read so that its faults are reported like any other's). A position
/// needs both coordinates: one alone leaves the position out, not the item.
fn position_of(item: &Item, now: i64, faults: &mut Faults) -> Option<PositionUpdate> {
    let lat = faults.check(body::coordinate(item, &["latitude", "lat"], 90.0));
    if !item.contains_key("longitude") && !item.contains_key("lon") {
        faults.note(
            "longitude",
            "a position needs both coordinates: latitude came without longitude, so the position is left out",
        );
        return None;
    }
    let lon = faults.check(body::coordinate(item, &["longitude", "lon"], 180.0));
    let mut int = |names, min, max| faults.optional(body::optional_int(item, names, min, max));
    Some(PositionUpdate {
        altitude_ft: int(&["altitude", "altitude_ft"], -2_000, 100_000),
        heading_deg: int(&["heading", "heading_deg"], 0, 360),
        groundspeed_kts: int(&["ground_speed", "groundspeed_kts"], 0, 2_000),
        vertical_rate_fpm: int(&["vertical_rate", "vertical_rate_fpm"], -30_000, 30_000),
        lat: lat?,
        lon: lon?,
        squawk: None,
        updated_at: now,
    })
}

/// A phase by the gateway's name, PERTI's SDKs' `FlightPhase` (Python,
/// TypeScript, C#: PREFLIGHT, DEPARTING, CLIMBING, ENROUTE, DESCENDING,
/// APPROACH, LANDED, ARRIVED) or its C++ SDK's `SwimFlightPhase`, any
/// case (docs/INGEST_AND_TMI.md has the table).
fn parse_phase(name: &str) -> Option<Phase> {
    Some(match name.to_ascii_lowercase().as_str() {
        "prefile" | "prefiled" | "preflight" => Phase::Prefile,
        "taxiing" | "taxi" | "departing" | "pushback" | "taxi_out" => Phase::Taxiing,
        "departed" | "climbing" | "takeoff" | "departure" => Phase::Departed,
        "enroute" | "en_route" | "cruise" => Phase::Enroute,
        "descending" | "descent" | "approach" | "landing" => Phase::Descending,
        "arrived" | "landed" | "taxi_in" => Phase::Arrived,
        "disconnected" => Phase::Disconnected,
        _ => return None,
    })
}

/// The `tmi` object, or `None` with each of its faults noted under its
/// path (`tmi.ctl_type`).
fn tmi_of(tmi: &Value, faults: &mut Faults) -> Option<Tmi> {
    let Some(tmi) = tmi.as_object() else {
        faults.note("tmi", "must be a JSON object");
        return None;
    };
    let mut inner = Faults::default();
    let ctl_type = match inner.optional(body::optional_code(tmi, &["ctl_type"])) {
        None => None,
        Some(t) if t == "GS" => Some(ControlType::Gs),
        Some(t) if t == "GDP" => Some(ControlType::Gdp),
        Some(other) => {
            inner.note("ctl_type", format!("{other:?} is not GS or GDP"));
            None
        }
    };
    let program_id = body::optional_int(tmi, &["program_id"], 1, i64::from(i32::MAX));
    let parsed = Tmi {
        gs_held: inner
            .optional(body::optional_bool(tmi, &["gs_held"]))
            .unwrap_or(false),
        ctl_type,
        program_id: inner.optional(program_id).map(|id| id as u64),
        slot_time_utc: inner.optional(body::optional_time(tmi, &["slot_time_utc"])),
        edct_utc: inner.optional(body::optional_time(tmi, &["edct_utc"])),
        delay_minutes: inner.optional(body::optional_int(tmi, &["delay_minutes"], -1_440, 1_440)),
        eta_utc: None,
    };
    match inner.finish() {
        Ok(()) => Some(parsed),
        Err(inner) => {
            for (field, message) in inner.into_vec() {
                faults.note(tmi_path(field), message);
            }
            None
        }
    }
}

/// A `tmi` member's path as a fault names it.
fn tmi_path(field: &str) -> &'static str {
    match field {
        "ctl_type" => "tmi.ctl_type",
        "gs_held" => "tmi.gs_held",
        "program_id" => "tmi.program_id",
        "slot_time_utc" => "tmi.slot_time_utc",
        "delay_minutes" => "tmi.delay_minutes",
        "edct_utc" => "tmi.edct_utc",
        _ => "tmi",
    }
}

vatswim_plugin_api::export_ingest_adapter!(AdlAdapter);
