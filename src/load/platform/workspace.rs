//! Where the platform's files live (a real workspace or the embedded reference platform), how
//! they are named in messages, and positions in their text.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use super::embedded::{EMBEDDED_NICKEL, EMBEDDED_ROOT};
use super::evaluator::{ENTRY_FILE, STDLIB_DIR, STDLIB_DISPLAY};

/// Where the platform's files live: a real workspace, or the embedded reference platform.
#[derive(Clone)]
pub(super) enum Workspace {
    Disk(PathBuf),
    Embedded,
}

impl Workspace {
    pub(super) fn root(&self) -> PathBuf {
        match self {
            Workspace::Disk(root) => root.clone(),
            Workspace::Embedded => PathBuf::from(EMBEDDED_ROOT),
        }
    }

    /// The text of a workspace file, by workspace-relative path.
    pub(super) fn source(&self, rel: &str) -> Option<String> {
        match self {
            Workspace::Disk(root) => std::fs::read_to_string(root.join(rel)).ok(),
            Workspace::Embedded => EMBEDDED_NICKEL
                .iter()
                .find(|(n, _)| *n == rel)
                .map(|(_, s)| (*s).to_string()),
        }
    }

    /// Workspace-relative display name of a file Nickel knows by `name`, or `None` when the file is
    /// neither in the workspace nor in the stdlib.
    pub(super) fn display_name(&self, name: &OsStr) -> Option<String> {
        let path = Path::new(name);
        if let Ok(rel) = path.strip_prefix(STDLIB_DIR) {
            return Some(format!("{STDLIB_DISPLAY}/{}", slash_path(rel)));
        }
        let rel = path.strip_prefix(self.root()).ok()?;
        if rel == Path::new("platform").join(ENTRY_FILE) {
            // Errors located in the generated entry are about applying the contract to main.ncl.
            return Some("platform/main.ncl".to_string());
        }
        Some(slash_path(rel))
    }
}

pub(super) use crate::diag::line_col;

/// `a/b/c` whatever the platform's separator.
pub(super) fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Remove `.` and resolve `..` lexically (no file-system access).
pub(super) fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}
