//! Where each flight has been: the positions of the published views, kept
//! per flight in memory for `GET /flight/track` (and the dashboard's track).
//!
//! A track is bounded: a point is kept when the flight has moved on since
//! the last one (30 s later, or 1,000 ft up or down), and when a track
//! reaches `MAX_POINTS` every other point of it is dropped, so a long
//! flight keeps its whole shape at a coarser spacing. At 10,000 flights
//! that is at most ~24 MB. Tracks start when the gateway first sees a
//! flight (they are not persisted: a restart starts them again) and go
//! when the flight leaves the view.

use std::collections::HashMap;

use parking_lot::Mutex;
use serde::Serialize;
use utoipa::ToSchema;

use super::FlightsView;
use crate::flight::Position;
use crate::flight::record::Millis;

/// Points one track holds at most.
pub const MAX_POINTS: usize = 128;
/// The least time between two kept points, ms (the feed reports every 15 s).
const MIN_SPACING_MS: Millis = 30_000;
/// An altitude change that keeps a point sooner, feet (a climb's shape).
const MIN_CLIMB_FT: i32 = 1_000;

/// One point of a track.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct TrackPoint {
    /// When it was reported, epoch ms.
    pub t: Millis,
    /// Latitude, degrees.
    pub lat: f32,
    /// Longitude, degrees.
    pub lon: f32,
    /// Altitude, feet.
    pub altitude_ft: i32,
    /// Groundspeed, knots.
    pub groundspeed_kts: i32,
}

impl TrackPoint {
    fn of(p: &Position) -> TrackPoint {
        TrackPoint {
            t: p.updated_at,
            lat: p.lat as f32,
            lon: p.lon as f32,
            altitude_ft: p.altitude_ft,
            groundspeed_kts: p.groundspeed_kts,
        }
    }

    /// Whether `next` is worth keeping after this point.
    fn moved_on(&self, next: &TrackPoint) -> bool {
        next.t - self.t >= MIN_SPACING_MS
            || (next.altitude_ft - self.altitude_ft).abs() >= MIN_CLIMB_FT
    }
}

/// One flight's track.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Track {
    /// The change feed's last seq before the gateway first saw the flight:
    /// its events are after it (`/events?flight_uid=...&since=...`).
    pub since_seq: u64,
    /// The points, oldest first; the last is the newest position kept.
    pub points: Vec<TrackPoint>,
}

impl Track {
    fn add(&mut self, point: TrackPoint) {
        if self
            .points
            .last()
            .is_some_and(|last| !last.moved_on(&point))
        {
            return;
        }
        if self.points.len() == MAX_POINTS {
            // Every other point goes; the first (where it started) stays.
            let mut i = 0;
            self.points.retain(|_| {
                i += 1;
                i % 2 == 1
            });
        }
        self.points.push(point);
    }
}

/// Every flight's track.
#[derive(Default)]
pub struct Tracks {
    inner: Mutex<Book>,
}

#[derive(Default)]
struct Book {
    by_uid: HashMap<u64, Kept>,
    /// Views recorded: a track not in the latest goes.
    round: u64,
    /// The feed's last seq when the previous view was recorded.
    previous_seq: u64,
}

struct Kept {
    /// The last round whose view held the flight.
    round: u64,
    track: Track,
}

impl Tracks {
    /// Adds the positions of a newly published `view`; `last_seq` is the
    /// change feed's last seq with the view's cycle committed. A view
    /// recorded twice adds nothing (a point must have moved on).
    pub fn record(&self, view: &FlightsView, last_seq: u64) {
        let mut book = self.inner.lock();
        book.round += 1;
        let (round, since_seq) = (book.round, book.previous_seq);
        book.previous_seq = last_seq;
        for record in &view.flights {
            let kept = book
                .by_uid
                .entry(record.flight_uid)
                .or_insert_with(|| Kept {
                    round,
                    track: Track {
                        since_seq,
                        points: Vec::new(),
                    },
                });
            kept.round = round;
            if let Some(position) = &record.position {
                kept.track.add(TrackPoint::of(position));
            }
        }
        book.by_uid.retain(|_, kept| kept.round == round);
    }

    /// A flight's track, if the gateway has seen it since it started.
    pub fn of(&self, flight_uid: u64) -> Option<Track> {
        self.inner
            .lock()
            .by_uid
            .get(&flight_uid)
            .map(|kept| kept.track.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t_s: i64, altitude_ft: i32) -> TrackPoint {
        TrackPoint {
            t: t_s * 1_000,
            lat: 40.0,
            lon: -73.0 + t_s as f32 / 1_000.0,
            altitude_ft,
            groundspeed_kts: 250,
        }
    }

    #[test]
    fn a_point_is_kept_when_the_flight_has_moved_on() {
        let mut track = Track::default();
        track.add(point(0, 5_000));
        track.add(point(15, 5_200)); // 15 s, 200 ft: not yet
        track.add(point(30, 5_400)); // 30 s: kept
        track.add(point(40, 6_500)); // 1,100 ft in 10 s: kept
        let times: Vec<_> = track.points.iter().map(|p| p.t / 1_000).collect();
        assert_eq!(times, [0, 30, 40]);
    }

    fn view(version: u64, flights: &[(u64, i64)]) -> FlightsView {
        let records = flights
            .iter()
            .map(|&(uid, t_s)| {
                let p = point(t_s, 10_000);
                std::sync::Arc::new(crate::flight::FlightRecord {
                    flight_uid: uid,
                    position: Some(Position {
                        lat: f64::from(p.lat),
                        lon: f64::from(p.lon),
                        altitude_ft: p.altitude_ft,
                        updated_at: p.t,
                        ..Position::default()
                    }),
                    ..Default::default()
                })
            })
            .collect();
        FlightsView::of_records(records, version, 0)
    }

    #[test]
    fn tracks_follow_the_views_and_say_where_a_flights_events_start() {
        let tracks = Tracks::default();
        tracks.record(&view(1, &[(1, 0)]), 10);
        tracks.record(&view(2, &[(1, 30), (2, 30)]), 25);
        tracks.record(&view(2, &[(1, 30), (2, 30)]), 25); // the same view again
        tracks.record(&view(3, &[(1, 60), (2, 60)]), 40);
        let first = tracks.of(1).unwrap();
        assert_eq!(first.points.len(), 3);
        assert_eq!(first.since_seq, 0);
        let second = tracks.of(2).unwrap();
        assert_eq!(second.points.len(), 2);
        assert_eq!(
            second.since_seq, 10,
            "its events come after the view before it"
        );
        tracks.record(&view(4, &[(2, 90)]), 50);
        assert!(
            tracks.of(1).is_none(),
            "a flight gone from the view has no track"
        );
        assert_eq!(tracks.of(2).unwrap().points.len(), 3);
    }

    #[test]
    fn a_long_track_keeps_its_whole_shape_within_the_bound() {
        let mut track = Track::default();
        for i in 0..2_000 {
            track.add(point(i * 30, 35_000));
        }
        assert!(track.points.len() <= MAX_POINTS, "{}", track.points.len());
        assert!(track.points.len() >= MAX_POINTS / 2);
        assert_eq!(track.points[0].t, 0, "where it started stays");
        assert_eq!(
            track.points.last().unwrap().t,
            1_999 * 30_000,
            "the newest is kept"
        );
        assert!(track.points.windows(2).all(|w| w[0].t < w[1].t));
    }
}
