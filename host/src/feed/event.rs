//! One event of the change feed: its seq, kind, time and payload. The
//! payload is JSON serialized once, when the cycle makes the event
//! (`pipeline::event`); the feed, REST and every subscriber share the bytes.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::time::iso_millis;

/// A serialized JSON payload, shared.
pub type Payload = Arc<RawValue>;

/// One event of the change feed.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Position in the change feed: strictly increasing, no gaps.
    pub seq: u64,
    /// The channel, e.g. "flight.departed".
    #[serde(rename = "type")]
    pub kind: String,
    /// The cycle's time, epoch milliseconds (serialized as ISO 8601 UTC
    /// with milliseconds, as PERTI writes it).
    #[serde(serialize_with = "iso_millis")]
    pub timestamp: i64,
    /// The flight it is about, if any.
    #[serde(skip)]
    pub flight_uid: Option<u64>,
    /// The payload.
    pub data: Payload,
}

impl Event {
    /// The payload as a JSON value (tests and tools; the hot path keeps bytes).
    pub fn data_value(&self) -> Value {
        serde_json::from_str(self.data.get()).unwrap_or(Value::Null)
    }
}

/// Serializes a payload once.
pub fn payload(value: &impl Serialize) -> Payload {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    Arc::from(RawValue::from_string(json).unwrap_or_else(|_| RawValue::NULL.to_owned()))
}
