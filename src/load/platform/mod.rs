//! Evaluates the platform's Nickel into `model::Platform`.
//!
//! The platform is evaluated once per run: Nickel values are not `Send`, so everything is
//! converted to plain data before returning.

mod conversion;
mod embedded;
mod evaluator;
mod nesting;
mod nickel_errors;
pub mod positions;
mod sandbox;
mod templates;
#[cfg(test)]
mod tests;
mod workspace;

use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::Platform;
use crate::stdlib;

use super::evaluation::{Kept, Slot};
use conversion::to_platform;
use embedded::{EMBEDDED_NICKEL, EMBEDDED_TEMPLATES};
use evaluator::{ENTRY_FIELD, Purpose, evaluate_entry};
pub use evaluator::{evaluations_running, evaluations_started, panic_is_contained};
use templates::{check_manifests, read_platform_templates, stdlib_templates};
use workspace::Workspace;

/// Evaluate `<root>/platform/main.ncl`, read its templates, return the typed platform.
pub fn load_platform(root: &Path) -> Result<Platform, Diagnostics> {
    load_platform_in(root, false)
}

/// [`load_platform`]; with `reuse`, the last evaluation kept in the workspace's cache answers
/// when it still holds, and this one is kept (see `load::evaluation`).
pub fn load_platform_in(root: &Path, reuse: bool) -> Result<Platform, Diagnostics> {
    let root = canonical_root(root)?;
    let platform_dir = root.join("platform");
    let main = platform_dir.join("main.ncl");
    if !main.is_file() {
        return Err(Diagnostic::error(
            Code::Io,
            None,
            format!(
                "no platform entry `platform/main.ncl` in `{}`",
                root.display()
            ),
        )
        .with_help("create `platform/main.ncl`, or run in a workspace that has one")
        .into());
    }
    let ws = Workspace::Disk(root.clone());
    let slot = Slot {
        cache_root: &root,
        files: Some(&root),
    };
    let mut platform = evaluate(&ws, &[], reuse.then_some(&slot))?;

    let mut templates = stdlib_templates();
    read_platform_templates(&root, &mut templates)?;
    platform.templates = templates;
    check_manifests(&platform, &ws)?;
    Ok(platform)
}

/// The reference platform's files (workspace-relative path, contents): Nickel, then templates.
pub fn reference_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    EMBEDDED_NICKEL
        .iter()
        .chain(EMBEDDED_TEMPLATES)
        .map(|(p, s)| (*p, *s))
}

/// The reference platform compiled into the binary (the repo's `platform/` dir via include_str!),
/// used when a workspace has no platform/main.ncl.
pub fn load_embedded_platform() -> Result<Platform, Diagnostics> {
    load_embedded_platform_in(None)
}

/// [`load_embedded_platform`], keeping its evaluation in `cache_root`'s cache when given.
pub fn load_embedded_platform_in(cache_root: Option<&Path>) -> Result<Platform, Diagnostics> {
    let ws = Workspace::Embedded;
    let slot = cache_root.map(|cache_root| Slot {
        cache_root,
        files: None,
    });
    let mut platform = evaluate(&ws, EMBEDDED_NICKEL, slot.as_ref())?;
    let mut templates = stdlib_templates();
    for (path, src) in EMBEDDED_TEMPLATES {
        let name = path.strip_prefix("platform/").unwrap_or(path);
        templates.insert(name.to_string(), (*src).to_string());
    }
    platform.templates = templates;
    check_manifests(&platform, &ws)?;
    Ok(platform)
}

/// Evaluate the platform. `embedded` lists in-memory workspace files (empty for a disk
/// workspace) by workspace-relative path.
fn evaluate(
    ws: &Workspace,
    embedded: &'static [(&'static str, &'static str)],
    slot: Option<&Slot<'_>>,
) -> Result<Platform, Diagnostics> {
    let entry = format!(
        "{{ {ENTRY_FIELD} = (import \"main.ncl\") | (import \"{}\").Platform }}",
        stdlib::ENTRY
    );
    let kept = match slot.and_then(|s| s.lookup(&entry)) {
        Some(kept) => kept,
        None => {
            // A reused evaluation was checked when it was made.
            if let Workspace::Disk(root) = ws {
                nesting::check_nesting(root)?;
            }
            let e = evaluate_entry(ws, embedded, entry.clone(), Purpose::Platform)?;
            let kept = Kept {
                json: e.json,
                sources: e.sources,
                positions: e.positions,
            };
            if let Some(slot) = slot {
                slot.store(&entry, &kept, e.read);
            }
            kept
        }
    };
    let mut platform = to_platform(kept.json)?;
    platform.sources = kept.sources;
    platform.positions = kept.positions;
    Ok(platform)
}

/// Evaluates `expr` with `platform` bound to the workspace's platform (the value of
/// `platform/main.ncl` after the stdlib's `Platform` contract, with its non-exported fields such
/// as policy `check` functions) and `platc` to the stdlib; returns the exported JSON. The
/// workspace is `root` when it has `platform/main.ncl`, else the embedded reference platform.
/// The same sandbox as [`load_platform`] applies. Used by `policy::nickel` to run every
/// platform-defined policy over every workload in one evaluation.
pub fn evaluate_with_platform(root: &Path, expr: &str) -> Result<serde_json::Value, Diagnostics> {
    let entry = format!(
        "{{ {ENTRY_FIELD} = let platc = import \"{0}\" in let platform = (import \"main.ncl\") | platc.Platform in ({expr}) }}",
        stdlib::ENTRY
    );
    let (ws, embedded) = if crate::load::has_own_platform(root) {
        let root = canonical_root(root)?;
        nesting::check_nesting(&root)?;
        (Workspace::Disk(root), &[][..])
    } else {
        (Workspace::Embedded, EMBEDDED_NICKEL)
    };
    evaluate_entry(&ws, embedded, entry, Purpose::Policies).map(|e| e.json)
}

/// The workspace root as an absolute path without links, which the sandbox compares against.
fn canonical_root(root: &Path) -> Result<PathBuf, Diagnostics> {
    root.canonicalize().map_err(|e| {
        Diagnostic::error(
            Code::Io,
            None,
            format!("cannot open workspace `{}`: {e}", root.display()),
        )
        .into()
    })
}
