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

use serde_json::Value;
use vatswim_plugin_api::body::{self, Faults, Item};
use vatswim_plugin_api::{
    Description, FieldValue, FlightRef, IngestAdapter, Parsed, Patch, PositionUpdate, Timestamp,
    Track,
};

/// The adapter.
pub struct TrackAdapter {
    max_items: usize,
}

impl IngestAdapter for TrackAdapter {
    fn describe() -> Description {
        Description::new(
            "track",
            env!("CARGO_PKG_VERSION"),
            "partner track data: {\"tracks\":[...]}",
        )
    }

    fn init(config: Value) -> Result<Self, String> {
        Ok(TrackAdapter {
            max_items: body::max_items(&config, 1000)?,
        })
    }

    fn parse(&self, _content_type: &str, bytes: &[u8]) -> Result<Parsed, String> {
        let tracks = body::items(&mut body::object(bytes)?, "tracks", self.max_items)?;
        let now = vatswim_plugin_api::log::now();
        Ok(body::parse_each_field(&tracks, FIELDS, |item| {
            track_patch(item, now)
        }))
    }
}

/// The patch for one track item with the faults of the fields it leaves
/// out (each reported, the rest applies), or every fault of an item with
/// no flight or no position (callsign, latitude, longitude).
fn track_patch(item: &Item, now: Timestamp) -> Result<(Patch, Faults), Faults> {
    let mut needed = Faults::default();
    let callsign = needed.check(body::required_code(item, "callsign"));
    let lat = needed.check(body::coordinate(item, &["latitude", "lat"], 90.0));
    let lon = needed.check(body::coordinate(item, &["longitude", "lon"], 180.0));
    let mut left_out = Faults::default();
    let squawk = left_out.optional(body::optional_squawk(item, "squawk"));
    let updated_at = left_out
        .optional(body::optional_time(item, &["timestamp"]))
        .unwrap_or(now);
    let mut int = |names, min, max| left_out.optional(body::optional_int(item, names, min, max));
    let altitude_ft = int(&["altitude_ft", "altitude"], -2_000, 100_000);
    let heading_deg = int(&["heading_deg", "heading"], 0, 360);
    let groundspeed_kts = int(&["ground_speed_kts", "groundspeed_kts"], 0, 2_000);
    let vertical_rate_fpm = int(&["vertical_rate_fpm"], -30_000, 30_000);
    let source = left_out
        .optional(body::optional_text(item, &["track_source"]))
        .unwrap_or_else(|| "partner".into());
    let (Some(callsign), Some(lat), Some(lon)) = (callsign, lat, lon) else {
        return Err(needed.and(left_out));
    };
    let position = PositionUpdate {
        lat,
        lon,
        altitude_ft,
        heading_deg,
        groundspeed_kts,
        vertical_rate_fpm,
        squawk,
        updated_at,
    };
    let patch = Patch {
        flight: FlightRef::Callsign(callsign),
        fields: vec![
            FieldValue::Position(position),
            FieldValue::Track(Track {
                source,
                squawk,
                updated_at,
            }),
        ],
    };
    Ok((patch, left_out))
}

/// Every field a track item may have (others are reported as warnings).
const FIELDS: &[&str] = &[
    "callsign",
    "latitude",
    "lat",
    "longitude",
    "lon",
    "squawk",
    "timestamp",
    "altitude_ft",
    "altitude",
    "heading_deg",
    "heading",
    "ground_speed_kts",
    "groundspeed_kts",
    "vertical_rate_fpm",
    "track_source",
];

vatswim_plugin_api::export_ingest_adapter!(TrackAdapter);
