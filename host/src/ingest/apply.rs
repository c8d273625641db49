//! Applying a parsed body to the store: each item to the flight it names,
//! field by field within what the adapter owns.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{IngestBatch, IngestReport};
use crate::flight::FlightRecord;
use crate::store::authority::Writer;
use crate::store::partner::Lookup;
use crate::store::{Change, FlightStore};
use crate::wit::IngestItem;

/// The longest text each field may hold, bytes: generous for real
/// traffic (VATSIM callsigns are at most 10 characters, routes run to a
/// few thousand), small enough that a partner cannot grow a record, every
/// REST answer and every event with megabytes of text.
fn max_len(field: &str) -> usize {
    match field {
        "identity.callsign" | "flight.callsign" => 16,
        "flight_plan.dept_icao" | "flight_plan.dest_icao" | "flight_plan.alt_icao" => 8,
        "flight_plan.rules" | "flight_plan.deptime" => 8,
        "flight_plan.aircraft_type" => 64,
        "flight.gufi" | "flight.flight_key" => 256,
        "flight_plan.remarks" => 4_096,
        _ => 8_192,
    }
}

/// The first text of an item over its field's length, named.
fn oversized(patch: &crate::wit::Patch) -> Option<(&'static str, String)> {
    use crate::wit::{FieldValue as F, FlightRef};
    let reference = match &patch.flight {
        FlightRef::Uid(_) => None,
        FlightRef::Callsign(c) => Some(("flight.callsign", c)),
        FlightRef::Gufi(g) => Some(("flight.gufi", g)),
        FlightRef::FlightKey(k) => Some(("flight.flight_key", k)),
    };
    let texts = patch.fields.iter().filter_map(|value| match value {
        F::IdentityCallsign(s)
        | F::FlightPlanDeptIcao(s)
        | F::FlightPlanDestIcao(s)
        | F::FlightPlanAltIcao(s)
        | F::FlightPlanAircraftType(s)
        | F::FlightPlanRoute(s)
        | F::FlightPlanRemarks(s)
        | F::FlightPlanRules(s)
        | F::FlightPlanDeptime(s) => Some((crate::store::authority::field_path(value), s)),
        _ => None,
    });
    reference
        .into_iter()
        .chain(texts)
        .find(|(field, text)| text.len() > max_len(field))
        .map(|(field, text)| {
            let why = format!(
                "{} bytes; at most {} are accepted",
                text.len(),
                max_len(field)
            );
            (field, why)
        })
}

/// Applies `batch` at `now`; returns the flights that changed and the report.
pub fn apply(
    store: &mut FlightStore,
    batch: &IngestBatch,
    now: i64,
) -> (Vec<Change>, IngestReport) {
    let mut report = adapter_notes(batch);
    let writer = Writer::Plugin {
        name: &batch.adapter,
        kind: crate::wit::Kind::IngestAdapter,
        owns: &batch.owns,
    };
    let mut lookup = store.lookup(batch.items.iter().map(|i| &i.patch.flight));
    // Each touched flight as it was before the batch, in order of first touch.
    let mut before: BTreeMap<u64, Option<Arc<FlightRecord>>> = BTreeMap::new();
    for item in &batch.items {
        if let Some((field, why)) = oversized(&item.patch) {
            report.problem(item.index, field, why);
            continue;
        }
        let (uid, created) = match lookup.resolve(store, &item.patch.flight) {
            Some(uid) => (uid, false),
            None if batch.creates_flights => match create(store, &mut lookup, item, now) {
                Some(uid) => {
                    before.entry(uid).or_insert(None);
                    (uid, true)
                }
                None => {
                    report.problem(item.index, "callsign", "a new flight needs a callsign");
                    continue;
                }
            },
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
        // A field refused only in part (a position with an implausible
        // ground speed) still applied.
        let applied = refused.iter().filter(|r| !r.partial).count() < item.patch.fields.len();
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
    (changes(store, before), report)
}

/// The report, opened with what the adapter said of items it passed on: a
/// field it left out (an error) or, marked so, one it ignored (a warning);
/// the item applies either way (plugin-api `ItemError::warning`).
fn adapter_notes(batch: &IngestBatch) -> IngestReport {
    let mut report = IngestReport::default();
    for e in &batch.errors {
        match e.message.strip_prefix(vatswim_plugin_api::WARNING) {
            Some(warning) => report.warning(e.index, e.field.as_str(), warning),
            None => report.problem(e.index, e.field.as_str(), e.message.as_str()),
        }
    }
    report
}

/// A flight made for a partner's item naming one the gateway does not
/// have (none without a callsign); later items find it by callsign.
fn create(
    store: &mut FlightStore,
    lookup: &mut Lookup,
    item: &IngestItem,
    now: i64,
) -> Option<u64> {
    let uid = store.create_for_partner(&item.patch.fields, now)?;
    if let Some(id) = store.get(uid).and_then(|r| r.identity.clone()) {
        lookup.add(&id.callsign, uid);
    }
    Some(uid)
}

/// Each touched flight that the batch changed, before and after.
fn changes(store: &FlightStore, before: BTreeMap<u64, Option<Arc<FlightRecord>>>) -> Vec<Change> {
    before
        .into_iter()
        .filter_map(|(uid, before)| {
            let after = store.get(uid).cloned();
            (before != after).then_some(Change {
                flight_uid: uid,
                before,
                after,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::{FieldValue, FlightRef, Patch};

    fn item(index: u32, flight: FlightRef, fields: Vec<FieldValue>) -> IngestItem {
        IngestItem {
            index,
            patch: Patch { flight, fields },
        }
    }

    #[test]
    fn a_text_over_its_fields_length_refuses_the_item_naming_the_field() {
        let mut store = FlightStore::new(1);
        let batch = IngestBatch {
            adapter: "adl".into(),
            owns: vec!["identity".into(), "flight_plan".into()],
            creates_flights: true,
            items: vec![
                item(
                    0,
                    FlightRef::Callsign("X".repeat(60_000)),
                    vec![FieldValue::IdentityCallsign("X".repeat(60_000))],
                ),
                item(
                    1,
                    FlightRef::Callsign("AAL1".into()),
                    vec![
                        FieldValue::IdentityCallsign("AAL1".into()),
                        FieldValue::FlightPlanRemarks("r".repeat(5_000)),
                    ],
                ),
                item(
                    2,
                    FlightRef::Callsign("AAL2".into()),
                    vec![
                        FieldValue::IdentityCallsign("AAL2".into()),
                        FieldValue::FlightPlanRoute("DCT ".repeat(500)),
                    ],
                ),
            ],
            errors: Vec::new(),
        };
        let (_, report) = apply(&mut store, &batch, 1_000);
        let refused: Vec<(u32, &str, &str)> = report
            .error_details
            .iter()
            .map(|p| (p.index, p.field.as_str(), p.error.as_str()))
            .collect();
        assert_eq!(
            refused,
            [
                (0, "flight.callsign", "60000 bytes; at most 16 are accepted"),
                (
                    1,
                    "flight_plan.remarks",
                    "5000 bytes; at most 4096 are accepted"
                ),
            ]
        );
        assert_eq!(report.created, 1, "the ordinary item applies: {report:?}");
        assert!(
            store
                .flights()
                .all(|r| r.identity.as_ref().is_some_and(|i| i.callsign.len() <= 16))
        );
    }
}
