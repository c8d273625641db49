//! The WebSocket protocol (docs/WEBSOCKET.md, PERTI's, extended with seq):
//! what clients send (`action`s), what the server answers, the error
//! codes and the close codes.

use serde_json::{Value, json};

use super::filter::Filter;
use crate::time::format_iso_millis;

/// Close code: the server is shutting down (RFC 6455 "going away").
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: the client broke the WebSocket protocol (an unmasked
/// frame, a reserved opcode; RFC 6455 "protocol error").
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// Close code: a text message that is not UTF-8 (RFC 6455 "invalid
/// frame payload data").
pub const CLOSE_INVALID_UTF8: u16 = 1007;
/// Close code: the key is missing, unknown, expired or revoked.
pub const CLOSE_AUTH_FAILED: u16 = 4001;
/// Close code: the key already has its tier's connections open.
pub const CLOSE_CONNECTION_LIMIT: u16 = 4002;
/// Close code: the client sent something that is not a text message.
pub const CLOSE_INVALID_PAYLOAD: u16 = 4003;
/// Close code: the client's wasm filter failed or ran past the
/// per-subscriber budget on its own (`FILTER_TOO_COSTLY`).
pub const CLOSE_FILTER_TOO_COSTLY: u16 = 4010;
/// Close code: the client fell behind its queue.
pub const CLOSE_SLOW_CONSUMER: u16 = 4008;
/// Close code: the client answered no ping (and sent nothing) for the
/// ping timeout.
pub const CLOSE_PING_TIMEOUT: u16 = 4009;
/// Close code: a frame or message over the frame limit (RFC 6455 "message
/// too big").
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Close code: the client kept sending far past its message rate
/// (mirrors HTTP 429).
pub const CLOSE_RATE_LIMITED: u16 = 4029;

/// Largest client message, bytes.
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// Client messages per second.
pub const CLIENT_MESSAGES_PER_SECOND: u32 = 10;
/// A client that sends this many times its rate within one second is
/// closed: it is flooding, not bursting.
pub const FLOOD_FACTOR: u32 = 3;

/// Channel namespaces (PERTI's, so its clients' subscriptions are
/// accepted; `flight`, `tmi` and `system` carry events here).
const NAMESPACES: [&str; 7] = ["flight", "tmi", "system", "ctp", "splits", "cdm", "aman"];

/// A protocol error: its code and what to tell the client.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolError {
    /// `INVALID_JSON`, `INVALID_CHANNEL`, ...
    pub code: &'static str,
    /// For the client.
    pub message: String,
}

impl ProtocolError {
    /// An error with a code.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ProtocolError {
            code,
            message: message.into(),
        }
    }
}

/// A client's request.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Add channels (and replace the filters it names), optionally
    /// replaying from after `since`.
    Subscribe {
        /// Channel names or `prefix.*`.
        channels: Vec<String>,
        /// The filters given (raw, validated by the connection, which
        /// also compiles plugin filters); boxed: large beside the other
        /// actions.
        filters: Box<Filter>,
        /// Filter names given that are not filters (ignored, told back).
        ignored_filters: Vec<String>,
        /// Replay events after this position first (boxed: rare, and it
        /// would make every action larger).
        since: Option<Box<Since>>,
    },
    /// Drop channels (all when none are named).
    Unsubscribe {
        /// The channels to drop.
        channels: Vec<String>,
    },
    /// `pong`.
    Ping,
    /// The connection's subscriptions and counters.
    Status,
    /// PERTI's system-tier publish, not offered here.
    Publish,
}

/// A position to resume after: a seq, and the epoch it belongs to when
/// the client names one (PERTI's clients send a bare seq).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Since {
    /// The last seq the client has.
    pub seq: u64,
    /// The feed epoch of that seq.
    pub epoch: Option<String>,
}

/// Parses one client message.
pub fn parse(text: &str) -> Result<Action, ProtocolError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ProtocolError::new("INVALID_JSON", format!("the message is not JSON: {e}")))?;
    let Value::Object(m) = value else {
        return Err(ProtocolError::new(
            "INVALID_JSON",
            "a message must be a JSON object with an `action`",
        ));
    };
    let action = m.get("action").and_then(Value::as_str).ok_or_else(|| {
        ProtocolError::new(
            "UNKNOWN_ACTION",
            "the message has no `action` (subscribe, unsubscribe, ping, status)",
        )
    })?;
    match action {
        "subscribe" => {
            let channels = channels(m.get("channels"))?;
            if channels.is_empty() {
                return Err(ProtocolError::new(
                    "INVALID_CHANNEL",
                    "subscribe needs `channels`: a list of channel names",
                ));
            }
            let filters = Filter::parse_lenient(m.get("filters").unwrap_or(&Value::Null))
                .map_err(|e| ProtocolError::new("INVALID_FILTER", e))?;
            Ok(Action::Subscribe {
                channels,
                filters: Box::new(filters.filter),
                ignored_filters: filters.ignored,
                since: since(m.get("since"), m.get("epoch"))?,
            })
        }
        "unsubscribe" => Ok(Action::Unsubscribe {
            channels: channels(m.get("channels"))?,
        }),
        "ping" => Ok(Action::Ping),
        "status" => Ok(Action::Status),
        "publish" => Ok(Action::Publish),
        other => Err(ProtocolError::new(
            "UNKNOWN_ACTION",
            format!("unknown action {other:?} (subscribe, unsubscribe, ping, status)"),
        )),
    }
}

fn channels(v: Option<&Value>) -> Result<Vec<String>, ProtocolError> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(ProtocolError::new(
                "INVALID_CHANNEL",
                "`channels` must be a list of channel names",
            ));
        }
    };
    list.iter()
        .map(|c| match c.as_str() {
            Some(name) if valid_channel(name) => Ok(name.to_string()),
            Some(name) if name.len() > MAX_CHANNEL_NAME => Err(ProtocolError::new(
                "INVALID_CHANNEL",
                format!(
                    "a channel name of {} bytes; names are at most {MAX_CHANNEL_NAME}",
                    name.len()
                ),
            )),
            Some(name) => Err(ProtocolError::new(
                "INVALID_CHANNEL",
                format!(
                    "unknown channel {name:?} (e.g. flight.departed, flight.positions, tmi.*, system.heartbeat)"
                ),
            )),
            None => Err(ProtocolError::new(
                "INVALID_CHANNEL",
                format!("channel {c} is not a string"),
            )),
        })
        .collect()
}

/// The longest channel name, bytes.
pub const MAX_CHANNEL_NAME: usize = 64;

/// `*`, `namespace.*`, or `namespace.event` (a detector plugin's event
/// kinds are channels too, so any well-formed name in a namespace, up to
/// [`MAX_CHANNEL_NAME`] bytes, is accepted).
pub fn valid_channel(name: &str) -> bool {
    if name.len() > MAX_CHANNEL_NAME {
        return false;
    }
    if name == "*" {
        return true;
    }
    let Some((namespace, rest)) = name.split_once('.') else {
        return false;
    };
    NAMESPACES.contains(&namespace)
        && (rest == "*"
            || (!rest.is_empty()
                && rest.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'
                })))
}

/// `since`: a seq (number or numeric string), or a stream position
/// `{"offset": SEQ, "epoch": "..."}`; a top-level `epoch` may go with a
/// bare seq.
fn since(v: Option<&Value>, epoch: Option<&Value>) -> Result<Option<Box<Since>>, ProtocolError> {
    let invalid = |what: String| ProtocolError::new("INVALID_SINCE", what);
    let seq_of = |v: &Value| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    };
    let epoch_of = |v: Option<&Value>| match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(e)) if !e.is_empty() && e.len() <= 64 => Ok(Some(e.clone())),
        Some(other) => Err(invalid(format!(
            "`epoch` must be the feed's epoch (a string), not {other}"
        ))),
    };
    let (seq, epoch) = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(p)) => {
            let offset = p.get("offset").or_else(|| p.get("seq"));
            let seq = offset.and_then(seq_of).ok_or_else(|| {
                invalid("a stream position needs `offset`: a seq (a whole number)".into())
            })?;
            (seq, epoch_of(p.get("epoch").or(epoch))?)
        }
        Some(v) => {
            let seq = seq_of(v).ok_or_else(|| {
                invalid(format!("`since` must be a seq (a whole number), not {v}"))
            })?;
            (seq, epoch_of(epoch)?)
        }
    };
    Ok(Some(Box::new(Since { seq, epoch })))
}

/// `{"type":"error","code","message"}` plus any extra fields.
pub fn error(code: &str, message: &str, extra: Value) -> String {
    let mut v = json!({"type": "error", "code": code, "message": message});
    if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
        m.extend(x);
    }
    v.to_string()
}

/// The server's reply to a control message, stamped now.
pub fn reply(kind: &str, fields: Value, now_ms: i64) -> String {
    let mut v = json!({"type": kind, "timestamp": format_iso_millis(now_ms)});
    if let (Value::Object(m), Value::Object(x)) = (&mut v, fields) {
        m.extend(x);
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> &'static str {
        parse(text).unwrap_err().code
    }

    #[test]
    fn perti_sdk_messages_parse() {
        let a = parse(r#"{"action":"subscribe","channels":["flight.departed","tmi.*"],"filters":{"airports":["KJFK"]}}"#)
            .unwrap();
        let Action::Subscribe {
            channels, since, ..
        } = a
        else {
            panic!("{a:?}");
        };
        assert_eq!((channels.len(), since), (2, None));
        assert_eq!(parse(r#"{"action":"ping"}"#).unwrap(), Action::Ping);
        assert_eq!(
            parse(r#"{"action":"unsubscribe"}"#).unwrap(),
            Action::Unsubscribe { channels: vec![] }
        );
        let since_of = |text: &str| match parse(text).unwrap() {
            Action::Subscribe { since, .. } => since,
            other => panic!("{other:?}"),
        };
        let at = |seq, epoch: Option<&str>| {
            Some(Box::new(Since {
                seq,
                epoch: epoch.map(String::from),
            }))
        };
        assert_eq!(
            since_of(r#"{"action":"subscribe","channels":["*"],"since":"42"}"#),
            at(42, None)
        );
        // A stream position, Centrifugo style, or a seq with its epoch beside it.
        assert_eq!(
            since_of(
                r#"{"action":"subscribe","channels":["*"],"since":{"offset":7,"epoch":"ab"}}"#
            ),
            at(7, Some("ab"))
        );
        assert_eq!(
            since_of(r#"{"action":"subscribe","channels":["*"],"since":7,"epoch":"ab"}"#),
            at(7, Some("ab"))
        );
        assert_eq!(
            since_of(r#"{"action":"subscribe","channels":["*"],"since":18446744073709551615}"#),
            at(u64::MAX, None)
        );
    }

    #[test]
    fn a_bad_stream_position_is_named() {
        for bad in [
            r#"{"action":"subscribe","channels":["*"],"since":{"epoch":"ab"}}"#,
            r#"{"action":"subscribe","channels":["*"],"since":1,"epoch":5}"#,
            r#"{"action":"subscribe","channels":["*"],"since":1.5}"#,
        ] {
            assert_eq!(code(bad), "INVALID_SINCE", "{bad}");
        }
    }

    #[test]
    fn each_bad_message_gets_its_code() {
        assert_eq!(code("{nope"), "INVALID_JSON");
        assert_eq!(code("[1]"), "INVALID_JSON");
        assert_eq!(code(r#"{"action":"dance"}"#), "UNKNOWN_ACTION");
        assert_eq!(code(r#"{"channels":[]}"#), "UNKNOWN_ACTION");
        assert_eq!(
            code(r#"{"action":"subscribe","channels":["weather.metar"]}"#),
            "INVALID_CHANNEL"
        );
        assert_eq!(
            code(r#"{"action":"subscribe","channels":[]}"#),
            "INVALID_CHANNEL"
        );
        assert_eq!(
            code(r#"{"action":"subscribe","channels":["flight.*"],"filters":{"bbox":1}}"#),
            "INVALID_FILTER"
        );
        assert_eq!(
            code(r#"{"action":"subscribe","channels":["*"],"since":-1}"#),
            "INVALID_SINCE"
        );
        assert!(
            valid_channel("flight.emergency") && !valid_channel("flight.") && !valid_channel("x")
        );
    }
}
