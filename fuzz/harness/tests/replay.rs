//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the
//! same checks the fuzz targets run, on stable: every input the fuzzers
//! kept, and every crash they found (kept there once fixed), stays a test.

use std::path::{Path, PathBuf};

use vatswim_fuzz_harness::{TARGETS, rest};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus {} cannot be read: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}

/// Runs `check` on every file, naming the file that fails.
fn replay(target: &str, check: impl Fn(&[u8])) {
    for file in corpus(target) {
        let data = std::fs::read(&file).unwrap();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&data)));
        if outcome.is_err() {
            panic!(
                "fuzz/corpus/{target}/{} fails its check",
                file.file_name().unwrap().display()
            );
        }
    }
}

#[test]
fn every_parser_target_accepts_or_explains_its_whole_corpus() {
    for (name, check) in TARGETS.iter().filter(|(name, _)| *name != "rest_query") {
        replay(name, check);
    }
}

#[test]
fn the_gateway_answers_every_rest_query_in_the_corpus() {
    let gateway = rest::Gateway::start();
    replay("rest_query", |data| gateway.check(data));
}
