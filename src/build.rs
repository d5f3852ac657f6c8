//! `platc build` as one library call: the build cache, else compile (reusing the render memo's
//! unchanged nodes), write the tree, record. The CLI and the benchmark both go through here, so
//! what is measured is what users run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cache;
use crate::diag::{Code, Diagnostic, Diagnostics};
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
    /// Wall time of each stage, in order (`platc build --verbose` prints them): where a
    /// rebuild's time goes, measured on the run users make.
    pub stages: Vec<(&'static str, Duration)>,
}

/// Stage clock: `enter` ends the current stage (recording its wall time) and starts the next,
/// telling the observer which one runs now.
struct Laps<'a> {
    current: Option<(&'static str, Instant)>,
    stages: Vec<(&'static str, Duration)>,
    observer: &'a dyn Fn(&'static str),
}

impl<'a> Laps<'a> {
    fn new(observer: &'a dyn Fn(&'static str)) -> Laps<'a> {
        Laps {
            current: None,
            stages: Vec::new(),
            observer,
        }
    }

    fn enter(&mut self, stage: &'static str) {
        self.end();
        (self.observer)(stage);
        self.current = Some((stage, Instant::now()));
    }

    fn end(&mut self) {
        if let Some((stage, since)) = self.current.take() {
            self.stages.push((stage, since.elapsed()));
        }
    }

    fn finish(mut self) -> Vec<(&'static str, Duration)> {
        self.end();
        self.stages
    }
}

/// Builds the workspace at `root` into `out_dir`.
pub fn build(
    root: &Path,
    out_dir: &Path,
    opts: &Options,
    meta: &IndexMeta,
) -> Result<BuildReport, Diagnostics> {
    build_observed(root, out_dir, opts, meta, &|_| {})
}

/// [`build`], telling `observer` the name of each stage as it starts (the CLI shows a long
/// build's progress with it).
pub fn build_observed(
    root: &Path,
    out_dir: &Path,
    opts: &Options,
    meta: &IndexMeta,
    observer: &dyn Fn(&'static str),
) -> Result<BuildReport, Diagnostics> {
    check_out_dir(root, out_dir)?;
    let mut laps = Laps::new(observer);
    laps.enter("build cache lookup");
    let hashed = match cache::lookup(root, out_dir, opts) {
        cache::Lookup::Hit(report) => {
            return Ok(BuildReport {
                files: report.unchanged.len(),
                emit: report,
                cached: true,
                nodes_rendered: 0,
                nodes_total: 0,
                stages: laps.finish(),
            });
        }
        cache::Lookup::Miss(hashed) => hashed,
    };
    let opts = Options {
        bytes_only: true,
        reuse_evaluation: true,
        free_models: true,
        out_dir: Some(out_dir.to_path_buf()),
        ..opts.clone()
    };
    laps.enter("load + render memo read");
    let (loaded, stored, ahead) = load_beside_reads(root, out_dir, &opts);
    let (platform, workloads) = loaded?;
    let recorded = cache::Recorded::of(&platform, &workloads);
    let layout = opts.layout.unwrap_or(platform.gitops.layout);
    laps.enter("render memo salt");
    let memo = Memo::salted(stored, &platform, layout);
    laps.enter("resolve + graph + render");
    let comp = pipeline::compile_with_memo(platform, workloads, &opts, memo.as_ref())?;
    laps.enter("tree");
    let (tree, owners) = comp.into_tree_with_owners();
    laps.enter("emit");
    let (emitted, tree, owners) = match emit::emit_indexed(out_dir, &tree, meta, Some(ahead)) {
        Ok(emitted) => (emitted, tree, owners),
        Err(EmitError::Stale(_)) => rebuild_unmemoised(root, out_dir, &opts, meta, memo.as_ref())?,
        Err(e) => return Err(e.into()),
    };
    let emit::Emitted {
        report,
        index,
        index_hash,
    } = emitted;
    // The two records are independent files: written side by side.
    laps.enter("render memo and build cache record");
    let (nodes_rendered, nodes_total) = (owners.rendered(), owners.total());
    let written = cache::Written {
        tree: &tree,
        index: index_hash,
    };
    rayon::join(
        || {
            memo.is_some()
                .then(|| memo::store(root, out_dir, owners.entries(&index.files, &tree)))
        },
        || cache::store(root, out_dir, &opts, &recorded, hashed, written),
    );
    let files = tree.len();
    // What is left is process exit for the CLI: freeing the tree, the index and the memo is
    // not waited for.
    crate::aside::drop_aside((tree, index, memo));
    Ok(BuildReport {
        files,
        emit: report,
        cached: false,
        nodes_rendered,
        nodes_total,
        stages: laps.finish(),
    })
}

type Loaded = Result<(crate::model::Platform, Vec<crate::model::Workload>), Diagnostics>;

/// The workspace loaded while the render memo and the output's index are read beside it: the
/// memo does not depend on the platform (only its salt does), and parsing the index's 35k
/// entries takes a thread a while that the load leaves idle.
fn load_beside_reads(
    root: &Path,
    out_dir: &Path,
    opts: &Options,
) -> (Loaded, memo::Stored, emit::ReadAhead) {
    let (loaded, (stored, ahead)) = rayon::join(
        || pipeline::load(root, opts),
        || {
            rayon::join(
                || memo::Stored::read(root, out_dir),
                || emit::ReadAhead::of(out_dir),
            )
        },
    );
    (loaded, stored, ahead)
}

/// The memo is only ever a shortcut: when the output does not hold what it recorded, the build
/// runs again rendering every node. (A rendered object where a kept one is never gets here:
/// compile renders that environment in full instead.)
fn rebuild_unmemoised(
    root: &Path,
    out_dir: &Path,
    opts: &Options,
    meta: &IndexMeta,
    memo: Option<&Memo>,
) -> Result<(emit::Emitted, emit::Tree, memo::Owners), Diagnostics> {
    let (platform, workloads) = pipeline::load(root, opts)?;
    let memo = memo.map(Memo::emptied);
    let comp = pipeline::compile_with_memo(platform, workloads, opts, memo.as_ref())?;
    let (tree, owners) = comp.into_tree_with_owners();
    let emitted = emit::emit_indexed(out_dir, &tree, meta, None)?;
    Ok((emitted, tree, owners))
}

/// The output directory is replaced as a whole on a large change (staged and swapped), so it
/// must hold none of the workspace: not the workspace itself or a directory above it, and nothing
/// inside `platform/` (found by a red-team session: `--out ..` swapped the workspace's parent,
/// `--out platform` wrote manifests among the Nickel files).
fn check_out_dir(root: &Path, out_dir: &Path) -> Result<(), Diagnostics> {
    let (Some(root), Some(out)) = (resolved(root), resolved(out_dir)) else {
        return Ok(());
    };
    let problem = if root.starts_with(&out) {
        "holds the workspace"
    } else if out.starts_with(root.join("platform")) {
        "is inside the platform's files (`platform/`)"
    } else {
        return Ok(());
    };
    Err(Diagnostic::error(
        Code::InvalidValue,
        None,
        format!("the output directory `{}` {problem}", out_dir.display()),
    )
    .with_note("platc replaces the output directory as a whole when much of it changes")
    .with_help("write the tree into a directory of its own: `out` in the workspace (the default) or a clone of the GitOps repository")
    .into())
}

/// `path` made absolute with its links resolved, as far as it exists (an output directory may
/// not exist yet); `None` when nothing of it can be resolved.
fn resolved(path: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(path).ok()?;
    let mut rest = Vec::new();
    let mut at = abs.as_path();
    loop {
        if let Ok(real) = at.canonicalize() {
            return Some(rest.iter().rev().fold(real, |p, c| p.join(c)));
        }
        rest.push(at.file_name()?.to_os_string());
        at = at.parent()?;
    }
}
