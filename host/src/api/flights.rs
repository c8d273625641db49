//! `GET /flights`, `GET /flight`, `GET /positions`.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::cache;
use super::params::{ApiQuery, one_of, optional};
use super::query::{self, FlightFilterParams, FlightQuery, FlightsPage, Format};
use super::render;
use super::response::{ApiError, Envelope, FoundFlight, ListedFlight, Pagination};
use super::state::AppState;
use crate::auth::layer::ErrorBody;
use crate::flight::FlightRecord;
use crate::store::FlightsView;

/// Flights, filtered and paginated, in the format asked for (PERTI's FIXM
/// names unless asked otherwise).
#[utoipa::path(get, path = "/flights", tag = "flights", params(FlightFilterParams, FlightsPage),
    responses(
        (status = 200, description = "A page of flights", content(
            (Envelope<Vec<ListedFlight>> = "application/json"),
            (serde_json::Value = "application/geo+json"),
            (String = "application/x-ndjson"),
            (String = "text/csv"),
            (String = "application/xml"),
            (String = "application/vnd.google-earth.kml+xml"),
        )),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, description = "A parameter is wrong; the message names it", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    ApiQuery(filter): ApiQuery<FlightFilterParams>,
    ApiQuery(page): ApiQuery<FlightsPage>,
) -> Result<Response, ApiError> {
    let query = FlightQuery::of_list(&filter, &page)?;
    let key = cache::key("/flights", raw.as_deref());
    Ok(through_cache(&state, &key, &headers, |source| render_list(source, &query)).await)
}

/// The answer to `key` from the response cache, or rendered by `render`
/// from the newest view and programs (and kept).
async fn through_cache(
    state: &AppState,
    key: &str,
    headers: &HeaderMap,
    render: impl FnOnce(&cache::Source) -> Response,
) -> Response {
    let gzip = cache::accepts_gzip(headers);
    let source = state.render_source();
    if let Some(hit) = state.cache.get(&source, key, gzip) {
        return hit;
    }
    let response = render(&source);
    state
        .cache
        .keep(&source, &state.render_source(), key, response, gzip)
        .await
}

/// A page of flights in the query's format.
fn render_list(source: &cache::Source, query: &FlightQuery) -> Response {
    let view = &source.view;
    let ctx = render::Context::new(source.programs.clone());
    let matching = matching(view, query);
    let total = matching.len();
    let page: Vec<&Arc<FlightRecord>> = matching
        .into_iter()
        .skip((query.page - 1).saturating_mul(query.per_page))
        .take(query.per_page)
        .collect();
    let pagination = Pagination::new(total, query.page, query.per_page);
    let fixm = || -> Vec<render::FixmFlight<'_>> {
        page.iter()
            .map(|r| render::fixm_flight(r, &render::Derived::of(r, &ctx)))
            .collect()
    };
    let fixm_listed = || {
        fixm()
            .into_iter()
            .map(ListedFlight::Fixm)
            .collect::<Vec<_>>()
    };
    let response = match query.format {
        Format::Fixm => Envelope::new(fixm_listed(), view.as_of)
            .paginated(pagination)
            .into_response(),
        Format::Legacy => {
            let data: Vec<_> = page
                .iter()
                .map(|r| (r, render::Derived::of(r, &ctx)))
                .map(|(r, d)| ListedFlight::Legacy(render::legacy(r, &d)))
                .collect();
            Envelope::new(data, view.as_of)
                .paginated(pagination)
                .into_response()
        }
        Format::GeoJson => geojson(&page, &ctx, false, Some(pagination), view.as_of),
        Format::Ndjson => ndjson(&page, &ctx),
        Format::Csv => csv(&page),
        Format::Xml => {
            let envelope = Envelope::new(fixm(), view.as_of).paginated(pagination);
            let value = serde_json::to_value(envelope).unwrap_or_default();
            let body = render::xml("swim_flights", "flight", &value);
            (
                [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
                body,
            )
                .into_response()
        }
        Format::Kml => {
            let generated = crate::time::format_iso_millis(view.as_of);
            let body = render::kml("VATSWIM Flights", &generated, page.iter().map(|r| &***r));
            ([(header::CONTENT_TYPE, KML)], body).into_response()
        }
    };
    naming_unserved(response, &query.unserved)
}

/// PERTI filters the request gave that were not applied, named in a
/// header so a client can tell "no such flights" from "filter not served".
fn naming_unserved(mut response: Response, unserved: &[&str]) -> Response {
    if let Ok(value) = header::HeaderValue::from_str(&unserved.join(","))
        && !unserved.is_empty()
    {
        response.headers_mut().insert(UNSERVED_HEADER, value);
    }
    response
}

/// The header naming the filters not applied.
const UNSERVED_HEADER: &str = "x-swim-unserved-filters";

/// KML's media type.
const KML: &str = "application/vnd.google-earth.kml+xml; charset=utf-8";

/// The flights that pass the query's filter, in view order. Airport
/// filters start from their index; the rest is checked per candidate.
fn matching<'a>(view: &'a FlightsView, query: &FlightQuery) -> Vec<&'a Arc<FlightRecord>> {
    let f = &query.filter;
    let candidates: Box<dyn Iterator<Item = &Arc<FlightRecord>>> = if !f.dept_icao.is_empty() {
        Box::new(
            view.departing(&f.dept_icao)
                .into_iter()
                .map(|i| &view.flights[i]),
        )
    } else if !f.dest_icao.is_empty() {
        Box::new(
            view.arriving(&f.dest_icao)
                .into_iter()
                .map(|i| &view.flights[i]),
        )
    } else {
        Box::new(view.flights.iter())
    };
    candidates.filter(|r| f.matches(r)).collect()
}

/// The values `format` takes on `/flight`.
const ONE_FLIGHT_FORMATS: &[&str] = &["fixm", "json", "legacy"];

fn one_flight_format() -> utoipa::openapi::schema::Object {
    one_of(ONE_FLIGHT_FORMATS)
}

/// The parameters of `/flight`: one of `gufi`, `flight_uid`, `flight_key`
/// or `callsign` is required (400 `MISSING_PARAM` without any).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlightParams {
    /// GUFI: the UUID, or the legacy `VAT-YYYYMMDD-CALLSIGN-DEPT-DEST`.
    gufi: Option<String>,
    /// The flight's uid.
    #[param(value_type = Option<u64>)]
    flight_uid: Option<String>,
    /// The flight key.
    flight_key: Option<String>,
    /// A callsign: the connected flight, else the latest (the gateway's
    /// addition).
    callsign: Option<String>,
    /// FIXM (PERTI's `flight.php` shape) whatever JSON format is named, as
    /// PERTI; `legacy`: the earlier snake_case record.
    #[param(schema_with = one_flight_format)]
    format: Option<String>,
    /// Accepted (PERTI's clients send it), checked, not used: a flight no
    /// longer connected is found either way.
    #[param(value_type = Option<bool>)]
    include_history: Option<String>,
}

/// One flight by `gufi`, `flight_uid`, `flight_key` or `callsign`.
#[utoipa::path(get, path = "/flight", tag = "flights", params(FlightParams),
    responses(
        (status = 200, description = "The flight (PERTI's `flight.php` FIXM shape, times and TMI nested; `format=legacy`: the snake_case record)", body = Envelope<FoundFlight>),
        (status = 400, description = "No identifier, or a parameter is wrong; the message names it", body = ErrorBody),
        (status = 404, description = "No such flight", body = ErrorBody),
    ))]
pub async fn one(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<FlightParams>,
) -> Result<Response, ApiError> {
    super::params::flag_or_false("include_history", &params.include_history)?;
    let view = state.shared.view.load_full();
    // PERTI answers FIXM whatever `format` says; a format this route does
    // not serve is refused here rather than answered with another, and
    // `legacy` is this gateway's way to the earlier names (docs/PERTI.md).
    let legacy = match params.format.map(|f| f.to_ascii_lowercase()).as_deref() {
        None | Some("fixm" | "json") => false,
        Some("legacy") => true,
        Some(other) => {
            return Err(ApiError::bad_param(
                "format",
                format!(
                    "{other:?} is not one of fixm, json, legacy (/flight answers one flight as JSON; /flights serves the other formats)"
                ),
            ));
        }
    };
    let ids = FlightIds {
        gufi: params.gufi.as_deref(),
        flight_uid: params.flight_uid.as_deref(),
        flight_key: params.flight_key.as_deref(),
        callsign: params.callsign.as_deref(),
    };
    let record = ids.find(&view)?;
    let ctx = render::Context::new(state.shared.programs.load_full());
    let derived = render::Derived::of(&record, &ctx);
    if legacy {
        let flight = FoundFlight::Legacy(render::legacy(&record, &derived));
        return Ok(Envelope::new(flight, view.as_of).into_response());
    }
    let flight = FoundFlight::Fixm(render::fixm_detail(&record, &derived));
    Ok(Envelope::new(flight, view.as_of).into_response())
}

/// The ways to name one flight (`/flight`, `/flight/track`).
struct FlightIds<'a> {
    gufi: Option<&'a str>,
    flight_uid: Option<&'a str>,
    flight_key: Option<&'a str>,
    callsign: Option<&'a str>,
}

impl FlightIds<'_> {
    /// The flight named by the first identifier given; a callsign finds
    /// the connected flight if there is one, else the latest.
    fn find(&self, view: &FlightsView) -> Result<Arc<FlightRecord>, ApiError> {
        let found = if let Some(gufi) = self.gufi {
            view.by_any_gufi(gufi).cloned()
        } else if let Some(uid) = self.flight_uid {
            let uid = super::params::whole("flight_uid", uid, 0, super::params::WHOLE_MAX)?;
            view.by_uid(uid).cloned()
        } else if let Some(key) = self.flight_key {
            view.by_flight_key(key).cloned()
        } else if let Some(callsign) = self.callsign {
            let all: Vec<_> = view.by_callsign(callsign).cloned().collect();
            all.iter()
                .find(|r| r.progress.is_some_and(|p| p.is_active))
                .or(all.iter().max_by_key(|r| r.flight_uid))
                .cloned()
        } else {
            return Err(ApiError::missing(
                "Missing required parameter: gufi, flight_uid, flight_key or callsign",
            ));
        };
        found.ok_or_else(|| ApiError::not_found("Flight not found"))
    }
}

/// The parameters of `/flight/track`: one flight, named as `/flight` names it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrackParams {
    /// GUFI: the UUID, or the legacy `VAT-YYYYMMDD-CALLSIGN-DEPT-DEST`.
    gufi: Option<String>,
    /// The flight's uid.
    #[param(value_type = Option<u64>)]
    flight_uid: Option<String>,
    /// The flight key.
    flight_key: Option<String>,
    /// A callsign: the connected flight, else the latest.
    callsign: Option<String>,
}

/// A flight's track.
#[derive(Serialize, ToSchema)]
pub struct FlightTrack {
    flight_uid: u64,
    callsign: Option<String>,
    #[serde(flatten)]
    track: crate::store::track::Track,
}

/// Where one flight has been since the gateway first saw it: its
/// positions, oldest first (at least 30 s apart, or 1,000 ft; at most 128,
/// evened out over a long flight), and `since_seq`, after which the change
/// feed holds its events (`/events?flight_uid=...&since=...`). The
/// gateway's addition: PERTI has no track read.
#[utoipa::path(get, path = "/flight/track", tag = "flights", params(TrackParams),
    responses(
        (status = 200, description = "The track", body = Envelope<FlightTrack>),
        (status = 400, description = "No identifier, or a parameter is wrong; the message names it", body = ErrorBody),
        (status = 404, description = "No such flight", body = ErrorBody),
    ))]
pub async fn track(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<TrackParams>,
) -> Result<Response, ApiError> {
    let view = state.shared.view.load_full();
    let ids = FlightIds {
        gufi: params.gufi.as_deref(),
        flight_uid: params.flight_uid.as_deref(),
        flight_key: params.flight_key.as_deref(),
        callsign: params.callsign.as_deref(),
    };
    let record = ids.find(&view)?;
    let track = state
        .shared
        .tracks
        .of(record.flight_uid)
        .unwrap_or_default();
    let body = FlightTrack {
        flight_uid: record.flight_uid,
        callsign: record.identity.as_ref().map(|i| i.callsign.to_string()),
        track,
    };
    Ok(Envelope::new(body, view.as_of).into_response())
}

/// The query parameters of `/flight/{gufi}`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlightPathParams {
    /// As `/flight`.
    #[param(schema_with = one_flight_format)]
    format: Option<String>,
    /// As `/flight`.
    #[param(value_type = Option<bool>)]
    include_history: Option<String>,
}

/// One flight by either GUFI in the path: the form PERTI's `.htaccess`
/// routes to its `flight.php`.
#[utoipa::path(get, path = "/flight/{gufi}", tag = "flights",
    params(("gufi" = String, Path, description = "The UUID or the legacy `VAT-YYYYMMDD-CALLSIGN-DEPT-DEST`"), FlightPathParams),
    responses(
        (status = 200, description = "The flight, as `/flight`", body = Envelope<FoundFlight>),
        (status = 400, description = "A `format` other than fixm, json, legacy", body = ErrorBody),
        (status = 404, description = "No such flight", body = ErrorBody),
    ))]
pub async fn by_path(
    state: State<AppState>,
    Path(gufi): Path<String>,
    ApiQuery(params): ApiQuery<FlightPathParams>,
) -> Result<Response, ApiError> {
    let params = FlightParams {
        gufi: Some(gufi),
        format: params.format,
        include_history: params.include_history,
        ..FlightParams::default()
    };
    one(state, ApiQuery(params)).await
}

/// The values `format` takes on `/positions`: all give GeoJSON.
const POSITION_FORMATS: &[&str] = &["geojson", "fixm", "json", "legacy"];

fn position_format() -> utoipa::openapi::schema::Object {
    one_of(POSITION_FORMATS)
}

/// `/positions`' own parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PositionsParams {
    /// GeoJSON whatever JSON format is named (as PERTI's `positions.php`);
    /// ndjson, csv, xml and kml are refused with 400.
    #[param(schema_with = position_format)]
    format: Option<String>,
    /// Add each flight's route string.
    #[param(value_type = Option<bool>)]
    include_route: Option<String>,
}

/// Every matching flight with a position, as a GeoJSON FeatureCollection
/// (`[lon, lat, alt]`).
///
/// PERTI serves only GeoJSON here and ignores `format`, so the JSON formats
/// (`fixm`, `json`, `legacy`, `geojson`) give GeoJSON; a format asked for
/// by name that this route does not serve is refused rather than answered
/// with something else.
#[utoipa::path(get, path = "/positions", tag = "flights", params(FlightFilterParams, PositionsParams),
    responses(
        (status = 200, description = "A FeatureCollection", content_type = "application/geo+json", body = serde_json::Value),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, description = "A parameter is wrong; the message names it", body = ErrorBody),
    ))]
pub async fn positions(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    ApiQuery(filter): ApiQuery<FlightFilterParams>,
    ApiQuery(params): ApiQuery<PositionsParams>,
) -> Result<Response, ApiError> {
    let query = FlightQuery::of_filter(&filter)?;
    let format = optional(&params.format, query::format)?.unwrap_or_default();
    if !matches!(format, Format::Fixm | Format::Legacy | Format::GeoJson) {
        return Err(ApiError::bad_param(
            "format",
            "/positions serves GeoJSON only (format=geojson); /flights serves ndjson, csv, xml and kml",
        ));
    }
    let include_route = optional(&params.include_route, |v| {
        super::params::flag("include_route", v)
    })?
    .unwrap_or(false);
    let key = cache::key("/positions", raw.as_deref());
    let response = through_cache(&state, &key, &headers, |source| {
        let ctx = render::Context::new(source.programs.clone());
        let matching: Vec<_> = matching(&source.view, &query)
            .into_iter()
            .filter(|r| r.position.is_some())
            .collect();
        let response = geojson(&matching, &ctx, include_route, None, source.view.as_of);
        naming_unserved(response, &query.unserved)
    })
    .await;
    Ok(response)
}

fn geojson(
    flights: &[&Arc<FlightRecord>],
    ctx: &render::Context,
    include_route: bool,
    pagination: Option<Pagination>,
    as_of: i64,
) -> Response {
    let features: Vec<_> = flights
        .iter()
        .filter_map(|r| render::feature(r, &render::Derived::of(r, ctx), include_route))
        .collect();
    #[derive(serde::Serialize)]
    struct Collection<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        features: Vec<render::Feature<'a>>,
        metadata: serde_json::Value,
    }
    let metadata = serde_json::json!({
        "count": features.len(),
        "timestamp": crate::time::format_iso_millis(as_of),
        "source": "vatswim",
        "pagination": pagination,
    });
    let body = Collection {
        kind: "FeatureCollection",
        features,
        metadata,
    };
    (
        [(header::CONTENT_TYPE, "application/geo+json")],
        serde_json::to_string(&body).unwrap_or_default(),
    )
        .into_response()
}

/// One FIXM flight per line, written straight from the records.
fn ndjson(flights: &[&Arc<FlightRecord>], ctx: &render::Context) -> Response {
    let mut body = Vec::new();
    for r in flights {
        let derived = render::Derived::of(r, ctx);
        if serde_json::to_writer(&mut body, &render::fixm_flight(r, &derived)).is_ok() {
            body.push(b'\n');
        }
    }
    ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
}

fn csv(flights: &[&Arc<FlightRecord>]) -> Response {
    let mut body = String::from(render::CSV_HEADER);
    for r in flights {
        body.push_str(&render::csv_row(r));
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
}
