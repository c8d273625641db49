//! On the ground or in the air: the rule the departure and arrival
//! detectors share, with its thresholds configurable from a manifest.
//!
//! Near an airport whose elevation the context gives, a flight is airborne
//! when it is more than `airborne_agl_ft` above the field. PERTI uses 500 ft;
//! the default here is 200 ft because on a 3 degree approach 500 ft above
//! the field is ~40 s before touchdown (more than one 15 s cycle early),
//! 200 ft ~15 s. Away from a known airport (no flight plan, an airport
//! missing from the reference data, a diversion) a flight is airborne above
//! `airborne_kts_without_field`: nothing taxis at 80 kt, and takeoff and
//! landing rolls pass 80 kt within seconds of liftoff and touchdown.
//! PERTI's ground speed bands name the rest: under 5 kt parked, 5-35 kt
//! taxiing.

use crate::geo::{AirportIndex, distance_nm};
use crate::{ChangeView, FlightPlanView, PositionView, TimesView};

/// Under this groundspeed a flight on the ground is parked (at a gate).
pub const PARKED_BELOW_KTS: i32 = 5;

/// One flight seen on two cycles, as the ground rule sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    /// The flight.
    pub flight_uid: u64,
    /// In the air on the previous cycle.
    pub was_airborne: bool,
    /// In the air now.
    pub is_airborne: bool,
    /// Where it was on the previous cycle.
    pub was: PositionView,
    /// Where it is now.
    pub now: PositionView,
    /// Its OOOI times so far.
    pub times: TimesView,
    /// The elevation of the field the rule judged it against, when it is
    /// near that field and the context knows it.
    pub field_elevation_ft: Option<i32>,
}

/// The thresholds of the ground/air rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroundRule {
    /// Height above the field beyond which a flight is airborne.
    pub airborne_agl_ft: i32,
    /// How close to an airport its elevation applies.
    pub near_airport_nm: f64,
    /// Airborne above this groundspeed when no field elevation applies.
    pub airborne_kts_without_field: i32,
}

impl Default for GroundRule {
    fn default() -> Self {
        GroundRule {
            airborne_agl_ft: 200,
            near_airport_nm: 30.0,
            airborne_kts_without_field: 80,
        }
    }
}

impl GroundRule {
    /// The defaults, overridden by `airborne_agl_ft`, `near_airport_nm` and
    /// `airborne_kts_without_field` in a manifest's config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self, String> {
        let mut rule = GroundRule::default();
        let number = |key: &str| -> Result<Option<f64>, String> {
            match config.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_f64()
                    .filter(|n| *n >= 0.0)
                    .map(Some)
                    .ok_or(format!("config `{key}` must be a number of at least 0")),
            }
        };
        if let Some(n) = number("airborne_agl_ft")? {
            rule.airborne_agl_ft = n as i32;
        }
        if let Some(n) = number("near_airport_nm")? {
            rule.near_airport_nm = n;
        }
        if let Some(n) = number("airborne_kts_without_field")? {
            rule.airborne_kts_without_field = n as i32;
        }
        Ok(rule)
    }

    /// The elevation of `icao` if the flight is near it and the context knows it.
    pub fn field_elevation(
        &self,
        airports: &AirportIndex<'_>,
        icao: &str,
        at: &PositionView,
    ) -> Option<i32> {
        let airport = airports.get(icao)?;
        let near = distance_nm(at.lat, at.lon, airport.lat, airport.lon) <= self.near_airport_nm;
        near.then_some(airport.elevation_ft)
    }

    /// How a change looks under the rule, judged against the airport that
    /// `field` picks from the flight plan (the departure or the
    /// destination); none unless the flight has a position on both cycles.
    pub fn transition<'a>(
        &self,
        change: ChangeView<'a>,
        airports: &AirportIndex<'_>,
        field: fn(FlightPlanView<'a>) -> &'a str,
    ) -> Option<Transition> {
        let (before, after) = (change.before()?, change.after()?);
        let (was, now) = (before.position()?, after.position()?);
        let icao = after.flight_plan().map_or("", field);
        let elevation = self.field_elevation(airports, icao, &now);
        Some(Transition {
            flight_uid: change.flight_uid(),
            was_airborne: self.is_airborne(&was, elevation),
            is_airborne: self.is_airborne(&now, elevation),
            was,
            now,
            times: after.times().unwrap_or_default(),
            field_elevation_ft: elevation,
        })
    }

    /// Whether a flight at `at` is airborne, given the elevation of the
    /// field it is near (if any).
    pub fn is_airborne(&self, at: &PositionView, field_elevation_ft: Option<i32>) -> bool {
        match field_elevation_ft {
            Some(elevation) => at.altitude_ft > elevation + self.airborne_agl_ft,
            None => at.groundspeed_kts > self.airborne_kts_without_field,
        }
    }
}
