//! What identifies a simulated world, so a restarted demo resumes the same
//! world: the simulator is deterministic, so its settings and the time it
//! began rebuild every flight, and fast-forwarding to where the stored
//! data stopped puts each where it was. A world rebuilt from a new start
//! time instead would contradict the stored flights (a flight parked at
//! its destination reappearing at its gate: false departures and arrivals
//! in the durable feed).

use serde::{Deserialize, Serialize};

use super::SimConfig;

/// The longest stretch of simulated time a world is fast-forwarded over;
/// a gateway stopped for longer starts a new world.
pub const MAX_RESUME_SPAN_MS: i64 = 7 * 86_400_000;

/// A world's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct World {
    /// Random seed.
    pub seed: u64,
    /// Flights connected at any time.
    pub flights: usize,
    /// Simulated ms between snapshots.
    pub interval_ms: i64,
    /// The hub a quarter of new flights fly to.
    pub hub: Option<String>,
    /// The simulated time of the world's first snapshot.
    pub origin_ms: i64,
}

impl World {
    /// The world `config` starts (its `start_ms` is the origin).
    pub fn of(config: &SimConfig) -> World {
        World {
            seed: config.seed,
            flights: config.flights,
            interval_ms: config.interval_ms,
            hub: config.hub.clone(),
            origin_ms: config.start_ms,
        }
    }

    /// Whether `config` asks for this world (a `start_ms` of 0 means any
    /// start), and a snapshot at `next_at` can continue it.
    pub fn continues(&self, config: &SimConfig, next_at: i64) -> bool {
        let start_fits = config.start_ms == 0 || config.start_ms == self.origin_ms;
        let span = next_at - self.origin_ms;
        self.seed == config.seed
            && self.flights == config.flights
            && self.interval_ms == config.interval_ms
            && self.hub == config.hub
            && start_fits
            && (0..=MAX_RESUME_SPAN_MS).contains(&span)
    }

    /// `config` with this world's origin as its start.
    pub fn config(&self) -> SimConfig {
        SimConfig {
            seed: self.seed,
            flights: self.flights,
            interval_ms: self.interval_ms,
            start_ms: self.origin_ms,
            hub: self.hub.clone(),
        }
    }
}
