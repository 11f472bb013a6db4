#![no_main]
// The property: accessctl::fuzzing::aws_auth_merge (src/fuzzing.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| accessctl::fuzzing::aws_auth_merge(data));
