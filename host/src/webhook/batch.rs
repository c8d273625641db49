//! A delivery's body, PERTI's batch: `{batch_id, webhook_id, events,
//! count}`, each event in PERTI's envelope (`event_id`, `event_type`,
//! `timestamp`, `source`, `data`) with its `seq` and `epoch`. The ids
//! are the same every time a batch is sent, so a receiver drops repeats.

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
    /// The last event's seq.
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
/// flights its filters match), or none.
fn wanted(
    view: &FlightsView,
    hook: &Webhook,
    subscription: &Subscription,
    event: &Event,
) -> Option<String> {
    if !subscription.wants(&event.kind) || (event.kind == POSITIONS && !hook.wants_positions()) {
        return None;
    }
    let filter = subscription.filter();
    let subjects = if filter.is_empty() {
        Subjects::None
    } else {
        Subjects::of(event, view, filter.reads_departure())
    };
    let frame = select(event, &subjects, filter, |_| true, &mut None)?;
    if !matches!(subjects, Subjects::Batch(_)) {
        return Some(event.data.get().to_string());
    }
    #[derive(Deserialize)]
    struct Cut<'a> {
        #[serde(borrow)]
        data: &'a RawValue,
    }
    let cut: Cut = serde_json::from_str(frame.as_str()).ok()?;
    Some(cut.data.get().to_string())
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
