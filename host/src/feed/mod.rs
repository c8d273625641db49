//! The change feed (docs/ARCHITECTURE.md, storage and the change feed) as consumers read it: the recent events
//! in memory, older ones from the database, and live batches for fan-out.
//!
//! Events arrive here only after their cycle is committed. Readers ask for
//! events after a seq; they get them in order, with no gap, from whichever
//! tier still holds them, and learn the oldest seq still available when
//! they asked for something older (retention).

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::RwLock;
use tokio::sync::broadcast;

pub mod archive;
pub mod epoch;
pub mod event;
pub mod relay;

pub use archive::{ArchiveError, EventArchive};
pub use epoch::{HighWater, ResumeGap};
pub use event::Event;
pub use relay::{Relay, RelayError};

/// How many recent events are kept in memory.
pub const RECENT_EVENTS: usize = 50_000;
/// How many payload bytes of recent events are kept in memory (a
/// `flight.positions` batch of a busy network is megabytes; older events
/// are read from the database).
pub const RECENT_BYTES: usize = 256 << 20;
/// Live batches a slow subscriber may fall behind before it misses some.
/// The fan-out's router falls behind when ingests come faster than it can
/// wake 10,000 writers (100 a second in `swim bench fanout --mode
/// broadcast`); it then takes every batch waiting at once, so a few
/// seconds' worth are enough. Missing some makes every client replay
/// from the feed, far costlier than holding references to the batches.
const LIVE_BACKLOG: usize = 256;

/// One committed cycle's events, shared by every subscriber.
#[derive(Debug, Clone)]
pub struct EventBatch {
    /// The events, in seq order.
    pub events: Arc<Vec<Arc<Event>>>,
    /// When the feed published them.
    pub published: std::time::Instant,
}

/// A page of the change feed.
#[derive(Debug, Default)]
pub struct Page {
    /// The events, in seq order.
    pub events: Vec<Arc<Event>>,
    /// The oldest seq the feed still holds, when the reader asked for an
    /// older one (the events between are gone by retention).
    pub gap_from: Option<u64>,
    /// Set when the read stopped before the committed end because it had
    /// scanned `MAX_SCANNED` archived events without filling the page (a
    /// narrow selection over a long archive): the seq it read up to, where
    /// the next page starts.
    pub scanned_to: Option<u64>,
}

/// Archived events one read looks at, at most, for a selection that
/// matches few of them: a request for one flight's events costs a bounded
/// read however long the archive is, and pages on from `scanned_to`.
pub const MAX_SCANNED: usize = 50_000;

/// Which events a reader wants: channels (`kinds`, as `/events` names
/// them) and, optionally, only those about one flight.
#[derive(Debug, Default, Clone, Copy)]
pub struct Selection<'a> {
    /// Channels; `None` is every channel.
    pub kinds: Option<&'a [String]>,
    /// Only events about this flight.
    pub flight_uid: Option<u64>,
}

impl Selection<'_> {
    fn wants(&self, e: &Event) -> bool {
        self.flight_uid.is_none_or(|uid| e.flight_uid == Some(uid)) && wanted(e, self.kinds)
    }
}

/// The change feed.
pub struct ChangeFeed {
    recent: RwLock<VecDeque<Arc<Event>>>,
    recent_bytes: std::sync::atomic::AtomicUsize,
    capacity: usize,
    last_seq: RwLock<u64>,
    live: broadcast::Sender<EventBatch>,
    /// Older events; none for a feed that only keeps what memory holds.
    archive: Option<Box<dyn EventArchive>>,
    epoch: String,
}

impl ChangeFeed {
    /// A feed whose last committed seq is `last_seq`, with older events
    /// read from `archive` (if any).
    pub fn new(last_seq: u64, archive: Option<Box<dyn EventArchive>>, capacity: usize) -> Self {
        ChangeFeed {
            recent: RwLock::new(VecDeque::with_capacity(capacity.min(4_096))),
            recent_bytes: std::sync::atomic::AtomicUsize::new(0),
            capacity,
            last_seq: RwLock::new(last_seq),
            live: broadcast::channel(LIVE_BACKLOG).0,
            archive,
            epoch: epoch::new_epoch(),
        }
    }

    /// The same feed in `epoch` (the one its database keeps).
    pub fn with_epoch(mut self, epoch: String) -> Self {
        self.epoch = epoch;
        self
    }

    /// The feed's epoch: seqs are positions within it.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Whether a reader may resume after `since` (of `epoch`, if it names
    /// one): not from another epoch, not from beyond the last seq.
    pub fn check_resume(&self, since: u64, epoch: Option<&str>) -> Result<(), ResumeGap> {
        if let Some(given) = epoch.filter(|e| *e != self.epoch) {
            return Err(ResumeGap::OtherEpoch {
                given: given.to_string(),
                current: self.epoch.clone(),
            });
        }
        let last_seq = self.last_seq();
        if since > last_seq {
            return Err(ResumeGap::Ahead {
                since,
                last_seq,
                epoch: self.epoch.clone(),
            });
        }
        Ok(())
    }

    /// The oldest seq a reader can still get (the last seq + 1 when the
    /// feed holds nothing).
    pub fn oldest_seq(&self) -> Result<u64, ArchiveError> {
        let memory = self.recent.read().front().map(|e| e.seq);
        let stored = match &self.archive {
            Some(archive) => archive.oldest_seq()?,
            None => None,
        };
        Ok(stored.or(memory).unwrap_or(self.last_seq() + 1))
    }

    /// The recent events held in memory: how many, and their payload bytes
    /// (bounded by the capacity and [`RECENT_BYTES`]).
    pub fn memory(&self) -> (usize, usize) {
        let held = self.recent.read().len();
        let bytes = self.recent_bytes.load(std::sync::atomic::Ordering::Relaxed);
        (held, bytes)
    }

    /// Its memory gauges, for `/metrics`.
    pub fn metrics(self: &Arc<Self>) -> FeedMetrics {
        FeedMetrics(self.clone())
    }

    /// Whether memory holds every event after `after_seq` (a read of them
    /// touches no database).
    pub fn holds_after(&self, after_seq: u64) -> bool {
        let recent = self.recent.read();
        recent
            .front()
            .is_none_or(|e| after_seq.saturating_add(1) >= e.seq)
    }

    /// The seq of the last published event (0: none yet).
    pub fn last_seq(&self) -> u64 {
        *self.last_seq.read()
    }

    /// Publishes a committed cycle's events.
    pub fn publish(&self, events: Vec<Event>) {
        let Some(last) = events.last().map(|e| e.seq) else {
            return;
        };
        let batch: Vec<Arc<Event>> = events.into_iter().map(Arc::new).collect();
        {
            let mut recent = self.recent.write();
            let mut bytes = self.recent_bytes.load(std::sync::atomic::Ordering::Relaxed);
            for e in &batch {
                bytes += e.data.get().len();
                recent.push_back(e.clone());
            }
            // Keep the newest events within both bounds (at least one).
            while recent.len() > 1 && (recent.len() > self.capacity || bytes > RECENT_BYTES) {
                if let Some(old) = recent.pop_front() {
                    bytes -= old.data.get().len();
                }
            }
            self.recent_bytes
                .store(bytes, std::sync::atomic::Ordering::Relaxed);
            *self.last_seq.write() = last;
        }
        // No subscriber is not an error.
        let _ = self.live.send(EventBatch {
            events: Arc::new(batch),
            published: std::time::Instant::now(),
        });
    }

    /// Drops recent events before `seq` (retention removed them from the
    /// database; memory does not keep them longer).
    pub fn forget_before(&self, seq: u64) {
        let mut recent = self.recent.write();
        let mut dropped = 0;
        while recent.len() > 1 && recent.front().is_some_and(|e| e.seq < seq) {
            if let Some(old) = recent.pop_front() {
                dropped += old.data.get().len();
            }
        }
        self.recent_bytes
            .fetch_sub(dropped, std::sync::atomic::Ordering::Relaxed);
    }

    /// Live batches from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EventBatch> {
        self.live.subscribe()
    }

    /// Up to `limit` events after `after_seq` (optionally only these kinds).
    pub fn after(
        &self,
        after_seq: u64,
        limit: usize,
        kinds: Option<&[String]>,
    ) -> Result<Page, ArchiveError> {
        let selection = Selection {
            kinds,
            flight_uid: None,
        };
        self.selected_after(after_seq, limit, &selection)
    }

    /// Up to `limit` events after `after_seq` that `selection` wants.
    pub fn selected_after(
        &self,
        after_seq: u64,
        limit: usize,
        selection: &Selection,
    ) -> Result<Page, ArchiveError> {
        if let Some(page) = self.read_memory(after_seq, limit, selection) {
            return Ok(page);
        }
        match &self.archive {
            Some(archive) => self.read_archive(archive.as_ref(), after_seq, limit, selection),
            None => Ok(Page::default()),
        }
    }

    /// The page if memory still holds the event after `after_seq`.
    fn read_memory(&self, after_seq: u64, limit: usize, selection: &Selection) -> Option<Page> {
        let recent = self.recent.read();
        let oldest = recent.front().map_or(self.last_seq() + 1, |e| e.seq);
        // Saturating: `after_seq` comes from clients (u64::MAX included).
        let next = after_seq.saturating_add(1);
        if next < oldest && self.archive.is_some() {
            return None;
        }
        let start = recent.partition_point(|e| e.seq <= after_seq);
        let events = recent
            .range(start..)
            .filter(|e| selection.wants(e))
            .take(limit)
            .cloned()
            .collect();
        let gap_from = (next < oldest).then_some(oldest);
        Some(Page {
            events,
            gap_from,
            scanned_to: None,
        })
    }

    fn read_archive(
        &self,
        archive: &dyn EventArchive,
        after_seq: u64,
        limit: usize,
        selection: &Selection,
    ) -> Result<Page, ArchiveError> {
        let oldest = archive.oldest_seq()?.unwrap_or(self.last_seq() + 1);
        let gap_from = (after_seq.saturating_add(1) < oldest).then_some(oldest);
        let mut events = Vec::new();
        let mut cursor = after_seq;
        let mut scanned = 0;
        // Page through the archive until `limit` wanted events are found,
        // the committed end is reached, or `MAX_SCANNED` were looked at.
        while events.len() < limit && cursor < self.last_seq() {
            if scanned >= MAX_SCANNED {
                return Ok(Page {
                    events,
                    gap_from,
                    scanned_to: Some(cursor),
                });
            }
            let rows = archive.events_after(cursor, limit.max(1_000))?;
            let Some(last) = rows.last().map(|e| e.seq) else {
                break;
            };
            scanned += rows.len();
            cursor = last.min(self.last_seq());
            events.extend(
                rows.into_iter()
                    .filter(|e| e.seq <= self.last_seq() && selection.wants(e))
                    .take(limit - events.len())
                    .map(Arc::new),
            );
        }
        Ok(Page {
            events,
            gap_from,
            scanned_to: None,
        })
    }
}

/// Whether an event is on the channels asked for: one a channel names (all
/// when only exclusions are given) and none a `-channel` excludes
/// (`-flight.positions`: everything but the positions batches).
fn wanted(e: &Event, kinds: Option<&[String]>) -> bool {
    let Some(kinds) = kinds else {
        return true;
    };
    let (excluded, included): (Vec<&String>, Vec<&String>) =
        kinds.iter().partition(|k| k.starts_with('-'));
    let excluded = excluded.iter().any(|k| channel_matches(&k[1..], &e.kind));
    let included = included.is_empty() || included.iter().any(|k| channel_matches(k, &e.kind));
    included && !excluded
}

/// Whether a channel name (`flight.departed`, `flight.*`, `*`) covers an event kind.
pub fn channel_matches(channel: &str, kind: &str) -> bool {
    match channel.strip_suffix('*') {
        Some(prefix) => kind.starts_with(prefix),
        None => channel == kind,
    }
}

/// The change feed's memory, for `/metrics`.
pub struct FeedMetrics(Arc<ChangeFeed>);

impl std::fmt::Debug for FeedMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FeedMetrics")
    }
}

impl prometheus_client::collector::Collector for FeedMetrics {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> std::fmt::Result {
        use crate::metrics::encode_gauge;
        let (held, bytes) = self.0.memory();
        encode_gauge(
            &mut encoder,
            "swim_feed_memory_events",
            "Recent change-feed events held in memory.",
            held as i64,
        )?;
        encode_gauge(
            &mut encoder,
            "swim_feed_memory_bytes",
            &format!("Payload bytes of the recent events held in memory (at most {RECENT_BYTES})."),
            bytes as i64,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{CycleWrite, Database};
    use crate::feed::event::payload;

    fn events(seqs: std::ops::RangeInclusive<u64>) -> Vec<Event> {
        seqs.map(|seq| Event {
            seq,
            kind: if seq % 2 == 0 {
                "flight.departed"
            } else {
                "flight.arrived"
            }
            .into(),
            timestamp: seq as i64,
            flight_uid: None,
            data: payload(&seq),
        })
        .collect()
    }

    fn seqs(page: &Page) -> Vec<u64> {
        page.events.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn readers_get_every_event_in_order_from_memory_then_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("swim.db");
        let mut db = Database::open(&path).unwrap();
        let all = events(1..=10);
        db.persist_cycle(&CycleWrite {
            changes: &[],
            events: &all,
            next_seq: 11,
            next_uid: 1,
            disconnected_at: &|_| None,
            programs: &[],
        })
        .unwrap();
        // Memory holds only the last 3.
        let archive = crate::db::SqliteArchive::new(path);
        let feed = ChangeFeed::new(0, Some(Box::new(archive)), 3);
        feed.publish(all);
        assert_eq!(feed.last_seq(), 10);
        assert_eq!(seqs(&feed.after(8, 100, None).unwrap()), [9, 10]);
        assert_eq!(seqs(&feed.after(2, 4, None).unwrap()), [3, 4, 5, 6]);
        let departed = ["flight.departed".to_string()];
        assert_eq!(seqs(&feed.after(0, 3, Some(&departed)).unwrap()), [2, 4, 6]);
        assert_eq!(
            seqs(&feed.after(0, 100, Some(&["flight.*".into()])).unwrap()).len(),
            10
        );
        assert_eq!(feed.after(10, 100, None).unwrap().events.len(), 0);
    }

    #[test]
    fn one_flights_events_are_read_in_bounded_steps_over_a_long_archive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("swim.db");
        let mut db = Database::open(&path).unwrap();
        // 120,000 events; every 40,000th is about flight 7.
        let n = 120_000;
        let mut all = events(1..=n);
        for e in all.iter_mut().filter(|e| e.seq % 40_000 == 0) {
            e.flight_uid = Some(7);
        }
        db.persist_cycle(&CycleWrite {
            changes: &[],
            events: &all,
            next_seq: n + 1,
            next_uid: 1,
            disconnected_at: &|_| None,
            programs: &[],
        })
        .unwrap();
        let archive = crate::db::SqliteArchive::new(path);
        let feed = ChangeFeed::new(0, Some(Box::new(archive)), 10);
        feed.publish(all);
        let flight = Selection {
            kinds: None,
            flight_uid: Some(7),
        };
        let mut found = Vec::new();
        let mut since = 0;
        let mut reads = 0;
        loop {
            let page = feed.selected_after(since, 100, &flight).unwrap();
            reads += 1;
            found.extend(seqs(&page));
            match page.scanned_to {
                Some(to) => {
                    assert!(to > since && to - since <= (MAX_SCANNED + 1_000) as u64);
                    since = to;
                }
                None => break,
            }
        }
        assert_eq!(found, [40_000, 80_000, 120_000]);
        assert!(
            reads >= 3,
            "each read looked at a bounded part: {reads} reads"
        );
    }

    #[test]
    fn without_a_database_a_reader_behind_memory_learns_the_gap() {
        let feed = ChangeFeed::new(0, None, 3);
        let mut live = feed.subscribe();
        feed.publish(events(1..=5));
        let page = feed.after(0, 100, None).unwrap();
        assert_eq!((seqs(&page), page.gap_from), (vec![3, 4, 5], Some(3)));
        assert_eq!(live.try_recv().unwrap().events.len(), 5);
        assert!(channel_matches("*", "system.plugin"));
        let event = |kind: &str| Event {
            seq: 1,
            kind: kind.into(),
            timestamp: 0,
            flight_uid: None,
            data: crate::feed::event::payload(&serde_json::json!({})),
        };
        let but_positions = ["-flight.positions".to_string()];
        assert!(wanted(&event("flight.fast"), Some(&but_positions)));
        assert!(!wanted(&event("flight.positions"), Some(&but_positions)));
        let tmi_not_released = ["tmi.*".to_string(), "-tmi.released".to_string()];
        assert!(wanted(&event("tmi.issued"), Some(&tmi_not_released)));
        assert!(!wanted(&event("tmi.released"), Some(&tmi_not_released)));
        assert!(!wanted(&event("flight.departed"), Some(&tmi_not_released)));
        assert!(!channel_matches("flight.departed", "flight.arrived"));
    }

    #[test]
    fn a_position_from_another_epoch_or_beyond_the_end_is_a_gap() {
        let feed = ChangeFeed::new(0, None, 10).with_epoch("e1".into());
        feed.publish(events(1..=5));
        assert_eq!(feed.check_resume(3, None), Ok(()));
        assert_eq!(feed.check_resume(5, Some("e1")), Ok(()));
        let gap = feed.check_resume(6, None).unwrap_err();
        assert_eq!(gap.param(), "since");
        assert!(
            gap.to_string().contains("beyond the feed's last seq 5"),
            "{gap}"
        );
        let gap = feed.check_resume(2, Some("e0")).unwrap_err();
        assert_eq!(gap.param(), "epoch");
        // The largest seq a client can send neither overflows nor replays.
        assert!(feed.check_resume(u64::MAX, None).is_err());
        assert!(feed.after(u64::MAX, 10, None).unwrap().events.is_empty());
        assert_eq!(feed.oldest_seq().unwrap(), 1);
    }
}
