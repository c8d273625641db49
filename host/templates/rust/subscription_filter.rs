//! {{NAME}}: a subscription filter. WebSocket clients name it in their
//! subscription (`"filters": {"plugin": {"name": "{{NAME}}", "params": {...}}}`); it
//! compiles the params once per subscription and says, for each event's
//! flight, whether it matches.
//!
//! This one keeps flights at or above an altitude: params `{"min_ft": 18000}`.

use vatswim_plugin_api::{Description, SubjectView, SubscriptionFilter};

struct Plugin;

impl SubscriptionFilter for Plugin {
    type Compiled = i32;

    fn describe() -> Description {
        Description::new("{{NAME}}", "0.1.0", "flights at or above an altitude")
    }

    fn init(_config: serde_json::Value) -> Result<Self, String> {
        Ok(Plugin)
    }

    fn compile(&self, params: serde_json::Value) -> Result<i32, String> {
        params
            .get("min_ft")
            .and_then(|v| v.as_i64())
            .filter(|ft| (-2_000..=100_000).contains(ft))
            .map(|ft| ft as i32)
            .ok_or_else(|| "params need `min_ft`, feet from -2000 to 100000".to_string())
    }

    fn matches(&self, min_ft: &i32, subject: &SubjectView<'_>) -> bool {
        subject.altitude_ft >= *min_ft
    }
}

vatswim_plugin_api::export_subscription_filter!(Plugin);
