//! Loading: the Nickel platform and the Score workloads into the typed model.

pub(crate) mod evaluation;
pub mod platform;
pub mod score;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use crate::discover;
use crate::model::{Platform, Workload};

/// The platform: `<root>/platform/main.ncl` when present, else the embedded reference platform.
pub fn platform_of(root: &Path) -> Result<Platform, Diagnostics> {
    platform_in(root, false)
}

/// Whether `root` has a platform of its own (`platform/main.ncl`); without one the embedded
/// reference platform stands in.
pub fn has_own_platform(root: &Path) -> bool {
    root.join("platform/main.ncl").is_file()
}

/// The nearest directory above `root` with a platform of its own: where a command run in one of
/// its workloads' directories was most likely meant to run.
pub fn enclosing_workspace(root: &Path) -> Option<PathBuf> {
    let abs = root.canonicalize().ok()?;
    abs.ancestors()
        .skip(1)
        .find(|a| has_own_platform(a))
        .map(Path::to_path_buf)
}

/// [`platform_of`]; with `reuse`, through the evaluation kept in the workspace's cache.
pub fn platform_in(root: &Path, reuse: bool) -> Result<Platform, Diagnostics> {
    if has_own_platform(root) {
        platform::load_platform_in(root, reuse)
    } else {
        platform::load_embedded_platform_in(reuse.then_some(root))
    }
}

/// Reads and parses every workload file; all errors of all files are reported together.
pub fn workloads(root: &Path, files: &[String]) -> Result<Vec<Workload>, Diagnostics> {
    use rayon::prelude::*;
    // Files a workload's `source` names are recorded relative to the workspace.
    let canon_root = root.canonicalize().ok();
    // In parallel, collected in file order: errors and workloads come out the same either way.
    let loaded: Vec<Result<Workload, Diagnostics>> = files
        .par_iter()
        .map(|rel| load_one(root, canon_root.as_deref(), rel))
        .collect();
    let mut diags = Diagnostics::new();
    let mut out = Vec::with_capacity(loaded.len());
    for r in loaded {
        match r {
            Ok(w) => out.push(w),
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

/// Reads and parses one workload file, recording the `source` files it read.
fn load_one(root: &Path, canon_root: Option<&Path>, rel: &String) -> Result<Workload, Diagnostics> {
    let io_error = |e: std::io::Error| {
        Diagnostic::at(
            Code::Io,
            &Span::file(rel.as_str()),
            format!("cannot read workload file: {e}"),
        )
    };
    let file = std::fs::File::open(root.join(rel)).map_err(io_error)?;
    crate::yaml::text::check_size(rel, file.metadata().map_err(io_error)?.len())?;
    // Read no more than the limit allows, whatever the file grew to since its size was read.
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, crate::yaml::text::MAX_FILE_BYTES + 1),
        &mut bytes,
    )
    .map_err(io_error)?;
    crate::yaml::text::check_size(rel, bytes.len() as u64)?;
    let text = crate::yaml::text::decode(rel, bytes)?;
    let mut read_files = Vec::new();
    let mut read_source = |written: &str| -> Result<String, String> {
        let path = discover::resolve_inside(root, rel, written)?;
        if let Some(r) = canon_root.and_then(|c| {
            path.strip_prefix(c)
                .ok()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
        }) {
            read_files.push(r);
        }
        let meta = std::fs::metadata(&path).map_err(|e| format!("cannot read `{written}`: {e}"))?;
        // A FIFO or a device would block the read, or never end it.
        if !meta.is_file() {
            return Err(format!("`{written}` is not a regular file"));
        }
        // The same limit as a workload file: the content goes into a ConfigMap of the workload.
        let len = meta.len();
        if len > crate::yaml::text::MAX_FILE_BYTES {
            return Err(format!(
                "`{written}` is {len} bytes, over the limit of {} bytes for a file's source",
                crate::yaml::text::MAX_FILE_BYTES
            ));
        }
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read `{written}`: {e}"))
    };
    let mut w = score::parse_workload(rel, &text, &mut read_source)?;
    read_files.sort();
    read_files.dedup();
    w.read_files = read_files;
    Ok(w)
}
