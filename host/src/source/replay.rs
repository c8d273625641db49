//! Replays a recording as a source, keeping the recorded spacing between
//! snapshots (by their `update_timestamp`) divided by `speed`.

use std::path::PathBuf;
use std::time::Duration;

use crate::source::{Delivery, Fetched};

use super::recording::RecordingReader;
use super::vatsim::poller::peek_update_timestamp;
use crate::source::vatsim::fields;

/// Used when two snapshots' times cannot be read.
const DEFAULT_GAP: Duration = Duration::from_secs(15);

/// Sends every snapshot of the recording, then returns.
pub async fn run(
    path: PathBuf,
    speed: f64,
    name: String,
    to: impl Delivery,
) -> std::io::Result<usize> {
    let reader = RecordingReader::open(&path)?;
    let mut previous: Option<i64> = None;
    let mut sent = 0;
    for frame in reader {
        let bytes = frame?;
        let at = peek_update_timestamp(&bytes).and_then(|s| fields::epoch_millis(&s));
        if let Some(gap) = gap(previous, at) {
            tokio::time::sleep(gap.div_f64(speed.max(1e-3))).await;
        }
        previous = at.or(previous);
        let item = Fetched {
            source: name.clone(),
            bytes: bytes.into(),
        };
        if !to.deliver(item).await {
            break;
        }
        sent += 1;
    }
    tracing::info!(file = %path.display(), snapshots = sent, "replay finished");
    Ok(sent)
}

fn gap(previous: Option<i64>, at: Option<i64>) -> Option<Duration> {
    match (previous, at) {
        (None, _) => None,
        (Some(p), Some(a)) => Some(Duration::from_millis((a - p).max(0) as u64)),
        (Some(_), None) => Some(DEFAULT_GAP),
    }
}
