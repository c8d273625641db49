//! One WebSocket client as the fan-out sees it: its subscription, where it
//! is in the change feed, and its bounded outgoing queue.
//!
//! The queue is bounded in bytes and frames. The router never waits on a
//! client: a live frame that does not fit closes the client as a slow
//! consumer (it resumes with `since`). Replays wait for room instead,
//! since they are the client's own backlog. It is a deque under a lock
//! with the writer's waker beside it: empty, it holds no memory (an idle
//! connection should cost a few KB; a channel would keep a block of 32
//! slots per client), and the writer takes everything queued at once.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use futures_util::task::AtomicWaker;
use parking_lot::Mutex;
use tokio::sync::{Notify, watch};

use super::filter::Filter;
use super::metrics::FanoutMetrics;
use crate::auth::Tier;
use crate::feed::channel_matches;

/// Bytes a client may have queued before it counts as slow.
pub const QUEUE_BYTES: usize = 8 << 20;
/// Frames a client may have queued before it counts as slow.
pub const QUEUE_FRAMES: usize = 4_096;
/// What a replay may fill of those (half): the other half is room for
/// live frames when the client is handed back to live routing.
const REPLAY_BYTES: usize = QUEUE_BYTES / 2;
const REPLAY_FRAMES: usize = QUEUE_FRAMES / 2;

/// What the writer sends.
#[derive(Debug)]
pub struct Frame {
    /// The JSON text.
    pub text: Utf8Bytes,
    /// The seq of the change-feed event it carries.
    pub seq: Option<u64>,
    /// When the event was published (for the latency histogram).
    pub published: Option<Instant>,
}

/// Why and how a client is being closed.
#[derive(Debug, Clone)]
pub struct Close {
    /// The WebSocket close code.
    pub code: u16,
    /// The error message sent before the close, if any. For a slow
    /// consumer (4008) it is the reason; the writer adds the last seq it
    /// actually delivered when it sends it.
    pub error: Option<String>,
}

impl Close {
    /// A close with `code`, told first as the error `error_code`: `message`.
    pub fn with_error(code: u16, error_code: &str, message: &str) -> Close {
        Close {
            code,
            error: Some(super::protocol::error(
                error_code,
                message,
                serde_json::json!({}),
            )),
        }
    }

    /// A slow consumer's close.
    pub fn slow(why: String) -> Close {
        Close {
            code: super::protocol::CLOSE_SLOW_CONSUMER,
            error: Some(why),
        }
    }
}

/// A subscription: channels and one filter (PERTI's model: filters are
/// per connection and apply to every channel).
#[derive(Debug, Clone, Default)]
pub struct Subscription {
    channels: BTreeSet<String>,
    filter: Filter,
    /// Identical subscriptions share this key (and their routing work);
    /// kept current by every change, so routing never recomputes it, and
    /// shared, so routing never copies it.
    key: Arc<str>,
    filter_key: Arc<str>,
}

impl Subscription {
    /// Whether an event kind is on a subscribed channel.
    pub fn wants(&self, kind: &str) -> bool {
        self.channels.iter().any(|c| channel_matches(c, kind))
    }

    /// Channel names or patterns.
    pub fn channels(&self) -> &BTreeSet<String> {
        &self.channels
    }

    /// The merged filters.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Channels and filter, as one key.
    pub fn key(&self) -> &Arc<str> {
        &self.key
    }

    /// The filter as a key.
    pub fn filter_key(&self) -> &Arc<str> {
        &self.filter_key
    }

    /// Adds channels and merges filters (a repeated subscribe).
    pub fn add(&mut self, channels: impl IntoIterator<Item = String>, filter: Filter) {
        self.channels.extend(channels);
        self.filter.merge(filter);
        self.rekey();
    }

    /// Drops channels (all of them, and the filters, when `None`).
    pub fn remove(&mut self, channels: Option<&[String]>) {
        match channels {
            Some(list) => list.iter().for_each(|c| {
                self.channels.remove(c);
            }),
            None => *self = Subscription::default(),
        }
        self.rekey();
    }

    fn rekey(&mut self) {
        let filter = self.filter.to_json().to_string();
        let channels: Vec<&str> = self.channels.iter().map(String::as_str).collect();
        self.key = format!("{}|{filter}", channels.join(",")).into();
        self.filter_key = filter.into();
    }
}

/// Where the client is in the change feed.
#[derive(Debug, Default)]
pub struct Position {
    /// The last seq queued for it (or skipped as not wanted).
    pub cursor: u64,
    /// Catching up from the feed; live batches skip it meanwhile.
    pub replaying: bool,
}

/// A connected client.
pub struct Client {
    /// `client_id` as the client sees it.
    pub id: String,
    /// Its key's tier.
    pub tier: Tier,
    /// When it connected.
    pub connected_at: i64,
    /// Its subscription.
    pub subscription: Mutex<Subscription>,
    /// Its place in the feed.
    pub position: Mutex<Position>,
    queue: Mutex<VecDeque<Frame>>,
    /// The writer, waiting for frames.
    writer: AtomicWaker,
    queued_bytes: AtomicUsize,
    queued_frames: AtomicUsize,
    room: Notify,
    /// The seq of the last event written to its socket.
    pub delivered_seq: AtomicU64,
    /// Messages written to its socket.
    pub messages_sent: AtomicU64,
    closing: watch::Sender<Option<Close>>,
    metrics: Arc<FanoutMetrics>,
    /// When the client last sent anything (a message, a pong), epoch ms.
    last_heard: std::sync::atomic::AtomicI64,
    /// The client started the close handshake: the writer answers it.
    closed_by_peer: std::sync::atomic::AtomicBool,
}

/// A queue that has grown past this many frames gives its memory back
/// once drained.
const KEEP_QUEUE_CAPACITY: usize = 16;

impl Client {
    /// A client at `cursor` in the feed.
    pub fn new(
        id: String,
        tier: Tier,
        connected_at: i64,
        cursor: u64,
        metrics: Arc<FanoutMetrics>,
    ) -> Arc<Client> {
        Arc::new(Client {
            id,
            tier,
            connected_at,
            subscription: Mutex::new(Subscription::default()),
            position: Mutex::new(Position {
                cursor,
                replaying: false,
            }),
            queue: Mutex::new(VecDeque::new()),
            writer: AtomicWaker::new(),
            queued_bytes: AtomicUsize::new(0),
            queued_frames: AtomicUsize::new(0),
            room: Notify::new(),
            delivered_seq: AtomicU64::new(cursor),
            messages_sent: AtomicU64::new(0),
            closing: watch::channel(None).0,
            metrics,
            last_heard: std::sync::atomic::AtomicI64::new(connected_at),
            closed_by_peer: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Queues a live event frame unless the client is replaying or has
    /// had it; a full queue closes the client as a slow consumer.
    /// Returns false if the frame was dropped because the client is slow.
    pub fn offer_live(&self, seq: u64, text: &Utf8Bytes, published: Instant) -> bool {
        let mut position = self.position.lock();
        if position.replaying || seq <= position.cursor {
            return true;
        }
        position.cursor = seq;
        drop(position);
        self.offer(Frame {
            text: text.clone(),
            seq: Some(seq),
            published: Some(published),
        })
    }

    /// Marks a live event as passed over (not wanted), so the cursor
    /// stays at the feed's head.
    pub fn pass_live(&self, seq: u64) {
        let mut position = self.position.lock();
        if !position.replaying && seq > position.cursor {
            position.cursor = seq;
        }
    }

    /// Queues a frame that is not a feed event (a reply, a heartbeat);
    /// false if the client is slow and is being closed.
    pub fn offer(&self, frame: Frame) -> bool {
        if self.is_closing() {
            return false;
        }
        let len = frame.text.len();
        let bytes = self.queued_bytes.fetch_add(len, Ordering::AcqRel) + len;
        let frames = self.queued_frames.fetch_add(1, Ordering::AcqRel) + 1;
        if bytes > QUEUE_BYTES || frames > QUEUE_FRAMES {
            self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            self.queued_frames.fetch_sub(1, Ordering::AcqRel);
            self.close(Close::slow(format!(
                "the client fell {frames} messages ({bytes} bytes) behind"
            )));
            return false;
        }
        self.queue.lock().push_back(frame);
        self.writer.wake();
        true
    }

    /// Up to `max` queued frames, in order, once there are any (for the
    /// writer; cancel-safe: frames leave the queue only when returned).
    pub async fn next_frames(&self, max: usize) -> Vec<Frame> {
        std::future::poll_fn(|cx| {
            let frames = self.take(max);
            if !frames.is_empty() {
                return std::task::Poll::Ready(frames);
            }
            self.writer.register(cx.waker());
            // A frame queued between the first look and the registration
            // woke nobody: look again.
            let frames = self.take(max);
            if frames.is_empty() {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(frames)
            }
        })
        .await
    }

    /// Takes up to `max` queued frames (the writer counts them `written`
    /// once sent).
    pub fn take(&self, max: usize) -> Vec<Frame> {
        let mut queue = self.queue.lock();
        let n = queue.len().min(max);
        let frames: Vec<Frame> = queue.drain(..n).collect();
        if queue.is_empty() && queue.capacity() > KEEP_QUEUE_CAPACITY {
            *queue = VecDeque::new();
        }
        frames
    }

    /// Queues a replayed frame, waiting for room rather than counting the
    /// client as slow. A replay fills only its share of the budget: the
    /// rest is kept for the live frames that follow the handover, so a
    /// client that reads steadily but more slowly than the replay is not
    /// closed as slow by the first live batch after it caught up.
    pub async fn offer_replayed(&self, frame: Frame) -> bool {
        loop {
            if self.is_closing() {
                return false;
            }
            let room = self.room.notified();
            let len = frame.text.len();
            if self.queued_bytes.load(Ordering::Acquire) + len <= REPLAY_BYTES
                && self.queued_frames.load(Ordering::Acquire) < REPLAY_FRAMES
            {
                return self.offer(frame);
            }
            room.await;
        }
    }

    /// A control reply (subscribed, pong, error). It counts against the
    /// same budget as events: a client that asks and never reads must not
    /// grow the server's memory, so one that does not drain its replies
    /// is closed as a slow consumer like one that does not drain events.
    pub fn reply(&self, text: String) -> bool {
        self.offer(Frame {
            text: text.into(),
            seq: None,
            published: None,
        })
    }

    /// The writer took these frames off the queue and wrote them.
    pub fn written(&self, frames: &[Frame]) {
        let bytes = frames.iter().map(|f| f.text.len()).sum();
        self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
        self.queued_frames.fetch_sub(frames.len(), Ordering::AcqRel);
        self.messages_sent
            .fetch_add(frames.len() as u64, Ordering::Relaxed);
        if let Some(seq) = frames.iter().filter_map(|f| f.seq).max() {
            self.delivered_seq.fetch_max(seq, Ordering::AcqRel);
        }
        self.room.notify_waiters();
    }

    /// Frames waiting.
    pub fn queued(&self) -> (usize, usize) {
        (
            self.queued_frames.load(Ordering::Acquire),
            self.queued_bytes.load(Ordering::Acquire),
        )
    }

    /// Asks the writer to send `close.error` and close; the first reason wins.
    pub fn close(&self, close: Close) {
        let slow = close.code == super::protocol::CLOSE_SLOW_CONSUMER;
        let first = self.closing.send_if_modified(|c| {
            if c.is_some() {
                return false;
            }
            *c = Some(close);
            true
        });
        if first && slow {
            self.metrics.slow_consumer_closes.add(1);
            // What it had queued is never going to be read: let it go now,
            // not when the writer gets to close it.
            let dropped = self.drop_queue();
            self.metrics.queue_drops.add(dropped as u64);
        }
        self.room.notify_waiters();
    }

    /// Drops every queued frame; how many there were.
    pub fn drop_queue(&self) -> usize {
        let frames = self.take(usize::MAX);
        let bytes: usize = frames.iter().map(|f| f.text.len()).sum();
        self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
        self.queued_frames.fetch_sub(frames.len(), Ordering::AcqRel);
        frames.len()
    }

    /// The client sent something at `now` (epoch ms): it is alive.
    pub fn heard(&self, now: i64) {
        self.last_heard.store(now, Ordering::Relaxed);
    }

    /// Milliseconds since the client last sent anything.
    pub fn silent_for(&self, now: i64) -> i64 {
        now - self.last_heard.load(Ordering::Relaxed)
    }

    /// The client sent a close frame: it is closed with 1000, and the
    /// writer answers its close frame (RFC 6455 5.5.1).
    pub fn close_by_peer(&self) {
        self.closed_by_peer.store(true, Ordering::Release);
        self.close(Close {
            code: 1000,
            error: None,
        });
    }

    /// Whether the client started the close handshake.
    pub fn is_closed_by_peer(&self) -> bool {
        self.closed_by_peer.load(Ordering::Acquire)
    }

    /// Whether the client is being closed.
    pub fn is_closing(&self) -> bool {
        self.closing.borrow().is_some()
    }

    /// The reason it is being closed, if it is.
    pub fn closing(&self) -> Option<Close> {
        self.closing.borrow().clone()
    }

    /// A watch on why the client is being closed (none until it is), for
    /// a loop that waits on it many times.
    pub fn closing_watch(&self) -> watch::Receiver<Option<Close>> {
        self.closing.subscribe()
    }

    /// Whether it subscribed to anything.
    pub fn wants(&self, kind: &str) -> bool {
        self.subscription.lock().wants(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_client_that_does_not_drain_is_closed_as_slow_and_told_its_last_seq() {
        let client = Client::new("c1".into(), Tier::Public, 0, 10, Default::default());
        let frame: Utf8Bytes = "x".repeat(1 << 20).into();
        let now = Instant::now();
        assert!(client.offer_live(11, &frame, now));
        // Written: delivered up to 11.
        let f = client.take(64);
        assert_eq!(f.len(), 1);
        client.written(&f);
        for seq in 12..12 + (QUEUE_BYTES >> 20) as u64 {
            assert!(client.offer_live(seq, &frame, now));
        }
        assert!(!client.offer_live(100, &frame, now), "the queue is full");
        let close = client.closing().unwrap();
        assert_eq!(close.code, 4008);
        assert_eq!(client.metrics.slow_consumer_closes.get(), 1);
        assert!(close.error.unwrap().contains("behind"));
        assert_eq!(client.delivered_seq.load(Ordering::Acquire), 11);
        // Seen events are not offered twice; replaying clients are skipped.
        let client = Client::new("c2".into(), Tier::Public, 0, 5, Default::default());
        assert!(client.offer_live(5, &frame, now));
        client.position.lock().replaying = true;
        assert!(client.offer_live(6, &frame, now));
        assert!(client.take(64).is_empty());
    }

    #[tokio::test]
    async fn a_replay_leaves_room_for_the_live_frames_after_the_handover() {
        let client = Client::new("c5".into(), Tier::Public, 0, 0, Default::default());
        let frame: Utf8Bytes = "x".repeat(1 << 16).into();
        // The replay queues as much as it may (the client reads slowly).
        let mut seq = 0;
        loop {
            seq += 1;
            let replayed = Frame {
                text: frame.clone(),
                seq: Some(seq),
                published: None,
            };
            let offered = client.offer_replayed(replayed);
            if tokio::time::timeout(Duration::from_millis(50), offered)
                .await
                .is_err()
            {
                break;
            }
            client.position.lock().cursor = seq;
        }
        // Caught up: live from here. A live cycle's batch of 1 MB fits.
        client.position.lock().replaying = false;
        let batch: Utf8Bytes = "y".repeat(1 << 20).into();
        assert!(client.offer_live(seq + 1, &batch, Instant::now()));
        assert!(client.closing().is_none(), "closed as slow at the handover");
    }

    #[test]
    fn replies_count_against_the_queue_budget() {
        let client = Client::new("c3".into(), Tier::Public, 0, 0, Default::default());
        let reply = "r".repeat(1 << 16);
        let fits = QUEUE_BYTES / reply.len();
        for _ in 0..fits {
            assert!(client.reply(reply.clone()));
        }
        assert!(!client.reply(reply), "a reply past the budget is refused");
        assert_eq!(client.closing().unwrap().code, 4008);
        // Marked slow, it holds nothing more: what it had queued would
        // never be read.
        assert_eq!(client.queued(), (0, 0));
        assert_eq!(client.metrics.queue_drops.get(), fits as u64);
    }

    #[tokio::test]
    async fn the_writer_takes_frames_in_order_and_an_emptied_queue_lets_its_memory_go() {
        let client = Client::new("c4".into(), Tier::Public, 0, 0, Default::default());
        let now = Instant::now();
        let writer = {
            let client = client.clone();
            tokio::spawn(async move { client.next_frames(64).await })
        };
        tokio::task::yield_now().await;
        let frame: Utf8Bytes = "{}".into();
        for seq in 1..=3 {
            assert!(client.offer_live(seq, &frame, now));
        }
        let first = writer.await.unwrap();
        assert!(!first.is_empty(), "the waiting writer was woken");
        let mut seqs: Vec<u64> = first.iter().filter_map(|f| f.seq).collect();
        seqs.extend(client.take(64).iter().filter_map(|f| f.seq));
        assert_eq!(seqs, [1, 2, 3]);
        for seq in 4..=1_000 {
            client.offer_live(seq, &frame, now);
        }
        assert_eq!(client.take(64).len(), 64, "at most `max` at a time");
        while !client.take(64).is_empty() {}
        assert_eq!(
            client.queue.lock().capacity(),
            0,
            "a drained burst keeps no memory"
        );
    }
}
