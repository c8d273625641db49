//! Where the change feed's older events are kept: the seam between the
//! feed (recent events in memory, live batches) and durable storage. The
//! embedded gateway's archive is its SQLite database
//! (`db::SqliteArchive`); another deployment plugs in its own (a cluster's
//! stream) without the feed or its readers changing.

use super::event::Event;

/// Why the archive could not be read (said to the reader as it is).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the change feed's archive cannot be read: {0}")]
pub struct ArchiveError(pub String);

/// Committed events, by seq.
pub trait EventArchive: Send + Sync {
    /// Up to `limit` events after `after_seq`, in seq order.
    fn events_after(&self, after_seq: u64, limit: usize) -> Result<Vec<Event>, ArchiveError>;
    /// The oldest seq still kept (retention removes older ones), if any.
    fn oldest_seq(&self) -> Result<Option<u64>, ArchiveError>;
}
