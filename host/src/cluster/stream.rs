//! The change feed as a JetStream stream (docs/CLUSTER.md): one message per
//! event, the stream's sequence is the event's seq, the epoch is kept in
//! the stream's description.
//!
//! The leader relays each committed cycle (`StreamRelay`): every message
//! expects the stream's last sequence to be its seq - 1, so a deposed
//! leader's publish is refused, and carries the message id `EPOCH-SEQ`, so
//! a retried publish is stored once. Followers read the stream with an
//! ordered consumer (`follow`) into their own change feed.

use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures_util::StreamExt as _;
use serde_json::value::RawValue;

use crate::feed::{ChangeFeed, Event, Relay, RelayError};
use crate::shutdown::Shutdown;

/// The header naming an event's kind.
const KIND: &str = "Swim-Type";
/// The header holding an event's time, epoch ms.
const TIME: &str = "Swim-Time";
/// The header holding the flight an event is about.
const FLIGHT: &str = "Swim-Flight";
/// How the description names the epoch.
const EPOCH_TAG: &str = "epoch ";
/// Events a follower hands its feed at once, at most.
const FOLLOW_BATCH: usize = 2_000;

/// The stream's subjects: `STREAM.<event kind>`.
fn subject(stream: &str, kind: &str) -> String {
    format!("{stream}.{kind}")
}

/// Opens the stream, creating it (with a new epoch) if there is none;
/// returns it and its epoch.
pub async fn open(
    js: &jetstream::Context,
    name: &str,
    max_age: Duration,
) -> anyhow::Result<(stream::Stream, String)> {
    let stream = match js.get_stream(name).await {
        Ok(stream) => stream,
        Err(_) => {
            let epoch = crate::feed::epoch::new_epoch();
            let config = stream::Config {
                name: name.to_string(),
                description: Some(format!("VATSWIM change feed; {EPOCH_TAG}{epoch}")),
                subjects: vec![format!("{name}.>")],
                max_age,
                storage: stream::StorageType::File,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            };
            match js.create_stream(config).await {
                Ok(stream) => {
                    tracing::info!(stream = name, epoch, "change feed stream created");
                    stream
                }
                // Another instance may have created it first: use theirs.
                Err(created) => js.get_stream(name).await.map_err(|e| {
                    anyhow::anyhow!(
                        "JetStream stream {name} could not be made ({created}) nor opened ({e})"
                    )
                })?,
            }
        }
    };
    let description = stream.cached_info().config.description.clone();
    let epoch = epoch_of(description.as_deref()).ok_or_else(|| {
        anyhow::anyhow!(
            "JetStream stream {name} exists but was not made by VATSWIM (its description has no epoch); \
             name another with --stream or [cluster] stream"
        )
    })?;
    Ok((stream, epoch))
}

/// The epoch a stream's description names.
fn epoch_of(description: Option<&str>) -> Option<String> {
    let description = description?;
    let at = description.find(EPOCH_TAG)? + EPOCH_TAG.len();
    let epoch: String = description[at..].chars().take(16).collect();
    (epoch.len() == 16 && epoch.bytes().all(|b| b.is_ascii_hexdigit())).then_some(epoch)
}

/// The stream's last sequence (0 when it holds nothing yet).
pub async fn last_seq(stream: &mut stream::Stream) -> anyhow::Result<u64> {
    let info = stream
        .info()
        .await
        .map_err(|e| anyhow::anyhow!("reading the change feed stream: {e}"))?;
    Ok(info.state.last_sequence)
}

/// Makes an empty stream continue at `next_seq` (a stream recreated under
/// a database that has events already): its first message gets that seq.
pub async fn start_at(stream: &stream::Stream, next_seq: u64) -> anyhow::Result<()> {
    stream
        .purge()
        .sequence(next_seq)
        .await
        .map_err(|e| anyhow::anyhow!("moving the empty stream to seq {next_seq}: {e}"))?;
    Ok(())
}

/// Publishes events with the leader's guards, waiting for every ack.
pub async fn publish(
    js: &jetstream::Context,
    stream: &str,
    epoch: &str,
    events: &[Event],
) -> Result<(), RelayError> {
    let mut acks = Vec::with_capacity(events.len());
    // Sent back to back, acknowledged after: JetStream stores one
    // connection's messages in order, so each expectation holds.
    for e in events {
        let mut headers = HeaderMap::new();
        headers.insert(KIND, e.kind.as_str());
        headers.insert(TIME, e.timestamp.to_string().as_str());
        if let Some(uid) = e.flight_uid {
            headers.insert(FLIGHT, uid.to_string().as_str());
        }
        let message = jetstream::message::PublishMessage::build()
            .payload(Bytes::copy_from_slice(e.data.get().as_bytes()))
            .headers(headers)
            .message_id(format!("{epoch}-{}", e.seq))
            .expected_last_sequence(e.seq - 1);
        let ack = js
            .send_publish(subject(stream, &e.kind), message)
            .await
            .map_err(|err| RelayError(format!("publishing seq {}: {err}", e.seq)))?;
        acks.push((e.seq, ack));
    }
    for (seq, ack) in acks {
        let ack = ack
            .await
            .map_err(|err| RelayError(format!("seq {seq} was not stored: {err}")))?;
        if ack.sequence != seq {
            return Err(RelayError(format!(
                "seq {seq} was stored as stream sequence {}: the stream and the database disagree",
                ack.sequence
            )));
        }
    }
    Ok(())
}

/// The leader's relay: each committed cycle goes to the stream before the
/// leader's own clients see it.
pub struct StreamRelay {
    /// The runtime the pipeline's thread blocks on for each publish.
    pub runtime: tokio::runtime::Handle,
    /// The JetStream context.
    pub js: jetstream::Context,
    /// The stream's name.
    pub stream: String,
    /// The feed's epoch (in message ids).
    pub epoch: String,
}

impl Relay for StreamRelay {
    fn relay(&mut self, events: &[Event]) -> Result<(), RelayError> {
        if events.is_empty() {
            return Ok(());
        }
        self.runtime
            .block_on(publish(&self.js, &self.stream, &self.epoch, events))
    }
}

/// An event from a stream message.
fn event_of(message: &jetstream::Message) -> Result<Event, String> {
    let info = message
        .info()
        .map_err(|e| format!("a message without its info: {e}"))?;
    let seq = info.stream_sequence;
    let header = |name: &str| {
        message
            .headers
            .as_ref()
            .and_then(|h| h.get(name))
            .map(|v| v.as_str().to_string())
    };
    let kind = header(KIND).ok_or_else(|| format!("seq {seq} has no {KIND} header"))?;
    let timestamp = header(TIME)
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("seq {seq} has no {TIME} header"))?;
    let text = std::str::from_utf8(&message.payload).map_err(|e| format!("seq {seq}: {e}"))?;
    let data = RawValue::from_string(text.to_string()).map_err(|e| format!("seq {seq}: {e}"))?;
    Ok(Event {
        seq,
        kind,
        timestamp,
        flight_uid: header(FLIGHT).and_then(|f| f.parse().ok()),
        data: Arc::from(data),
    })
}

/// Reads the stream from `after + 1` into `feed` until `stop` or the
/// shutdown signal; batches what arrives together. Returns the last seq
/// handed to the feed.
pub async fn follow(
    stream: stream::Stream,
    after: u64,
    feed: Arc<ChangeFeed>,
    stop: Shutdown,
) -> anyhow::Result<u64> {
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: after + 1,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("following the change feed stream: {e}"))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| anyhow::anyhow!("following the change feed stream: {e}"))?;
    let mut last = after;
    loop {
        let first = tokio::select! {
            biased;
            () = stop.wait() => return Ok(last),
            next = messages.next() => next,
        };
        let Some(first) = first else {
            anyhow::bail!("the change feed stream ended");
        };
        let mut batch = Vec::new();
        let mut next = Some(first);
        while let Some(item) = next {
            let message =
                item.map_err(|e| anyhow::anyhow!("reading the change feed stream: {e}"))?;
            match event_of(&message) {
                Ok(event) => {
                    if event.seq != last + 1 {
                        tracing::warn!(
                            expected = last + 1,
                            got = event.seq,
                            "the change feed stream skipped (retention)"
                        );
                    }
                    last = event.seq;
                    batch.push(event);
                }
                Err(e) => {
                    tracing::error!(error = %e, "a change feed message could not be read; skipped")
                }
            }
            if batch.len() >= FOLLOW_BATCH {
                break;
            }
            // Whatever else has arrived joins the batch; nothing waits for more.
            next = futures_util::FutureExt::now_or_never(messages.next()).flatten();
        }
        feed.publish(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_is_read_from_the_description() {
        let made = "VATSWIM change feed; epoch 0123456789abcdef";
        assert_eq!(epoch_of(Some(made)).as_deref(), Some("0123456789abcdef"));
        assert_eq!(epoch_of(Some("someone else's stream")), None);
        assert_eq!(epoch_of(Some("epoch 0123")), None);
        assert_eq!(epoch_of(None), None);
    }
}
