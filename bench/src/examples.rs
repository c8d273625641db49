//! `swim bench plugins --examples DIR`: the Python and JavaScript examples
//! (`plugins/examples/`, built into DIR) on the batch of the Rust built-in
//! that does like work, and what loading such a component costs.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::inputs;
use super::measure::time_median;
use super::slots::{builtin_slot, installed};
use swim::plugin::columns::ReadSet;
use swim::plugin::engine::Tier;
use swim::plugin::slot::{DEFAULT_FILTER_BUDGET_PERCENT, FilterTrial};
use swim::plugin::source::{self, Source};
use swim::plugin::version::{FilterParams, Origin};
use swim::plugin::{Loader, Slot};

/// An example, its language, and the built-in it is compared with.
const EXAMPLES: [(&str, &str, &str); 3] = [
    ("vnas_track", "Python", "track"),
    ("diverted", "Python", "departure"),
    ("artcc", "JavaScript", "nearby"),
];

/// Times every example found in `dir`; a missing one is named and skipped.
pub fn run(loader: &Loader, dir: &Path, items: usize, rounds: usize) -> anyhow::Result<()> {
    println!(
        "examples from {} (plugins/examples/, built by scripts/build-examples):",
        dir.display()
    );
    for (name, lang, builtin) in EXAMPLES {
        let wasm = dir.join(format!("{name}.wasm"));
        if !wasm.exists() {
            println!("{name:<10} ({lang}): no {} here, skipped", wasm.display());
            continue;
        }
        let bytes = std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
        let manifest = std::fs::read_to_string(dir.join(format!("{name}.toml")))
            .with_context(|| format!("{name}.toml beside {name}.wasm"))?;
        load_costs(name, lang, &bytes, &manifest)?;
        let ours = installed(loader, source_of(name, bytes, roomy(&manifest, items)?))?;
        let rust = builtin_slot(
            loader,
            builtin,
            Some(roomy(builtin_manifest(builtin)?, items)?),
        )?;
        let (guest, native) = match name {
            "vnas_track" => adapters(&ours, &rust, items, rounds)?,
            "diverted" => detectors(&ours, &rust, items, rounds)?,
            _ => filters(&ours, &rust, items, rounds)?,
        };
        let per = |d: Duration| d.as_nanos() as f64 / items as f64;
        println!(
            "{name:<10} ({lang:<10}) {items:>6} items  {:>9.1} ns/item   {builtin} (Rust, wasm) {:>8.1} ns/item   ratio {:>6.1}x",
            per(guest),
            per(native),
            per(guest) / per(native).max(0.001)
        );
    }
    Ok(())
}

/// Never-seen compiles (baseline and optimized) and a load from the
/// compile cache, each with its validation and smoke test.
fn load_costs(name: &str, lang: &str, bytes: &[u8], manifest: &str) -> anyhow::Result<()> {
    let cache = tempfile::tempdir()?;
    let loader = super::slots::loader(Some(cache.path().to_path_buf()))?;
    let source = source_of(name, bytes.to_vec(), manifest.to_string());
    let timed = |tier| -> anyhow::Result<Duration> {
        let started = Instant::now();
        loader.load(&source, FilterParams::default(), tier)?;
        Ok(started.elapsed())
    };
    let baseline = timed(Tier::Baseline)?;
    let optimized = timed(Tier::Optimized)?;
    let cached = timed(Tier::Optimized)?;
    println!(
        "{name:<10} ({lang:<10}) {:>5.1} MB: never seen: baseline {baseline:.2?}, optimized {optimized:.2?}; from the compile cache {cached:.2?}",
        bytes.len() as f64 / 1e6
    );
    Ok(())
}

fn source_of(name: &str, bytes: Vec<u8>, manifest: String) -> Source {
    Source {
        name: name.into(),
        origin: Origin::Builtin,
        bytes,
        manifest: Some(manifest),
    }
}

/// The manifest with limits no benchmark batch reaches.
fn roomy(manifest: &str, items: usize) -> anyhow::Result<String> {
    let mut table: toml::Table = manifest.parse().context("the example's manifest")?;
    let mut limits = toml::Table::new();
    limits.insert("call_timeout_ms".into(), 60_000.into());
    limits.insert("memory_mb".into(), 1024.into());
    table.insert("limits".into(), limits.into());
    if table.contains_key("max_items") {
        table.insert("max_items".into(), (items as i64).into());
    }
    Ok(toml::to_string(&table)?)
}

fn builtin_manifest(name: &str) -> anyhow::Result<&'static str> {
    Ok(source::builtin(name)
        .with_context(|| format!("no built-in {name}"))?
        .manifest)
}

/// Both adapters on one `{"tracks":[...]}` body (with vNAS's `facility_id`).
fn adapters(
    ours: &Slot,
    rust: &Slot,
    items: usize,
    rounds: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let mut body: serde_json::Value = serde_json::from_slice(&inputs::track_body(items))?;
    body["facility_id"] = "ZNY".into();
    let body = serde_json::to_vec(&body)?;
    let time = |slot: &Slot| {
        time_median(rounds, || {
            let parsed = slot
                .parse("application/json", &body)
                .expect("call")
                .expect("parse");
            assert_eq!(parsed.items.len(), items, "{} lost items", slot.name());
        })
    };
    Ok((time(ours), time(rust)))
}

/// Both detectors on one batch of flights at 300 airports, 1 in 100 lifting off.
fn detectors(
    ours: &Slot,
    rust: &Slot,
    items: usize,
    rounds: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let (ctx, _) = inputs::airport_contexts(300);
    let time = |slot: &Slot| {
        let reads = slot.current().map_or(ReadSet::ALL, |v| v.read_set());
        let changes = inputs::departure_changes(items as u64, reads);
        time_median(rounds, || {
            slot.detect(&ctx, &changes).expect("detect");
        })
    };
    Ok((time(ours), time(rust)))
}

/// Both filters, one compiled subscription each, on one batch of subjects.
fn filters(
    ours: &Slot,
    rust: &Slot,
    items: usize,
    rounds: usize,
) -> anyhow::Result<(Duration, Duration)> {
    ours.compile_filter(r#"{"artcc":"ZNY"}"#, &FilterTrial::default())?;
    rust.compile_filter(
        r#"{"lat":40.64,"lon":-73.78,"radius_nm":150}"#,
        &FilterTrial::default(),
    )?;
    let subjects = inputs::subjects(items as u64);
    let time = |slot: &Slot| {
        time_median(rounds, || {
            slot.match_batch(&subjects, DEFAULT_FILTER_BUDGET_PERCENT)
                .expect("match");
        })
    };
    Ok((time(ours), time(rust)))
}
