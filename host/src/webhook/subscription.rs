//! A webhook subscription: what a partner registers (PERTI's
//! `webhooks/register` body, validated) and what the gateway keeps of it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fanout::client::Subscription;
use crate::fanout::filter::Filter;
use crate::fanout::protocol::valid_channel;
use crate::time::{iso_millis, iso_millis_opt};

/// The channel a webhook gets only when it names it: each batch is up to
/// megabytes, every cycle.
pub const POSITIONS: &str = "flight.positions";

/// The shortest shared secret (a guessable one lets anyone sign).
pub const MIN_SECRET: usize = 16;
/// The longest shared secret (PERTI's column is `VARCHAR(128)`).
pub const MAX_SECRET: usize = 128;
/// The longest `source_id` (PERTI's column is `VARCHAR(32)`).
pub const MAX_SOURCE_ID: usize = 32;
/// Channels one webhook may name.
pub const MAX_CHANNELS: usize = 32;

/// How deliveries are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// PERTI's batch: `{batch_id, events: [...], count}`, signed.
    #[default]
    Json,
    /// Discord webhook messages: an embed per event (`webhook::discord`).
    Discord,
}

impl Format {
    /// Its name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Discord => "discord",
        }
    }

    /// From its stored name.
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "json" => Some(Format::Json),
            "discord" => Some(Format::Discord),
            _ => None,
        }
    }
}

/// Where a webhook's delivery stands in the change feed: every event up to
/// `seq` of `epoch` has been delivered, dead-lettered or filtered out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cursor {
    /// The last seq dealt with.
    pub seq: u64,
    /// The feed's epoch the seq belongs to.
    pub epoch: String,
}

/// A registration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    /// Who it is for (PERTI's `source_id`).
    pub source_id: String,
    /// Where batches are POSTed.
    pub callback_url: String,
    /// The HMAC key.
    pub shared_secret: String,
    /// Channels, as the WebSocket names them.
    pub channels: Vec<String>,
    /// The WebSocket's filters (validated; no wasm filter).
    pub filters: Value,
    /// How deliveries are written.
    pub format: Format,
}

/// The body PERTI's `POST webhooks/register` takes, plus the gateway's
/// `channels`, `filters` and `format`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    source_id: Option<String>,
    direction: Option<String>,
    callback_url: Option<String>,
    shared_secret: Option<String>,
    /// PERTI's: `"*"`, a comma-separated list, or a list.
    event_types: Option<Value>,
    channels: Option<Vec<String>>,
    filters: Option<Value>,
    format: Option<String>,
}

impl NewWebhook {
    /// Validates a registration body; the error names the field at fault.
    /// The callback URL's target is checked separately (it resolves names).
    pub fn parse(body: &[u8]) -> Result<NewWebhook, String> {
        let body: Body = serde_json::from_slice(body).map_err(|e| format!("the body: {e}"))?;
        match body.direction.as_deref() {
            None | Some("outbound") => {}
            Some("inbound") => {
                return Err(
                    "direction: inbound webhooks (a partner posting to the gateway) \
                            are not registered here yet; outbound only"
                        .into(),
                );
            }
            Some(other) => {
                return Err(format!(
                    "direction: {other:?}; \"outbound\" (the default) only"
                ));
            }
        }
        let source_id = required(body.source_id, "source_id")?;
        if source_id.len() > MAX_SOURCE_ID
            || !source_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(format!(
                "source_id: up to {MAX_SOURCE_ID} letters, digits, `_`, `-` or `.`"
            ));
        }
        let shared_secret = required(body.shared_secret, "shared_secret")?;
        if !(MIN_SECRET..=MAX_SECRET).contains(&shared_secret.len()) {
            return Err(format!(
                "shared_secret: {MIN_SECRET} to {MAX_SECRET} characters (it signs every delivery)"
            ));
        }
        let format = match body.format.as_deref() {
            None => Format::Json,
            Some(name) => Format::parse(name)
                .ok_or_else(|| format!("format: {name:?}; \"json\" or \"discord\""))?,
        };
        let channels = channels(body.event_types, body.channels)?;
        if format == Format::Discord && channels.iter().any(|c| c == POSITIONS) {
            return Err(format!(
                "channels: {POSITIONS} is not sent to Discord (a message holds ten embeds)"
            ));
        }
        Ok(NewWebhook {
            source_id,
            callback_url: required(body.callback_url, "callback_url")?,
            shared_secret,
            channels,
            filters: filters(body.filters)?,
            format,
        })
    }
}

fn required(value: Option<String>, field: &str) -> Result<String, String> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("Missing required field: {field}"))
}

/// The channels from PERTI's `event_types` or the gateway's `channels`
/// (not both); every channel when neither is given.
fn channels(
    event_types: Option<Value>,
    channels: Option<Vec<String>>,
) -> Result<Vec<String>, String> {
    let list = match (event_types, channels) {
        (Some(_), Some(_)) => return Err("event_types and channels: give one".into()),
        (None, None) => vec!["*".to_string()],
        (None, Some(list)) => list,
        (Some(Value::String(s)), None) => s.split(',').map(|c| c.trim().to_string()).collect(),
        (Some(Value::Array(items)), None) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(format!("event_types: {other} is not a channel name")),
            })
            .collect::<Result<_, _>>()?,
        (Some(other), None) => {
            return Err(format!(
                "event_types: {other}; \"*\", a comma-separated list or a list of channels"
            ));
        }
    };
    if list.is_empty() || list.len() > MAX_CHANNELS {
        return Err(format!("channels: 1 to {MAX_CHANNELS}"));
    }
    if let Some(bad) = list.iter().find(|c| !valid_channel(c)) {
        return Err(format!(
            "channels: {:?} is not a channel (`flight.departed`, `flight.*`, `*`)",
            crate::text::cut(bad.clone(), 64)
        ));
    }
    Ok(list)
}

/// The WebSocket's filters, validated; a wasm filter is refused (it runs
/// per subscriber on the fan-out's budget).
fn filters(filters: Option<Value>) -> Result<Value, String> {
    let Some(value) = filters.filter(|v| !v.is_null()) else {
        return Ok(Value::Object(Default::default()));
    };
    let filter = Filter::parse(&value).map_err(|e| format!("filters: {e}"))?;
    if filter.plugin.is_some() {
        return Err("filters: `plugin` filters are for WebSocket subscribers only".into());
    }
    Ok(filter.to_json())
}

/// A stored webhook (never its secret, when shown).
#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    /// Row id.
    pub id: i64,
    /// Who it is for.
    pub source_id: String,
    /// Always `outbound`.
    pub direction: &'static str,
    /// Where batches are POSTed.
    pub callback_url: String,
    /// The HMAC key.
    #[serde(skip)]
    pub shared_secret: String,
    /// PERTI's `event_types`: the channels, comma-separated.
    pub event_types: String,
    /// The channels.
    pub channels: Vec<String>,
    /// The filters.
    pub filters: Value,
    /// How deliveries are written.
    pub format: Format,
    /// False once deleted.
    pub is_active: bool,
    /// When it was registered.
    #[serde(serialize_with = "iso_millis")]
    pub created_utc: i64,
    /// When it last changed.
    #[serde(serialize_with = "iso_millis")]
    pub updated_utc: i64,
    /// The last delivery the endpoint took.
    #[serde(serialize_with = "iso_millis_opt")]
    pub last_success_utc: Option<i64>,
    /// The last attempt that failed.
    #[serde(serialize_with = "iso_millis_opt")]
    pub last_failure_utc: Option<i64>,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    /// What the last failed attempt said.
    pub last_error: Option<String>,
    /// Where delivery stands.
    pub cursor: Cursor,
    /// Events the endpoint has taken.
    pub delivered_events: u64,
    /// Batches the endpoint has taken.
    pub delivered_batches: u64,
}

impl Webhook {
    /// Its channels and filters as the fan-out matches them.
    pub fn subscription(&self) -> Subscription {
        let filter = Filter::parse(&self.filters).unwrap_or_default();
        let mut subscription = Subscription::default();
        subscription.add(self.channels.iter().cloned(), filter);
        subscription
    }

    /// Whether it gets `flight.positions` (only when named).
    pub fn wants_positions(&self) -> bool {
        self.channels.iter().any(|c| c == POSITIONS)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(v: Value) -> Result<NewWebhook, String> {
        NewWebhook::parse(v.to_string().as_bytes())
    }

    fn pertis() -> Value {
        json!({"source_id": "simtraffic", "direction": "outbound",
               "callback_url": "https://hooks.example.net/vatswim",
               "shared_secret": "0123456789abcdef", "event_types": "*"})
    }

    #[test]
    fn pertis_registration_is_taken_as_it_is() {
        let new = parse(pertis()).unwrap();
        assert_eq!(new.source_id, "simtraffic");
        assert_eq!(new.channels, ["*"]);
        assert_eq!(new.format, Format::Json);
        let mut listed = pertis();
        listed["event_types"] = json!("flight.departed, tmi.*");
        assert_eq!(
            parse(listed).unwrap().channels,
            ["flight.departed", "tmi.*"]
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        let with = |field: &str, value: Value| {
            let mut body = pertis();
            body[field] = value;
            parse(body).unwrap_err()
        };
        let without = |field: &str| {
            let mut body = pertis();
            body.as_object_mut().unwrap().remove(field);
            parse(body).unwrap_err()
        };
        assert_eq!(without("source_id"), "Missing required field: source_id");
        assert_eq!(
            without("callback_url"),
            "Missing required field: callback_url"
        );
        assert!(with("shared_secret", json!("short")).starts_with("shared_secret:"));
        assert!(with("direction", json!("sideways")).starts_with("direction:"));
        assert!(with("direction", json!("inbound")).contains("outbound only"));
        assert!(with("event_types", json!("nope")).starts_with("channels:"));
        assert!(with("event_types", json!(7)).starts_with("event_types:"));
        assert!(with("source_id", json!("a b")).starts_with("source_id:"));
        assert!(with("format", json!("xml")).starts_with("format:"));
        let mut discord = pertis();
        discord["format"] = json!("discord");
        assert_eq!(parse(discord.clone()).unwrap().format, Format::Discord);
        discord["event_types"] = json!("flight.positions");
        assert!(parse(discord).unwrap_err().contains("not sent to Discord"));
        assert!(with("filters", json!({"colour": "red"})).starts_with("filters:"));
        assert!(with("filters", json!({"plugin": {"name": "x"}})).contains("WebSocket"));
        assert!(with("callback", json!("x")).contains("unknown field"));
        assert!(
            NewWebhook::parse(b"[]")
                .unwrap_err()
                .starts_with("the body:")
        );
    }

    #[test]
    fn filters_are_kept_as_the_websocket_reads_them() {
        let mut body = pertis();
        body["filters"] = json!({"airports": ["KJFK"]});
        let new = parse(body).unwrap();
        assert_eq!(Filter::parse(&new.filters).unwrap().to_json(), new.filters);
    }
}
