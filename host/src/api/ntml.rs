//! PERTI's per-type program routes, as its `docs/swim` documents them (its
//! PHP does not implement them): `GET /tmi/gs`, `/tmi/gs/{id}`,
//! `/tmi/gs/{id}/flights`, `GET /tmi/gdp`, `/tmi/gdp/{id}`,
//! `/tmi/gdp/{id}/flights`, `/tmi/gdp/{id}/slots`. The programs are the
//! same ones `/tmi/programs` lists; a path names one by its number or any
//! of its names (`GS_KJFK_20261201`, `KJFK-GS-12011500`,
//! `GDP-KATL-202612011400`).
//!
//! The documented envelope is `{status: "ok", data}`; `success` and
//! `timestamp` are added, as every other route of this gateway has them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use super::params::{ApiQuery, WHOLE_MAX, flag_or_false, one_of, optional, whole};
use super::response::ApiError;
use super::state::AppState;
use super::tmi::iso;
use crate::auth::layer::ErrorBody;
use crate::flight::{ControlType, FlightRecord};
use crate::reference::AirlineTable;
use crate::time::format_iso_millis;
use crate::tmi::{GdpBody, GroundStopBody};
use crate::tmi::{Program, ProgramSpec, Status, TmiCommand};

/// How many programs a list shows by default, and at most.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;
const HOUR_MS: i64 = 3_600_000;

/// `GET /tmi/gs`.
#[utoipa::path(get, path = "/tmi/gs", tag = "tmi", params(ProgramListParams),
    responses(
        (status = 200, description = "`{status: ok, data: {programs, total, filters, server_utc}}` plus `success` and `timestamp`", body = Object),
        (status = 400, description = "A parameter is wrong; the message names it", body = ErrorBody),
    ))]
pub async fn ground_stops(
    state: State<AppState>,
    params: ApiQuery<ProgramListParams>,
) -> Result<Response, ApiError> {
    list(state, params, ControlType::Gs)
}

/// `GET /tmi/gdp`.
#[utoipa::path(get, path = "/tmi/gdp", tag = "tmi", params(ProgramListParams),
    responses(
        (status = 200, description = "`{status: ok, data: {programs, total, filters, server_utc}}` plus `success` and `timestamp`", body = Object),
        (status = 400, description = "A parameter is wrong; the message names it", body = ErrorBody),
    ))]
pub async fn gdps(
    state: State<AppState>,
    params: ApiQuery<ProgramListParams>,
) -> Result<Response, ApiError> {
    list(state, params, ControlType::Gdp)
}

/// `POST /tmi/gs`: PERTI's documented `GroundStopCreateRequest`. The
/// program is active when issued (there is no proposal stage here).
#[utoipa::path(post, path = "/tmi/gs", tag = "tmi", request_body = GroundStopBody,
    responses(
        (status = 200, description = "`{status: ok, message, data: {program_id, program}}`", body = Object),
        (status = 400, description = "A field is wrong or not honoured here; the message names it", body = ErrorBody),
    ))]
pub async fn create_ground_stop(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(super::response::body_error)?;
    let spec = ProgramSpec::from_ground_stop_json(&body).map_err(super::tmi::invalid)?;
    created(&state, spec, "Ground Stop created").await
}

/// `POST /tmi/gdp`: PERTI's documented `GdpCreateRequest`; the slots are
/// given in the cycle that issues it.
#[utoipa::path(post, path = "/tmi/gdp", tag = "tmi", request_body = GdpBody,
    responses(
        (status = 200, description = "`{status: ok, message, data: {program_id, program}}`", body = Object),
        (status = 400, description = "A field is wrong or not honoured here; the message names it", body = ErrorBody),
    ))]
pub async fn create_gdp(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(super::response::body_error)?;
    let spec = ProgramSpec::from_gdp_json(&body).map_err(super::tmi::invalid)?;
    created(&state, spec, "GDP created").await
}

async fn created(state: &AppState, spec: ProgramSpec, message: &str) -> Result<Response, ApiError> {
    let program = super::tmi::command(state, TmiCommand::Issue(spec)).await?;
    let view = Snapshot::of(state);
    let json = view.program_json(&program);
    let id = match program.kind {
        ControlType::Gs => json!(program.id),
        ControlType::Gdp => json!(gdp_name(&program)),
    };
    let body = json!({
        "success": true,
        "status": "ok",
        "message": message,
        "data": {"program_id": id, "program": json},
        "timestamp": format_iso_millis(view.as_of),
    });
    Ok(axum::Json(body).into_response())
}

/// `GET /tmi/gs/{id}`.
#[utoipa::path(get, path = "/tmi/gs/{id}", tag = "tmi", params(("id" = String, Path, description = "The program's number or any of its names (`GS_KJFK_20261201`, `KJFK-GS-12011500`, `GDP-KATL-202612011400`)")),
    responses(
        (status = 200, description = "`{status: ok, data: the program}`", body = Object),
        (status = 404, description = "No such program", body = ErrorBody),
    ))]
pub async fn ground_stop(state: State<AppState>, id: Path<String>) -> Result<Response, ApiError> {
    one(state, id, ControlType::Gs)
}

/// `GET /tmi/gdp/{id}`.
#[utoipa::path(get, path = "/tmi/gdp/{id}", tag = "tmi", params(("id" = String, Path, description = "The program's number or any of its names (`GS_KJFK_20261201`, `KJFK-GS-12011500`, `GDP-KATL-202612011400`)")),
    responses(
        (status = 200, description = "`{status: ok, data: the program}`", body = Object),
        (status = 404, description = "No such program", body = ErrorBody),
    ))]
pub async fn gdp(state: State<AppState>, id: Path<String>) -> Result<Response, ApiError> {
    one(state, id, ControlType::Gdp)
}

fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    kind: ControlType,
) -> Result<Response, ApiError> {
    let view = Snapshot::of(&state);
    let program = view.find(&id, kind)?;
    Ok(ok(view.program_json(program), view.as_of))
}

/// `GET /tmi/gs/{id}/flights`: the flights it holds, in `/tmi/controlled`'s
/// shape.
#[utoipa::path(get, path = "/tmi/gs/{id}/flights", tag = "tmi", params(("id" = String, Path, description = "The program's number or any of its names (`GS_KJFK_20261201`, `KJFK-GS-12011500`, `GDP-KATL-202612011400`)")),
    responses(
        (status = 200, description = "`{status: ok, data: {program, flights, summary, server_utc}}`", body = Object),
        (status = 404, description = "No such program", body = ErrorBody),
    ))]
pub async fn ground_stop_flights(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = Snapshot::of(&state);
    let program = view.find(&id, ControlType::Gs)?;
    let name = program.name();
    let flights: Vec<Value> = view
        .controlled_by(program)
        .map(|r| super::tmi::controlled_json(r, &|_| Some(name.clone())))
        .collect();
    let data = json!({
        "program": view.program_json(program),
        "summary": {"total": flights.len(), "controlled": flights.len(), "exempt": 0},
        "flights": flights,
        "server_utc": format_iso_millis(view.as_of),
    });
    Ok(ok(data, view.as_of))
}

/// `GET /tmi/gdp/{id}/flights`: the flights it gave slots, by slot time.
#[utoipa::path(get, path = "/tmi/gdp/{id}/flights", tag = "tmi", params(("id" = String, Path, description = "The program's number or any of its names (`GS_KJFK_20261201`, `KJFK-GS-12011500`, `GDP-KATL-202612011400`)")),
    responses(
        (status = 200, description = "`{status: ok, data: {program_id, flights, summary}}`", body = Object),
        (status = 404, description = "No such program", body = ErrorBody),
    ))]
pub async fn gdp_flights(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = Snapshot::of(&state);
    let program = view.find(&id, ControlType::Gdp)?;
    let airlines = AirlineTable::embedded();
    let slotted = view.slotted(program);
    let flights: Vec<Value> = slotted
        .iter()
        .enumerate()
        .map(|(index, r)| {
            let t = r.tmi.unwrap_or_default();
            let fp = r.flight_plan.as_deref();
            let callsign = r.identity.as_deref().map_or("", |i| i.callsign.as_str());
            json!({
                "id": r.flight_uid,
                "flight_key": r.identity.as_deref().map(|i| i.flight_key.as_str()),
                "callsign": callsign,
                "fp_dept_icao": fp.map(|f| f.dept_icao.as_str()),
                "fp_dest_icao": fp.map(|f| f.dest_icao.as_str()),
                "major_carrier": airlines.operator(callsign).map(|(icao, _)| icao),
                "gdp_program_id": gdp_name(program),
                "gdp_slot_index": index,
                "gdp_slot_time_utc": iso(t.slot_time_utc),
                "gdp_original_eta_utc": iso(t.eta_utc),
                "cta_utc": iso(t.slot_time_utc),
                "ctd_utc": iso(t.edct_utc),
                "program_delay_min": t.delay_minutes,
                "ctl_type": "GDP",
                "delay_status": null,
                "ctl_exempt": false,
                "ctl_exempt_reason": null,
            })
        })
        .collect();
    let delays: Vec<i64> = slotted
        .iter()
        .filter_map(|r| r.tmi.and_then(|t| t.delay_minutes).map(i64::from))
        .collect();
    let data = json!({
        "program_id": gdp_name(program),
        "summary": {
            "total": flights.len(),
            "assigned": flights.len(),
            "exempt": 0,
            "avg_delay_min": average(&delays),
        },
        "flights": flights,
    });
    Ok(ok(data, view.as_of))
}

/// `GET /tmi/gdp/{id}/slots`: the slots given (`ASSIGNED`), and per hour
/// the capacity left (`OPEN` counts in the summary): slots are not a fixed
/// grid here, each is the earliest free time at the program's spacing.
#[utoipa::path(get, path = "/tmi/gdp/{id}/slots", tag = "tmi", params(("id" = String, Path, description = "The program's number or any of its names (`GS_KJFK_20261201`, `KJFK-GS-12011500`, `GDP-KATL-202612011400`)"), SlotsParams),
    responses(
        (status = 200, description = "`{status: ok, data: {program_id, slots, summary}}`", body = Object),
        (status = 400, description = "A parameter is wrong; the message names it", body = ErrorBody),
        (status = 404, description = "No such program", body = ErrorBody),
    ))]
pub async fn gdp_slots(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<SlotsParams>,
) -> Result<Response, ApiError> {
    let view = Snapshot::of(&state);
    let program = view.find(&id, ControlType::Gdp)?;
    let status_filter = params.status.map(|s| s.to_ascii_uppercase());
    let hour_filter = optional(&params.hour, |value| {
        value
            .parse::<i64>()
            .ok()
            .filter(|h| (0..24).contains(h))
            .ok_or_else(|| {
                ApiError::bad_param("hour", format!("{value:?} is not an hour from 0 to 23"))
            })
    })?;
    let airlines = AirlineTable::embedded();
    let slotted = view.slotted(program);
    let total = total_slots(program);
    let slots: Vec<Value> = slotted
        .iter()
        .enumerate()
        .filter_map(|(index, r)| {
            let t = r.tmi.unwrap_or_default();
            let slot = t.slot_time_utc?;
            let hour = slot.rem_euclid(24 * HOUR_MS) / HOUR_MS;
            if hour_filter.is_some_and(|h| h != hour) {
                return None;
            }
            let callsign = r.identity.as_deref().map_or("", |i| i.callsign.as_str());
            Some(json!({
                "id": index,
                "program_id": gdp_name(program),
                "slot_index": index,
                "slot_time_utc": format_iso_millis(slot),
                "slot_type": "REGULAR",
                "slot_status": "ASSIGNED",
                "bin_hour": hour,
                "bin_quarter": slot.rem_euclid(HOUR_MS) / (15 * 60_000),
                "assigned_flight_key": r.identity.as_deref().map(|i| i.flight_key.as_str()),
                "assigned_callsign": callsign,
                "assigned_carrier": airlines.operator(callsign).map(|(icao, _)| icao),
                "assigned_origin": r.flight_plan.as_deref().map(|f| f.dept_icao.as_str()),
                "assigned_utc": null,
            }))
        })
        .filter(|_| status_filter.as_deref().is_none_or(|s| s == "ASSIGNED"))
        .collect();
    let assigned = slotted.len();
    let data = json!({
        "program_id": gdp_name(program),
        "summary": {
            "total_slots": total,
            "assigned_slots": assigned,
            "open_slots": total.saturating_sub(assigned),
            "utilization": utilization(assigned, total),
        },
        "slots": slots,
    });
    Ok(ok(data, view.as_of))
}

/// The parameters of `/tmi/gs` and `/tmi/gdp`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProgramListParams {
    /// The controlled airport.
    airport: Option<String>,
    /// The documented status (GS: ACTIVE, COMPLETED, PURGED; GDP: ACTIVE,
    /// EXPIRED, PURGED).
    status: Option<String>,
    /// Only programs in force.
    #[param(value_type = Option<bool>)]
    active_only: Option<String>,
    /// Ended programs too.
    #[param(value_type = Option<bool>)]
    include_history: Option<String>,
    /// The most programs (default 50; above 200 is served as 200).
    #[param(value_type = Option<u64>, minimum = 1)]
    limit: Option<String>,
}

/// The parameters of `/tmi/gdp/{id}/slots`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotsParams {
    /// Slot status: `ASSIGNED`, or `OPEN` (open slots are counted in the
    /// summary, not listed).
    #[param(schema_with = slot_status)]
    status: Option<String>,
    /// The slot's UTC hour.
    #[param(value_type = Option<u8>, minimum = 0, maximum = 23)]
    hour: Option<String>,
}

fn slot_status() -> utoipa::openapi::schema::Object {
    one_of(&["ASSIGNED", "OPEN"])
}

fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ProgramListParams>,
    kind: ControlType,
) -> Result<Response, ApiError> {
    let upper = |v: Option<String>| v.map(|v| v.to_ascii_uppercase()).filter(|v| !v.is_empty());
    let airport = upper(params.airport);
    let status = upper(params.status);
    let active_only = flag_or_false("active_only", &params.active_only)?;
    let include_history = flag_or_false("include_history", &params.include_history)?;
    let limit = optional(&params.limit, |v| whole("limit", v, 1, WHOLE_MAX))?
        .map_or(DEFAULT_LIMIT, |n| n.min(MAX_LIMIT as u64) as usize);
    let view = Snapshot::of(&state);
    let programs: Vec<Value> = view
        .programs
        .iter()
        .rev()
        .filter(|p| p.kind == kind)
        .filter(|p| airport.as_ref().is_none_or(|a| &p.airport == a))
        .filter(|p| status.as_ref().is_none_or(|s| status_name(p) == s))
        .filter(|p| !active_only || p.in_force(view.as_of.max(p.updated_utc)))
        .filter(|p| include_history || status.is_some() || p.status == Status::Active)
        .take(limit)
        .map(|p| view.program_json(p))
        .collect();
    let data = json!({
        "total": programs.len(),
        "filters": {"airport": airport, "status": status, "active_only": active_only, "include_history": include_history, "limit": limit},
        "server_utc": format_iso_millis(view.as_of),
        "programs": programs,
    });
    Ok(ok(data, view.as_of))
}

/// One read of the programs and the flights, for a whole answer.
struct Snapshot {
    programs: Arc<Vec<Program>>,
    flights: Arc<crate::store::FlightsView>,
    as_of: i64,
}

impl Snapshot {
    fn of(state: &AppState) -> Snapshot {
        let flights = state.shared.view.load_full();
        Snapshot {
            programs: state.shared.programs.load_full(),
            as_of: flights.as_of,
            flights,
        }
    }

    /// The program of this kind a path names.
    fn find(&self, id: &str, kind: ControlType) -> Result<&Program, ApiError> {
        let id = id.trim();
        let number: Option<u64> = id.parse().ok();
        self.programs
            .iter()
            .filter(|p| p.kind == kind)
            .filter(|p| {
                number == Some(p.id)
                    || p.name().eq_ignore_ascii_case(id)
                    || match kind {
                        ControlType::Gs => gs_name(p).eq_ignore_ascii_case(id),
                        ControlType::Gdp => gdp_name(p).eq_ignore_ascii_case(id),
                    }
            })
            .max_by_key(|p| p.id)
            .ok_or_else(|| {
                let what = match kind {
                    ControlType::Gs => "ground stop",
                    ControlType::Gdp => "ground delay program",
                };
                ApiError::not_found(format!("there is no {what} {id:?}"))
            })
    }

    fn controlled_by<'a>(
        &'a self,
        program: &'a Program,
    ) -> impl Iterator<Item = &'a Arc<FlightRecord>> {
        self.flights
            .flights
            .iter()
            .filter(move |r| r.gateway_program_id() == Some(program.id))
    }

    /// The program's flights with a slot, by slot time.
    fn slotted<'a>(&'a self, program: &'a Program) -> Vec<&'a Arc<FlightRecord>> {
        let mut flights: Vec<_> = self
            .controlled_by(program)
            .filter(|r| r.tmi.is_some_and(|t| t.slot_time_utc.is_some()))
            .collect();
        flights.sort_by_key(|r| (r.tmi.and_then(|t| t.slot_time_utc), r.flight_uid));
        flights
    }

    fn program_json(&self, p: &Program) -> Value {
        let flights: Vec<&Arc<FlightRecord>> = self.controlled_by(p).collect();
        match p.kind {
            ControlType::Gs => self.ground_stop_json(p, flights.len()),
            ControlType::Gdp => gdp_json(p, &flights),
        }
    }

    /// A ground stop as PERTI's `/tmi/gs` lists it.
    fn ground_stop_json(&self, p: &Program, flights: usize) -> Value {
        json!({
            "program_id": p.id,
            "program_guid": null,
            "program_name": gs_name(p),
            "program_type": "GS",
            "ctl_element": p.airport,
            "element_type": "APT",
            "status": status_name(p),
            "is_proposed": false,
            "is_active": p.in_force(self.as_of.max(p.updated_utc)),
            "start_utc": format_iso_millis(p.start_utc),
            "end_utc": format_iso_millis(p.end_utc),
            "cumulative_start": format_iso_millis(p.start_utc),
            "cumulative_end": format_iso_millis(p.end_utc),
            "adv_number": null,
            "scope_type": "MANUAL",
            "scope_tier": null,
            "scope_distance_nm": null,
            "scope_airports": p.scope.airports.join(" "),
            "scope_centers": p.scope.artccs.join(" "),
            // Only flights on the ground are held.
            "exempt_airborne": true,
            "exempt_within_min": null,
            "impacting_condition": null,
            "cause_text": p.reason,
            "prob_extension": null,
            "total_flights": flights,
            "controlled_flights": flights,
            "exempt_flights": 0,
            "created_by": null,
            "created_utc": format_iso_millis(p.created_utc),
            "activated_by": null,
            "activated_utc": format_iso_millis(p.created_utc),
        })
    }
}

/// A GDP as PERTI's `/tmi/gdp` lists it, with its flights' delays and slots.
fn gdp_json(p: &Program, flights: &[&Arc<FlightRecord>]) -> Value {
    let delays: Vec<i64> = flights
        .iter()
        .filter_map(|r| r.tmi.and_then(|t| t.delay_minutes).map(i64::from))
        .collect();
    let assigned = flights
        .iter()
        .filter(|r| r.tmi.is_some_and(|t| t.slot_time_utc.is_some()))
        .count();
    json!({
        "id": p.id,
        "program_id": gdp_name(p),
        "ctl_element": p.airport,
        "status": status_name(p),
        "program_start_utc": format_iso_millis(p.start_utc),
        "program_end_utc": format_iso_millis(p.end_utc),
        "program_rate": p.rate,
        "program_rates_hourly": null,
        "reserve_rate": 0,
        "delay_limit_minutes": null,
        "scope_centers": p.scope.artccs.join(" "),
        "scope_airports": p.scope.airports.join(" "),
        "scope_tier": null,
        "scope_distance_nm": null,
        "impacting_condition": null,
        "cause_text": p.reason,
        "probability_of_extension": null,
        "adv_number": null,
        "total_flights": flights.len(),
        "affected_flights": assigned,
        "exempt_flights": 0,
        "avg_delay_min": average(&delays),
        "max_delay_min": delays.iter().max().copied().unwrap_or(0),
        "slot_utilization": utilization(assigned, total_slots(p)),
        "created_utc": format_iso_millis(p.created_utc),
    })
}

/// The documented status names: a GS ends `COMPLETED` (or `PURGED` when
/// released early); a GDP `EXPIRED` (or `PURGED`).
fn status_name(p: &Program) -> &'static str {
    match (p.status, p.kind) {
        (Status::Active, _) => "ACTIVE",
        (Status::Released, _) => "PURGED",
        (Status::Expired, ControlType::Gs) => "COMPLETED",
        (Status::Expired, ControlType::Gdp) => "EXPIRED",
    }
}

/// `KJFK-GS-12011500`: airport, type, start as MMddHHmm.
fn gs_name(p: &Program) -> String {
    format!("{}-GS-{}", p.airport, stamp(p.start_utc, "%m%d%H%M"))
}

/// `GDP-KATL-202612011400`: type, airport, start as YYYYMMddHHmm.
fn gdp_name(p: &Program) -> String {
    format!("GDP-{}-{}", p.airport, stamp(p.start_utc, "%Y%m%d%H%M"))
}

fn stamp(ms: i64, pattern: &str) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(String::new, |t| t.format(pattern).to_string())
}

/// Slots a GDP offers: its rate for each hour it lasts.
fn total_slots(p: &Program) -> usize {
    let hours = (p.end_utc - p.start_utc).max(0) as f64 / HOUR_MS as f64;
    (f64::from(p.rate.unwrap_or(0)) * hours).floor() as usize
}

fn utilization(assigned: usize, total: usize) -> f64 {
    if total == 0 {
        return 0.0;
    }
    (assigned as f64 / total as f64 * 1000.0).round() / 1000.0
}

fn average(values: &[i64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    (values.iter().sum::<i64>() as f64 / values.len() as f64 * 10.0).round() / 10.0
}

/// The documented envelope, with this gateway's `success` and `timestamp`.
fn ok(data: Value, as_of: i64) -> Response {
    axum::Json(json!({
        "success": true,
        "status": "ok",
        "data": data,
        "timestamp": format_iso_millis(as_of),
    }))
    .into_response()
}
