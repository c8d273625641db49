//! Applying a parsed body to the store: each item to the flight it names,
//! field by field within what the adapter owns.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{IngestBatch, IngestReport};
use crate::flight::FlightRecord;
use crate::store::authority::Writer;
use crate::store::{Change, FlightStore};

/// Applies `batch` at `now`; returns the flights that changed and the report.
pub fn apply(
    store: &mut FlightStore,
    batch: &IngestBatch,
    now: i64,
) -> (Vec<Change>, IngestReport) {
    let mut report = IngestReport::default();
    // An adapter's entry for an item it also passed on is a warning: the
    // item applies (see plugin-api `body::parse_each`).
    let passed_on: std::collections::HashSet<u32> = batch.items.iter().map(|i| i.index).collect();
    for e in &batch.errors {
        if passed_on.contains(&e.index) {
            report.warning(e.index, e.field.as_str(), e.message.as_str());
        } else {
            report.problem(e.index, e.field.as_str(), e.message.as_str());
        }
    }
    let writer = Writer::Plugin {
        name: &batch.adapter,
        kind: crate::wit::Kind::IngestAdapter,
        owns: &batch.owns,
    };
    let mut lookup = store.lookup(batch.items.iter().map(|i| &i.patch.flight));
    // Each touched flight as it was before the batch, in order of first touch.
    let mut before: BTreeMap<u64, Option<Arc<FlightRecord>>> = BTreeMap::new();
    for item in &batch.items {
        let (uid, created) = match lookup.resolve(store, &item.patch.flight) {
            Some(uid) => (uid, false),
            None if batch.creates_flights => {
                match store.create_for_partner(&item.patch.fields, now) {
                    Some(uid) => {
                        before.entry(uid).or_insert(None);
                        if let Some(id) = store.get(uid).and_then(|r| r.identity.clone()) {
                            lookup.add(&id.callsign, uid);
                        }
                        (uid, true)
                    }
                    None => {
                        report.problem(item.index, "callsign", "a new flight needs a callsign");
                        continue;
                    }
                }
            }
            None => {
                report.not_found += 1;
                continue;
            }
        };
        before.entry(uid).or_insert_with(|| store.get(uid).cloned());
        let Some((_, refused)) = store.patch(uid, writer, &item.patch.fields) else {
            report.not_found += 1;
            continue;
        };
        let applied = refused.len() < item.patch.fields.len();
        for r in refused {
            report.problem(item.index, r.field, r.message);
        }
        match (created, applied) {
            (true, _) => report.created += 1,
            (false, true) => report.updated += 1,
            (false, false) => {}
        }
        store.after_partner_write(uid, now);
    }
    report.finish();
    let changes = before
        .into_iter()
        .filter_map(|(uid, before)| {
            let after = store.get(uid).cloned();
            (before != after).then_some(Change {
                flight_uid: uid,
                before,
                after,
            })
        })
        .collect();
    (changes, report)
}
