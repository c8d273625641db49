//! Glue the export macros expand to: the single plugin instance, config
//! parsing and the batch matching of compiled filters.

use crate::{Matches, Subjects, SubscriptionFilter};

/// Declares the plugin's one instance (wasm is single-threaded) with
/// `install` and `with` helpers, inside an export macro's `const _` block.
#[macro_export]
#[doc(hidden)]
macro_rules! __guest_instance {
    ($plugin:ty, $kind:path) => {
        thread_local! {
            static INSTANCE: std::cell::RefCell<Option<$plugin>> = const { std::cell::RefCell::new(None) };
        }
        fn install(plugin: $plugin) {
            INSTANCE.with(|slot| *slot.borrow_mut() = Some(plugin));
        }
        /// Runs `f` on the instance, initializing it with an empty config if
        /// the host has not called `init` (it always does; this is a guard).
        fn with<R>(f: impl FnOnce(&$plugin) -> R) -> R {
            INSTANCE.with(|slot| {
                let mut slot = slot.borrow_mut();
                if slot.is_none() {
                    let empty = $crate::__private::serde_json::Value::Object(Default::default());
                    match <$plugin as $kind>::init(empty) {
                        Ok(p) => *slot = Some(p),
                        Err(e) => panic!("plugin used before init, and init with an empty config failed: {e}"),
                    }
                }
                f(slot.as_ref().expect("instance installed above"))
            })
        }
    };
}
pub use crate::__guest_instance as guest_instance;

/// Parses the manifest's config, handed over as a JSON object.
pub fn parse_config(config: &str) -> Result<serde_json::Value, String> {
    if config.trim().is_empty() {
        return Ok(serde_json::Value::Object(Default::default()));
    }
    serde_json::from_str(config).map_err(|e| format!("config is not valid JSON: {e}"))
}

/// Parses a subscriber's filter params.
pub fn parse_params(params: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(params).map_err(|e| format!("filter params are not valid JSON: {e}"))
}

/// The compiled filters of a subscription-filter plugin, by host id.
pub struct CompiledFilters<C> {
    filters: Vec<(u32, C)>,
}

impl<C> Default for CompiledFilters<C> {
    fn default() -> Self {
        CompiledFilters {
            filters: Vec::new(),
        }
    }
}

impl<C> CompiledFilters<C> {
    /// Adds or replaces the filter `id`.
    pub fn insert(&mut self, id: u32, compiled: C) {
        self.remove(id);
        self.filters.push((id, compiled));
    }

    /// Forgets the filter `id`.
    pub fn remove(&mut self, id: u32) {
        self.filters.retain(|(fid, _)| *fid != id);
    }

    /// For every filter, the indexes of the subjects it matches (filters
    /// with no match are left out).
    pub fn match_batch<P>(&self, plugin: &P, subjects: &Subjects) -> Vec<Matches>
    where
        P: SubscriptionFilter<Compiled = C>,
    {
        self.filters
            .iter()
            .filter_map(|(id, filter)| {
                let hits: Vec<u32> = subjects
                    .iter()
                    .filter(|s| plugin.matches(filter, s))
                    .map(|s| s.index)
                    .collect();
                (!hits.is_empty()).then_some(Matches {
                    filter: *id,
                    subjects: hits,
                })
            })
            .collect()
    }
}
