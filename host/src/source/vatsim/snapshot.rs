//! A parsed feed: every pilot and prefile as flight sections, or the reason
//! the whole snapshot is refused (nothing of a refused snapshot applies).

use serde::Deserialize;

use super::feed::{self, Feed, Pilot, Prefile};
use super::fields;
use crate::flight::{FlightPlan, Identity, Position, Reporter};

/// One flight as the feed shows it: a connected pilot (with a position) or
/// a prefile (without).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedFlight {
    /// Callsign and member id.
    pub identity: Identity,
    /// The filed plan, if any.
    pub flight_plan: Option<FlightPlan>,
    /// Where the pilot is; none for a prefile.
    pub position: Option<Position>,
}

/// A whole feed snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// `general.update_timestamp` as the feed wrote it (a poller skips a
    /// snapshot whose timestamp did not change).
    pub update_timestamp: String,
    /// The same, as epoch milliseconds.
    pub updated_at: i64,
    /// Connected pilots.
    pub pilots: Vec<FeedFlight>,
    /// Prefiled plans.
    pub prefiles: Vec<FeedFlight>,
    /// ATC positions online, by callsign.
    pub controllers: Vec<super::Controller>,
}

/// Why a snapshot was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeedError {
    /// Not JSON at all (truncated download, an HTML error page...).
    #[error("snapshot is not valid JSON: {0}")]
    NotJson(String),
    /// A retired format (v1, v2: a `clients` array); the version it says
    /// it is, if it says.
    #[error(
        "not a v3 feed: it has a `clients` array (the retired {} format); point the source at a v3 feed",
        retired_name(*.0)
    )]
    Retired(Option<u32>),
    /// Another format version.
    #[error("not a v3 feed: general.version is {0}")]
    Version(u32),
    /// JSON, but not the v3 shape: a field missing or of the wrong type.
    #[error("snapshot does not have the v3 shape at {path}: {message}")]
    Shape {
        /// Where, e.g. `pilots[12].altitude`.
        path: String,
        /// What is wrong there.
        message: String,
    },
    /// The snapshot's own time is unreadable.
    #[error("general.update_timestamp {0:?} is not an RFC 3339 time")]
    Timestamp(String),
}

/// "v1", "v2", or "pre-v3" when the file does not say.
fn retired_name(version: Option<u32>) -> String {
    match version {
        Some(v) if v < 3 => format!("v{v}"),
        _ => "pre-v3".into(),
    }
}

/// Parses a v3 feed snapshot.
pub fn parse(bytes: &[u8]) -> Result<Snapshot, FeedError> {
    let feed: Feed<'_> = serde_json::from_slice(bytes).map_err(|e| explain(bytes, &e))?;
    if feed.clients.is_some() {
        return Err(FeedError::Retired(Some(feed.general.version)));
    }
    if feed.general.version != 3 {
        return Err(FeedError::Version(feed.general.version));
    }
    let update_timestamp = feed.general.update_timestamp.to_string();
    let updated_at = fields::epoch_millis(&update_timestamp)
        .ok_or_else(|| FeedError::Timestamp(update_timestamp.clone()))?;
    Ok(Snapshot {
        pilots: feed
            .pilots
            .iter()
            .map(|p| pilot_flight(p, updated_at))
            .collect(),
        prefiles: feed.prefiles.iter().map(prefile_flight).collect(),
        controllers: super::controllers::read(&feed.controllers),
        update_timestamp,
        updated_at,
    })
}

/// Turns a serde error into the most useful refusal: the exact path of a
/// bad field (found by parsing again with path tracking; only failed
/// snapshots pay for that), or a retired format when the top level says so.
fn explain(bytes: &[u8], err: &serde_json::Error) -> FeedError {
    if !err.is_data() {
        return FeedError::NotJson(err.to_string());
    }
    #[derive(Deserialize)]
    struct Version {
        version: Option<u32>,
    }
    #[derive(Deserialize)]
    struct TopLevel {
        clients: Option<serde::de::IgnoredAny>,
        general: Option<Version>,
    }
    if let Ok(top) = serde_json::from_slice::<TopLevel>(bytes)
        && top.clients.is_some()
    {
        return FeedError::Retired(top.general.and_then(|g| g.version));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, Feed<'_>>(&mut de) {
        Err(e) => FeedError::Shape {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        },
        Ok(_) => FeedError::Shape {
            path: ".".into(),
            message: err.to_string(),
        },
    }
}

fn pilot_flight(p: &Pilot<'_>, snapshot_at: i64) -> FeedFlight {
    FeedFlight {
        identity: Identity {
            logon_utc: fields::epoch_millis(&p.logon_time),
            ..identity(p.cid, &p.callsign)
        },
        flight_plan: p.flight_plan.as_ref().map(flight_plan),
        position: Some(Position {
            lat: p.latitude,
            lon: p.longitude,
            altitude_ft: p.altitude,
            heading_deg: p.heading,
            groundspeed_kts: p.groundspeed,
            vertical_rate_fpm: 0,
            squawk: fields::squawk(&p.transponder),
            updated_at: fields::epoch_millis(&p.last_updated).unwrap_or(snapshot_at),
            reported_by: Reporter::Feed,
        }),
    }
}

fn prefile_flight(p: &Prefile<'_>) -> FeedFlight {
    FeedFlight {
        identity: identity(p.cid, &p.callsign),
        flight_plan: p.flight_plan.as_ref().map(flight_plan),
        position: None,
    }
}

fn identity(cid: u32, callsign: &str) -> Identity {
    Identity {
        callsign: callsign.trim().to_string(),
        cid,
        ..Identity::default()
    }
}

fn icao(text: &str) -> String {
    text.trim().to_ascii_uppercase()
}

fn flight_plan(fp: &feed::FlightPlan<'_>) -> FlightPlan {
    FlightPlan {
        dept_icao: icao(&fp.departure),
        dest_icao: icao(&fp.arrival),
        alt_icao: icao(&fp.alternate),
        aircraft_type: fp.aircraft_short.trim().to_string(),
        altitude_ft: fields::filed_altitude_ft(&fp.altitude),
        tas_kts: fields::filed_tas_kts(&fp.cruise_tas),
        route: fp.route.to_string(),
        remarks: fp.remarks.to_string(),
        rules: fp.flight_rules.trim().to_string(),
        deptime: fp.deptime.trim().to_string(),
    }
}
