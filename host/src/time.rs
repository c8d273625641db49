//! Times as the gateway writes them: epoch milliseconds inside, ISO 8601
//! UTC with milliseconds on the wire (PERTI's format).

/// Epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_iso_millis(ms: i64) -> String {
    // Not `format("%Y-...")`: that parses the pattern on every call, and
    // every event frame and REST record formats several times.
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_pertis_iso_8601_with_milliseconds() {
        assert_eq!(format_iso_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_iso_millis(1_764_603_296_007),
            "2025-12-01T15:34:56.007Z"
        );
        assert_eq!(
            format_iso_millis(1_764_603_296_000),
            "2025-12-01T15:34:56.000Z"
        );
    }
}
