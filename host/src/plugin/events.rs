//! `system.plugin` events: every load, reload, failure, quarantine and unload.

use std::sync::Arc;

use serde::Serialize;

use super::manifest::Kind;
use super::version::Version;

/// What happened to a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginAction {
    /// First loaded.
    Loaded,
    /// A new version replaced the old one.
    Reloaded,
    /// A file failed validation (the old version, if any, stays live).
    Failed,
    /// Repeated faults, or an operator: no longer called until its file
    /// changes or an operator restores it.
    Quarantined,
    /// An operator lifted a quarantine.
    Restored,
    /// Its file was removed (a built-in falls back to the embedded version).
    Unloaded,
}

impl PluginAction {
    /// The action as it appears in events.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginAction::Loaded => "loaded",
            PluginAction::Reloaded => "reloaded",
            PluginAction::Failed => "failed",
            PluginAction::Quarantined => "quarantined",
            PluginAction::Restored => "restored",
            PluginAction::Unloaded => "unloaded",
        }
    }
}

impl std::fmt::Display for PluginAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The payload of a `system.plugin` event.
#[derive(Debug, Clone, Serialize)]
pub struct PluginEvent {
    /// The plugin's name.
    pub plugin: String,
    /// What happened.
    pub action: PluginAction,
    /// Its kind, when known.
    pub kind: Option<Kind>,
    /// Its version, when loaded.
    pub version: Option<String>,
    /// "builtin" or the file's path.
    pub origin: Option<String>,
    /// The error, for failures and quarantines.
    pub message: Option<String>,
}

impl PluginEvent {
    /// An event about a loaded version.
    pub fn about(action: PluginAction, version: &Version, message: Option<String>) -> Self {
        PluginEvent {
            plugin: version.manifest.name.clone(),
            action,
            kind: Some(version.kind()),
            version: Some(version.description.version.clone()),
            origin: Some(version.origin.label()),
            message,
        }
    }

    /// An event about a plugin with no loaded version.
    pub fn named(plugin: &str, action: PluginAction, message: Option<String>) -> Self {
        PluginEvent {
            plugin: plugin.to_string(),
            action,
            kind: None,
            version: None,
            origin: None,
            message,
        }
    }
}

/// Where plugin events go (the change feed, once the pipeline runs; the log always).
pub type EventSink = Arc<dyn Fn(PluginEvent) + Send + Sync>;

/// A sink that only logs.
pub fn log_only() -> EventSink {
    Arc::new(|_| {})
}
