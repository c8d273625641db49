//! `GET /flights`, `GET /flight`, `GET /positions`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::query::{FlightQuery, Format};
use super::render;
use super::response::{ApiError, Envelope, Pagination};
use super::state::AppState;
use crate::flight::FlightRecord;
use crate::store::FlightsView;

type Pairs = Query<Vec<(String, String)>>;

/// `GET /flights`: filtered, paginated, in the requested format (FIXM
/// names unless asked otherwise, as PERTI answers).
pub async fn list(
    State(state): State<AppState>,
    Query(pairs): Pairs,
) -> Result<Response, ApiError> {
    let query = FlightQuery::parse(&pairs)?;
    let view = state.shared.view.load_full();
    let ctx = render::Context::new(state.shared.programs.load_full());
    let matching = matching(&view, &query);
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
    let response = match query.format {
        Format::Fixm => Envelope::new(fixm(), view.as_of)
            .paginated(pagination)
            .into_response(),
        Format::Legacy => {
            let data: Vec<_> = page
                .iter()
                .map(|r| (r, render::Derived::of(r, &ctx)))
                .map(|(r, d)| render::legacy(r, &d))
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
    Ok(naming_unserved(response, &query.unserved))
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

/// `GET /flight?gufi=|flight_uid=|flight_key=|callsign=`.
pub async fn one(State(state): State<AppState>, Query(pairs): Pairs) -> Result<Response, ApiError> {
    let view = state.shared.view.load_full();
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
    // PERTI answers FIXM whatever `format` says; a format this route does
    // not serve is refused here rather than answered with another, and
    // `legacy` is this gateway's way to the earlier names (docs/PERTI.md).
    let legacy = match get("format").map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "fixm" | "json") => false,
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
    let found = if let Some(gufi) = get("gufi") {
        view.by_any_gufi(gufi).cloned()
    } else if let Some(uid) = get("flight_uid") {
        let uid: u64 = uid.parse().map_err(|_| {
            ApiError::bad_param("flight_uid", format!("{uid:?} is not a whole number"))
        })?;
        view.by_uid(uid).cloned()
    } else if let Some(key) = get("flight_key") {
        view.by_flight_key(key).cloned()
    } else if let Some(callsign) = get("callsign") {
        // The connected flight if there is one, else the latest.
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
    let record = found.ok_or_else(|| ApiError::not_found("Flight not found"))?;
    let ctx = render::Context::new(state.shared.programs.load_full());
    let derived = render::Derived::of(&record, &ctx);
    if legacy {
        let flight = render::legacy(&record, &derived);
        return Ok(Envelope::new(flight, view.as_of).into_response());
    }
    Ok(Envelope::new(render::fixm_detail(&record, &derived), view.as_of).into_response())
}

/// `GET /flight/{gufi}`: the path form PERTI's `.htaccess` routes to its
/// `flight.php` (either GUFI; the query's other parameters apply).
pub async fn by_path(
    state: State<AppState>,
    Path(gufi): Path<String>,
    Query(mut pairs): Pairs,
) -> Result<Response, ApiError> {
    pairs.retain(|(k, _)| {
        !matches!(
            k.as_str(),
            "gufi" | "flight_uid" | "flight_key" | "callsign"
        )
    });
    pairs.push(("gufi".to_string(), gufi));
    one(state, Query(pairs)).await
}

/// `GET /positions`: every matching flight with a position, as GeoJSON.
/// PERTI serves only GeoJSON here and ignores `format`, so the JSON formats
/// (`fixm`, `json`, `legacy`, `geojson`) give GeoJSON; a format asked for
/// by name that this route does not serve is refused rather than answered
/// with something else.
pub async fn positions(
    State(state): State<AppState>,
    Query(pairs): Pairs,
) -> Result<Response, ApiError> {
    let query = FlightQuery::parse(&pairs)?;
    if !matches!(
        query.format,
        Format::Fixm | Format::Legacy | Format::GeoJson
    ) {
        return Err(ApiError::bad_param(
            "format",
            "/positions serves GeoJSON only (format=geojson); /flights serves ndjson, csv, xml and kml",
        ));
    }
    let view = state.shared.view.load_full();
    let ctx = render::Context::new(state.shared.programs.load_full());
    let matching: Vec<_> = matching(&view, &query)
        .into_iter()
        .filter(|r| r.position.is_some())
        .collect();
    let response = geojson(&matching, &ctx, query.include_route, None, view.as_of);
    Ok(naming_unserved(response, &query.unserved))
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
