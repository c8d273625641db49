//! One loaded version of a plugin: its validated component, ready to
//! instantiate, and the live instance calls run on.
//!
//! The instance is kept between calls (instantiating costs ~10 us, a call
//! far less) and thrown away after any fault: a trapped instance cannot be
//! entered again, and a fresh one starts from `init` with nothing left over.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use wasmtime::Store;

use super::engine::Tier;
use super::fault::Fault;
use super::manifest::{Kind, Manifest};
use super::sandbox::{GuestLog, Sandbox};
use crate::wit::{self, Description};

/// Where a plugin's bytes came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Embedded in the binary.
    Builtin,
    /// A file in the plugins directory.
    File(std::path::PathBuf),
}

impl Origin {
    /// "builtin" or the file's path.
    pub fn label(&self) -> String {
        match self {
            Origin::Builtin => "builtin".into(),
            Origin::File(path) => path.display().to_string(),
        }
    }
}

/// A ready-to-instantiate component of one of the three worlds.
pub enum WorldPre {
    /// The detector world.
    Detector(wit::detector::DetectorPre<Sandbox>),
    /// The ingest-adapter world.
    IngestAdapter(wit::ingest_adapter::IngestAdapterPre<Sandbox>),
    /// The subscription-filter world.
    SubscriptionFilter(wit::subscription_filter::SubscriptionFilterPre<Sandbox>),
}

/// An instance of one of the three worlds.
pub enum WorldInstance {
    /// The detector world.
    Detector(wit::detector::Detector),
    /// The ingest-adapter world.
    IngestAdapter(wit::ingest_adapter::IngestAdapter),
    /// The subscription-filter world.
    SubscriptionFilter(wit::subscription_filter::SubscriptionFilter),
}

/// Compiled subscription filters by host id: their params, kept by the host
/// so a fresh instance can compile them again.
pub type FilterParams = Arc<Mutex<BTreeMap<u32, String>>>;

struct Live {
    store: Store<Sandbox>,
    instance: WorldInstance,
}

/// One version of a plugin.
pub struct Version {
    /// Its manifest.
    pub manifest: Manifest,
    /// What it says about itself (filled in by validation).
    pub description: Description,
    /// Where it came from.
    pub origin: Origin,
    /// SHA-256 of its bytes.
    pub digest: String,
    /// Which compiler built it.
    pub tier: Tier,
    pre: WorldPre,
    live: Mutex<Option<Live>>,
    /// The live instance's linear memory after its last call, in bytes.
    memory_bytes: AtomicUsize,
    log: Arc<GuestLog>,
    filters: FilterParams,
}

impl Version {
    /// A version that has not been called yet; `validate` makes it usable.
    pub fn new(
        manifest: Manifest,
        origin: Origin,
        digest: String,
        tier: Tier,
        pre: WorldPre,
        filters: FilterParams,
    ) -> Self {
        let log = Arc::new(GuestLog::new(&manifest.name));
        Version {
            description: Description {
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                summary: String::new(),
            },
            manifest,
            origin,
            digest,
            tier,
            pre,
            live: Mutex::new(None),
            memory_bytes: AtomicUsize::new(0),
            log,
            filters,
        }
    }

    /// The linear memory its instance held after the last call, in bytes:
    /// what one instance of this plugin costs.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes.load(Ordering::Relaxed)
    }

    /// The sections and columns of each flight a detector reads.
    pub fn read_set(&self) -> super::columns::ReadSet {
        super::columns::ReadSet::of(self.manifest.reads.as_ref())
    }

    /// The kind of plugin.
    pub fn kind(&self) -> Kind {
        self.manifest.kind
    }

    /// An ingest adapter's empty batch: its name, what it may write and
    /// whether its items create flights, ready for its parsed items.
    pub fn ingest_batch(&self) -> crate::ingest::IngestBatch {
        crate::ingest::IngestBatch {
            adapter: self.manifest.name.clone(),
            owns: self.manifest.owns.clone(),
            creates_flights: self.manifest.creates_flights,
            items: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// The most items one body to this ingest adapter may carry (its
    /// manifest's `max_items`, else the adapters' default of 500).
    pub fn max_items(&self) -> usize {
        self.manifest.max_items.map_or(500, |n| n as usize).max(1)
    }

    /// Runs `f` on the live instance (made fresh if there is none), under
    /// the plugin's deadline and memory limit. Any fault discards the
    /// instance so the next call starts clean.
    pub fn call<R>(
        &self,
        f: impl FnOnce(&mut Store<Sandbox>, &WorldInstance) -> wasmtime::Result<R>,
    ) -> Result<R, Fault> {
        let mut live = self.live.lock();
        if live.is_none() {
            *live = Some(self.instantiate(true)?);
        }
        let Live { store, instance } = live.as_mut().expect("instantiated above");
        store.set_epoch_deadline(deadline_ticks(self.manifest.limits.call_timeout_ms));
        let result = f(store, instance);
        self.memory_bytes
            .store(store.data().memory_bytes(), Ordering::Relaxed);
        match result {
            Ok(value) => {
                store.data_mut().flush_stderr();
                if store.data().stderr_nearly_full() {
                    *live = None;
                }
                Ok(value)
            }
            Err(err) => {
                let fault = self.classify(&err, store.data_mut());
                *live = None;
                Err(fault)
            }
        }
    }

    /// Runs `f` on a throwaway instance that knows none of the compiled
    /// filters, with `deadline` instead of the manifest's (its memory limit
    /// stays). Used to judge one subscriber's filter on its own: what
    /// happens here touches neither the live instance nor the plugin's
    /// health.
    pub fn trial<R>(
        &self,
        deadline_ms: u64,
        f: impl FnOnce(&mut Store<Sandbox>, &WorldInstance) -> wasmtime::Result<R>,
    ) -> Result<R, Fault> {
        let Live {
            mut store,
            instance,
        } = self.instantiate(false)?;
        store.set_epoch_deadline(deadline_ticks(deadline_ms));
        let result = f(&mut store, &instance);
        let limits = &self.manifest.limits;
        result.map_err(|e| Fault::classify(&e, store.data_mut(), deadline_ms, limits.memory_mb))
    }

    /// Calls `describe`.
    pub fn describe(&self) -> Result<Description, Fault> {
        self.call(|store, instance| match instance {
            WorldInstance::Detector(p) => p.call_describe(store),
            WorldInstance::IngestAdapter(p) => p.call_describe(store),
            WorldInstance::SubscriptionFilter(p) => p.call_describe(store),
        })
    }

    /// A fresh store and instance, initialized with the manifest's config
    /// (and, for a filter with `with_filters`, every filter compiled so far).
    fn instantiate(&self, with_filters: bool) -> Result<Live, Fault> {
        let engine = self.pre_engine();
        let mut store = Store::new(
            engine,
            Sandbox::new(self.log.clone(), self.manifest.limits.memory_mb),
        );
        store.limiter(|s| s.limiter());
        store.set_epoch_deadline(deadline_ticks(self.manifest.limits.call_timeout_ms));
        let instance = self
            .instantiate_in(&mut store)
            .map_err(|e| self.classify(&e, store.data_mut()))?;
        self.init(&mut store, &instance)?;
        if with_filters {
            self.recompile_filters(&mut store, &instance)?;
        }
        Ok(Live { store, instance })
    }

    fn instantiate_in(&self, store: &mut Store<Sandbox>) -> wasmtime::Result<WorldInstance> {
        Ok(match &self.pre {
            WorldPre::Detector(pre) => WorldInstance::Detector(pre.instantiate(store)?),
            WorldPre::IngestAdapter(pre) => WorldInstance::IngestAdapter(pre.instantiate(store)?),
            WorldPre::SubscriptionFilter(pre) => {
                WorldInstance::SubscriptionFilter(pre.instantiate(store)?)
            }
        })
    }

    fn init(&self, store: &mut Store<Sandbox>, instance: &WorldInstance) -> Result<(), Fault> {
        let config = self.manifest.config_json();
        let answer = match instance {
            WorldInstance::Detector(p) => p.call_init(&mut *store, &config),
            WorldInstance::IngestAdapter(p) => p.call_init(&mut *store, &config),
            WorldInstance::SubscriptionFilter(p) => p.call_init(&mut *store, &config),
        };
        match answer {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(Fault::Init(message)),
            Err(err) => Err(self.classify(&err, store.data_mut())),
        }
    }

    /// A fresh filter instance knows no compiled filters: compile them again.
    fn recompile_filters(
        &self,
        store: &mut Store<Sandbox>,
        instance: &WorldInstance,
    ) -> Result<(), Fault> {
        let WorldInstance::SubscriptionFilter(p) = instance else {
            return Ok(());
        };
        for (id, params) in self.filters.lock().iter() {
            if let Err(err) = p.call_compile(&mut *store, *id, params) {
                return Err(self.classify(&err, store.data_mut()));
            }
        }
        Ok(())
    }

    fn classify(&self, err: &wasmtime::Error, sandbox: &mut Sandbox) -> Fault {
        let limits = &self.manifest.limits;
        Fault::classify(err, sandbox, limits.call_timeout_ms, limits.memory_mb)
    }

    fn pre_engine(&self) -> &wasmtime::Engine {
        match &self.pre {
            WorldPre::Detector(pre) => pre.engine(),
            WorldPre::IngestAdapter(pre) => pre.engine(),
            WorldPre::SubscriptionFilter(pre) => pre.engine(),
        }
    }
}

/// Epoch ticks for a deadline of `ms` (one more, so a deadline is never
/// cut short by a tick that was about to fire).
pub fn deadline_ticks(ms: u64) -> u64 {
    let tick_ms = super::engine::EPOCH_TICK.as_millis().max(1) as u64;
    ms.div_ceil(tick_ms) + 1
}
