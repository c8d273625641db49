//! `swim bench cycle`: a synthetic feed of N pilots through the real cycle
//! (parse, merge, the built-in wasm detectors, patches, events), per stage,
//! and the same bytes through a bare `serde_json::Value` parse. Persistence
//! and publishing are not in the cycle yet.

use std::time::{Duration, Instant};

use super::{feed, median_p99};
use crate::pipeline::Pipeline;
use crate::plugin::{Registry, events};
use crate::source::vatsim;

const CYCLE_MS: i64 = 15_000;
const T0: i64 = 1_768_564_800_000;

/// One stage's samples.
#[derive(Default)]
struct Samples(Vec<Duration>);

impl Samples {
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
pub fn run(flights: u64, cycles: usize) -> anyhow::Result<()> {
    println!(
        "bench cycle: {flights} pilots, {cycles} cycles after a warm-up; {}",
        super::machine()
    );
    let plugins = tempfile::tempdir()?;
    let registry = Registry::open(Some(plugins.path().to_path_buf()), None, events::log_only())?;
    let detectors: Vec<String> = registry
        .active(crate::plugin::Kind::Detector)
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    println!("  detectors (wasm): {}", detectors.join(", "));
    let mut pipeline = Pipeline::new(registry, 1, 1);
    let warm = vatsim::parse(&feed::snapshot_bytes(flights, 0))?;
    pipeline.run_snapshot(&warm, T0);

    let (mut parse, mut merge, mut detect, mut patch, mut events, mut total, mut bare) =
        Default::default();
    let (mut changes, mut emitted, mut size) = (0, 0, 0);
    for cycle in 1..=cycles as u64 {
        let bytes = feed::snapshot_bytes(flights, cycle);
        size = bytes.len();
        let started = Instant::now();
        let snapshot = vatsim::parse(&bytes)?;
        let parsed = started.elapsed();
        let out = pipeline.run_snapshot(&snapshot, T0 + cycle as i64 * CYCLE_MS);
        record(&mut total, started.elapsed());
        record(&mut parse, parsed);
        record(&mut merge, out.timings.merge);
        record(&mut detect, out.timings.detect);
        record(&mut patch, out.timings.patch);
        record(&mut events, out.timings.events);
        (changes, emitted) = (changes + out.changes.len(), emitted + out.events.len());
        let started = Instant::now();
        std::hint::black_box(serde_json::from_slice::<serde_json::Value>(&bytes)?);
        record(&mut bare, started.elapsed());
    }
    println!(
        "  snapshot {:.1} MB; per cycle {} changed flights, {} events",
        size as f64 / 1e6,
        changes / cycles.max(1),
        emitted / cycles.max(1)
    );
    for (stage, samples) in [
        ("parse", &mut parse),
        ("merge", &mut merge),
        ("detect (wasm)", &mut detect),
        ("patch", &mut patch),
        ("events", &mut events),
        ("total", &mut total),
        ("bare serde Value", &mut bare),
    ] {
        samples.print(stage);
    }
    Ok(())
}

fn record(samples: &mut Samples, d: Duration) {
    samples.0.push(d);
}
