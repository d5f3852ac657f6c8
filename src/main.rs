//! The `platc` command line. Thin: parse flags, call the library, print, pick the exit code.

mod cli;

// The compiler allocates millions of small JSON nodes and strings per build; mimalloc frees them
// back to per-thread pages instead of glibc's contended arenas (measured in ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // A panic is a bug, never the user's fault: say so in one line instead of a backtrace. (The
    // library still turns the panics it can contain, such as ones inside the Nickel evaluator,
    // into diagnostics.)
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("platc: internal error{place}: {what}");
    }));
    std::process::exit(cli::run());
}
