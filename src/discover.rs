//! Discover: which workload files a workspace holds. Sorted, ignore rules applied, and no
//! symlink may lead out of the workspace.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::diag::{Code, Diagnostic, Diagnostics, Span};

/// Directories never searched for workloads, at the workspace root.
const SKIPPED_ROOTS: [&str; 4] = ["platform", "golden", "target", "out"];

/// Workspace-relative paths (`/`-separated, sorted) of the files matching any glob.
pub fn find_workloads(
    root: &Path,
    globs: &[String],
    out_dir: Option<&Path>,
) -> Result<Vec<String>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let canon_root = root.canonicalize().map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            Code::Io,
            None,
            format!("cannot open workspace `{}`: {e}", root.display()),
        ))
    })?;
    let out_canon: Option<PathBuf> = out_dir.and_then(|o| o.canonicalize().ok());
    let patterns: Vec<Vec<&str>> = globs
        .iter()
        .map(|g| g.split('/').filter(|s| !s.is_empty()).collect())
        .collect();
    let mut found = Vec::new();
    let walker = WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| searched(e, root, &canon_root, out_canon.as_deref()));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                diags.push(Diagnostic::error(
                    Code::Io,
                    None,
                    format!("cannot read the workspace: {e}"),
                ));
                continue;
            }
        };
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let rel_str = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let segs: Vec<&str> = rel_str.split('/').collect();
        match verdict(&entry, &canon_root, &patterns, &rel_str, &segs) {
            Verdict::Workload => {}
            Verdict::Skip => continue,
            Verdict::Refused(d) => {
                diags.push(*d);
                continue;
            }
        }
        found.push(rel_str);
    }
    found.sort();
    diags.into_result(found)
}

/// Whether the walk goes into (or looks at) `e`: not hidden, not a skipped top-level
/// directory, not the output directory.
fn searched(e: &walkdir::DirEntry, root: &Path, canon_root: &Path, out: Option<&Path>) -> bool {
    if e.depth() == 0 {
        return true;
    }
    let name = e.file_name().to_string_lossy();
    if name.starts_with('.') {
        return false;
    }
    if e.depth() == 1 && e.file_type().is_dir() && SKIPPED_ROOTS.contains(&name.as_ref()) {
        return false;
    }
    // Links are not followed, so a directory reached by the walk is the canonical root joined
    // with its relative path: no `canonicalize` (a `readlink` per component) for each of a
    // large workspace's thousands of directories.
    let is_out = |out: &Path| {
        e.file_type().is_dir()
            && e.path()
                .strip_prefix(root)
                .is_ok_and(|rel| canon_root.join(rel) == out)
    };
    !out.is_some_and(is_out)
}

enum Verdict {
    Workload,
    Skip,
    Refused(Box<Diagnostic>),
}

/// What one walked entry is: a workload file, nothing of ours, or a link out of the workspace.
fn verdict(
    entry: &walkdir::DirEntry,
    canon_root: &Path,
    patterns: &[Vec<&str>],
    rel_str: &str,
    segs: &[&str],
) -> Verdict {
    let refused = |what: &str, help: &str| {
        Verdict::Refused(Box::new(
            Diagnostic::at(Code::SandboxEscape, &Span::file(rel_str.to_string()), what)
                .with_help(help.to_string()),
        ))
    };
    // A linked directory is not followed (its workloads would be found twice, or come from
    // anywhere); one that leads out of the workspace where workloads are searched for is
    // refused rather than skipped without a word: its files were meant to be built.
    if entry.path_is_symlink() && entry.path().is_dir() {
        let inside = entry
            .path()
            .canonicalize()
            .is_ok_and(|t| t.starts_with(canon_root));
        if !inside && patterns.iter().any(|p| could_contain(p, segs)) {
            return refused(
                "this directory is a symlink that leads outside the workspace",
                "copy the workloads into the workspace, or make it a Git submodule",
            );
        }
        return Verdict::Skip;
    }
    if !patterns.iter().any(|p| glob_match(p, segs)) {
        return Verdict::Skip;
    }
    if entry.path_is_symlink() {
        return match entry.path().canonicalize() {
            Ok(target) if target.starts_with(canon_root) && target.is_file() => Verdict::Workload,
            _ => refused(
                "this workload file is a symlink that leads outside the workspace",
                "copy the file into the workspace instead of linking to it",
            ),
        };
    }
    if entry.file_type().is_file() {
        Verdict::Workload
    } else {
        Verdict::Skip
    }
}

/// `**` matches any number of path segments; `*` and `?` match within one segment.
pub fn glob_match(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|i| glob_match(rest, &path[i..])),
        Some((seg, rest)) => match path.split_first() {
            Some((p, prest)) => {
                segment_match(seg.as_bytes(), p.as_bytes()) && glob_match(rest, prest)
            }
            None => false,
        },
    }
}

/// Whether a path below `dir` could match `pattern`.
fn could_contain(pattern: &[&str], dir: &[&str]) -> bool {
    match (pattern.split_first(), dir.split_first()) {
        (_, None) | (Some((&"**", _)), _) => true,
        (None, Some(_)) => false,
        (Some((seg, rest)), Some((d, drest))) => {
            segment_match(seg.as_bytes(), d.as_bytes()) && could_contain(rest, drest)
        }
    }
}

fn segment_match(pat: &[u8], s: &[u8]) -> bool {
    match pat.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| segment_match(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && segment_match(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && segment_match(rest, &s[1..]),
    }
}

/// Resolves a path written in a workload file (relative to that file) to a file inside the
/// workspace, refusing anything that leads out of it.
pub fn resolve_inside(
    root: &Path,
    relative_to_file: &str,
    written: &str,
) -> Result<PathBuf, String> {
    let base = Path::new(relative_to_file)
        .parent()
        .unwrap_or(Path::new(""));
    if Path::new(written).is_absolute() {
        return Err(format!(
            "`{written}` is an absolute path; files must be inside the workspace"
        ));
    }
    let joined = root.join(base).join(written);
    let canon = joined
        .canonicalize()
        .map_err(|e| format!("cannot read `{written}`: {e}"))?;
    let canon_root = root
        .canonicalize()
        .map_err(|e| format!("cannot open the workspace: {e}"))?;
    if !canon.starts_with(&canon_root) {
        return Err(format!("`{written}` leads outside the workspace"));
    }
    Ok(canon)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        let p: Vec<&str> = p.split('/').collect();
        let s: Vec<&str> = s.split('/').collect();
        glob_match(&p, &s)
    }

    #[test]
    fn globs() {
        assert!(m("**/score.yaml", "score.yaml"));
        assert!(m("**/score.yaml", "a/b/score.yaml"));
        assert!(m("examples/**/*.score.yaml", "examples/x/api.score.yaml"));
        assert!(!m("examples/**/*.score.yaml", "other/x/api.score.yaml"));
        assert!(!m("**/score.yaml", "a/score.yml"));
        assert!(m("a/?.yaml", "a/b.yaml"));
        let c = |p: &str, d: &str| {
            let p: Vec<&str> = p.split('/').collect();
            let d: Vec<&str> = d.split('/').collect();
            could_contain(&p, &d)
        };
        assert!(c("examples/**/score.yaml", "examples/linked"));
        assert!(c("examples/*/score.yaml", "examples/linked"));
        assert!(!c("examples/*/score.yaml", "examples/a/b"));
        assert!(!c("examples/**/score.yaml", "vendor/lib"));
    }

    /// The output directory is never searched for workloads, whatever path the workspace is
    /// reached by (here also through a link to it).
    #[test]
    fn the_output_directory_is_not_searched() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("ws");
        for dir in ["apps/a", "rendered/a", "rendered2/a"] {
            std::fs::create_dir_all(real.join(dir)).unwrap();
            std::fs::write(real.join(dir).join("score.yaml"), "").unwrap();
        }
        let globs = vec!["**/score.yaml".to_string()];
        let link = tmp.path().join("link");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&real, &link).unwrap();
        #[cfg(not(unix))]
        let link = real.clone();
        for root in [&real, &link] {
            for out in [real.join("rendered"), link.join("rendered")] {
                let found = find_workloads(root, &globs, Some(&out)).unwrap();
                assert_eq!(
                    found,
                    ["apps/a/score.yaml", "rendered2/a/score.yaml"],
                    "{} {}",
                    root.display(),
                    out.display()
                );
            }
        }
        let all = find_workloads(&real, &globs, None).unwrap();
        assert_eq!(all.len(), 3);
    }
}
