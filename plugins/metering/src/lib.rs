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
use vatswim_plugin_api::body::{self, Faults, Item};
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

    /// The patch for one metering record, or every fault in it.
    fn patch(&self, record: &Item) -> Result<Patch, Faults> {
        let mut faults = Faults::default();
        let flight = flight_of(record, &mut faults);
        let status = faults.optional(body::optional_code(record, &["metering_status"]));
        if let Some(s) = status.as_deref().filter(|s| !STATUSES.contains(s)) {
            faults.note(
                "metering_status",
                format!("{s:?} is not one of {}", STATUSES.join(", ")),
            );
        }
        let mut time = |names| faults.optional(body::optional_time(record, names));
        let sta_utc = time(&["scheduled_time_of_arrival", "sta_utc"]);
        let metering_time_utc = time(&["metering_time", "metering_time_utc"]);
        let metering = Metering {
            sta_utc,
            metering_time_utc,
            metering_point: faults
                .optional(body::optional_code(record, &["metering_point"]))
                .or_else(|| self.metering_point.clone()),
            delay_minutes: faults.optional(body::optional_int(
                record,
                &["metering_delay"],
                -1_440,
                1_440,
            )),
            frozen: faults.optional(body::optional_bool(record, &["metering_frozen"])),
            stream: faults.optional(body::optional_code(record, &["arrival_stream"])),
            status,
        };
        let Some(flight) = flight else {
            return Err(faults);
        };
        faults.finish()?;
        Ok(Patch {
            flight,
            fields: vec![FieldValue::Metering(metering)],
        })
    }
}

/// The flight a record names: by `gufi`, else by `callsign`; `None` with
/// the fault noted when it names none.
fn flight_of(record: &Item, faults: &mut Faults) -> Option<FlightRef> {
    let gufi = faults.check(body::optional_text(record, &["gufi"]));
    let callsign = faults.check(body::optional_code(record, &["callsign"]));
    match (gufi, callsign) {
        (Some(Some(gufi)), _) => Some(FlightRef::Gufi(gufi)),
        (_, Some(Some(callsign))) => Some(FlightRef::Callsign(callsign)),
        (Some(None), Some(None)) => {
            faults.note("callsign", "missing required field: callsign or gufi");
            None
        }
        _ => None, // present but at fault: noted
    }
}

vatswim_plugin_api::export_ingest_adapter!(MeteringAdapter);
