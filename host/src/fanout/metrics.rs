//! Fan-out metrics for `/metrics`: connections by tier, messages and bytes
//! sent, queue drops, slow-consumer closes, publish-to-send latency.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

use crate::auth::Tier;
use crate::metrics::{Counter, Histogram, encode_counter, encode_gauges, encode_histograms};

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
}

impl Collector for FanoutMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let by_tier: Vec<(&str, i64)> = Tier::ALL
            .iter()
            .map(|tier| (tier.as_str(), self.connections(*tier)))
            .collect();
        encode_gauges(
            &mut encoder,
            "swim_ws_connections",
            "Open WebSocket connections.",
            "tier",
            &by_tier,
        )?;
        for (name, help, c) in [
            (
                "swim_ws_messages_sent",
                "WebSocket messages sent.",
                &self.messages_sent,
            ),
            (
                "swim_ws_bytes_sent",
                "WebSocket bytes sent.",
                &self.bytes_sent,
            ),
            (
                "swim_ws_queue_drops",
                "Event messages dropped because a client's queue was full.",
                &self.queue_drops,
            ),
            (
                "swim_ws_slow_consumer_closes",
                "Clients closed as slow consumers.",
                &self.slow_consumer_closes,
            ),
            (
                "swim_ws_refused",
                "WebSocket connections refused (key, limit).",
                &self.refused,
            ),
        ] {
            encode_counter(&mut encoder, name, help, c.get())?;
        }
        encode_histograms(
            &mut encoder,
            "swim_ws_publish_to_send_seconds",
            "From the change feed publishing an event to its message being written.",
            None,
            &[("", &self.publish_to_send)],
        )
    }
}
