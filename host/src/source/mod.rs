//! Sources of flight data. A source produces one batch per cycle; a batch
//! is applied atomically (docs/ARCHITECTURE.md, sources).
//!
//! - `vatsim`: the VATSIM v3 data feed, parsed natively (the hot path).
//! - `sim`: the built-in traffic simulator, which writes v3 JSON and keeps
//!   the ground truth.
//! - `replay` and `recording`: snapshots recorded by `swim record`, served again.
//! - `adl`: PERTI's ADL in SQL Server, read beside the feed (docs/ADL.md).

pub mod adl;
pub mod recording;
pub mod replay;
pub mod sim;
pub mod vatsim;

use tokio::sync::mpsc;

/// One snapshot a source fetched, on its way to the pipeline.
#[derive(Debug)]
pub struct Fetched {
    /// The source's name (for health and skip-unchanged).
    pub source: String,
    /// The raw bytes (v3 JSON).
    pub bytes: bytes::Bytes,
}

/// Where a source delivers what it fetched: the pipeline's work queue in
/// the gateway, a recording for `swim record`. Sources know nothing of
/// the pipeline beyond this, so data flows one way.
pub trait Delivery: Send + Sync + 'static {
    /// Hands one snapshot over, waiting for room (the queue is bounded: a
    /// pipeline that falls behind slows its sources rather than losing
    /// snapshots); `false` once nobody takes them (the gateway stops).
    fn deliver(&self, fetched: Fetched) -> impl Future<Output = bool> + Send;
}

impl Delivery for mpsc::Sender<Fetched> {
    async fn deliver(&self, fetched: Fetched) -> bool {
        self.send(fetched).await.is_ok()
    }
}
