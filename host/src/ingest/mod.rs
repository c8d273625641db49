//! Partner ingest (`POST /ingest/{route}`, README.md, REST API).
//!
//! The adapter plugin that owns the route turns the body into patches (off
//! the pipeline's thread); the pipeline applies them as one cycle, within
//! what the adapter's manifest `owns`, so their changes go through the
//! detectors and out on the change feed like the feed's. The reply says
//! what happened to every item.

mod apply;

use serde::Serialize;

pub use apply::apply;

use crate::text::cut;
use crate::wit::{IngestItem, ItemError};

/// A parsed body on its way to the pipeline.
#[derive(Debug)]
pub struct IngestBatch {
    /// The adapter that parsed it (its name, for refusals).
    pub adapter: String,
    /// What the adapter's manifest lets it write.
    pub owns: Vec<String>,
    /// Whether an item for an unknown flight creates it.
    pub creates_flights: bool,
    /// The usable items.
    pub items: Vec<IngestItem>,
    /// The items the adapter could not use.
    pub errors: Vec<ItemError>,
}

/// The reply, in PERTI's shape.
#[derive(Debug, Default, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IngestReport {
    /// Items that named a flight (created, updated or not found).
    pub processed: usize,
    /// Flights created.
    pub created: usize,
    /// Flights written.
    pub updated: usize,
    /// Items for a flight the gateway does not know.
    pub not_found: usize,
    /// Items with at least one problem.
    pub errors: usize,
    /// Every problem: the item, the field at fault, why.
    pub error_details: Vec<ItemProblem>,
    /// Items that applied with a warning (an unknown field, ignored).
    pub warnings: usize,
    /// Every warning, as `error_details`.
    pub warning_details: Vec<ItemProblem>,
    /// Problems past the first [`MAX_DETAILS`] not listed (a reply stays
    /// small whatever the body: every item of a 4 MB body could be wrong).
    #[serde(skip_serializing_if = "is_zero")]
    pub error_details_omitted: usize,
    /// Warnings past the first [`MAX_DETAILS`] not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub warning_details_omitted: usize,
}

/// Problems (and warnings) a reply lists at most.
pub const MAX_DETAILS: usize = 100;
/// The longest message of one problem, bytes (adapters may quote input).
const MAX_MESSAGE: usize = 256;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One problem with one item.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ItemProblem {
    /// The item's position in the body, from 0.
    pub index: u32,
    /// The field at fault; empty when the item as a whole is wrong.
    pub field: String,
    /// What is wrong.
    pub error: String,
}

impl IngestReport {
    fn problem(&mut self, index: u32, field: impl Into<String>, error: impl Into<String>) {
        self.error_details
            .push(ItemProblem::new(index, field.into(), error.into()));
    }

    fn warning(&mut self, index: u32, field: impl Into<String>, warning: impl Into<String>) {
        self.warning_details
            .push(ItemProblem::new(index, field.into(), warning.into()));
    }

    /// Counts the items with problems (and warnings) once each, lists
    /// them in body order, the first [`MAX_DETAILS`] of each.
    fn finish(&mut self) {
        self.errors = items_in(&mut self.error_details);
        self.warnings = items_in(&mut self.warning_details);
        self.error_details_omitted = self.error_details.len().saturating_sub(MAX_DETAILS);
        self.warning_details_omitted = self.warning_details.len().saturating_sub(MAX_DETAILS);
        self.error_details.truncate(MAX_DETAILS);
        self.warning_details.truncate(MAX_DETAILS);
        self.processed = self.created + self.updated + self.not_found;
    }
}

impl ItemProblem {
    fn new(index: u32, field: String, error: String) -> ItemProblem {
        ItemProblem {
            index,
            field: cut(field, 64),
            error: cut(error, MAX_MESSAGE),
        }
    }
}

/// Sorts `details` by item and counts the items they name.
fn items_in(details: &mut [ItemProblem]) -> usize {
    details.sort_by_key(|p| p.index);
    let mut indexes: Vec<u32> = details.iter().map(|p| p.index).collect();
    indexes.dedup();
    indexes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_lists_the_first_problems_short_and_counts_the_rest() {
        let mut report = IngestReport::default();
        for i in 0..1_000 {
            report.problem(i, "callsign", format!("bad value {}", "X".repeat(10_000)));
        }
        report.finish();
        assert_eq!(report.errors, 1_000);
        assert_eq!(report.error_details.len(), MAX_DETAILS);
        assert_eq!(report.error_details_omitted, 900);
        assert!(
            report
                .error_details
                .iter()
                .all(|p| p.error.len() <= MAX_MESSAGE + crate::text::CUT_NOTE)
        );
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.len() < 40_000, "{} bytes", json.len());
        assert!(json.contains("\"error_details_omitted\":900"));
        assert!(!json.contains("warning_details_omitted"));
    }
}
