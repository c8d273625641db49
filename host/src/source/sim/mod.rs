//! The built-in traffic simulator (docs/ARCHITECTURE.md, sources): N flights between real
//! airports, each living from the gate to disconnect, replaced by a new
//! flight when it leaves. It writes VATSIM v3 JSON, so the gateway parses
//! it like the real feed, and it keeps the ground truth (the true OUT, OFF,
//! ON and IN of every flight) so detection can be measured.
//!
//! Deterministic: the same seed and start time give the same flights,
//! positions and truth.

pub mod flight;
pub mod rng;
pub mod route;
pub mod runner;
pub mod truth;
pub mod world;
pub mod writer;

use std::collections::VecDeque;
use std::sync::Arc;

pub use flight::{SimFlight, State};
use rng::Rng;
pub use truth::{Truth, TruthFlight};
pub use world::World;

use crate::reference::{Airport, AirportTable};

/// Routes are drawn between airports this far apart, nm.
const ROUTE_NM: std::ops::Range<f64> = 150.0..2_500.0;
/// How many retired flights' truth is kept.
const RETIRED_TRUTH: usize = 200_000;

/// How to simulate.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Random seed.
    pub seed: u64,
    /// Flights connected at any time.
    pub flights: usize,
    /// Simulated time between snapshots, ms (the real feed: 15 s).
    pub interval_ms: i64,
    /// The simulated clock at the first snapshot, epoch ms.
    pub start_ms: i64,
    /// An airport a quarter of new flights fly to (a busy hub, to see
    /// ground stops and GDPs bite).
    pub hub: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            flights: 1_000,
            interval_ms: 15_000,
            start_ms: 0,
            hub: None,
        }
    }
}

/// The simulated world.
pub struct Simulator {
    config: SimConfig,
    airports: Arc<AirportTable>,
    rng: Rng,
    flights: Vec<SimFlight>,
    retired: VecDeque<SimFlight>,
    next_serial: u32,
    now: i64,
    first_snapshot: Option<i64>,
}

impl Simulator {
    /// A world of `config.flights` flights, each somewhere in its life.
    pub fn new(config: SimConfig, airports: Arc<AirportTable>) -> Simulator {
        let mut sim = Simulator {
            rng: Rng::new(config.seed),
            now: config.start_ms,
            airports,
            flights: Vec::with_capacity(config.flights),
            retired: VecDeque::new(),
            next_serial: 0,
            first_snapshot: None,
            config,
        };
        for _ in 0..sim.config.flights {
            let mut f = sim.new_flight(sim.now);
            // Start mid-life: anywhere from just connected to about to leave.
            let life = f.schedule.disconnect - f.schedule.connect;
            f.shift(-((sim.rng.unit() * life as f64) as i64));
            sim.flights.push(f);
        }
        sim
    }

    /// `world` (built from its settings) fast-forwarded so that its next
    /// snapshot is at `next_at`: flights are replaced at every snapshot
    /// time the world had, in the same order, so each flight it had is the
    /// same flight, where it would be, and the truth covers the whole run.
    pub fn resume(world: &World, airports: Arc<AirportTable>, next_at: i64) -> Simulator {
        let interval = world.interval_ms;
        let mut sim = Simulator::new(world.config(), airports);
        sim.first_snapshot = Some(sim.now);
        sim.replace_departed();
        let last = next_at - interval;
        while sim.now + interval <= last {
            sim.now += interval;
            sim.replace_departed();
        }
        if sim.now < last {
            sim.now = last;
            sim.replace_departed();
        }
        sim
    }

    /// The simulated clock.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The next snapshot as v3 JSON: the first at the start time, then one
    /// interval later each call.
    pub fn next_snapshot(&mut self) -> Vec<u8> {
        if self.first_snapshot.is_some() {
            self.now += self.config.interval_ms;
        }
        self.first_snapshot.get_or_insert(self.now);
        self.replace_departed();
        writer::snapshot(self.now, self.live())
    }

    /// Flights connected now, with where they are.
    pub fn live(&self) -> impl Iterator<Item = (&SimFlight, State)> {
        self.states_at(self.now)
    }

    /// This snapshot's flights, connected or not yet.
    pub fn flights(&self) -> &[SimFlight] {
        &self.flights
    }

    /// This snapshot's flights connected at `t`, with where they are then:
    /// what a partner tracking them between snapshots would report.
    pub fn states_at(&self, t: i64) -> impl Iterator<Item = (&SimFlight, State)> {
        self.flights
            .iter()
            .filter_map(move |f| f.state_at(t).map(|s| (f, s)))
    }

    /// What really happened, up to the last snapshot.
    pub fn truth(&self) -> Truth {
        let first = self.first_snapshot.unwrap_or(self.now);
        Truth::new(
            first,
            self.now,
            self.flights.iter().chain(self.retired.iter()),
        )
    }

    /// Flights past their disconnect leave; a new one connects for each.
    fn replace_departed(&mut self) {
        for i in 0..self.flights.len() {
            if self.flights[i].schedule.disconnect <= self.now {
                let fresh = self.new_flight(self.now);
                let gone = std::mem::replace(&mut self.flights[i], fresh);
                self.retire(gone);
            }
        }
    }

    fn retire(&mut self, flight: SimFlight) {
        if self.retired.len() == RETIRED_TRUTH {
            self.retired.pop_front();
        }
        self.retired.push_back(flight);
    }

    fn new_flight(&mut self, connect: i64) -> SimFlight {
        let serial = self.next_serial;
        self.next_serial += 1;
        let (dep, dest) = self.route();
        SimFlight::new(&mut self.rng, serial, dep, dest, connect)
    }

    /// A random pair of airports a plausible distance apart.
    fn route(&mut self) -> (Airport, Airport) {
        let all = self.airports.all();
        let hub = self
            .config
            .hub
            .as_deref()
            .and_then(|icao| all.iter().find(|a| a.icao == icao))
            .cloned();
        let to_hub = hub.is_some() && self.rng.below(4) == 0;
        loop {
            let dep = &all[self.rng.below(all.len())];
            let dest = match &hub {
                Some(hub) if to_hub => hub,
                _ => &all[self.rng.below(all.len())],
            };
            let d = vatswim_plugin_api::geo::distance_nm(dep.lat, dep.lon, dest.lat, dest.lon);
            if ROUTE_NM.contains(&d) {
                return (dep.clone(), dest.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_world_continues_exactly_where_it_stopped() {
        let config = SimConfig {
            seed: 7,
            flights: 300,
            interval_ms: 15_000,
            start_ms: 1_700_000_000_000,
            hub: Some("KJFK".into()),
        };
        let airports = AirportTable::embedded();
        let mut straight = Simulator::new(config.clone(), airports.clone());
        let snapshots: Vec<Vec<u8>> = (0..240).map(|_| straight.next_snapshot()).collect();
        let replaced = straight.next_serial as usize - config.flights;
        assert!(
            replaced > 10,
            "the span sees flights leave and join ({replaced})"
        );
        // The gateway committed snapshots 0..150 and stopped.
        let next_at = config.start_ms + 150 * config.interval_ms;
        let mut resumed = Simulator::resume(&World::of(&config), airports, next_at);
        for (k, expected) in snapshots.iter().enumerate().skip(150) {
            assert!(resumed.next_snapshot() == *expected, "snapshot {k} differs");
        }
        assert_eq!(
            resumed.truth().flights.len(),
            straight.truth().flights.len()
        );
    }
}
