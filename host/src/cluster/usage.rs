//! Carries each instance's key usage to the others (docs/CLUSTER.md,
//! limits): every [`REPORT_EVERY`] an instance publishes its requests this
//! minute and its open WebSocket connections per key on the core NATS
//! subject `<STREAM>.usage` (not stored: only the latest report matters),
//! and takes the others' reports into its `auth::shared::SharedLimits`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;

use crate::auth::Connections;
use crate::auth::shared::{Report, SharedLimits};
use crate::health::wall_ms;
use crate::shutdown::Shutdown;

/// How often an instance reports.
pub const REPORT_EVERY: Duration = Duration::from_millis(250);

/// The subject reports go on.
pub fn subject(stream: &str) -> String {
    format!("{stream}_USAGE")
}

/// Publishes this instance's reports and takes the others' until shutdown.
pub async fn exchange(
    client: async_nats::Client,
    subject: String,
    shared: Arc<SharedLimits>,
    connections: Arc<Connections>,
    stop: Shutdown,
) {
    let mut reports = match client.subscribe(subject.clone()).await {
        Ok(subscription) => subscription,
        Err(e) => {
            tracing::error!(error = %e, "limits are per instance: no subscription to {subject}");
            return;
        }
    };
    let mut tick = tokio::time::interval(REPORT_EVERY);
    loop {
        tokio::select! {
            () = stop.wait() => return,
            _ = tick.tick() => {
                let report = shared.report(connections.by_key(), wall_ms());
                let json = serde_json::to_vec(&report).unwrap_or_default();
                if let Err(e) = client.publish(subject.clone(), Bytes::from(json)).await {
                    tracing::warn!(error = %e, "usage report not sent");
                }
            }
            Some(message) = reports.next() => {
                match serde_json::from_slice::<Report>(&message.payload) {
                    Ok(report) => shared.receive(report),
                    Err(e) => tracing::warn!(error = %e, "an unreadable usage report; ignored"),
                }
            }
        }
    }
}
