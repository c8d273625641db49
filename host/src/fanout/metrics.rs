//! Fan-out metrics for `/metrics`: connections by tier, messages and bytes
//! sent, queue drops, slow-consumer closes, publish-to-send latency.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::auth::Tier;
use crate::metrics::{Counter, Histogram};

/// The fan-out's counters.
#[derive(Debug, Default)]
pub struct FanoutMetrics {
    by_tier: [AtomicI64; 4],
    /// Messages written to sockets.
    pub messages_sent: Counter,
    /// Bytes written to sockets.
    pub bytes_sent: Counter,
    /// Event frames not queued because the client was too far behind.
    pub queue_drops: Counter,
    /// Clients closed as slow consumers.
    pub slow_consumer_closes: Counter,
    /// Connections refused (bad key, over the limit).
    pub refused: Counter,
    /// From the feed publishing an event to its frame being written.
    pub publish_to_send: Histogram,
}

fn tier_index(tier: Tier) -> usize {
    Tier::ALL.iter().position(|t| *t == tier).unwrap_or(0)
}

impl FanoutMetrics {
    /// A connection of `tier` opened (+1) or closed (-1).
    pub fn connected(&self, tier: Tier, delta: i64) {
        self.by_tier[tier_index(tier)].fetch_add(delta, Ordering::Relaxed);
    }

    /// Open connections of a tier.
    pub fn connections(&self, tier: Tier) -> i64 {
        self.by_tier[tier_index(tier)].load(Ordering::Relaxed)
    }

    /// The Prometheus text of these metrics.
    pub fn render(&self, out: &mut String) {
        let name = "swim_ws_connections";
        let _ = writeln!(
            out,
            "# HELP {name} Open WebSocket connections.\n# TYPE {name} gauge"
        );
        for tier in Tier::ALL {
            let _ = writeln!(
                out,
                "{name}{{tier=\"{}\"}} {}",
                tier.as_str(),
                self.connections(tier)
            );
        }
        for (name, help, c) in [
            (
                "swim_ws_messages_sent_total",
                "WebSocket messages sent.",
                &self.messages_sent,
            ),
            (
                "swim_ws_bytes_sent_total",
                "WebSocket bytes sent.",
                &self.bytes_sent,
            ),
            (
                "swim_ws_queue_drops_total",
                "Event messages dropped because a client's queue was full.",
                &self.queue_drops,
            ),
            (
                "swim_ws_slow_consumer_closes_total",
                "Clients closed as slow consumers.",
                &self.slow_consumer_closes,
            ),
            (
                "swim_ws_refused_total",
                "WebSocket connections refused (key, limit).",
                &self.refused,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                c.get()
            );
        }
        let name = "swim_ws_publish_to_send_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} From the change feed publishing an event to its message being written.\n# TYPE {name} histogram"
        );
        self.publish_to_send.render(out, name, "");
    }
}
