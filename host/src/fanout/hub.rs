//! The hub: every committed batch from the change feed, routed to every
//! connected client on its own thread (routing is CPU work; the sockets
//! are the async runtime's).
//!
//! Per batch, clients with identical subscriptions form one group and are
//! routed once; identical filters are evaluated once per event; each wasm
//! filter plugin is called once per batch with every subject in it; an
//! event's frame is serialized once and shared by every client it goes
//! to, and a `flight.positions` batch is cut per filter from the bytes of
//! its entries, never re-serialized (docs/ARCHITECTURE.md, performance principles 1-3).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::broadcast;

use super::client::{Client, Subscription};
use super::filter::{Filter, PluginSpec};
use super::metrics::FanoutMetrics;
use super::subject::{Subject, Subjects};
use crate::feed::{ChangeFeed, Event, EventBatch};
use crate::pipeline::Shared;
use crate::plugin::slot::FilterTrial;
use crate::plugin::{FilterError, Kind, Registry, Slot};
use crate::shutdown::Shutdown;
use crate::store::FlightsView;
use crate::time::format_iso_millis;
use crate::wit::Matches;

/// The channel of position batches.
const POSITIONS: &str = "flight.positions";

/// A wasm filter compiled for every subscriber with the same spec;
/// released when the last one lets go.
pub struct CompiledFilter {
    /// The plugin.
    pub slot: Arc<Slot>,
    /// The plugin's id for it.
    pub id: u32,
    /// What it was compiled from.
    pub spec: PluginSpec,
}

/// A compiled wasm filter among every plugin's (ids are per plugin): the
/// plugin's slot by address, and the id. Plain data, so routing keys cost
/// no allocation.
type FilterRef = (usize, u32);

fn filter_ref(slot: &Arc<Slot>, id: u32) -> FilterRef {
    (Arc::as_ptr(slot) as usize, id)
}

impl CompiledFilter {
    /// Its `FilterRef`.
    fn as_ref_key(&self) -> FilterRef {
        filter_ref(&self.slot, self.id)
    }
}

/// Marks the subjects a filter matched.
pub fn mark(verdict: &mut [bool], subjects: &[u32]) {
    for &j in subjects {
        if let Some(x) = verdict.get_mut(j as usize) {
            *x = true;
        }
    }
}

impl Drop for CompiledFilter {
    fn drop(&mut self) {
        let _ = self.slot.release_filter(self.id);
    }
}

/// Routes the feed to clients.
pub struct Hub {
    clients: RwLock<HashMap<String, Arc<Client>>>,
    compiled: Mutex<HashMap<PluginSpec, Weak<CompiledFilter>>>,
    plugin_filters: RwLock<HashMap<String, Arc<CompiledFilter>>>,
    registry: Arc<Registry>,
    /// The change feed.
    pub feed: Arc<ChangeFeed>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    /// The time of the last `flight.positions` batch routed (0: none yet),
    /// for subscribers with a `positions_interval`.
    last_positions_at: AtomicI64,
    /// When the hub started (heartbeat uptime).
    pub started: Instant,
    /// Connections, messages, bytes, drops, latency.
    pub metrics: Arc<FanoutMetrics>,
    /// The server's shutdown: the router stops, sessions close with 1001.
    pub shutdown: Shutdown,
    runtime: tokio::runtime::Handle,
    /// The share of a filter plugin's deadline one subscriber's wasm filter
    /// may take on a batch of every flight, percent.
    filter_budget_percent: u64,
    /// What a new wasm filter is tried on: the current view's flights
    /// (built once per view version).
    trial: Mutex<Option<(u64, Arc<FilterTrial>)>>,
}

/// Why a subscriber's wasm filter was refused: the error code and the
/// message for the client.
pub type FilterRefusal = (&'static str, String);

/// A new wasm filter is tried on at least this many flights (the current
/// ones, padded with made-up ones), so a filter that passes on a quiet
/// gateway does not fault the shared call when traffic grows.
const TRIAL_MIN_FLIGHTS: usize = 2_000;

impl Hub {
    /// A hub over the shared feed (the view completes event subjects). Call it
    /// inside the runtime the sockets run on.
    pub fn new(
        shared: Arc<Shared>,
        registry: Arc<Registry>,
        shutdown: Shutdown,
        filter_budget_percent: u64,
    ) -> Arc<Hub> {
        Arc::new(Hub {
            clients: RwLock::new(HashMap::new()),
            compiled: Mutex::new(HashMap::new()),
            plugin_filters: RwLock::new(HashMap::new()),
            registry,
            feed: shared.feed.clone(),
            shared,
            next_id: AtomicU64::new(1),
            last_positions_at: AtomicI64::new(0),
            started: Instant::now(),
            metrics: Arc::new(FanoutMetrics::default()),
            shutdown,
            runtime: tokio::runtime::Handle::current(),
            filter_budget_percent,
            trial: Mutex::new(None),
        })
    }

    /// Starts routing on its own thread; it ends when the feed does or at
    /// shutdown.
    /// Routes `first` and the batches that arrived meanwhile, then queues
    /// their frames on the clients. Routed together, the per-batch work
    /// (grouping every client) is done once, and each client's writer gets
    /// its frames in one wake and one write.
    pub(super) fn route_waiting(
        &self,
        first: EventBatch,
        live: &mut broadcast::Receiver<EventBatch>,
    ) {
        let mut batches = vec![first];
        while batches.len() < COALESCE {
            match live.try_recv() {
                Ok(more) => batches.push(more),
                // A lag is seen (and handled) by the next `recv`.
                Err(_) => break,
            }
        }
        let routed = self.route(&batches);
        // Routing on this thread; the queueing (which wakes every client's
        // writer) on one of the runtime's workers: a wake from a worker goes
        // to its own run queue, one from this thread through the runtime's
        // shared injection queue, a lock each.
        let metrics = self.metrics.clone();
        let queued = self.runtime.spawn(async move { routed.queue(&metrics) });
        // Batches are queued in order.
        let _ = self.runtime.block_on(queued);
    }

    /// A new client id.
    pub fn next_client_id(&self) -> String {
        format!("c{}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Adds a connected client.
    pub fn add(&self, client: Arc<Client>) {
        self.metrics.connected(client.tier, 1);
        self.clients.write().insert(client.id.clone(), client);
    }

    /// Removes a client (its compiled filter is released with the last user).
    pub fn remove(&self, client: &Client) {
        if self.clients.write().remove(&client.id).is_some() {
            self.metrics.connected(client.tier, -1);
        }
        self.plugin_filters.write().remove(&client.id);
    }

    /// Connected clients.
    pub fn client_count(&self) -> usize {
        self.clients.read().len()
    }

    /// Every connected client.
    pub fn clients(&self) -> Vec<Arc<Client>> {
        self.clients.read().values().cloned().collect()
    }

    /// Compiles (or shares) a wasm filter for a client; the error is for
    /// the client.
    pub fn use_plugin_filter(
        &self,
        client: &Client,
        spec: &PluginSpec,
    ) -> Result<(), FilterRefusal> {
        let compiled = self.compile(spec)?;
        self.plugin_filters
            .write()
            .insert(client.id.clone(), compiled);
        Ok(())
    }

    /// Whether a wasm filter of this spec is compiled (a subscriber using
    /// it shares it, with no trial).
    pub fn has_compiled(&self, spec: &PluginSpec) -> bool {
        self.compiled
            .lock()
            .get(spec)
            .is_some_and(|w| w.strong_count() > 0)
    }

    /// Drops a client's wasm filter.
    pub fn drop_plugin_filter(&self, client: &Client) {
        self.plugin_filters.write().remove(&client.id);
    }

    fn compile(&self, spec: &PluginSpec) -> Result<Arc<CompiledFilter>, FilterRefusal> {
        if let Some(c) = self.compiled.lock().get(spec).and_then(Weak::upgrade) {
            return Ok(c);
        }
        let slot = self
            .registry
            .active(Kind::SubscriptionFilter)
            .into_iter()
            .find(|s| s.name() == spec.name)
            .ok_or_else(|| {
                let names: Vec<String> = self
                    .registry
                    .active(Kind::SubscriptionFilter)
                    .iter()
                    .map(|s| s.name().to_string())
                    .collect();
                let loaded = names.join(", ");
                let message = format!("no filter plugin named {:?} (loaded: {loaded})", spec.name);
                ("INVALID_FILTER", message)
            })?;
        // Tried alone first, outside the lock: a costly filter holds up no
        // other subscriber.
        let id = slot
            .compile_filter(&spec.params, &self.filter_trial())
            .map_err(|e| {
                let code = match e {
                    FilterError::TooCostly(_) => "FILTER_TOO_COSTLY",
                    _ => "INVALID_FILTER",
                };
                (code, format!("filter plugin {:?}: {e}", spec.name))
            })?;
        let c = Arc::new(CompiledFilter {
            slot,
            id,
            spec: spec.clone(),
        });
        let mut compiled = self.compiled.lock();
        compiled.retain(|_, w| w.strong_count() > 0);
        compiled.insert(spec.clone(), Arc::downgrade(&c));
        Ok(c)
    }

    /// What a new wasm filter is tried on: every flight of the current
    /// view (at least [`TRIAL_MIN_FLIGHTS`]), within the filter budget.
    fn filter_trial(&self) -> Arc<FilterTrial> {
        let view = self.shared.view.load();
        let mut trial = self.trial.lock();
        if let Some((version, t)) = trial.as_ref()
            && *version == view.version
        {
            return t.clone();
        }
        let made_up = (view.flights.len()..TRIAL_MIN_FLIGHTS).map(|i| Subject {
            callsign: format!("TRL{i}"),
            ..Default::default()
        });
        let subjects: Vec<Subject> = view
            .flights
            .iter()
            .map(|r| Subject::of_record(r))
            .chain(made_up)
            .collect();
        let t = Arc::new(FilterTrial {
            probe: crate::plugin::columns::subjects(subjects.iter().map(|s| s.as_column())),
            budget_percent: self.filter_budget_percent,
        });
        *trial = Some((view.version, t.clone()));
        t
    }

    /// A wasm filter plugin's matches on `subjects`. Subscribers whose
    /// filter fails alone on them are closed with `FILTER_TOO_COSTLY`
    /// (the plugin goes on for everyone else); `None` when the call failed
    /// for everyone.
    pub fn match_plugin(
        &self,
        slot: &Arc<Slot>,
        subjects: &crate::wit::Subjects,
    ) -> Option<Vec<Matches>> {
        match slot.match_batch(subjects, self.filter_budget_percent) {
            Ok(batch) => {
                for (id, why) in &batch.too_costly {
                    self.close_filter_users(slot, *id, why);
                }
                Some(batch.matches)
            }
            Err(e) => {
                tracing::warn!(plugin = slot.name(), error = %e, "filter plugin failed");
                None
            }
        }
    }

    /// Closes every client of a dropped wasm filter.
    fn close_filter_users(&self, slot: &Arc<Slot>, id: u32, why: &str) {
        let dropped = filter_ref(slot, id);
        self.compiled
            .lock()
            .retain(|_, w| w.upgrade().is_some_and(|c| c.as_ref_key() != dropped));
        let mut users = Vec::new();
        self.plugin_filters.write().retain(|client, c| {
            let keep = c.as_ref_key() != dropped;
            if !keep {
                users.push(client.clone());
            }
            keep
        });
        let clients = self.clients.read();
        for client in users.iter().filter_map(|id| clients.get(id)) {
            tracing::warn!(client = %client.id, plugin = slot.name(), "closing a subscriber whose filter is too costly");
            client.close(super::client::Close::with_error(
                super::protocol::CLOSE_FILTER_TOO_COSTLY,
                "FILTER_TOO_COSTLY",
                &format!("{why}; subscribe again with a narrower filter"),
            ));
        }
    }

    /// A client's wasm filter, if it has one.
    pub fn plugin_filter(&self, client_id: &str) -> Option<Arc<CompiledFilter>> {
        self.plugin_filters.read().get(client_id).cloned()
    }

    /// Routes committed batches (in feed order): which frame goes to which
    /// clients.
    fn route(&self, batches: &[EventBatch]) -> Routed {
        let mut routed = Routed {
            frames: Vec::new(),
            clients: Vec::new(),
            last: batches
                .iter()
                .filter_map(|b| b.events.last().map(|e| e.seq))
                .max()
                .unwrap_or(0),
        };
        if routed.last == 0 {
            return routed;
        }
        routed.clients = self.clients();
        if routed.clients.is_empty() {
            return routed;
        }
        let groups = self.groups(&routed.clients);
        let view = self.shared.view.load();
        for batch in batches {
            self.route_batch(batch, &groups, &view, &mut routed.frames);
        }
        routed
    }

    fn route_batch(
        &self,
        batch: &EventBatch,
        groups: &[Group],
        view: &FlightsView,
        out: &mut Vec<RoutedFrame>,
    ) {
        let subjects = BatchSubjects::new(&batch.events, groups, view);
        let verdicts = self.plugin_verdicts(groups, &subjects);
        for (i, event) in batch.events.iter().enumerate() {
            let mut whole: Option<Utf8Bytes> = None;
            let mut cut: HashMap<&FilterKey, Option<Utf8Bytes>> = HashMap::new();
            let due = self.positions_due(event);
            for group in groups.iter().filter(|g| g.subscription.wants(&event.kind)) {
                let frame = match &group.filter_key {
                    None => Some(whole.get_or_insert_with(|| frame_of(event)).clone()),
                    Some(key) => cut
                        .entry(key)
                        .or_insert_with(|| {
                            if !due(group.subscription.filter()) {
                                return None;
                            }
                            // The group's wasm verdicts, looked up once.
                            let verdict = key.1.map(|f| verdicts.get(&f));
                            let offset = subjects.offset[i];
                            let pass = |j: usize| match verdict {
                                None => true,
                                Some(v) => v.is_some_and(|v| v[offset + j]),
                            };
                            select(
                                event,
                                &subjects.of[i],
                                group.subscription.filter(),
                                pass,
                                &mut whole,
                            )
                        })
                        .clone(),
                };
                if let Some(frame) = frame {
                    out.push(RoutedFrame {
                        seq: event.seq,
                        text: frame,
                        clients: group.clients.clone(),
                        published: batch.published,
                    });
                }
            }
        }
    }

    /// For a `flight.positions` event, which filters' intervals it opens
    /// (every filter's for any other event); notes its time for the next.
    fn positions_due(&self, event: &Event) -> impl Fn(&Filter) -> bool + use<> {
        let at = event.timestamp;
        let previous = (event.kind == POSITIONS)
            .then(|| self.last_positions_at.swap(at, Ordering::Relaxed))
            .map(|p| (p != 0).then_some(p));
        move |filter: &Filter| previous.is_none_or(|p| filter.positions_due(at, p))
    }

    /// Clients with identical subscriptions (and wasm filter) together.
    fn groups(&self, clients: &[Arc<Client>]) -> Vec<Group> {
        let plugin_filters = self.plugin_filters.read();
        let mut by_key: HashMap<(Arc<str>, Option<FilterRef>), GroupBuilder> = HashMap::new();
        for client in clients {
            let subscription = client.subscription.lock();
            if subscription.channels().is_empty() {
                continue;
            }
            let plugin = plugin_filters.get(&client.id).cloned();
            let wasm = plugin.as_ref().map(|p| p.as_ref_key());
            by_key
                .entry((subscription.key().clone(), wasm))
                .or_insert_with(|| GroupBuilder {
                    filter_key: (!subscription.filter().is_empty())
                        .then(|| (subscription.filter_key().clone(), wasm)),
                    subscription: subscription.clone(),
                    plugin,
                    clients: Vec::new(),
                })
                .clients
                .push(client.clone());
        }
        by_key
            .into_values()
            .map(|g| Group {
                subscription: g.subscription,
                filter_key: g.filter_key,
                plugin: g.plugin,
                clients: g.clients.into(),
            })
            .collect()
    }

    /// Each wasm filter's verdict on every subject of the batch: one call
    /// per plugin.
    fn plugin_verdicts(
        &self,
        groups: &[Group],
        subjects: &BatchSubjects,
    ) -> HashMap<FilterRef, Vec<bool>> {
        let mut verdicts = HashMap::new();
        let mut slots: HashMap<usize, &Arc<Slot>> = HashMap::new();
        for g in groups {
            if let Some(p) = &g.plugin {
                slots.insert(Arc::as_ptr(&p.slot) as usize, &p.slot);
                verdicts.insert(p.as_ref_key(), vec![false; subjects.total]);
            }
        }
        if slots.is_empty() || subjects.total == 0 {
            return verdicts;
        }
        let columns = crate::plugin::columns::subjects(
            subjects
                .of
                .iter()
                .flat_map(|s| s.iter().map(|s| s.as_column())),
        );
        for slot in slots.values() {
            // A faulting filter matches nothing this batch (its
            // subscribers miss these events, nobody else does).
            for m in self.match_plugin(slot, &columns).unwrap_or_default() {
                if let Some(v) = verdicts.get_mut(&filter_ref(slot, m.filter)) {
                    mark(v, &m.subjects);
                }
            }
        }
        verdicts
    }

    /// Every live client catches up from the feed (the router lagged).
    /// The async runtime the clients' tasks run on.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    /// The view, for replays.
    pub fn view(&self) -> arc_swap::Guard<Arc<FlightsView>> {
        self.shared.view.load()
    }
}

/// A filter (as JSON) and its wasm filter, if any: groups with equal
/// keys get the same cut of every event.
type FilterKey = (Arc<str>, Option<FilterRef>);

/// Clients routed together.
struct Group {
    subscription: Subscription,
    /// None when the subscription filters nothing.
    filter_key: Option<FilterKey>,
    plugin: Option<Arc<CompiledFilter>>,
    /// Shared by every frame routed to them.
    clients: Arc<[Arc<Client>]>,
}

/// A group while its clients are gathered.
struct GroupBuilder {
    subscription: Subscription,
    filter_key: Option<FilterKey>,
    plugin: Option<Arc<CompiledFilter>>,
    clients: Vec<Arc<Client>>,
}

/// Routed batches: each event's frames in feed order with the clients
/// each goes to, and every client connected when they were routed.
struct Routed {
    frames: Vec<RoutedFrame>,
    clients: Vec<Arc<Client>>,
    /// The last seq of the batches.
    last: u64,
}

/// One frame of an event and who gets it.
struct RoutedFrame {
    seq: u64,
    text: Utf8Bytes,
    clients: Arc<[Arc<Client>]>,
    /// When its batch was published.
    published: Instant,
}

/// Batches the router takes at once at most when it has fallen behind.
const COALESCE: usize = 128;

impl Routed {
    /// Queues every frame on its clients, then moves every client's
    /// cursor past the batches (events it did not want included).
    fn queue(self, metrics: &FanoutMetrics) {
        for frame in &self.frames {
            for client in frame.clients.iter() {
                if !client.offer_live(frame.seq, &frame.text, frame.published) {
                    metrics.queue_drops.add(1);
                }
            }
        }
        for client in &self.clients {
            client.pass_live(self.last);
        }
    }
}

/// The subjects of a batch's events (computed only for events some
/// filtering group wants), and where each event's subjects start in the
/// batch-wide numbering the wasm filters see.
struct BatchSubjects {
    of: Vec<Subjects>,
    offset: Vec<usize>,
    total: usize,
}

impl BatchSubjects {
    fn new(events: &[Arc<Event>], groups: &[Group], view: &FlightsView) -> Self {
        let mut of = Vec::with_capacity(events.len());
        let mut offset = Vec::with_capacity(events.len());
        let mut total = 0;
        for e in events {
            let mut filtering = groups
                .iter()
                .filter(|g| g.filter_key.is_some() && g.subscription.wants(&e.kind))
                .peekable();
            let s = if filtering.peek().is_some() {
                let departures = filtering.any(|g| g.subscription.filter().reads_departure());
                Subjects::of(e, view, departures)
            } else {
                Subjects::None
            };
            offset.push(total);
            total += s.len();
            of.push(s);
        }
        BatchSubjects { of, offset, total }
    }
}

/// The frame of an event as every unfiltered client gets it.
pub fn frame_of(event: &Event) -> Utf8Bytes {
    serde_json::to_string(event)
        .unwrap_or_else(|_| "{}".into())
        .into()
}

/// What one filter lets through of an event: the whole frame, a positions
/// batch cut to the matching entries, or nothing.
pub fn select(
    event: &Event,
    subjects: &Subjects,
    filter: &Filter,
    plugin_pass: impl Fn(usize) -> bool,
    whole: &mut Option<Utf8Bytes>,
) -> Option<Utf8Bytes> {
    let mut whole = || whole.get_or_insert_with(|| frame_of(event)).clone();
    match subjects {
        // System events are not filtered; a TMI event only by airport.
        Subjects::None => Some(whole()),
        Subjects::Airport(icao) => filter.admits_airport(icao).then(whole),
        Subjects::One(s) => (filter.matches(s) && plugin_pass(0)).then(whole),
        Subjects::Batch(entries) => {
            let chosen: Vec<usize> = (0..entries.len())
                .filter(|&j| filter.matches(&entries[j].0) && plugin_pass(j))
                .collect();
            if chosen.is_empty() {
                None
            } else if chosen.len() == entries.len() {
                Some(whole())
            } else {
                Some(cut_positions(event, entries, &chosen))
            }
        }
    }
}

/// A `flight.positions` frame with only the chosen entries, copied from
/// the event's serialized payload.
fn cut_positions(
    event: &Event,
    entries: &[(Subject, std::ops::Range<usize>)],
    chosen: &[usize],
) -> Utf8Bytes {
    let data = event.data.get();
    let bytes: usize = chosen.iter().map(|&j| entries[j].1.len() + 1).sum();
    let mut out = String::with_capacity(bytes + 160);
    let _ = write!(
        out,
        r#"{{"seq":{},"type":{},"timestamp":"{}","data":{{"count":{},"positions":["#,
        event.seq,
        serde_json::Value::from(event.kind.as_str()),
        format_iso_millis(event.timestamp),
        chosen.len()
    );
    for (n, &j) in chosen.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(&data[entries[j].1.clone()]);
    }
    out.push_str("]}}");
    out.into()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::feed::event::payload;

    #[test]
    fn a_positions_batch_is_cut_to_each_filters_entries() {
        let event = Event {
            seq: 7,
            kind: "flight.positions".into(),
            timestamp: 0,
            flight_uid: None,
            data: payload(&json!({"count": 3, "positions": [
                {"callsign": "AAL1", "flight_uid": 1, "dep": "KJFK", "arr": "KBOS", "latitude": 40.0, "longitude": -73.0},
                {"callsign": "BAW2", "flight_uid": 2, "dep": "EGLL", "arr": "KJFK", "latitude": 51.0, "longitude": -1.0},
                {"callsign": "DAL3", "flight_uid": 3, "dep": "KATL", "arr": "KLAX", "latitude": 33.0, "longitude": -84.0}
            ]})),
        };
        let subjects = Subjects::of(&event, &FlightsView::default(), false);
        let cut = |filters: serde_json::Value| {
            let filter = Filter::parse(&filters).unwrap();
            select(&event, &subjects, &filter, |_| true, &mut None)
                .map(|f| serde_json::from_str::<serde_json::Value>(&f).unwrap())
        };
        let jfk = cut(json!({"airports": ["KJFK"]})).unwrap();
        assert_eq!(
            (jfk["seq"].as_u64(), jfk["type"].as_str()),
            (Some(7), Some("flight.positions"))
        );
        assert_eq!(jfk["data"]["count"], 2);
        let callsigns: Vec<&str> = jfk["data"]["positions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["callsign"].as_str().unwrap())
            .collect();
        assert_eq!(callsigns, ["AAL1", "BAW2"]);
        assert!(
            cut(json!({"airports": ["RJTT"]})).is_none(),
            "nothing matches: nothing sent"
        );
        assert_eq!(cut(json!({})).unwrap()["data"]["count"], 3);
        // A wasm filter's verdict is applied per entry too.
        let f = Filter::default();
        let only_second = select(&event, &subjects, &f, |j| j == 1, &mut None).unwrap();
        assert!(only_second.contains("BAW2") && !only_second.contains("AAL1"));
    }

    #[test]
    fn a_tmi_event_is_filtered_by_its_airport_only() {
        let event = Event {
            seq: 9,
            kind: "tmi.issued".into(),
            timestamp: 0,
            flight_uid: None,
            data: payload(&json!({"program_id": 1, "program_type": "GS", "airport": "KJFK"})),
        };
        let subjects = Subjects::of(&event, &FlightsView::default(), false);
        let passes = |filters: serde_json::Value| {
            let filter = Filter::parse(&filters).unwrap();
            select(&event, &subjects, &filter, |_| false, &mut None).is_some()
        };
        assert!(passes(json!({"airports": ["KJFK", "KBOS"]})));
        assert!(!passes(json!({"airports": ["KBOS"]})));
        // Flight filters say nothing about a program.
        assert!(passes(
            json!({"callsign_prefix": ["BAW"], "phase": ["taxiing"]})
        ));
    }
}
