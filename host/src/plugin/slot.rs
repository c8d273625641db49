//! A plugin slot: the name callers hold, pointing at the current version.
//!
//! A reload swaps the version atomically (arc-swap); a call in flight keeps
//! the `Arc` of the version it started on and finishes there. The slot also
//! counts calls and faults and quarantines a plugin after `fault_threshold`
//! consecutive faults, until its file changes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use parking_lot::Mutex;
use serde::Serialize;
use wasmtime::Store;

use super::engine::Tier;
use super::events::{EventSink, PluginAction, PluginEvent};
use super::fault::Fault;
use super::manifest::Kind;
use super::sandbox::Sandbox;
use super::version::{FilterParams, Origin, Version, WorldInstance};
use crate::wit::{Changes, Context, Detection, Matches, Parsed, Subjects};

/// What an operator sees of a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Loaded and called.
    Active,
    /// Loaded, but its manifest says `enabled = false`.
    Disabled,
    /// Not called after repeated faults, until its file changes.
    Quarantined,
    /// Never loaded: its file failed validation.
    Failed,
}

/// A call that did not reach the plugin, or faulted in it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// No version of the plugin is loaded.
    #[error("plugin {0} is not loaded")]
    NotLoaded(String),
    /// The plugin is loaded for another world.
    #[error("plugin {name} is a {actual}, not a {wanted}")]
    WrongKind {
        /// The plugin.
        name: String,
        /// Its kind.
        actual: Kind,
        /// The kind the caller needs.
        wanted: Kind,
    },
    /// The plugin faulted (or is quarantined).
    #[error("plugin {name}: {fault}")]
    Fault {
        /// The plugin.
        name: String,
        /// What happened.
        fault: Fault,
    },
}

/// Compiling a subscriber's filter params failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    /// The plugin refused the params; the message is for the subscriber.
    #[error("{0}")]
    Rejected(String),
    /// The filter, tried alone, faulted or ran past the per-subscriber
    /// budget; the message is for the subscriber.
    #[error("{0}")]
    TooCostly(String),
    /// The call itself failed.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// The default share of a filter plugin's deadline (`call_timeout_ms`)
/// one subscriber's filter may take, alone, on a batch as large as the
/// gateway's flights (`[websocket] filter_budget_percent`): 10 ms of a
/// Rust filter's 50, 100 ms of a Python one's 500.
pub const DEFAULT_FILTER_BUDGET_PERCENT: u64 = 20;

/// The share of a filter plugin's deadline its subscribers' filters may
/// take together, by what each took alone (the rest is headroom: a batch
/// costs more than the sum of its filters' trials, and machines stall).
pub const CAPACITY_PERCENT: u64 = 60;

/// What a version's subscribers' filters may take together.
fn capacity(version: &Version) -> Duration {
    Duration::from_millis(version.manifest.limits.call_timeout_ms * CAPACITY_PERCENT / 100)
}

/// A subscriber's budget in a version's calls: `percent` of its deadline,
/// at least 1 ms.
fn budget_ms(version: &Version, percent: u64) -> u64 {
    (version.manifest.limits.call_timeout_ms * percent / 100).max(1)
}

/// How a subscriber's filter is tried before it joins the shared instance.
#[derive(Debug)]
pub struct FilterTrial {
    /// The flights it is tried on.
    pub probe: Subjects,
    /// The share of the plugin's deadline it may take on them, percent.
    pub budget_percent: u64,
}

impl Default for FilterTrial {
    /// No flights, the default budget: the params are compiled alone.
    fn default() -> Self {
        FilterTrial {
            probe: crate::plugin::columns::subjects([]),
            budget_percent: DEFAULT_FILTER_BUDGET_PERCENT,
        }
    }
}

/// A batch matched: every remaining filter's matches, and the filters
/// dropped on the way because they failed alone (id, why).
#[derive(Debug, Default)]
pub struct BatchMatches {
    /// For each compiled filter, the subjects it matches.
    pub matches: Vec<Matches>,
    /// Filters dropped as too costly, with the reason for their subscribers.
    pub too_costly: Vec<(u32, String)>,
}

/// Tries one subscriber's params alone on a throwaway instance: compiled
/// (within the plugin's own deadline: compiling is once per subscriber),
/// then matched against `probe` within `budget_percent` of that deadline
/// (matching is every batch, beside every other subscriber).
fn judge(
    version: &Version,
    params: &str,
    probe: &Subjects,
    budget_percent: u64,
) -> Result<Duration, FilterError> {
    let budget_ms = budget_ms(version, budget_percent);
    let mut matching = false;
    let answer = version.trial(
        version.manifest.limits.call_timeout_ms,
        |store, instance| {
            let WorldInstance::SubscriptionFilter(p) = instance else {
                unreachable!("a filter's version");
            };
            let compiled = p.call_compile(&mut *store, 0, params)?;
            if compiled.is_err() {
                return Ok(compiled.map(|()| Duration::ZERO));
            }
            matching = true;
            store.set_epoch_deadline(super::version::deadline_ticks(budget_ms));
            let started = Instant::now();
            p.call_match_batch(&mut *store, probe)?;
            Ok(Ok(started.elapsed()))
        },
    );
    let flights = probe.flight_uid.len();
    match answer {
        Ok(cost) => cost.map_err(FilterError::Rejected),
        Err(Fault::Timeout { .. }) if matching => Err(FilterError::TooCostly(format!(
            "this filter, tried alone on {flights} flights, took more than {budget_ms} ms \
             ({budget_percent}% of the plugin's deadline, what one subscriber's filter may take)"
        ))),
        Err(fault) => Err(FilterError::TooCostly(format!(
            "this filter, tried alone on {flights} flights, failed: {fault}"
        ))),
    }
}

#[derive(Default)]
struct Health {
    consecutive_faults: u32,
    quarantined: Option<Fault>,
    last_error: Option<String>,
    /// Why the plugins dir's file for this plugin is not what runs.
    rejected: Option<String>,
}

#[derive(Default)]
struct CallStats {
    calls: AtomicU64,
    faults: AtomicU64,
    nanos: AtomicU64,
}

/// Loads the built-in version of a plugin (sharing the slot's compiled
/// filters), if the binary has one: what takes over from a quarantined
/// file.
pub type Fallback = Box<dyn Fn(FilterParams) -> Option<Arc<Version>> + Send + Sync>;

/// A plugin by name.
pub struct Slot {
    name: String,
    current: ArcSwapOption<Version>,
    health: Mutex<Health>,
    stats: CallStats,
    filters: FilterParams,
    /// What each compiled filter took alone when it was last tried.
    filter_costs: Mutex<BTreeMap<u32, Duration>>,
    next_filter_id: AtomicU32,
    events: EventSink,
    fallback: Option<Fallback>,
}

/// A snapshot of a slot for `GET /plugins` and `swim plugins list`.
#[derive(Debug, Clone, Serialize)]
pub struct PluginStatus {
    /// The plugin's name.
    pub name: String,
    /// Its kind, when a version is loaded.
    pub kind: Option<Kind>,
    /// Its version (from `describe`), when loaded.
    pub version: Option<String>,
    /// What it says it does.
    pub summary: Option<String>,
    /// "builtin" or the file's path.
    pub origin: Option<String>,
    /// Which compiler built the running code (baseline while the optimized
    /// build compiles).
    pub tier: Option<Tier>,
    /// Active, disabled, quarantined or failed.
    pub status: Status,
    /// The last load failure or fault.
    pub last_error: Option<String>,
    /// Set while the plugins dir holds a file (or manifest) for this plugin
    /// that failed to load: why. What runs meanwhile is the previous
    /// version or the built-in (`origin` says which), or nothing.
    pub rejected: Option<String>,
    /// Quarantined by an operator (`POST /plugins/{name}/quarantine`), not
    /// for faults: counted in `/health`, not a problem.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub held_by_operator: bool,
    /// Calls made.
    pub calls: u64,
    /// Calls that faulted.
    pub faults: u64,
    /// Mean call time in microseconds.
    pub mean_call_us: f64,
    /// The linear memory one instance holds (after its last call), MiB.
    pub memory_mib: Option<f64>,
}

impl PluginStatus {
    /// Why this plugin needs an operator's attention, if it does: a file
    /// that failed to load, a quarantine for faults, or nothing running at
    /// all. An operator's own hold is not one: it would turn `/health` 503
    /// (and a load balancer away) for what the operator chose.
    pub fn problem(&self) -> Option<String> {
        if self.held_by_operator {
            return None;
        }
        match (&self.rejected, self.status) {
            (Some(why), _) => Some(format!(
                "its file was rejected ({why}); running: {}",
                self.origin.as_deref().unwrap_or("nothing")
            )),
            (None, Status::Quarantined) => Some(format!(
                "quarantined: {}",
                self.last_error.as_deref().unwrap_or("repeated faults")
            )),
            (None, Status::Failed) => Some("nothing loaded".into()),
            _ => None,
        }
    }
}

impl Slot {
    /// An empty slot; `install` puts a version in it.
    pub fn new(name: &str, events: EventSink) -> Self {
        Slot {
            name: name.to_string(),
            current: ArcSwapOption::empty(),
            health: Mutex::new(Health::default()),
            stats: CallStats::default(),
            filters: FilterParams::default(),
            filter_costs: Mutex::new(BTreeMap::new()),
            next_filter_id: AtomicU32::new(1),
            events,
            fallback: None,
        }
    }

    /// The slot, with the built-in version to fall back on when a file's
    /// version is quarantined.
    pub fn with_fallback(mut self, fallback: Fallback) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The compiled-filter table versions of this slot share.
    pub fn filter_params(&self) -> FilterParams {
        self.filters.clone()
    }

    /// The current version, if one is loaded.
    pub fn current(&self) -> Option<Arc<Version>> {
        self.current.load_full()
    }

    /// Makes `version` current, lifting any quarantine.
    pub fn install(&self, version: Arc<Version>) {
        // Under the health lock, as a fallback's swap is: neither lands
        // half inside the other.
        let mut health = self.health.lock();
        self.current.store(Some(version));
        *health = Health::default();
    }

    /// Replaces the current version with another build of the same file
    /// (its optimized build); health and quarantine carry over.
    pub fn upgrade(&self, version: Arc<Version>) {
        self.current.store(Some(version));
    }

    /// Removes the current version (its file is gone and there is no built-in).
    pub fn clear(&self) {
        self.current.store(None);
    }

    /// Takes the current version out of service at an operator's word: it
    /// is not called until `restore` (or its file changes). No built-in
    /// takes over: the operator asked for this plugin off. `Err` when
    /// nothing is loaded.
    pub fn quarantine(&self, reason: &str) -> Result<(), String> {
        let version = self
            .current()
            .ok_or_else(|| format!("{} has no version loaded to quarantine", self.name))?;
        let held = Fault::HeldByOperator {
            reason: reason.to_string(),
        };
        {
            let mut health = self.health.lock();
            if health.quarantined.is_some() {
                return Ok(());
            }
            health.quarantined = Some(held.clone());
            health.last_error = Some(held.to_string());
        }
        tracing::warn!(plugin = %self.name, "{held}");
        (self.events)(PluginEvent::about(
            PluginAction::Quarantined,
            &version,
            Some(held.to_string()),
        ));
        Ok(())
    }

    /// Lifts a quarantine (an operator's or one for faults) on the current
    /// version: it is called again, its fault count starts over. Whether
    /// there was one to lift.
    pub fn restore(&self) -> bool {
        let version = {
            let mut health = self.health.lock();
            if health.quarantined.take().is_none() {
                return false;
            }
            health.consecutive_faults = 0;
            self.current()
        };
        tracing::info!(plugin = %self.name, "restored by an operator");
        if let Some(version) = version {
            (self.events)(PluginEvent::about(PluginAction::Restored, &version, None));
        }
        true
    }

    /// Whether a file's version gave way to the built-in (quarantined for
    /// faults, or failed to load): a restore reloads the file.
    pub fn is_rejected(&self) -> bool {
        self.health.lock().rejected.is_some()
    }

    /// Records a failed load; the current version, if any, stays live.
    pub fn record_load_failure(&self, message: String) {
        let mut health = self.health.lock();
        health.last_error = Some(message.clone());
        health.rejected = Some(message);
    }

    /// Whether callers should use this plugin now.
    pub fn is_callable(&self) -> bool {
        self.status() == Status::Active
    }

    /// The slot's status.
    pub fn status(&self) -> Status {
        match self.current() {
            None => Status::Failed,
            Some(_) if self.health.lock().quarantined.is_some() => Status::Quarantined,
            Some(v) if !v.manifest.enabled => Status::Disabled,
            Some(_) => Status::Active,
        }
    }

    /// This cycle's detection.
    pub fn detect(&self, ctx: &Context, changes: &Changes) -> Result<Detection, CallError> {
        self.run(Kind::Detector, |store, instance| match instance {
            WorldInstance::Detector(p) => p.call_detect(store, ctx, changes),
            _ => unreachable!("kind checked by run"),
        })
    }

    /// Parses an ingest body; the inner `Err` is the adapter refusing it.
    pub fn parse(
        &self,
        content_type: &str,
        body: &[u8],
    ) -> Result<Result<Parsed, String>, CallError> {
        self.run(Kind::IngestAdapter, |store, instance| match instance {
            WorldInstance::IngestAdapter(p) => p.call_parse(store, content_type, body),
            _ => unreachable!("kind checked by run"),
        })
    }

    /// Compiles a subscriber's params; returns the filter's id. The filter
    /// is first tried alone on a throwaway instance against the trial's
    /// probe (a batch as large as the flights the gateway has): params the
    /// plugin refuses, or that make it fault or run past the budget, are refused
    /// here, before the shared instance (every other subscriber's filter)
    /// ever runs them.
    pub fn compile_filter(&self, params: &str, trial: &FilterTrial) -> Result<u32, FilterError> {
        let version = self.callable(Kind::SubscriptionFilter)?;
        let cost = judge(&version, params, &trial.probe, trial.budget_percent)?;
        self.has_room_for(&version, cost)?;
        let id = self.next_filter_id.fetch_add(1, Ordering::Relaxed);
        let answer = self.run(Kind::SubscriptionFilter, |store, instance| match instance {
            WorldInstance::SubscriptionFilter(p) => p.call_compile(store, id, params),
            _ => unreachable!("kind checked by run"),
        })?;
        answer.map_err(FilterError::Rejected)?;
        self.filters.lock().insert(id, params.to_string());
        self.filter_costs.lock().insert(id, cost);
        Ok(id)
    }

    /// Whether a filter that took `cost` alone fits beside the others in
    /// the shared call: their costs together within [`CAPACITY_PERCENT`]
    /// of the deadline. Many filters each within its budget must not add
    /// up past the deadline either.
    fn has_room_for(&self, version: &Version, cost: Duration) -> Result<(), FilterError> {
        let taken: Duration = self.filter_costs.lock().values().sum();
        let capacity = capacity(version);
        if taken + cost <= capacity {
            return Ok(());
        }
        Err(FilterError::TooCostly(format!(
            "this filter takes {} ms alone, and the plugin's subscribers' filters already take {} ms \
             of the {} ms the plugin may spend on a batch",
            cost.as_millis(),
            taken.as_millis(),
            capacity.as_millis()
        )))
    }

    /// Forgets a compiled filter.
    pub fn release_filter(&self, id: u32) -> Result<(), CallError> {
        self.filter_costs.lock().remove(&id);
        if self.filters.lock().remove(&id).is_none() {
            // Already dropped (judged too costly): the instance that knew
            // it was thrown away.
            return Ok(());
        }
        self.run(Kind::SubscriptionFilter, |store, instance| match instance {
            WorldInstance::SubscriptionFilter(p) => p.call_release(store, id),
            _ => unreachable!("kind checked by run"),
        })
    }

    /// Matches a batch against every compiled filter. When the call
    /// faults, each filter is tried alone on the batch within
    /// `budget_percent` of the plugin's deadline: those that fail on their own are dropped and named in
    /// `too_costly` (their subscribers are the cause, not the plugin), and
    /// the batch is matched again without them. Only a fault no single
    /// filter explains counts against the plugin (and towards quarantine).
    pub fn match_batch(
        &self,
        subjects: &Subjects,
        budget_percent: u64,
    ) -> Result<BatchMatches, CallError> {
        let call = |store: &mut Store<Sandbox>, instance: &WorldInstance| match instance {
            WorldInstance::SubscriptionFilter(p) => p.call_match_batch(store, subjects),
            _ => unreachable!("kind checked by callable"),
        };
        let version = self.callable(Kind::SubscriptionFilter)?;
        let fault = match self.timed(&version, call) {
            Ok(matches) => {
                self.health.lock().consecutive_faults = 0;
                return Ok(BatchMatches {
                    matches,
                    too_costly: Vec::new(),
                });
            }
            Err(fault) => fault,
        };
        let too_costly = self.drop_costly_filters(&version, subjects, budget_percent);
        if too_costly.is_empty() {
            self.record_fault(&version, &fault);
            return Err(self.fault(fault));
        }
        tracing::warn!(
            plugin = %self.name,
            filters = too_costly.len(),
            "filter call failed ({fault}); the subscribers' filters that fail alone were dropped"
        );
        let matches = self.run(Kind::SubscriptionFilter, call)?;
        Ok(BatchMatches {
            matches,
            too_costly,
        })
    }

    /// Tries every compiled filter alone on `subjects`; drops those that
    /// fail alone, then, while the rest together would not fit in the
    /// plugin's capacity, the costliest; says why for each dropped.
    fn drop_costly_filters(
        &self,
        version: &Version,
        subjects: &Subjects,
        budget_percent: u64,
    ) -> Vec<(u32, String)> {
        let filters: Vec<(u32, String)> = self
            .filters
            .lock()
            .iter()
            .map(|(id, params)| (*id, params.clone()))
            .collect();
        let mut dropped = Vec::new();
        let mut kept: Vec<(u32, Duration)> = Vec::new();
        for (id, params) in filters {
            match judge(version, &params, subjects, budget_percent) {
                Ok(cost) => kept.push((id, cost)),
                Err(e) => dropped.push((id, e.to_string())),
            }
        }
        // Cheapest first: the filters that fit are the most subscribers'.
        kept.sort_by_key(|(_, cost)| *cost);
        let capacity = capacity(version);
        let mut total = Duration::ZERO;
        for (id, cost) in kept {
            total += cost;
            if total <= capacity {
                self.filter_costs.lock().insert(id, cost);
                continue;
            }
            dropped.push((
                id,
                format!(
                    "this filter took {} ms alone on {} flights, the costliest of the plugin's \
                     subscribers' filters, which together ran past the {} ms it may spend on a batch",
                    cost.as_millis(),
                    subjects.flight_uid.len(),
                    capacity.as_millis()
                ),
            ));
        }
        for (id, _) in &dropped {
            self.filters.lock().remove(id);
            self.filter_costs.lock().remove(id);
        }
        dropped
    }

    /// Calls into the current version, counting the call and any fault.
    fn run<R>(
        &self,
        wanted: Kind,
        f: impl FnOnce(&mut Store<Sandbox>, &WorldInstance) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let version = self.callable(wanted)?;
        match self.timed(&version, f) {
            Ok(value) => {
                self.health.lock().consecutive_faults = 0;
                Ok(value)
            }
            Err(fault) => {
                self.record_fault(&version, &fault);
                Err(self.fault(fault))
            }
        }
    }

    /// The current version, if it is of the kind wanted and not quarantined.
    fn callable(&self, wanted: Kind) -> Result<Arc<Version>, CallError> {
        let version = self
            .current()
            .ok_or_else(|| CallError::NotLoaded(self.name.clone()))?;
        if version.kind() != wanted {
            return Err(CallError::WrongKind {
                name: self.name.clone(),
                actual: version.kind(),
                wanted,
            });
        }
        if let Some(fault) = self.health.lock().quarantined.clone() {
            return Err(self.fault(fault));
        }
        Ok(version)
    }

    /// Calls `version`, counting the call and its time (not its outcome).
    fn timed<R>(
        &self,
        version: &Version,
        f: impl FnOnce(&mut Store<Sandbox>, &WorldInstance) -> wasmtime::Result<R>,
    ) -> Result<R, Fault> {
        let started = Instant::now();
        let result = version.call(f);
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        self.stats
            .nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        if result.is_err() {
            self.stats.faults.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    fn fault(&self, fault: Fault) -> CallError {
        CallError::Fault {
            name: self.name.clone(),
            fault,
        }
    }

    fn record_fault(&self, version: &Version, fault: &Fault) {
        tracing::warn!(plugin = %self.name, "plugin call failed: {fault}");
        let mut health = self.health.lock();
        health.consecutive_faults += 1;
        health.last_error = Some(fault.to_string());
        let threshold = version.manifest.limits.fault_threshold;
        if health.consecutive_faults < threshold || health.quarantined.is_some() {
            return;
        }
        let quarantine = Fault::Quarantined {
            faults: health.consecutive_faults,
            last: fault.to_string(),
        };
        health.quarantined = Some(quarantine.clone());
        drop(health);
        tracing::error!(plugin = %self.name, "{quarantine}");
        (self.events)(PluginEvent::about(
            PluginAction::Quarantined,
            version,
            Some(quarantine.to_string()),
        ));
        self.fall_back(version, &quarantine);
    }

    /// A quarantined file's version gives way to the built-in of the same
    /// name, if there is one (as a file that fails to load does), so a bad
    /// override never leaves detection off. The file's version comes back
    /// when the file changes; until then `rejected` says why it is not
    /// what runs.
    fn fall_back(&self, quarantined: &Version, why: &Fault) {
        if quarantined.origin == Origin::Builtin {
            return;
        }
        let Some(builtin) = self.fallback.as_ref().and_then(|f| f(self.filters.clone())) else {
            return;
        };
        // Only if the quarantined version is still the current one (a
        // reload may have replaced it meanwhile); the swap and the health
        // that explains it under one lock, as `install` does.
        let mut health = self.health.lock();
        let current = self.current();
        if !current.is_some_and(|c| std::ptr::eq(c.as_ref(), quarantined)) {
            return;
        }
        self.current.store(Some(builtin.clone()));
        *health = Health {
            rejected: Some(format!("{why}; the built-in runs until the file changes")),
            last_error: Some(why.to_string()),
            ..Health::default()
        };
        drop(health);
        tracing::warn!(plugin = %self.name, "the quarantined file's version gave way to the built-in");
        (self.events)(PluginEvent::about(PluginAction::Loaded, &builtin, None));
    }

    /// A snapshot for operators.
    pub fn snapshot(&self) -> PluginStatus {
        let version = self.current();
        let (last_error, rejected, held) = {
            let health = self.health.lock();
            let held = matches!(health.quarantined, Some(Fault::HeldByOperator { .. }));
            (health.last_error.clone(), health.rejected.clone(), held)
        };
        let calls = self.stats.calls.load(Ordering::Relaxed);
        let nanos = self.stats.nanos.load(Ordering::Relaxed);
        PluginStatus {
            name: self.name.clone(),
            kind: version.as_ref().map(|v| v.kind()),
            version: version.as_ref().map(|v| v.description.version.clone()),
            summary: version.as_ref().map(|v| v.description.summary.clone()),
            origin: version.as_ref().map(|v| v.origin.label()),
            tier: version.as_ref().map(|v| v.tier),
            status: self.status(),
            last_error,
            rejected,
            held_by_operator: held,
            calls,
            faults: self.stats.faults.load(Ordering::Relaxed),
            mean_call_us: if calls == 0 {
                0.0
            } else {
                nanos as f64 / calls as f64 / 1000.0
            },
            memory_mib: version
                .as_ref()
                .map(|v| (v.memory_bytes() as f64 / 1_048_576.0 * 10.0).round() / 10.0),
        }
    }
}
