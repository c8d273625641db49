//! Sample detector: emergency transponder codes.
//!
//! Emits `flight.emergency` when a flight starts squawking 7500 (unlawful
//! interference), 7600 (radio failure) or 7700 (general emergency), once per
//! code change, never again while the code stays set. Reads only the
//! `position` section and patches nothing.

use vatswim_plugin_api::{
    ChangeView, Changes, Context, Description, Detection, Detector, Event, FlightView,
};

/// The detector; it has no configuration.
pub struct Squawk;

/// What an emergency code means, or none for an ordinary code.
pub fn emergency_meaning(squawk: u16) -> Option<&'static str> {
    match squawk {
        7500 => Some("unlawful_interference"),
        7600 => Some("radio_failure"),
        7700 => Some("general_emergency"),
        _ => None,
    }
}

fn squawk_of(flight: Option<FlightView<'_>>) -> Option<u16> {
    flight?.position()?.squawk
}

/// The event for one change, if it is a new emergency.
fn emergency_event(change: ChangeView<'_>) -> Option<Event> {
    let now = squawk_of(change.after())?;
    let meaning = emergency_meaning(now)?;
    if squawk_of(change.before()) == Some(now) {
        return None;
    }
    let payload = format!(r#"{{"squawk":"{now:04}","emergency":"{meaning}"}}"#);
    Some(Event::for_flight(
        "flight.emergency",
        change.flight_uid(),
        payload,
    ))
}

impl Detector for Squawk {
    fn describe() -> Description {
        Description::new(
            "squawk",
            env!("CARGO_PKG_VERSION"),
            "flight.emergency on squawk 7500, 7600 or 7700",
        )
    }

    fn init(_config: serde_json::Value) -> Result<Self, String> {
        Ok(Squawk)
    }

    fn detect(&self, _ctx: &Context, changes: &Changes) -> Detection {
        Detection {
            events: changes.iter().filter_map(emergency_event).collect(),
            patches: Vec::new(),
        }
    }
}

vatswim_plugin_api::export_detector!(Squawk);
