//! Limits that hold across a cluster's instances (docs/CLUSTER.md, limits):
//! a key's requests per minute and its WebSocket connections, counted by
//! every instance and told to the others several times a second
//! (`cluster::usage` carries the reports over NATS). An instance admits a
//! request when its own count for the minute plus what the others last
//! reported is under the tier's limit; a connection likewise.
//!
//! Nothing waits on the network per request: the tolerance is what the
//! others admit between two reports (at most one report interval's worth
//! of requests per instance). An instance that stops reporting (dead,
//! partitioned) stops counting after [`STALE_AFTER`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// A peer's report older than this no longer counts.
pub const STALE_AFTER: Duration = Duration::from_secs(3);

/// What one instance tells the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The instance.
    pub instance: String,
    /// The minute (epoch ms / 60,000) `requests` counts.
    pub minute: i64,
    /// Requests admitted this minute, by key id.
    pub requests: Vec<(i64, u32)>,
    /// WebSocket connections open now, by key id.
    pub connections: Vec<(i64, u32)>,
}

struct Heard {
    report: Report,
    at: Instant,
}

/// This instance's counts and what the others reported.
pub struct SharedLimits {
    instance: String,
    /// Requests this instance admitted in the current minute.
    window: Mutex<(i64, HashMap<i64, u32>)>,
    peers: Mutex<HashMap<String, Heard>>,
}

impl SharedLimits {
    /// Counts for `instance`.
    pub fn new(instance: impl Into<String>) -> Self {
        SharedLimits {
            instance: instance.into(),
            window: Mutex::new((0, HashMap::new())),
            peers: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one request of key `id` against `limit` a minute across the
    /// cluster: the requests left, or how long until the minute ends.
    pub fn admit(&self, id: i64, limit: u32, now_ms: i64) -> Result<u32, Duration> {
        let minute = now_ms.div_euclid(60_000);
        let others = self.peer_sum(|r| (r.minute == minute).then_some(&r.requests), id);
        let mut window = self.window.lock();
        if window.0 != minute {
            *window = (minute, HashMap::new());
        }
        let mine = window.1.entry(id).or_default();
        let used = *mine + others;
        if used >= limit {
            let left_ms = (minute + 1) * 60_000 - now_ms;
            return Err(Duration::from_millis(left_ms.max(1) as u64));
        }
        *mine += 1;
        Ok(limit - used - 1)
    }

    /// Connections the other instances reported open for key `id`.
    pub fn peer_connections(&self, id: i64) -> u32 {
        self.peer_sum(|r| Some(&r.connections), id)
    }

    fn peer_sum(&self, counts: impl Fn(&Report) -> Option<&Vec<(i64, u32)>>, id: i64) -> u32 {
        let peers = self.peers.lock();
        peers
            .values()
            .filter(|h| h.at.elapsed() < STALE_AFTER)
            .filter_map(|h| counts(&h.report))
            .flat_map(|c| c.iter().filter(|(k, _)| *k == id).map(|(_, n)| *n))
            .sum()
    }

    /// This instance's report, with its open `connections`.
    pub fn report(&self, connections: Vec<(i64, u32)>, now_ms: i64) -> Report {
        let minute = now_ms.div_euclid(60_000);
        let window = self.window.lock();
        let requests = if window.0 == minute {
            window.1.iter().map(|(k, n)| (*k, *n)).collect()
        } else {
            Vec::new()
        };
        Report {
            instance: self.instance.clone(),
            minute,
            requests,
            connections,
        }
    }

    /// Takes another instance's report (this instance's own are ignored).
    pub fn receive(&self, report: Report) {
        if report.instance == self.instance {
            return;
        }
        let mut peers = self.peers.lock();
        peers.retain(|_, h| h.at.elapsed() < STALE_AFTER * 10);
        peers.insert(
            report.instance.clone(),
            Heard {
                report,
                at: Instant::now(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(
        instance: &str,
        minute: i64,
        requests: Vec<(i64, u32)>,
        connections: Vec<(i64, u32)>,
    ) -> Report {
        Report {
            instance: instance.into(),
            minute,
            requests,
            connections,
        }
    }

    #[test]
    fn a_key_gets_its_limit_across_instances_not_per_instance() {
        let a = SharedLimits::new("a");
        let b = SharedLimits::new("b");
        let now = 10 * 60_000 + 5_000;
        for _ in 0..60 {
            assert!(a.admit(7, 100, now).is_ok());
        }
        b.receive(a.report(Vec::new(), now));
        for _ in 0..40 {
            assert!(b.admit(7, 100, now).is_ok());
        }
        let refused = b.admit(7, 100, now).unwrap_err();
        assert_eq!(refused, Duration::from_secs(55), "until the minute ends");
        assert!(
            b.admit(8, 100, now).is_ok(),
            "another key has its own budget"
        );
        // The next minute starts over.
        assert!(b.admit(7, 100, now + 60_000).is_ok());
    }

    #[test]
    fn peers_connections_count_until_their_reports_go_stale() {
        let a = SharedLimits::new("a");
        a.receive(report("b", 0, Vec::new(), vec![(7, 3)]));
        a.receive(report("c", 0, Vec::new(), vec![(7, 2), (8, 1)]));
        a.receive(report("a", 0, Vec::new(), vec![(7, 50)]));
        assert_eq!(a.peer_connections(7), 5, "its own report is not a peer's");
        a.peers.lock().get_mut("b").unwrap().at -= STALE_AFTER;
        assert_eq!(a.peer_connections(7), 2, "a silent instance stops counting");
    }
}
