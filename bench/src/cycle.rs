//! `swim bench cycle`: N pilots through the whole cycle as the gateway runs
//! it (parse, merge, the built-in wasm detectors, patches, events, the
//! SQLite transaction, the REST view, publishing), per stage, and the same
//! bytes through a bare `serde_json::Value` parse for scale. "pipeline
//! thread" is the cycle without the parse: in the gateway a source's
//! delivery parses on a blocking thread, beside the pipeline's.
//!
//! Feeds: `sim` (the simulator: real airports, flights at every stage of
//! their life, parked ones unchanged) or `synthetic` (every pilot moving
//! every cycle, ~850 bytes per pilot like the real feed's long remarks).

use std::time::{Duration, Instant};

use super::{feed, median_p99};
use swim::db::{Checkpointer, CycleWrite, Database};
use swim::feed::ChangeFeed;
use swim::pipeline::Pipeline;
use swim::pipeline::throttle::WriteThrottle;
use swim::plugin::{Registry, events};
use swim::reference::AirportTable;
use swim::source::sim::{SimConfig, Simulator};
use swim::source::vatsim;
use swim::store::FlightsView;

/// Where the bench's snapshots come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchFeed {
    /// The traffic simulator.
    Sim,
    /// Every pilot moving every cycle, long remarks.
    Synthetic,
}

/// Makes the snapshot of each cycle.
fn generator(kind: BenchFeed, flights: u64) -> Box<dyn FnMut(u64) -> Vec<u8>> {
    match kind {
        BenchFeed::Synthetic => Box::new(move |cycle| feed::snapshot_bytes(flights, cycle)),
        BenchFeed::Sim => {
            let config = SimConfig {
                seed: 1,
                flights: flights as usize,
                interval_ms: CYCLE_MS,
                start_ms: T0,
                hub: None,
            };
            let mut sim = Simulator::new(config, AirportTable::embedded());
            Box::new(move |_| sim.next_snapshot())
        }
    }
}

const CYCLE_MS: i64 = 15_000;
const T0: i64 = 1_768_564_800_000;

/// One stage's samples.
#[derive(Default)]
struct Samples(Vec<Duration>);

impl Samples {
    fn add(&mut self, d: Duration) {
        self.0.push(d);
    }

    fn print(&mut self, stage: &str) {
        let (median, p99) = median_p99(&mut self.0);
        println!(
            "  {stage:<16} median {:>8.2} ms   p99 {:>8.2} ms",
            ms(median),
            ms(p99)
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `cycles` timed cycles of `flights` pilots after one warm-up cycle.
pub fn run(flights: u64, cycles: usize, kind: BenchFeed) -> anyhow::Result<()> {
    println!(
        "bench cycle: {flights} pilots ({kind:?} feed), {cycles} cycles after a warm-up; {}",
        super::machine()
    );
    let mut next_bytes = generator(kind, flights);
    let data = tempfile::tempdir()?;
    let mut db = Database::open(&data.path().join("swim.db"))?;
    let _checkpointer = Checkpointer::spawn(&data.path().join("swim.db"), Duration::from_secs(2))?;
    let feed_out = ChangeFeed::new(0, None, swim::feed::RECENT_EVENTS);
    let plugins = tempfile::tempdir()?;
    let registry = Registry::open(Some(plugins.path().to_path_buf()), None, events::log_only())?;
    let detectors: Vec<String> = registry
        .active(swim::plugin::Kind::Detector)
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    println!("  detectors (wasm): {}", detectors.join(", "));
    let mut pipeline = Pipeline::new(registry.clone(), 1, 1);
    let warm = vatsim::parse(&next_bytes(0))?;
    let out = pipeline.run_snapshot(&warm, T0);
    let mut throttle = WriteThrottle::default();
    persist(&mut db, &pipeline, &out, &mut throttle, T0)?;

    let mut stages = Stages::default();
    let (mut changes, mut emitted, mut size, mut rows) = (0, 0, 0, 0);
    for cycle in 1..=cycles as u64 {
        let bytes = next_bytes(cycle);
        size = bytes.len();
        let started = Instant::now();
        let snapshot = vatsim::parse(&bytes)?;
        let parsed = started.elapsed();
        let now = T0 + cycle as i64 * CYCLE_MS;
        let out = pipeline.run_snapshot(&snapshot, now);
        let lap = Instant::now();
        rows += persist(&mut db, &pipeline, &out, &mut throttle, now)?;
        stages.persisted.add(lap.elapsed());
        let lap = Instant::now();
        std::hint::black_box(FlightsView::build(pipeline.store(), cycle, 0));
        stages.viewed.add(lap.elapsed());
        let lap = Instant::now();
        feed_out.publish(out.events.clone());
        stages.published.add(lap.elapsed());
        stages.add_cycle(started.elapsed(), parsed, &out.timings);
        (changes, emitted) = (changes + out.changes.len(), emitted + out.events.len());
        let started = Instant::now();
        std::hint::black_box(serde_json::from_slice::<serde_json::Value>(&bytes)?);
        stages.bare.add(started.elapsed());
    }
    println!(
        "  snapshot {:.1} MB; per cycle {} changed flights, {} rows written, {} events",
        size as f64 / 1e6,
        changes / cycles.max(1),
        rows / cycles.max(1),
        emitted / cycles.max(1)
    );
    stages.print();
    print_detector_calls(&registry, &detectors);
    Ok(())
}

/// Each detector's mean time a call, as the registry measured it.
fn print_detector_calls(registry: &Registry, detectors: &[String]) {
    let calls: Vec<String> = registry
        .statuses()
        .iter()
        .filter(|s| detectors.contains(&s.name))
        .map(|s| format!("{} {:.2}", s.name, s.mean_call_us / 1000.0))
        .collect();
    println!(
        "  detect per detector, mean ms a call: {}",
        calls.join(", ")
    );
}

/// The cycle's SQLite transaction, as the pipeline's thread writes it;
/// returns how many flight rows it wrote.
fn persist(
    db: &mut Database,
    pipeline: &Pipeline,
    out: &swim::pipeline::CycleOutput,
    throttle: &mut WriteThrottle,
    now: i64,
) -> anyhow::Result<usize> {
    let store = pipeline.store();
    let rows = throttle.rows(&out.changes, now);
    db.persist_cycle(&CycleWrite {
        changes: &rows,
        events: &out.events,
        next_seq: pipeline.next_seq(),
        next_uid: store.next_uid(),
        disconnected_at: &|uid| store.disconnected_at(uid),
        programs: &[],
    })?;
    Ok(rows.len())
}

/// Each stage's time, cycle by cycle.
#[derive(Default)]
struct Stages {
    parse: Samples,
    merge: Samples,
    detect: Samples,
    patch: Samples,
    events: Samples,
    persisted: Samples,
    viewed: Samples,
    published: Samples,
    total: Samples,
    worker: Samples,
    bare: Samples,
}

impl Stages {
    /// A cycle's total, its parse, and the pipeline's own stages.
    fn add_cycle(
        &mut self,
        total: Duration,
        parsed: Duration,
        timings: &swim::pipeline::StageTimings,
    ) {
        self.total.add(total);
        self.worker.add(total - parsed);
        self.parse.add(parsed);
        self.merge.add(timings.merge);
        self.detect.add(timings.detect);
        self.patch.add(timings.patch);
        self.events.add(timings.events);
    }

    /// Median and p99 per stage, then the total against a bare parse.
    fn print(&mut self) {
        for (stage, samples) in [
            ("parse", &mut self.parse),
            ("merge", &mut self.merge),
            ("detect (wasm)", &mut self.detect),
            ("patch", &mut self.patch),
            ("events", &mut self.events),
            ("persist (SQLite)", &mut self.persisted),
            ("view (REST)", &mut self.viewed),
            ("publish", &mut self.published),
            ("total", &mut self.total),
            ("pipeline thread", &mut self.worker),
            ("bare serde Value", &mut self.bare),
        ] {
            samples.print(stage);
        }
        let bare = median_p99(&mut self.bare.0).0.as_secs_f64();
        println!(
            "  total / bare parse {:.2}x; the pipeline thread's share (the parse runs beside it) {:.2}x",
            median_p99(&mut self.total.0).0.as_secs_f64() / bare,
            median_p99(&mut self.worker.0).0.as_secs_f64() / bare,
        );
    }
}
