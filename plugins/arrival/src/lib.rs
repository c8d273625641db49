//! Arrival detector: ON (wheels on) and IN (gate in).
//!
//! Each time is the estimated instant between the two samples either side
//! of the change (`vatswim_plugin_api::instant`), set in the cycle that
//! sees it.
//!
//! - ON: a flight goes from the air to the ground (`times.on_utc`), with a
//!   `flight.arrived` event carrying `on_utc` and `in_utc: null` (PERTI's
//!   clients read both).
//! - IN: the first sample after ON that the flight is parked, under 5 kt
//!   (`times.in_utc`). A flight first seen after it landed (on the ground
//!   at its destination, away from its origin) gets IN the cycle it comes
//!   to a stop; one first seen already parked there gets none (unknown).
//!
//! On the ground or in the air is decided by `vatswim_plugin_api::ground`
//! (height above the destination field when near it, groundspeed
//! otherwise, so a diversion still lands). Each time is set once.

use vatswim_plugin_api::geo::AirportIndex;
use vatswim_plugin_api::ground::{GroundRule, PARKED_BELOW_KTS};
use vatswim_plugin_api::instant;
use vatswim_plugin_api::time::format_utc;
use vatswim_plugin_api::{
    ChangeView, Changes, Context, Description, Detection, Detector, Event, FieldValue, FlightRef,
    Patch,
};

/// The detector.
pub struct Arrival {
    rule: GroundRule,
}

impl Detector for Arrival {
    fn describe() -> Description {
        Description::new(
            "arrival",
            env!("CARGO_PKG_VERSION"),
            "ON and IN times, flight.arrived",
        )
    }

    fn init(config: serde_json::Value) -> Result<Self, String> {
        Ok(Arrival {
            rule: GroundRule::from_config(&config)?,
        })
    }

    fn detect(&self, ctx: &Context, changes: &Changes) -> Detection {
        let airports = AirportIndex::new(ctx);
        let mut out = Detection::default();
        for change in changes.iter() {
            self.detect_one(change, &airports, &mut out);
        }
        out
    }
}

impl Arrival {
    /// On the ground near the destination field and not near the origin's
    /// (a flight back at its origin has not arrived).
    fn on_ground_at_destination(
        &self,
        change: ChangeView<'_>,
        airports: &AirportIndex<'_>,
        t: &vatswim_plugin_api::ground::Transition,
    ) -> bool {
        let Some(plan) = change.after().and_then(|a| a.flight_plan()) else {
            return false;
        };
        let near = |icao: &str| self.rule.field_elevation(airports, icao, &t.now).is_some();
        !t.is_airborne && near(plan.dest_icao) && !near(plan.dept_icao)
    }

    fn detect_one(&self, change: ChangeView<'_>, airports: &AirportIndex<'_>, out: &mut Detection) {
        let Some(t) = self.rule.transition(change, airports, |fp| fp.dest_icao) else {
            return;
        };
        let mut fields = Vec::new();
        let landed_now = t.times.on_utc.is_none() && t.was_airborne && !t.is_airborne;
        if landed_now {
            let on = instant::touched_down(&t.was, &t.now, t.field_elevation_ft);
            fields.push(FieldValue::TimesOnUtc(Some(on)));
            let payload = format!(r#"{{"on_utc":"{}","in_utc":null}}"#, format_utc(on));
            out.events
                .push(Event::for_flight("flight.arrived", t.flight_uid, payload));
        }
        let landed = landed_now || t.times.on_utc.is_some();
        let parked = !t.is_airborne && t.now.groundspeed_kts < PARKED_BELOW_KTS;
        let stopped = parked && t.was.groundspeed_kts >= PARKED_BELOW_KTS;
        let seen_after_landing = stopped && self.on_ground_at_destination(change, airports, &t);
        if (landed || seen_after_landing) && t.times.in_utc.is_none() && parked {
            fields.push(FieldValue::TimesInUtc(Some(instant::stopped(
                &t.was, &t.now,
            ))));
        }
        if !fields.is_empty() {
            out.patches.push(Patch {
                flight: FlightRef::Uid(t.flight_uid),
                fields,
            });
        }
    }
}

vatswim_plugin_api::export_detector!(Arrival);
