//! TMI programs (docs/INGEST_AND_TMI.md) in PERTI's shapes: `GET /tmi/programs`,
//! `GET /tmi/controlled`, and issuing, modifying and releasing a program
//! (`POST /tmi/programs`, `PATCH` and `DELETE /tmi/programs/{id}`; the
//! access-control layer asks for the `tmi` write permission).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use super::params::{ApiQuery, WHOLE_MAX, codes, flag_or_false, one_of, optional, whole};
use super::response::{ApiError, Envelope, Pagination, body_error};
use super::state::AppState;
use crate::auth::layer::ErrorBody;
use crate::flight::{ControlType, FlightRecord};
use crate::health::wall_ms;
use crate::pipeline::Work;
use crate::reference::AirportTable;
use crate::time::format_iso_millis;
use crate::tmi::{
    IssueBody, PatchBody, Program, ProgramPatch, ProgramSpec, Status, TmiCommand, TmiError,
};

/// The largest program request.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Issue a ground stop or GDP (write permission `tmi`).
#[utoipa::path(post, path = "/tmi/programs", tag = "tmi", request_body = IssueBody,
    responses(
        (status = 201, description = "Issued: the program, with `id` (its number) and `program_id` (its name, `TYPE_AIRPORT_YYYYMMDD`)", body = Object),
        (status = 400, description = "A field is wrong (`INVALID_BODY`, naming it)", body = ErrorBody),
        (status = 403, description = "The key may not issue programs (`FORBIDDEN`)", body = ErrorBody),
    ))]
pub async fn issue(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let spec = ProgramSpec::from_json(&body.map_err(body_error)?).map_err(invalid)?;
    let program = command(&state, TmiCommand::Issue(spec)).await?;
    Ok((StatusCode::CREATED, answer(&state, &program)).into_response())
}

/// Change a program's times, scope, rate or reason.
#[utoipa::path(patch, path = "/tmi/programs/{id}", tag = "tmi", params(("id" = String, Path, description = "The program's number, or its name (`GS_KJFK_20261201`: the latest program of that name)")), request_body = PatchBody,
    responses(
        (status = 200, description = "Modified: the program", body = Object),
        (status = 400, description = "A field is wrong (`INVALID_BODY`, naming it)", body = ErrorBody),
        (status = 403, description = "The key may not change programs (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No such program", body = ErrorBody),
        (status = 409, description = "The program has ended (`PROGRAM_ENDED`)", body = ErrorBody),
    ))]
pub async fn modify(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = program_id(&state, &id)?;
    let patch = ProgramPatch::from_json(&body.map_err(body_error)?).map_err(invalid)?;
    let program = command(&state, TmiCommand::Modify(id, patch)).await?;
    Ok(answer(&state, &program).into_response())
}

/// Release a program: every hold and slot is lifted.
#[utoipa::path(delete, path = "/tmi/programs/{id}", tag = "tmi", params(("id" = String, Path, description = "The program's number, or its name (`GS_KJFK_20261201`: the latest program of that name)")),
    responses(
        (status = 200, description = "Released: the program", body = Object),
        (status = 403, description = "The key may not release programs (`FORBIDDEN`)", body = ErrorBody),
        (status = 404, description = "No such program", body = ErrorBody),
        (status = 409, description = "The program has ended (`PROGRAM_ENDED`)", body = ErrorBody),
    ))]
pub async fn release(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let program = command(&state, TmiCommand::Release(program_id(&state, &id)?)).await?;
    Ok(answer(&state, &program).into_response())
}

/// Ground stops and GDPs: `{ground_stops[], gdp_programs[], summary}`.
#[utoipa::path(get, path = "/tmi/programs", tag = "tmi", params(ProgramsParams),
    responses(
        (status = 200, description = "The programs", body = Object),
        (status = 400, description = "A parameter is wrong or not one this route takes; the message names it", body = ErrorBody),
    ))]
pub async fn programs(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ProgramsParams>,
) -> Result<Response, ApiError> {
    let q = TmiQuery::of_programs(&params)?;
    let all = state.shared.programs.load_full();
    let view = state.shared.view.load_full();
    let counts = Counts::of(&view.flights);
    let shown = all
        .iter()
        .filter(|p| q.id.is_none_or(|id| p.id == id))
        .filter(|p| q.include_history || q.id.is_some() || p.status == Status::Active)
        .filter(|p| q.airports.is_empty() || q.airports.contains(&p.airport))
        .filter(|p| {
            q.artccs.is_empty() || airport_artcc(&p.airport).is_some_and(|a| q.artccs.contains(&a))
        })
        .filter(|p| q.kind.admits(p.kind));
    let (mut ground_stops, mut gdp_programs) = (Vec::new(), Vec::new());
    for p in shown {
        let json = program_json(p, &counts, view.as_of);
        match p.kind {
            ControlType::Gs => ground_stops.push(json),
            ControlType::Gdp => gdp_programs.push(json),
        }
    }
    let active = |k: ControlType| {
        all.iter()
            .filter(|p| p.kind == k && p.status == Status::Active)
            .count()
    };
    let mut airports: Vec<&str> = all
        .iter()
        .filter(|p| p.status == Status::Active)
        .map(|p| p.airport.as_str())
        .collect();
    airports.sort_unstable();
    airports.dedup();
    let data = json!({
        "ground_stops": ground_stops,
        "gdp_programs": gdp_programs,
        "summary": {
            "active_ground_stops": active(ControlType::Gs),
            "active_gdp_programs": active(ControlType::Gdp),
            "total_controlled_airports": airports.len(),
        },
    });
    Ok(Envelope::new(data, view.as_of).into_response())
}

/// Flights under a ground stop or GDP, in PERTI's shape, with statistics.
#[utoipa::path(get, path = "/tmi/controlled", tag = "tmi", params(ControlledParams),
    responses(
        (status = 200, description = "`{success, data: flights, pagination, statistics, timestamp}`", body = Object),
        (status = 400, description = "A parameter is wrong or not one this route takes; the message names it", body = ErrorBody),
    ))]
pub async fn controlled(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ControlledParams>,
) -> Result<Response, ApiError> {
    let q = TmiQuery::of_controlled(&params)?;
    let view = state.shared.view.load_full();
    let mut flights: Vec<&Arc<FlightRecord>> =
        view.flights.iter().filter(|r| q.controls(r)).collect();
    // Held first, then by airport and slot, as PERTI orders them.
    flights.sort_by_key(|r| {
        let t = r.tmi.unwrap_or_default();
        let dest = r.flight_plan.as_ref().map(|f| f.dest_icao.clone());
        (!t.gs_held, dest, t.slot_time_utc, r.flight_uid)
    });
    let total = flights.len();
    let mut by_airport: BTreeMap<String, usize> = BTreeMap::new();
    for r in &flights {
        if let Some(fp) = &r.flight_plan {
            *by_airport.entry(fp.dest_icao.clone()).or_default() += 1;
        }
    }
    let held = flights
        .iter()
        .filter(|r| r.tmi.is_some_and(|t| t.gs_held))
        .count();
    let programs = state.shared.programs.load();
    let name_of = |id: u64| programs.iter().find(|p| p.id == id).map(Program::name);
    let data: Vec<Value> = flights
        .iter()
        .skip((q.page - 1) * q.per_page)
        .take(q.per_page)
        .map(|r| controlled_json(r, &name_of))
        .collect();
    let mut body = serde_json::to_value(
        Envelope::new(data, view.as_of).paginated(Pagination::new(total, q.page, q.per_page)),
    )
    .unwrap_or(Value::Null);
    body["statistics"] = json!({
        "ground_stop": held,
        "gdp": total - held,
        "by_airport": by_airport,
    });
    Ok(axum::Json(body).into_response())
}

pub(super) async fn command(state: &AppState, command: TmiCommand) -> Result<Program, ApiError> {
    state
        .to_pipeline(|reply| Work::Tmi { command, reply })
        .await?
        .map_err(|e| match e {
            TmiError::NotFound(_) => ApiError::not_found(e.to_string()),
            TmiError::Ended(..) => ApiError {
                status: StatusCode::CONFLICT,
                code: "PROGRAM_ENDED",
                message: e.to_string(),
            },
            TmiError::Invalid(m) => invalid(m),
        })
}

/// The program as the reply to a command: its id first, as PERTI answers.
fn answer(state: &AppState, program: &Program) -> Envelope<Value> {
    let view = state.shared.view.load_full();
    let counts = Counts::of(&view.flights);
    Envelope::new(program_json(program, &counts, view.as_of), wall_ms())
}

/// A program named in a path by its number (`id`) or its name
/// (`program_id`, e.g. `GS_KJFK_20261201`: the latest program of that name).
fn program_id(state: &AppState, id: &str) -> Result<u64, ApiError> {
    if let Ok(number) = id.parse() {
        return Ok(number);
    }
    let programs = state.shared.programs.load();
    programs
        .iter()
        .filter(|p| p.name().eq_ignore_ascii_case(id))
        .map(|p| p.id)
        .max()
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "there is no program {id:?} (a program's id, or its program_id such as GS_KJFK_20261201)"
            ))
        })
}

pub(super) fn invalid(message: String) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "INVALID_BODY",
        message,
    }
}

/// Flights and delays per program, from the view.
#[derive(Default)]
struct Counts {
    by_program: BTreeMap<u64, (usize, i64, i64)>,
}

impl Counts {
    fn of(flights: &[Arc<FlightRecord>]) -> Counts {
        let mut counts = Counts::default();
        for r in flights.iter() {
            if let (Some(id), Some(t)) = (r.gateway_program_id(), r.tmi) {
                let entry = counts.by_program.entry(id).or_default();
                let delay = i64::from(t.delay_minutes.unwrap_or(0));
                entry.0 += 1;
                entry.1 += delay;
                entry.2 = entry.2.max(delay);
            }
        }
        counts
    }
}

/// The ARTCC responsible for an airport (PERTI filters programs by it).
fn airport_artcc(icao: &str) -> Option<String> {
    AirportTable::embedded().get(icao).map(|a| a.artcc.clone())
}

fn program_json(p: &Program, counts: &Counts, now: i64) -> Value {
    let (controlled, total_delay, max_delay) =
        counts.by_program.get(&p.id).copied().unwrap_or_default();
    let artcc = airport_artcc(&p.airport);
    let mut json = json!({
        "type": match p.kind { ControlType::Gs => "ground_stop", ControlType::Gdp => "gdp" },
        // PERTI's shape: `id` the number, `program_id` the name.
        "id": p.id,
        "program_id": p.name(),
        "program_type": p.type_name(),
        "airport": p.airport,
        "artcc": artcc,
        "name": match p.kind { ControlType::Gs => "CDM GROUND STOP", ControlType::Gdp => "GROUND DELAY PROGRAM" },
        "reason": p.reason,
        "scope": {
            "airports": p.scope.airports,
            "artccs": p.scope.artccs,
            "dep_facilities": p.scope.airports,
            "origin_centers": p.scope.artccs,
        },
        "times": {
            "start": format_iso_millis(p.start_utc),
            "end": format_iso_millis(p.end_utc),
            "created": format_iso_millis(p.created_utc),
            "updated": format_iso_millis(p.updated_utc),
        },
        "delays": {
            "total_minutes": total_delay,
            "average_minutes": if controlled > 0 { total_delay / controlled as i64 } else { 0 },
            "maximum_minutes": max_delay,
        },
        "flight_counts": {"controlled": controlled},
        "status": p.status.as_str(),
        // The data's clock (a simulator may run ahead of the wall).
        "is_active": p.in_force(now.max(p.updated_utc)),
    });
    if let Some(rate) = p.rate {
        json["rates"] = json!({"program_rate": rate});
    }
    json
}

/// An epoch-ms time as an ISO 8601 string, or null.
pub(super) fn iso(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |t| Value::String(format_iso_millis(t)))
}

/// One controlled flight; `name_of` names its program (PERTI's
/// `tmi.program` is the program's name; `slot.program_id` stays its number).
pub(super) fn controlled_json(r: &FlightRecord, name_of: &dyn Fn(u64) -> Option<String>) -> Value {
    let id = r.identity.as_deref();
    let fp = r.flight_plan.as_deref();
    let pos = r.position;
    let progress = r.progress.unwrap_or_default();
    let t = r.tmi.unwrap_or_default();
    let times = r.times.unwrap_or_default();
    json!({
        "gufi": id.map(|i| i.gufi.as_str()),
        "flight_uid": r.flight_uid,
        "flight_key": id.map(|i| i.flight_key.as_str()),
        "callsign": id.map(|i| i.callsign.as_str()),
        "cid": id.map(|i| i.cid),
        "aircraft": {"type": fp.map(|f| f.aircraft_type.as_str())},
        "route": {
            "departure": fp.map(|f| f.dept_icao.as_str()),
            "destination": fp.map(|f| f.dest_icao.as_str()),
            "alternate": fp.map(|f| f.alt_icao.as_str()),
            "departure_artcc": progress.dept_artcc.as_ref().map(|c| c.as_str()),
            "destination_artcc": progress.dest_artcc.as_ref().map(|c| c.as_str()),
        },
        "position": {
            "latitude": pos.map(|p| p.lat),
            "longitude": pos.map(|p| p.lon),
            "altitude_ft": pos.map(|p| p.altitude_ft),
            "ground_speed_kts": pos.map(|p| p.groundspeed_kts),
            "heading": pos.map(|p| p.heading_deg),
            "phase": progress.phase.as_str(),
            "current_artcc": progress.current_artcc.as_ref().map(|c| c.as_str()),
        },
        "times": {
            "eta": iso(t.eta_utc.or(progress.eta_utc)),
            "off": iso(times.off_utc),
            "ctd": iso(t.edct_utc),
            "cta": iso(t.slot_time_utc),
            "edct": iso(t.edct_utc),
        },
        "tmi": {
            "type": if t.gs_held { "GROUND_STOP" } else if t.ctl_type == Some(ControlType::Gdp) { "GDP" } else { "GS" },
            "program": r.gateway_program_id().and_then(name_of),
            // Who issued the controlling program: this gateway, or a
            // partner (PERTI's ADL) whose program numbers are its own.
            "controlled_by": r.tmi_controller.as_deref().unwrap_or("vatswim"),
            "is_exempt": false,
            "ground_stop": {"held": t.gs_held},
            "slot": {"time": iso(t.slot_time_utc), "program_id": t.program_id},
            "delay": {"minutes": t.delay_minutes},
        },
    })
}

/// Which programs a query asks about.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
enum Kind {
    #[default]
    All,
    Only(ControlType),
    /// A kind PERTI has and this gateway does not issue (AFP, reroute):
    /// nothing matches.
    NotIssuedHere,
}

impl Kind {
    fn admits(self, kind: ControlType) -> bool {
        match self {
            Kind::All => true,
            Kind::Only(k) => k == kind,
            Kind::NotIssuedHere => false,
        }
    }
}

/// The query of the TMI reads.
#[derive(Default)]
struct TmiQuery {
    kind: Kind,
    airports: Vec<String>,
    /// Programs: the airport's ARTCC; controlled flights: the destination's.
    artccs: Vec<String>,
    departures: Vec<String>,
    phases: Vec<crate::flight::Phase>,
    include_history: bool,
    /// One program by its number (PERTI's `id`), ended or not.
    id: Option<u64>,
    page: usize,
    per_page: usize,
}

/// The values `type` takes.
const KINDS: &[&str] = &["all", "gs", "ground_stop", "gdp", "afp", "reroute"];

fn kind_schema() -> utoipa::openapi::schema::Object {
    one_of(KINDS)
}

/// The parameters of `/tmi/programs`, as PERTI's `tmi/programs.php` reads
/// them (any other is ignored, as on every route).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProgramsParams {
    /// One program by its number, ended or not.
    #[param(value_type = Option<u64>)]
    id: Option<String>,
    /// `all` (default), `gs` (`ground_stop`), `gdp`; `afp` and `reroute`
    /// match nothing (not issued here).
    #[param(schema_with = kind_schema)]
    r#type: Option<String>,
    /// As `type` (PERTI's clients send either name).
    #[param(schema_with = kind_schema)]
    program_type: Option<String>,
    /// As `type`.
    #[param(schema_with = kind_schema)]
    control_type: Option<String>,
    /// The programs' airports, comma-separated.
    airport: Option<String>,
    /// ARTCCs of the programs' airports, comma-separated.
    artcc: Option<String>,
    /// Ended programs too.
    #[param(value_type = Option<bool>)]
    include_history: Option<String>,
    /// Accepted (PERTI's clients send it), checked, not used: the flights
    /// are `/tmi/controlled`'s.
    #[param(value_type = Option<bool>)]
    flights: Option<String>,
    /// As `flights`.
    #[param(value_type = Option<bool>)]
    include_flights: Option<String>,
}

/// The parameters of `/tmi/controlled`, as PERTI's `tmi/controlled.php`
/// reads them (any other is ignored, as on every route).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ControlledParams {
    /// `all` (default), `gs` (`ground_stop`), `gdp`; `afp` and `reroute`
    /// match nothing (not issued here).
    #[param(schema_with = kind_schema)]
    r#type: Option<String>,
    /// As `type`.
    #[param(schema_with = kind_schema)]
    program_type: Option<String>,
    /// As `type`.
    #[param(schema_with = kind_schema)]
    control_type: Option<String>,
    /// Destination airports, comma-separated.
    airport: Option<String>,
    /// Destination ARTCCs, comma-separated.
    artcc: Option<String>,
    /// Departure airports, comma-separated.
    dept_icao: Option<String>,
    /// Phases: prefile, taxiing, departed, enroute, descending, arrived,
    /// disconnected; PERTI's PROPOSED, DEPARTING, ENROUTE, DESCENT,
    /// ARRIVED, COMPLETED as aliases; comma-separated.
    #[param(schema_with = super::params::phase_list)]
    phase: Option<String>,
    /// Accepted (PERTI's clients send it), checked, not used: no flight is
    /// exempt from a program here.
    #[param(value_type = Option<bool>)]
    include_exempt: Option<String>,
    /// Page.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000)]
    page: Option<String>,
    /// Page size.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000)]
    per_page: Option<String>,
}

impl TmiQuery {
    fn of_programs(p: &ProgramsParams) -> Result<TmiQuery, ApiError> {
        flag_or_false("flights", &p.flights)?;
        flag_or_false("include_flights", &p.include_flights)?;
        Ok(TmiQuery {
            kind: kind(&p.r#type, &p.program_type, &p.control_type)?,
            airports: codes(&p.airport),
            artccs: codes(&p.artcc),
            include_history: flag_or_false("include_history", &p.include_history)?,
            id: optional(&p.id, |v| whole("id", v, 0, WHOLE_MAX))?,
            ..TmiQuery::default()
        })
    }

    fn of_controlled(p: &ControlledParams) -> Result<TmiQuery, ApiError> {
        flag_or_false("include_exempt", &p.include_exempt)?;
        Ok(TmiQuery {
            kind: kind(&p.r#type, &p.program_type, &p.control_type)?,
            airports: codes(&p.airport),
            artccs: codes(&p.artcc),
            departures: codes(&p.dept_icao),
            phases: optional(&p.phase, super::query::phases)?.unwrap_or_default(),
            page: page("page", &p.page, 1)?,
            per_page: page("per_page", &p.per_page, 100)?,
            ..TmiQuery::default()
        })
    }

    /// Whether a flight is under a TMI this query asks about.
    fn controls(&self, r: &FlightRecord) -> bool {
        let Some(t) = r.tmi.filter(|t| t.gs_held || t.ctl_type.is_some()) else {
            return false;
        };
        let kind_ok = match self.kind {
            Kind::All => true,
            Kind::Only(ControlType::Gs) => t.gs_held,
            Kind::Only(ControlType::Gdp) => t.ctl_type == Some(ControlType::Gdp),
            Kind::NotIssuedHere => false,
        };
        let fp = r.flight_plan.as_deref();
        let within = |list: &[String], code: Option<&str>| {
            list.is_empty() || code.is_some_and(|c| list.iter().any(|l| l == c))
        };
        let progress = r.progress.as_ref();
        let dest_artcc = progress
            .and_then(|p| p.dest_artcc.as_ref())
            .map(|c| c.as_str());
        let phase_ok =
            self.phases.is_empty() || progress.is_some_and(|p| self.phases.contains(&p.phase));
        kind_ok
            && phase_ok
            && within(&self.airports, fp.map(|f| f.dest_icao.as_str()))
            && within(&self.artccs, dest_artcc)
            && within(&self.departures, fp.map(|f| f.dept_icao.as_str()))
    }
}

/// `type`, or PERTI's other names for it (the last one given wins).
fn kind(
    r#type: &Option<String>,
    program_type: &Option<String>,
    control_type: &Option<String>,
) -> Result<Kind, ApiError> {
    let named = [
        ("type", r#type),
        ("program_type", program_type),
        ("control_type", control_type),
    ];
    // Every name given must hold a kind (a bad one is not hidden by a
    // good one beside it); the last given wins.
    let mut kind = Kind::All;
    for (name, value) in named {
        if let Some(value) = value.as_deref() {
            kind = kind_named(name, value)?;
        }
    }
    Ok(kind)
}

fn kind_named(name: &str, value: &str) -> Result<Kind, ApiError> {
    Ok(match value.to_ascii_lowercase().as_str() {
        "all" => Kind::All,
        "gs" | "ground_stop" => Kind::Only(ControlType::Gs),
        "gdp" => Kind::Only(ControlType::Gdp),
        "afp" | "reroute" => Kind::NotIssuedHere,
        _ => {
            return Err(ApiError::bad_param(
                name,
                format!("must be one of {}", KINDS.join(", ")),
            ));
        }
    })
}

/// `page` or `per_page`: 1 to 1000.
fn page(name: &str, value: &Option<String>, default: usize) -> Result<usize, ApiError> {
    Ok(optional(value, |v| whole(name, v, 1, 1000))?.map_or(default, |n| n as usize))
}
