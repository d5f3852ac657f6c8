//! libFuzzer harness of `platc::fuzzing::template` (the body and its invariants live there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| platc::fuzzing::template(data));
