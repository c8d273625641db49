//! The plugin registry: compiles, validates and installs plugins by name,
//! from the built-ins and the plugins directory, and answers who handles what.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use wasmtime::component::Linker;

use super::engine::{PluginEngine, Tier, digest};
use super::events::{EventSink, PluginAction, PluginEvent};
use super::manifest::{Kind, Manifest};
use super::sandbox::{self, Sandbox};
use super::slot::{PluginStatus, Slot};
use super::source::{self, Source};
use super::validate::{self, Invalid};
use super::version::{FilterParams, Version, WorldPre};
use crate::wit;

/// Compiles and validates plugin files: the engines plus a linker for each
/// (every world imports the same things, so one linker per engine serves all).
pub struct Loader {
    engine: PluginEngine,
    optimized: Linker<Sandbox>,
    baseline: Linker<Sandbox>,
    policy: super::Policy,
}

impl Loader {
    /// A loader caching optimized builds in `cache_dir` (if any).
    pub fn new(cache_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let engine = PluginEngine::new(cache_dir)?;
        let optimized = sandbox::linker(engine.engine(Tier::Optimized))?;
        let baseline = sandbox::linker(engine.engine(Tier::Baseline))?;
        Ok(Loader {
            engine,
            optimized,
            baseline,
            policy: super::Policy::default(),
        })
    }

    /// The loader, holding files and manifests to `policy`.
    pub fn with_policy(mut self, policy: super::Policy) -> Self {
        self.policy = policy;
        self
    }

    /// What files and manifests it accepts.
    pub fn policy(&self) -> &super::Policy {
        &self.policy
    }

    /// Whether an optimized build of these bytes is cached (loading it takes
    /// milliseconds, so no baseline build is needed first).
    pub fn is_cached(&self, bytes: &[u8]) -> bool {
        self.engine.is_cached(bytes)
    }

    /// Compiles with `tier`, checks and smoke-tests a plugin; the version is
    /// ready to call.
    pub fn load(
        &self,
        source: &Source,
        filters: FilterParams,
        tier: Tier,
    ) -> Result<Version, Invalid> {
        validate::check_header(&source.bytes)?;
        let component = self
            .engine
            .compile(&source.bytes, tier)
            .map_err(|e| Invalid::Compile(format!("{e:#}")))?;
        let world = validate::world_of(self.engine.engine(tier), &component)?;
        let manifest = match &source.manifest {
            Some(text) => Manifest::parse(text, &source.name)?,
            None => Manifest::implied(&source.name, world),
        };
        manifest.limits.within(&self.policy.ceiling)?;
        if manifest.kind != world {
            return Err(Invalid::WrongWorld {
                found: world,
                expected: manifest.kind,
            });
        }
        let linker = match tier {
            Tier::Optimized => &self.optimized,
            Tier::Baseline => &self.baseline,
        };
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| Invalid::Imports(format!("{e:#}")))?;
        let pre = world_pre(world, pre).map_err(|e| Invalid::Compile(format!("{e:#}")))?;
        let digest = digest(&source.bytes);
        let mut version = Version::new(manifest, source.origin.clone(), digest, tier, pre, filters);
        version.description = validate::smoke_test(&version)?;
        Ok(version)
    }
}

fn world_pre(
    kind: Kind,
    pre: wasmtime::component::InstancePre<Sandbox>,
) -> wasmtime::Result<WorldPre> {
    Ok(match kind {
        Kind::Detector => WorldPre::Detector(wit::detector::DetectorPre::new(pre)?),
        Kind::IngestAdapter => {
            WorldPre::IngestAdapter(wit::ingest_adapter::IngestAdapterPre::new(pre)?)
        }
        Kind::SubscriptionFilter => {
            WorldPre::SubscriptionFilter(wit::subscription_filter::SubscriptionFilterPre::new(pre)?)
        }
    })
}

/// Every plugin by name.
pub struct Registry {
    loader: Loader,
    /// The registry itself, for the background optimizing compiles.
    this: std::sync::Weak<Registry>,
    dir: Option<PathBuf>,
    slots: RwLock<BTreeMap<String, Arc<Slot>>>,
    events: EventSink,
    /// One reload at a time: the watcher and a manual reload never interleave.
    reloading: Mutex<()>,
}

impl Registry {
    /// A registry over `dir` (the plugins directory, if any) that has loaded
    /// every plugin it can; failures are recorded, not fatal.
    pub fn open(
        dir: Option<PathBuf>,
        cache_dir: Option<PathBuf>,
        events: EventSink,
    ) -> anyhow::Result<Arc<Self>> {
        Self::open_with(dir, cache_dir, events, super::Policy::default())
    }

    /// Like `open`, holding the directory's files to `policy`.
    pub fn open_with(
        dir: Option<PathBuf>,
        cache_dir: Option<PathBuf>,
        events: EventSink,
        policy: super::Policy,
    ) -> anyhow::Result<Arc<Self>> {
        let loader = Loader::new(cache_dir)?.with_policy(policy);
        let registry = Arc::new_cyclic(|this| Registry {
            loader,
            this: this.clone(),
            dir,
            slots: RwLock::new(BTreeMap::new()),
            events,
            reloading: Mutex::new(()),
        });
        for name in source::all_names(registry.dir()) {
            registry.load(&name, Tier::Optimized);
        }
        Ok(registry)
    }

    /// The plugins directory.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The loader (for `swim plugins check` and benchmarks).
    pub fn loader(&self) -> &Loader {
        &self.loader
    }

    /// Loads `name` again from the directory or the built-ins, as a file
    /// change does: a baseline build goes live at once and the optimized
    /// build replaces it from a background thread. A version that fails
    /// validation never replaces a working one.
    pub fn reload(&self, name: &str) {
        self.load(name, Tier::Baseline);
    }

    /// Loads `name` with the optimized compiler only (startup, tests that
    /// need to know which code runs).
    pub fn reload_optimized(&self, name: &str) {
        self.load(name, Tier::Optimized);
    }

    fn load(&self, name: &str, tier: Tier) {
        let _one_at_a_time = self.reloading.lock();
        let slot = self.slot_or_new(name);
        match source::resolve(self.dir(), name, self.loader.policy()) {
            Ok(Some(source)) => self.install(&slot, source, tier),
            Ok(None) => self.unload(name, &slot),
            Err(e) => self.fail(name, &slot, e.to_string()),
        }
    }

    fn install(&self, slot: &Arc<Slot>, source: Source, tier: Tier) {
        let tier = if self.loader.is_cached(&source.bytes) {
            Tier::Optimized
        } else {
            tier
        };
        let loaded = match self.loader.load(&source, slot.filter_params(), tier) {
            // Winch supports fewer wasm features than Cranelift: a file it
            // cannot compile gets the optimizing compiler straight away.
            Err(Invalid::Compile(e)) if tier == Tier::Baseline => {
                tracing::debug!(plugin = %source.name, "baseline compile failed ({e}); compiling optimized");
                self.loader
                    .load(&source, slot.filter_params(), Tier::Optimized)
            }
            other => other,
        };
        let version = match loaded {
            Ok(version) => Arc::new(version),
            Err(invalid) => return self.fail(&source.name, slot, invalid.to_string()),
        };
        if let Some(cycle) = self.cycle_through(&version.manifest) {
            let message = format!(
                "detectors would depend on each other in a circle: {cycle} (each reads a column \
                 the next one writes); change `reads` or `owns` in one of their manifests"
            );
            return self.fail(&source.name, slot, message);
        }
        let action = if slot.current().is_some() {
            PluginAction::Reloaded
        } else {
            PluginAction::Loaded
        };
        slot.install(version.clone());
        tracing::info!(plugin = %source.name, version = %version.description.version, tier = ?version.tier, origin = ?source.origin, "plugin {action}");
        (self.events)(PluginEvent::about(action, &version, None));
        if version.tier == Tier::Baseline {
            self.optimize_in_background(slot.clone(), source);
        }
    }

    /// Compiles the optimized build and swaps it in, unless the file changed
    /// meanwhile (then the newer version's own background compile wins).
    fn optimize_in_background(&self, slot: Arc<Slot>, source: Source) {
        let this = self.this.clone();
        let spawned = std::thread::Builder::new().name("plugin-optimize".into()).spawn(move || {
            let Some(registry) = this.upgrade() else { return };
            // A burst of writes starts one of these per write: only the
            // version still current is worth two cores for 100+ ms.
            let still_current = |digest: &str| slot.current().is_some_and(|v| v.digest == digest);
            if !still_current(&digest(&source.bytes)) {
                return;
            }
            let optimized = registry.loader.load(&source, slot.filter_params(), Tier::Optimized);
            let _one_at_a_time = registry.reloading.lock();
            // Only the baseline build of this very file and manifest may be
            // replaced: a newer manifest for the same bytes must not lose.
            let replaces = |new: &Version| {
                slot.current().is_some_and(|v| v.tier == Tier::Baseline && v.digest == new.digest && v.manifest == new.manifest)
            };
            match optimized {
                Ok(version) if replaces(&version) => {
                    slot.upgrade(Arc::new(version));
                    tracing::debug!(plugin = %source.name, "optimized build swapped in");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(plugin = %source.name, "optimized build failed, the baseline build stays: {e}"),
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("could not start the optimizing compile: {e}");
        }
    }

    /// A file (or manifest) that failed: the version running stays; with
    /// none running, the built-in of that name takes over, so a bad
    /// override never leaves core detection off (at start as at runtime).
    fn fail(&self, name: &str, slot: &Slot, message: String) {
        let kept = if slot.current().is_some() {
            "; the previous version stays live"
        } else if self.fall_back_to_builtin(name, slot) {
            "; the built-in version runs instead"
        } else {
            ""
        };
        tracing::error!(plugin = name, "plugin rejected: {message}{kept}");
        slot.record_load_failure(message.clone());
        (self.events)(PluginEvent::named(
            name,
            PluginAction::Failed,
            Some(message),
        ));
    }

    /// Installs the embedded built-in called `name`, if there is one.
    fn fall_back_to_builtin(&self, name: &str, slot: &Slot) -> bool {
        let Some(version) = self.load_builtin(name, slot.filter_params()) else {
            return false;
        };
        slot.install(version.clone());
        (self.events)(PluginEvent::about(PluginAction::Loaded, &version, None));
        true
    }

    /// The embedded built-in called `name`, compiled (none when the binary
    /// has no such plugin, or it does not load).
    fn load_builtin(&self, name: &str, filters: FilterParams) -> Option<Arc<Version>> {
        // Without a directory, resolving finds only the built-in.
        let source = source::resolve(None, name, self.loader.policy()).ok()??;
        match self.loader.load(&source, filters, Tier::Optimized) {
            Ok(version) => Some(Arc::new(version)),
            Err(e) => {
                tracing::error!(plugin = name, "the built-in fallback failed: {e}");
                None
            }
        }
    }

    /// What a slot falls back on when its file's version is quarantined.
    fn builtin_loader(&self, name: &str) -> crate::plugin::slot::Fallback {
        let (this, name) = (self.this.clone(), name.to_string());
        Box::new(move |filters| this.upgrade()?.load_builtin(&name, filters))
    }

    fn unload(&self, name: &str, slot: &Slot) {
        slot.clear();
        self.slots.write().remove(name);
        tracing::info!(plugin = name, "plugin unloaded");
        (self.events)(PluginEvent::named(name, PluginAction::Unloaded, None));
    }

    fn slot_or_new(&self, name: &str) -> Arc<Slot> {
        if let Some(slot) = self.slot(name) {
            return slot;
        }
        let mut slots = self.slots.write();
        slots
            .entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(
                    Slot::new(name, self.events.clone()).with_fallback(self.builtin_loader(name)),
                )
            })
            .clone()
    }

    /// The plugin called `name`.
    pub fn slot(&self, name: &str) -> Option<Arc<Slot>> {
        self.slots.read().get(name).cloned()
    }

    /// The detectors a new `manifest` would close a dependency cycle with,
    /// if it would (`plugin::order`).
    fn cycle_through(&self, manifest: &Manifest) -> Option<String> {
        if manifest.kind != Kind::Detector || !manifest.enabled {
            return None;
        }
        let others: Vec<Arc<Version>> = self
            .slots
            .read()
            .values()
            .filter_map(|s| s.current())
            .filter(|v| v.kind() == Kind::Detector && v.manifest.enabled)
            .collect();
        let others: Vec<&Manifest> = others.iter().map(|v| &v.manifest).collect();
        super::order::cycle_through(manifest, &others)
    }

    /// The active detectors with their current versions, in the order a
    /// cycle runs them: each after the detectors whose writes it reads.
    pub fn detectors_in_order(&self) -> Vec<(Arc<Version>, Arc<Slot>)> {
        let detectors: Vec<_> = self
            .active(Kind::Detector)
            .into_iter()
            .filter_map(|slot| Some((slot.current()?, slot)))
            .collect();
        let manifests: Vec<&Manifest> = detectors.iter().map(|(v, _)| &v.manifest).collect();
        let order = super::order::run_order(&manifests);
        let mut by_index: Vec<Option<_>> = detectors.into_iter().map(Some).collect();
        order
            .into_iter()
            .filter_map(|i| by_index[i].take())
            .collect()
    }

    /// Active plugins of a kind, by name.
    pub fn active(&self, kind: Kind) -> Vec<Arc<Slot>> {
        self.slots
            .read()
            .values()
            .filter(|s| s.current().is_some_and(|v| v.kind() == kind) && s.is_callable())
            .cloned()
            .collect()
    }

    /// The active ingest adapter serving `route`.
    pub fn adapter_for_route(&self, route: &str) -> Option<Arc<Slot>> {
        self.active(Kind::IngestAdapter)
            .into_iter()
            .find(|s| s.current().is_some_and(|v| v.manifest.route() == route))
    }

    /// Takes `name` out of service at an operator's word (`Slot::quarantine`);
    /// its status after, or why not.
    pub fn quarantine(&self, name: &str, reason: &str) -> Result<PluginStatus, OperatorError> {
        let slot = self
            .slot(name)
            .ok_or_else(|| OperatorError::Unknown(name.into()))?;
        slot.quarantine(reason).map_err(OperatorError::Refused)?;
        Ok(slot.snapshot())
    }

    /// Puts `name` back in service: lifts its quarantine, or, when its
    /// file's version gave way to the built-in, loads the file again (as
    /// changing it would; a file that still fails leaves the built-in).
    pub fn restore(&self, name: &str) -> Result<PluginStatus, OperatorError> {
        let slot = self
            .slot(name)
            .ok_or_else(|| OperatorError::Unknown(name.into()))?;
        if !slot.restore() && slot.is_rejected() {
            self.reload(name);
        }
        Ok(slot.snapshot())
    }

    /// Every plugin's status.
    pub fn statuses(&self) -> Vec<PluginStatus> {
        self.slots.read().values().map(|s| s.snapshot()).collect()
    }
}

/// Why an operator's action on a plugin was not done.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// No plugin has that name.
    #[error("no plugin is called {0:?} (GET /plugins lists them)")]
    Unknown(String),
    /// The plugin cannot take the action now.
    #[error("{0}")]
    Refused(String),
}
