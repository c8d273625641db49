//! `swim bench reload`: how long from writing a never-seen plugin file to
//! calls running on it, while another thread calls the plugin in a loop.
//! Every file is new (a unique custom section is appended), and there is no
//! compile cache, so each reload is a fresh compile.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::inputs;
use super::median_p99;
use swim::plugin::engine::Tier;
use swim::plugin::{Slot, events, source, watcher};
use swim::wit::Context;

/// What the calling thread saw.
#[derive(Default)]
struct CallerCounts {
    calls: AtomicU64,
    failed: AtomicU64,
    wrong: AtomicU64,
}

/// Runs the benchmark and prints its figures.
pub fn run(rounds: usize) -> anyhow::Result<()> {
    println!(
        "bench reload: {rounds} never-seen files, no compile cache; {}",
        super::machine()
    );
    let dir = tempfile::tempdir()?;
    let base = source::builtin("squawk").ok_or_else(|| anyhow::anyhow!("no built-in squawk"))?;
    std::fs::write(
        dir.path().join("probe.toml"),
        base.manifest
            .replace("name = \"squawk\"", "name = \"probe\""),
    )?;
    write_atomically(dir.path(), "probe.wasm", &with_unique_section(base.wasm, 0))?;
    let (registry, _watch) =
        watcher::open_watched(dir.path().to_path_buf(), None, events::log_only())?;
    let slot = registry
        .slot("probe")
        .ok_or_else(|| anyhow::anyhow!("probe did not load"))?;

    let counts = Arc::new(CallerCounts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let caller = spawn_caller(slot.clone(), counts.clone(), stop.clone());

    let (mut live, mut optimized) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 1..=rounds {
        let bytes = with_unique_section(base.wasm, round as u64);
        let digest = swim::plugin::engine::digest(&bytes);
        let started = Instant::now();
        write_atomically(dir.path(), "probe.wasm", &bytes)?;
        wait_for(&slot, &digest, None)?;
        live.push(started.elapsed());
        wait_for(&slot, &digest, Some(Tier::Optimized))?;
        optimized.push(started.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    caller
        .join()
        .map_err(|_| anyhow::anyhow!("caller thread panicked"))?;

    let (median, p99) = median_p99(&mut live);
    let max = live.iter().max().copied().unwrap_or_default();
    println!(
        "write-to-live (baseline build serving): median {median:.1?}, p99 {p99:.1?}, max {max:.1?}"
    );
    let (median, p99) = median_p99(&mut optimized);
    println!("write-to-optimized (Cranelift build serving): median {median:.1?}, p99 {p99:.1?}");
    println!(
        "calls during reloads: {} made, {} failed, {} with lost or extra events",
        counts.calls.load(Ordering::Relaxed),
        counts.failed.load(Ordering::Relaxed),
        counts.wrong.load(Ordering::Relaxed)
    );
    Ok(())
}

/// Calls the plugin in a loop with 100 changes of which one is an
/// emergency, checking every answer.
fn spawn_caller(
    slot: Arc<Slot>,
    counts: Arc<CallerCounts>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let changes = inputs::squawk_changes(100, swim::plugin::columns::ReadSet::ALL);
    std::thread::spawn(move || {
        let ctx = Context::empty(0);
        while !stop.load(Ordering::Relaxed) {
            counts.calls.fetch_add(1, Ordering::Relaxed);
            match slot.detect(&ctx, &changes) {
                Ok(d) if d.events.len() == 1 => {}
                Ok(_) => _ = counts.wrong.fetch_add(1, Ordering::Relaxed),
                Err(_) => _ = counts.failed.fetch_add(1, Ordering::Relaxed),
            }
        }
    })
}

/// Waits until the slot runs the file with `digest` (built by `tier`, if given).
fn wait_for(slot: &Slot, digest: &str, tier: Option<Tier>) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(10);
    let started = Instant::now();
    let ready = || {
        slot.current()
            .is_some_and(|v| v.digest == digest && tier.is_none_or(|t| v.tier == t))
    };
    while !ready() {
        anyhow::ensure!(
            started.elapsed() < timeout,
            "the new file was not live after {timeout:?}"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    Ok(())
}

/// The component with a custom section appended: the same plugin, bytes
/// never seen before.
pub fn with_unique_section(wasm: &[u8], n: u64) -> Vec<u8> {
    let name = b"swim-bench";
    let payload = n.to_le_bytes();
    let size = 1 + name.len() + payload.len();
    let mut out = wasm.to_vec();
    out.push(0); // custom section id
    out.push(size as u8); // LEB128 of a size under 128
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(&payload);
    out
}

/// Writes a temporary file and renames it into place, as plugin writers should.
pub fn write_atomically(dir: &Path, file: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dir.join(file))
}
