//! Where each webhook's delivery stands, written once a second for all of
//! them in one transaction. Writing each delivery's cursor as it happened
//! made a thousand webhooks a thousand blocking database calls a cycle,
//! which grew tokio's blocking pool by dozens of threads
//! (docs/BENCHMARKS.md, webhooks under load). A gateway killed between
//! two writes resends at most the last second's batches, with the same
//! ids: delivery stays at least once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::store::{CursorMove, WebhookStore};
use crate::shutdown::Shutdown;

/// How often the cursors are written.
pub const EVERY: Duration = Duration::from_secs(1);

/// Cursor moves not written yet, by webhook.
#[derive(Default)]
pub struct Cursors {
    pending: Mutex<HashMap<i64, CursorMove>>,
}

impl Cursors {
    /// Every event up to `seq` of webhook `id` is dealt with; `delivered`
    /// says what the endpoint took on the way (events, at `now`).
    pub fn moved(&self, id: i64, seq: u64, delivered: Option<(usize, i64)>) {
        let mut pending = self.pending.lock();
        let entry = pending.entry(id).or_insert_with(|| CursorMove {
            id,
            ..CursorMove::default()
        });
        entry.seq = entry.seq.max(seq);
        if let Some((events, now)) = delivered {
            entry.events += events as u64;
            entry.batches += 1;
            entry.success_at = Some(now);
        }
    }

    /// Writes what is pending; on failure it is kept for the next write.
    pub fn flush(&self, store: &dyn WebhookStore) {
        let moves: Vec<CursorMove> = self.pending.lock().drain().map(|(_, m)| m).collect();
        if moves.is_empty() {
            return;
        }
        if let Err(e) = store.advance(&moves) {
            tracing::error!("webhook cursors not saved (kept for the next try): {e}");
            let mut pending = self.pending.lock();
            for m in moves {
                pending.entry(m.id).or_insert(m);
            }
        }
    }

    /// Writes every second until shutdown, and once more then.
    pub async fn keep_written(self: Arc<Self>, store: Arc<dyn WebhookStore>, shutdown: Shutdown) {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            let stopping = tokio::select! {
                _ = tick.tick() => false,
                () = shutdown.wait() => true,
            };
            let (cursors, store) = (self.clone(), store.clone());
            let _ = tokio::task::spawn_blocking(move || cursors.flush(store.as_ref())).await;
            if stopping {
                return;
            }
        }
    }
}
