//! Loading: the Nickel platform and the Score workloads into the typed model.

pub mod platform;
pub mod score;

use std::collections::BTreeMap;
use std::path::Path;

use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use crate::discover;
use crate::model::{Platform, Workload};

/// The platform: `<root>/platform/main.ncl` when present, else the embedded reference platform.
pub fn platform_of(root: &Path) -> Result<Platform, Diagnostics> {
    if root.join("platform/main.ncl").is_file() {
        platform::load_platform(root)
    } else {
        platform::load_embedded_platform()
    }
}

/// Reads and parses every workload file; all errors of all files are reported together.
pub fn workloads(root: &Path, files: &[String]) -> Result<Vec<Workload>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut out = Vec::new();
    // Files a workload's `source` names are recorded relative to the workspace.
    let canon_root = root.canonicalize().ok();
    for rel in files {
        let text = match std::fs::read_to_string(root.join(rel)) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::at(
                    Code::Io,
                    &Span::file(rel.as_str()),
                    format!("cannot read workload file: {e}"),
                ));
                continue;
            }
        };
        let mut read_files = Vec::new();
        let mut read_source = |written: &str| -> Result<String, String> {
            let path = discover::resolve_inside(root, rel, written)?;
            if let Some(r) = canon_root.as_ref().and_then(|c| {
                path.strip_prefix(c)
                    .ok()
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
            }) {
                read_files.push(r);
            }
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read `{written}`: {e}"))
        };
        match score::parse_workload(rel, &text, &mut read_source) {
            Ok(mut w) => {
                read_files.sort();
                read_files.dedup();
                w.read_files = read_files;
                out.push(w)
            }
            Err(d) => diags.extend(d),
        }
    }
    // One name, one workload: names become Kubernetes object and Argo CD application names.
    let mut seen: BTreeMap<String, Span> = BTreeMap::new();
    for w in &out {
        if let Some(first) = seen.get(&w.name.value) {
            diags.push(
                Diagnostic::at(
                    Code::DuplicateWorkload,
                    &w.name.span,
                    format!("workload name `{}` is already used", w.name.value),
                )
                .with_note(format!("first defined at {first}"))
                .with_help("workload names are unique across the workspace; rename one of them"),
            );
        } else {
            seen.insert(w.name.value.clone(), w.name.span.clone());
        }
    }
    out.sort_by(|a, b| a.name.value.cmp(&b.name.value));
    diags.into_result(out)
}
