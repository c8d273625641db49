//! Counters and histograms for `/metrics`.
//!
//! The gateway updates a handful of families from its hot paths with
//! relaxed atomics (no locks: the fan-out observes a histogram per message
//! sent). At scrape time, collectors read them and `prometheus-client`
//! writes the OpenMetrics text ([`exposition`]).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// The content type of [`exposition`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The OpenMetrics text of every collector's metrics.
pub fn exposition(collectors: Vec<Box<dyn Collector>>) -> String {
    let mut registry = Registry::default();
    for collector in collectors {
        registry.register_collector(collector);
    }
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    text
}

/// Writes one counter (`name` without `_total`: the encoder adds it).
pub fn encode_counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> fmt::Result {
    encoder
        .encode_descriptor(name, help, None, MetricType::Counter)?
        .encode_counter::<NoLabelSet, _, u64>(&value, None)
}

/// Writes a family of counters, one per `label` value.
pub fn encode_counters(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    values: &[(&str, u64)],
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (value_of_label, value) in values {
        family
            .encode_family(&[(label, *value_of_label)])?
            .encode_counter::<NoLabelSet, _, u64>(value, None)?;
    }
    Ok(())
}

/// Writes one gauge.
pub fn encode_gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> fmt::Result {
    encoder
        .encode_descriptor(name, help, None, MetricType::Gauge)?
        .encode_gauge(&value)
}

/// Writes a family of gauges, one per `label` value.
pub fn encode_gauges(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    values: &[(&str, i64)],
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (value_of_label, value) in values {
        family
            .encode_family(&[(label, *value_of_label)])?
            .encode_gauge(value)?;
    }
    Ok(())
}

/// Writes a family of histograms, one per `label` value (none: one
/// histogram without labels).
pub fn encode_histograms(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: Option<&str>,
    histograms: &[(&str, &Histogram)],
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
    for (value_of_label, h) in histograms {
        let buckets = h.buckets();
        match label {
            Some(label) => family
                .encode_family(&[(label, *value_of_label)])?
                .encode_histogram::<NoLabelSet>(h.sum_seconds(), h.count(), &buckets, None)?,
            None => {
                family.encode_histogram::<NoLabelSet>(h.sum_seconds(), h.count(), &buckets, None)?
            }
        }
    }
    Ok(())
}

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
    /// Each bucket's own observations (the last: above every bound), so
    /// an observation is three atomic adds however many buckets there are
    /// (a million frames a second are observed by the fan-out's writers).
    buckets: [AtomicU64; BOUNDS.len() + 1],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        self.observe_many(d, 1);
    }

    /// Records `n` observations of the same duration.
    pub fn observe_many(&self, d: Duration, n: u64) {
        let secs = d.as_secs_f64();
        let bucket = BOUNDS
            .iter()
            .position(|bound| secs <= *bound)
            .unwrap_or(BOUNDS.len());
        self.buckets[bucket].fetch_add(n, Relaxed);
        self.count.fetch_add(n, Relaxed);
        self.sum_us.fetch_add(d.as_micros() as u64 * n, Relaxed);
    }

    /// Observations.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// Their sum, seconds.
    pub fn sum_seconds(&self) -> f64 {
        self.sum_us.load(Relaxed) as f64 / 1e6
    }

    /// Each bucket's own count (the encoder accumulates them), the last one
    /// above every bound (`+Inf`).
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        BOUNDS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(&self.buckets)
            .map(|(bound, n)| (bound, n.load(Relaxed)))
            .collect()
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
    /// Vertical rates (derived or reported) outside the physical limit,
    /// not published.
    pub implausible_vertical_rates: Counter,
    /// Ground speeds outside the physical limit, not published.
    pub implausible_groundspeeds: Counter,
}

impl Metrics {
    /// The counters without labels: name, help, counter.
    fn counters(&self) -> [(&'static str, &'static str, &Counter); 8] {
        [
            ("swim_cycles", "Cycles run.", &self.cycles),
            (
                "swim_snapshots_rejected",
                "Snapshots refused whole.",
                &self.snapshots_rejected,
            ),
            ("swim_events", "Events published.", &self.events),
            (
                "swim_cycle_issues",
                "Plugin faults, refused patch fields and dropped plugin events.",
                &self.cycle_issues,
            ),
            (
                "swim_http_requests",
                "HTTP requests answered.",
                &self.http_requests,
            ),
            (
                "swim_ingest_items",
                "Partner ingest items applied (created or updated).",
                &self.ingest_items,
            ),
            (
                "swim_ingest_item_errors",
                "Partner ingest items with a bad field or a refused section.",
                &self.ingest_item_errors,
            ),
            (
                "swim_ingest_not_found",
                "Partner ingest items for flights the gateway does not know.",
                &self.ingest_not_found,
            ),
        ]
    }

    /// The gauges without labels: name, help, gauge.
    fn gauges(&self) -> [(&'static str, &'static str, &Gauge); 5] {
        [
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
        ]
    }
}

impl Collector for Metrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        for (name, help, c) in self.counters() {
            encode_counter(&mut encoder, name, help, c.get())?;
        }
        for (name, help, g) in self.gauges() {
            encode_gauge(&mut encoder, name, help, g.get() as i64)?;
        }
        encode_counters(
            &mut encoder,
            "swim_implausible_values",
            "Motion values outside physical limits, not published.",
            "field",
            &[
                ("vertical_rate_fpm", self.implausible_vertical_rates.get()),
                ("groundspeed_kts", self.implausible_groundspeeds.get()),
            ],
        )?;
        encode_histograms(
            &mut encoder,
            "swim_cycle_stage_seconds",
            "Time per cycle stage.",
            Some("stage"),
            &[
                ("total", &self.cycle_seconds),
                ("parse", &self.parse_seconds),
                ("pipeline", &self.pipeline_seconds),
                ("persist", &self.persist_seconds),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_is_openmetrics_with_cumulative_buckets() {
        let metrics = std::sync::Arc::new(Metrics::default());
        metrics.cycles.add(3);
        metrics.active_flights.set(42);
        for ms in [2, 2, 40, 7_000] {
            metrics.cycle_seconds.observe(Duration::from_millis(ms));
        }
        let text = exposition(vec![Box::new(metrics)]);
        for line in [
            "# TYPE swim_cycles counter",
            "swim_cycles_total 3",
            "swim_active_flights 42",
            "swim_cycle_stage_seconds_count{stage=\"total\"} 4",
            "swim_cycle_stage_seconds_bucket{le=\"0.001\",stage=\"total\"} 0",
            "swim_cycle_stage_seconds_bucket{le=\"0.0025\",stage=\"total\"} 2",
            "swim_cycle_stage_seconds_bucket{le=\"0.05\",stage=\"total\"} 3",
            "swim_cycle_stage_seconds_bucket{le=\"5.0\",stage=\"total\"} 3",
            "swim_cycle_stage_seconds_bucket{le=\"+Inf\",stage=\"total\"} 4",
            "swim_cycle_stage_seconds_sum{stage=\"total\"} 7.044",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
