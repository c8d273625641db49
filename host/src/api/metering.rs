//! `GET /metering/{airport}` and `/metering/{airport}/sequence`: the
//! metering partners post (`POST /ingest/metering`), per arrival airport, in
//! the shape of PERTI's `metering.php`: `{airport, type, flights[], count,
//! summary}`, FIXM names (camelCase) by default, PERTI's column names for
//! `format=json`.
//!
//! The sequence number is the flight's rank by scheduled time of arrival
//! among the metered arrivals (TBFM sequences by STA); the metering adapter
//! takes no number of its own.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::IntoParams;

use super::params::{ApiQuery, one_of};
use super::render::{self, Derived};
use super::response::{ApiError, Envelope};
use super::state::AppState;
use super::tmi::iso;
use crate::auth::layer::ErrorBody;
use crate::flight::{FlightRecord, Metering};

/// PERTI's FIXM names of the metering columns (`convertToFixmNaming`).
const FIXM_NAMES: &[(&str, &str)] = &[
    ("flight_uid", "flightUid"),
    ("callsign", "aircraftIdentification"),
    ("fp_dept_icao", "departureAerodrome"),
    ("fp_dest_icao", "arrivalAerodrome"),
    ("aircraft_type", "aircraftType"),
    ("weight_class", "weightClass"),
    ("lat", "latitude"),
    ("lon", "longitude"),
    ("altitude_ft", "altitude"),
    ("groundspeed_kts", "groundSpeed"),
    ("eta_utc", "estimatedTimeOfArrival"),
    ("eta_runway_utc", "estimatedRunwayTimeOfArrival"),
    ("sequence_number", "sequenceNumber"),
    ("scheduled_time_of_arrival", "scheduledTimeOfArrival"),
    ("scheduled_time_of_departure", "scheduledTimeOfDeparture"),
    ("metering_point", "meteringPoint"),
    ("metering_time", "meteringTime"),
    ("metering_delay", "delayValue"),
    ("metering_frozen", "frozenIndicator"),
    ("metering_status", "meteringStatus"),
    ("arrival_stream", "arrivalStream"),
    ("arr_runway", "arrivalRunway"),
    ("undelayed_eta", "undelayedEta"),
    ("eta_vertex", "etaVertex"),
    ("sta_vertex", "staVertex"),
    ("vertex_point", "vertexPoint"),
    ("metering_source", "meteringSource"),
    ("metering_updated_at", "meteringUpdatedTime"),
    ("gs_held", "groundStopHeld"),
    ("edct_utc", "expectedDepartureClearanceTime"),
    ("ctl_type", "controlType"),
    ("delay_minutes", "tmiDelayValue"),
];

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Fixm,
    Json,
    Xml,
    Ndjson,
    Csv,
}

/// The filters of a metering request.
struct MeteringQuery {
    status: Option<String>,
    runway: Option<String>,
    stream: Option<String>,
    metered_only: bool,
    format: Format,
}

/// The values `format` takes here, as PERTI's metering endpoint lists them.
const FORMATS: &[&str] = &["fixm", "json", "xml", "ndjson", "csv"];

fn format_schema() -> utoipa::openapi::schema::Object {
    one_of(FORMATS)
}

/// The parameters of `/metering/{airport}` and its `sequence`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeteringParams {
    /// Metering status, e.g. `METERED`.
    status: Option<String>,
    /// Arrival stream.
    stream: Option<String>,
    /// Arrival runway (none is ingested: matches nothing).
    runway: Option<String>,
    /// Only flights with a metering status (default true).
    #[param(value_type = Option<bool>)]
    metered_only: Option<String>,
    /// fixm: camelCase names; json: PERTI's column names; xml, ndjson, csv.
    #[param(schema_with = format_schema)]
    format: Option<String>,
}

impl MeteringQuery {
    fn parse(p: &MeteringParams) -> Result<MeteringQuery, ApiError> {
        let upper = |v: &Option<String>| {
            v.as_deref()
                .map(str::to_ascii_uppercase)
                .filter(|v| !v.is_empty())
        };
        Ok(MeteringQuery {
            status: upper(&p.status),
            runway: upper(&p.runway),
            stream: upper(&p.stream),
            metered_only: super::params::optional(&p.metered_only, |v| {
                super::params::flag("metered_only", v)
            })?
            .unwrap_or(true),
            format: p.format.as_deref().map_or(Ok(Format::Fixm), format)?,
        })
    }

    fn admits(&self, m: Option<&Metering>) -> bool {
        let field = |v: Option<&String>, want: &Option<String>| {
            want.as_ref().is_none_or(|w| v.is_some_and(|v| v == w))
        };
        (!self.metered_only || m.is_some_and(|m| m.status.is_some()))
            && field(m.and_then(|m| m.status.as_ref()), &self.status)
            // No runway is ingested: a runway filter matches nothing.
            && self.runway.is_none()
            && field(m.and_then(|m| m.stream.as_ref()), &self.stream)
    }
}

fn format(value: &str) -> Result<Format, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "fixm" => Ok(Format::Fixm),
        "json" => Ok(Format::Json),
        "xml" => Ok(Format::Xml),
        "ndjson" => Ok(Format::Ndjson),
        "csv" => Ok(Format::Csv),
        other => Err(ApiError::bad_param(
            "format",
            format!("{other:?} is not one of {}", FORMATS.join(", ")),
        )),
    }
}

/// An airport's metered arrivals (PERTI's `metering.php`).
#[utoipa::path(get, path = "/metering/{airport}", tag = "metering", params(("airport" = String, Path, description = "The arrival airport (3 or 4 letters or digits)", pattern = "^[A-Za-z0-9]{3,4}$"), MeteringParams),
    responses(
        (status = 200, description = "`{success, data: {airport, type: metering_data, flights, count, summary}}`", content(
            (Object = "application/json"), (String = "application/xml"),
            (String = "application/x-ndjson"), (String = "text/csv"),
        )),
        (status = 400, description = "A parameter or the airport is wrong; the message names it", body = ErrorBody),
    ))]
pub async fn airport(
    state: State<AppState>,
    Path(airport): Path<String>,
    params: ApiQuery<MeteringParams>,
) -> Result<Response, ApiError> {
    answer(state, airport, false, params)
}

/// An airport's arrival sequence.
#[utoipa::path(get, path = "/metering/{airport}/sequence", tag = "metering", params(("airport" = String, Path, description = "The arrival airport (3 or 4 letters or digits)", pattern = "^[A-Za-z0-9]{3,4}$"), MeteringParams),
    responses(
        (status = 200, description = "`{success, data: {airport, type: sequence_list, flights, count, summary}}`", content(
            (Object = "application/json"), (String = "application/xml"),
            (String = "application/x-ndjson"), (String = "text/csv"),
        )),
        (status = 400, description = "A parameter or the airport is wrong; the message names it", body = ErrorBody),
    ))]
pub async fn sequence(
    state: State<AppState>,
    Path(airport): Path<String>,
    params: ApiQuery<MeteringParams>,
) -> Result<Response, ApiError> {
    answer(state, airport, true, params)
}

fn answer(
    State(state): State<AppState>,
    airport: String,
    sequence: bool,
    ApiQuery(params): ApiQuery<MeteringParams>,
) -> Result<Response, ApiError> {
    let airport = airport_code(&airport)?;
    let q = MeteringQuery::parse(&params)?;
    let view = state.shared.view.load_full();
    let ctx = render::Context::new(state.shared.programs.load_full());
    let arrivals = sequenced(
        view.arriving(std::slice::from_ref(&airport))
            .into_iter()
            .map(|i| &view.flights[i]),
    );
    let rows: Vec<Map<String, Value>> = arrivals
        .iter()
        .filter(|(r, _)| r.progress.is_some_and(|p| p.is_active) && q.admits(r.metering.as_ref()))
        .filter(|(_, seq)| !sequence || seq.is_some())
        .map(|(r, seq)| {
            let derived = Derived::of(r, &ctx);
            let row = if sequence {
                sequence_row(r, *seq, &derived)
            } else {
                full_row(r, *seq, &derived)
            };
            if q.format == Format::Json {
                row
            } else {
                fixm_names(row)
            }
        })
        .collect();
    let fixm = q.format != Format::Json;
    let data = json!({
        "airport": airport,
        "type": if sequence { "sequence_list" } else { "metering_data" },
        "count": rows.len(),
        "summary": summary(&rows, fixm),
        "flights": rows,
    });
    Ok(respond(q.format, data, &rows, view.as_of))
}

/// The airport in the path, upper-cased; a 400 naming it if it is not a
/// code.
fn airport_code(airport: &str) -> Result<String, ApiError> {
    let airport = airport.trim().to_ascii_uppercase();
    if !(3..=4).contains(&airport.len()) || !airport.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError {
            status: axum::http::StatusCode::BAD_REQUEST,
            code: "INVALID_AIRPORT",
            message: format!("{airport:?} is not an airport code (3 or 4 letters or digits)"),
        });
    }
    Ok(airport)
}

/// The answer in the format asked for: the envelope (JSON, FIXM names),
/// XML, one row a line, or CSV.
fn respond(format: Format, data: Value, rows: &[Map<String, Value>], as_of: i64) -> Response {
    match format {
        Format::Fixm | Format::Json => Envelope::new(data, as_of).into_response(),
        Format::Xml => {
            let value = serde_json::to_value(Envelope::new(data, as_of)).unwrap_or_default();
            let body = render::xml("swim_metering", "flight", &value);
            (
                [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
                body,
            )
                .into_response()
        }
        Format::Ndjson => {
            let body: String = rows
                .iter()
                .map(|row| format!("{}\n", Value::Object(row.clone())))
                .collect();
            ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
        }
        Format::Csv => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            render::csv_of_rows(rows),
        )
            .into_response(),
    }
}

/// The airport's arrivals, each with its sequence number: the rank by STA
/// of the metered ones. In sequence order, then unmetered by ETA.
fn sequenced<'a>(
    arrivals: impl Iterator<Item = &'a Arc<FlightRecord>>,
) -> Vec<(&'a Arc<FlightRecord>, Option<u32>)> {
    let mut flights: Vec<&Arc<FlightRecord>> = arrivals.collect();
    let sta = |r: &FlightRecord| r.metering.as_ref().and_then(|m| m.sta_utc);
    let eta = |r: &FlightRecord| r.progress.and_then(|p| p.eta_utc);
    flights.sort_by_key(|r| (sta(r).is_none(), sta(r), eta(r), r.flight_uid));
    let mut next = 0;
    flights
        .into_iter()
        .map(|r| {
            let seq = sta(r).map(|_| {
                next += 1;
                next
            });
            (r, seq)
        })
        .collect()
}

fn common(r: &FlightRecord, seq: Option<u32>, d: &Derived<'_>) -> Map<String, Value> {
    let id = r.identity.as_deref();
    let fp = r.flight_plan.as_deref();
    let m = r.metering.as_ref();
    let json = json!({
        "callsign": id.map(|i| i.callsign.as_str()),
        "gufi": id.map(|i| i.gufi.as_str()),
        "fp_dept_icao": fp.map(|f| f.dept_icao.as_str()),
        "aircraft_type": fp.map(|f| f.aircraft_type.as_str()),
        "weight_class": d.weight_class(),
        "sequence_number": seq,
        "scheduled_time_of_arrival": iso(m.and_then(|m| m.sta_utc)),
        "eta_runway_utc": null,
        "metering_delay": m.and_then(|m| m.delay_minutes),
        "metering_frozen": m.map(|m| m.frozen),
        "metering_status": m.and_then(|m| m.status.as_deref()),
        "arr_runway": null,
        "arrival_stream": m.and_then(|m| m.stream.as_deref()),
    });
    match json {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `/sequence`: the compact row PERTI's datablocks read.
fn sequence_row(r: &FlightRecord, seq: Option<u32>, d: &Derived<'_>) -> Map<String, Value> {
    common(r, seq, d)
}

/// The full row.
fn full_row(r: &FlightRecord, seq: Option<u32>, d: &Derived<'_>) -> Map<String, Value> {
    let mut row = common(r, seq, d);
    let fp = r.flight_plan.as_deref();
    let p = r.position;
    let m = r.metering.as_ref();
    let t = r.tmi.unwrap_or_default();
    let more = json!({
        "flight_uid": r.flight_uid,
        "fp_dest_icao": fp.map(|f| f.dest_icao.as_str()),
        "phase": r.progress.map(|p| p.phase.as_str()),
        "lat": p.map(|p| p.lat),
        "lon": p.map(|p| p.lon),
        "altitude_ft": p.map(|p| p.altitude_ft),
        "groundspeed_kts": p.map(|p| p.groundspeed_kts),
        "eta_utc": iso(r.progress.and_then(|p| p.eta_utc)),
        "scheduled_time_of_departure": null,
        "metering_point": m.and_then(|m| m.metering_point.as_deref()),
        "metering_time": iso(m.and_then(|m| m.metering_time_utc)),
        "undelayed_eta": null,
        "eta_vertex": null,
        "sta_vertex": null,
        "vertex_point": null,
        "metering_source": null,
        "metering_updated_at": null,
        "gs_held": t.gs_held,
        "edct_utc": iso(t.edct_utc),
        "ctl_type": t.ctl_type,
        "delay_minutes": t.delay_minutes,
    });
    if let Value::Object(more) = more {
        row.extend(more);
    }
    row
}

fn fixm_names(row: Map<String, Value>) -> Map<String, Value> {
    row.into_iter()
        .map(|(key, value)| {
            let name = FIXM_NAMES
                .iter()
                .find(|(from, _)| *from == key)
                .map_or(key, |(_, to)| (*to).to_string());
            (name, value)
        })
        .collect()
}

/// PERTI's summary: metered (a status other than UNMETERED), frozen, and
/// the mean delay of the metered.
fn summary(rows: &[Map<String, Value>], fixm: bool) -> Value {
    let key = |snake: &'static str| {
        if fixm {
            FIXM_NAMES
                .iter()
                .find(|(s, _)| *s == snake)
                .map_or(snake, |(_, f)| *f)
        } else {
            snake
        }
    };
    let (status, frozen, delay) = (
        key("metering_status"),
        key("metering_frozen"),
        key("metering_delay"),
    );
    let metered = rows
        .iter()
        .filter(|r| {
            r.get(status)
                .and_then(Value::as_str)
                .is_some_and(|s| s != "UNMETERED")
        })
        .count();
    let frozen_count = rows
        .iter()
        .filter(|r| r.get(frozen) == Some(&Value::Bool(true)))
        .count();
    let total_delay: i64 = rows
        .iter()
        .filter_map(|r| r.get(delay).and_then(Value::as_i64))
        .sum();
    let average = if metered > 0 {
        (total_delay as f64 / metered as f64 * 10.0).round() / 10.0
    } else {
        0.0
    };
    json!({
        "total": rows.len(),
        "metered": metered,
        "frozen": frozen_count,
        "avg_delay_minutes": average,
    })
}
