//! What the operator sets for webhooks (`[webhooks]`, docs/CONFIG.md).

use std::time::Duration;

use super::target::Allowed;

/// Webhook delivery settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    /// Non-public callback targets allowed (none by default; `swim demo`
    /// allows loopback).
    pub allowed: Allowed,
    /// Waits before each retry of a failed batch (PERTI's 10, 30, 90 s).
    pub retry: Vec<Duration>,
    /// After the retries, an endpoint that is down is tried again this
    /// often (the circuit is open meanwhile) and its events wait in the
    /// change feed.
    pub circuit_cooldown: Duration,
    /// How long one delivery may take.
    pub timeout: Duration,
    /// Events in one POST, at most.
    pub max_batch_events: usize,
    /// Bytes of events in one POST, at most (a single larger event, a
    /// `flight.positions` batch, goes alone).
    pub max_batch_bytes: usize,
    /// Dead letters kept per webhook (the newest).
    pub dead_letters_kept: usize,
    /// Active webhooks, at most.
    pub max_webhooks: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            allowed: Allowed::default(),
            retry: [10, 30, 90].map(Duration::from_secs).to_vec(),
            circuit_cooldown: Duration::from_secs(180),
            timeout: Duration::from_secs(10),
            max_batch_events: 100,
            max_batch_bytes: 256 << 10,
            dead_letters_kept: 1_000,
            max_webhooks: 10_000,
        }
    }
}
