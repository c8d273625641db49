//! A read-only picture of the store after a committed cycle, for REST:
//! built once per cycle by the pipeline's thread and swapped in whole, so
//! readers never lock the store and never see half a cycle.
//!
//! Holds the records (shared, not copied) in a stable order and the
//! indexes the REST lookups and filters use.

use std::collections::HashMap;
use std::sync::Arc;

use crate::flight::FlightRecord;

use super::FlightStore;

/// The flights as of one committed cycle.
#[derive(Debug, Default)]
pub struct FlightsView {
    /// Changes every time a cycle changes something (ETags derive from it).
    pub version: u64,
    /// The cycle's time, epoch ms.
    pub as_of: i64,
    /// Every flight, by callsign then uid.
    pub flights: Vec<Arc<FlightRecord>>,
    by_uid: HashMap<u64, usize>,
    by_gufi: HashMap<String, usize>,
    by_key: HashMap<String, usize>,
    by_callsign: HashMap<String, Vec<usize>>,
    by_dept: HashMap<String, Vec<usize>>,
    by_dest: HashMap<String, Vec<usize>>,
}

impl FlightsView {
    /// The view of a store.
    pub fn build(store: &FlightStore, version: u64, as_of: i64) -> FlightsView {
        let mut flights: Vec<Arc<FlightRecord>> = store.flights().cloned().collect();
        flights.sort_by(|a, b| {
            callsign(a)
                .cmp(callsign(b))
                .then(a.flight_uid.cmp(&b.flight_uid))
        });
        let mut view = FlightsView {
            version,
            as_of,
            ..FlightsView::default()
        };
        for (i, r) in flights.iter().enumerate() {
            view.by_uid.insert(r.flight_uid, i);
            if let Some(id) = &r.identity {
                view.by_gufi.insert(id.gufi.clone(), i);
                view.by_key.insert(id.flight_key.clone(), i);
                view.by_callsign
                    .entry(id.callsign.to_ascii_uppercase())
                    .or_default()
                    .push(i);
            }
            if let Some(fp) = &r.flight_plan {
                view.by_dept
                    .entry(fp.dept_icao.clone())
                    .or_default()
                    .push(i);
                view.by_dest
                    .entry(fp.dest_icao.clone())
                    .or_default()
                    .push(i);
            }
        }
        view.flights = flights;
        view
    }

    /// By flight uid.
    pub fn by_uid(&self, uid: u64) -> Option<&Arc<FlightRecord>> {
        self.by_uid.get(&uid).map(|&i| &self.flights[i])
    }

    /// By GUFI.
    pub fn by_gufi(&self, gufi: &str) -> Option<&Arc<FlightRecord>> {
        self.by_gufi.get(gufi).map(|&i| &self.flights[i])
    }

    /// By flight key.
    pub fn by_flight_key(&self, key: &str) -> Option<&Arc<FlightRecord>> {
        self.by_key.get(key).map(|&i| &self.flights[i])
    }

    /// Every flight with this exact callsign (case-insensitive), in view order.
    pub fn by_callsign(&self, callsign: &str) -> impl Iterator<Item = &Arc<FlightRecord>> {
        self.positions(self.by_callsign.get(&callsign.to_ascii_uppercase()))
    }

    /// The candidates for a filter on departure airports (view order).
    pub fn departing(&self, icaos: &[String]) -> Vec<usize> {
        merged(icaos.iter().filter_map(|c| self.by_dept.get(c)))
    }

    /// The candidates for a filter on destination airports (view order).
    pub fn arriving(&self, icaos: &[String]) -> Vec<usize> {
        merged(icaos.iter().filter_map(|c| self.by_dest.get(c)))
    }

    fn positions<'a>(
        &'a self,
        idx: Option<&'a Vec<usize>>,
    ) -> impl Iterator<Item = &'a Arc<FlightRecord>> {
        idx.into_iter().flatten().map(|&i| &self.flights[i])
    }
}

fn callsign(r: &FlightRecord) -> &str {
    r.identity.as_ref().map_or("", |i| i.callsign.as_str())
}

/// The union of sorted index lists, sorted.
fn merged<'a>(lists: impl Iterator<Item = &'a Vec<usize>>) -> Vec<usize> {
    let mut all: Vec<usize> = lists.flatten().copied().collect();
    all.sort_unstable();
    all.dedup();
    all
}
