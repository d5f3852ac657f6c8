//! Printing diagnostics for people: colour only on a terminal and never with NO_COLOR.

use std::io::IsTerminal;

use platc::diag::{Diagnostics, Severity};

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
