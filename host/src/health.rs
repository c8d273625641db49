//! What `/health` reports: each source's last success and last error, and
//! the last cycle. Sources and the pipeline write it; REST reads it.

use std::collections::BTreeMap;

use parking_lot::RwLock;
use serde::Serialize;

/// The health of one source.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceHealth {
    /// `vatsim`, `sim`, `replay`.
    pub kind: String,
    /// Where it reads from (a URL, a file), if anywhere.
    pub location: Option<String>,
    /// When a snapshot from it was last applied, epoch ms (wall clock).
    pub last_success_ms: Option<i64>,
    /// That snapshot's own `update_timestamp`.
    pub last_snapshot: Option<String>,
    /// The last error (fetching, or a refused snapshot), if the source has
    /// not succeeded since.
    pub last_error: Option<String>,
    /// When that error happened, epoch ms.
    pub last_error_ms: Option<i64>,
    /// Snapshots applied.
    pub applied: u64,
    /// Snapshots refused whole (bad JSON, not v3...).
    pub rejected: u64,
    /// Snapshots skipped because their `update_timestamp` had not changed.
    pub skipped: u64,
    /// Fetch failures (network, HTTP status).
    pub fetch_errors: u64,
    /// The size of the last applied snapshot, bytes.
    pub last_snapshot_bytes: Option<usize>,
    /// A database source: rows read by its last poll.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_poll_rows: Option<usize>,
    /// A database source: rows (or fields of rows) refused, in all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused_rows: Option<u64>,
    /// The first reasons rows were refused.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refusals: Vec<String>,
}

/// This instance's place in a cluster (docs/CLUSTER.md).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterHealth {
    /// `leader`, `follower`, or `joining` (catching up before either).
    pub role: String,
    /// This instance.
    pub instance_id: String,
    /// The instance holding the lease, if any does.
    pub leader_id: Option<String>,
    /// Where the leader serves HTTP (writes are forwarded there).
    pub leader_url: Option<String>,
    /// The change feed's JetStream stream.
    pub stream: String,
    /// The stream's last seq, as last seen.
    pub stream_last_seq: u64,
    /// How many of the stream's events this instance has not yet published
    /// to its own clients.
    pub stream_lag: u64,
}

/// Every source's health, and the instance's role in a cluster.
#[derive(Debug, Default)]
pub struct Health {
    sources: RwLock<BTreeMap<String, SourceHealth>>,
    cluster: RwLock<Option<ClusterHealth>>,
    /// This cluster member has followed another leader: its picture is
    /// the cluster's, so sources it starts on taking the lease over are
    /// not waited for.
    followed: std::sync::atomic::AtomicBool,
}

impl Health {
    /// The instance's role in its cluster; none for a single gateway.
    pub fn cluster(&self) -> Option<ClusterHealth> {
        self.cluster.read().clone()
    }

    /// Updates the instance's cluster status.
    pub fn set_cluster(&self, update: impl FnOnce(&mut ClusterHealth)) {
        let mut cluster = self.cluster.write();
        let cluster = cluster.get_or_insert_with(ClusterHealth::default);
        update(cluster);
        let another_leads = cluster
            .leader_id
            .as_ref()
            .is_some_and(|leader| *leader != cluster.instance_id);
        if cluster.role == "follower" && another_leads {
            self.followed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Registers a source.
    pub fn add_source(&self, name: &str, kind: &str, location: Option<String>) {
        self.sources.write().insert(
            name.to_string(),
            SourceHealth {
                kind: kind.to_string(),
                location,
                ..SourceHealth::default()
            },
        );
    }

    /// A snapshot of every source's health.
    pub fn sources(&self) -> BTreeMap<String, SourceHealth> {
        self.sources.read().clone()
    }

    /// The sources that have neither delivered nor failed yet: until each
    /// has, `/health` says `starting` (a gateway that has read nothing
    /// has nothing true to serve, and a feed that never answers must not
    /// look healthy for its first 15-30 s).
    pub fn waiting_for(&self) -> Vec<String> {
        if self.followed.load(std::sync::atomic::Ordering::Relaxed) {
            return Vec::new();
        }
        self.sources
            .read()
            .iter()
            .filter(|(_, s)| s.last_success_ms.is_none() && s.last_error.is_none())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Whether every source's last attempt succeeded.
    pub fn all_ok(&self) -> bool {
        self.sources.read().values().all(|s| s.last_error.is_none())
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut SourceHealth)) {
        f(self.sources.write().entry(name.to_string()).or_default());
    }

    /// The `update_timestamp` and size of the last snapshot applied from
    /// `name`: a poller may skip a body only if it matches both (a refused
    /// or truncated body is never "unchanged").
    pub fn last_applied(&self, name: &str) -> Option<(String, usize)> {
        let sources = self.sources.read();
        let s = sources.get(name)?;
        Some((s.last_snapshot.clone()?, s.last_snapshot_bytes?))
    }

    /// A snapshot of `len` bytes from `name` was applied.
    pub fn applied(&self, name: &str, update_timestamp: &str, len: usize) {
        self.update(name, |s| {
            s.applied += 1;
            s.last_success_ms = Some(wall_ms());
            s.last_snapshot = Some(update_timestamp.to_string());
            s.last_snapshot_bytes = Some(len);
            s.last_error = None;
            s.last_error_ms = None;
        });
    }

    /// A snapshot from `name` was refused whole.
    pub fn rejected(&self, name: &str, error: &str) {
        self.update(name, |s| {
            s.rejected += 1;
            s.last_error = Some(format!("snapshot rejected: {error}"));
            s.last_error_ms = Some(wall_ms());
        });
    }

    /// Fetching from `name` failed.
    pub fn fetch_failed(&self, name: &str, error: &str) {
        self.update(name, |s| {
            s.fetch_errors += 1;
            s.last_error = Some(format!("fetch failed: {error}"));
            s.last_error_ms = Some(wall_ms());
        });
    }

    /// A database source's poll of `rows` rows was applied; `refused` are
    /// the rows (or fields) it refused, with why. The first `keep`
    /// reasons are kept.
    pub fn polled(&self, name: &str, rows: usize, refused: &[String], keep: usize) {
        self.update(name, |s| {
            s.applied += 1;
            s.last_success_ms = Some(wall_ms());
            s.last_error = None;
            s.last_error_ms = None;
            s.last_poll_rows = Some(rows);
            *s.refused_rows.get_or_insert(0) += refused.len() as u64;
            let room = keep.saturating_sub(s.refusals.len());
            s.refusals.extend(refused.iter().take(room).cloned());
        });
    }

    /// `name` served the same snapshot as the last applied one again (so
    /// the source is reachable and its data current).
    pub fn skipped(&self, name: &str) {
        self.update(name, |s| {
            s.skipped += 1;
            s.last_success_ms = Some(wall_ms());
            s.last_error = None;
            s.last_error_ms = None;
        });
    }
}

/// The wall clock, epoch ms.
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_poll_counts_every_refused_row_and_keeps_the_first_reasons() {
        let health = Health::default();
        health.add_source("adl", "adl", Some("db:1433".into()));
        health.fetch_failed("adl", "connecting to db:1433: refused");
        assert!(!health.all_ok());
        let reasons: Vec<String> = (0..4).map(|i| format!("row {i}")).collect();
        health.polled("adl", 120, &reasons, 5);
        health.polled("adl", 3, &reasons, 5);
        let adl = &health.sources()["adl"];
        assert!(health.all_ok(), "a good poll clears the error");
        assert_eq!(adl.refused_rows, Some(8));
        assert_eq!(adl.refusals, ["row 0", "row 1", "row 2", "row 3", "row 0"]);
        assert_eq!(adl.last_poll_rows, Some(3));
        assert_eq!(adl.applied, 2);
    }

    #[test]
    fn a_source_is_waited_for_until_it_first_delivers_or_fails() {
        let health = Health::default();
        health.add_source("vatsim", "vatsim", None);
        health.add_source("adl", "adl", None);
        assert_eq!(health.waiting_for(), ["adl", "vatsim"]);
        health.fetch_failed("vatsim", "404 Not Found");
        assert_eq!(health.waiting_for(), ["adl"], "failing once is an answer");
        health.polled("adl", 0, &[], 1);
        assert!(health.waiting_for().is_empty());
    }

    #[test]
    fn a_member_that_followed_another_leader_waits_for_no_source_it_takes_over() {
        let first = Health::default();
        first.set_cluster(|c| {
            (c.role, c.instance_id) = ("follower".into(), "gw-1".into());
        });
        first.add_source("sim", "sim", None);
        assert_eq!(
            first.waiting_for(),
            ["sim"],
            "no leader yet: the first one waits"
        );
        let next = Health::default();
        next.set_cluster(|c| {
            (c.role, c.instance_id) = ("follower".into(), "gw-2".into());
            c.leader_id = Some("gw-1".into());
        });
        next.set_cluster(|c| c.role = "leader".into());
        next.add_source("sim", "sim", None);
        assert!(
            next.waiting_for().is_empty(),
            "it serves the cluster's picture"
        );
    }
}
