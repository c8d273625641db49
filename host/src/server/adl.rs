//! The ADL source's items into the pipeline (docs/ADL.md): parsed by the
//! loaded `adl` ingest adapter, in bodies of at most its item limit, and
//! applied as one ingest batch, one cycle, as a partner's push would be.

use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};

use std::sync::Arc;

use crate::ingest::IngestBatch;
use crate::pipeline::Work;
use crate::plugin::Registry;
use crate::source::adl::{FieldRefusal, ItemDelivery, ROUTE};

/// The pipeline's work queue, through the `adl` adapter.
pub(super) struct ThroughAdapter {
    pub registry: Arc<Registry>,
    pub work: mpsc::Sender<Work>,
}

impl ItemDelivery for ThroughAdapter {
    async fn deliver(
        &self,
        items: Vec<Map<String, Value>>,
    ) -> Result<Option<Vec<FieldRefusal>>, String> {
        let batch = parse(items, &self.registry).await?;
        let (reply, report) = oneshot::channel();
        if self.work.send(Work::Ingest { batch, reply }).await.is_err() {
            return Ok(None);
        }
        Ok(report.await.ok().map(|report| {
            report
                .error_details
                .into_iter()
                .map(|p| FieldRefusal {
                    index: p.index,
                    field: p.field,
                    error: p.error,
                })
                .collect()
        }))
    }
}

/// Parses the items with the loaded `adl` adapter, in bodies of at most
/// its item limit, into one batch (errors keep their index in `items`).
async fn parse(items: Vec<Map<String, Value>>, registry: &Registry) -> Result<IngestBatch, String> {
    let adapter = registry
        .adapter_for_route(ROUTE)
        .ok_or("no ingest adapter serves the `adl` route (the built-in one is disabled?)")?;
    let version = adapter.current().ok_or("the `adl` adapter is not loaded")?;
    let limit = version.max_items();
    let mut batch = version.ingest_batch();
    for (chunk, start) in items.chunks(limit).zip((0..).step_by(limit)) {
        let body = serde_json::to_vec(&json!({ "flights": chunk })).map_err(|e| e.to_string())?;
        let parsing = adapter.clone();
        let parsed = tokio::task::spawn_blocking(move || parsing.parse("application/json", &body))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|fault| format!("the `adl` adapter failed; nothing was applied: {fault}"))?
            .map_err(|refusal| {
                format!("the `adl` adapter refused the rows; nothing was applied: {refusal}")
            })?;
        let offset = start as u32;
        batch.items.extend(parsed.items.into_iter().map(|mut i| {
            i.index += offset;
            i
        }));
        batch.errors.extend(parsed.errors.into_iter().map(|mut e| {
            e.index += offset;
            e
        }));
    }
    Ok(batch)
}
