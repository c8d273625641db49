//! What each fuzz target feeds to the gateway and what it checks of the
//! answer. The libFuzzer targets (`fuzz/fuzz_targets`, nightly) and the
//! corpus replay test (`tests/replay.rs`, stable, run by `cargo test`) call
//! the same functions, so a finding kept in the corpus stays a test.
//!
//! Every target checks more than "no panic": an accepted input satisfies
//! what the rest of the gateway relies on, and a refused one says why.

mod adapters;
mod parsers;
pub mod rest;

/// A target: its name (the directory under `fuzz/corpus`) and its check.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("feed_v3", parsers::feed_v3),
    ("ws_message", parsers::ws_message),
    ("manifest", parsers::manifest),
    ("tmi_body", parsers::tmi_body),
    ("ingest_track", adapters::track),
    ("ingest_adl", adapters::adl),
    ("ingest_metering", adapters::metering),
    ("rest_query", rest::query),
];

/// The check of the target called `name`.
pub fn target(name: &str) -> fn(&[u8]) {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, check)| *check)
        .unwrap_or_else(|| panic!("no fuzz target {name:?}"))
}
