//! UTC times as plugins exchange them: epoch milliseconds inside, ISO 8601
//! in JSON payloads. No date crate, so plugins stay small.

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)`.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |from: usize, to: usize| digits(s.get(from..to)?);
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let (millis, zone) = fraction_millis(&s[19..])?;
    let offset_min = zone_offset_minutes(zone)?;
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_min * 60;
    Some(secs * 1_000 + millis)
}

/// Splits an optional `.fff` fraction from the zone that follows it.
fn fraction_millis(rest: &str) -> Option<(i64, &str)> {
    let Some(frac) = rest.strip_prefix('.') else {
        return Some((0, rest));
    };
    let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let padded = format!("{:0<3}", &frac[..digits.min(3)]);
    Some((padded.parse().ok()?, &frac[digits..]))
}

/// `Z`, or `+HH:MM` / `-HH:MM` within a day (exactly that: an offset of
/// any other length once overflowed the arithmetic below).
fn zone_offset_minutes(zone: &str) -> Option<i64> {
    if zone.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match zone.as_bytes() {
        [b'+', _, _, b':', _, _] => 1,
        [b'-', _, _, b':', _, _] => -1,
        _ => return None,
    };
    let (hours, minutes) = (digits(&zone[1..3])?, digits(&zone[4..6])?);
    (hours <= 23 && minutes <= 59).then_some(sign * (hours * 60 + minutes))
}

/// A run of ASCII digits as a number (no sign, no spaces: `str::parse`
/// takes `+5`).
fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SSZ` (PERTI's form).
pub fn format_utc(millis: i64) -> String {
    let secs = millis.div_euclid(1_000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// The date of a day number since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::{format_utc, parse_rfc3339};

    #[test]
    fn parses_utc_and_offsets() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-01-16T12:00:00Z"),
            Some(1_768_564_800_000)
        );
        assert_eq!(
            parse_rfc3339("2026-01-16T13:00:00.5+01:00"),
            Some(1_768_564_800_500)
        );
        assert_eq!(parse_rfc3339("2026-13-16T12:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    /// Found by the `ingest_adl` fuzz target: a zone offset of fifteen
    /// digits overflowed (a panic natively, a wrapped, bogus time in wasm).
    #[test]
    fn offsets_are_exactly_hh_mm_within_a_day() {
        assert_eq!(parse_rfc3339("2026-10-30T12:10:26-188888888888888:0"), None);
        assert_eq!(parse_rfc3339("2026-01-16T12:00:00+24:00"), None);
        assert_eq!(parse_rfc3339("2026-01-16T12:00:00+01:60"), None);
        assert_eq!(parse_rfc3339("2026-01-16T12:00:00+1:00"), None);
        assert_eq!(parse_rfc3339("2026-01-16T12:00:00+00:+5"), None);
        assert_eq!(parse_rfc3339("+026-01-16T12:00:00Z"), None);
        assert_eq!(
            parse_rfc3339("2026-01-16T11:00:00-01:00"),
            Some(1_768_564_800_000)
        );
    }

    #[test]
    fn formats_and_round_trips() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_768_564_800_500), "2026-01-16T12:00:00Z");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29T00:00:00Z");
        for ms in [0, 951_782_400_000, 1_709_164_799_000, 4_102_444_800_000] {
            assert_eq!(parse_rfc3339(&format_utc(ms)), Some(ms));
        }
    }
}
