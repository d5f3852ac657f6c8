//! libFuzzer harness of `platc::fuzzing::diff_yaml` (the body and its invariants live there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| platc::fuzzing::diff_yaml(data));
