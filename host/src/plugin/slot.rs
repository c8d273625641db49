//! A plugin slot: the name callers hold, pointing at the current version.
//!
//! A reload swaps the version atomically (arc-swap); a call in flight keeps
//! the `Arc` of the version it started on and finishes there. The slot also
//! counts calls and faults and quarantines a plugin after `fault_threshold`
//! consecutive faults, until its file changes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

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
    /// The call itself failed.
    #[error(transparent)]
    Call(#[from] CallError),
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

/// A plugin by name.
pub struct Slot {
    name: String,
    current: ArcSwapOption<Version>,
    health: Mutex<Health>,
    stats: CallStats,
    filters: FilterParams,
    next_filter_id: AtomicU32,
    events: EventSink,
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
    /// that failed to load, a quarantine, or nothing running at all.
    pub fn problem(&self) -> Option<String> {
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
            next_filter_id: AtomicU32::new(1),
            events,
        }
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
        self.current.store(Some(version));
        *self.health.lock() = Health::default();
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

    /// Compiles a subscriber's params; returns the filter's id.
    pub fn compile_filter(&self, params: &str) -> Result<u32, FilterError> {
        let id = self.next_filter_id.fetch_add(1, Ordering::Relaxed);
        let answer = self.run(Kind::SubscriptionFilter, |store, instance| match instance {
            WorldInstance::SubscriptionFilter(p) => p.call_compile(store, id, params),
            _ => unreachable!("kind checked by run"),
        })?;
        answer.map_err(FilterError::Rejected)?;
        self.filters.lock().insert(id, params.to_string());
        Ok(id)
    }

    /// Forgets a compiled filter.
    pub fn release_filter(&self, id: u32) -> Result<(), CallError> {
        self.filters.lock().remove(&id);
        self.run(Kind::SubscriptionFilter, |store, instance| match instance {
            WorldInstance::SubscriptionFilter(p) => p.call_release(store, id),
            _ => unreachable!("kind checked by run"),
        })
    }

    /// Matches a batch against every compiled filter.
    pub fn match_batch(&self, subjects: &Subjects) -> Result<Vec<Matches>, CallError> {
        self.run(Kind::SubscriptionFilter, |store, instance| match instance {
            WorldInstance::SubscriptionFilter(p) => p.call_match_batch(store, subjects),
            _ => unreachable!("kind checked by run"),
        })
    }

    /// Calls into the current version, counting the call and any fault.
    fn run<R>(
        &self,
        wanted: Kind,
        f: impl FnOnce(&mut Store<Sandbox>, &WorldInstance) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
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
        let started = Instant::now();
        let result = version.call(f);
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        self.stats
            .nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        match result {
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

    fn fault(&self, fault: Fault) -> CallError {
        CallError::Fault {
            name: self.name.clone(),
            fault,
        }
    }

    fn record_fault(&self, version: &Version, fault: &Fault) {
        self.stats.faults.fetch_add(1, Ordering::Relaxed);
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
    }

    /// A snapshot for operators.
    pub fn snapshot(&self) -> PluginStatus {
        let version = self.current();
        let (last_error, rejected) = {
            let health = self.health.lock();
            (health.last_error.clone(), health.rejected.clone())
        };
        let calls = self.stats.calls.load(Ordering::Relaxed);
        let nanos = self.stats.nanos.load(Ordering::Relaxed);
        PluginStatus {
            name: self.name.clone(),
            kind: version.as_ref().map(|v| v.kind()),
            version: version.as_ref().map(|v| v.description.version.clone()),
            summary: version.as_ref().map(|v| v.description.summary.clone()),
            origin: version.as_ref().map(|v| origin_label(&v.origin)),
            tier: version.as_ref().map(|v| v.tier),
            status: self.status(),
            last_error,
            rejected,
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

/// "builtin" or the file's path.
pub fn origin_label(origin: &Origin) -> String {
    match origin {
        Origin::Builtin => "builtin".into(),
        Origin::File(path) => path.display().to_string(),
    }
}
