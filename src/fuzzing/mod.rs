//! Fuzz target bodies: one function per target taking the fuzzer's bytes, asserting what must
//! hold for any input. The harnesses under `fuzz/` are thin wrappers around these, and
//! `tests/fuzz_regressions.rs` runs the seed corpora and every input a fuzzer ever crashed on
//! through the same functions, so a finding stays a test after it is fixed.
//!
//! Every function panics (an assertion) when an invariant is broken: that is the fuzzer's
//! crash. None of them may panic for a reason that is the library's own: the library answers
//! hostile input with `Diagnostics`, or by ignoring a cache it does not trust.
//!
//! Not part of platc's interface; nothing here depends on libFuzzer.

mod platform;
mod stores;
mod text;
mod yaml;

pub use platform::{platform, template};
pub use stores::{cache, index};
pub use text::{placeholders, score};
pub use yaml::diff_yaml;

use crate::diag::{Diagnostics, Severity, Span};

/// A target's body: the fuzzer's bytes in, a panic when an invariant is broken.
pub type Body = fn(&[u8]);

/// Every target, by the name its harness, corpus and regression directory use.
pub const TARGETS: &[(&str, Body)] = &[
    ("score", score),
    ("placeholders", placeholders),
    ("platform", platform),
    ("template", template),
    ("index", index),
    ("cache", cache),
    ("diff_yaml", diff_yaml),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Body> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Asserts that `diags` is an error report a person can act on: at least one error, every
/// message non-empty, and every span into `file` a position that exists in `text`.
fn check_errors(diags: &Diagnostics, file: &str, text: &str) {
    assert!(diags.has_errors(), "an Err without an error: {diags:?}");
    for d in &diags.0 {
        assert!(
            !d.message.trim().is_empty(),
            "a diagnostic without a message: {d:?}"
        );
        if let Some(span) = &d.span {
            assert!(inside(span, file, text), "{d:?} is outside the input");
        }
    }
}

/// Asserts that a span into `file` is inside `text` ([`inside`]).
fn check_span(span: &Span, file: &str, text: &str) {
    assert!(inside(span, file, text), "span {span} is outside the input");
}

/// Whether a span into `file` is a 1-based position inside `text` (a column may be one past a
/// line's end, and a line one past the last: where an unexpected end is reported); spans into
/// other files are not judged. Lines are counted by `\n` or as YAML counts them ([`yaml_lines`]).
fn inside(span: &Span, file: &str, text: &str) -> bool {
    if &*span.file != file {
        return true;
    }
    let fits = |lines: Vec<&str>| {
        let line = span.line as usize;
        line >= 1
            && span.col >= 1
            && line <= lines.len() + 1
            && (line > lines.len() || span.col as usize <= lines[line - 1].chars().count() + 1)
    };
    fits(text.split('\n').collect()) || fits(yaml_lines(text))
}

/// Lines as YAML counts them: `\r\n`, `\r` and `\n` each end one.
fn yaml_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['\r', '\n']) {
        lines.push(&rest[..i]);
        let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[i + skip..];
    }
    lines.push(rest);
    lines
}

/// `true` for a report of warnings only (allowed beside an `Ok`).
fn only_warnings(diags: &Diagnostics) -> bool {
    diags.0.iter().all(|d| d.severity == Severity::Warning)
}
