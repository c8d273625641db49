//! The JSON shape of a v3 feed, as far as the gateway reads it. Strings are
//! borrowed from the input where the JSON has no escapes, so a 10-15 MB
//! snapshot is not copied string by string. `controllers` is kept as loose
//! JSON (`controllers.rs` reads it); other arrays (atis, servers...) are
//! skipped.

use std::borrow::Cow;

use serde::Deserialize;

/// The top level of a feed.
#[derive(Debug, Deserialize)]
pub struct Feed<'a> {
    /// Feed metadata.
    #[serde(borrow)]
    pub general: General<'a>,
    /// Connected pilots.
    #[serde(borrow, default)]
    pub pilots: Vec<Pilot<'a>>,
    /// Filed flight plans of pilots not connected yet.
    #[serde(borrow, default)]
    pub prefiles: Vec<Prefile<'a>>,
    /// ATC positions online, read loosely (a bad entry is skipped).
    #[serde(default)]
    pub controllers: Vec<serde_json::Value>,
    /// Only v2 feeds have this; its presence identifies one.
    #[serde(default)]
    pub clients: Option<serde::de::IgnoredAny>,
}

/// `general`.
#[derive(Debug, Deserialize)]
pub struct General<'a> {
    /// 3 for this format.
    pub version: u32,
    /// When the snapshot was made, RFC 3339.
    #[serde(borrow)]
    pub update_timestamp: Cow<'a, str>,
}

/// One connected pilot.
#[derive(Debug, Deserialize)]
pub struct Pilot<'a> {
    /// VATSIM member id.
    pub cid: u32,
    /// Callsign.
    #[serde(borrow)]
    pub callsign: Cow<'a, str>,
    /// Latitude, degrees.
    pub latitude: f64,
    /// Longitude, degrees.
    pub longitude: f64,
    /// Altitude, feet.
    pub altitude: i32,
    /// Groundspeed, knots.
    pub groundspeed: i32,
    /// Transponder code, four digits as a string.
    #[serde(borrow, default)]
    pub transponder: Cow<'a, str>,
    /// Heading, degrees.
    pub heading: i32,
    /// The filed plan, or null.
    #[serde(borrow, default)]
    pub flight_plan: Option<FlightPlan<'a>>,
    /// When this pilot's data was last updated, RFC 3339.
    #[serde(borrow, default)]
    pub last_updated: Cow<'a, str>,
    /// When the pilot logged on, RFC 3339.
    #[serde(borrow, default)]
    pub logon_time: Cow<'a, str>,
}

/// A filed flight plan. Every field is free text in the feed.
#[derive(Debug, Deserialize)]
pub struct FlightPlan<'a> {
    /// "I" or "V".
    #[serde(borrow, default)]
    pub flight_rules: Cow<'a, str>,
    /// Short ICAO type, e.g. "A320".
    #[serde(borrow, default)]
    pub aircraft_short: Cow<'a, str>,
    /// Departure airport.
    #[serde(borrow, default)]
    pub departure: Cow<'a, str>,
    /// Destination airport.
    #[serde(borrow, default)]
    pub arrival: Cow<'a, str>,
    /// Alternate airport.
    #[serde(borrow, default)]
    pub alternate: Cow<'a, str>,
    /// Filed true airspeed, e.g. "453" or "N0453".
    #[serde(borrow, default)]
    pub cruise_tas: Cow<'a, str>,
    /// Filed altitude, e.g. "35000", "FL350", "350".
    #[serde(borrow, default)]
    pub altitude: Cow<'a, str>,
    /// Filed departure time, "HHMM".
    #[serde(borrow, default)]
    pub deptime: Cow<'a, str>,
    /// Remarks.
    #[serde(borrow, default)]
    pub remarks: Cow<'a, str>,
    /// Route.
    #[serde(borrow, default)]
    pub route: Cow<'a, str>,
}

/// A prefiled plan of a pilot who is not connected yet.
#[derive(Debug, Deserialize)]
pub struct Prefile<'a> {
    /// VATSIM member id.
    pub cid: u32,
    /// Callsign.
    #[serde(borrow)]
    pub callsign: Cow<'a, str>,
    /// The plan.
    #[serde(borrow, default)]
    pub flight_plan: Option<FlightPlan<'a>>,
}
