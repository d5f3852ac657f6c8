//! `platc build` as one library call: the build cache, else compile, write the tree, record.
//! The CLI and the benchmark both go through here, so what is measured is what users run.

use std::path::Path;

use crate::cache;
use crate::diag::Diagnostics;
use crate::emit::{self, EmitReport, IndexMeta};
use crate::pipeline::{self, Options};

pub struct BuildReport {
    /// Files in the output (the index not counted).
    pub files: usize,
    pub emit: EmitReport,
    /// Answered by the build cache: no input changed and the output was intact.
    pub cached: bool,
}

/// Builds the workspace at `root` into `out_dir`.
pub fn build(
    root: &Path,
    out_dir: &Path,
    opts: &Options,
    meta: &IndexMeta,
) -> Result<BuildReport, Diagnostics> {
    if let Some(report) = cache::lookup(root, out_dir, opts) {
        return Ok(BuildReport {
            files: report.unchanged.len(),
            emit: report,
            cached: true,
        });
    }
    let opts = Options {
        bytes_only: true,
        out_dir: Some(out_dir.to_path_buf()),
        ..opts.clone()
    };
    let comp = pipeline::compile(root, &opts)?;
    let recorded = cache::Recorded::of(&comp.platform, &comp.workloads);
    let tree = comp.into_tree();
    let report = emit::emit(out_dir, &tree, meta)?;
    cache::store(root, out_dir, &opts, &recorded, &tree.files);
    Ok(BuildReport {
        files: tree.files.len(),
        emit: report,
        cached: false,
    })
}
