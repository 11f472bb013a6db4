#![no_main]
// The property: accessctl::fuzzing::access_yaml (src/fuzzing.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| accessctl::fuzzing::access_yaml(data));
