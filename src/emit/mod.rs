//! Writes the rendered tree atomically with an ownership index.
//!
//! Design (see also the "Emit" section of ARCHITECTURE.md):
//! - `.platc/index.json` lists every file platc wrote with its sha256. A file is *owned* when the
//!   previous index lists it and it is still a regular file; everything else in the output
//!   directory (`.git`, a hand-written README, a symlink a user put in place of an owned file)
//!   is *unowned* and is never modified or deleted. Writing over an unowned file is refused unless
//!   its bytes are already the ones platc would write (it is then adopted into the index).
//! - A rebuild never edits the live directory. The complete new directory is built beside it as
//!   `<parent>/.<name>.platc-new-<pid>`: unowned entries and unchanged owned files are hard links
//!   to the live ones (same inode, so bytes and mtime are kept; copied when linking fails),
//!   directories are recreated with their modes, changed files are written fresh (never through a
//!   link). After `syncfs`, one `renameat2(RENAME_EXCHANGE)` swaps the two directories; the old one
//!   is then deleted, which only drops names since everything kept is linked from the new tree.
//!   Where the exchange is unsupported, the live directory is renamed to `.<name>.platc-old-<pid>`
//!   and the new one renamed in; a crash between the two renames is rolled back by the next emit.
//!   Leftover staging directories of dead processes are removed by the next emit; one of a live
//!   process means a concurrent emit, which is refused. A first build is a single rename.
//! - When no file changes, nothing is staged: at most the index is replaced (write + rename).
//! - When few files change (an eighth of the tree or less), they are applied in place under a
//!   journal instead (`patch.rs`): crash-safe by completion at the next emit, but a reader may see
//!   the change half applied while it runs. Staging costs a link per entry of the tree; a patch
//!   costs only what changed.
//! - `out_dir` as a symlink is followed: the directory it points to is the one swapped, so the
//!   link stays valid. The swap gives the output directory a new inode: a shell whose working
//!   directory is the output directory must `cd` again. Ownership, ACLs and extended attributes
//!   of recreated directories are not carried over (modes are). The output directory must not be
//!   a mount point (the swap happens within its parent's filesystem).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic, Diagnostics};

mod index;
mod patch;
mod paths;
mod plan;
mod quick;
mod swap;
mod target;

use index::read_index_hashed;
pub use index::{Index, ReadAhead, parse_index, read_index};
use paths::{ancestors, path_error, rel_to_path, validate_tree};
use plan::{Plan, plan};
use swap::*;
use target::*;

/// Where the ownership index lives inside the output directory.
pub const INDEX_PATH: &str = ".platc/index.json";
const INDEX_DIR: &str = ".platc";
/// Temporary name of a new index being written beside the old one.
const INDEX_TMP_PREFIX: &str = ".index.json.tmp-";

/// A temporary index left by an interrupted index replacement: platc's, dropped at next staging.
fn is_index_leftover(path: &Path) -> bool {
    path.parent() == Some(Path::new(INDEX_DIR))
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(INDEX_TMP_PREFIX))
}

/// The files to write: relative paths with `/` separators → exact bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    pub files: BTreeMap<String, Vec<u8>>,
    /// Files known to be in the output already, by content hash and size (the render memo's
    /// unchanged nodes): kept as they are. When the output's index does not list one with that
    /// hash, emit refuses with [`EmitError::Stale`] before touching anything.
    pub known: BTreeMap<String, Known>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// `sha256:<hex>`, as in the index.
    pub hash: String,
    pub len: u64,
}

impl Tree {
    pub fn new(files: BTreeMap<String, Vec<u8>>) -> Tree {
        Tree {
            files,
            known: BTreeMap::new(),
        }
    }

    /// Every path of the tree in path order, the two maps merged (the records, the path checks
    /// and the quick plan walk it beside other sorted runs instead of searching maps). A path in
    /// both maps, which the path checks refuse, comes twice, rendered first.
    pub fn entries(&self) -> impl Iterator<Item = (&str, TreeFile<'_>)> {
        let mut files = self
            .files
            .iter()
            .map(|(p, b)| (p.as_str(), TreeFile::Rendered(b)))
            .peekable();
        let mut known = self
            .known
            .iter()
            .map(|(p, k)| (p.as_str(), TreeFile::Known(k)))
            .peekable();
        std::iter::from_fn(move || match (files.peek(), known.peek()) {
            (Some(f), Some(k)) if k.0 < f.0 => known.next(),
            (Some(_), _) => files.next(),
            (None, _) => known.next(),
        })
    }

    /// Every path of the tree with its size, in path order. An iterator, not a map: the records
    /// of a 35k-file build need no copy of every path.
    pub fn sizes(&self) -> impl Iterator<Item = (&str, u64)> {
        self.entries().map(|(p, f)| (p, f.size()))
    }

    pub fn len(&self) -> usize {
        self.files.len() + self.known.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.known.is_empty()
    }
}

/// One file of a [`Tree`]: bytes rendered now, or a file the output already holds.
#[derive(Debug, Clone, Copy)]
pub enum TreeFile<'a> {
    Rendered(&'a [u8]),
    Known(&'a Known),
}

impl TreeFile<'_> {
    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            TreeFile::Rendered(b) => b.len() as u64,
            TreeFile::Known(k) => k.len,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexMeta {
    pub platc_version: String,
    pub source_commit: Option<String>,
}

/// What `emit` did; each list sorted, the index itself not included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmitReport {
    pub written: Vec<String>,
    pub unchanged: Vec<String>,
    pub removed: Vec<String>,
}

/// Whether `path` is a clean relative output path outside `.platc/` (what an index may list).
pub fn is_output_path(path: &str) -> bool {
    path_error(path).is_none() && path.split('/').next() != Some(INDEX_DIR)
}

pub use crate::digest::{content_hash, is_content_hash, push_hex};

/// One problem with one output path; `emit` reports all of them together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathProblem {
    pub path: String,
    pub kind: ProblemKind,
    pub message: String,
    pub help: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The tree contains a path that is not a clean relative path (a bug in the stage that made it).
    InvalidPath,
    /// The output directory holds something platc did not write where the tree wants a file.
    NotOwned,
}

#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("{}", render_problems(.0))]
    Rejected(Vec<PathProblem>),
    #[error("cannot {op} `{}`: {source}", .path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the ownership index `{}` is unreadable: {message}", .path.display())]
    CorruptIndex { path: PathBuf, message: String },
    #[error("output directory `{}` {problem}", .path.display())]
    OutDir { path: PathBuf, problem: String },
    #[error("another platc process (pid {pid}) is writing `{}` (its staging directory is `{}`)", .out_dir.display(), .staging.display())]
    Busy {
        out_dir: PathBuf,
        staging: PathBuf,
        pid: u32,
    },
    /// A file the tree says is already there (by hash) is not, or not with that hash: the
    /// caller's memo is stale. Nothing was written.
    #[error("`{0}` is not in the output as the render memo recorded it")]
    Stale(String),
    /// A simulated crash (tests only): returned without any clean-up.
    #[cfg(test)]
    #[error("interrupted at {0:?}")]
    Interrupted(Fault),
}

fn render_problems(problems: &[PathProblem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&p.message);
        if let Some(help) = &p.help {
            out.push_str("\n  help: ");
            out.push_str(help);
        }
    }
    out
}

impl EmitError {
    /// The error as diagnostics (one per problem), for the CLI's common reporting path.
    pub fn to_diagnostics(&self) -> Diagnostics {
        match self {
            EmitError::Rejected(problems) => Diagnostics(
                problems
                    .iter()
                    .map(|p| {
                        let code = match p.kind {
                            ProblemKind::InvalidPath => Code::Internal,
                            ProblemKind::NotOwned => Code::OutputConflict,
                        };
                        let d = Diagnostic::error(code, None, p.message.clone());
                        match &p.help {
                            Some(h) => d.with_help(h.clone()),
                            None => d,
                        }
                    })
                    .collect(),
            ),
            EmitError::CorruptIndex { path, .. } => Diagnostics::from(
                Diagnostic::error(Code::Io, None, self.to_string()).with_help(format!(
                    "restore it from version control, or delete `{}` to make platc treat every existing file as not its own",
                    path.display()
                )),
            ),
            EmitError::Busy { staging, .. } => Diagnostics::from(
                Diagnostic::error(Code::Io, None, self.to_string()).with_help(format!(
                    "wait for it to finish; if no platc is running, delete `{}`",
                    staging.display()
                )),
            ),
            _ => Diagnostics::from(Diagnostic::error(Code::Io, None, self.to_string())),
        }
    }
}

impl From<EmitError> for Diagnostics {
    fn from(e: EmitError) -> Self {
        e.to_diagnostics()
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> EmitError + 'a {
    move |source| EmitError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Whether an emit into `out_dir` was interrupted (or is running): a staging directory or a
/// patch is beside it. The output may then not be what its index says (a committed patch can be
/// half applied, with the index still the old one) until the next emit recovers it first, so
/// nothing may trust the output without emitting. Unknown counts as interrupted.
pub fn interrupted(out_dir: &Path) -> bool {
    match Target::resolve(out_dir) {
        Ok(target) => !matches!(target.stages(), Ok(s) if s.is_empty()),
        Err(_) => true,
    }
}

/// Writes `tree` into `out_dir` (see the module documentation for the guarantees).
pub fn emit(out_dir: &Path, tree: &Tree, meta: &IndexMeta) -> Result<EmitReport, EmitError> {
    emit_with(out_dir, tree, meta, &Options::default()).map(|e| e.report)
}

/// What [`emit_indexed`] did and wrote.
#[derive(Debug)]
pub struct Emitted {
    pub report: EmitReport,
    /// The index it wrote (every file's content hash)…
    pub index: Index,
    /// …and the content hash of that index's bytes, as they are on disk now.
    pub index_hash: String,
}

/// [`emit`], also giving the index it wrote. `ahead`: the output's index as read earlier in the
/// build, used if it is still the one there.
pub fn emit_indexed(
    out_dir: &Path,
    tree: &Tree,
    meta: &IndexMeta,
    ahead: Option<ReadAhead>,
) -> Result<Emitted, EmitError> {
    emit_ahead(out_dir, tree, meta, &Options::default(), ahead)
}

/// Points where tests simulate a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The new tree is fully staged, the swap has not happened.
    AfterStaging,
    /// The directories were exchanged, the old tree not yet deleted.
    AfterSwap,
    /// Fallback path: the live directory was renamed away, the new one not yet renamed in.
    AfterMoveAway,
    /// In-place patch: new files staged, the journal not yet committed.
    PatchStaged,
    /// In-place patch: the journal committed, nothing applied.
    PatchCommitted,
    /// In-place patch: removals and half the renames done.
    PatchHalfApplied,
}

#[derive(Debug, Default)]
struct Options {
    #[cfg(test)]
    fault: Option<Fault>,
    /// Forces the rename-away fallback used where `RENAME_EXCHANGE` is unavailable.
    #[cfg(test)]
    no_exchange: bool,
}

impl Options {
    #[cfg(test)]
    fn checkpoint(&self, at: Fault) -> Result<(), EmitError> {
        if self.fault == Some(at) {
            Err(EmitError::Interrupted(at))
        } else {
            Ok(())
        }
    }
    #[cfg(not(test))]
    fn checkpoint(&self, _at: Fault) -> Result<(), EmitError> {
        Ok(())
    }
    #[cfg(test)]
    fn exchange_allowed(&self) -> bool {
        !self.no_exchange
    }
    #[cfg(not(test))]
    fn exchange_allowed(&self) -> bool {
        true
    }
}

fn emit_with(
    out_dir: &Path,
    tree: &Tree,
    meta: &IndexMeta,
    opts: &Options,
) -> Result<Emitted, EmitError> {
    emit_ahead(out_dir, tree, meta, opts, None)
}

fn emit_ahead(
    out_dir: &Path,
    tree: &Tree,
    meta: &IndexMeta,
    opts: &Options,
    ahead: Option<ReadAhead>,
) -> Result<Emitted, EmitError> {
    // The paths are checked (one thread) while the files are hashed (the others).
    let (problems, files) = rayon::join(
        || validate_tree(tree),
        || {
            use rayon::prelude::*;
            let hashed: Vec<(String, String)> = tree
                .files
                .par_iter()
                .map(|(p, b)| (p.clone(), content_hash(b)))
                .collect();
            let known = tree.known.iter().map(|(p, k)| (p.clone(), k.hash.clone()));
            hashed.into_iter().chain(known).collect()
        },
    );
    if !problems.is_empty() {
        return Err(EmitError::Rejected(problems));
    }
    let target = Target::resolve(out_dir)?;
    target.recover()?;
    let index = Index {
        files,
        platc_version: meta.platc_version.clone(),
        source_commit: meta.source_commit.clone(),
    };
    let (report, index_hash) = match fs::symlink_metadata(&target.dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => match tree.known.keys().next() {
            Some(p) => Err(EmitError::Stale(p.clone())),
            None => first_build(&target, tree, &index, opts),
        },
        Err(e) => Err(io_err("inspect", &target.dir)(e)),
        Ok(m) if m.is_dir() => rebuild(&target, tree, &index, opts, ahead),
        Ok(_) => Err(EmitError::OutDir {
            path: target.dir.clone(),
            problem: "exists and is not a directory".into(),
        }),
    }?;
    Ok(Emitted {
        report,
        index,
        index_hash,
    })
}

// ---------------------------------------------------------------------------------------------
// Building

fn first_build(
    target: &Target,
    tree: &Tree,
    index: &Index,
    opts: &Options,
) -> Result<(EmitReport, String), EmitError> {
    let staging = target.stage_path(Stage::New);
    let index_bytes = index.to_bytes();
    let staged = (|| {
        let mut out = Staging::create(&staging)?;
        let files: Vec<(&str, &[u8])> = tree
            .files
            .iter()
            .map(|(rel, bytes)| (rel.as_str(), bytes.as_slice()))
            .collect();
        out.write_all(&files)?;
        out.write(INDEX_PATH, &index_bytes)?;
        sync_tree(&staging)
    })();
    if let Err(e) = staged {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    opts.checkpoint(Fault::AfterStaging)?;
    if let Err(e) = fs::rename(&staging, &target.dir) {
        let _ = fs::remove_dir_all(&staging);
        return Err(io_err("move the new output into place at", &target.dir)(e));
    }
    sync_dir(&target.parent);
    let report = EmitReport {
        written: tree.files.keys().cloned().collect(),
        ..EmitReport::default()
    };
    Ok((report, content_hash(&index_bytes)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File { len: u64 },
    Dir { empty: bool },
    Symlink,
    Other,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::File { .. } => "a file",
            Kind::Dir { .. } => "a directory",
            Kind::Symlink => "a symbolic link",
            Kind::Other => "a special file",
        }
    }
}

fn rebuild(
    target: &Target,
    tree: &Tree,
    index: &Index,
    opts: &Options,
    ahead: Option<ReadAhead>,
) -> Result<(EmitReport, String), EmitError> {
    let live = &target.dir;
    // Writing the new index's bytes is one thread's work; reading the old index (unless it
    // was read ahead) and the quick plan's `lstat`s take the other, and both once it is done.
    let (previous, (new_index_bytes, index_hash)) = rayon::join(
        || {
            let read = match ahead.and_then(|a| a.still(live)) {
                Some(read) => read,
                None => read_index_hashed(live),
            };
            let (previous, previous_hash) = read?.unzip();
            // A small change to an output as its index describes it needs no scan of the output.
            let quick = previous
                .as_ref()
                .and_then(|p| quick::plan(live, tree, p, &index.files))
                .filter(|q| {
                    let changed = q.report.written.len() + q.report.removed.len();
                    changed == 0 || patch::worth_it(changed, tree.len())
                });
            Ok::<_, EmitError>((previous, previous_hash, quick))
        },
        || {
            let bytes = index.to_bytes();
            let hash = content_hash(&bytes);
            (bytes, hash)
        },
    );
    let (previous, previous_hash, quick) = previous?;
    let plan = match quick {
        Some(q) => q,
        None => plan(live, tree, previous.as_ref(), &index.files)?,
    };
    if plan.report.written.is_empty() && plan.report.removed.is_empty() {
        // Compared by bytes, not content: the build cache records the hash of the bytes on
        // disk, and an index another version formatted differently is rewritten once.
        if previous_hash.as_ref() != Some(&index_hash) {
            replace_index(live, &new_index_bytes)?;
        }
        return Ok((plan.report, index_hash));
    }
    let changed = plan.report.written.len() + plan.report.removed.len();
    if !plan.replaces_dir && patch::worth_it(changed, tree.len()) {
        let writes: Vec<(&str, &[u8])> = plan
            .report
            .written
            .iter()
            .filter_map(|rel| Some((rel.as_str(), tree.files.get(rel)?.as_slice())))
            .collect();
        let patch_dir = target.stage_path(Stage::Patch);
        patch::apply(
            live,
            &patch_dir,
            &writes,
            &plan.report.removed,
            &new_index_bytes,
            opts,
        )?;
        return Ok((plan.report, index_hash));
    }
    let staging = target.stage_path(Stage::New);
    if let Err(e) = stage_rebuild(live, &staging, tree, &new_index_bytes, &plan) {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    opts.checkpoint(Fault::AfterStaging)?;
    swap(target, &staging, opts)?;
    Ok((plan.report, index_hash))
}

fn not_owned(rel: &str, why: &str) -> PathProblem {
    PathProblem {
        path: rel.to_string(),
        kind: ProblemKind::NotOwned,
        message: format!("refusing to overwrite `{rel}` in the output directory: {why}"),
        help: Some(
            "platc only replaces files its index (.platc/index.json) says it wrote; move that entry away or delete it, then build again"
                .into(),
        ),
    }
}

#[cfg(test)]
fn path_to_rel(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn stage_rebuild(
    live: &Path,
    staging: &Path,
    tree: &Tree,
    index_bytes: &[u8],
    plan: &Plan,
) -> Result<(), EmitError> {
    let mut out = Staging::create(staging)?;
    for dir in &plan.kept_dirs {
        out.dir(dir)?;
    }
    for (path, kind) in &plan.carried {
        carry(&live.join(path), &staging.join(path), *kind)?;
    }
    let (mut unchanged, changed): (Vec<_>, Vec<_>) = tree
        .files
        .iter()
        .map(|(rel, bytes)| (rel.as_str(), bytes.as_slice()))
        .partition(|(rel, _)| plan.unchanged.contains(*rel));
    unchanged.extend(tree.known.keys().map(|rel| (rel.as_str(), &[][..])));
    out.write_all(&changed)?;
    out.dirs_of(unchanged.iter().map(|(rel, _)| *rel))?;
    {
        use rayon::prelude::*;
        unchanged.par_iter().try_for_each(|(rel, _)| {
            let path = rel_to_path(rel);
            carry(
                &live.join(&path),
                &staging.join(&path),
                Kind::File { len: 0 },
            )
        })?;
    }
    out.write(INDEX_PATH, index_bytes)?;
    // Modes last and deepest first: a directory without write or search permission must be
    // filled before it is closed.
    for dir in plan.kept_dirs.iter().rev() {
        copy_mode(&live.join(dir), &staging.join(dir))?;
    }
    copy_mode(live, staging)?;
    sync_tree(staging)
}

/// Puts `src`'s entry at `dst`: a hard link (same inode, bytes and mtime), else a copy.
fn carry(src: &Path, dst: &Path, kind: Kind) -> Result<(), EmitError> {
    if fs::hard_link(src, dst).is_ok() {
        return Ok(());
    }
    match kind {
        Kind::File { .. } => {
            fs::copy(src, dst).map_err(io_err("copy", src))?;
            if let Ok(meta) = fs::metadata(src) {
                let times = fs::FileTimes::new();
                let times = match meta.modified() {
                    Ok(t) => times.set_modified(t),
                    Err(_) => times,
                };
                if let Ok(f) = fs::OpenOptions::new().write(true).open(dst) {
                    let _ = f.set_times(times);
                }
            }
            Ok(())
        }
        #[cfg(unix)]
        Kind::Symlink => {
            let to = fs::read_link(src).map_err(io_err("read link", src))?;
            std::os::unix::fs::symlink(&to, dst).map_err(io_err("recreate link", dst))
        }
        _ => Err(io_err("carry over", src)(io::Error::other(
            "it cannot be hard-linked into the new output, and platc does not copy special files",
        ))),
    }
}

fn copy_mode(src: &Path, dst: &Path) -> Result<(), EmitError> {
    let perms = fs::metadata(src)
        .map_err(io_err("inspect", src))?
        .permissions();
    fs::set_permissions(dst, perms).map_err(io_err("set permissions of", dst))
}

/// A directory being filled, remembering which subdirectories exist (one `mkdir` each, not one
/// per file).
struct Staging<'a> {
    root: &'a Path,
    made: BTreeSet<PathBuf>,
}

impl<'a> Staging<'a> {
    fn create(root: &'a Path) -> Result<Self, EmitError> {
        fs::create_dir(root).map_err(io_err("create directory", root))?;
        Ok(Staging {
            root,
            made: BTreeSet::new(),
        })
    }

    /// Creates `root/rel` and its missing parents.
    fn dir(&mut self, rel: &Path) -> Result<(), EmitError> {
        if rel.as_os_str().is_empty() || self.made.contains(rel) {
            return Ok(());
        }
        if let Some(parent) = rel.parent() {
            self.dir(parent)?;
        }
        let path = self.root.join(rel);
        fs::create_dir(&path).map_err(io_err("create directory", &path))?;
        self.made.insert(rel.to_path_buf());
        Ok(())
    }

    /// Creates every file (directories first, then the files in parallel: creating files is
    /// most of a first build's time, and the kernel does it on every core).
    fn write_all(&mut self, files: &[(&str, &[u8])]) -> Result<(), EmitError> {
        use rayon::prelude::*;
        self.dirs_of(files.iter().map(|(rel, _)| *rel))?;
        let root = self.root;
        files
            .par_iter()
            .try_for_each(|(rel, bytes)| write_new(&root.join(rel_to_path(rel)), bytes))
    }

    /// Every directory the files at `rels` need, made a level at a time (a level's directories
    /// in parallel, after their parents): 4,800 directories one after another were a serial
    /// tenth of a cold build's emit.
    fn dirs_of<'r>(&mut self, rels: impl Iterator<Item = &'r str>) -> Result<(), EmitError> {
        use rayon::prelude::*;
        let mut needed: BTreeSet<&str> = BTreeSet::new();
        let mut last = None;
        for rel in rels {
            let Some((parent, _)) = rel.rsplit_once('/') else {
                continue;
            };
            // Files come sorted, so most share the previous one's directory.
            if last == Some(parent) {
                continue;
            }
            last = Some(parent);
            let mut dir = parent;
            while needed.insert(dir) {
                match dir.rsplit_once('/') {
                    Some((up, _)) => dir = up,
                    None => break,
                }
            }
        }
        let mut levels: Vec<Vec<&str>> = Vec::new();
        for dir in needed {
            if self.made.contains(&rel_to_path(dir)) {
                continue;
            }
            let depth = dir.matches('/').count();
            if levels.len() <= depth {
                levels.resize_with(depth + 1, Vec::new);
            }
            levels[depth].push(dir);
        }
        let root = self.root;
        for level in levels {
            level.par_iter().try_for_each(|dir| {
                let path = root.join(rel_to_path(dir));
                fs::create_dir(&path).map_err(io_err("create directory", &path))
            })?;
            self.made.extend(level.into_iter().map(rel_to_path));
        }
        Ok(())
    }

    /// Creates `root/rel` with `bytes`; never writes through an existing file.
    fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<(), EmitError> {
        let rel = rel_to_path(rel);
        if let Some(parent) = rel.parent() {
            self.dir(parent)?;
        }
        write_new(&self.root.join(rel), bytes)
    }
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), EmitError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_err("create", path))?;
    file.write_all(bytes).map_err(io_err("write", path))?;
    #[cfg(not(target_os = "linux"))]
    file.sync_all().map_err(io_err("flush", path))?;
    Ok(())
}

/// Replaces the index alone (when no other file changes): write beside it, then rename.
fn replace_index(live: &Path, bytes: &[u8]) -> Result<(), EmitError> {
    let dir = live.join(INDEX_DIR);
    match fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err("create directory", &dir)(e)),
    }
    let tmp = dir.join(format!("{INDEX_TMP_PREFIX}{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_err("create", &tmp))?;
        file.write_all(bytes).map_err(io_err("write", &tmp))?;
        file.sync_all().map_err(io_err("flush", &tmp))?;
        let index = live.join(INDEX_PATH);
        fs::rename(&tmp, &index).map_err(io_err("replace", &index))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    sync_dir(&dir);
    Ok(())
}

/// Makes the staged tree durable before it becomes visible, so a power cut after the swap cannot
/// expose empty files. One `syncfs` on Linux; elsewhere each new file was synced when written.
fn sync_tree(staging: &Path) -> Result<(), EmitError> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let dir = fs::File::open(staging).map_err(io_err("open", staging))?;
        // SAFETY: `dir` is an open descriptor for the duration of the call.
        if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
            return Err(io_err("flush to disk", staging)(io::Error::last_os_error()));
        }
    }
    #[cfg(not(target_os = "linux"))]
    sync_dir(staging);
    Ok(())
}

/// Best effort: makes a rename in `dir` durable. Not all platforms can fsync a directory.
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The index written by hand is byte for byte what serde_json's pretty printer writes
        /// (with the trailing newline), escapes included.
        #[test]
        fn index_bytes_are_serde_jsons_pretty_output(
            files in proptest::collection::btree_map("\\PC{0,12}|[a-z/\"\\\\\u{0}-\u{1f}\u{7f}\u{2028}]{0,8}", "\\PC{0,8}", 0..6),
            version in "\\PC{0,6}",
            commit in proptest::option::of("[0-9a-f\"]{0,8}"),
        ) {
            let index = Index { files, platc_version: version, source_commit: commit };
            let mut serde = serde_json::to_vec_pretty(&index).unwrap();
            serde.push(b'\n');
            proptest::prop_assert_eq!(index.to_bytes(), serde);
        }
    }

    /// The index's files map, read in one pass, is what serde's own map reading gives: any
    /// order, a key written twice keeps its last value, anything but strings is refused.
    #[test]
    fn index_files_read_like_a_plain_map() {
        let text = r#"{"files": {"b": "2", "a": "1", "c/d": "3", "a": "4"}, "platc_version": "x", "source_commit": null}"#;
        let plain: BTreeMap<String, String> = serde_json::from_value(
            serde_json::from_str::<serde_json::Value>(text).unwrap()["files"].clone(),
        )
        .unwrap();
        let index: Index = serde_json::from_str(text).unwrap();
        assert_eq!(index.files, plain);
        assert_eq!(index.files.get("a").map(String::as_str), Some("4"));
        for bad in [
            r#"{"files": [], "platc_version": "x", "source_commit": null}"#,
            r#"{"files": {"a": 1}, "platc_version": "x", "source_commit": null}"#,
        ] {
            assert!(serde_json::from_str::<Index>(bad).is_err(), "{bad}");
        }
    }
    use std::os::unix::fs::MetadataExt;

    fn meta() -> IndexMeta {
        IndexMeta {
            platc_version: "0.1.0".into(),
            source_commit: Some("abc123".into()),
        }
    }

    fn tree(files: &[(&str, &str)]) -> Tree {
        Tree::new(
            files
                .iter()
                .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
                .collect(),
        )
    }

    /// Everything below `dir`: files with content, links with target, directories as `<dir>`.
    fn snapshot(dir: &Path) -> BTreeMap<String, String> {
        walkdir::WalkDir::new(dir)
            .min_depth(1)
            .into_iter()
            .map(|e| {
                let e = e.expect("walk");
                let rel = path_to_rel(e.path().strip_prefix(dir).expect("prefix"));
                let what = if e.file_type().is_symlink() {
                    format!("-> {}", fs::read_link(e.path()).expect("link").display())
                } else if e.file_type().is_dir() {
                    "<dir>".to_string()
                } else {
                    String::from_utf8_lossy(&fs::read(e.path()).expect("read")).into_owned()
                };
                (rel, what)
            })
            .collect()
    }

    fn siblings(parent: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(parent)
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn ino(path: &Path) -> u64 {
        fs::symlink_metadata(path).expect("stat").ino()
    }

    fn with(fault: Option<Fault>, no_exchange: bool) -> Options {
        Options { fault, no_exchange }
    }

    #[test]
    fn first_build_writes_files_and_index() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let t = tree(&[("b/x.yaml", "x: 1\n"), ("a.yaml", "a: 1\n")]);
        let report = emit(&out, &t, &meta()).expect("emit");
        assert_eq!(report.written, ["a.yaml", "b/x.yaml"]);
        assert!(report.unchanged.is_empty() && report.removed.is_empty());
        assert_eq!(
            fs::read_to_string(out.join("b/x.yaml")).expect("read"),
            "x: 1\n"
        );
        let index = fs::read_to_string(out.join(INDEX_PATH)).expect("index");
        assert_eq!(
            index,
            format!(
                "{{\n  \"files\": {{\n    \"a.yaml\": \"{}\",\n    \"b/x.yaml\": \"{}\"\n  }},\n  \"platc_version\": \"0.1.0\",\n  \"source_commit\": \"abc123\"\n}}\n",
                content_hash(b"a: 1\n"),
                content_hash(b"x: 1\n")
            )
        );
        assert_eq!(
            content_hash(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            read_index(&out).expect("read").expect("some").files.len(),
            2
        );
        assert_eq!(
            siblings(tmp.path()),
            ["out"],
            "no staging directory left behind"
        );
    }

    /// The build cache records the index's hash as emit reports it, so it must be the hash of
    /// the bytes on disk after every kind of emit: first build, patch, swap, no change, and no
    /// change over an index formatted differently (rewritten once, then left alone).
    #[test]
    fn the_reported_index_hash_is_that_of_the_index_on_disk() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let on_disk = || content_hash(&fs::read(out.join(INDEX_PATH)).expect("index"));
        let many: Vec<(String, String)> = (0..40)
            .map(|i| (format!("f{i}.yaml"), format!("v: {i}\n")))
            .collect();
        let mut files: Vec<(&str, &str)> =
            many.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
        let steps = [
            tree(&files),
            {
                files[0].1 = "v: patched\n";
                tree(&files)
            },
            tree(&files),
            tree(&[("a.yaml", "swapped: 1\n")]),
        ];
        for (i, t) in steps.iter().enumerate() {
            let emitted = emit_indexed(&out, t, &meta(), None).expect("emit");
            assert_eq!(emitted.index_hash, on_disk(), "step {i}");
        }
        // The same content, other formatting: no output changes, the index is rewritten.
        let compact =
            serde_json::to_vec(&read_index(&out).expect("read").expect("some")).expect("json");
        fs::write(out.join(INDEX_PATH), &compact).expect("write");
        let emitted = emit_indexed(&out, &steps[3], &meta(), None).expect("emit");
        assert!(emitted.report.written.is_empty());
        assert_eq!(emitted.index_hash, on_disk());
        assert_ne!(content_hash(&compact), on_disk());
    }

    /// An index read ahead is taken only while it is still the file there: after another
    /// emit replaced it, emit reads it again (a stale one would leave `x` behind, unknown).
    #[test]
    fn an_index_read_ahead_is_not_trusted_once_replaced() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        emit(&out, &tree(&[("a.yaml", "a\n")]), &meta()).expect("first");
        let unchanged = ReadAhead::of(&out);
        let stale = ReadAhead::of(&out);
        assert!(
            unchanged
                .still(&out)
                .is_some_and(|r| r.is_ok_and(|i| i.is_some()))
        );
        emit(
            &out,
            &tree(&[("a.yaml", "a\n"), ("x.yaml", "x\n")]),
            &meta(),
        )
        .expect("second");
        let emitted =
            emit_indexed(&out, &tree(&[("a.yaml", "a\n")]), &meta(), Some(stale)).expect("third");
        assert_eq!(emitted.report.removed, ["x.yaml"]);
        assert!(!out.join("x.yaml").exists());
        // Before any build there is nothing to read ahead, and nothing is taken.
        assert!(
            ReadAhead::of(&tmp.path().join("none"))
                .still(&out)
                .is_none()
        );
    }

    #[test]
    fn tree_sizes_are_every_path_once_in_order() {
        let mut t = tree(&[("a", "1"), ("c/x", "333")]);
        t.known.insert(
            "b".into(),
            Known {
                hash: content_hash(b"22"),
                len: 2,
            },
        );
        t.known.insert(
            "d".into(),
            Known {
                hash: content_hash(b""),
                len: 0,
            },
        );
        let sizes: Vec<(&str, u64)> = t.sizes().collect();
        assert_eq!(sizes, [("a", 1), ("b", 2), ("c/x", 3), ("d", 0)]);
    }

    #[test]
    fn a_rebuild_compares_owned_files_by_their_indexed_hash_not_by_reading_them() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let t = tree(&[("a.yaml", "aaaa\n"), ("b.yaml", "bbbb\n")]);
        emit(&out, &t, &meta()).expect("first");
        // Same length, other bytes: only reading the file could notice, and a rebuild must not
        // read output files. Another length is noticed from the directory listing and rewritten.
        fs::write(out.join("a.yaml"), "xxxx\n").expect("tamper");
        fs::write(out.join("b.yaml"), "b\n").expect("tamper");
        let r = emit(&out, &t, &meta()).expect("rebuild");
        assert_eq!(r.written, ["b.yaml"]);
        assert_eq!(r.unchanged, ["a.yaml"]);
        assert_eq!(
            fs::read_to_string(out.join("a.yaml")).expect("read"),
            "xxxx\n"
        );
        assert_eq!(
            fs::read_to_string(out.join("b.yaml")).expect("read"),
            "bbbb\n"
        );
    }

    #[test]
    fn rebuild_without_change_touches_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let t = tree(&[("a.yaml", "a\n"), ("d/b.yaml", "b\n")]);
        emit(&out, &t, &meta()).expect("first");
        let index_before = fs::read(out.join(INDEX_PATH)).expect("index");
        let inodes = (
            ino(&out),
            ino(&out.join("a.yaml")),
            ino(&out.join(INDEX_PATH)),
        );
        let mtime = fs::metadata(out.join("d/b.yaml"))
            .expect("stat")
            .modified()
            .expect("mtime");
        let report = emit(&out, &t, &meta()).expect("second");
        assert_eq!(
            report,
            EmitReport {
                unchanged: vec!["a.yaml".into(), "d/b.yaml".into()],
                ..Default::default()
            }
        );
        assert_eq!(fs::read(out.join(INDEX_PATH)).expect("index"), index_before);
        assert_eq!(
            (
                ino(&out),
                ino(&out.join("a.yaml")),
                ino(&out.join(INDEX_PATH))
            ),
            inodes
        );
        assert_eq!(
            fs::metadata(out.join("d/b.yaml"))
                .expect("stat")
                .modified()
                .expect("mtime"),
            mtime
        );
    }

    #[test]
    fn new_source_commit_only_replaces_the_index() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let t = tree(&[("a.yaml", "a\n")]);
        emit(&out, &t, &meta()).expect("first");
        let dir_ino = ino(&out);
        let m2 = IndexMeta {
            source_commit: Some("def456".into()),
            ..meta()
        };
        let report = emit(&out, &t, &m2).expect("second");
        assert_eq!(report.unchanged, ["a.yaml"]);
        assert_eq!(ino(&out), dir_ino, "no swap for an index-only change");
        assert_eq!(
            read_index(&out)
                .expect("read")
                .expect("some")
                .source_commit
                .as_deref(),
            Some("def456")
        );
        assert_eq!(siblings(&out.join(".platc")), ["index.json"]);
    }

    #[test]
    fn a_leftover_temporary_index_is_dropped_not_kept_as_a_user_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        emit(&out, &tree(&[("a.yaml", "1\n")]), &meta()).expect("v1");
        fs::write(out.join(".platc/.index.json.tmp-999999"), "{").expect("write");
        emit(&out, &tree(&[("a.yaml", "2\n")]), &meta()).expect("v2");
        assert_eq!(siblings(&out.join(".platc")), ["index.json"]);
    }

    /// A git checkout as output directory, with hand-written files next to platc's.
    fn user_files(out: &Path) {
        fs::create_dir_all(out.join(".git/objects/ab")).expect("mkdir");
        fs::write(out.join(".git/HEAD"), "ref: refs/heads/main\n").expect("write");
        fs::write(out.join(".git/objects/ab/cdef"), "blob").expect("write");
        fs::write(out.join("NOTES.md"), "mine\n").expect("write");
        fs::write(out.join("d/user.txt"), "mine too\n").expect("write");
        fs::create_dir_all(out.join("keep/empty")).expect("mkdir");
        std::os::unix::fs::symlink("a.yaml", out.join("link-to-a")).expect("symlink");
    }

    #[test]
    fn change_and_removal_prune_only_owned_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let v1 = tree(&[
            ("a.yaml", "a1\n"),
            ("d/b.yaml", "b\n"),
            ("d/c.yaml", "c\n"),
            ("e/only.yaml", "e\n"),
        ]);
        emit(&out, &v1, &meta()).expect("v1");
        user_files(&out);
        let kept_inodes = [
            ".git/HEAD",
            ".git/objects/ab/cdef",
            "NOTES.md",
            "d/user.txt",
            "d/b.yaml",
        ]
        .map(|p| (p, ino(&out.join(p))));
        let v2 = tree(&[
            ("a.yaml", "a2\n"),
            ("d/b.yaml", "b\n"),
            ("n/new.yaml", "n\n"),
        ]);
        let report = emit(&out, &v2, &meta()).expect("v2");
        assert_eq!(report.written, ["a.yaml", "n/new.yaml"]);
        assert_eq!(report.unchanged, ["d/b.yaml"]);
        assert_eq!(report.removed, ["d/c.yaml", "e/only.yaml"]);
        let snap = snapshot(&out);
        let want: BTreeMap<String, String> = [
            (".git", "<dir>"),
            (".git/HEAD", "ref: refs/heads/main\n"),
            (".git/objects", "<dir>"),
            (".git/objects/ab", "<dir>"),
            (".git/objects/ab/cdef", "blob"),
            (".platc", "<dir>"),
            ("NOTES.md", "mine\n"),
            ("a.yaml", "a2\n"),
            ("d", "<dir>"),
            ("d/b.yaml", "b\n"),
            ("d/user.txt", "mine too\n"),
            ("keep", "<dir>"),
            ("keep/empty", "<dir>"),
            ("link-to-a", "-> a.yaml"),
            ("n", "<dir>"),
            ("n/new.yaml", "n\n"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([(
            INDEX_PATH.to_string(),
            String::from_utf8(fs::read(out.join(INDEX_PATH)).expect("i")).expect("utf8"),
        )])
        .collect();
        assert_eq!(snap, want);
        for (p, inode) in kept_inodes {
            assert_eq!(
                ino(&out.join(p)),
                inode,
                "{p} kept its inode (bytes and mtime)"
            );
        }
        let index = read_index(&out).expect("read").expect("some");
        assert_eq!(
            index.files.keys().collect::<Vec<_>>(),
            ["a.yaml", "d/b.yaml", "n/new.yaml"]
        );
        assert_eq!(siblings(tmp.path()), ["out"]);
    }

    #[test]
    fn refuses_to_overwrite_unowned_files_but_adopts_identical_ones() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        fs::create_dir_all(out.join("sub")).expect("mkdir");
        fs::write(out.join("a.yaml"), "user's\n").expect("write");
        fs::write(out.join("same.yaml"), "same\n").expect("write");
        fs::write(out.join("blocker"), "file\n").expect("write");
        let t = tree(&[
            ("a.yaml", "platc's\n"),
            ("same.yaml", "same\n"),
            ("blocker/x.yaml", "x\n"),
            ("sub", "s\n"),
        ]);
        let err = emit(&out, &t, &meta()).expect_err("must refuse");
        let EmitError::Rejected(problems) = &err else {
            panic!("unexpected error {err}")
        };
        let paths: Vec<_> = problems.iter().map(|p| (p.path.as_str(), p.kind)).collect();
        assert_eq!(
            paths,
            [
                ("a.yaml", ProblemKind::NotOwned),
                ("blocker/x.yaml", ProblemKind::NotOwned),
                ("sub", ProblemKind::NotOwned)
            ]
        );
        assert_eq!(
            problems[0].message,
            "refusing to overwrite `a.yaml` in the output directory: a different file that platc did not write is already there"
        );
        assert_eq!(
            problems[1].message,
            "refusing to overwrite `blocker/x.yaml` in the output directory: `blocker` is a file platc did not write"
        );
        assert_eq!(err.to_diagnostics().0[0].code, Code::OutputConflict);
        assert_eq!(
            fs::read_to_string(out.join("a.yaml")).expect("read"),
            "user's\n"
        );
        assert!(!out.join(".platc").exists());

        let ok = tree(&[("same.yaml", "same\n"), ("new.yaml", "n\n")]);
        let report = emit(&out, &ok, &meta()).expect("adopt");
        assert_eq!(report.unchanged, ["same.yaml"]);
        assert_eq!(report.written, ["new.yaml"]);
        assert_eq!(
            fs::read_to_string(out.join("a.yaml")).expect("read"),
            "user's\n"
        );
        assert!(
            read_index(&out)
                .expect("read")
                .expect("some")
                .files
                .contains_key("same.yaml")
        );
    }

    #[test]
    fn owned_files_edited_by_hand_are_overwritten() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let t = tree(&[("a.yaml", "a\n")]);
        emit(&out, &t, &meta()).expect("first");
        fs::write(out.join("a.yaml"), "edited\n").expect("write");
        let report = emit(&out, &t, &meta()).expect("second");
        assert_eq!(report.written, ["a.yaml"]);
        assert_eq!(fs::read_to_string(out.join("a.yaml")).expect("read"), "a\n");
    }

    #[test]
    fn a_directory_of_owned_files_can_become_a_file_and_back() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        emit(&out, &tree(&[("x/a.yaml", "a\n")]), &meta()).expect("v1");
        let report = emit(&out, &tree(&[("x", "file\n")]), &meta()).expect("v2");
        assert_eq!(
            (report.written, report.removed),
            (vec!["x".to_string()], vec!["x/a.yaml".to_string()])
        );
        emit(&out, &tree(&[("x/a.yaml", "a\n")]), &meta()).expect("v3");
        assert_eq!(
            fs::read_to_string(out.join("x/a.yaml")).expect("read"),
            "a\n"
        );
    }

    #[test]
    fn invalid_paths_are_all_reported() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let t = tree(&[
            ("", "x"),
            ("/abs.yaml", "x"),
            ("../up.yaml", "x"),
            ("a/../b.yaml", "x"),
            ("a//b.yaml", "x"),
            ("a/./b.yaml", "x"),
            ("dir/", "x"),
            ("win\\path.yaml", "x"),
            (".platc/index.json", "x"),
            ("f", "x"),
            ("f/g.yaml", "x"),
            ("ok.yaml", "x"),
        ]);
        assert_eq!(
            rejected(&out, &t),
            [
                "output path `` is empty",
                "output path `../up.yaml` contains `..`",
                "output path `.platc/index.json` is inside `.platc/`, which is reserved for platc's ownership index",
                "output path `/abs.yaml` is absolute (output paths are relative to the output directory)",
                "output path `a/../b.yaml` contains `..`",
                "output path `a/./b.yaml` contains a `.` component",
                "output path `a//b.yaml` has an empty component (`//` or a trailing `/`)",
                "output path `dir/` has an empty component (`//` or a trailing `/`)",
                "output path `f/g.yaml` is below `f`, which is also a file of the output",
                "output path `win\\\\path.yaml` contains `\\` (output paths use `/` separators)",
            ]
        );
        assert!(!out.exists(), "nothing written");
    }

    /// The messages of an emit the path checks refuse.
    fn rejected(out: &Path, t: &Tree) -> Vec<String> {
        let err = emit(out, t, &meta()).expect_err("invalid");
        let EmitError::Rejected(problems) = &err else {
            panic!("unexpected error {err}")
        };
        problems.iter().map(|p| p.message.clone()).collect()
    }

    /// Rendered and memo-kept paths are checked as one tree: a path in both, and a rendered
    /// file below a kept one, are refused before anything is written.
    #[test]
    fn rendered_and_kept_paths_are_checked_together() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let mut t = tree(&[("a.yaml", "x"), ("k/x.yaml", "x"), ("m.yaml", "x")]);
        for kept in ["a.yaml", "k", "z.yaml"] {
            let known = Known {
                hash: content_hash(b"x"),
                len: 1,
            };
            t.known.insert(kept.into(), known);
        }
        assert_eq!(
            rejected(&out, &t),
            [
                "output path `a.yaml` is both rendered and taken from the render memo",
                "output path `k/x.yaml` is below `k`, which is also a file of the output",
            ]
        );
        assert!(!out.exists(), "nothing written");
    }

    #[test]
    fn crash_before_swap_leaves_old_tree_and_next_emit_recovers() {
        for no_exchange in [false, true] {
            let tmp = tempfile::tempdir().expect("tempdir");
            let out = tmp.path().join("out");
            emit(
                &out,
                &tree(&[("a.yaml", "v1\n"), ("gone.yaml", "g\n")]),
                &meta(),
            )
            .expect("v1");
            fs::write(out.join("user.txt"), "u\n").expect("write");
            let before = snapshot(&out);
            let v2 = tree(&[("a.yaml", "v2\n")]);
            let err = emit_with(
                &out,
                &v2,
                &meta(),
                &with(Some(Fault::AfterStaging), no_exchange),
            )
            .expect_err("crash");
            assert!(matches!(err, EmitError::Interrupted(Fault::AfterStaging)));
            assert_eq!(snapshot(&out), before, "old tree intact");
            assert_eq!(
                siblings(tmp.path()),
                [
                    format!(".out.platc-new-{}", std::process::id()),
                    "out".into()
                ]
            );
            let report = emit_with(&out, &v2, &meta(), &with(None, no_exchange))
                .expect("recover")
                .report;
            assert_eq!(
                (report.written, report.removed),
                (vec!["a.yaml".to_string()], vec!["gone.yaml".to_string()])
            );
            assert_eq!(
                fs::read_to_string(out.join("a.yaml")).expect("read"),
                "v2\n"
            );
            assert_eq!(
                fs::read_to_string(out.join("user.txt")).expect("read"),
                "u\n"
            );
            assert_eq!(siblings(tmp.path()), ["out"]);
        }
    }

    #[test]
    fn crash_of_a_first_build_leaves_nothing_visible() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let t = tree(&[("a.yaml", "a\n")]);
        emit_with(&out, &t, &meta(), &with(Some(Fault::AfterStaging), false)).expect_err("crash");
        assert!(!out.exists());
        assert_eq!(emit(&out, &t, &meta()).expect("retry").written, ["a.yaml"]);
        assert_eq!(siblings(tmp.path()), ["out"]);
    }

    #[test]
    fn crash_after_swap_leaves_new_tree_and_next_emit_cleans_up() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        emit(&out, &tree(&[("a.yaml", "v1\n")]), &meta()).expect("v1");
        let v2 = tree(&[("a.yaml", "v2\n")]);
        emit_with(&out, &v2, &meta(), &with(Some(Fault::AfterSwap), false)).expect_err("crash");
        assert_eq!(
            fs::read_to_string(out.join("a.yaml")).expect("read"),
            "v2\n"
        );
        let report = emit(&out, &v2, &meta()).expect("next");
        assert_eq!(report.unchanged, ["a.yaml"]);
        assert_eq!(siblings(tmp.path()), ["out"]);
    }

    #[test]
    fn crash_between_the_fallback_renames_is_rolled_back() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        emit(&out, &tree(&[("a.yaml", "v1\n")]), &meta()).expect("v1");
        fs::write(out.join("user.txt"), "u\n").expect("write");
        let before = snapshot(&out);
        let v2 = tree(&[("a.yaml", "v2\n")]);
        emit_with(&out, &v2, &meta(), &with(Some(Fault::AfterMoveAway), true)).expect_err("crash");
        assert!(!out.exists(), "the window this test is about");
        // A read-only look does not repair, the next emit does.
        assert_eq!(read_index(&out).expect("read"), None);
        let report = emit_with(&out, &v2, &meta(), &with(None, true))
            .expect("recover")
            .report;
        assert_eq!(report.written, ["a.yaml"]);
        let mut want = before;
        want.insert("a.yaml".into(), "v2\n".into());
        want.insert(
            INDEX_PATH.into(),
            String::from_utf8(fs::read(out.join(INDEX_PATH)).expect("i")).expect("utf8"),
        );
        assert_eq!(snapshot(&out), want);
        assert_eq!(siblings(tmp.path()), ["out"]);
    }

    #[test]
    fn same_tree_gives_byte_identical_index() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let files = [("z.yaml", "z\n"), ("a/b.yaml", "b\n"), ("m.yaml", "m\n")];
        let mut reversed = files;
        reversed.reverse();
        emit(&tmp.path().join("one"), &tree(&files), &meta()).expect("one");
        emit(&tmp.path().join("two"), &tree(&reversed), &meta()).expect("two");
        let one = fs::read(tmp.path().join("one").join(INDEX_PATH)).expect("read");
        let two = fs::read(tmp.path().join("two").join(INDEX_PATH)).expect("read");
        assert_eq!(one, two);
        assert_eq!(
            snapshot(&tmp.path().join("one")),
            snapshot(&tmp.path().join("two"))
        );
    }

    #[test]
    fn a_symlinked_output_directory_stays_a_symlink() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let real = tmp.path().join("real");
        fs::create_dir(&real).expect("mkdir");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        emit(&link, &tree(&[("a.yaml", "1\n")]), &meta()).expect("v1");
        emit(&link, &tree(&[("a.yaml", "2\n")]), &meta()).expect("v2");
        assert!(
            fs::symlink_metadata(&link)
                .expect("stat")
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            fs::read_to_string(real.join("a.yaml")).expect("read"),
            "2\n"
        );
        assert_eq!(siblings(tmp.path()), ["link", "real"]);
    }

    #[test]
    fn fallback_crash_behind_a_symlinked_output_directory_is_recovered() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let real = tmp.path().join("real");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink("real", &link).expect("symlink");
        emit(&link, &tree(&[("a.yaml", "1\n")]), &meta()).expect("v1 creates the target");
        let v2 = tree(&[("a.yaml", "2\n")]);
        emit_with(&link, &v2, &meta(), &with(Some(Fault::AfterMoveAway), true)).expect_err("crash");
        assert!(!real.exists(), "link dangles until recovery");
        emit(&link, &v2, &meta()).expect("recover");
        assert_eq!(
            fs::read_to_string(real.join("a.yaml")).expect("read"),
            "2\n"
        );
        assert!(
            fs::symlink_metadata(&link)
                .expect("stat")
                .file_type()
                .is_symlink()
        );
        assert_eq!(siblings(tmp.path()), ["link", "real"]);
    }

    #[test]
    fn staging_of_a_live_process_means_busy_and_of_a_dead_one_is_removed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        let t = tree(&[("a.yaml", "a\n")]);
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let live = tmp.path().join(format!(".out.platc-new-{}", child.id()));
        fs::create_dir(&live).expect("mkdir");
        let err = emit(&out, &t, &meta()).expect_err("busy");
        assert!(
            matches!(&err, EmitError::Busy { pid, .. } if *pid == child.id()),
            "{err}"
        );
        child.kill().expect("kill");
        child.wait().expect("wait");
        // The child is gone: its staging directory is a leftover.
        emit(&out, &t, &meta()).expect("after");
        assert_eq!(siblings(tmp.path()), ["out"]);
    }

    #[test]
    fn corrupt_or_hostile_index_is_an_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        fs::create_dir_all(out.join(".platc")).expect("mkdir");
        fs::write(out.join(INDEX_PATH), "{ not json").expect("write");
        let err = emit(&out, &tree(&[]), &meta()).expect_err("corrupt");
        assert!(matches!(err, EmitError::CorruptIndex { .. }), "{err}");
        let hostile = format!(
            "{{\"files\": {{\"../victim\": \"{}\"}}, \"platc_version\": \"0\", \"source_commit\": null}}",
            content_hash(b"")
        );
        fs::write(out.join(INDEX_PATH), hostile).expect("write");
        let err = emit(&out, &tree(&[]), &meta()).expect_err("hostile");
        assert_eq!(
            err.to_string(),
            format!(
                "the ownership index `{}` is unreadable: it lists the path `../victim`, which contains `..`",
                out.canonicalize()
                    .expect("canon")
                    .join(INDEX_PATH)
                    .display()
            )
        );
    }

    #[test]
    fn an_index_claiming_its_own_directory_or_a_file_below_a_file_is_corrupt() {
        // Found by fuzzing: both were accepted.
        let index = |files: &[&str]| {
            let files: Vec<String> = files
                .iter()
                .map(|f| format!("\"{f}\": \"{}\"", content_hash(b"")))
                .collect();
            format!(
                "{{\"files\": {{{}}}, \"platc_version\": \"0\", \"source_commit\": null}}",
                files.join(", ")
            )
        };
        let message =
            |files: &[&str]| match parse_index(Path::new("i.json"), index(files).as_bytes()) {
                Err(EmitError::CorruptIndex { message, .. }) => message,
                other => panic!("{other:?}"),
            };
        assert_eq!(
            message(&[".platc/journal"]),
            "it lists the path `.platc/journal`, which is inside `.platc/`, platc's own directory"
        );
        assert_eq!(
            message(&["a", "a-b", "a/b/c"]),
            "it lists the path `a/b/c` below `a`, which it lists as a file"
        );
        // Found by a red-team session: a clone's repository was deleted.
        for git in [".git", ".git/config", "apps/.Git/HEAD"] {
            assert_eq!(
                message(&[git]),
                format!("it lists the path `{git}`, which is inside `.git`, which belongs to Git")
            );
        }
        assert!(
            parse_index(
                Path::new("i.json"),
                index(&["a-b", "a/b", ".platcx", ".github/x", "a.git"]).as_bytes()
            )
            .is_ok()
        );
    }

    #[test]
    fn exchange_swaps_two_directories() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        fs::create_dir(&a).expect("mkdir");
        fs::create_dir(&b).expect("mkdir");
        fs::write(a.join("from-a"), "").expect("write");
        match exchange(&a, &b) {
            Ok(true) => {
                assert!(b.join("from-a").exists() && !a.join("from-a").exists());
            }
            // The file system cannot: emit uses the rename fallback, tested separately.
            Ok(false) => eprintln!("note: RENAME_EXCHANGE unsupported here"),
            Err(e) => panic!("exchange failed: {e}"),
        }
    }

    #[test]
    fn output_directory_that_is_a_file_is_an_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        fs::write(&out, "x").expect("write");
        let err = emit(&out, &tree(&[]), &meta()).expect_err("file");
        assert!(
            err.to_string()
                .ends_with("out` exists and is not a directory"),
            "{err}"
        );
    }
}
