#![no_main]
// The property: accessctl::fuzzing::import_live (src/fuzzing.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| accessctl::fuzzing::import_live(data));
