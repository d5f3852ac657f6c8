//! libFuzzer harness of `platc::fuzzing::score` (the body and its invariants live there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| platc::fuzzing::score(data));
