//! Ingest adapter for arrival metering (`POST /ingest/metering`), in
//! PERTI's shape:
//!
//! ```json
//! {"airport": "KJFK", "metering_point": "CAMRN",
//!  "metering": [{"callsign": "UAL123", "scheduled_time_of_arrival": "2026-01-16T18:30:00Z",
//!                "metering_time": "2026-01-16T18:15:00Z", "metering_delay": 5,
//!                "metering_frozen": true, "arrival_stream": "NORTH",
//!                "metering_status": "METERED"}]}
//! ```
//!
//! `airport` and each record's `callsign` (or `gufi`) are required; a
//! record's `metering_point` overrides the batch's. Fields a record leaves
//! out keep the flight's current values. Config: `max_items` (default 500).

use serde_json::Value;
use vatswim_plugin_api::body::{self, Item, ItemFault};
use vatswim_plugin_api::{
    Description, FieldValue, FlightRef, IngestAdapter, Metering, Parsed, Patch,
};

/// Metering statuses PERTI accepts.
const STATUSES: &[&str] = &["UNMETERED", "METERED", "FROZEN", "SUSPENDED", "EXEMPT"];

/// The adapter.
pub struct MeteringAdapter {
    max_items: usize,
}

impl IngestAdapter for MeteringAdapter {
    fn describe() -> Description {
        Description::new(
            "metering",
            env!("CARGO_PKG_VERSION"),
            "arrival metering: {\"airport\", \"metering\":[...]}",
        )
    }

    fn init(config: Value) -> Result<Self, String> {
        Ok(MeteringAdapter {
            max_items: body::max_items(&config, 500)?,
        })
    }

    fn parse(&self, _content_type: &str, bytes: &[u8]) -> Result<Parsed, String> {
        let mut object = body::object(bytes)?;
        let batch = Batch::of(&object)?;
        let records = body::items(&mut object, "metering", self.max_items)?;
        Ok(body::parse_each(&records, FIELDS, |record| {
            batch.patch(record)
        }))
    }
}

/// Every field a metering record may have (others are reported as warnings).
const FIELDS: &[&str] = &[
    "gufi",
    "callsign",
    "metering_status",
    "scheduled_time_of_arrival",
    "sta_utc",
    "metering_time",
    "metering_time_utc",
    "metering_point",
    "metering_delay",
    "metering_frozen",
    "arrival_stream",
];

/// What the body says for all its records.
struct Batch {
    metering_point: Option<String>,
}

impl Batch {
    fn of(object: &Item) -> Result<Batch, String> {
        let text =
            |name| body::optional_code(object, &[name]).map_err(|(f, m)| format!("{f}: {m}"));
        if text("airport")?.is_none() {
            return Err(r#"body must name the "airport" receiving the traffic"#.to_string());
        }
        Ok(Batch {
            metering_point: text("metering_point")?,
        })
    }

    /// The patch for one metering record.
    fn patch(&self, record: &Item) -> Result<Patch, ItemFault> {
        let flight = match (
            body::optional_text(record, &["gufi"])?,
            body::optional_code(record, &["callsign"])?,
        ) {
            (Some(gufi), _) => FlightRef::Gufi(gufi),
            (None, Some(callsign)) => FlightRef::Callsign(callsign),
            (None, None) => {
                return Err((
                    "callsign",
                    "missing required field: callsign or gufi".into(),
                ));
            }
        };
        let status = body::optional_code(record, &["metering_status"])?;
        if let Some(s) = status.as_deref().filter(|s| !STATUSES.contains(s)) {
            return Err((
                "metering_status",
                format!("{s:?} is not one of {}", STATUSES.join(", ")),
            ));
        }
        let metering = Metering {
            sta_utc: body::optional_time(record, &["scheduled_time_of_arrival", "sta_utc"])?,
            metering_time_utc: body::optional_time(
                record,
                &["metering_time", "metering_time_utc"],
            )?,
            metering_point: body::optional_code(record, &["metering_point"])?
                .or_else(|| self.metering_point.clone()),
            delay_minutes: body::optional_int(record, &["metering_delay"], -1_440, 1_440)?,
            frozen: body::optional_bool(record, &["metering_frozen"])?,
            stream: body::optional_code(record, &["arrival_stream"])?,
            status,
        };
        Ok(Patch {
            flight,
            fields: vec![FieldValue::Metering(metering)],
        })
    }
}

vatswim_plugin_api::export_ingest_adapter!(MeteringAdapter);
