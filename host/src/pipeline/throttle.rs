//! Which changed flights a cycle writes to the database.
//!
//! A flight whose only change is its motion (position, and the distance to
//! go, ETA and current ARTCC derived from it) is written at most every
//! [`MOTION_WRITE_EVERY_MS`] of data time, plus a per-flight stagger so
//! flights created together do not all come due in the same cycle.
//! Everything else a change touches (identity, plan, times, TMI, phase,
//! connection) is written in the cycle it changes, as are new and purged
//! flights. After a crash a restored position is at most this old, and the
//! next snapshot brings a fresh one; every time and event a detector
//! produced is on disk before it is published.
//!
//! Why: with every airborne flight moving every cycle, writing each one
//! every cycle was the largest stage of the cycle (docs/ARCHITECTURE.md, performance principle 4:
//! write only rows that changed in a way that matters).

use std::collections::HashMap;

use crate::flight::{FlightRecord, Progress};
use crate::store::Change;

/// The longest a flight's stored motion lags behind, data time.
pub const MOTION_WRITE_EVERY_MS: i64 = 60_000;
const STAGGER_STEP_MS: i64 = 15_000;

/// When each flight's row was last written.
#[derive(Debug, Default)]
pub struct WriteThrottle {
    written_at: HashMap<u64, i64>,
}

impl WriteThrottle {
    /// The changes whose rows a cycle at `now` writes.
    pub fn rows(&mut self, changes: &[Change], now: i64) -> Vec<Change> {
        let mut rows = Vec::with_capacity(changes.len());
        for c in changes {
            if c.after.is_none() {
                self.written_at.remove(&c.flight_uid);
            } else if self.can_wait(c, now) {
                continue;
            } else {
                self.written_at.insert(c.flight_uid, now);
            }
            rows.push(c.clone());
        }
        rows
    }

    fn can_wait(&self, c: &Change, now: i64) -> bool {
        let stagger = (c.flight_uid % 4) as i64 * STAGGER_STEP_MS;
        let due = self
            .written_at
            .get(&c.flight_uid)
            .is_none_or(|t| now - t >= MOTION_WRITE_EVERY_MS + stagger);
        let motion = matches!((&c.before, &c.after), (Some(b), Some(a)) if motion_only(b, a));
        motion && !due
    }
}

/// Whether `after` differs from `before` only in motion.
fn motion_only(before: &FlightRecord, after: &FlightRecord) -> bool {
    let lasting = |p: &Option<Progress>| p.map(|p| (p.phase, p.is_active));
    before.identity == after.identity
        && before.flight_plan == after.flight_plan
        && before.times == after.times
        && before.tmi == after.tmi
        && before.track == after.track
        && before.metering == after.metering
        && lasting(&before.progress) == lasting(&after.progress)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::flight::{Position, Times};

    fn at(lat: f64, times: Times) -> Arc<FlightRecord> {
        Arc::new(FlightRecord {
            flight_uid: 4,
            position: Some(Position {
                lat,
                ..Position::default()
            }),
            times: Some(times),
            ..FlightRecord::default()
        })
    }

    fn change(before: Option<Arc<FlightRecord>>, after: Option<Arc<FlightRecord>>) -> Change {
        Change {
            flight_uid: 4,
            before,
            after,
        }
    }

    #[test]
    fn motion_waits_a_minute_and_anything_else_is_written_at_once() {
        let mut t = WriteThrottle::default();
        let none = Times::default();
        assert_eq!(t.rows(&[change(None, Some(at(1.0, none)))], 0).len(), 1);
        let moved = change(Some(at(1.0, none)), Some(at(2.0, none)));
        assert!(t.rows(std::slice::from_ref(&moved), 15_000).is_empty());
        assert_eq!(t.rows(std::slice::from_ref(&moved), 60_000).len(), 1);
        let off = Times {
            off_utc: Some(61_000),
            ..none
        };
        let departed = change(Some(at(2.0, none)), Some(at(3.0, off)));
        assert_eq!(t.rows(&[departed], 75_000).len(), 1);
        assert_eq!(t.rows(&[change(Some(at(3.0, off)), None)], 90_000).len(), 1);
    }
}
