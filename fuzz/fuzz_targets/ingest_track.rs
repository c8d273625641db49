#![no_main]
// The check lives in harness/ so that the corpus replay test runs it too.
libfuzzer_sys::fuzz_target!(|data: &[u8]| vatswim_fuzz_harness::target("ingest_track")(data));
