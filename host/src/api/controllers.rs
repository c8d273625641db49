//! `GET /controllers`: the ATC positions online, from the VATSIM feed's
//! `controllers`, in the shape of PERTI's `controllers.php` (its
//! `formatControllerRecord`), paginated; `summary=true` gives staffing per
//! facility instead. On a cluster's follower the request is answered by
//! the leader, which reads the feed (`forward.rs`).

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::query::{self, wildcard};
use super::render;
use super::response::{ApiError, Envelope, Pagination};
use super::state::AppState;
use crate::reference::AirportTable;
use crate::source::vatsim::Controller;
use crate::time::format_iso_millis;

/// PERTI's page limits for this route.
const MAX_PAGE: usize = 1_000;
const MAX_PER_PAGE: usize = 500;
const DEFAULT_PER_PAGE: usize = 100;

/// The formats served here (PERTI's base formats for this route).
const FORMATS: &str = "fixm, json, legacy, xml, ndjson";

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

impl ControllerQuery {
    fn parse(pairs: &[(String, String)]) -> Result<ControllerQuery, ApiError> {
        let mut q = ControllerQuery {
            summary: false,
            callsign: Vec::new(),
            facility_types: Vec::new(),
            facility_ids: Vec::new(),
            artccs: Vec::new(),
            ratings: Vec::new(),
            vnas_only: false,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            format: Format::Json,
        };
        for (name, value) in pairs {
            let value = value.trim();
            match name.as_str() {
                "summary" => q.summary = matches!(value, "true" | "1"),
                "callsign" => q.callsign = query::list(value),
                "facility_type" => q.facility_types = query::list(value),
                "facility_id" => q.facility_ids = query::list(value),
                "artcc" => q.artccs = query::list(value),
                "rating" => {
                    q.ratings = value
                        .split(',')
                        .map(|r| r.trim().parse::<i32>())
                        .collect::<Result<_, _>>()
                        .map_err(|_| {
                            ApiError::bad_param(
                                "rating",
                                format!("{value:?} is not a list of ratings (numbers)"),
                            )
                        })?
                }
                "has_vnas" => q.vnas_only = matches!(value, "true" | "1"),
                "page" => q.page = bounded(name, value, MAX_PAGE)?,
                "per_page" => q.per_page = bounded(name, value, MAX_PER_PAGE)?,
                "format" => q.format = format(value)?,
                // `status=active` is all there is: the feed lists only the
                // positions online.
                _ => {}
            }
        }
        Ok(q)
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

fn bounded(name: &str, value: &str, max: usize) -> Result<usize, ApiError> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            ApiError::bad_param(
                name,
                format!("{value:?} must be a whole number from 1 to {max}"),
            )
        })
}

fn format(value: &str) -> Result<Format, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "" | "fixm" | "json" | "legacy" => Ok(Format::Json),
        "xml" => Ok(Format::Xml),
        "ndjson" => Ok(Format::Ndjson),
        other => Err(ApiError::bad_param(
            "format",
            format!("{other:?} is not one of {FORMATS}"),
        )),
    }
}

/// `GET /controllers`.
pub async fn list(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let q = ControllerQuery::parse(&pairs)?;
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
