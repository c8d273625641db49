//! {{NAME}}: a detector. Each cycle it gets the flights that changed and
//! emits events (and may patch the sections its manifest `owns`).
//!
//! This one emits `flight.fast` when a flight's groundspeed passes the
//! limit in the manifest's `[config]` (`limit_kts`), once as it crosses.

use vatswim_plugin_api::{Changes, Context, Description, Detection, Detector, Event};

struct Plugin {
    limit_kts: i32,
}

impl Detector for Plugin {
    fn describe() -> Description {
        Description::new("{{NAME}}", "0.1.0", "groundspeed above a limit")
    }

    fn init(config: serde_json::Value) -> Result<Self, String> {
        let limit_kts = match config.get("limit_kts") {
            None => 480,
            Some(v) => v
                .as_i64()
                .filter(|kts| (1..=2_000).contains(kts))
                .ok_or("config `limit_kts` must be a number of knots from 1 to 2000")?,
        };
        Ok(Plugin {
            limit_kts: limit_kts as i32,
        })
    }

    fn detect(&self, _ctx: &Context, changes: &Changes) -> Detection {
        let mut out = Detection::default();
        for change in changes.iter() {
            let before = change.before().and_then(|f| f.position()).map(|p| p.groundspeed_kts);
            let after = change.after().and_then(|f| f.position()).map(|p| p.groundspeed_kts);
            let crossed = after.is_some_and(|kts| kts > self.limit_kts)
                && before.is_none_or(|kts| kts <= self.limit_kts);
            if crossed {
                let payload = format!("{{\"groundspeed_kts\":{}}}", after.unwrap_or_default());
                out.events
                    .push(Event::for_flight("flight.fast", change.flight_uid(), payload));
            }
        }
        out
    }
}

vatswim_plugin_api::export_detector!(Plugin);
