//! Stream positions: a seq is only meaningful within its feed's *epoch*
//! (as Centrifugo's `StreamPosition {offset, epoch}`). The epoch changes
//! whenever the feed starts over: a new database, or one restored from a
//! backup (its seqs rewind and are then reused for other events). A
//! client resuming with a seq from another epoch, or beyond the feed's
//! last seq, is told `RESUME_GAP` instead of being replayed (or left
//! silent) from a position that means something else now.
//!
//! A restored database is recognised by its high-water mark: a small file
//! in the data dir, `feed-position`, holds the epoch and the highest seq
//! published, written after commits. A database whose last seq is below
//! the mark of its own epoch has gone back in time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a resume position cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeGap {
    /// The position is from another epoch (the feed started over since).
    #[error(
        "epoch {given:?} is not this feed's ({current:?}): the feed started over since; the client must reload its state"
    )]
    OtherEpoch {
        /// The epoch the client named.
        given: String,
        /// The feed's.
        current: String,
    },
    /// The position is past the last seq the feed has published.
    #[error(
        "since={since} is beyond the feed's last seq {last_seq}: the position is not from this feed (epoch {epoch:?}); the client must reload its state"
    )]
    Ahead {
        /// The seq asked for.
        since: u64,
        /// The feed's last seq.
        last_seq: u64,
        /// The feed's epoch.
        epoch: String,
    },
}

impl ResumeGap {
    /// The parameter that was wrong (`epoch` or `since`).
    pub fn param(&self) -> &'static str {
        match self {
            ResumeGap::OtherEpoch { .. } => "epoch",
            ResumeGap::Ahead { .. } => "since",
        }
    }
}

/// A fresh epoch: 16 hex digits from the system's randomness.
pub fn new_epoch() -> String {
    let mut bytes = [0u8; 8];
    // Without randomness the time still makes a new epoch unlikely to repeat.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = (crate::health::wall_ms() as u64).to_le_bytes();
    }
    hex::encode(bytes)
}

/// How often the high-water mark is written at most.
const WRITE_EVERY: Duration = Duration::from_secs(1);

/// The `feed-position` file: the epoch and the highest seq published.
pub struct HighWater {
    path: PathBuf,
    written: Option<Instant>,
}

impl HighWater {
    /// The mark in `data_dir`.
    pub fn in_dir(data_dir: &Path) -> HighWater {
        HighWater {
            path: data_dir.join("feed-position"),
            written: None,
        }
    }

    /// The epoch and seq it holds, if it holds any.
    pub fn read(&self) -> Option<(String, u64)> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let (epoch, seq) = text.trim().split_once(' ')?;
        Some((epoch.to_string(), seq.parse().ok()?))
    }

    /// Records `seq` of `epoch`, at most once a second (a mark that lags
    /// behind the database is harmless; only one ahead of it means a
    /// restore).
    pub fn note(&mut self, epoch: &str, seq: u64) {
        if self.written.is_some_and(|t| t.elapsed() < WRITE_EVERY) {
            return;
        }
        self.written = Some(Instant::now());
        self.write(epoch, seq);
    }

    /// Records `seq` of `epoch` now.
    pub fn write(&self, epoch: &str, seq: u64) {
        let tmp = self.path.with_extension("tmp");
        let written = std::fs::write(&tmp, format!("{epoch} {seq}\n"))
            .and_then(|()| std::fs::rename(&tmp, &self.path));
        if let Err(e) = written {
            tracing::warn!(path = %self.path.display(), "feed position not written: {e}");
        }
    }

    /// Whether a database of `epoch` whose last seq is `last_seq` has gone
    /// back in time (restored from a backup).
    pub fn rewound(&self, epoch: &str, last_seq: u64) -> bool {
        self.read()
            .is_some_and(|(marked, seq)| marked == epoch && seq > last_seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_behind_its_own_mark_has_been_restored() {
        let dir = tempfile::tempdir().unwrap();
        let mut mark = HighWater::in_dir(dir.path());
        assert!(!mark.rewound("e1", 0), "no mark yet");
        mark.note("e1", 500);
        assert_eq!(mark.read(), Some(("e1".into(), 500)));
        assert!(mark.rewound("e1", 400), "seqs 401..500 would be reused");
        assert!(!mark.rewound("e1", 500));
        assert!(!mark.rewound("e2", 10), "another epoch's mark says nothing");
        // At most once a second.
        mark.note("e1", 600);
        assert_eq!(mark.read(), Some(("e1".into(), 500)));
        assert_ne!(new_epoch(), new_epoch());
        assert_eq!(new_epoch().len(), 16);
    }
}
