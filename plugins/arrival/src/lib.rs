//! Arrival detector: ON (wheels on) and IN (gate in).
//!
//! - ON: the cycle a flight goes from the air to the ground
//!   (`times.on_utc`), with a `flight.arrived` event carrying `on_utc` and
//!   `in_utc: null` (PERTI's clients read both).
//! - IN: the first cycle after ON that the flight is parked, under 5 kt
//!   (`times.in_utc`).
//!
//! On the ground or in the air is decided by `vatswim_plugin_api::ground`
//! (height above the destination field when near it, groundspeed
//! otherwise, so a diversion still lands). Each time is set once.

use vatswim_plugin_api::geo::AirportIndex;
use vatswim_plugin_api::ground::{GroundRule, PARKED_BELOW_KTS};
use vatswim_plugin_api::time::format_utc;
use vatswim_plugin_api::{
    ChangeView, Changes, Context, Description, Detection, Detector, Event, FieldValue, FlightRef,
    Patch, Timestamp,
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
            self.detect_one(change, &airports, ctx.now, &mut out);
        }
        out
    }
}

impl Arrival {
    fn detect_one(
        &self,
        change: ChangeView<'_>,
        airports: &AirportIndex<'_>,
        now: Timestamp,
        out: &mut Detection,
    ) {
        let Some(t) = self.rule.transition(change, airports, |fp| fp.dest_icao) else {
            return;
        };
        let mut fields = Vec::new();
        let landed_now = t.times.on_utc.is_none() && t.was_airborne && !t.is_airborne;
        if landed_now {
            fields.push(FieldValue::TimesOnUtc(Some(now)));
            let payload = format!(r#"{{"on_utc":"{}","in_utc":null}}"#, format_utc(now));
            out.events
                .push(Event::for_flight("flight.arrived", t.flight_uid, payload));
        }
        let landed = landed_now || t.times.on_utc.is_some();
        let parked = !t.is_airborne && t.now.groundspeed_kts < PARKED_BELOW_KTS;
        if landed && t.times.in_utc.is_none() && parked {
            fields.push(FieldValue::TimesInUtc(Some(now)));
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
