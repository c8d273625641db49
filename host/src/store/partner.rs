//! What partners' ingest needs from the store: finding the flight an item
//! names, creating flights a partner announces (ADL), and keeping derived
//! progress in step with what a partner wrote.
//!
//! A partner-created flight is not a feed connection: the feed's
//! disconnect logic leaves it alone, the first feed connection with its
//! callsign adopts it (one record per flight, not two), and one no partner
//! has written for [`PURGE_AFTER_MS`] is purged.

use std::collections::HashMap;
use std::sync::Arc;

use super::flights::{Change, FlightStore, PURGE_AFTER_MS, identity_of};
use super::progress;
use crate::flight::{FlightPlan, FlightRecord, Phase, Progress};
use crate::wit::{FieldValue, FlightRef};

/// The flights an ingest batch may name, indexed once per batch by what
/// its items name them by (indexes no item needs stay empty).
pub struct Lookup {
    by_callsign: HashMap<String, u64>,
    by_gufi: HashMap<String, u64>,
    by_flight_key: HashMap<String, u64>,
}

impl Lookup {
    /// The flight a reference names: by uid, or the live flight with that
    /// callsign (the latest connection), GUFI (new or legacy) or flight key.
    pub fn resolve(&self, store: &FlightStore, flight: &FlightRef) -> Option<u64> {
        match flight {
            FlightRef::Uid(uid) => store.get(*uid).map(|_| *uid),
            FlightRef::Callsign(c) => self.by_callsign.get(&c.to_ascii_uppercase()).copied(),
            FlightRef::Gufi(g) => self.by_gufi.get(g.as_str()).copied(),
            FlightRef::FlightKey(k) => self.by_flight_key.get(k.as_str()).copied(),
        }
    }

    /// Remembers a flight created during the batch, so later items find it.
    pub fn add(&mut self, callsign: &str, uid: u64) {
        self.by_callsign.insert(callsign.to_ascii_uppercase(), uid);
    }
}

impl FlightStore {
    /// An index of the flights `refs` may name: live connections and
    /// partner-created flights by callsign; every flight by GUFI and key.
    pub fn lookup<'a>(&self, refs: impl Iterator<Item = &'a FlightRef>) -> Lookup {
        let (mut callsigns, mut gufis, mut keys) = (false, false, false);
        for r in refs {
            match r {
                FlightRef::Uid(_) => {}
                FlightRef::Callsign(_) => callsigns = true,
                FlightRef::Gufi(_) => gufis = true,
                FlightRef::FlightKey(_) => keys = true,
            }
        }
        let mut by_callsign = HashMap::new();
        if callsigns {
            for ((_, callsign), uid) in &self.connections {
                let latest = by_callsign.entry(callsign.clone()).or_insert(*uid);
                *latest = (*latest).max(*uid);
            }
            for (callsign, (uid, _)) in &self.partner_only {
                by_callsign.entry(callsign.clone()).or_insert(*uid);
            }
        }
        let mut by_gufi = HashMap::new();
        let mut by_flight_key = HashMap::new();
        let identities = self
            .flights
            .values()
            .filter_map(|r| Some((r.flight_uid, r.identity.as_ref()?)));
        for (uid, id) in identities.filter(|_| gufis || keys) {
            if gufis {
                by_gufi.insert(id.gufi.clone(), uid);
                by_gufi.insert(id.gufi_legacy.clone(), uid);
            }
            if keys {
                by_flight_key.insert(id.flight_key.clone(), uid);
            }
        }
        Lookup {
            by_callsign,
            by_gufi,
            by_flight_key,
        }
    }

    /// Creates the flight a partner announces, from the identity and plan
    /// fields of its patch; none when the patch names no callsign.
    pub fn create_for_partner(&mut self, fields: &[FieldValue], now: i64) -> Option<u64> {
        let callsign = fields.iter().find_map(|f| match f {
            FieldValue::IdentityCallsign(c) if !c.trim().is_empty() => Some(c.to_ascii_uppercase()),
            _ => None,
        })?;
        let cid = fields
            .iter()
            .find_map(|f| match f {
                FieldValue::IdentityCid(c) => Some(*c),
                _ => None,
            })
            .unwrap_or(0);
        let mut plan = FlightPlan::default();
        for f in fields {
            match f {
                FieldValue::FlightPlanDeptIcao(v) => plan.dept_icao.clone_from(v),
                FieldValue::FlightPlanDestIcao(v) => plan.dest_icao.clone_from(v),
                FieldValue::FlightPlanDeptime(v) => plan.deptime.clone_from(v),
                _ => {}
            }
        }
        let uid = self.next_uid;
        self.next_uid += 1;
        let record = FlightRecord {
            flight_uid: uid,
            identity: Some(Arc::new(identity_of(&callsign, cid, &plan, now))),
            progress: Some(Progress {
                phase: Phase::Prefile,
                ..Progress::default()
            }),
            partner_created: true,
            ..FlightRecord::default()
        };
        self.flights.insert(uid, Arc::new(record));
        self.partner_only.insert(callsign, (uid, now));
        Some(uid)
    }

    /// After a partner's write: derived progress follows the new position
    /// or plan of a connected flight; a partner-created flight is kept.
    pub fn after_partner_write(&mut self, uid: u64, now: i64) {
        let Some(current) = self.flights.get(&uid) else {
            return;
        };
        if let (true, Some(id)) = (current.partner_created, &current.identity)
            && let Some(entry) = self.partner_only.get_mut(&id.callsign)
        {
            entry.1 = now;
        }
        let Some(previous) = current.progress.filter(|p| p.is_active) else {
            return;
        };
        let derived = progress::derive(current, &self.airports, Some(previous));
        if derived != previous {
            let mut record = (**current).clone();
            record.progress = Some(derived);
            self.flights.insert(uid, Arc::new(record));
        }
    }

    /// The partner-created flight with this callsign, leaving the partner
    /// index: a feed connection is taking it over.
    pub(super) fn adopt_partner_flight(&mut self, callsign: &str) -> Option<Arc<FlightRecord>> {
        if self.partner_only.is_empty() {
            return None;
        }
        let (uid, _) = self.partner_only.remove(callsign)?;
        let mut record = (**self.flights.get(&uid)?).clone();
        record.partner_created = false;
        Some(Arc::new(record))
    }

    /// Partner-created flights no partner has written for two hours.
    pub(super) fn purge_partner_only(&mut self, now: i64) -> Vec<Change> {
        let mut expired: Vec<(String, u64)> = self
            .partner_only
            .iter()
            .filter(|(_, (_, at))| now - *at >= PURGE_AFTER_MS)
            .map(|(callsign, (uid, _))| (callsign.clone(), *uid))
            .collect();
        expired.sort_unstable_by_key(|(_, uid)| *uid);
        expired
            .into_iter()
            .filter_map(|(callsign, uid)| {
                self.partner_only.remove(&callsign);
                self.remove(uid)
            })
            .collect()
    }
}
