//! `swim bench plugins`: each built-in plugin over a batch, as wasm through
//! the real runtime and as the same Rust logic called natively.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::inputs;
use super::median_p99;
use crate::plugin::engine::Tier;
use crate::plugin::source::{self, Source};
use crate::plugin::version::{FilterParams, Origin};
use crate::plugin::{Loader, Slot, events};
use crate::wit::{self, Context};
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
    let loader = Loader::new(None)?;
    squawk(&loader, items, rounds)?.print();
    departure(&loader, items, rounds)?.print();
    track(&loader, items, rounds)?.print();
    fleet(&loader, items, rounds)?.print();
    if let Some(dir) = examples {
        super::examples::run(&loader, dir, items, rounds)?;
    }
    Ok(())
}

/// Loads a built-in into a fresh slot, with `manifest` replacing its own if given.
pub(super) fn builtin_slot(
    loader: &Loader,
    name: &str,
    manifest: Option<String>,
) -> anyhow::Result<Arc<Slot>> {
    let builtin = source::builtin(name).ok_or_else(|| anyhow::anyhow!("no built-in {name}"))?;
    installed(
        loader,
        Source {
            name: name.into(),
            origin: Origin::Builtin,
            bytes: builtin.wasm.to_vec(),
            manifest: Some(manifest.unwrap_or_else(|| builtin.manifest.to_string())),
        },
    )
}

/// `source`'s optimized build in a fresh slot.
pub(super) fn installed(loader: &Loader, source: Source) -> anyhow::Result<Arc<Slot>> {
    let slot = Arc::new(Slot::new(&source.name, events::log_only()));
    let version = loader.load(&source, FilterParams::default(), Tier::Optimized)?;
    slot.install(Arc::new(version));
    Ok(slot)
}

/// Times `f` over `rounds` runs (after one warm-up) and returns the median.
pub(super) fn time_median(rounds: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut samples: Vec<Duration> = (0..rounds.max(1))
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    median_p99(&mut samples).0
}

fn squawk(loader: &Loader, items: usize, rounds: usize) -> anyhow::Result<Figures> {
    let slot = builtin_slot(loader, "squawk", None)?;
    let mask = slot.current().map_or(0, |v| v.read_mask());
    let host_changes = inputs::squawk_changes(items as u64, mask);
    let guest_changes = inputs::guest_changes(inputs::squawk_changes(items as u64, mask));
    let expected = items.div_ceil(100);
    let ctx = Context::empty(0);
    let wasm = time_median(rounds, || {
        let detection = slot.detect(&ctx, &host_changes).expect("squawk detect");
        assert_eq!(
            detection.events.len(),
            expected,
            "wasm squawk found the wrong number of emergencies"
        );
    });
    let native_plugin = squawk::Squawk::init(serde_json::json!({})).map_err(anyhow::Error::msg)?;
    let guest_ctx = guest::Context {
        now: 0,
        airports: vec![],
        programs: vec![],
        program_changes: vec![],
    };
    let native = time_median(rounds, || {
        let detection = native_plugin.detect(&guest_ctx, std::hint::black_box(&guest_changes));
        assert_eq!(
            detection.events.len(),
            expected,
            "native squawk found the wrong number of emergencies"
        );
    });
    Ok(Figures {
        plugin: "squawk",
        items,
        wasm,
        native,
    })
}

fn departure(loader: &Loader, items: usize, rounds: usize) -> anyhow::Result<Figures> {
    let slot = builtin_slot(loader, "departure", None)?;
    let mask = slot.current().map_or(0, |v| v.read_mask());
    let (ctx, guest_ctx) = inputs::airport_contexts(300);
    let host_changes = inputs::departure_changes(items as u64, mask);
    let guest_changes = inputs::guest_changes(inputs::departure_changes(items as u64, mask));
    let expected = items.div_ceil(100);
    let wasm = time_median(rounds, || {
        let detection = slot.detect(&ctx, &host_changes).expect("departure detect");
        assert_eq!(
            detection.events.len(),
            expected,
            "wasm departure found the wrong number of liftoffs"
        );
    });
    let native_plugin =
        departure::Departure::init(serde_json::json!({})).map_err(anyhow::Error::msg)?;
    let native = time_median(rounds, || {
        let detection = native_plugin.detect(&guest_ctx, std::hint::black_box(&guest_changes));
        assert_eq!(
            detection.events.len(),
            expected,
            "native departure found the wrong number of liftoffs"
        );
    });
    Ok(Figures {
        plugin: "departure",
        items,
        wasm,
        native,
    })
}

fn track(loader: &Loader, items: usize, rounds: usize) -> anyhow::Result<Figures> {
    let manifest = format!(
        "name = \"track\"\nkind = \"ingest-adapter\"\nroute = \"track\"\nmax_items = {items}\n[limits]\ncall_timeout_ms = 10000\nmemory_mb = 512\n"
    );
    let slot = builtin_slot(loader, "track", Some(manifest))?;
    let body = inputs::track_body(items);
    let wasm = time_median(rounds, || {
        let parsed = slot
            .parse("application/json", &body)
            .expect("track call")
            .expect("track parse");
        assert_eq!(parsed.items.len(), items, "wasm track lost items");
    });
    let native_plugin = track::TrackAdapter::init(serde_json::json!({ "max_items": items }))
        .map_err(anyhow::Error::msg)?;
    let native = time_median(rounds, || {
        let parsed = native_plugin
            .parse("application/json", std::hint::black_box(&body))
            .expect("track parse");
        assert_eq!(parsed.items.len(), items, "native track lost items");
    });
    Ok(Figures {
        plugin: "track",
        items,
        wasm,
        native,
    })
}

fn fleet(loader: &Loader, items: usize, rounds: usize) -> anyhow::Result<Figures> {
    let slot = builtin_slot(loader, "fleet", None)?;
    slot.compile_filter(inputs::FLEET_PARAMS)?;
    let host_subjects = inputs::subjects(items as u64);
    let guest_subjects = inputs::guest_subjects(inputs::subjects(items as u64));
    let count = |matches: &[wit::Matches]| matches.iter().map(|m| m.subjects.len()).sum::<usize>();
    let expected = count(&slot.match_batch(&host_subjects)?);
    let wasm = time_median(rounds, || {
        let matches = slot.match_batch(&host_subjects).expect("fleet match");
        assert_eq!(count(&matches), expected);
    });
    let native_plugin = fleet::Fleet::init(serde_json::json!({})).map_err(anyhow::Error::msg)?;
    let params: serde_json::Value = serde_json::from_str(inputs::FLEET_PARAMS)?;
    let compiled = native_plugin.compile(params).map_err(anyhow::Error::msg)?;
    let native = time_median(rounds, || {
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
    });
    Ok(Figures {
        plugin: "fleet",
        items,
        wasm,
        native,
    })
}
