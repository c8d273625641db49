//! A partner's own ingest adapter, as the README's "Write an ingest
//! adapter" builds it: `POST /ingest/csv` with one position per line,
//! `CALLSIGN,LATITUDE,LONGITUDE[,ALTITUDE_FT]`. The e2e tests drop it into a
//! running gateway's plugins dir and post to its route. Test hooks: a line
//! `!panic` makes it trap and `!loop` spin forever, as buggy adapters do.

use vatswim_plugin_api::{
    Description, FieldValue, FlightRef, IngestAdapter, IngestItem, ItemError, Parsed, Patch,
    PositionUpdate, Track,
};

struct CsvPositions;

impl IngestAdapter for CsvPositions {
    fn describe() -> Description {
        Description::new("csv_positions", "0.1.0", "positions, one CSV line each")
    }

    fn init(_config: serde_json::Value) -> Result<Self, String> {
        Ok(CsvPositions)
    }

    fn parse(&self, _content_type: &str, body: &[u8]) -> Result<Parsed, String> {
        let text = std::str::from_utf8(body).map_err(|_| "body is not UTF-8 text".to_string())?;
        if text.lines().any(|l| l == "!panic") {
            panic!("asked to panic");
        }
        if text.lines().any(|l| l == "!loop") {
            #[allow(clippy::empty_loop)]
            loop {}
        }
        let now = vatswim_plugin_api::log::now();
        let mut parsed = Parsed {
            items: Vec::new(),
            errors: Vec::new(),
        };
        for (index, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let index = index as u32;
            match position(line, now) {
                Ok(patch) => parsed.items.push(IngestItem { index, patch }),
                Err((field, message)) => parsed.errors.push(ItemError::new(index, field, message)),
            }
        }
        Ok(parsed)
    }
}

fn position(line: &str, now: i64) -> Result<Patch, (&'static str, String)> {
    let cols: Vec<&str> = line.split(',').map(str::trim).collect();
    let number = |i: usize, name: &'static str| {
        cols.get(i)
            .and_then(|c| c.parse::<f64>().ok())
            .ok_or((name, format!("column {} must be a number", i + 1)))
    };
    let callsign = cols.first().filter(|c| !c.is_empty()).ok_or(("callsign", "empty".to_string()))?;
    let update = PositionUpdate {
        lat: number(1, "latitude")?,
        lon: number(2, "longitude")?,
        altitude_ft: number(3, "altitude_ft").ok().map(|a| a as i32),
        heading_deg: None,
        groundspeed_kts: None,
        vertical_rate_fpm: None,
        squawk: None,
        updated_at: now,
    };
    Ok(Patch {
        flight: FlightRef::Callsign(callsign.to_ascii_uppercase()),
        fields: vec![
            FieldValue::Position(update),
            FieldValue::Track(Track {
                source: "csv".into(),
                squawk: None,
                updated_at: now,
            }),
        ],
    })
}

vatswim_plugin_api::export_ingest_adapter!(CsvPositions);
