//! Output paths: what makes a tree's path clean (relative, `/`-separated, outside `.platc/`,
//! never below another file of the tree) and how one becomes a path of this system.

use std::path::PathBuf;

use super::{INDEX_DIR, PathProblem, ProblemKind, Tree};

/// Why `path` is not a clean relative output path, if it is not.
pub(super) fn path_error(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("is empty");
    }
    if path.starts_with('/') {
        return Some("is absolute (output paths are relative to the output directory)");
    }
    if path.contains('\\') {
        return Some("contains `\\` (output paths use `/` separators)");
    }
    if path.contains('\0') {
        return Some("contains a NUL character");
    }
    for component in path.split('/') {
        match component {
            "" => return Some("has an empty component (`//` or a trailing `/`)"),
            "." => return Some("contains a `.` component"),
            ".." => return Some("contains `..`"),
            // Git's own directory, in any case (case-insensitive file systems): a tampered
            // index listing it would have platc delete a clone's repository (found by a
            // red-team session: publish then ran `git add` in whatever repository enclosed
            // its scratch clone).
            c if c.eq_ignore_ascii_case(".git") => {
                return Some("is inside `.git`, which belongs to Git");
            }
            _ => {}
        }
    }
    None
}

pub(super) fn validate_tree(tree: &Tree) -> Vec<PathProblem> {
    use rayon::prelude::*;
    // Every path once, in order, with whether it is in both maps (they come one after the
    // other in the merged run).
    let mut paths: Vec<(&str, bool)> = Vec::with_capacity(tree.len());
    for (path, _) in tree.entries() {
        match paths.last_mut() {
            Some((last, both)) if *last == path => *both = true,
            _ => paths.push((path, false)),
        }
    }
    // One hash set for the ancestor checks: two ordered-map lookups per ancestor of every path
    // were most of a small rebuild's emit (string comparisons down both trees). The checks run
    // in parallel: the 37k paths of a small rebuild were a serial part of its emit.
    let all: std::collections::HashSet<&str> = paths.iter().map(|(p, _)| *p).collect();
    let problem = |&(path, both): &(&str, bool)| {
        let reason = if both {
            Some("is both rendered and taken from the render memo".to_string())
        } else if let Some(reason) = path_error(path) {
            Some(reason.to_string())
        } else if path == INDEX_DIR || path.starts_with(".platc/") {
            Some("is inside `.platc/`, which is reserved for platc's ownership index".to_string())
        } else {
            ancestors(path)
                .find(|a| all.contains(a))
                .map(|a| format!("is below `{a}`, which is also a file of the output"))
        };
        reason.map(|reason| PathProblem {
            path: path.to_string(),
            kind: ProblemKind::InvalidPath,
            message: format!("output path `{}` {reason}", path.escape_debug()),
            help: Some(
                "this is a bug in the stage that produced the path; please report it".into(),
            ),
        })
    };
    paths.par_iter().filter_map(problem).collect()
}

/// `a/b/c` → `a`, `a/b`.
pub(super) fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// A validated relative output path (`/`-separated, no empty, `.` or `..` component) as a path of
/// this system. On Unix that is the string itself: collecting it component by component was a
/// tenth of a small rebuild's plan, one allocation per component of every indexed path.
#[cfg(unix)]
pub(super) fn rel_to_path(rel: &str) -> PathBuf {
    PathBuf::from(rel)
}

#[cfg(not(unix))]
pub(super) fn rel_to_path(rel: &str) -> PathBuf {
    rel.split('/').collect()
}
