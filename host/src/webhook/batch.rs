//! A delivery's body, PERTI's batch: `{batch_id, webhook_id, events,
//! count}`, each event in PERTI's envelope (`event_id`, `event_type`,
//! `timestamp`, `source`, `data`) with its `seq` and `epoch`. The ids
//! are the same every time a batch is sent, so a receiver drops repeats.

use std::borrow::Cow;

use axum::extract::ws::Utf8Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::config::WebhookConfig;
use super::discord;
use super::subscription::{Format, POSITIONS, Webhook};
use crate::fanout::client::Subscription;
use crate::fanout::hub::select;
use crate::fanout::subject::Subjects;
use crate::feed::{ChangeFeed, Event, Selection};
use crate::store::FlightsView;
use crate::time::format_iso_millis;

/// Events read from the feed per look.
const READ_PAGE: usize = 1_000;

/// One POST's worth of events.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The first event's seq.
    pub first_seq: u64,
    /// The last event it covers: the cursor once it is delivered (events
    /// filtered out after the last one sent are covered too).
    pub last_seq: u64,
    /// Events in it.
    pub events: usize,
    /// The body.
    pub body: String,
}

/// What one look at the feed found after a cursor.
#[derive(Debug, Default)]
pub struct Read {
    /// Events to send, if any matched.
    pub batch: Option<Batch>,
    /// Every event up to here is in the batch or filtered out.
    pub considered: u64,
    /// Events retention removed before the webhook reached them.
    pub expired: Option<(u64, u64)>,
}

/// How big a batch may grow.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Events.
    pub events: usize,
    /// Bytes of events.
    pub bytes: usize,
}

impl Bounds {
    /// The operator's bounds, within what the format's receiver takes.
    pub fn of(format: Format, config: &WebhookConfig) -> Bounds {
        match format {
            Format::Json => Bounds {
                events: config.max_batch_events,
                bytes: config.max_batch_bytes,
            },
            Format::Discord => Bounds {
                events: config.max_batch_events.min(discord::MAX_EMBEDS),
                bytes: discord::MAX_CHARS,
            },
        }
    }
}

/// The events after `after` the webhook wants, as one batch within `bounds`.
pub fn read(
    feed: &ChangeFeed,
    view: &FlightsView,
    hook: &Webhook,
    subscription: &Subscription,
    after: u64,
    bounds: Bounds,
) -> Result<Read, crate::feed::ArchiveError> {
    let page = feed.selected_after(after, READ_PAGE, &Selection::default())?;
    let mut read = Read {
        considered: page.scanned_to.unwrap_or(after).max(after),
        expired: page
            .gap_from
            .filter(|oldest| *oldest > after + 1)
            .map(|oldest| (after + 1, oldest - 1)),
        ..Read::default()
    };
    let mut items: Vec<String> = Vec::new();
    let (mut bytes, mut first) = (0, 0);
    for event in &page.events {
        let item = wanted(view, hook, subscription, event)
            .map(|data| item(hook.format, event, &data, feed.epoch()));
        if let Some(item) = &item
            && !items.is_empty()
            && bytes + item.len() > bounds.bytes
        {
            break;
        }
        read.considered = event.seq;
        if let Some(item) = item {
            if items.is_empty() {
                first = event.seq;
            }
            bytes += item.len() + 1;
            items.push(item);
            if items.len() >= bounds.events || bytes >= bounds.bytes {
                break;
            }
        }
    }
    if !items.is_empty() {
        read.batch = Some(Batch {
            first_seq: first,
            last_seq: read.considered,
            events: items.len(),
            body: match hook.format {
                Format::Json => body(hook.id, feed.epoch(), first, read.considered, &items),
                Format::Discord => discord::message(&items),
            },
        });
    }
    Ok(read)
}

/// The event's data as this webhook gets it (a positions batch cut to the
/// flights its filters match), or none. The fan-out's `select` decides;
/// an empty frame stands for the whole event, so it never serializes a
/// frame a webhook does not send (the envelope is written from the data).
fn wanted<'e>(
    view: &FlightsView,
    hook: &Webhook,
    subscription: &Subscription,
    event: &'e Event,
) -> Option<Cow<'e, str>> {
    if !subscription.wants(&event.kind) || (event.kind == POSITIONS && !hook.wants_positions()) {
        return None;
    }
    let filter = subscription.filter();
    let subjects = if filter.is_empty() {
        Subjects::None
    } else {
        Subjects::of(event, view, filter.reads_departure())
    };
    let mut whole = Some(Utf8Bytes::from_static(""));
    let frame = select(event, &subjects, filter, |_| true, &mut whole)?;
    if frame.as_str().is_empty() {
        return Some(Cow::Borrowed(event.data.get()));
    }
    #[derive(Deserialize)]
    struct Cut<'a> {
        #[serde(borrow)]
        data: &'a RawValue,
    }
    let cut: Cut = serde_json::from_str(frame.as_str()).ok()?;
    Some(Cow::Owned(cut.data.get().to_string()))
}

/// The event as the format writes it.
fn item(format: Format, event: &Event, data: &str, epoch: &str) -> String {
    match format {
        Format::Json => envelope(event, data, epoch),
        Format::Discord => discord::embed(event, data, &event_id(epoch, event.seq)),
    }
}

/// An event's id: the same every time it is sent.
fn event_id(epoch: &str, seq: u64) -> String {
    format!("evt_{epoch}_{seq}")
}

/// PERTI's event envelope, with the feed position.
fn envelope(event: &Event, data: &str, epoch: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","event_type":{kind},"seq":{seq},"epoch":"{epoch}","timestamp":"{time}","source":"vatswim","data":{data}}}"#,
        id = event_id(epoch, event.seq),
        seq = event.seq,
        kind = serde_json::Value::from(event.kind.as_str()),
        time = format_iso_millis(event.timestamp),
    )
}

/// PERTI's batch around the envelopes.
fn body(webhook: i64, epoch: &str, first: u64, last: u64, items: &[String]) -> String {
    format!(
        r#"{{"batch_id":"batch_{webhook}_{epoch}_{first}_{last}","webhook_id":{webhook},"epoch":"{epoch}","first_seq":{first},"last_seq":{last},"count":{count},"events":[{events}]}}"#,
        count = items.len(),
        events = items.join(","),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::fanout::filter::Filter;
    use crate::feed::event::payload;
    use crate::webhook::subscription::{Cursor, Format};

    fn hook(channels: &[&str], filters: Value) -> (Webhook, Subscription) {
        let hook = Webhook {
            id: 1,
            source_id: "t".into(),
            direction: "outbound",
            callback_url: "https://example.net/".into(),
            shared_secret: "0123456789abcdef".into(),
            event_types: channels.join(","),
            channels: channels.iter().map(|c| c.to_string()).collect(),
            filters: Filter::parse(&filters).unwrap().to_json(),
            format: Format::Json,
            is_active: true,
            created_utc: 0,
            updated_utc: 0,
            last_success_utc: None,
            last_failure_utc: None,
            consecutive_failures: 0,
            last_error: None,
            cursor: Cursor {
                seq: 0,
                epoch: "e".into(),
            },
            delivered_events: 0,
            delivered_batches: 0,
        };
        let subscription = hook.subscription();
        (hook, subscription)
    }

    fn event(kind: &str, data: Value) -> Event {
        Event {
            seq: 3,
            kind: kind.into(),
            timestamp: 0,
            flight_uid: None,
            data: payload(&data),
        }
    }

    #[test]
    fn a_webhook_gets_whole_events_its_filters_pass_and_positions_cut_to_them() {
        let view = FlightsView::default();
        let (jfk, sub) = hook(&["flight.*"], json!({"airports": ["KJFK"]}));
        let departed = event(
            "flight.departed",
            json!({"callsign": "DAL1", "flight_uid": 1, "dep": "KJFK", "arr": "KBOS"}),
        );
        assert_eq!(
            wanted(&view, &jfk, &sub, &departed).as_deref(),
            Some(departed.data.get())
        );
        let elsewhere = event(
            "flight.departed",
            json!({"callsign": "BAW2", "flight_uid": 2, "dep": "EGLL", "arr": "LFPG"}),
        );
        assert_eq!(wanted(&view, &jfk, &sub, &elsewhere), None);

        let positions = event(
            "flight.positions",
            json!({"count": 2, "positions": [
                {"callsign": "DAL1", "flight_uid": 1, "dep": "KJFK", "arr": "KBOS", "latitude": 40.6, "longitude": -73.8},
                {"callsign": "BAW2", "flight_uid": 2, "dep": "EGLL", "arr": "LFPG", "latitude": 51.5, "longitude": -0.5}
            ]}),
        );
        // Not with `flight.*`: positions only when named.
        assert_eq!(wanted(&view, &jfk, &sub, &positions), None);
        let (named, sub) = hook(&["flight.positions"], json!({"airports": ["KJFK"]}));
        let cut: Value =
            serde_json::from_str(&wanted(&view, &named, &sub, &positions).unwrap()).unwrap();
        assert_eq!(cut["count"], 1, "{cut}");
        assert_eq!(cut["positions"][0]["callsign"], "DAL1");
    }
}
