//! The motion values a record publishes, kept to what could happen.
//!
//! The feed has no vertical rate, so the host derives it from two
//! consecutive samples of one reporter, in timestamp order: the feed's
//! snapshots, or a partner's track. A jump between reporters (a partner's
//! track at 8,000 ft, then the feed at 37,000 ft 20 s later) is two
//! pictures of the sky, not a climb, so it never becomes a rate; the
//! record keeps the rate it had. A value outside the physical limits below
//! (a derived one, or one a source reported) is not published: the record
//! keeps its last plausible value, the count goes to `/metrics`
//! (`swim_implausible_values_total`), and a partner is told which field
//! of which item was refused.

use crate::flight::Position;

/// The steepest vertical rate published, feet per minute (a fighter's
/// initial climb; airliners stay under 6,000).
pub const MAX_VERTICAL_RATE_FPM: i32 = 15_000;

/// The highest ground speed published, knots (Concorde cruised at ~1,180
/// kt true, but nothing on VATSIM's airliner network files faster than
/// Mach 1 at altitude with a jet-stream tailwind).
pub const MAX_GROUNDSPEED_KTS: i32 = 1_000;

/// Values not published because they were outside the limits.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Implausible {
    /// Vertical rates, derived or reported.
    pub vertical_rate: u64,
    /// Ground speeds.
    pub groundspeed: u64,
}

impl Implausible {
    /// What was counted after `earlier` (an earlier reading of the same
    /// counts).
    pub fn since(&self, earlier: Implausible) -> Implausible {
        Implausible {
            vertical_rate: self.vertical_rate - earlier.vertical_rate,
            groundspeed: self.groundspeed - earlier.groundspeed,
        }
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: Implausible) {
        self.vertical_rate += other.vertical_rate;
        self.groundspeed += other.groundspeed;
    }
}

/// A value in a new sample that was not published, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withheld {
    /// The field, e.g. "position.groundspeed_kts".
    pub field: &'static str,
    /// Why, with the value and the limit.
    pub message: String,
    /// Whether the source reported it (a partner is told) or the host
    /// derived it (only counted).
    pub reported: bool,
}

/// The position to hold after `sample` arrives over `held`: its vertical
/// rate is `reported_rate` if the source gave one, else derived from
/// `held` when both come from the same reporter and the sample is newer,
/// else `held`'s. Values outside the limits keep `held`'s (0 without one)
/// and are listed.
pub fn next(
    held: Option<&Position>,
    mut sample: Position,
    reported_rate: Option<i32>,
) -> (Position, Vec<Withheld>) {
    let mut withheld = Vec::new();
    if sample.groundspeed_kts.abs() > MAX_GROUNDSPEED_KTS {
        withheld.push(Withheld {
            field: "position.groundspeed_kts",
            message: format!(
                "ground speed {} kt is over the limit of {MAX_GROUNDSPEED_KTS} kt; not published",
                sample.groundspeed_kts
            ),
            reported: true,
        });
        sample.groundspeed_kts = held.map_or(0, |h| h.groundspeed_kts);
    }
    let kept_rate = held.map_or(0, |h| h.vertical_rate_fpm);
    let (rate, reported) = match reported_rate {
        Some(rate) => (Some(rate), true),
        None => (derived_rate(held, &sample), false),
    };
    sample.vertical_rate_fpm = match rate {
        Some(rate) if rate.abs() <= MAX_VERTICAL_RATE_FPM => rate,
        Some(rate) => {
            let how = if reported {
                "vertical rate"
            } else {
                "derived vertical rate"
            };
            withheld.push(Withheld {
                field: "position.vertical_rate_fpm",
                message: format!(
                    "{how} {rate} fpm is over the limit of {MAX_VERTICAL_RATE_FPM} fpm; not published"
                ),
                reported,
            });
            kept_rate
        }
        None => kept_rate,
    };
    (sample, withheld)
}

/// The climb or descent between two samples of one reporter, if `sample`
/// is the later of two such.
fn derived_rate(held: Option<&Position>, sample: &Position) -> Option<i32> {
    let held = held.filter(|h| h.reported_by == sample.reported_by)?;
    if sample.updated_at <= held.updated_at {
        return None;
    }
    let minutes = (sample.updated_at - held.updated_at) as f64 / 60_000.0;
    let rate = f64::from(sample.altitude_ft - held.altitude_ft) / minutes;
    Some(rate.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32)
}

/// Counts what `withheld` lists.
pub fn count(withheld: &[Withheld]) -> Implausible {
    let mut counts = Implausible::default();
    for w in withheld {
        match w.field {
            "position.groundspeed_kts" => counts.groundspeed += 1,
            _ => counts.vertical_rate += 1,
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flight::Reporter;

    fn at(t_s: i64, altitude_ft: i32, reported_by: Reporter) -> Position {
        Position {
            altitude_ft,
            groundspeed_kts: 450,
            updated_at: t_s * 1_000,
            reported_by,
            ..Position::default()
        }
    }

    #[test]
    fn a_jump_between_reporters_is_never_a_rate() {
        // The case in the issue: a partner's track at 8,000 ft, then the
        // feed at 37,000 ft 7.8 s later (it was 223,794 fpm).
        let partner = Position {
            vertical_rate_fpm: -1_200,
            ..at(100, 8_000, Reporter::Partner)
        };
        let (feed, withheld) = next(Some(&partner), at(108, 37_000, Reporter::Feed), None);
        assert_eq!(feed.vertical_rate_fpm, -1_200, "the rate the record had");
        assert!(withheld.is_empty());
        // The next feed sample is the feed's own second one: a rate.
        let (later, _) = next(Some(&feed), at(123, 37_500, Reporter::Feed), None);
        assert_eq!(later.vertical_rate_fpm, 2_000);
    }

    #[test]
    fn rates_come_from_newer_samples_of_one_reporter_within_the_limit() {
        let first = at(0, 10_000, Reporter::Feed);
        let (same, _) = next(Some(&first), at(0, 10_000, Reporter::Feed), None);
        assert_eq!(same.vertical_rate_fpm, 0, "the same sample again");
        let (older, _) = next(Some(&first), at(-15, 12_000, Reporter::Feed), None);
        assert_eq!(older.vertical_rate_fpm, 0, "out of order: no rate");
        let (jump, withheld) = next(Some(&first), at(15, 20_000, Reporter::Feed), None);
        assert_eq!(jump.vertical_rate_fpm, 0, "40,000 fpm is not published");
        assert_eq!(count(&withheld).vertical_rate, 1);
        assert!(!withheld[0].reported, "derived: counted, no one to tell");
    }

    #[test]
    fn reported_values_over_the_limits_are_withheld_and_named() {
        let held = Position {
            vertical_rate_fpm: 800,
            ..at(0, 10_000, Reporter::Partner)
        };
        let sample = Position {
            groundspeed_kts: 1_500,
            ..at(1, 10_010, Reporter::Partner)
        };
        let (kept, withheld) = next(Some(&held), sample, Some(-20_000));
        assert_eq!((kept.groundspeed_kts, kept.vertical_rate_fpm), (450, 800));
        let fields: Vec<&str> = withheld.iter().map(|w| w.field).collect();
        assert_eq!(
            fields,
            ["position.groundspeed_kts", "position.vertical_rate_fpm"]
        );
        assert!(withheld[1].message.contains("-20000 fpm"), "{withheld:?}");
        assert_eq!(
            count(&withheld),
            Implausible {
                vertical_rate: 1,
                groundspeed: 1
            }
        );
    }
}
