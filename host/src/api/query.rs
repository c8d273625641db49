//! The query parameters of `/flights` and `/positions`, validated: a bad
//! value is a 400 that names the parameter. PERTI's filters this gateway
//! has no data for (TRACONs, sectors, strata) are accepted and not applied,
//! so PERTI's clients keep working, and the answer names them in its
//! `X-SWIM-Unserved-Filters` header; unknown parameters are ignored, as
//! PERTI does. `FlightsParams` declares them all (`api::params`).

use serde::Deserialize;
use utoipa::IntoParams;

use crate::flight::{FlightRecord, Phase};

use super::params::{WHOLE_MAX, codes, flag, optional, whole};
use super::response::ApiError;

/// Largest page.
pub const MAX_PER_PAGE: usize = 1_000;
/// Default page size.
pub const DEFAULT_PER_PAGE: usize = 100;

/// Which flights a query wants.
#[derive(Debug, Default, Clone)]
pub struct FlightFilter {
    /// Active, completed or all.
    pub status: Status,
    /// Departure airports.
    pub dept_icao: Vec<String>,
    /// Destination airports.
    pub dest_icao: Vec<String>,
    /// Departure ARTCCs.
    pub dep_artcc: Vec<String>,
    /// Destination ARTCCs.
    pub dest_artcc: Vec<String>,
    /// Current ARTCCs.
    pub current_artcc: Vec<String>,
    /// Callsign patterns (`*` wildcard).
    pub callsign: Vec<String>,
    /// Phases.
    pub phase: Vec<Phase>,
    /// Under a TMI or not.
    pub tmi_controlled: Option<bool>,
    /// `minLon,minLat,maxLon,maxLat`.
    pub bounds: Option<[f64; 4]>,
    /// Off blocks (OUT, else the estimated off-block time) at or after.
    pub dep_window_start: Option<i64>,
    /// Off blocks at or before.
    pub dep_window_end: Option<i64>,
    /// A flow event's code: no flight has one here, so none matches.
    pub flow_event_code: Option<String>,
}

/// `status`.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub enum Status {
    /// Connected flights (PERTI's default).
    #[default]
    Active,
    /// Disconnected flights still held.
    Completed,
    /// Both.
    All,
}

/// Output formats.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub enum Format {
    /// PERTI's JSON with FIXM field names: its default, also for `json`.
    #[default]
    Fixm,
    /// PERTI's earlier snake_case JSON (`format=legacy`).
    Legacy,
    /// A GeoJSON FeatureCollection.
    GeoJson,
    /// One FIXM flight per line.
    Ndjson,
    /// Comma-separated values with a header row.
    Csv,
    /// The JSON response as XML.
    Xml,
    /// KML placemarks.
    Kml,
}

/// A parsed `/flights` or `/positions` query.
#[derive(Debug, Default, Clone)]
pub struct FlightQuery {
    /// Which flights.
    pub filter: FlightFilter,
    /// Page, from 1.
    pub page: usize,
    /// Page size.
    pub per_page: usize,
    /// Output format.
    pub format: Format,
    /// PERTI filters the request gave that are not applied.
    pub unserved: Vec<&'static str>,
}

/// The values `status` takes.
const STATUSES: &[&str] = &["active", "completed", "inactive", "all"];
/// The values `format` takes on `/flights`.
const FORMAT_NAMES: &[&str] = &[
    "fixm", "json", "legacy", "geojson", "ndjson", "csv", "xml", "kml",
];

fn status_schema() -> utoipa::openapi::schema::Object {
    super::params::one_of(STATUSES)
}

fn format_schema() -> utoipa::openapi::schema::Object {
    super::params::one_of(FORMAT_NAMES)
}

/// The filters of `/flights` and `/positions` (docs/PERTI.md, Parameters);
/// each route adds its own (`FlightsPage`, `flights::PositionsParams`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlightFilterParams {
    /// Flight status: `active` (the default: connected flights),
    /// `completed` (alias `inactive`: disconnected flights still held), `all`.
    #[param(schema_with = status_schema)]
    status: Option<String>,
    /// Departure airports (ICAO), comma-separated.
    dept_icao: Option<String>,
    /// Destination airports (ICAO), comma-separated.
    dest_icao: Option<String>,
    /// ARTCCs or FIRs of the departure airports, comma-separated.
    dep_artcc: Option<String>,
    /// ARTCCs or FIRs of the destination airports, comma-separated.
    dest_artcc: Option<String>,
    /// PERTI's deprecated name of `dest_artcc` (used when `dest_artcc` is absent).
    artcc: Option<String>,
    /// ARTCCs or FIRs the flights are in now (by the nearest reference
    /// airport within 250 nm), comma-separated.
    current_artcc: Option<String>,
    /// Callsign patterns with the `*` wildcard, comma-separated.
    callsign: Option<String>,
    /// Phases: prefile, taxiing, departed, enroute, descending, arrived,
    /// disconnected; PERTI's PROPOSED, DEPARTING, ENROUTE, DESCENT, ARRIVED,
    /// COMPLETED as aliases; any case, comma-separated.
    #[param(schema_with = super::params::phase_list)]
    phase: Option<String>,
    /// Only flights under a TMI (`true`) or not under one (`false`).
    #[param(value_type = Option<bool>)]
    tmi_controlled: Option<String>,
    /// A box, `minLon,minLat,maxLon,maxLat` (across the antimeridian when
    /// minLon > maxLon; the latitudes in either order): only flights with a
    /// position inside it.
    #[param(schema_with = super::params::bounds_schema)]
    bounds: Option<String>,
    /// Off blocks (OUT, else the estimated off-block time) at or after this
    /// ISO 8601 time.
    #[param(format = DateTime)]
    dep_window_start: Option<String>,
    /// Off blocks at or before this ISO 8601 time.
    #[param(format = DateTime)]
    dep_window_end: Option<String>,
    /// A flow event's code: no flight carries one here, so none matches.
    flow_event_code: Option<String>,
    /// Accepted, not applied (no TRACON data); named in `X-SWIM-Unserved-Filters`.
    dep_tracon: Option<String>,
    /// Accepted, not applied (no TRACON data); named in `X-SWIM-Unserved-Filters`.
    dest_tracon: Option<String>,
    /// Accepted, not applied (no TRACON data); named in `X-SWIM-Unserved-Filters`.
    current_tracon: Option<String>,
    /// Accepted, not applied (no sector data); named in `X-SWIM-Unserved-Filters`.
    current_sector: Option<String>,
    /// Accepted, not applied (no strata data); named in `X-SWIM-Unserved-Filters`.
    strata: Option<String>,
}

/// `/flights`' page and format.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlightsPage {
    /// Page, from 1.
    #[param(value_type = Option<u64>, minimum = 1)]
    page: Option<String>,
    /// Page size, at least 1 (default 100); above 1000 is served as 1000,
    /// as PERTI clamps it.
    #[param(value_type = Option<u64>, minimum = 1)]
    per_page: Option<String>,
    /// fixm (the default) and json give PERTI's FIXM names, legacy its
    /// earlier snake_case names; geojson, ndjson (one FIXM flight per line),
    /// csv, xml (the JSON answer as XML), kml.
    #[param(schema_with = format_schema)]
    format: Option<String>,
}

impl FlightQuery {
    /// Validates `/flights`' parameters: a bad value is a 400 naming it.
    pub fn of_list(p: &FlightFilterParams, page: &FlightsPage) -> Result<FlightQuery, ApiError> {
        Ok(FlightQuery {
            page: optional(&page.page, |v| whole("page", v, 1, WHOLE_MAX))?
                .map_or(1, |n| usize::try_from(n).unwrap_or(usize::MAX)),
            // PERTI clamps an oversized page to the maximum.
            per_page: optional(&page.per_page, |v| whole("per_page", v, 1, WHOLE_MAX))?
                .map_or(DEFAULT_PER_PAGE, |n| n.min(MAX_PER_PAGE as u64) as usize),
            format: optional(&page.format, format)?.unwrap_or_default(),
            ..FlightQuery::of_filter(p)?
        })
    }

    /// Validates the filters: a bad value is a 400 naming it.
    pub fn of_filter(p: &FlightFilterParams) -> Result<FlightQuery, ApiError> {
        let filter = FlightFilter {
            status: p
                .status
                .as_deref()
                .map(status)
                .transpose()?
                .unwrap_or_default(),
            dept_icao: codes(&p.dept_icao),
            dest_icao: codes(&p.dest_icao),
            dep_artcc: codes(&p.dep_artcc),
            dest_artcc: codes(if p.dest_artcc.is_some() {
                &p.dest_artcc
            } else {
                &p.artcc
            }),
            current_artcc: codes(&p.current_artcc),
            callsign: codes(&p.callsign),
            phase: p
                .phase
                .as_deref()
                .map(phases)
                .transpose()?
                .unwrap_or_default(),
            tmi_controlled: optional(&p.tmi_controlled, |v| flag("tmi_controlled", v))?,
            // Empty, as a list parameter: no box (PERTI's `if ($bounds)`).
            bounds: optional(&p.bounds.clone().filter(|b| !b.is_empty()), bounds)?,
            dep_window_start: optional(&p.dep_window_start, |v| instant("dep_window_start", v))?,
            dep_window_end: optional(&p.dep_window_end, |v| instant("dep_window_end", v))?,
            flow_event_code: p.flow_event_code.as_ref().map(|v| v.to_ascii_uppercase()),
        };
        let unserved = [
            ("dep_tracon", &p.dep_tracon),
            ("dest_tracon", &p.dest_tracon),
            ("current_tracon", &p.current_tracon),
            ("current_sector", &p.current_sector),
            ("strata", &p.strata),
        ]
        .into_iter()
        .filter(|(_, v)| v.as_deref().is_some_and(|v| !v.is_empty()))
        .map(|(name, _)| name)
        .collect();
        Ok(FlightQuery {
            filter,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            format: Format::default(),
            unserved,
        })
    }
}

fn status(value: &str) -> Result<Status, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "active" => Ok(Status::Active),
        "completed" | "inactive" => Ok(Status::Completed),
        "all" => Ok(Status::All),
        other => Err(ApiError::bad_param(
            "status",
            format!("{other:?} is not one of active, completed, all"),
        )),
    }
}

/// A `phase` list: our names and PERTI's, in any case.
pub fn phases(value: &str) -> Result<Vec<Phase>, ApiError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            Phase::parse(s).ok_or_else(|| {
                ApiError::bad_param(
                    "phase",
                    format!("{s:?} is not one of {}", Phase::names_help()),
                )
            })
        })
        .collect()
}

/// An ISO 8601 time (`2026-01-16T14:00:00Z`).
fn instant(name: &str, value: &str) -> Result<i64, ApiError> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            ApiError::bad_param(
                name,
                format!("{value:?} is not an ISO 8601 time, e.g. 2026-01-16T14:00:00Z"),
            )
        })
}

pub(super) fn format(value: &str) -> Result<Format, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "fixm" | "json" => Ok(Format::Fixm),
        "legacy" => Ok(Format::Legacy),
        "geojson" => Ok(Format::GeoJson),
        "ndjson" => Ok(Format::Ndjson),
        "csv" => Ok(Format::Csv),
        "xml" => Ok(Format::Xml),
        "kml" => Ok(Format::Kml),
        other => Err(ApiError::bad_param(
            "format",
            format!("{other:?} is not one of {}", FORMAT_NAMES.join(", ")),
        )),
    }
}

fn bounds(value: &str) -> Result<[f64; 4], ApiError> {
    let bad = |why: &str| {
        ApiError::bad_param(
            "bounds",
            format!("{value:?}: {why}; expected minLon,minLat,maxLon,maxLat"),
        )
    };
    let numbers: Vec<f64> = value
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("not four numbers"))?;
    let [min_lon, min_lat, max_lon, max_lat] = numbers[..] else {
        return Err(bad("not four numbers"));
    };
    let lon_ok = |x: f64| (-180.0..=180.0).contains(&x);
    let lat_ok = |x: f64| (-90.0..=90.0).contains(&x);
    if !(lon_ok(min_lon) && lon_ok(max_lon) && lat_ok(min_lat) && lat_ok(max_lat)) {
        return Err(bad("out of range"));
    }
    // Two corners: the latitudes in either order are the same box.
    Ok([min_lon, min_lat.min(max_lat), max_lon, min_lat.max(max_lat)])
}

impl FlightFilter {
    /// Whether a flight passes every filter.
    pub fn matches(&self, r: &FlightRecord) -> bool {
        let progress = r.progress.unwrap_or_default();
        let active = progress.is_active;
        let status_ok = match self.status {
            Status::Active => active,
            Status::Completed => !active && progress.phase != Phase::Prefile,
            Status::All => true,
        };
        let fp = r.flight_plan.as_deref();
        let code = |c: Option<crate::flight::Code>| c.map(|c| c.as_str().to_string());
        status_ok
            && one_of(&self.dept_icao, fp.map(|f| f.dept_icao.as_str()))
            && one_of(&self.dest_icao, fp.map(|f| f.dest_icao.as_str()))
            && one_of(&self.dep_artcc, code(progress.dept_artcc).as_deref())
            && one_of(&self.dest_artcc, code(progress.dest_artcc).as_deref())
            && one_of(&self.current_artcc, code(progress.current_artcc).as_deref())
            && (self.phase.is_empty() || self.phase.contains(&progress.phase))
            && self.callsign_ok(r)
            && self.tmi_ok(r)
            && self.bounds_ok(r)
            && self.departure_ok(r)
            && self.flow_event_code.is_none()
    }

    /// PERTI's departure window: OUT, else the estimated off-block time.
    fn departure_ok(&self, r: &FlightRecord) -> bool {
        if self.dep_window_start.is_none() && self.dep_window_end.is_none() {
            return true;
        }
        let Some(off_blocks) = r.off_blocks_utc() else {
            return false;
        };
        self.dep_window_start.is_none_or(|s| off_blocks >= s)
            && self.dep_window_end.is_none_or(|e| off_blocks <= e)
    }

    fn callsign_ok(&self, r: &FlightRecord) -> bool {
        let callsign = r.identity.as_ref().map_or("", |i| i.callsign.as_str());
        self.callsign.is_empty()
            || self
                .callsign
                .iter()
                .any(|p| wildcard(p, &callsign.to_ascii_uppercase()))
    }

    fn tmi_ok(&self, r: &FlightRecord) -> bool {
        let controlled = r.tmi.is_some_and(|t| t.gs_held || t.ctl_type.is_some());
        self.tmi_controlled.is_none_or(|want| want == controlled)
    }

    fn bounds_ok(&self, r: &FlightRecord) -> bool {
        let Some([min_lon, min_lat, max_lon, max_lat]) = self.bounds else {
            return true;
        };
        let Some(p) = r.position else {
            return false;
        };
        let lon_ok = if min_lon <= max_lon {
            (min_lon..=max_lon).contains(&p.lon)
        } else {
            // A box across the antimeridian.
            p.lon >= min_lon || p.lon <= max_lon
        };
        lon_ok && (min_lat..=max_lat).contains(&p.lat)
    }
}

fn one_of(wanted: &[String], value: Option<&str>) -> bool {
    wanted.is_empty() || value.is_some_and(|v| wanted.iter().any(|w| w.eq_ignore_ascii_case(v)))
}

/// `*` matches any run of characters; everything else itself.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<FlightQuery, ApiError> {
        let pairs: serde_json::Map<String, serde_json::Value> = q
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.into()))
            .collect();
        let value = serde_json::Value::from(pairs);
        FlightQuery::of_list(
            &serde_json::from_value(value.clone()).unwrap(),
            &serde_json::from_value(value).unwrap(),
        )
    }

    #[test]
    fn wildcards_match_like_perti() {
        assert!(wildcard("AAL*", "AAL123"));
        assert!(wildcard("*123", "AAL123"));
        assert!(wildcard("A*L*3", "AAL123"));
        assert!(!wildcard("AAL*", "DAL123"));
        assert!(wildcard("DAL1", "DAL1") && !wildcard("DAL1", "DAL12"));
    }

    #[test]
    fn phases_take_our_names_and_pertis_in_any_case() {
        let f = parse("phase=EN_ROUTE,Taxiing,landed").unwrap();
        assert_eq!(
            f.filter.phase,
            [Phase::Enroute, Phase::Taxiing, Phase::Arrived]
        );
    }

    #[test]
    fn bad_values_name_their_parameter() {
        let e = parse("per_page=ten").unwrap_err();
        assert_eq!(
            e.message,
            "parameter `per_page`: \"ten\" is not a whole number from 1"
        );
        // Past the document's int64, refused (not taken and clamped).
        let huge = parse("per_page=9223372036854775808").unwrap_err();
        assert!(
            huge.message.starts_with("parameter `per_page`"),
            "{}",
            huge.message
        );
        assert_eq!(
            parse("per_page=9223372036854775807").unwrap().per_page,
            MAX_PER_PAGE
        );
        assert!(
            parse("bounds=1,2,3")
                .unwrap_err()
                .message
                .starts_with("parameter `bounds`")
        );
        assert!(
            parse("phase=flying")
                .unwrap_err()
                .message
                .starts_with("parameter `phase`")
        );
        let format = parse("format=pdf").unwrap_err().message;
        assert!(
            format.starts_with("parameter `format`") && format.contains("xml, kml"),
            "{format}"
        );
    }

    #[test]
    fn fixm_is_the_default_and_json_its_alias_as_in_perti() {
        assert_eq!(parse("").unwrap().format, Format::Fixm);
        assert_eq!(parse("format=JSON").unwrap().format, Format::Fixm);
        assert_eq!(parse("format=legacy").unwrap().format, Format::Legacy);
        assert_eq!(parse("format=kml").unwrap().format, Format::Kml);
    }

    #[test]
    fn perti_parameters_are_accepted_and_oversized_pages_clamped() {
        let q = parse("strata=high&dep_tracon=N90&per_page=5000&artcc=zny").unwrap();
        assert_eq!(q.per_page, MAX_PER_PAGE);
        assert_eq!(q.filter.dest_artcc, vec!["ZNY"]);
        assert_eq!(q.unserved, ["dep_tracon", "strata"], "named, not applied");
    }

    #[test]
    fn the_departure_window_reads_out_else_the_filed_time() {
        use std::sync::Arc;
        let q = parse("dep_window_start=2026-12-01T14:00:00Z&dep_window_end=2026-12-01T15:00:00Z")
            .unwrap();
        let seen = 1_796_126_400_000; // 2026-12-01T12:00:00Z
        let filed_at = |deptime: &str| FlightRecord {
            identity: Some(Arc::new(crate::flight::Identity {
                first_seen_utc: Some(seen),
                ..Default::default()
            })),
            flight_plan: Some(Arc::new(crate::flight::FlightPlan {
                deptime: deptime.into(),
                ..Default::default()
            })),
            progress: Some(crate::flight::Progress {
                is_active: true,
                ..Default::default()
            }),
            ..FlightRecord::default()
        };
        assert!(q.filter.matches(&filed_at("1430")));
        assert!(!q.filter.matches(&filed_at("1600")));
        let mut pushed_back = filed_at("1430");
        pushed_back.times = Some(crate::flight::Times {
            out_utc: Some(seen + 4 * 3_600_000),
            ..Default::default()
        });
        assert!(!q.filter.matches(&pushed_back), "OUT at 16:00 wins");
        assert!(
            parse("dep_window_start=soon")
                .unwrap_err()
                .message
                .contains("`dep_window_start`")
        );
        assert!(
            !parse("flow_event_code=ctp26")
                .unwrap()
                .filter
                .matches(&filed_at("1430"))
        );
    }
}
