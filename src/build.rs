//! `platc build` as one library call: the build cache, else compile (reusing the render memo's
//! unchanged nodes), write the tree, record. The CLI and the benchmark both go through here, so
//! what is measured is what users run.

use std::path::Path;

use crate::cache;
use crate::diag::Diagnostics;
use crate::emit::{self, EmitError, EmitReport, IndexMeta};
use crate::memo::{self, Memo};
use crate::pipeline::{self, Options};

pub struct BuildReport {
    /// Files in the output (the index not counted).
    pub files: usize,
    pub emit: EmitReport,
    /// Answered by the build cache: no input changed and the output was intact.
    pub cached: bool,
    /// Workload, resource and namespace nodes rendered by this build, and in all (the others'
    /// files were kept from the last build). Both 0 when the build cache answered.
    pub nodes_rendered: usize,
    pub nodes_total: usize,
}

/// Builds the workspace at `root` into `out_dir`.
pub fn build(
    root: &Path,
    out_dir: &Path,
    opts: &Options,
    meta: &IndexMeta,
) -> Result<BuildReport, Diagnostics> {
    let hashed = match cache::lookup(root, out_dir, opts) {
        cache::Lookup::Hit(report) => {
            return Ok(BuildReport {
                files: report.unchanged.len(),
                emit: report,
                cached: true,
                nodes_rendered: 0,
                nodes_total: 0,
            });
        }
        cache::Lookup::Miss(hashed) => hashed,
    };
    let opts = Options {
        bytes_only: true,
        reuse_evaluation: true,
        out_dir: Some(out_dir.to_path_buf()),
        ..opts.clone()
    };
    let (platform, workloads) = pipeline::load(root, &opts)?;
    let recorded = cache::Recorded::of(&platform, &workloads);
    let layout = opts.layout.unwrap_or(platform.gitops.layout);
    let memo = Memo::load(root, out_dir, &platform, layout);
    let comp = pipeline::compile_with_memo(platform, workloads, &opts, memo.as_ref())?;
    let (tree, owners) = comp.into_tree_with_owners();
    let (report, index, tree, owners) = match emit::emit_indexed(out_dir, &tree, meta) {
        Ok((report, index)) => (report, index, tree, owners),
        // The memo is only ever a shortcut: when the output does not hold what it recorded, the
        // build runs again rendering every node. (A rendered object where a kept one is never
        // gets here: compile renders that environment in full instead.)
        Err(EmitError::Stale(_)) => {
            let (platform, workloads) = pipeline::load(root, &opts)?;
            let memo = memo.as_ref().map(Memo::emptied);
            let comp = pipeline::compile_with_memo(platform, workloads, &opts, memo.as_ref())?;
            let (tree, owners) = comp.into_tree_with_owners();
            let (report, index) = emit::emit_indexed(out_dir, &tree, meta)?;
            (report, index, tree, owners)
        }
        Err(e) => return Err(e.into()),
    };
    let sizes = tree.sizes();
    let (nodes_rendered, nodes_total) = (owners.rendered(), owners.total());
    if memo.is_some() {
        memo::store(root, out_dir, owners.entries(&index.files, &sizes));
    }
    cache::store(root, out_dir, &opts, &recorded, hashed, sizes);
    Ok(BuildReport {
        files: tree.len(),
        emit: report,
        cached: false,
        nodes_rendered,
        nodes_total,
    })
}
