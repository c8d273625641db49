//! {{NAME}}: an ingest adapter. It serves `POST /api/swim/v1/ingest/{{NAME}}`
//! (its manifest's `route`): it turns a partner's body into patches, one
//! per item; the gateway applies each within what the manifest `owns`.
//!
//! This one takes CSV lines `CALLSIGN,LATITUDE,LONGITUDE[,ALTITUDE_FT]` and
//! moves each flight there. A bad line is reported by index and field; the
//! other lines apply.

use vatswim_plugin_api::{
    Description, FieldValue, FlightRef, IngestAdapter, IngestItem, ItemError, Parsed, Patch,
    PositionUpdate,
};

struct Plugin;

impl IngestAdapter for Plugin {
    fn describe() -> Description {
        Description::new("{{NAME}}", "0.1.0", "positions, one CSV line each")
    }

    fn init(_config: serde_json::Value) -> Result<Self, String> {
        Ok(Plugin)
    }

    fn parse(&self, _content_type: &str, body: &[u8]) -> Result<Parsed, String> {
        // An Err refuses the whole body (400, nothing applied).
        let text = std::str::from_utf8(body).map_err(|_| "body is not UTF-8 text".to_string())?;
        let mut parsed = Parsed {
            items: Vec::new(),
            errors: Vec::new(),
        };
        for (index, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let index = index as u32;
            let cols: Vec<&str> = line.split(',').map(str::trim).collect();
            let number = |i: usize| cols.get(i).and_then(|c| c.parse::<f64>().ok());
            let (Some(lat), Some(lon)) = (number(1), number(2)) else {
                parsed.errors.push(ItemError::new(
                    index,
                    "latitude",
                    "columns 2 and 3 must be a latitude and a longitude",
                ));
                continue;
            };
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                parsed.errors.push(ItemError::new(index, "latitude", "out of range"));
                continue;
            }
            let position = PositionUpdate {
                lat,
                lon,
                altitude_ft: number(3).map(|ft| ft as i32),
                heading_deg: None,
                groundspeed_kts: None,
                vertical_rate_fpm: None,
                squawk: None,
                updated_at: vatswim_plugin_api::log::now(),
            };
            parsed.items.push(IngestItem {
                index,
                patch: Patch {
                    flight: FlightRef::Callsign(cols[0].to_ascii_uppercase()),
                    fields: vec![FieldValue::Position(position)],
                },
            });
        }
        Ok(parsed)
    }
}

vatswim_plugin_api::export_ingest_adapter!(Plugin);
