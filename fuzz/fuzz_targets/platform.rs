//! libFuzzer harness of `platc::fuzzing::platform` (the body and its invariants live there).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: {
        // libFuzzer's hook aborts on every panic. nickel-lang-core can panic inside its
        // evaluation, which the loader contains on its own thread (`platc-nickel`) and reports
        // as a diagnostic: only a panic anywhere else is a crash of platc.
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("platc-nickel") {
                eprintln!("contained by the loader: {info}");
            } else {
                abort(info);
            }
        }));
    },
    |data: &[u8]| platc::fuzzing::platform(data)
);
