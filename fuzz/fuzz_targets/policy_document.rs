#![no_main]
// The property: accessctl::fuzzing::policy_document (src/fuzzing.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| accessctl::fuzzing::policy_document(data));
