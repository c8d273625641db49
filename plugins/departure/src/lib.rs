//! Departure detector: OUT (gate out) and OFF (wheels off).
//!
//! Each time is the estimated instant between the two samples either side
//! of the change (`vatswim_plugin_api::instant`), set in the cycle that
//! sees it.
//!
//! - OUT: a flight parked on the ground (under 5 kt) starts moving at 5 kt
//!   or more (`times.out_utc`). A flight first seen already
//!   taxiing gets no OUT: its OUT is unknown, and a late one would be wrong.
//!   Known limit: such a flight that stops on the taxiway (holding short)
//!   and moves again gets its OUT then, since a plugin keeps no memory of
//!   how it first saw a flight.
//! - OFF: a flight goes from the ground to the air (`times.off_utc`), with
//!   a `flight.departed` event carrying `off_utc`.
//!
//! On the ground or in the air is decided by `vatswim_plugin_api::ground`
//! (height above the departure field when near it, groundspeed otherwise).
//! Each time is set once: a flight that already has it is left alone, so a
//! touch-and-go or a reconnect produces no second event. A flight first
//! seen in the air gets neither.

use vatswim_plugin_api::geo::AirportIndex;
use vatswim_plugin_api::ground::{GroundRule, PARKED_BELOW_KTS};
use vatswim_plugin_api::instant;
use vatswim_plugin_api::time::format_utc;
use vatswim_plugin_api::{
    ChangeView, Changes, Context, Description, Detection, Detector, Event, FieldValue, FlightRef,
    Patch,
};

/// The detector.
pub struct Departure {
    rule: GroundRule,
}

impl Detector for Departure {
    fn describe() -> Description {
        Description::new(
            "departure",
            env!("CARGO_PKG_VERSION"),
            "OUT and OFF times, flight.departed",
        )
    }

    fn init(config: serde_json::Value) -> Result<Self, String> {
        Ok(Departure {
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

impl Departure {
    fn detect_one(&self, change: ChangeView<'_>, airports: &AirportIndex<'_>, out: &mut Detection) {
        let Some(t) = self.rule.transition(change, airports, |fp| fp.dept_icao) else {
            return;
        };
        let mut fields = Vec::new();
        // OUT is the moment a parked flight starts moving; a flight first
        // seen already taxiing has an unknown OUT, not a late one.
        let was_parked = !t.was_airborne && t.was.groundspeed_kts < PARKED_BELOW_KTS;
        let moving_on_ground = !t.is_airborne && t.now.groundspeed_kts >= PARKED_BELOW_KTS;
        if t.times.out_utc.is_none() && t.times.off_utc.is_none() && was_parked && moving_on_ground
        {
            fields.push(FieldValue::TimesOutUtc(Some(instant::started_moving(
                &t.was, &t.now,
            ))));
        }
        if t.times.off_utc.is_none() && !t.was_airborne && t.is_airborne {
            let off = instant::lifted_off(&t.was, &t.now, t.field_elevation_ft);
            fields.push(FieldValue::TimesOffUtc(Some(off)));
            let payload = format!(r#"{{"off_utc":"{}"}}"#, format_utc(off));
            out.events
                .push(Event::for_flight("flight.departed", t.flight_uid, payload));
        }
        if !fields.is_empty() {
            out.patches.push(Patch {
                flight: FlightRef::Uid(t.flight_uid),
                fields,
            });
        }
    }
}

vatswim_plugin_api::export_detector!(Departure);
