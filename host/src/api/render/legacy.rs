//! PERTI's legacy flight record (`format=legacy`): the snake_case names of
//! its `formatFlightRecord`, which its SDKs' models parse. PERTI itself now
//! answers FIXM for `legacy` too; docs/PERTI.md says why this gateway keeps
//! serving it. Every field PERTI's has is present (null where the gateway
//! has no data); additions are `flight_plan.deptime`, `position.squawk`,
//! `position.updated_at`, `tmi.slot_eta` and `track`.

use serde::Serialize;
use utoipa::ToSchema;
use vatswim_plugin_api::time::format_utc;

use super::derived::{Derived, ETA_METHOD, ETA_SOURCE};
use super::{Track, s, time, track};
use crate::flight::{Code, ControlType, FlightRecord, Phase};

/// One flight in PERTI's legacy JSON shape.
#[derive(Serialize, ToSchema)]
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
    tmi: TmiJson<'a>,
    metering: MeteringJson<'a>,
    track: Option<Track<'a>>,
    #[serde(rename = "_source")]
    source: &'static str,
    #[serde(rename = "_first_seen")]
    first_seen: Option<String>,
    #[serde(rename = "_last_seen")]
    last_seen: Option<String>,
    #[serde(rename = "_logon_time")]
    logon_time: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct IdentityJson<'a> {
    callsign: &'a str,
    cid: Option<u32>,
    aircraft_type: &'a str,
    aircraft_icao: &'a str,
    aircraft_faa: Option<&'a str>,
    weight_class: Option<&'a str>,
    wake_category: Option<&'a str>,
    airline_icao: Option<&'a str>,
    airline_name: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
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
    #[schema(value_type = Option<String>)]
    departure_artcc: Option<Code>,
    #[schema(value_type = Option<String>)]
    destination_artcc: Option<Code>,
    departure_tracon: Option<&'a str>,
    destination_tracon: Option<&'a str>,
    departure_fix: Option<&'a str>,
    departure_procedure: Option<&'a str>,
    arrival_fix: Option<&'a str>,
    arrival_procedure: Option<&'a str>,
    departure_runway: Option<&'a str>,
    arrival_runway: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
struct PositionJson {
    latitude: f64,
    longitude: f64,
    altitude_ft: i32,
    heading: i32,
    ground_speed_kts: i32,
    true_airspeed_kts: Option<i32>,
    vertical_rate_fpm: i32,
    squawk: Option<String>,
    #[schema(value_type = Option<String>)]
    current_artcc: Option<Code>,
    current_tracon: Option<&'static str>,
    current_zone: Option<&'static str>,
    updated_at: String,
}

#[derive(Serialize, ToSchema)]
struct ProgressJson {
    #[schema(value_type = String)]
    phase: Phase,
    is_active: bool,
    distance_remaining_nm: Option<f64>,
    distance_flown_nm: Option<f64>,
    gcd_nm: Option<f64>,
    route_total_nm: Option<f64>,
    pct_complete: Option<f64>,
    time_to_dest_min: Option<f64>,
}

#[derive(Serialize, ToSchema)]
struct TimesJson {
    etd: Option<String>,
    etd_runway: Option<String>,
    eta: Option<String>,
    eta_runway: Option<String>,
    eta_source: Option<&'static str>,
    eta_method: Option<&'static str>,
    ete_minutes: Option<i32>,
    out: Option<String>,
    off: Option<String>,
    on: Option<String>,
    #[serde(rename = "in")]
    in_: Option<String>,
    ctd: Option<String>,
    cta: Option<String>,
    edct: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct TmiJson<'a> {
    is_controlled: bool,
    ground_stop_held: bool,
    gs_release: Option<String>,
    #[schema(value_type = Option<String>)]
    control_type: Option<ControlType>,
    control_program: Option<String>,
    control_element: Option<&'a str>,
    is_exempt: bool,
    exempt_reason: Option<&'a str>,
    delay_minutes: Option<i32>,
    delay_status: Option<&'a str>,
    slot_time: Option<String>,
    program_id: Option<u64>,
    slot_id: Option<u64>,
    /// The ETA a GDP slot was given from.
    slot_eta: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct MeteringJson<'a> {
    sequence_number: Option<u32>,
    scheduled_time_of_arrival: Option<String>,
    scheduled_time_of_departure: Option<String>,
    metering_point: Option<&'a str>,
    metering_time: Option<String>,
    metering_delay: Option<i32>,
    metering_frozen: Option<bool>,
    metering_status: Option<&'a str>,
    arrival_stream: Option<&'a str>,
}

/// A flight in PERTI's legacy JSON shape.
pub fn flight<'a>(r: &'a FlightRecord, d: &Derived<'a>) -> FlightJson<'a> {
    let id = r.identity.as_deref();
    FlightJson {
        gufi: s(id.map(|i| i.gufi.as_str())),
        gufi_legacy: s(id.map(|i| i.gufi_legacy.as_str())),
        flight_uid: r.flight_uid,
        flight_key: s(id.map(|i| i.flight_key.as_str())),
        identity: identity(r, d),
        flight_plan: plan(r),
        position: position(r),
        progress: progress(r, d),
        times: times(r, d),
        tmi: tmi(r, d),
        metering: metering(r),
        track: track(r),
        source: "vatswim",
        first_seen: time(id.and_then(|i| i.first_seen_utc)),
        last_seen: r.position.map(|p| format_utc(p.updated_at)),
        logon_time: time(id.and_then(|i| i.logon_utc)),
    }
}

fn identity<'a>(r: &'a FlightRecord, d: &Derived<'a>) -> IdentityJson<'a> {
    let id = r.identity.as_deref();
    let aircraft = s(r.flight_plan.as_deref().map(|f| f.aircraft_type.as_str()));
    IdentityJson {
        callsign: s(id.map(|i| i.callsign.as_str())),
        cid: id.map(|i| i.cid),
        aircraft_type: aircraft,
        aircraft_icao: aircraft,
        aircraft_faa: None,
        weight_class: d.weight_class(),
        wake_category: d.wake_category(),
        airline_icao: d.operator_icao,
        airline_name: d.operator_name,
    }
}

fn plan(r: &FlightRecord) -> PlanJson<'_> {
    let fp = r.flight_plan.as_deref();
    let progress = r.progress.unwrap_or_default();
    PlanJson {
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
        departure_tracon: None,
        destination_tracon: None,
        departure_fix: None,
        departure_procedure: None,
        arrival_fix: None,
        arrival_procedure: None,
        departure_runway: None,
        arrival_runway: None,
    }
}

fn position(r: &FlightRecord) -> Option<PositionJson> {
    let current_artcc = r.progress.and_then(|p| p.current_artcc);
    r.position.map(|p| PositionJson {
        latitude: p.lat,
        longitude: p.lon,
        altitude_ft: p.altitude_ft,
        heading: p.heading_deg,
        ground_speed_kts: p.groundspeed_kts,
        true_airspeed_kts: None,
        vertical_rate_fpm: p.vertical_rate_fpm,
        squawk: p.squawk.map(|q| format!("{q:04}")),
        current_artcc,
        current_tracon: None,
        current_zone: None,
        updated_at: format_utc(p.updated_at),
    })
}

fn progress(r: &FlightRecord, d: &Derived<'_>) -> ProgressJson {
    let p = r.progress.unwrap_or_default();
    ProgressJson {
        phase: p.phase,
        is_active: p.is_active,
        distance_remaining_nm: p.dist_to_dest_nm,
        distance_flown_nm: d.distance_flown_nm,
        gcd_nm: d.gcd_nm,
        route_total_nm: None,
        pct_complete: p.pct_complete,
        time_to_dest_min: d.time_to_dest_min,
    }
}

fn times(r: &FlightRecord, d: &Derived<'_>) -> TimesJson {
    let eta = r.progress.and_then(|p| p.eta_utc);
    let t = r.times.unwrap_or_default();
    let tmi = r.tmi.unwrap_or_default();
    TimesJson {
        etd: time(r.eobt_utc()),
        etd_runway: None,
        eta: time(eta),
        eta_runway: None,
        eta_source: eta.map(|_| ETA_SOURCE),
        eta_method: eta.map(|_| ETA_METHOD),
        ete_minutes: d.ete_minutes,
        out: time(t.out_utc),
        off: time(t.off_utc),
        on: time(t.on_utc),
        in_: time(t.in_utc),
        ctd: time(tmi.edct_utc),
        cta: time(tmi.slot_time_utc),
        edct: time(tmi.edct_utc),
    }
}

fn tmi<'a>(r: &'a FlightRecord, d: &Derived<'a>) -> TmiJson<'a> {
    let t = r.tmi.unwrap_or_default();
    TmiJson {
        is_controlled: t.gs_held || t.ctl_type.is_some(),
        ground_stop_held: t.gs_held,
        gs_release: d.gs_release(&t),
        control_type: t.ctl_type,
        control_program: d.program.map(|p| p.name()),
        control_element: d.program.map(|p| p.airport.as_str()),
        is_exempt: false,
        exempt_reason: None,
        delay_minutes: t.delay_minutes,
        delay_status: None,
        slot_time: time(t.slot_time_utc),
        program_id: t.program_id,
        slot_id: None,
        slot_eta: time(t.eta_utc),
    }
}

fn metering(r: &FlightRecord) -> MeteringJson<'_> {
    let m = r.metering.as_ref();
    MeteringJson {
        sequence_number: None,
        scheduled_time_of_arrival: time(m.and_then(|m| m.sta_utc)),
        scheduled_time_of_departure: None,
        metering_point: m.and_then(|m| m.metering_point.as_deref()),
        metering_time: time(m.and_then(|m| m.metering_time_utc)),
        metering_delay: m.and_then(|m| m.delay_minutes),
        metering_frozen: m.map(|m| m.frozen),
        metering_status: m.and_then(|m| m.status.as_deref()),
        arrival_stream: m.and_then(|m| m.stream.as_deref()),
    }
}
