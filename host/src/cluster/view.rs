//! A follower's flights and TMI programs (docs/CLUSTER.md, followers): read
//! from the database the leader commits to, the flights a cycle changed
//! and nothing else, and swapped in whole like the leader's own view.
//!
//! Chosen over rebuilding flights from events: events carry what clients
//! subscribe to, not whole records (a position batch has no flight plan),
//! and the database already has each committed record once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::db::postgres::TOMBSTONE_CYCLES;
use crate::db::{CycleStore as _, DbError, PgDatabase, PgUrl};
use crate::flight::FlightRecord;
use crate::health::wall_ms;
use crate::pipeline::Shared;
use crate::shutdown::Shutdown;
use crate::store::FlightsView;

/// How often a follower looks for committed cycles.
pub const REFRESH_EVERY: Duration = Duration::from_millis(250);

/// The follower's copy of the flights.
struct Mirror {
    db: PgDatabase,
    flights: BTreeMap<u64, Arc<FlightRecord>>,
    cycle: i64,
    version: u64,
}

impl Mirror {
    /// Applies the cycles committed since the last call; true if any were.
    fn refresh(&mut self, shared: &Shared) -> Result<bool, DbError> {
        let (mut cycle, mut rows) = self.db.changed_since(self.cycle)?;
        if cycle == self.cycle {
            return Ok(false);
        }
        // Purged flights' rows are kept a while only: a follower further
        // behind than that starts over from every flight.
        if self.cycle > 0 && cycle - self.cycle >= TOMBSTONE_CYCLES {
            (cycle, rows) = self.db.changed_since(0)?;
            self.flights.clear();
        }
        for (uid, _, record) in rows {
            match record {
                Some(record) => self.flights.insert(uid, record),
                None => self.flights.remove(&uid),
            };
        }
        self.cycle = cycle;
        self.version += 1;
        let as_of = self
            .flights
            .values()
            .filter_map(|r| r.position.map(|p| p.updated_at))
            .max()
            .unwrap_or_else(wall_ms);
        let view = FlightsView::of_records(
            self.flights.values().cloned().collect(),
            self.version,
            as_of,
        );
        shared.metrics.flights.set(view.flights.len() as u64);
        let active = view
            .flights
            .iter()
            .filter(|r| r.progress.is_some_and(|p| p.is_active));
        shared.metrics.active_flights.set(active.count() as u64);
        shared.metrics.last_seq.set(shared.feed.last_seq());
        shared.tracks.record(&view, shared.feed.last_seq());
        shared.view.store(Arc::new(view));
        shared
            .programs
            .store(Arc::new(self.db.programs(wall_ms())?));
        Ok(true)
    }
}

/// Keeps `shared`'s view current from the database until `stop`.
/// Runs on a thread of its own (the database client blocks).
pub fn mirror(url: PgUrl, shared: Arc<Shared>, stop: Shutdown) {
    let mut mirror: Option<Mirror> = None;
    while !stop.is_triggered() {
        let result = match mirror.as_mut() {
            Some(m) => m.refresh(&shared).map(drop),
            None => PgDatabase::open(&url).map(|db| {
                mirror = Some(Mirror {
                    db,
                    flights: BTreeMap::new(),
                    cycle: 0,
                    version: 0,
                });
            }),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "follower: flights not refreshed; retrying");
            mirror = None;
        }
        std::thread::sleep(REFRESH_EVERY);
    }
}
