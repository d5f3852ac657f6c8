//! Printing diagnostics for people: colour only on a terminal and never with NO_COLOR.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

use platc::diag::{Diagnostics, Severity};

/// How much a command says besides its errors and its output proper (a diff, a report, a
/// graph): 0 quiet, 1 normal, 2 verbose. Set once from `--quiet`/`--verbose`.
static VERBOSITY: AtomicU8 = AtomicU8::new(1);

pub fn set_verbosity(quiet: bool, verbose: bool) {
    let level = if quiet {
        0
    } else if verbose {
        2
    } else {
        1
    };
    VERBOSITY.store(level, Ordering::Relaxed);
}

/// A summary or progress line (stdout), unless `--quiet`.
pub fn info(line: &str) {
    if VERBOSITY.load(Ordering::Relaxed) >= 1 {
        println!("{line}");
    }
}

/// A note on stderr, unless `--quiet`.
pub fn note(line: &str) {
    if VERBOSITY.load(Ordering::Relaxed) >= 1 {
        eprintln!("{line}");
    }
}

/// Whether progress may be shown at all (not with `--quiet`); the terminal is checked by the
/// caller.
pub fn progress_wanted() -> bool {
    VERBOSITY.load(Ordering::Relaxed) >= 1
}

/// Detail only `--verbose` asks for.
pub fn detail(line: &str) {
    if VERBOSITY.load(Ordering::Relaxed) >= 2 {
        println!("{line}");
    }
}

pub fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

pub fn print_diagnostics(d: &Diagnostics) {
    let colour = colour();
    for diag in &d.0 {
        let text = diag.to_string();
        if colour {
            let (word, code) = match diag.severity {
                Severity::Error => ("error:", "\x1b[1;31merror:\x1b[0m"),
                Severity::Warning => ("warning:", "\x1b[1;33mwarning:\x1b[0m"),
            };
            eprintln!("{}", text.replacen(word, code, 1));
        } else {
            eprintln!("{text}");
        }
    }
    let errors = d.0.iter().filter(|x| x.severity == Severity::Error).count();
    if errors > 0 {
        eprintln!(
            "{errors} error{} found; nothing was written",
            if errors == 1 { "" } else { "s" }
        );
    }
}
