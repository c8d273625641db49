//! PERTI's FIXM-aligned flight record, its default on `/flights` and
//! `/flight` (also for `format=json`). The list (`flights.php`,
//! `formatFlightRecordFIXM`) keeps times and TMI flat; the single flight
//! (`flight.php`, `formatSwimFlightRecordFIXM`) nests them. Both have every
//! field PERTI's have: null where the gateway has no data for it
//! (docs/PERTI.md lists those).

use serde::Serialize;
use utoipa::ToSchema;
use vatswim_plugin_api::time::format_utc;

use super::derived::{Derived, ETA_METHOD, ETA_SOURCE};
use super::{Track, s, time, track};
use crate::flight::{Code, ControlType, FlightRecord, Phase, Progress, Tmi};

/// PERTI's `data_source` for records this gateway serves.
const DATA_SOURCE: &str = "vatswim";
/// The single flight's `schema_version`, as PERTI names it.
const SCHEMA_VERSION: &str = "swim_v1_fixm";

/// One flight of `/flights`.
#[derive(Serialize, ToSchema)]
pub struct FixmFlight<'a> {
    gufi: Gufi<'a>,
    gufi_legacy: Option<&'a str>,
    flight_uid: u64,
    flight_key: Option<&'a str>,
    identity: Identity<'a>,
    flight_plan: Plan<'a>,
    position: Position,
    progress: ProgressFixm,
    times: TimesFlat,
    tmi: TmiFlat<'a>,
    metering: Metering<'a>,
    track: Option<Track<'a>>,
    #[serde(flatten)]
    meta: Meta,
}

/// The flight of `/flight`.
#[derive(Serialize, ToSchema)]
pub struct FixmDetail<'a> {
    gufi: Gufi<'a>,
    gufi_legacy: Option<&'a str>,
    flight_uid: u64,
    flight_key: Option<&'a str>,
    flight_id: Option<&'a str>,
    identity: Identity<'a>,
    flight_plan: Plan<'a>,
    position: Position,
    progress: ProgressFixm,
    times: TimesNested,
    tmi: TmiNested<'a>,
    metering: Metering<'a>,
    track: Option<Track<'a>>,
    schema_version: &'static str,
    #[serde(flatten)]
    meta: Meta,
}

/// The GUFI as a FIXM metadata object (PERTI's `swim_format_gufi_response`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Gufi<'a> {
    value: Option<&'a str>,
    code_space: &'static str,
    creation_time: Option<String>,
    namespace_domain: &'static str,
    namespace_identifier: &'static str,
}

#[derive(Serialize, ToSchema)]
struct Identity<'a> {
    aircraft_identification: Option<&'a str>,
    pilot_cid: Option<u32>,
    aircraft_type: Option<&'a str>,
    aircraft_type_icao: Option<&'a str>,
    aircraft_type_faa: Option<&'a str>,
    weight_class: Option<&'a str>,
    wake_turbulence: Option<&'a str>,
    engine_type: Option<&'a str>,
    operator_icao: Option<&'a str>,
    operator_name: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
struct Plan<'a> {
    departure_aerodrome: &'a str,
    arrival_aerodrome: &'a str,
    alternate_aerodrome: &'a str,
    cruising_level: Option<i32>,
    cruising_speed: Option<i32>,
    route_text: Option<&'a str>,
    remarks: Option<&'a str>,
    flight_rules_category: Option<&'a str>,
    #[schema(value_type = Option<String>)]
    departure_airspace: Option<Code>,
    #[schema(value_type = Option<String>)]
    arrival_airspace: Option<Code>,
    departure_tracon: Option<&'a str>,
    arrival_tracon: Option<&'a str>,
    departure_point: Option<&'a str>,
    sid: Option<&'a str>,
    arrival_point: Option<&'a str>,
    star: Option<&'a str>,
    departure_runway: Option<&'a str>,
    arrival_runway: Option<&'a str>,
}

/// Every field null when the flight has no position (PERTI's shape).
#[derive(Serialize, ToSchema)]
struct Position {
    latitude: Option<f64>,
    longitude: Option<f64>,
    altitude: Option<i32>,
    track: Option<i32>,
    ground_speed: Option<i32>,
    true_airspeed: Option<i32>,
    vertical_rate: Option<i32>,
    squawk: Option<String>,
    #[schema(value_type = Option<String>)]
    current_airspace: Option<Code>,
    current_tracon: Option<&'static str>,
    current_airport_zone: Option<&'static str>,
}

#[derive(Serialize, ToSchema)]
struct ProgressFixm {
    /// prefile, taxiing, departed, enroute, descending, arrived or disconnected.
    #[schema(value_type = String)]
    flight_status: Phase,
    is_active: bool,
    distance_to_destination: Option<f64>,
    distance_flown: Option<f64>,
    great_circle_distance: Option<f64>,
    total_flight_distance: Option<f64>,
    percent_complete: Option<f64>,
    time_to_destination: Option<f64>,
}

#[derive(Serialize, ToSchema)]
struct TimesFlat {
    estimated_off_block_time: Option<String>,
    estimated_time_of_arrival: Option<String>,
    estimated_runway_arrival: Option<String>,
    eta_source: Option<&'static str>,
    eta_method: Option<&'static str>,
    estimated_elapsed_time: Option<i32>,
    actual_off_block_time: Option<String>,
    actual_time_of_departure: Option<String>,
    actual_landing_time: Option<String>,
    actual_in_block_time: Option<String>,
    controlled_time_of_departure: Option<String>,
    controlled_time_of_arrival: Option<String>,
    edct: Option<String>,
    taxi_start_time: Option<String>,
    departure_sequence_time: Option<String>,
    hold_short_time: Option<String>,
    runway_entry_time: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct TimesNested {
    estimated: Estimated,
    actual: Actual,
    controlled: Controlled,
    simtraffic: SimTraffic,
    estimated_elapsed_time: Option<i32>,
}

#[derive(Serialize, ToSchema)]
struct Estimated {
    off_block_time: Option<String>,
    time_of_arrival: Option<String>,
    runway_arrival: Option<String>,
    arrival_source: Option<&'static str>,
    arrival_method: Option<&'static str>,
}

#[derive(Serialize, ToSchema)]
struct Actual {
    off_block_time: Option<String>,
    time_of_departure: Option<String>,
    landing_time: Option<String>,
    in_block_time: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct Controlled {
    time_of_departure: Option<String>,
    time_of_arrival: Option<String>,
    edct: Option<String>,
}

/// SimTraffic's departure sequence times: not ingested (null).
#[derive(Serialize, Default, ToSchema)]
struct SimTraffic {
    taxi_start_time: Option<String>,
    departure_sequence_time: Option<String>,
    hold_short_time: Option<String>,
    runway_entry_time: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct TmiFlat<'a> {
    is_controlled: bool,
    ground_stop_held: bool,
    ground_stop_release_time: Option<String>,
    /// `GS` or `GDP`.
    #[schema(value_type = Option<String>)]
    control_type: Option<ControlType>,
    program_name: Option<String>,
    control_element: Option<&'a str>,
    exempt_indicator: bool,
    exempt_reason: Option<&'a str>,
    delay_value: Option<i32>,
    delay_status: Option<&'a str>,
    slot_time: Option<String>,
    program_id: Option<u64>,
    slot_id: Option<u64>,
    flow_event_code: Option<&'a str>,
    flow_gs_exempt: Option<bool>,
}

#[derive(Serialize, ToSchema)]
struct TmiNested<'a> {
    is_controlled: bool,
    /// `GS` or `GDP`.
    #[schema(value_type = Option<String>)]
    control_type: Option<ControlType>,
    program_name: Option<String>,
    control_element: Option<&'a str>,
    exempt_indicator: bool,
    exempt_reason: Option<&'a str>,
    ground_stop: GroundStop,
    slot: Slot<'a>,
    delay: Delay<'a>,
    flow_event_code: Option<&'a str>,
    flow_gs_exempt: Option<bool>,
}

#[derive(Serialize, ToSchema)]
struct GroundStop {
    held: bool,
    release_time: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct Slot<'a> {
    time: Option<String>,
    status: Option<&'a str>,
    program_id: Option<u64>,
    slot_id: Option<u64>,
}

#[derive(Serialize, ToSchema)]
struct Delay<'a> {
    value: Option<i32>,
    status: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
struct Metering<'a> {
    sequence_number: Option<u32>,
    scheduled_time_of_arrival: Option<String>,
    scheduled_time_of_departure: Option<String>,
    metering_point: Option<&'a str>,
    metering_time: Option<String>,
    delay_value: Option<i32>,
    frozen_indicator: Option<bool>,
    metering_status: Option<&'a str>,
    arrival_stream: Option<&'a str>,
    undelayed_eta: Option<String>,
    eta_vertex: Option<String>,
    sta_vertex: Option<String>,
    vertex_point: Option<&'a str>,
    metering_source: Option<&'a str>,
    metering_updated_time: Option<String>,
}

/// The record's metadata, at its top level.
#[derive(Serialize, ToSchema)]
struct Meta {
    data_source: &'static str,
    first_tracked_time: Option<String>,
    /// When the position was reported (PERTI's `_last_seen`).
    position_time: Option<String>,
    logon_time: Option<String>,
}

/// A flight as `/flights` lists it.
pub fn fixm_flight<'a>(r: &'a FlightRecord, d: &Derived<'a>) -> FixmFlight<'a> {
    let tmi = r.tmi.unwrap_or_default();
    let (eta, actual) = (
        time(r.progress.and_then(|p| p.eta_utc)),
        r.times.unwrap_or_default(),
    );
    FixmFlight {
        gufi: gufi(r),
        gufi_legacy: r.identity.as_deref().map(|i| i.gufi_legacy.as_str()),
        flight_uid: r.flight_uid,
        flight_key: r.identity.as_deref().map(|i| i.flight_key.as_str()),
        identity: identity(r, d),
        flight_plan: plan(r),
        position: position(r),
        progress: progress(r, d),
        times: TimesFlat {
            estimated_off_block_time: time(r.eobt_utc()),
            estimated_time_of_arrival: eta.clone(),
            estimated_runway_arrival: None,
            eta_source: eta.as_ref().map(|_| ETA_SOURCE),
            eta_method: eta.as_ref().map(|_| ETA_METHOD),
            estimated_elapsed_time: d.ete_minutes,
            actual_off_block_time: time(actual.out_utc),
            actual_time_of_departure: time(actual.off_utc),
            actual_landing_time: time(actual.on_utc),
            actual_in_block_time: time(actual.in_utc),
            controlled_time_of_departure: time(tmi.edct_utc),
            controlled_time_of_arrival: time(tmi.slot_time_utc),
            edct: time(tmi.edct_utc),
            taxi_start_time: None,
            departure_sequence_time: None,
            hold_short_time: None,
            runway_entry_time: None,
        },
        tmi: TmiFlat {
            is_controlled: is_controlled(&tmi),
            ground_stop_held: tmi.gs_held,
            ground_stop_release_time: d.gs_release(&tmi),
            control_type: tmi.ctl_type,
            program_name: d.program.map(|p| p.name()),
            control_element: d.program.map(|p| p.airport.as_str()),
            exempt_indicator: false,
            exempt_reason: None,
            delay_value: tmi.delay_minutes,
            delay_status: None,
            slot_time: time(tmi.slot_time_utc),
            program_id: tmi.program_id,
            slot_id: None,
            flow_event_code: None,
            flow_gs_exempt: None,
        },
        metering: metering(r),
        track: track(r),
        meta: meta(r),
    }
}

/// A flight as `/flight` answers it.
pub fn fixm_detail<'a>(r: &'a FlightRecord, d: &Derived<'a>) -> FixmDetail<'a> {
    FixmDetail {
        gufi: gufi(r),
        gufi_legacy: r.identity.as_deref().map(|i| i.gufi_legacy.as_str()),
        flight_uid: r.flight_uid,
        flight_key: r.identity.as_deref().map(|i| i.flight_key.as_str()),
        flight_id: None,
        identity: identity(r, d),
        flight_plan: plan(r),
        position: position(r),
        progress: progress(r, d),
        times: times(r, d),
        tmi: tmi(r, d),
        metering: metering(r),
        track: track(r),
        schema_version: SCHEMA_VERSION,
        meta: meta(r),
    }
}

/// `times`: estimated, actual (OOOI) and controlled.
fn times(r: &FlightRecord, d: &Derived<'_>) -> TimesNested {
    let tmi = r.tmi.unwrap_or_default();
    let (eta, actual) = (
        time(r.progress.and_then(|p| p.eta_utc)),
        r.times.unwrap_or_default(),
    );
    TimesNested {
        estimated: Estimated {
            off_block_time: time(r.eobt_utc()),
            arrival_source: eta.as_ref().map(|_| ETA_SOURCE),
            arrival_method: eta.as_ref().map(|_| ETA_METHOD),
            time_of_arrival: eta,
            runway_arrival: None,
        },
        actual: Actual {
            off_block_time: time(actual.out_utc),
            time_of_departure: time(actual.off_utc),
            landing_time: time(actual.on_utc),
            in_block_time: time(actual.in_utc),
        },
        controlled: Controlled {
            time_of_departure: time(tmi.edct_utc),
            time_of_arrival: time(tmi.slot_time_utc),
            edct: time(tmi.edct_utc),
        },
        simtraffic: SimTraffic::default(),
        estimated_elapsed_time: d.ete_minutes,
    }
}

/// `tmi`: the program controlling the flight, its slot and delay.
fn tmi<'a>(r: &FlightRecord, d: &Derived<'a>) -> TmiNested<'a> {
    let tmi = r.tmi.unwrap_or_default();
    TmiNested {
        is_controlled: is_controlled(&tmi),
        control_type: tmi.ctl_type,
        program_name: d.program.map(|p| p.name()),
        control_element: d.program.map(|p| p.airport.as_str()),
        exempt_indicator: false,
        exempt_reason: None,
        ground_stop: GroundStop {
            held: tmi.gs_held,
            release_time: d.gs_release(&tmi),
        },
        slot: Slot {
            time: time(tmi.slot_time_utc),
            status: None,
            program_id: tmi.program_id,
            slot_id: None,
        },
        delay: Delay {
            value: tmi.delay_minutes,
            status: None,
        },
        flow_event_code: None,
        flow_gs_exempt: None,
    }
}

fn gufi(r: &FlightRecord) -> Gufi<'_> {
    let id = r.identity.as_deref();
    Gufi {
        value: id.map(|i| i.gufi.as_str()),
        code_space: "urn:uuid",
        creation_time: time(id.and_then(|i| i.first_seen_utc)),
        namespace_domain: "FULLY_QUALIFIED_DOMAIN_NAME",
        namespace_identifier: "vatcscc.org",
    }
}

fn identity<'a>(r: &'a FlightRecord, d: &Derived<'a>) -> Identity<'a> {
    let id = r.identity.as_deref();
    let aircraft = r.flight_plan.as_deref().map(|f| f.aircraft_type.as_str());
    Identity {
        aircraft_identification: id.map(|i| i.callsign.as_str()),
        pilot_cid: id.map(|i| i.cid),
        aircraft_type: aircraft,
        aircraft_type_icao: aircraft,
        aircraft_type_faa: None,
        weight_class: d.weight_class(),
        wake_turbulence: d.wake_category(),
        engine_type: d.engine_type(),
        operator_icao: d.operator_icao,
        operator_name: d.operator_name,
    }
}

fn plan(r: &FlightRecord) -> Plan<'_> {
    let fp = r.flight_plan.as_deref();
    let progress = r.progress.unwrap_or_default();
    Plan {
        departure_aerodrome: s(fp.map(|f| f.dept_icao.as_str())),
        arrival_aerodrome: s(fp.map(|f| f.dest_icao.as_str())),
        alternate_aerodrome: s(fp.map(|f| f.alt_icao.as_str())),
        cruising_level: fp.and_then(|f| f.altitude_ft),
        cruising_speed: fp.and_then(|f| f.tas_kts),
        route_text: fp.map(|f| f.route.as_str()),
        remarks: fp.map(|f| f.remarks.as_str()),
        flight_rules_category: fp.map(|f| f.rules.as_str()),
        departure_airspace: progress.dept_artcc,
        arrival_airspace: progress.dest_artcc,
        departure_tracon: None,
        arrival_tracon: None,
        departure_point: None,
        sid: None,
        arrival_point: None,
        star: None,
        departure_runway: None,
        arrival_runway: None,
    }
}

fn position(r: &FlightRecord) -> Position {
    let p = r.position;
    Position {
        latitude: p.map(|p| p.lat),
        longitude: p.map(|p| p.lon),
        altitude: p.map(|p| p.altitude_ft),
        track: p.map(|p| p.heading_deg),
        ground_speed: p.map(|p| p.groundspeed_kts),
        true_airspeed: None,
        vertical_rate: p.map(|p| p.vertical_rate_fpm),
        squawk: p.and_then(|p| p.squawk).map(|q| format!("{q:04}")),
        current_airspace: r.progress.and_then(|p| p.current_artcc),
        current_tracon: None,
        current_airport_zone: None,
    }
}

fn progress(r: &FlightRecord, d: &Derived<'_>) -> ProgressFixm {
    let p: Progress = r.progress.unwrap_or_default();
    ProgressFixm {
        flight_status: p.phase,
        is_active: p.is_active,
        distance_to_destination: p.dist_to_dest_nm,
        distance_flown: d.distance_flown_nm,
        great_circle_distance: d.gcd_nm,
        total_flight_distance: None,
        percent_complete: p.pct_complete,
        time_to_destination: d.time_to_dest_min,
    }
}

fn is_controlled(t: &Tmi) -> bool {
    t.gs_held || t.ctl_type.is_some()
}

fn metering(r: &FlightRecord) -> Metering<'_> {
    let m = r.metering.as_ref();
    Metering {
        sequence_number: None,
        scheduled_time_of_arrival: time(m.and_then(|m| m.sta_utc)),
        scheduled_time_of_departure: None,
        metering_point: m.and_then(|m| m.metering_point.as_deref()),
        metering_time: time(m.and_then(|m| m.metering_time_utc)),
        delay_value: m.and_then(|m| m.delay_minutes),
        frozen_indicator: m.map(|m| m.frozen),
        metering_status: m.and_then(|m| m.status.as_deref()),
        arrival_stream: m.and_then(|m| m.stream.as_deref()),
        undelayed_eta: None,
        eta_vertex: None,
        sta_vertex: None,
        vertex_point: None,
        metering_source: None,
        metering_updated_time: None,
    }
}

fn meta(r: &FlightRecord) -> Meta {
    let id = r.identity.as_deref();
    Meta {
        data_source: DATA_SOURCE,
        first_tracked_time: time(id.and_then(|i| i.first_seen_utc)),
        position_time: r.position.map(|p| format_utc(p.updated_at)),
        logon_time: time(id.and_then(|i| i.logon_utc)),
    }
}
