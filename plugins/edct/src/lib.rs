//! EDCT detector: a `cdm.edct` event the cycle a flight's EDCT (expected
//! departure clearance time) is given, moved or lifted, whoever set it: the
//! `tmi` detector for a GDP issued here, or the ADL (docs/ADL.md). PERTI's
//! WebSocket server names the `cdm.edct` channel; its clients subscribe to
//! it to tell a pilot when to leave.
//!
//! The payload: `edct_utc` (null when lifted), `previous_edct_utc`,
//! `ctl_type`, `program_id`, `delay_minutes`, `callsign`, `dept_icao`.
//! Nothing is written.

use vatswim_plugin_api::time::format_utc;
use vatswim_plugin_api::{ChangeView, Changes, Context, Description, Detection, Detector, Event};

/// The detector.
pub struct Edct;

impl Detector for Edct {
    fn describe() -> Description {
        Description::new(
            "edct",
            env!("CARGO_PKG_VERSION"),
            "cdm.edct when an EDCT changes",
        )
    }

    fn init(_config: serde_json::Value) -> Result<Self, String> {
        Ok(Edct)
    }

    fn detect(&self, _ctx: &Context, changes: &Changes) -> Detection {
        let mut out = Detection::default();
        out.events.extend(changes.iter().filter_map(event));
        out
    }
}

/// The event's payload. A struct, not a `json!` tree: the tree is a map
/// of allocated keys per event, which in wasm costs more than the rest of
/// the detector. Fields in the order `json!` wrote them (by name).
#[derive(serde::Serialize)]
struct Payload<'a> {
    callsign: Option<&'a str>,
    ctl_type: Option<&'static str>,
    delay_minutes: Option<i32>,
    dept_icao: Option<&'a str>,
    edct_utc: Option<String>,
    previous_edct_utc: Option<String>,
    program_id: Option<u64>,
}

/// The event for one flight's change, if its EDCT moved.
fn event(change: ChangeView<'_>) -> Option<Event> {
    let after = change.after()?;
    let tmi = after.tmi();
    let was = change
        .before()
        .and_then(|b| b.tmi())
        .and_then(|t| t.edct_utc);
    let now = tmi.and_then(|t| t.edct_utc);
    if was == now {
        return None;
    }
    let payload = Payload {
        callsign: after.identity().map(|i| i.callsign),
        ctl_type: tmi.and_then(|t| match t.ctl_type {
            1 => Some("GS"),
            2 => Some("GDP"),
            _ => None,
        }),
        delay_minutes: tmi.and_then(|t| t.delay_minutes),
        dept_icao: after.flight_plan().map(|f| f.dept_icao),
        edct_utc: now.map(format_utc),
        previous_edct_utc: was.map(format_utc),
        program_id: tmi.and_then(|t| t.program_id),
    };
    Some(Event::for_flight(
        "cdm.edct",
        change.flight_uid(),
        serde_json::to_string(&payload).unwrap_or_default(),
    ))
}

vatswim_plugin_api::export_detector!(Edct);
