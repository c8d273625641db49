//! A read-only picture of the store after a committed cycle, for REST:
//! built once per cycle by the pipeline's thread and swapped in whole, so
//! readers never lock the store and never see half a cycle.
//!
//! Holds the records (shared, not copied) in flight-uid order and the
//! indexes the REST lookups and filters use. The indexes are built by the
//! first request that needs them, not by the pipeline (most cycles are
//! never queried), and are keyed by a hash of the text (case-insensitive)
//! rather than by a copy of it; a lookup checks the candidates' text.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use super::FlightStore;
use crate::flight::FlightRecord;

/// Positions in `flights` by the hash of a text field.
type Index = HashMap<u64, Vec<u32>>;

/// The flights as of one committed cycle.
#[derive(Debug, Default)]
pub struct FlightsView {
    /// Changes every time a cycle changes something.
    pub version: u64,
    /// The cycle's time, epoch ms.
    pub as_of: i64,
    /// Every flight, by uid.
    pub flights: Vec<Arc<FlightRecord>>,
    indexes: OnceLock<Indexes>,
}

#[derive(Debug, Default)]
struct Indexes {
    by_gufi: Index,
    by_gufi_legacy: Index,
    by_key: Index,
    by_callsign: Index,
    by_dept: Index,
    by_dest: Index,
}

impl Indexes {
    fn of(flights: &[Arc<FlightRecord>]) -> Indexes {
        let mut ix = Indexes::default();
        for (i, r) in flights.iter().enumerate() {
            let i = i as u32;
            if let Some(id) = &r.identity {
                add(&mut ix.by_gufi, &id.gufi, i);
                add(&mut ix.by_gufi_legacy, &id.gufi_legacy, i);
                add(&mut ix.by_key, &id.flight_key, i);
                add(&mut ix.by_callsign, &id.callsign, i);
            }
            if let Some(fp) = &r.flight_plan {
                add(&mut ix.by_dept, &fp.dept_icao, i);
                add(&mut ix.by_dest, &fp.dest_icao, i);
            }
        }
        ix
    }
}

impl FlightsView {
    /// The view of a store.
    pub fn build(store: &FlightStore, version: u64, as_of: i64) -> FlightsView {
        Self::of_records(store.flights().cloned().collect(), version, as_of)
    }

    /// The view of records read elsewhere (a cluster follower's, from the
    /// leader's database), sorted by uid here.
    pub fn of_records(
        mut flights: Vec<Arc<FlightRecord>>,
        version: u64,
        as_of: i64,
    ) -> FlightsView {
        flights.sort_unstable_by_key(|r| r.flight_uid);
        FlightsView {
            version,
            as_of,
            flights,
            indexes: OnceLock::new(),
        }
    }

    fn indexes(&self) -> &Indexes {
        self.indexes.get_or_init(|| Indexes::of(&self.flights))
    }

    /// By flight uid.
    pub fn by_uid(&self, uid: u64) -> Option<&Arc<FlightRecord>> {
        let i = self
            .flights
            .binary_search_by_key(&uid, |r| r.flight_uid)
            .ok()?;
        Some(&self.flights[i])
    }

    /// By GUFI as PERTI's `/flight?gufi=` reads it: a UUID is the GUFI, any
    /// other text the legacy one (`VAT-YYYYMMDD-CALLSIGN-DEPT-DEST`), which
    /// a repeated flight shares: the connected one, else the latest.
    pub fn by_any_gufi<'a>(&'a self, gufi: &'a str) -> Option<&'a Arc<FlightRecord>> {
        if uuid::Uuid::try_parse(gufi).is_ok() {
            return self.by_gufi(gufi);
        }
        let index = &self.indexes().by_gufi_legacy;
        let same: Vec<_> = self
            .find(index, gufi, |r| identity(r, |i| &i.gufi_legacy))
            .collect();
        same.iter()
            .find(|r| r.progress.is_some_and(|p| p.is_active))
            .or(same.iter().max_by_key(|r| r.flight_uid))
            .copied()
    }

    /// By GUFI (the UUID).
    pub fn by_gufi<'a>(&'a self, gufi: &'a str) -> Option<&'a Arc<FlightRecord>> {
        self.find(&self.indexes().by_gufi, gufi, |r| identity(r, |i| &i.gufi))
            .next()
    }

    /// By flight key.
    pub fn by_flight_key<'a>(&'a self, key: &'a str) -> Option<&'a Arc<FlightRecord>> {
        self.find(&self.indexes().by_key, key, |r| {
            identity(r, |i| &i.flight_key)
        })
        .next()
    }

    /// Every flight with this callsign (case-insensitive), by uid.
    pub fn by_callsign<'a>(
        &'a self,
        callsign: &'a str,
    ) -> impl Iterator<Item = &'a Arc<FlightRecord>> {
        self.find(&self.indexes().by_callsign, callsign, |r| {
            identity(r, |i| &i.callsign)
        })
    }

    /// The candidates for a filter on departure airports (by uid).
    pub fn departing(&self, icaos: &[String]) -> Vec<usize> {
        self.any_of(&self.indexes().by_dept, icaos, |r| {
            plan(r, |p| &p.dept_icao)
        })
    }

    /// The candidates for a filter on destination airports (by uid).
    pub fn arriving(&self, icaos: &[String]) -> Vec<usize> {
        self.any_of(&self.indexes().by_dest, icaos, |r| {
            plan(r, |p| &p.dest_icao)
        })
    }

    fn find<'a>(
        &'a self,
        index: &'a Index,
        text: &'a str,
        field: fn(&FlightRecord) -> &str,
    ) -> impl Iterator<Item = &'a Arc<FlightRecord>> {
        index
            .get(&key(text))
            .into_iter()
            .flatten()
            .map(|&i| &self.flights[i as usize])
            .filter(move |r| field(r).eq_ignore_ascii_case(text))
    }

    fn any_of(
        &self,
        index: &Index,
        texts: &[String],
        field: fn(&FlightRecord) -> &str,
    ) -> Vec<usize> {
        let mut all: Vec<usize> = texts
            .iter()
            .flat_map(|t| {
                index
                    .get(&key(t))
                    .into_iter()
                    .flatten()
                    .map(|&i| i as usize)
                    .filter(|&i| field(&self.flights[i]).eq_ignore_ascii_case(t))
            })
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

fn identity(r: &FlightRecord, f: fn(&crate::flight::Identity) -> &String) -> &str {
    r.identity.as_deref().map_or("", |i| f(i).as_str())
}

fn plan(r: &FlightRecord, f: fn(&crate::flight::FlightPlan) -> &String) -> &str {
    r.flight_plan.as_deref().map_or("", |p| f(p).as_str())
}

fn add(index: &mut Index, text: &str, i: u32) {
    index.entry(key(text)).or_default().push(i);
}

/// A case-insensitive hash of a text (FNV-1a over the uppercased bytes:
/// short keys, no allocation, no per-byte hasher calls).
fn key(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b.to_ascii_uppercase())).wrapping_mul(0x0100_0000_01b3)
    })
}
