//! When a change between two position samples happened: the OOOI time is
//! the estimated instant, from the samples on both sides of it, not the
//! time of the sample that first shows it (the feed samples every 15 s,
//! so that would be up to 15 s late).
//!
//! - OUT (started moving): parked at `was`, moving at `now`. It covered the
//!   distance between the two at its present speed, after speeding up to
//!   it from a standstill at [`TAXI_ACCEL_KTS_PER_S`] (which takes twice as
//!   long as covering the same distance at that speed would), so it started
//!   `distance / speed + speed / (2 x acceleration)` before `now`.
//! - IN (stopped): moving at `was`, parked at `now`. It went on at its
//!   speed, then slowed to a stop at the same rate: it stopped
//!   `distance / speed + speed / (2 x acceleration)` after `was`.
//! - OFF (wheels off): on the ground at `was`, airborne at `now` at some
//!   height above the field. It climbed that height at an airliner's
//!   initial climb rate, [`INITIAL_CLIMB_FPM`]; the samples cannot show the
//!   real rate (the rate between them includes the ground roll).
//! - ON (wheels on): airborne at `was`, descending at its vertical rate
//!   (the two airborne samples before it), on the ground at `now`. It had
//!   the height above the field to lose at that rate
//!   ([`APPROACH_DESCENT_FPM`] when the rate is unknown or not a descent).
//!
//! Every estimate is kept between the samples (the two sides of the
//! change), except where a sample is itself within the ground rule's band
//! above the field: a flight 150 ft up at the "ground" sample had already
//! lifted off, one 150 ft up at the "ground" sample after landing has yet
//! to touch down, so OFF may be before the first sample and ON after the
//! second (by the time that height takes at the rate). When the samples
//! are out of order or from one instant, or the field elevation is
//! unknown, the estimate is the middle of the interval.

use crate::Timestamp;
use crate::columns::PositionView;
use crate::geo::distance_nm;

/// An airliner's climb rate just after liftoff, feet per minute (2,000 to
/// 3,500 for the common types).
pub const INITIAL_CLIMB_FPM: f64 = 2_500.0;

/// How fast an airliner gets to taxi speed from a standstill, and stops
/// from it, knots per second (15-20 kt in 6-8 s).
pub const TAXI_ACCEL_KTS_PER_S: f64 = 2.5;

/// A descent on a 3 degree glide path at 150 kt, feet per minute.
pub const APPROACH_DESCENT_FPM: f64 = 800.0;

/// Below this a vertical rate says nothing about the descent (level, or
/// the noise of two altitudes rounded to the foot).
const DESCENDING_FPM: i32 = -100;

/// Milliseconds in a minute.
const MINUTE_MS: f64 = 60_000.0;

/// OUT: parked at `was`, moving at `now`. "Parked" is under 5 kt, so a
/// flight creeping at 3 kt at `was` had started before it.
pub fn started_moving(was: &PositionView, now: &PositionView) -> Timestamp {
    let moving_for = taxiing_for(travelled(was, now), now.groundspeed_kts);
    let earliest = was.updated_at - reaching(was.groundspeed_kts);
    between(
        was,
        now,
        now.updated_at - moving_for,
        earliest,
        now.updated_at,
    )
}

/// IN: moving at `was`, parked at `now` (still creeping at 3 kt, it stops
/// after it).
pub fn stopped(was: &PositionView, now: &PositionView) -> Timestamp {
    let moving_for = taxiing_for(travelled(was, now), was.groundspeed_kts);
    let latest = now.updated_at + reaching(now.groundspeed_kts);
    between(
        was,
        now,
        was.updated_at + moving_for,
        was.updated_at,
        latest,
    )
}

/// How long getting to (or from) `kts` from a standstill takes, ms.
fn reaching(kts: i32) -> i64 {
    (f64::from(kts.max(0)) / TAXI_ACCEL_KTS_PER_S * 1_000.0) as i64
}

/// How long it takes to cover `nm` at `kts` with a start from (or a stop
/// to) a standstill at [`TAXI_ACCEL_KTS_PER_S`], ms.
fn taxiing_for(nm: f64, kts: i32) -> i64 {
    let kts = f64::from(kts.max(1));
    let seconds = nm / kts * 3_600.0 + kts / (2.0 * TAXI_ACCEL_KTS_PER_S);
    (seconds * 1_000.0) as i64
}

/// OFF: on the ground at `was`, airborne at `now` above a field at
/// `field_ft` (if known).
pub fn lifted_off(was: &PositionView, now: &PositionView, field_ft: Option<i32>) -> Timestamp {
    let Some(field_ft) = field_ft else {
        return middle(was, now);
    };
    let climbing_for = |p: &PositionView| {
        let height = f64::from((p.altitude_ft - field_ft).max(0));
        (height / INITIAL_CLIMB_FPM * MINUTE_MS) as i64
    };
    let estimate = now.updated_at - climbing_for(now);
    // Already above the field at the first sample: off before it.
    let earliest = was.updated_at - climbing_for(was);
    between(was, now, estimate, earliest, now.updated_at)
}

/// ON: airborne at `was`, on the ground at `now` at a field at `field_ft`
/// (if known).
pub fn touched_down(was: &PositionView, now: &PositionView, field_ft: Option<i32>) -> Timestamp {
    let Some(field_ft) = field_ft else {
        return middle(was, now);
    };
    let rate = if was.vertical_rate_fpm < DESCENDING_FPM {
        -f64::from(was.vertical_rate_fpm)
    } else {
        APPROACH_DESCENT_FPM
    };
    let descending_for = |p: &PositionView| {
        let height = f64::from((p.altitude_ft - field_ft).max(0));
        (height / rate * MINUTE_MS) as i64
    };
    let estimate = was.updated_at + descending_for(was);
    // Still above the field at the second sample: down after it.
    let latest = now.updated_at + descending_for(now);
    between(was, now, estimate, was.updated_at, latest)
}

/// Nautical miles between the two samples.
fn travelled(was: &PositionView, now: &PositionView) -> f64 {
    distance_nm(was.lat, was.lon, now.lat, now.lon)
}

/// `estimate`, kept within `earliest..=latest`; the middle when the
/// samples are not two instants in order.
fn between(
    was: &PositionView,
    now: &PositionView,
    estimate: Timestamp,
    earliest: Timestamp,
    latest: Timestamp,
) -> Timestamp {
    if now.updated_at <= was.updated_at {
        return middle(was, now);
    }
    estimate.clamp(earliest, latest.max(earliest))
}

fn middle(was: &PositionView, now: &PositionView) -> Timestamp {
    if now.updated_at <= was.updated_at {
        return now.updated_at.max(was.updated_at);
    }
    was.updated_at + (now.updated_at - was.updated_at) / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t_s: i64, lat: f64, altitude_ft: i32, groundspeed_kts: i32) -> PositionView {
        PositionView {
            lat,
            lon: 0.0,
            altitude_ft,
            heading_deg: 0,
            groundspeed_kts,
            vertical_rate_fpm: 0,
            squawk: None,
            updated_at: t_s * 1_000,
        }
    }

    /// Degrees of latitude a flight covers at `kts` in `seconds`.
    fn covered(kts: f64, seconds: f64) -> f64 {
        kts * seconds / 3600.0 / 60.0
    }

    #[test]
    fn a_flight_that_moved_started_as_long_ago_as_its_distance_and_speed_say() {
        // Parked at 0 s; taxiing at 15 kt at 15 s. It started 12 s before:
        // 6 s getting to 15 kt at 2.5 kt/s (3 s' worth of distance at 15
        // kt), then 6 s at it: 9 s' worth in all.
        let out = started_moving(&at(0, 0.0, 13, 0), &at(15, covered(15.0, 9.0), 13, 15));
        assert!((out - 3_000).abs() <= 100, "{out}");
        // Taxiing at 15 kt at 0 s, parked at 15 s, 4 s' worth further on:
        // 1 s at 15 kt, then 6 s slowing to a stop.
        let stop = stopped(&at(0, 0.0, 13, 15), &at(15, covered(15.0, 4.0), 13, 0));
        assert!((stop - 7_000).abs() <= 100, "{stop}");
        // Still speeding up at the sample (8 kt, 3.2 s after the start,
        // 1.6 s' worth at 8 kt): the same rule finds the start.
        let early = started_moving(&at(0, 0.0, 13, 0), &at(15, covered(8.0, 1.6), 13, 8));
        assert!((early - 11_800).abs() <= 100, "{early}");
        // Sampled every second, started at 8.8 s: creeping at 3 kt at the
        // "parked" sample (10 s), 5.5 kt at the next. The start is before
        // the first sample, and found within half a second.
        let creeping = at(10, 0.0, 13, 3);
        let moved = covered(5.5, 1.1) - covered(3.0, 0.6);
        let out = started_moving(&creeping, &at(11, moved, 13, 5));
        assert!(out < 10_000 && (out - 8_800).abs() <= 500, "{out}");
    }

    #[test]
    fn takeoff_and_touchdown_come_from_the_height_above_the_field() {
        // 250 ft above a field at 13 ft, 15 s after a ground sample: off
        // 6 s before (250 ft at 2,500 fpm).
        let off = lifted_off(&at(0, 0.0, 13, 140), &at(15, 0.01, 263, 160), Some(13));
        assert_eq!(off, 9_000);
        // 300 ft above the field descending at 2,000 fpm: down 9 s later.
        let was = PositionView {
            vertical_rate_fpm: -2_000,
            ..at(0, 0.0, 313, 145)
        };
        assert_eq!(touched_down(&was, &at(15, 0.01, 13, 120), Some(13)), 9_000);
        // Level (no descent seen): the approach's 800 fpm.
        let level = at(0, 0.0, 113, 145);
        assert_eq!(
            touched_down(&level, &at(15, 0.01, 13, 120), Some(13)),
            7_500
        );
    }

    #[test]
    fn a_sample_inside_the_band_above_the_field_widens_the_interval() {
        // 100 ft up at the "ground" sample (under the 200 ft band), 725 ft
        // at the next: off 2.4 s before the first sample.
        let off = lifted_off(&at(0, 0.0, 113, 150), &at(15, 0.01, 738, 170), Some(13));
        assert_eq!(off, -2_400);
        // 100 ft up at the "ground" sample after landing, descending at
        // 2,000 fpm: down 3 s after it.
        let was = PositionView {
            vertical_rate_fpm: -2_000,
            ..at(0, 0.0, 613, 150)
        };
        let now = at(15, 0.01, 113, 140);
        assert_eq!(touched_down(&was, &now, Some(13)), 18_000);
    }

    #[test]
    fn an_estimate_stays_between_its_samples() {
        // 2,000 ft up: the climb would put OFF before the ground sample.
        assert_eq!(
            lifted_off(&at(0, 0.0, 13, 140), &at(15, 0.01, 2_013, 200), Some(13)),
            0
        );
        // No field elevation: the middle.
        assert_eq!(
            lifted_off(&at(0, 0.0, 13, 60), &at(15, 0.01, 900, 160), None),
            7_500
        );
        // Samples out of order (a partner's, then an older one of the
        // feed's): the later instant, never a time outside both.
        assert_eq!(
            started_moving(&at(20, 0.0, 13, 0), &at(15, 0.0001, 13, 15)),
            20_000
        );
    }
}
