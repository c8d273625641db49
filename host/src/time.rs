//! Times as the gateway writes them: epoch milliseconds inside, ISO 8601
//! UTC with milliseconds on the wire (PERTI's format).

/// Epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_iso_millis(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(String::new, |t| {
        t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    })
}

/// Serializes epoch milliseconds as `format_iso_millis` writes them.
pub fn iso_millis<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_iso_millis(*ms))
}

/// `iso_millis` for an optional time (null when absent).
pub fn iso_millis_opt<S: serde::Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => iso_millis(ms, s),
        None => s.serialize_none(),
    }
}
