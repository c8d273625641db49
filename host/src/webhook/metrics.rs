//! Webhook delivery in `/metrics`: what was delivered, failed and
//! dead-lettered, how many webhooks run and how many have the circuit open.

use crate::metrics::{Counter, encode_counter, encode_gauge};

/// Counters every delivery task adds to.
#[derive(Debug, Default)]
pub struct Counts {
    /// Batches an endpoint took.
    pub batches: Counter,
    /// Events in those batches.
    pub events: Counter,
    /// Attempts that failed.
    pub failures: Counter,
    /// Batches dead-lettered.
    pub dead_letters: Counter,
    /// 429s that said how long to wait.
    pub rate_limited: Counter,
}

/// The figures at one moment.
#[derive(Debug)]
pub struct Snapshot<'a> {
    /// The counters.
    pub counts: &'a Counts,
    /// Webhooks being delivered.
    pub active: usize,
    /// Of those, how many have the circuit open.
    pub open: usize,
}

impl Snapshot<'_> {
    /// Writes them in the exposition format.
    pub fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::DescriptorEncoder,
    ) -> std::fmt::Result {
        let c = self.counts;
        let counters = [
            (
                "swim_webhook_batches",
                "Batches webhook endpoints took.",
                &c.batches,
            ),
            (
                "swim_webhook_events",
                "Events in the batches webhook endpoints took.",
                &c.events,
            ),
            (
                "swim_webhook_failures",
                "Webhook delivery attempts that failed.",
                &c.failures,
            ),
            (
                "swim_webhook_dead_letters",
                "Webhook batches dead-lettered.",
                &c.dead_letters,
            ),
            (
                "swim_webhook_rate_limited",
                "429s a webhook endpoint answered with a wait.",
                &c.rate_limited,
            ),
        ];
        for (name, help, counter) in counters {
            encode_counter(encoder, name, help, counter.get())?;
        }
        encode_gauge(
            encoder,
            "swim_webhooks_active",
            "Webhooks being delivered.",
            self.active as i64,
        )?;
        encode_gauge(
            encoder,
            "swim_webhooks_circuit_open",
            "Webhooks whose endpoint is down (tried once per cooldown).",
            self.open as i64,
        )
    }
}
