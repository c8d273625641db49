//! Runs the simulator as a source: one snapshot per simulated interval,
//! `speed` times faster than real time. The pipeline's bounded queue paces
//! it too: when the pipeline falls behind, the simulator waits rather than
//! dropping snapshots, so no simulated event goes unseen.

use std::sync::Arc;
use std::time::Duration;

use crate::source::{Delivery, Fetched};
use parking_lot::Mutex;

use super::Simulator;

/// Feeds snapshots to the pipeline until it goes away, or until
/// `stop_after` snapshots (the world then stands still, which lets a test
/// compare the gateway with the simulator's truth at a fixed time).
pub async fn run(
    sim: Arc<Mutex<Simulator>>,
    speed: f64,
    stop_after: Option<u64>,
    name: String,
    to: impl Delivery,
) {
    let interval_ms = sim.lock().config().interval_ms as f64;
    let pause = Duration::from_secs_f64((interval_ms / 1000.0 / speed.max(1e-3)).max(0.0));
    let mut ticker = tokio::time::interval(pause);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent = 0u64;
    while stop_after.is_none_or(|n| sent < n) {
        ticker.tick().await;
        let sim = sim.clone();
        let Ok(bytes) = tokio::task::spawn_blocking(move || sim.lock().next_snapshot()).await
        else {
            return;
        };
        let item = Fetched {
            source: name.clone(),
            bytes: bytes.into(),
        };
        if !to.deliver(item).await {
            return;
        }
        sent += 1;
    }
    tracing::info!(
        snapshots = sent,
        "simulator stopped as asked (--stop-after)"
    );
}
