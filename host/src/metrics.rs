//! Counters and histograms for `/metrics` (Prometheus text format).
//!
//! A handful of families the gateway updates from its hot paths with
//! relaxed atomics; rendering walks them on request.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }

    /// The count.
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    /// Sets it.
    pub fn set(&self, v: u64) {
        self.0.store(v, Relaxed);
    }

    /// The value.
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// Bucket bounds of duration histograms, seconds.
const BOUNDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// A histogram of durations.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BOUNDS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (bound, bucket) in BOUNDS.iter().zip(&self.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add(d.as_micros() as u64, Relaxed);
    }

    /// Appends the histogram's Prometheus lines.
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, bucket) in BOUNDS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {}",
                bucket.load(Relaxed)
            );
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let sum = self.sum_us.load(Relaxed) as f64 / 1e6;
        let braces = |l: &str| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{{{l}}}")
            }
        };
        let _ = writeln!(out, "{name}_sum{} {sum}", braces(labels));
        let _ = writeln!(out, "{name}_count{} {count}", braces(labels));
    }
}

/// The gateway's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Cycles run.
    pub cycles: Counter,
    /// Snapshots refused whole.
    pub snapshots_rejected: Counter,
    /// Events published.
    pub events: Counter,
    /// Plugin faults and refused patches.
    pub cycle_issues: Counter,
    /// Flights in the store.
    pub flights: Gauge,
    /// Active flights.
    pub active_flights: Gauge,
    /// The last published seq.
    pub last_seq: Gauge,
    /// 1 on a cluster's leader (and a single gateway), 0 on a follower.
    pub is_leader: Gauge,
    /// Events in the cluster's stream this instance has not yet published.
    pub stream_lag: Gauge,
    /// Whole cycle: parse to publish.
    pub cycle_seconds: Histogram,
    /// Parse.
    pub parse_seconds: Histogram,
    /// Merge, detect, patch and events.
    pub pipeline_seconds: Histogram,
    /// The database transaction.
    pub persist_seconds: Histogram,
    /// HTTP requests answered.
    pub http_requests: Counter,
    /// Partner items applied (created or updated).
    pub ingest_items: Counter,
    /// Partner items with a problem (bad field, refused section).
    pub ingest_item_errors: Counter,
    /// Partner items for flights the gateway does not know.
    pub ingest_not_found: Counter,
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = [
            ("swim_cycles_total", "Cycles run.", &self.cycles),
            (
                "swim_snapshots_rejected_total",
                "Snapshots refused whole.",
                &self.snapshots_rejected,
            ),
            ("swim_events_total", "Events published.", &self.events),
            (
                "swim_cycle_issues_total",
                "Plugin faults, refused patch fields and dropped plugin events.",
                &self.cycle_issues,
            ),
            (
                "swim_http_requests_total",
                "HTTP requests answered.",
                &self.http_requests,
            ),
            (
                "swim_ingest_items_total",
                "Partner ingest items applied (created or updated).",
                &self.ingest_items,
            ),
            (
                "swim_ingest_item_errors_total",
                "Partner ingest items with a bad field or a refused section.",
                &self.ingest_item_errors,
            ),
            (
                "swim_ingest_not_found_total",
                "Partner ingest items for flights the gateway does not know.",
                &self.ingest_not_found,
            ),
        ];
        for (name, help, c) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                c.get()
            );
        }
        let gauges = [
            ("swim_flights", "Flights in the store.", &self.flights),
            (
                "swim_active_flights",
                "Connected flights.",
                &self.active_flights,
            ),
            ("swim_last_seq", "The last published seq.", &self.last_seq),
            (
                "swim_cluster_leader",
                "1 on the cluster's leader, 0 on a follower (and a single gateway).",
                &self.is_leader,
            ),
            (
                "swim_cluster_stream_lag",
                "Events in the cluster's stream this instance has not yet published.",
                &self.stream_lag,
            ),
        ];
        for (name, help, g) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}",
                g.get()
            );
        }
        let name = "swim_cycle_stage_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time per cycle stage.\n# TYPE {name} histogram"
        );
        for (stage, h) in [
            ("total", &self.cycle_seconds),
            ("parse", &self.parse_seconds),
            ("pipeline", &self.pipeline_seconds),
            ("persist", &self.persist_seconds),
        ] {
            h.render(&mut out, name, &format!("stage=\"{stage}\""));
        }
        out
    }
}
