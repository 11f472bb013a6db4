#![no_main]
// The property: accessctl::fuzzing::saved_plan (src/fuzzing.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| accessctl::fuzzing::saved_plan(data));
