//! The plain reports: a summary line, unified diffs (optionally coloured) and JSON.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{Diff, FileDiff};

/// One line: "2 objects changed, 1 added, 1 removed in 3 files" or "no changes".
pub fn summary_line(diff: &Diff) -> String {
    let s = diff.summary();
    if diff.is_empty() {
        return "no changes".into();
    }
    format!(
        "{} changed, {} added, {} removed in {} file{}",
        s.changed,
        s.added,
        s.removed,
        s.files,
        if s.files == 1 { "" } else { "s" }
    )
}

/// A unified diff of one file's masked canonical text.
pub fn unified(f: &FileDiff) -> String {
    let old = f.old.as_deref().unwrap_or("");
    let new = f.new.as_deref().unwrap_or("");
    let a = if f.old.is_some() {
        format!("a/{}", f.path)
    } else {
        "/dev/null".into()
    };
    let b = if f.new.is_some() {
        format!("b/{}", f.path)
    } else {
        "/dev/null".into()
    };
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&a, &b)
        .to_string()
}

/// The summary line, then every file's unified diff; ANSI colours when `colour`.
pub fn to_text(diff: &Diff, colour: bool) -> String {
    let mut s = summary_line(diff);
    s.push('\n');
    for f in &diff.files {
        for line in unified(f).lines() {
            let code = if !colour {
                None
            } else if line.starts_with("+++") || line.starts_with("---") {
                Some("1")
            } else if line.starts_with('+') {
                Some("32")
            } else if line.starts_with('-') {
                Some("31")
            } else if line.starts_with("@@") {
                Some("36")
            } else {
                None
            };
            match code {
                Some(c) => {
                    let _ = writeln!(s, "\x1b[{c}m{line}\x1b[0m");
                }
                None => {
                    s.push_str(line);
                    s.push('\n');
                }
            }
        }
    }
    s
}

/// `{summary: {added, changed, removed, files}, changes: [...]}`, changes sorted by path.
pub fn to_json(diff: &Diff) -> Value {
    json!({
        "summary": diff.summary(),
        "changes": diff.changes,
    })
}
