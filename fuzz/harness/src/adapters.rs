//! The built-in ingest adapters' bodies, compiled natively (the same code
//! the host runs as wasm). Whatever the body, every item is either used or
//! refused with a field and a reason, and nothing names an item that the
//! body does not have.

use serde_json::{Value, json};
use vatswim_plugin_adl::AdlAdapter;
use vatswim_plugin_api::{IngestAdapter, Parsed};
use vatswim_plugin_metering::MeteringAdapter;
use vatswim_plugin_track::TrackAdapter;

pub fn track(data: &[u8]) {
    check::<TrackAdapter>(data, "tracks");
}

pub fn adl(data: &[u8]) {
    check::<AdlAdapter>(data, "flights");
}

pub fn metering(data: &[u8]) {
    check::<MeteringAdapter>(data, "metering");
}

fn check<A: IngestAdapter>(data: &[u8], key: &str) {
    let adapter = A::init(json!({})).expect("the default config is valid");
    match adapter.parse("application/json", data) {
        Ok(parsed) => check_parsed(&parsed, items_in(data, key)),
        Err(reason) => assert!(!reason.is_empty(), "a refused body says why"),
    }
}

/// How many items the body has under `key`.
fn items_in(data: &[u8], key: &str) -> usize {
    let body: Value = serde_json::from_slice(data).expect("an accepted body is JSON");
    body[key]
        .as_array()
        .expect("an accepted body has its array")
        .len()
}

/// Each item is used at most once, in order; every item not used has at
/// least one error; every error names an item of the body and says why.
fn check_parsed(parsed: &Parsed, count: usize) {
    let used: Vec<u32> = parsed.items.iter().map(|i| i.index).collect();
    assert!(
        used.windows(2).all(|w| w[0] < w[1]),
        "items in order: {used:?}"
    );
    for error in &parsed.errors {
        assert!(
            (error.index as usize) < count,
            "error for item {}",
            error.index
        );
        assert!(!error.message.is_empty());
    }
    for index in 0..count as u32 {
        let reported = parsed.errors.iter().any(|e| e.index == index);
        assert!(
            used.contains(&index) || reported,
            "item {index} neither used nor refused"
        );
    }
    assert!(used.last().is_none_or(|&i| (i as usize) < count));
}
