//! libFuzzer harness of `platc::fuzzing::placeholders` (the body and its invariants live there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| platc::fuzzing::placeholders(data));
