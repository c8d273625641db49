//! The feed's free-text fields, decoded the way pilots actually type them.

/// A filed cruise altitude in feet: "35000", "FL350", "F350", "350"
/// (three digits or fewer are hundreds of feet), "A045" (altitude in
/// hundreds), "S1130" / "M1130" (metric, tens of metres). None for "",
/// "0", "VFR" and anything unreadable or above FL990.
pub fn filed_altitude_ft(text: &str) -> Option<i32> {
    let text = text.trim().to_ascii_uppercase();
    let feet = if let Some(rest) = text
        .strip_prefix("FL")
        .or_else(|| text.strip_prefix('F'))
        .or_else(|| text.strip_prefix('A'))
    {
        digits(rest)? * 100
    } else if let Some(rest) = text.strip_prefix('S').or_else(|| text.strip_prefix('M')) {
        (f64::from(digits(rest)? * 10) * 3.280_84).round() as i32
    } else {
        let n = digits(&text)?;
        if n < 1000 { n * 100 } else { n }
    };
    (1..=99_000).contains(&feet).then_some(feet)
}

/// A filed true airspeed in knots: "453" or "N0453"; None for Mach ("M082"),
/// km/h ("K0830") and anything unreadable.
pub fn filed_tas_kts(text: &str) -> Option<i32> {
    let text = text.trim();
    let knots = digits(text.strip_prefix(['N', 'n']).unwrap_or(text))?;
    (1..=2_000).contains(&knots).then_some(knots)
}

/// A transponder code ("7700", four octal digits) as its digits read in
/// decimal; None when it is not a valid code.
pub fn squawk(text: &str) -> Option<u16> {
    let valid = text.len() == 4 && text.bytes().all(|b| (b'0'..=b'7').contains(&b));
    if valid { text.parse().ok() } else { None }
}

/// An RFC 3339 time as epoch milliseconds (the feed uses 7 fractional digits).
pub fn epoch_millis(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

fn digits(text: &str) -> Option<i32> {
    let ok = !text.is_empty() && text.len() <= 6 && text.bytes().all(|b| b.is_ascii_digit());
    if ok { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn altitudes_as_pilots_type_them() {
        for (text, feet) in [
            ("35000", Some(35_000)),
            ("FL350", Some(35_000)),
            ("fl350", Some(35_000)),
            ("F350", Some(35_000)),
            ("350", Some(35_000)),
            ("330", Some(33_000)),
            ("45", Some(4_500)),
            ("1500", Some(1_500)),
            ("A045", Some(4_500)),
            ("S1130", Some(37_073)),
            ("", None),
            ("0", None),
            ("VFR", None),
            ("FL", None),
            ("999999", None),
            ("35,000", None),
        ] {
            assert_eq!(filed_altitude_ft(text), feet, "{text:?}");
        }
    }

    #[test]
    fn airspeeds_squawks_and_times() {
        assert_eq!(filed_tas_kts("453"), Some(453));
        assert_eq!(filed_tas_kts("N0453"), Some(453));
        assert_eq!(filed_tas_kts("M082"), None);
        assert_eq!(filed_tas_kts(""), None);
        assert_eq!(squawk("7700"), Some(7700));
        assert_eq!(squawk("0012"), Some(12));
        assert_eq!(squawk("7800"), None);
        assert_eq!(squawk("123"), None);
        assert_eq!(
            epoch_millis("2024-02-20T23:19:51.9474401Z"),
            Some(1_708_471_191_947)
        );
        assert_eq!(
            epoch_millis("2024-02-20T06:28:32Z"),
            Some(1_708_410_512_000)
        );
        assert_eq!(epoch_millis("yesterday"), None);
    }
}
