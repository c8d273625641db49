//! The flights: one record per flight, merged from each feed snapshot.
//!
//! A flight is one connection, keyed by (cid, callsign): it appears when
//! the feed first shows it (or its prefile), changes as the feed moves it,
//! becomes inactive (`phase = disconnected`) when it leaves the feed, and
//! is purged two hours later. A reconnect is a new flight. A merge returns
//! only the flights that actually changed, each with its before and after.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::authority::{self, Refusal, Writer};
use super::motion::{self, Implausible};
use super::progress;
use crate::flight::{FlightPlan, FlightRecord, Identity, Phase, Progress};
use crate::reference::AirportTable;
use crate::source::vatsim::{FeedFlight, Snapshot};
use crate::wit::FieldValue;

/// How long a disconnected flight stays queryable.
pub const PURGE_AFTER_MS: i64 = 2 * 60 * 60 * 1000;

/// A flight before and after a merge; `before` is none for a new flight,
/// `after` none for a purged one.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The flight.
    pub flight_uid: u64,
    /// As it was.
    pub before: Option<Arc<FlightRecord>>,
    /// As it is now.
    pub after: Option<Arc<FlightRecord>>,
}

pub(super) type ConnectionKey = (u32, String);

/// Every flight, by uid, with the index of live connections.
#[derive(Debug, Default)]
pub struct FlightStore {
    pub(super) flights: HashMap<u64, Arc<FlightRecord>>,
    pub(super) connections: HashMap<ConnectionKey, u64>,
    pub(super) disconnected_at: HashMap<u64, i64>,
    /// Flights a partner created (ADL) that the feed has not shown yet, by
    /// callsign, with when a partner last wrote them.
    pub(super) partner_only: HashMap<String, (u64, i64)>,
    pub(super) next_uid: u64,
    pub(super) airports: Arc<AirportTable>,
    /// Motion values not published since the store opened.
    pub(super) implausible: Implausible,
}

impl FlightStore {
    /// An empty store whose first flight gets uid `first_uid` (after a
    /// restart: one past the highest uid ever given).
    pub fn new(first_uid: u64) -> Self {
        FlightStore {
            next_uid: first_uid.max(1),
            airports: AirportTable::embedded(),
            ..FlightStore::default()
        }
    }

    /// A store whose flights were persisted: active ones are live
    /// connections again, inactive ones keep the time they disconnected
    /// (`disconnected_at`, by uid) so they are purged on schedule.
    pub fn restore(
        first_uid: u64,
        records: Vec<FlightRecord>,
        disconnected_at: HashMap<u64, i64>,
    ) -> Self {
        let mut store = FlightStore::new(first_uid);
        // Partner-created flights restart their purge clock at the data's clock.
        let clock = records
            .iter()
            .filter_map(|r| r.position.map(|p| p.updated_at))
            .max()
            .unwrap_or(0);
        for r in records {
            let active = r.progress.is_some_and(|p| p.is_active)
                || r.progress.is_some_and(|p| p.phase == Phase::Prefile);
            if let (true, Some(id)) = (r.partner_created, r.identity.as_ref()) {
                store
                    .partner_only
                    .insert(id.callsign.clone(), (r.flight_uid, clock));
            } else if let (true, Some(id)) = (active, r.identity.as_ref()) {
                store
                    .connections
                    .insert((id.cid, id.callsign.clone()), r.flight_uid);
            }
            store.next_uid = store.next_uid.max(r.flight_uid + 1);
            store.flights.insert(r.flight_uid, Arc::new(r));
        }
        store.disconnected_at = disconnected_at;
        store
    }

    /// The reference airports it derives progress from.
    pub fn airports(&self) -> &Arc<AirportTable> {
        &self.airports
    }

    /// When an inactive flight disconnected.
    pub fn disconnected_at(&self, uid: u64) -> Option<i64> {
        self.disconnected_at.get(&uid).copied()
    }

    /// The uid the next new flight will get.
    pub fn next_uid(&self) -> u64 {
        self.next_uid
    }

    /// The flight with this uid.
    pub fn get(&self, uid: u64) -> Option<&Arc<FlightRecord>> {
        self.flights.get(&uid)
    }

    /// How many flights the store holds (active or not).
    pub fn len(&self) -> usize {
        self.flights.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.flights.is_empty()
    }

    /// Every flight.
    pub fn flights(&self) -> impl Iterator<Item = &Arc<FlightRecord>> {
        self.flights.values()
    }

    /// Motion values not published (outside `store::motion`'s limits)
    /// since the store opened.
    pub fn implausible(&self) -> Implausible {
        self.implausible
    }

    /// Applies the fields of a patch that `writer` may write to flight
    /// `uid`; returns the flight as it now is and the refused fields, or
    /// none if there is no such flight.
    pub fn patch(
        &mut self,
        uid: u64,
        writer: Writer<'_>,
        fields: &[FieldValue],
    ) -> Option<(Arc<FlightRecord>, Vec<Refusal>)> {
        let current = self.flights.get(&uid)?;
        let mut record = (**current).clone();
        let (refused, implausible) = authority::apply_counting(&mut record, writer, fields);
        self.implausible.add(implausible);
        if record != **current {
            self.flights.insert(uid, Arc::new(record));
        }
        Some((self.flights[&uid].clone(), refused))
    }

    /// Merges a snapshot taken at `now`: returns every flight created,
    /// changed, disconnected or purged, in that order of discovery.
    pub fn merge_snapshot(&mut self, snapshot: &Snapshot, now: i64) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut seen: HashSet<ConnectionKey> =
            HashSet::with_capacity(snapshot.pilots.len() + snapshot.prefiles.len());
        for feed in &snapshot.pilots {
            let key = key(feed);
            changes.extend(self.upsert(&key, feed, true, now));
            seen.insert(key);
        }
        for feed in &snapshot.prefiles {
            let key = key(feed);
            // A prefile of a pilot who is already connected is that flight.
            if !seen.contains(&key) {
                changes.extend(self.upsert(&key, feed, false, now));
                seen.insert(key);
            }
        }
        changes.extend(self.disconnect_missing(&seen, now));
        changes.extend(self.purge(now));
        changes.extend(self.purge_partner_only(now));
        changes
    }

    /// Creates or updates the flight of one feed entry; a change if it changed.
    fn upsert(
        &mut self,
        key: &ConnectionKey,
        feed: &FeedFlight,
        connected: bool,
        now: i64,
    ) -> Option<Change> {
        let connected_before = self.connections.get(key).copied();
        let before = match connected_before {
            Some(uid) => self.flights.get(&uid).cloned(),
            // A flight a partner announced is this connection's flight.
            None => self.adopt_partner_flight(&key.1),
        };
        let after = match &before {
            Some(old) => merged(old, feed, connected, &self.airports, &mut self.implausible),
            None => self.created(feed, connected, now),
        };
        match connected_before {
            Some(_) if before.as_deref() == Some(&after) => return None,
            Some(_) => {}
            // New, or adopted from a partner: a connection from now on.
            None => {
                self.connections.insert(key.clone(), after.flight_uid);
            }
        }
        let after = Arc::new(after);
        self.flights.insert(after.flight_uid, after.clone());
        Some(Change {
            flight_uid: after.flight_uid,
            before,
            after: Some(after),
        })
    }

    fn created(&mut self, feed: &FeedFlight, connected: bool, now: i64) -> FlightRecord {
        let flight_uid = self.next_uid;
        self.next_uid += 1;
        let identity = new_identity(feed, now);
        let record = FlightRecord {
            flight_uid,
            identity: Some(Arc::new(identity)),
            ..FlightRecord::default()
        };
        merged(
            &record,
            feed,
            connected,
            &self.airports,
            &mut self.implausible,
        )
    }

    /// Live connections the snapshot no longer shows become inactive.
    fn disconnect_missing(&mut self, seen: &HashSet<ConnectionKey>, now: i64) -> Vec<Change> {
        // By uid, so the order of changes (and so of seq) never depends on
        // hash order.
        let mut gone: Vec<(ConnectionKey, u64)> = self
            .connections
            .iter()
            .filter(|(k, _)| !seen.contains(*k))
            .map(|(k, uid)| (k.clone(), *uid))
            .collect();
        gone.sort_by_key(|(_, uid)| *uid);
        let mut changes = Vec::with_capacity(gone.len());
        for (key, uid) in gone {
            self.connections.remove(&key);
            let Some(before) = self.flights.get(&uid).cloned() else {
                continue;
            };
            let mut after = (*before).clone();
            let progress = after.progress.get_or_insert_with(Progress::default);
            progress.is_active = false;
            progress.phase = Phase::Disconnected;
            let after = Arc::new(after);
            self.flights.insert(uid, after.clone());
            self.disconnected_at.insert(uid, now);
            changes.push(Change {
                flight_uid: uid,
                before: Some(before),
                after: Some(after),
            });
        }
        changes
    }

    /// Flights disconnected for longer than [`PURGE_AFTER_MS`] are removed.
    fn purge(&mut self, now: i64) -> Vec<Change> {
        let mut expired: Vec<u64> = self
            .disconnected_at
            .iter()
            .filter(|(_, at)| now - **at >= PURGE_AFTER_MS)
            .map(|(uid, _)| *uid)
            .collect();
        expired.sort_unstable();
        expired
            .into_iter()
            .filter_map(|uid| {
                self.disconnected_at.remove(&uid);
                self.remove(uid)
            })
            .collect()
    }

    /// Removes a flight; its change (none if there was no such flight).
    pub(super) fn remove(&mut self, uid: u64) -> Option<Change> {
        let before = self.flights.remove(&uid)?;
        Some(Change {
            flight_uid: uid,
            before: Some(before),
            after: None,
        })
    }
}

pub(super) fn key(feed: &FeedFlight) -> ConnectionKey {
    (feed.identity.cid, feed.identity.callsign.clone())
}

/// The ids a flight keeps for life, fixed when it appears.
fn new_identity(feed: &FeedFlight, now: i64) -> Identity {
    let plan = feed.flight_plan.clone().unwrap_or_default();
    Identity {
        logon_utc: feed.identity.logon_utc,
        ..identity_of(&feed.identity.callsign, feed.identity.cid, &plan, now)
    }
}

/// A new flight's identity: a fresh GUFI, PERTI's legacy id and flight key.
pub(super) fn identity_of(callsign: &str, cid: u32, plan: &FlightPlan, now: i64) -> Identity {
    let day = chrono::DateTime::from_timestamp_millis(now)
        .map_or_else(String::new, |t| t.format("%Y%m%d").to_string());
    Identity {
        callsign: callsign.to_string(),
        cid,
        gufi: uuid::Uuid::new_v4().to_string(),
        gufi_legacy: format!("VAT-{day}-{callsign}-{}-{}", plan.dept_icao, plan.dest_icao),
        flight_key: format!(
            "{cid}|{callsign}|{}|{}|{}",
            plan.dept_icao, plan.dest_icao, plan.deptime
        ),
        first_seen_utc: Some(now),
        logon_utc: None,
    }
}

/// `old` with the sections the feed owns taken from `feed`; motion values
/// outside the limits are counted in `implausible`.
fn merged(
    old: &FlightRecord,
    feed: &FeedFlight,
    connected: bool,
    airports: &AirportTable,
    implausible: &mut Implausible,
) -> FlightRecord {
    // Shared sections are replaced only when the feed says something new,
    // so a moving flight's copy costs reference counts, not strings.
    let mut r = old.clone();
    let same_pilot = r
        .identity
        .as_ref()
        .is_some_and(|i| i.callsign == feed.identity.callsign && i.cid == feed.identity.cid);
    if !same_pilot {
        let identity = Arc::make_mut(r.identity.get_or_insert_with(Default::default));
        identity.callsign.clone_from(&feed.identity.callsign);
        identity.cid = feed.identity.cid;
    }
    let logon = feed.identity.logon_utc;
    if logon.is_some() && r.identity.as_ref().is_some_and(|i| i.logon_utc != logon) {
        Arc::make_mut(r.identity.get_or_insert_with(Default::default)).logon_utc = logon;
    }
    if r.flight_plan.as_deref() != feed.flight_plan.as_ref() {
        r.flight_plan = feed.flight_plan.clone().map(Arc::new);
    }
    if connected {
        r.position = feed.position.map(|p| {
            let (p, withheld) = motion::next(old.position.as_ref(), p, None);
            implausible.add(motion::count(&withheld));
            p
        });
    }
    r.progress = Some(if connected {
        progress::derive(&r, airports, old.progress)
    } else {
        Progress {
            phase: Phase::Prefile,
            is_active: false,
            ..old.progress.unwrap_or_default()
        }
    });
    r
}
