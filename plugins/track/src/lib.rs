//! Ingest adapter for partner track data (`POST /ingest/track`), in PERTI's
//! shape:
//!
//! ```json
//! {"tracks": [{"callsign": "UAL123", "latitude": 40.64, "longitude": -73.77,
//!              "altitude_ft": 35000, "ground_speed_kts": 450, "heading_deg": 270,
//!              "vertical_rate_fpm": -500, "squawk": "1200",
//!              "track_source": "radar", "timestamp": "2026-01-16T12:00:00Z"}]}
//! ```
//!
//! `callsign`, `latitude` and `longitude` are required; the other fields,
//! when absent, keep the flight's current values. Config: `max_items`
//! (default 1000).

use serde_json::{Map, Value};
use vatswim_plugin_api::{
    Description, FieldValue, FlightRef, IngestAdapter, IngestItem, ItemError, Parsed, Patch,
    PositionUpdate, Timestamp, Track,
};

/// The adapter.
pub struct TrackAdapter {
    max_items: usize,
}

/// Why one track item cannot be used: the field and the message.
type ItemFault = (&'static str, String);

impl IngestAdapter for TrackAdapter {
    fn describe() -> Description {
        Description::new(
            "track",
            env!("CARGO_PKG_VERSION"),
            "partner track data: {\"tracks\":[...]}",
        )
    }

    fn init(config: Value) -> Result<Self, String> {
        let max_items = match config.get("max_items") {
            None => 1000,
            Some(v) => v
                .as_u64()
                .filter(|n| *n > 0)
                .ok_or("config `max_items` must be a positive integer")?
                as usize,
        };
        Ok(TrackAdapter { max_items })
    }

    fn parse(&self, _content_type: &str, body: &[u8]) -> Result<Parsed, String> {
        let tracks = self.tracks_of(body)?;
        let now = vatswim_plugin_api::log::now();
        let mut parsed = Parsed {
            items: Vec::new(),
            errors: Vec::new(),
        };
        for (index, item) in tracks.iter().enumerate() {
            let index = index as u32;
            match track_patch(item, now) {
                Ok(patch) => parsed.items.push(IngestItem { index, patch }),
                Err((field, message)) => parsed.errors.push(ItemError::new(index, field, message)),
            }
        }
        Ok(parsed)
    }
}

impl TrackAdapter {
    /// The `tracks` array, or why the whole body is refused.
    fn tracks_of(&self, body: &[u8]) -> Result<Vec<Value>, String> {
        let body: Value =
            serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
        let Some(Value::Array(tracks)) = body.get("tracks").cloned() else {
            return Err(r#"body must be an object with a "tracks" array"#.to_string());
        };
        if tracks.len() > self.max_items {
            return Err(format!(
                "{} tracks is over the limit of {} per request",
                tracks.len(),
                self.max_items
            ));
        }
        Ok(tracks)
    }
}

/// The patch for one track item.
fn track_patch(item: &Value, now: Timestamp) -> Result<Patch, ItemFault> {
    let item = item
        .as_object()
        .ok_or(("", "a track must be a JSON object".to_string()))?;
    let callsign = required_callsign(item)?;
    let lat = coordinate(item, "latitude", 90.0)?;
    let lon = coordinate(item, "longitude", 180.0)?;
    let squawk = optional_squawk(item)?;
    let updated_at = match item.get("timestamp") {
        None | Some(Value::Null) => now,
        Some(v) => v
            .as_str()
            .and_then(vatswim_plugin_api::time::parse_rfc3339)
            .ok_or((
                "timestamp",
                "must be an ISO 8601 UTC time, e.g. 2026-01-16T12:00:00Z".to_string(),
            ))?,
    };
    let position = PositionUpdate {
        lat,
        lon,
        altitude_ft: optional_int(item, "altitude_ft", -2_000, 100_000)?,
        heading_deg: optional_int(item, "heading_deg", 0, 360)?,
        groundspeed_kts: optional_int(item, "ground_speed_kts", 0, 2_000)?,
        vertical_rate_fpm: optional_int(item, "vertical_rate_fpm", -30_000, 30_000)?,
        squawk,
        updated_at,
    };
    let source = item
        .get("track_source")
        .and_then(Value::as_str)
        .unwrap_or("partner")
        .to_string();
    Ok(Patch {
        flight: FlightRef::Callsign(callsign),
        fields: vec![
            FieldValue::Position(position),
            FieldValue::Track(Track {
                source,
                squawk,
                updated_at,
            }),
        ],
    })
}

fn required_callsign(item: &Map<String, Value>) -> Result<String, ItemFault> {
    match item.get("callsign").and_then(Value::as_str).map(str::trim) {
        Some(c) if !c.is_empty() => Ok(c.to_ascii_uppercase()),
        _ => Err(("callsign", "missing required field: callsign".to_string())),
    }
}

fn coordinate(
    item: &Map<String, Value>,
    field: &'static str,
    limit: f64,
) -> Result<f64, ItemFault> {
    let value = item
        .get(field)
        .ok_or((field, format!("missing required field: {field}")))?;
    match value.as_f64() {
        Some(v) if v.abs() <= limit => Ok(v),
        Some(v) => Err((
            field,
            format!("{v} is out of range: must be between -{limit} and {limit}"),
        )),
        None => Err((field, "must be a number".to_string())),
    }
}

fn optional_int(
    item: &Map<String, Value>,
    field: &'static str,
    min: i64,
    max: i64,
) -> Result<Option<i32>, ItemFault> {
    match item.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if (min as f64..=max as f64).contains(&n) => Ok(Some(n.round() as i32)),
            Some(n) => Err((
                field,
                format!("{n} is out of range: must be between {min} and {max}"),
            )),
            None => Err((field, "must be a number".to_string())),
        },
    }
}

/// A squawk is four octal digits ("0000" to "7777").
fn optional_squawk(item: &Map<String, Value>) -> Result<Option<u16>, ItemFault> {
    match item.get("squawk") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() == 4 && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) => {
            Ok(s.parse().ok())
        }
        Some(_) => Err((
            "squawk",
            "must be four octal digits, e.g. \"1200\"".to_string(),
        )),
    }
}

vatswim_plugin_api::export_ingest_adapter!(TrackAdapter);
