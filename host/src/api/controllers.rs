//! `GET /controllers`: the ATC positions online, from the VATSIM feed's
//! `controllers`, in the shape of PERTI's `controllers.php` (its
//! `formatControllerRecord`), paginated; `summary=true` gives staffing per
//! facility instead. On a cluster's follower the request is answered by
//! the leader, which reads the feed (`forward.rs`).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use super::params::{ApiQuery, codes, flag_or_false, one_of, optional, whole};
use super::query::wildcard;
use super::render;
use super::response::{ApiError, Envelope, Pagination};
use super::state::AppState;
use crate::auth::layer::ErrorBody;
use crate::reference::AirportTable;
use crate::source::vatsim::Controller;
use crate::time::format_iso_millis;

/// PERTI's page limits for this route.
const MAX_PAGE: usize = 1_000;
const MAX_PER_PAGE: usize = 500;
const DEFAULT_PER_PAGE: usize = 100;

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Json,
    Xml,
    Ndjson,
}

struct ControllerQuery {
    summary: bool,
    callsign: Vec<String>,
    facility_types: Vec<String>,
    facility_ids: Vec<String>,
    artccs: Vec<String>,
    ratings: Vec<i32>,
    vnas_only: bool,
    page: usize,
    per_page: usize,
    format: Format,
}

/// The values `format` takes here (PERTI's base formats for this route).
const FORMATS: &[&str] = &["fixm", "json", "legacy", "xml", "ndjson"];

fn format_schema() -> utoipa::openapi::schema::Object {
    one_of(FORMATS)
}

/// The parameters of `/controllers` (PERTI's `controllers.php`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ControllersParams {
    /// Callsign patterns (`*` wildcard), comma-separated.
    callsign: Option<String>,
    /// OBS, FSS, DEL, GND, TWR, APP, CTR; comma-separated.
    facility_type: Option<String>,
    /// The callsign's facility part (JFK of JFK_TWR); comma-separated.
    facility_id: Option<String>,
    /// A centre's id, or the ARTCC of the airport a position serves;
    /// comma-separated.
    artcc: Option<String>,
    /// Ratings (numbers), comma-separated.
    #[param(schema_with = super::params::number_list)]
    rating: Option<String>,
    /// No vNAS data is ingested: `true` matches nothing.
    #[param(value_type = Option<bool>)]
    has_vnas: Option<String>,
    /// Staffing per facility instead of the positions.
    #[param(value_type = Option<bool>)]
    summary: Option<String>,
    /// Accepted: only online positions exist here.
    #[allow(dead_code)] // PERTI's clients send `status=active`; it is all there is.
    status: Option<String>,
    /// Page.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1000)]
    page: Option<String>,
    /// Page size.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 500)]
    per_page: Option<String>,
    /// JSON for fixm, json and legacy; xml; ndjson.
    #[param(schema_with = format_schema)]
    format: Option<String>,
}

impl ControllerQuery {
    fn parse(p: &ControllersParams) -> Result<ControllerQuery, ApiError> {
        // Empty, as a list parameter: no filter.
        let ratings = optional(&p.rating.clone().filter(|r| !r.is_empty()), |value| {
            value
                .split(',')
                .map(|r| r.trim().parse::<i32>())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    ApiError::bad_param(
                        "rating",
                        format!("{value:?} is not a list of ratings (numbers)"),
                    )
                })
        })?;
        let page = |name, v: &Option<String>, max: usize, default| {
            optional(v, |v| whole(name, v, 1, max as u64))
                .map(|n| n.map_or(default, |n| n as usize))
        };
        Ok(ControllerQuery {
            summary: flag_or_false("summary", &p.summary)?,
            callsign: codes(&p.callsign),
            facility_types: codes(&p.facility_type),
            facility_ids: codes(&p.facility_id),
            artccs: codes(&p.artcc),
            ratings: ratings.unwrap_or_default(),
            vnas_only: flag_or_false("has_vnas", &p.has_vnas)?,
            page: page("page", &p.page, MAX_PAGE, 1)?,
            per_page: page("per_page", &p.per_page, MAX_PER_PAGE, DEFAULT_PER_PAGE)?,
            format: p.format.as_deref().map_or(Ok(Format::Json), format)?,
        })
    }

    fn admits(&self, c: &Controller, airports: &AirportTable) -> bool {
        let any = |list: &[String], value: &str| list.is_empty() || list.iter().any(|l| l == value);
        (self.callsign.is_empty() || self.callsign.iter().any(|p| wildcard(p, &c.callsign)))
            && any(&self.facility_types, c.facility_type)
            && any(&self.facility_ids, &c.facility_id)
            && (self.artccs.is_empty() || artcc(c, airports).is_some_and(|a| self.artccs.contains(&a)))
            && (self.ratings.is_empty() || c.rating.is_some_and(|r| self.ratings.contains(&r)))
            // No vNAS data is ingested: asking for it matches nothing.
            && !self.vnas_only
    }
}

/// The ARTCC a position belongs to: a centre's own id (`ZNY_CTR`), or the
/// ARTCC of the airport it serves (`JFK_TWR` is at KJFK, in ZNY).
fn artcc(c: &Controller, airports: &AirportTable) -> Option<String> {
    if c.facility_type == "CTR" {
        return Some(c.facility_id.clone());
    }
    let id = &c.facility_id;
    airports
        .get(id)
        .or_else(|| {
            (id.len() == 3)
                .then(|| airports.get(&format!("K{id}")))
                .flatten()
        })
        .map(|a| a.artcc.clone())
}

fn format(value: &str) -> Result<Format, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "fixm" | "json" | "legacy" => Ok(Format::Json),
        "xml" => Ok(Format::Xml),
        "ndjson" => Ok(Format::Ndjson),
        other => Err(ApiError::bad_param(
            "format",
            format!("{other:?} is not one of {}", FORMATS.join(", ")),
        )),
    }
}

/// ATC positions online, from the VATSIM feed (PERTI's `controllers.php`).
#[utoipa::path(get, path = "/controllers", tag = "flights", params(ControllersParams),
    responses(
        (status = 200, description = "`{success, data: positions, pagination, timestamp}`; with `summary=true`, staffing per facility", content(
            (serde_json::Value = "application/json"),
            (String = "application/xml"),
            (String = "application/x-ndjson"),
        )),
        (status = 400, description = "A parameter is wrong; the message names it", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ControllersParams>,
) -> Result<Response, ApiError> {
    let q = ControllerQuery::parse(&params)?;
    let roster = state.shared.controllers.load_full();
    let airports = AirportTable::embedded();
    let matching: Vec<&Controller> = roster
        .controllers
        .iter()
        .filter(|c| q.admits(c, &airports))
        .collect();
    if q.summary {
        return Ok(summary(&matching, roster.as_of));
    }
    let total = matching.len();
    let page: Vec<Value> = matching
        .iter()
        .skip((q.page - 1) * q.per_page)
        .take(q.per_page)
        .map(|c| record(c, roster.as_of))
        .collect();
    let envelope =
        Envelope::new(page, roster.as_of).paginated(Pagination::new(total, q.page, q.per_page));
    Ok(match q.format {
        Format::Json => envelope.into_response(),
        Format::Xml => {
            let value = serde_json::to_value(envelope).unwrap_or_default();
            let body = render::xml("swim_controllers", "controller", &value);
            (
                [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
                body,
            )
                .into_response()
        }
        Format::Ndjson => {
            let value = serde_json::to_value(envelope).unwrap_or_default();
            let body: String = value["data"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| format!("{c}\n"))
                .collect();
            ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
        }
    })
}

/// One position, as PERTI's `formatControllerRecord` writes it. The v3 feed
/// gives no coordinates for controllers (`position` null) and no vNAS data.
fn record(c: &Controller, as_of: i64) -> Value {
    let iso = |ms: Option<i64>| ms.map(format_iso_millis);
    json!({
        "cid": c.cid,
        "callsign": c.callsign,
        "frequency": c.frequency,
        "facility": {"type": c.facility_type, "id": c.facility_id},
        "position": null,
        "rating": c.rating,
        "logon_time": iso(c.logon_utc),
        "is_observer": c.is_observer(),
        "is_active": true,
        "visual_range": c.visual_range,
        "last_source": "vatsim",
        "first_seen": iso(c.logon_utc),
        "last_updated": iso(c.last_updated_utc.or(Some(as_of))),
    })
}

/// `summary=true`: staffing per facility, busiest first.
fn summary(controllers: &[&Controller], as_of: i64) -> Response {
    let mut by_facility: BTreeMap<(&str, &str), (usize, usize, usize)> = BTreeMap::new();
    for c in controllers {
        let entry = by_facility
            .entry((c.facility_id.as_str(), c.facility_type))
            .or_default();
        entry.0 += 1;
        if c.is_observer() {
            entry.2 += 1;
        } else {
            entry.1 += 1;
        }
    }
    let mut facilities: Vec<Value> = by_facility
        .into_iter()
        .map(|((id, kind), (count, active, observers))| {
            json!({
                "facility": id,
                "facility_type": kind,
                "controller_count": count,
                "active_controllers": active,
                "observers": observers,
                "vnas_enriched": 0,
            })
        })
        .collect();
    facilities.sort_by_key(|f| std::cmp::Reverse(f["controller_count"].as_u64()));
    axum::Json(json!({
        "success": true,
        "count": facilities.len(),
        "data": facilities,
        "timestamp": format_iso_millis(as_of),
    }))
    .into_response()
}
