//! The `platc` command line. Thin: parse flags, call the library, print, pick the exit code.

mod cli;

// The compiler allocates millions of small JSON nodes and strings per build; mimalloc frees them
// back to per-thread pages instead of glibc's contended arenas (measured in ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's defaults commit its arenas eagerly and keep freed memory for a second; a build
/// frees most of what it allocated stage by stage, so committing on demand and returning freed
/// pages after 50 ms keeps the peak nearer the live heap: at 1,000 workloads a cold build's peak
/// RSS 267 -> 217 MB, at the same speed (paired runs; purging at once gave 204 MB but cost 24 %
/// of a cold build's time). Only set when the linked mimalloc is the major version whose option
/// numbers these are, and never over a user's `MIMALLOC_*` variables.
fn tune_allocator() {
    // Positions in mimalloc 3's `mi_option_e` (include/mimalloc.h); its version reads 30302
    // for 3.3.2.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY (both blocks): plain calls into the linked allocator, the option numbers checked
    // against its version; they change only when memory is committed and returned.
    if unsafe { libmimalloc_sys::mi_version() } / 10_000 != 3 {
        return;
    }
    for (option, var, value) in [
        (ARENA_EAGER_COMMIT, c"MIMALLOC_ARENA_EAGER_COMMIT", 0),
        (PURGE_DELAY, c"MIMALLOC_PURGE_DELAY", 50),
    ] {
        if !user_set(var) {
            unsafe { libmimalloc_sys::mi_option_set(option, value) };
        }
    }
}

/// Whether the environment sets `var`, read without allocating (this runs before `main`).
#[cfg(unix)]
fn user_set(var: &std::ffi::CStr) -> bool {
    // SAFETY: getenv reads the environment the process started with; nothing else runs yet.
    !unsafe { libc::getenv(var.as_ptr()) }.is_null()
}

#[cfg(not(unix))]
fn user_set(var: &std::ffi::CStr) -> bool {
    var.to_str().is_ok_and(|v| std::env::var_os(v).is_some())
}

// Before any allocation where the platform allows it: the first arena is reserved by the first
// allocation, and how it commits is decided then.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_ALLOCATOR: extern "C" fn() = {
    extern "C" fn tune() {
        tune_allocator();
    }
    tune
};

fn main() {
    #[cfg(not(target_os = "linux"))]
    tune_allocator();
    // A panic is a bug, never the user's fault: say so in one line instead of a backtrace. (The
    // library still turns the panics it can contain, such as ones inside the Nickel evaluator,
    // into diagnostics.)
    std::panic::set_hook(Box::new(|info| {
        if platc::load::platform::panic_is_contained() {
            return;
        }
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
