//! libFuzzer harness of `platc::fuzzing::index` (the body and its invariants live there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| platc::fuzzing::index(data));
