//! Catching a client up from the change feed (`since`, or after the router
//! lagged), then handing it back to live routing with no gap and no
//! duplicate.
//!
//! While a client replays, live batches pass it by; the replay reads the
//! feed after the client's cursor until the cursor reaches the feed's last
//! seq, and switches the client to live under the same lock the router
//! checks, so every event is sent by exactly one of the two.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use serde_json::json;

use super::client::{Client, Frame};
use super::hub::{Hub, mark, select};
use super::protocol;
use super::subject::Subjects;

/// Events read from the feed per step.
const PAGE: usize = 1_000;

/// Starts replaying a client from after `since` (or its cursor), unless
/// it already is (then the running replay continues from `since`).
pub fn start(hub: &Arc<Hub>, client: &Arc<Client>, since: Option<u64>) {
    if hold(client, since) {
        spawn(hub, client);
    }
}

/// Takes a client off live routing from after `since`; true if no replay
/// is running yet (then `spawn` one). The cursor and the mark change under
/// one lock, so the router cannot slip a live event in between.
pub fn hold(client: &Client, since: Option<u64>) -> bool {
    let mut position = client.position.lock();
    if let Some(since) = since {
        position.cursor = since;
    }
    !std::mem::replace(&mut position.replaying, true)
}

/// Runs the replay of a held client.
pub fn spawn(hub: &Arc<Hub>, client: &Arc<Client>) {
    let runtime = hub.runtime().clone();
    runtime.spawn(run(hub.clone(), client.clone()));
}

async fn run(hub: Arc<Hub>, client: Arc<Client>) {
    let mut told_gap = false;
    loop {
        if client.is_closing() {
            return;
        }
        let from = client.position.lock().cursor;
        let feed = hub.feed.clone();
        let page = match tokio::task::spawn_blocking(move || feed.after(from, PAGE, None)).await {
            Ok(Ok(page)) => page,
            Ok(Err(e)) => {
                tracing::error!(error = %e, client = client.id, "replay read failed");
                client.reply(protocol::error(
                    "INTERNAL",
                    &format!("the change feed could not be read: {e}"),
                    json!({}),
                ));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(_) => return,
        };
        if let (Some(oldest), false) = (page.gap_from, told_gap) {
            told_gap = true;
            client.reply(protocol::error(
                "RESUME_GAP",
                &format!(
                    "events after {from} are no longer kept; replaying from the oldest available, {oldest}"
                ),
                json!({"oldest_seq": oldest, "requested_seq": from}),
            ));
        }
        if page.events.is_empty() {
            if caught_up(&hub, &client) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        if !send_page(&hub, &client, &page.events).await {
            return;
        }
    }
}

/// Hands the client back to live routing if it has every published event.
fn caught_up(hub: &Hub, client: &Client) -> bool {
    let mut position = client.position.lock();
    if position.cursor >= hub.feed.last_seq() {
        position.replaying = false;
        return true;
    }
    false
}

/// Queues a page's wanted events (waiting for room) and moves the cursor.
async fn send_page(hub: &Hub, client: &Client, events: &[Arc<crate::feed::Event>]) -> bool {
    for (seq, text) in frames(hub, client, events) {
        if let Some(text) = text {
            let frame = Frame {
                text,
                seq: Some(seq),
                published: None,
            };
            if !client.offer_replayed(frame).await {
                return false;
            }
        }
        let mut position = client.position.lock();
        position.cursor = position.cursor.max(seq);
    }
    true
}

/// Each event's seq and the frame the client gets of it, if any.
fn frames(
    hub: &Hub,
    client: &Client,
    events: &[Arc<crate::feed::Event>],
) -> Vec<(u64, Option<Utf8Bytes>)> {
    let subscription = client.subscription.lock().clone();
    let plugin = hub.plugin_filter(&client.id);
    let view = hub.view();
    let filtered = !subscription.filter().is_empty();
    let departures = subscription.filter().reads_departure();
    let subjects: Vec<Subjects> = events
        .iter()
        .map(|e| {
            if filtered && subscription.wants(&e.kind) {
                Subjects::of(e, &view, departures)
            } else {
                Subjects::None
            }
        })
        .collect();
    // One wasm call for the page.
    let verdict: Option<Vec<bool>> = plugin.as_ref().map(|p| {
        let all: Vec<_> = subjects
            .iter()
            .flat_map(|s| s.iter().map(|s| s.as_column()))
            .collect();
        let mut v = vec![false; all.len()];
        let matches = hub.match_plugin(&p.slot, &crate::plugin::columns::subjects(all));
        for m in matches.iter().flatten().filter(|m| m.filter == p.id) {
            mark(&mut v, &m.subjects);
        }
        v
    });
    let mut offset = 0;
    events
        .iter()
        .zip(&subjects)
        .map(|(event, subjects)| {
            let base = offset;
            offset += subjects.len();
            let pass = |j: usize| verdict.as_ref().is_none_or(|v| v[base + j]);
            let text = subscription
                .wants(&event.kind)
                .then(|| select(event, subjects, subscription.filter(), pass, &mut None))
                .flatten();
            (event.seq, text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Tier;

    #[test]
    fn a_held_client_gets_no_live_events_until_its_replay_hands_it_back() {
        let client = Client::new("c1".into(), Tier::Public, 0, 10, Default::default());
        assert!(hold(&client, Some(5)), "no replay was running");
        assert_eq!(client.position.lock().cursor, 5);
        let frame: Utf8Bytes = "{}".into();
        client.offer_live(12, &frame, std::time::Instant::now());
        client.pass_live(12);
        assert!(client.take(64).is_empty(), "a live event slipped in");
        assert_eq!(
            client.position.lock().cursor,
            5,
            "the replay starts after 5"
        );
        // A second `since` while replaying moves the running replay.
        assert!(!hold(&client, Some(3)));
        assert_eq!(client.position.lock().cursor, 3);
    }
}
