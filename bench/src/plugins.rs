//! `swim bench plugins`: each built-in plugin over a batch, as wasm through
//! the real runtime and as the same Rust logic called natively.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::inputs;
use super::measure::median_p99;
use super::slots::builtin_slot;
use swim::plugin::columns::ReadSet;
use swim::plugin::slot::{DEFAULT_FILTER_BUDGET_PERCENT, FilterTrial};
use swim::plugin::source;
use swim::plugin::{Loader, Slot};
use swim::wit::{self, Context};
use vatswim_plugin_api as guest;
use vatswim_plugin_api::{Detector, IngestAdapter, SubscriptionFilter};

/// One plugin's figures.
struct Figures {
    plugin: &'static str,
    items: usize,
    wasm: Duration,
    native: Duration,
}

impl Figures {
    fn print(&self) {
        let per = |d: Duration| d.as_nanos() as f64 / self.items as f64;
        println!(
            "{:<8} {:>8} items  wasm {:>9.1} ns/item  native {:>9.1} ns/item  ratio {:>5.2}x",
            self.plugin,
            self.items,
            per(self.wasm),
            per(self.native),
            per(self.wasm) / per(self.native).max(0.001)
        );
    }
}

/// Runs every plugin benchmark and prints a line each.
pub fn run(items: usize, rounds: usize, examples: Option<&std::path::Path>) -> anyhow::Result<()> {
    println!(
        "bench plugins: {items} items per batch, median of {rounds} batches; {}",
        super::machine()
    );
    let loader = super::slots::loader(None)?;
    detectors(&loader, items, rounds)?;
    track(&loader, items, rounds)?.print();
    fleet(&loader, items, rounds)?.print();
    if let Some(dir) = examples {
        super::examples::run(&loader, dir, items, rounds)?;
    }
    Ok(())
}

/// Times each of `runs` over `rounds` rounds (after one warm-up each),
/// taking turns so that a slow moment of a shared machine falls on all of
/// them alike; the medians, in order.
fn time_interleaved<const N: usize>(
    rounds: usize,
    mut runs: [Box<dyn FnMut() + '_>; N],
) -> [Duration; N] {
    let mut samples: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::new());
    for run in runs.iter_mut() {
        run();
    }
    for _ in 0..rounds.max(1) {
        for (run, taken) in runs.iter_mut().zip(samples.iter_mut()) {
            let started = Instant::now();
            run();
            taken.push(started.elapsed());
        }
    }
    samples.map(|mut taken| median_p99(&mut taken).0)
}

/// A built-in detector's benchmark: its name, its native twin, the context
/// both get, and the changes (built for the columns the plugin reads).
struct DetectorBench<D> {
    name: &'static str,
    native: D,
    contexts: (Context, guest::Context),
    changes: fn(u64, ReadSet) -> wit::Changes,
}

/// The detectors: trivial ones (squawk, edct: a comparison or two per
/// flight) show what the boundary costs; departure and arrival do work.
fn detectors(loader: &Loader, items: usize, rounds: usize) -> anyhow::Result<()> {
    let config = || serde_json::json!({});
    let none = || (Context::empty(0), guest_context(vec![]));
    let squawk = DetectorBench {
        name: "squawk",
        native: init(squawk::Squawk::init(config()))?,
        contexts: none(),
        changes: inputs::squawk_changes,
    };
    detector(loader, squawk, items, rounds)?;
    let quiet = DetectorBench {
        name: "squawk",
        native: init(squawk::Squawk::init(config()))?,
        contexts: none(),
        changes: inputs::quiet_changes,
    };
    println!("(squawk again, no flight squawking an emergency: the boundary without the events)");
    detector(loader, quiet, items, rounds)?;
    let edct = DetectorBench {
        name: "edct",
        native: init(edct::Edct::init(config()))?,
        contexts: none(),
        changes: inputs::edct_changes,
    };
    detector(loader, edct, items, rounds)?;
    let departure = DetectorBench {
        name: "departure",
        native: init(departure::Departure::init(config()))?,
        contexts: inputs::airport_contexts(300),
        changes: inputs::departure_changes,
    };
    detector(loader, departure, items, rounds)?;
    let arrival = DetectorBench {
        name: "arrival",
        native: init(arrival::Arrival::init(config()))?,
        contexts: inputs::airport_contexts(300),
        changes: inputs::arrival_changes,
    };
    detector(loader, arrival, items, rounds)
}

fn init<D>(made: Result<D, String>) -> anyhow::Result<D> {
    made.map_err(anyhow::Error::msg)
}

fn guest_context(airports: Vec<guest::Airport>) -> guest::Context {
    guest::Context {
        now: 0,
        airports,
        programs: vec![],
        program_changes: vec![],
    }
}

/// One detector as wasm with its manifest's `reads`, as wasm reading whole
/// sections (what `reads` could say before single columns), and natively;
/// every call's events are counted against the native run's.
fn detector<D: Detector>(
    loader: &Loader,
    bench: DetectorBench<D>,
    items: usize,
    rounds: usize,
) -> anyhow::Result<()> {
    let (ctx, guest_ctx) = &bench.contexts;
    let guest_changes = inputs::guest_changes((bench.changes)(items as u64, ReadSet::ALL));
    let expected = bench.native.detect(guest_ctx, &guest_changes).events.len();
    let native = || {
        let detection = bench
            .native
            .detect(guest_ctx, std::hint::black_box(&guest_changes));
        assert_eq!(detection.events.len(), expected);
    };
    let wasm = |slot: Arc<Slot>| {
        let reads = slot.current().map_or(ReadSet::ALL, |v| v.read_set());
        let changes = (bench.changes)(items as u64, reads);
        move || {
            let detection = slot.detect(ctx, &changes).expect("detect");
            assert_eq!(
                detection.events.len(),
                expected,
                "wasm {} found other events than native",
                bench.name
            );
        }
    };
    let columns = wasm(builtin_slot(loader, bench.name, None)?);
    let sections = wasm(builtin_slot(
        loader,
        bench.name,
        Some(whole_sections(bench.name)?),
    )?);
    let [native, columns, sections] = time_interleaved(
        rounds,
        [
            Box::new(native) as Box<dyn FnMut() + '_>,
            Box::new(columns),
            Box::new(sections),
        ],
    );
    for (plugin, wasm) in [(bench.name, columns), ("  sections", sections)] {
        Figures {
            plugin,
            items,
            wasm,
            native,
        }
        .print();
    }
    Ok(())
}

/// A built-in's manifest with each `reads` entry widened to its section.
fn whole_sections(name: &str) -> anyhow::Result<String> {
    let builtin = source::builtin(name).ok_or_else(|| anyhow::anyhow!("no built-in {name}"))?;
    let mut manifest = swim::plugin::Manifest::parse(builtin.manifest, name)?;
    manifest.reads = manifest.reads.map(|reads| {
        reads
            .iter()
            .filter_map(|r| r.split('.').next().map(str::to_string))
            .collect()
    });
    Ok(toml::to_string(&manifest)?)
}

fn track(loader: &Loader, items: usize, rounds: usize) -> anyhow::Result<Figures> {
    let manifest = format!(
        "name = \"track\"\nkind = \"ingest-adapter\"\nroute = \"track\"\nmax_items = {items}\n[limits]\ncall_timeout_ms = 10000\nmemory_mb = 512\n"
    );
    let slot = builtin_slot(loader, "track", Some(manifest))?;
    let body = inputs::track_body(items);
    let wasm = || {
        let parsed = slot
            .parse("application/json", &body)
            .expect("track call")
            .expect("track parse");
        assert_eq!(parsed.items.len(), items, "wasm track lost items");
    };
    let native_plugin = track::TrackAdapter::init(serde_json::json!({ "max_items": items }))
        .map_err(anyhow::Error::msg)?;
    let native = || {
        let parsed = native_plugin
            .parse("application/json", std::hint::black_box(&body))
            .expect("track parse");
        assert_eq!(parsed.items.len(), items, "native track lost items");
    };
    let [wasm, native] = time_interleaved(rounds, [Box::new(wasm), Box::new(native)]);
    Ok(Figures {
        plugin: "track",
        items,
        wasm,
        native,
    })
}

fn fleet(loader: &Loader, items: usize, rounds: usize) -> anyhow::Result<Figures> {
    let slot = builtin_slot(loader, "fleet", None)?;
    slot.compile_filter(inputs::FLEET_PARAMS, &FilterTrial::default())?;
    let host_subjects = inputs::subjects(items as u64);
    let guest_subjects = inputs::guest_subjects(inputs::subjects(items as u64));
    let count = |matches: &[wit::Matches]| matches.iter().map(|m| m.subjects.len()).sum::<usize>();
    let expected = count(
        &slot
            .match_batch(&host_subjects, DEFAULT_FILTER_BUDGET_PERCENT)?
            .matches,
    );
    let wasm = || {
        let matches = slot
            .match_batch(&host_subjects, DEFAULT_FILTER_BUDGET_PERCENT)
            .expect("fleet match")
            .matches;
        assert_eq!(count(&matches), expected);
    };
    let native_plugin = fleet::Fleet::init(serde_json::json!({})).map_err(anyhow::Error::msg)?;
    let params: serde_json::Value = serde_json::from_str(inputs::FLEET_PARAMS)?;
    let compiled = native_plugin.compile(params).map_err(anyhow::Error::msg)?;
    let native = || {
        let hits: Vec<u32> = guest_subjects
            .iter()
            .filter(|s| native_plugin.matches(&compiled, s))
            .map(|s| s.index)
            .collect();
        assert_eq!(
            hits.len(),
            expected,
            "native fleet disagrees with wasm fleet"
        );
    };
    let [wasm, native] = time_interleaved(rounds, [Box::new(wasm), Box::new(native)]);
    Ok(Figures {
        plugin: "fleet",
        items,
        wasm,
        native,
    })
}
