//! Example subscription filter: a fleet of callsigns.
//!
//! Params: `{"callsigns": ["AAL123", "DAL*"]}`; an entry ending in `*`
//! matches every callsign with that prefix. Matching ignores case.

use vatswim_plugin_api::{Description, SubjectView, SubscriptionFilter};

/// The filter plugin; it has no configuration.
pub struct Fleet;

/// One subscriber's compiled callsign list.
pub struct CallsignSet {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

impl CallsignSet {
    /// Case-insensitive membership, without allocating per subject.
    fn contains(&self, callsign: &str) -> bool {
        let callsign = callsign.as_bytes();
        self.exact
            .iter()
            .any(|c| c.as_bytes().eq_ignore_ascii_case(callsign))
            || self.prefixes.iter().any(|p| {
                callsign.len() >= p.len() && callsign[..p.len()].eq_ignore_ascii_case(p.as_bytes())
            })
    }
}

/// Parses `{"callsigns": [...]}` into exact names and prefixes.
pub fn compile_callsigns(params: &serde_json::Value) -> Result<CallsignSet, String> {
    let list = params
        .get("callsigns")
        .and_then(|v| v.as_array())
        .ok_or("params need `callsigns`: a list of callsigns (a trailing * matches a prefix)")?;
    let mut set = CallsignSet {
        exact: Vec::new(),
        prefixes: Vec::new(),
    };
    for (i, entry) in list.iter().enumerate() {
        let name = entry
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| format!("callsigns[{i}] must be a non-empty string"))?
            .trim()
            .to_ascii_uppercase();
        match name.strip_suffix('*') {
            Some(prefix) => set.prefixes.push(prefix.to_string()),
            None => set.exact.push(name),
        }
    }
    Ok(set)
}

impl SubscriptionFilter for Fleet {
    type Compiled = CallsignSet;

    fn describe() -> Description {
        Description::new(
            "fleet",
            env!("CARGO_PKG_VERSION"),
            "flights whose callsign is in a list",
        )
    }

    fn init(_config: serde_json::Value) -> Result<Self, String> {
        Ok(Fleet)
    }

    fn compile(&self, params: serde_json::Value) -> Result<CallsignSet, String> {
        compile_callsigns(&params)
    }

    fn matches(&self, filter: &CallsignSet, subject: &SubjectView<'_>) -> bool {
        filter.contains(subject.callsign)
    }
}

vatswim_plugin_api::export_subscription_filter!(Fleet);
