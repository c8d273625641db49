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

use crate::feed::{ChangeFeed, Event, EventArchive, Relay, RelayError};
use crate::shutdown::Shutdown;

/// The header naming an event's kind.
const KIND: &str = "Swim-Type";
/// The header holding an event's time, epoch ms.
const TIME: &str = "Swim-Time";
/// The header holding the flight an event is about.
const FLIGHT: &str = "Swim-Flight";
/// How long JetStream remembers message ids (a retried publish within it
/// is stored once).
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// How the description names the epoch.
const EPOCH_TAG: &str = "epoch ";
/// Events a follower hands its feed at once, at most.
const FOLLOW_BATCH: usize = 2_000;
/// The header saying how a payload is encoded: `gzip`, or `archive` (too
/// large for a message even gzipped: read it from the database).
const ENCODING: &str = "Swim-Encoding";
/// Payloads larger than this are gzipped (a positions batch at a few
/// thousand flights is over NATS's default 1 MB message limit).
const GZIP_ABOVE: usize = 64 * 1024;
/// A gzipped payload is never inflated past this (the stream is trusted,
/// the bound is cheap).
const MAX_INFLATED: u64 = 256 * 1024 * 1024;
/// Room left for headers under the server's message limit.
const HEADER_ROOM: usize = 4 * 1024;

/// A payload as it goes into a message: as is, gzipped, or (too large
/// even gzipped) left in the database, the message only marking its seq.
fn encode(data: &[u8], max_payload: usize) -> (Bytes, Option<&'static str>) {
    if data.len() <= GZIP_ABOVE {
        return (Bytes::copy_from_slice(data), None);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zipped = std::io::Write::write_all(&mut gz, data)
        .and_then(|()| gz.finish())
        .unwrap_or_default();
    if !zipped.is_empty() && zipped.len() + HEADER_ROOM <= max_payload {
        (Bytes::from(zipped), Some("gzip"))
    } else {
        (Bytes::new(), Some("archive"))
    }
}

fn inflate(zipped: &[u8]) -> Result<String, String> {
    let mut text = String::new();
    let reader = flate2::read::GzDecoder::new(zipped);
    std::io::Read::read_to_string(&mut std::io::Read::take(reader, MAX_INFLATED), &mut text)
        .map_err(|e| format!("a gzipped payload does not inflate: {e}"))?;
    Ok(text)
}

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
    replicas: usize,
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
                // JetStream refuses a window longer than the retention.
                duplicate_window: DUPLICATE_WINDOW.min(max_age),
                num_replicas: replicas.max(1),
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

/// Publishes sent before their acks are awaited: under the client's limit
/// of unacknowledged publishes (5,000), which a cycle may exceed (its first
/// cycle at 5,000 flights has a `flight.created` for each), and a send
/// past that limit would wait for acks this function has not awaited yet.
const PUBLISH_WINDOW: usize = 1_000;

/// Publishes events with the leader's guards, waiting for every ack.
pub async fn publish(
    js: &jetstream::Context,
    stream: &str,
    epoch: &str,
    events: &[Event],
) -> Result<(), RelayError> {
    let max_payload = js.client().server_info().max_payload;
    for window in events.chunks(PUBLISH_WINDOW) {
        publish_window(js, stream, epoch, window, max_payload).await?;
    }
    Ok(())
}

async fn publish_window(
    js: &jetstream::Context,
    stream: &str,
    epoch: &str,
    events: &[Event],
    max_payload: usize,
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
        let (payload, encoding) = encode(e.data.get().as_bytes(), max_payload);
        if let Some(encoding) = encoding {
            headers.insert(ENCODING, encoding);
        }
        let message = jetstream::message::PublishMessage::build()
            .payload(payload)
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

/// An event from a stream message; one left in the database is read from
/// `archive`.
fn event_of(message: &jetstream::Message, archive: &dyn EventArchive) -> Result<Event, String> {
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
    let text = match header(ENCODING).as_deref() {
        None => std::str::from_utf8(&message.payload)
            .map_err(|e| format!("seq {seq}: {e}"))?
            .to_string(),
        Some("gzip") => inflate(&message.payload).map_err(|e| format!("seq {seq}: {e}"))?,
        Some("archive") => {
            let found = archive
                .events_after(seq - 1, 1)
                .map_err(|e| format!("seq {seq}: {e}"))?;
            return found
                .into_iter()
                .find(|e| e.seq == seq)
                .ok_or_else(|| format!("seq {seq} is in neither the stream nor the database"));
        }
        Some(other) => return Err(format!("seq {seq}: unknown {ENCODING} {other:?}")),
    };
    let data = RawValue::from_string(text).map_err(|e| format!("seq {seq}: {e}"))?;
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
    archive: Arc<dyn EventArchive>,
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
            // An event over the message limit even gzipped is read from
            // the database, blocking this task briefly: rare enough.
            match event_of(&message, archive.as_ref()) {
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
    fn large_payloads_are_gzipped_and_too_large_ones_left_in_the_database() {
        let small = br#"{"n":1}"#;
        assert_eq!(encode(small, 1 << 20), (Bytes::from_static(small), None));
        let big: String = (0..20_000)
            .map(|i| format!(r#"{{"callsign":"AAL{i}","lat":40.{i},"lon":-73.{i}}},"#))
            .collect();
        assert!(big.len() > 1 << 20, "over NATS's default limit");
        let (zipped, encoding) = encode(big.as_bytes(), 1 << 20);
        assert_eq!(encoding, Some("gzip"));
        assert!(
            zipped.len() < big.len() / 3,
            "{} of {}",
            zipped.len(),
            big.len()
        );
        assert_eq!(inflate(&zipped).unwrap(), big);
        let (empty, encoding) = encode(big.as_bytes(), 64 * 1024);
        assert_eq!((empty.len(), encoding), (0, Some("archive")));
    }

    /// Against the local NATS server (`.ci/run` starts it), on a stream of
    /// the test's own.
    #[tokio::test]
    async fn a_cycle_of_more_events_than_the_clients_ack_limit_is_published_in_order() {
        let client = async_nats::connect("nats://127.0.0.1:4222")
            .await
            .expect("NATS with JetStream on 127.0.0.1:4222 (see .ci/run)");
        let js = jetstream::new(client);
        let name = format!("SWIMUNIT_WINDOW_{}", std::process::id());
        let (mut stream, epoch) = open(&js, &name, Duration::from_secs(60), 1).await.unwrap();
        let events: Vec<Event> = (1..=6_000)
            .map(|seq| Event {
                seq,
                kind: "flight.created".into(),
                timestamp: 1_000,
                flight_uid: Some(seq),
                data: crate::feed::event::payload(&serde_json::json!({"n": seq})),
            })
            .collect();
        let published = tokio::time::timeout(
            Duration::from_secs(60),
            publish(&js, &name, &epoch, &events),
        )
        .await;
        let last = last_seq(&mut stream).await.unwrap();
        let _ = js.delete_stream(&name).await;
        published.expect("publishing did not finish").unwrap();
        assert_eq!(last, 6_000);
    }

    #[test]
    fn the_epoch_is_read_from_the_description() {
        let made = "VATSWIM change feed; epoch 0123456789abcdef";
        assert_eq!(epoch_of(Some(made)).as_deref(), Some("0123456789abcdef"));
        assert_eq!(epoch_of(Some("someone else's stream")), None);
        assert_eq!(epoch_of(Some("epoch 0123")), None);
        assert_eq!(epoch_of(None), None);
    }
}
