//! A look at the platform's Nickel sources before they are evaluated: nickel-lang-core recurses
//! once per level of `{`, `[` and `(` (some kilobytes of stack a level in a debug build), so a
//! file nested some thousands deep overflows even the evaluating thread's stack, and a stack
//! overflow aborts the process instead of failing with an error.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic, Diagnostics, Span, line_col};

use super::sandbox::import_literals;

/// Nesting of brackets one platform file may have. Real platforms stay below 20.
pub const MAX_NICKEL_NESTING: usize = 256;
/// Files followed through imports; a platform of more is refused by the evaluator's own limits
/// long before, this only bounds the walk.
const MAX_FILES: usize = 10_000;

/// Every Nickel or JSON file reachable from `platform/main.ncl` by `import "..."` literals inside
/// the workspace, checked for nesting. Unreadable or outside files are left to the evaluator and
/// the sandbox, which report them better.
pub(super) fn check_nesting(root: &Path) -> Result<(), Diagnostics> {
    let mut todo: Vec<PathBuf> = vec![root.join("platform/main.ncl")];
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut diags = Diagnostics::new();
    while let Some(path) = todo.pop() {
        if seen.len() >= MAX_FILES || !seen.insert(path.clone()) {
            continue;
        }
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if let Some(offset) = too_deep_at(&text) {
            let (line, col) = line_col(&text, offset);
            diags.push(
                Diagnostic::at(
                    Code::TooLarge,
                    &Span::new(rel.as_str(), line, col),
                    format!("Nickel nested too deeply: more than {MAX_NICKEL_NESTING} levels of `{{`, `[` and `(`"),
                )
                .with_help("flatten the value, or build it with `std.array` / `std.record` functions; the Nickel evaluator would run out of stack"),
            );
        }
        let dir = path.parent().unwrap_or(root);
        for (_, literal) in import_literals(&text) {
            let next = super::workspace::normalize(&dir.join(&literal));
            let ext = next.extension().and_then(|e| e.to_str()).unwrap_or("");
            if next.starts_with(root) && matches!(ext, "ncl" | "json") {
                todo.push(next);
            }
        }
    }
    diags.sort();
    diags.into_result(())
}

/// The byte offset of the first bracket past [`MAX_NICKEL_NESTING`], outside comments and
/// strings (`"…"` and `m%"…"%`; interpolations inside them are skipped with the string).
fn too_deep_at(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let (mut i, mut depth) = (0, 0usize);
    while i < b.len() {
        match b[i] {
            b'#' => i = find(b, i, b"\n").unwrap_or(b.len()),
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'm' if b.get(i + 1) == Some(&b'%') => {
                let percents = b[i + 1..].iter().take_while(|c| **c == b'%').count();
                if b.get(i + 1 + percents) == Some(&b'"') {
                    let mut close = vec![b'"'];
                    close.extend(std::iter::repeat_n(b'%', percents));
                    i = find(b, i + 2 + percents, &close).unwrap_or(b.len());
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NICKEL_NESTING {
                    return Some(i);
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p + needle.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let deep = |n: usize| format!("{}1{}", "{a = ".repeat(n), " }".repeat(n));
        assert_eq!(too_deep_at(&deep(MAX_NICKEL_NESTING)), None);
        assert_eq!(
            too_deep_at(&deep(MAX_NICKEL_NESTING + 1)),
            Some(5 * MAX_NICKEL_NESTING)
        );
        let quiet = format!(
            "# {0}\n{{ a = \"{0}\\\"{0}\", b = m%\"{0}\"%, c = m%%\"{0}\"% {0}\"%% }}",
            "[".repeat(MAX_NICKEL_NESTING + 1)
        );
        assert_eq!(too_deep_at(&quiet), None);
    }
}
