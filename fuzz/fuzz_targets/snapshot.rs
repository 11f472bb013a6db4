#![no_main]
// The property: accessctl::fuzzing::snapshot (src/fuzzing.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| accessctl::fuzzing::snapshot(data));
