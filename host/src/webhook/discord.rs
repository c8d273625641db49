//! Events as Discord webhook messages (`"format": "discord"`): one embed
//! per event, at most ten embeds and 6,000 characters a message, as
//! Discord's webhook API takes them (`POST https://discord.com/api/
//! webhooks/{id}/{token}`, answered 204).
//!
//! Each embed has a title saying what happened (`DAL405 departed KJFK for
//! KBOS`), the event's scalar fields, its time, and a footer with its seq
//! and event id, so a channel's readers can tell repeats apart.

use serde_json::{Map, Value, json};

use crate::feed::Event;
use crate::time::format_iso_millis;

/// Embeds in one message, at most (Discord's limit).
pub const MAX_EMBEDS: usize = 10;
/// Characters of embeds in one message, at most (Discord's limit is 6,000
/// counted over titles, fields and footers; an embed's JSON is longer than
/// what Discord counts, so bounding the JSON bounds the count).
pub const MAX_CHARS: usize = 5_500;
/// Fields shown per embed.
const MAX_FIELDS: usize = 8;
/// Characters of a field's value shown.
const MAX_VALUE: usize = 200;

/// One event as an embed (JSON).
pub fn embed(event: &Event, data: &str, event_id: &str) -> String {
    let data: Value = serde_json::from_str(data).unwrap_or(Value::Null);
    let empty = Map::new();
    let fields = data.as_object().unwrap_or(&empty);
    let shown: Vec<Value> = fields
        .iter()
        .filter(|(name, value)| {
            !value.is_object() && !value.is_array() && name.as_str() != "flight_uid"
        })
        .filter(|(_, value)| !value.is_null())
        .take(MAX_FIELDS)
        .map(|(name, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            json!({"name": name, "value": cut(&text, MAX_VALUE), "inline": true})
        })
        .collect();
    json!({
        "title": cut(&title(&event.kind, fields), 256),
        "color": colour(&event.kind),
        "fields": shown,
        "timestamp": format_iso_millis(event.timestamp),
        "footer": {"text": format!("seq {} · {event_id}", event.seq)},
    })
    .to_string()
}

/// A message of embeds.
pub fn message(embeds: &[String]) -> String {
    format!(
        r#"{{"username":"VATSWIM","embeds":[{}]}}"#,
        embeds.join(",")
    )
}

/// What happened, in words.
fn title(kind: &str, data: &Map<String, Value>) -> String {
    let text = |name: &str| data.get(name).and_then(Value::as_str).unwrap_or("?");
    let callsign = text("callsign");
    match kind {
        "flight.departed" => format!("{callsign} departed {} for {}", text("dep"), text("arr")),
        "flight.arrived" => format!("{callsign} arrived at {} from {}", text("arr"), text("dep")),
        "flight.created" => format!("{callsign} connected ({} to {})", text("dep"), text("arr")),
        "flight.deleted" => format!("{callsign} disconnected"),
        _ => {
            let about = ["callsign", "airport", "program_id", "plugin"]
                .iter()
                .find_map(|name| data.get(*name).and_then(Value::as_str));
            match about {
                Some(about) => format!("{kind}: {about}"),
                None => kind.to_string(),
            }
        }
    }
}

/// Green for departures, blue for arrivals, orange for TMI, grey for the
/// system, purple otherwise.
fn colour(kind: &str) -> u32 {
    match kind.split('.').next() {
        _ if kind == "flight.departed" => 0x2e_cc71,
        _ if kind == "flight.arrived" => 0x34_98db,
        Some("tmi") => 0xe6_7e22,
        Some("system") => 0x95_a5a6,
        _ => 0x9b_59b6,
    }
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::event::payload;

    #[test]
    fn a_departure_reads_as_words_with_its_fields_and_seq() {
        let event = Event {
            seq: 515,
            kind: "flight.departed".into(),
            timestamp: 0,
            flight_uid: Some(70),
            data: payload(&json!({"callsign": "IBE102", "dep": "EGPD", "arr": "LYBE",
                                  "flight_uid": 70, "off_utc": "2026-12-07T22:55:08Z",
                                  "remarks": "x".repeat(500)})),
        };
        let embed: Value =
            serde_json::from_str(&embed(&event, event.data.get(), "evt_e_515")).unwrap();
        assert_eq!(embed["title"], "IBE102 departed EGPD for LYBE");
        assert_eq!(embed["footer"]["text"], "seq 515 · evt_e_515");
        let names: Vec<&str> = embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"off_utc") && !names.contains(&"flight_uid"),
            "{names:?}"
        );
        let remarks = embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "remarks")
            .unwrap();
        assert_eq!(
            remarks["value"].as_str().unwrap().chars().count(),
            MAX_VALUE + 1
        );
        let message: Value = serde_json::from_str(&message(&[embed.to_string()])).unwrap();
        assert_eq!(message["embeds"].as_array().unwrap().len(), 1);
    }
}
