//! Flights as PERTI's clients read them: the nested JSON record of PERTI's
//! `flights.php` (legacy names, which its SDKs' models parse), a GeoJSON
//! feature as `positions.php` writes it, and CSV.

use serde::Serialize;
use vatswim_plugin_api::time::format_utc;

use crate::flight::{Code, FlightRecord, Phase};

/// One flight in PERTI's JSON shape.
#[derive(Serialize)]
pub struct FlightJson<'a> {
    gufi: &'a str,
    gufi_legacy: &'a str,
    flight_uid: u64,
    flight_key: &'a str,
    identity: IdentityJson<'a>,
    flight_plan: PlanJson<'a>,
    position: Option<PositionJson>,
    progress: ProgressJson,
    times: TimesJson,
    tmi: TmiJson,
    metering: MeteringJson<'a>,
    track: Option<TrackJson<'a>>,
    #[serde(rename = "_source")]
    source: &'static str,
}

#[derive(Serialize)]
struct IdentityJson<'a> {
    callsign: &'a str,
    cid: Option<u32>,
    aircraft_type: &'a str,
    aircraft_icao: &'a str,
}

#[derive(Serialize)]
struct PlanJson<'a> {
    departure: &'a str,
    destination: &'a str,
    alternate: &'a str,
    cruise_altitude: Option<i32>,
    cruise_speed: Option<i32>,
    route: &'a str,
    remarks: &'a str,
    flight_rules: &'a str,
    deptime: &'a str,
    departure_artcc: Option<Code>,
    destination_artcc: Option<Code>,
}

#[derive(Serialize)]
struct PositionJson {
    latitude: f64,
    longitude: f64,
    altitude_ft: i32,
    heading: i32,
    ground_speed_kts: i32,
    vertical_rate_fpm: i32,
    squawk: Option<String>,
    current_artcc: Option<Code>,
    updated_at: String,
}

#[derive(Serialize)]
struct ProgressJson {
    phase: Phase,
    is_active: bool,
    distance_remaining_nm: Option<f64>,
    pct_complete: Option<f64>,
    time_to_dest_min: Option<f64>,
}

#[derive(Serialize)]
struct TimesJson {
    eta: Option<String>,
    out: Option<String>,
    off: Option<String>,
    on: Option<String>,
    #[serde(rename = "in")]
    in_: Option<String>,
    edct: Option<String>,
}

#[derive(Serialize)]
struct TmiJson {
    is_controlled: bool,
    ground_stop_held: bool,
    control_type: Option<crate::flight::ControlType>,
    program_id: Option<u64>,
    slot_time: Option<String>,
    delay_minutes: Option<i32>,
    /// The ETA a GDP slot was given from.
    slot_eta: Option<String>,
}

/// The last partner track (`POST /ingest/track`).
#[derive(Serialize)]
struct TrackJson<'a> {
    source: &'a str,
    squawk: Option<String>,
    updated_at: String,
}

#[derive(Serialize)]
struct MeteringJson<'a> {
    scheduled_time_of_arrival: Option<String>,
    metering_point: Option<&'a str>,
    metering_time: Option<String>,
    metering_delay: Option<i32>,
    metering_frozen: Option<bool>,
    metering_status: Option<&'a str>,
    arrival_stream: Option<&'a str>,
}

fn s(text: Option<&str>) -> &str {
    text.unwrap_or("")
}

fn time(ms: Option<i64>) -> Option<String> {
    ms.map(format_utc)
}

/// PERTI's FIXM field names (its `formatFlightRecordFIXM`), by section:
/// (section, snake_case name, FIXM name); a name not listed is the same in
/// both. `None` is the record's top level.
const FIXM_NAMES: &[(Option<&str>, &str, &str)] = &[
    (Some("identity"), "callsign", "aircraft_identification"),
    (Some("identity"), "cid", "pilot_cid"),
    (Some("identity"), "aircraft_icao", "aircraft_type_icao"),
    (Some("flight_plan"), "departure", "departure_aerodrome"),
    (Some("flight_plan"), "destination", "arrival_aerodrome"),
    (Some("flight_plan"), "alternate", "alternate_aerodrome"),
    (Some("flight_plan"), "cruise_altitude", "cruising_level"),
    (Some("flight_plan"), "cruise_speed", "cruising_speed"),
    (Some("flight_plan"), "route", "route_text"),
    (Some("flight_plan"), "flight_rules", "flight_rules_category"),
    (Some("flight_plan"), "departure_artcc", "departure_airspace"),
    (Some("flight_plan"), "destination_artcc", "arrival_airspace"),
    (Some("position"), "altitude_ft", "altitude"),
    (Some("position"), "heading", "track"),
    (Some("position"), "ground_speed_kts", "ground_speed"),
    (Some("position"), "vertical_rate_fpm", "vertical_rate"),
    (Some("position"), "current_artcc", "current_airspace"),
    (Some("progress"), "phase", "flight_status"),
    (
        Some("progress"),
        "distance_remaining_nm",
        "distance_to_destination",
    ),
    (Some("progress"), "pct_complete", "percent_complete"),
    (Some("progress"), "time_to_dest_min", "time_to_destination"),
    (Some("times"), "eta", "estimated_time_of_arrival"),
    (Some("times"), "out", "actual_off_block_time"),
    (Some("times"), "off", "actual_time_of_departure"),
    (Some("times"), "on", "actual_landing_time"),
    (Some("times"), "in", "actual_in_block_time"),
    (Some("tmi"), "delay_minutes", "delay_value"),
    (None, "_source", "data_source"),
];

/// A flight with PERTI's FIXM field names (`format=fixm`).
pub fn flight_fixm(r: &FlightRecord) -> serde_json::Value {
    let mut json = serde_json::to_value(flight(r)).unwrap_or_default();
    for (section, from, to) in FIXM_NAMES {
        let object = match section {
            Some(name) => json.get_mut(*name).and_then(|v| v.as_object_mut()),
            None => json.as_object_mut(),
        };
        if let Some(object) = object
            && let Some(value) = object.remove(*from)
        {
            object.insert((*to).to_string(), value);
        }
    }
    json
}

/// A flight in PERTI's JSON shape.
pub fn flight(r: &FlightRecord) -> FlightJson<'_> {
    let id = r.identity.as_deref();
    let fp = r.flight_plan.as_deref();
    let progress = r.progress.unwrap_or_default();
    let times = r.times.unwrap_or_default();
    let tmi = r.tmi.unwrap_or_default();
    let m = r.metering.as_ref();
    let time_to_dest_min = match (r.position, progress.dist_to_dest_nm) {
        (Some(p), Some(d)) if p.groundspeed_kts > 50 => {
            Some((d / f64::from(p.groundspeed_kts) * 600.0).round() / 10.0)
        }
        _ => None,
    };
    FlightJson {
        gufi: s(id.map(|i| i.gufi.as_str())),
        gufi_legacy: s(id.map(|i| i.gufi_legacy.as_str())),
        flight_uid: r.flight_uid,
        flight_key: s(id.map(|i| i.flight_key.as_str())),
        identity: IdentityJson {
            callsign: s(id.map(|i| i.callsign.as_str())),
            cid: id.map(|i| i.cid),
            aircraft_type: s(fp.map(|f| f.aircraft_type.as_str())),
            aircraft_icao: s(fp.map(|f| f.aircraft_type.as_str())),
        },
        flight_plan: PlanJson {
            departure: s(fp.map(|f| f.dept_icao.as_str())),
            destination: s(fp.map(|f| f.dest_icao.as_str())),
            alternate: s(fp.map(|f| f.alt_icao.as_str())),
            cruise_altitude: fp.and_then(|f| f.altitude_ft),
            cruise_speed: fp.and_then(|f| f.tas_kts),
            route: s(fp.map(|f| f.route.as_str())),
            remarks: s(fp.map(|f| f.remarks.as_str())),
            flight_rules: s(fp.map(|f| f.rules.as_str())),
            deptime: s(fp.map(|f| f.deptime.as_str())),
            departure_artcc: progress.dept_artcc,
            destination_artcc: progress.dest_artcc,
        },
        position: r.position.map(|p| PositionJson {
            latitude: p.lat,
            longitude: p.lon,
            altitude_ft: p.altitude_ft,
            heading: p.heading_deg,
            ground_speed_kts: p.groundspeed_kts,
            vertical_rate_fpm: p.vertical_rate_fpm,
            squawk: p.squawk.map(|q| format!("{q:04}")),
            current_artcc: progress.current_artcc,
            updated_at: format_utc(p.updated_at),
        }),
        progress: ProgressJson {
            phase: progress.phase,
            is_active: progress.is_active,
            distance_remaining_nm: progress.dist_to_dest_nm,
            pct_complete: progress.pct_complete,
            time_to_dest_min,
        },
        times: TimesJson {
            eta: time(progress.eta_utc),
            out: time(times.out_utc),
            off: time(times.off_utc),
            on: time(times.on_utc),
            in_: time(times.in_utc),
            edct: time(tmi.edct_utc),
        },
        tmi: TmiJson {
            is_controlled: tmi.gs_held || tmi.ctl_type.is_some(),
            ground_stop_held: tmi.gs_held,
            control_type: tmi.ctl_type,
            program_id: tmi.program_id,
            slot_time: time(tmi.slot_time_utc),
            delay_minutes: tmi.delay_minutes,
            slot_eta: time(tmi.eta_utc),
        },
        metering: MeteringJson {
            scheduled_time_of_arrival: time(m.and_then(|m| m.sta_utc)),
            metering_point: m.and_then(|m| m.metering_point.as_deref()),
            metering_time: time(m.and_then(|m| m.metering_time_utc)),
            metering_delay: m.and_then(|m| m.delay_minutes),
            metering_frozen: m.map(|m| m.frozen),
            metering_status: m.and_then(|m| m.status.as_deref()),
            arrival_stream: m.and_then(|m| m.stream.as_deref()),
        },
        track: r.track.as_ref().map(|t| TrackJson {
            source: &t.source,
            squawk: t.squawk.map(|q| format!("{q:04}")),
            updated_at: format_utc(t.updated_at),
        }),
        source: "vatswim",
    }
}

/// A GeoJSON feature of a flight (PERTI's `positions.php`).
#[derive(Serialize)]
pub struct Feature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u64,
    geometry: Point,
    properties: FeatureProperties<'a>,
}

#[derive(Serialize)]
struct Point {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: (f64, f64, i32),
}

#[derive(Serialize)]
struct FeatureProperties<'a> {
    flight_uid: u64,
    callsign: Option<&'a str>,
    flight_key: Option<&'a str>,
    aircraft: Option<&'a str>,
    departure: &'a str,
    destination: &'a str,
    phase: Phase,
    dest_artcc: Option<Code>,
    current_artcc: Option<Code>,
    altitude: i32,
    heading: i32,
    groundspeed: i32,
    vertical_rate: i32,
    distance_remaining_nm: Option<f64>,
    pct_complete: Option<f64>,
    tmi_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    eta: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    route_string: Option<&'a str>,
}

/// The feature of a flight with a position (none without one).
pub fn feature(r: &FlightRecord, include_route: bool) -> Option<Feature<'_>> {
    let p = r.position?;
    let fp = r.flight_plan.as_deref();
    let progress = r.progress.unwrap_or_default();
    let tmi = r.tmi.unwrap_or_default();
    let tmi_status = if tmi.gs_held {
        "ground_stop"
    } else if tmi.ctl_type.is_some() {
        "gdp"
    } else {
        "none"
    };
    let id = r.identity.as_deref();
    Some(Feature {
        kind: "Feature",
        id: r.flight_uid,
        geometry: Point {
            kind: "Point",
            coordinates: (round6(p.lon), round6(p.lat), p.altitude_ft),
        },
        properties: FeatureProperties {
            flight_uid: r.flight_uid,
            callsign: id.map(|i| i.callsign.as_str()),
            flight_key: id.map(|i| i.flight_key.as_str()),
            aircraft: fp.map(|f| f.aircraft_type.as_str()),
            departure: s(fp.map(|f| f.dept_icao.as_str())),
            destination: s(fp.map(|f| f.dest_icao.as_str())),
            phase: progress.phase,
            dest_artcc: progress.dest_artcc,
            current_artcc: progress.current_artcc,
            altitude: p.altitude_ft,
            heading: p.heading_deg,
            groundspeed: p.groundspeed_kts,
            vertical_rate: p.vertical_rate_fpm,
            distance_remaining_nm: progress.dist_to_dest_nm,
            pct_complete: progress.pct_complete,
            tmi_status,
            eta: progress.eta_utc.map(format_utc),
            route_string: fp
                .map(|f| f.route.as_str())
                .filter(|route| include_route && !route.is_empty()),
        },
    })
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The CSV header row.
pub const CSV_HEADER: &str = "flight_uid,gufi,callsign,cid,departure,destination,aircraft_type,phase,is_active,latitude,longitude,altitude_ft,groundspeed_kts,heading,dist_to_dest_nm,pct_complete,eta,out,off,on,in,current_artcc\n";

/// One CSV row.
pub fn csv_row(r: &FlightRecord) -> String {
    let id = r.identity.as_deref();
    let fp = r.flight_plan.as_deref();
    let progress = r.progress.unwrap_or_default();
    let times = r.times.unwrap_or_default();
    let p = r.position;
    let opt = |v: Option<String>| v.unwrap_or_default();
    let fields = [
        r.flight_uid.to_string(),
        opt(id.map(|i| i.gufi.clone())),
        opt(id.map(|i| i.callsign.clone())),
        opt(id.map(|i| i.cid.to_string())),
        opt(fp.map(|f| f.dept_icao.clone())),
        opt(fp.map(|f| f.dest_icao.clone())),
        opt(fp.map(|f| f.aircraft_type.clone())),
        serde_json::to_value(progress.phase)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        progress.is_active.to_string(),
        opt(p.map(|p| p.lat.to_string())),
        opt(p.map(|p| p.lon.to_string())),
        opt(p.map(|p| p.altitude_ft.to_string())),
        opt(p.map(|p| p.groundspeed_kts.to_string())),
        opt(p.map(|p| p.heading_deg.to_string())),
        opt(progress.dist_to_dest_nm.map(|d| d.to_string())),
        opt(progress.pct_complete.map(|d| d.to_string())),
        opt(time(progress.eta_utc)),
        opt(time(times.out_utc)),
        opt(time(times.off_utc)),
        opt(time(times.on_utc)),
        opt(time(times.in_utc)),
        opt(progress.current_artcc.map(|c| c.to_string())),
    ];
    let mut row = fields.map(|f| csv_field(&f)).join(",");
    row.push('\n');
    row
}

/// Quotes a field when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
