//! Where the "before" side of a diff comes from: a rendered directory, the workspace at a Git
//! revision (read from Git's object store into a temporary directory and rendered, reusing the
//! head's rendering for every node whose inputs are the same), or a published GitOps branch.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use super::Files;
use crate::diag::{Code, Diagnostic, Diagnostics};

/// A directory removed when dropped: holds a revision's sources or a cloned repository.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> Result<TempDir, Diagnostic> {
        Self::new_in(what, &std::env::temp_dir())
    }

    fn new_in(what: &str, base: &Path) -> Result<TempDir, Diagnostic> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let mut last = None;
        for _ in 0..100 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let p = base.join(format!("platc-{what}-{}-{n}", std::process::id()));
            match std::fs::create_dir(&p) {
                Ok(()) => return Ok(TempDir(p)),
                Err(e) => last = Some(e),
            }
        }
        Err(io_diag(
            format!(
                "could not create a temporary directory in {}",
                base.display()
            ),
            last.map(|e| e.to_string()).unwrap_or_default(),
        ))
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn io_diag(message: String, detail: String) -> Diagnostic {
    let d = Diagnostic::error(Code::Io, None, message);
    if detail.trim().is_empty() {
        d
    } else {
        d.with_note(detail.trim().to_string())
    }
}

/// Every file under `dir` except `.platc/` (platc's index) and `.git/`, by relative path.
/// Symbolic links are not followed: a rendered tree holds none.
pub fn read_tree(dir: &Path) -> Result<Files, Diagnostics> {
    if !dir.is_dir() {
        return Err(Diagnostic::error(
            Code::Io,
            None,
            format!("`{}` is not a directory", dir.display()),
        )
        .with_help("pass a directory holding a rendered tree, for example the output of `platc build --out DIR`")
        .into());
    }
    let mut files = Files::new();
    let walk = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            e.depth() != 1 || !matches!(e.file_name().to_str(), Some(".platc" | ".git"))
        });
    for entry in walk {
        let entry = entry.map_err(|e| {
            Diagnostics::from(io_diag(
                format!("could not read `{}`", dir.display()),
                e.to_string(),
            ))
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(dir) else {
            continue;
        };
        let rel: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let bytes = std::fs::read(entry.path()).map_err(|e| {
            Diagnostics::from(io_diag(
                format!("could not read `{}`", entry.path().display()),
                e.to_string(),
            ))
        })?;
        files.insert(rel.join("/"), bytes);
    }
    Ok(files)
}

fn git(dir: Option<&Path>, args: &[&OsStr]) -> Result<Output, Diagnostic> {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    cmd.args(args).stdin(Stdio::null());
    cmd.output().map_err(|e| {
        Diagnostic::error(Code::Io, None, format!("could not run `git`: {e}"))
            .with_help("install Git and make sure `git` is on PATH")
    })
}

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim().to_string()
}

/// Git options start with `-`; a revision or URL that does would be read as one.
fn refuse_option_like(what: &str, value: &str) -> Result<(), Diagnostic> {
    if value.starts_with('-') || value.is_empty() {
        return Err(Diagnostic::error(
            Code::InvalidValue,
            None,
            format!("`{value}` is not a valid {what}"),
        ));
    }
    Ok(())
}

/// The workspace as it was at a Git revision, extracted into a temporary directory.
#[derive(Debug)]
pub struct RevWorkspace {
    /// The workspace root inside the temporary directory (the repository root joined with the
    /// workspace's prefix).
    pub root: PathBuf,
    /// The full commit id the revision names.
    pub commit: String,
    _tmp: TempDir,
}

/// Extracts the sources of the workspace at `root` as of revision `rev` into a temporary
/// directory with `git archive <commit>:<prefix> | tar -x`, so the working tree and the index are
/// never read or written. The workspace may be a subdirectory of the repository.
pub fn checkout_rev(root: &Path, rev: &str) -> Result<RevWorkspace, Diagnostics> {
    checkout_rev_in(root, rev, &std::env::temp_dir())
}

/// [`checkout_rev`] into a temporary directory under `scratch`.
pub fn checkout_rev_in(
    root: &Path,
    rev: &str,
    scratch: &Path,
) -> Result<RevWorkspace, Diagnostics> {
    refuse_option_like("revision", rev)?;
    let (top, prefix) = toplevel_and_prefix(root)?;
    let root = top.as_path();
    let commit = commit_of(root, rev)?;
    let tmp = TempDir::new_in("base", scratch)?;
    let tree = workspace_tree(root, &commit, &prefix, rev)?;
    extract_archive(root, &tree, tmp.path())?;
    Ok(RevWorkspace {
        root: tmp.path().to_path_buf(),
        commit,
        _tmp: tmp,
    })
}

/// The repository's top level, and the workspace's path inside it (`""` or ending in `/`).
fn toplevel_and_prefix(root: &Path) -> Result<(PathBuf, String), Diagnostics> {
    let prefix = git(
        Some(root),
        &[
            "rev-parse".as_ref(),
            "--show-toplevel".as_ref(),
            "--show-prefix".as_ref(),
        ],
    )?;
    if !prefix.status.success() {
        return Err(Diagnostic::error(
            Code::InvalidValue,
            None,
            format!(
                "`{}` is not inside a Git repository, so `--base` has nothing to read",
                root.display()
            ),
        )
        .with_note(stderr_of(&prefix))
        .with_help(
            "compare with a rendered directory (`--against DIR`) instead, or run in a Git checkout",
        )
        .into());
    }
    // `git archive` run from a subdirectory archives only that subdirectory of the tree it is
    // given, so every later command runs at the top level with an explicit `<commit>:<prefix>`.
    let out = String::from_utf8_lossy(&prefix.stdout).into_owned();
    let mut lines = out.lines();
    let top = PathBuf::from(lines.next().unwrap_or_default());
    let prefix = lines.next().unwrap_or_default().trim().to_string();
    Ok((top, prefix))
}

/// The full id of the commit `rev` names in the repository at `top`.
fn commit_of(top: &Path, rev: &str) -> Result<String, Diagnostics> {
    let spec = format!("{rev}^{{commit}}");
    let verify = git(
        Some(top),
        &[
            "rev-parse".as_ref(),
            "--verify".as_ref(),
            "--quiet".as_ref(),
            "--end-of-options".as_ref(),
            spec.as_ref(),
        ],
    )?;
    if !verify.status.success() {
        return Err(Diagnostic::error(
            Code::InvalidValue,
            None,
            format!("unknown revision `{rev}`: it names no commit in this repository"),
        )
        .with_help("give a branch, tag or commit that exists here, for example `--base origin/main` (after `git fetch`) or `--base HEAD~1`")
        .into());
    }
    Ok(String::from_utf8_lossy(&verify.stdout).trim().to_string())
}

/// The tree of the workspace's directory at `commit`, as `git archive` takes it; an error when
/// the directory did not exist then.
fn workspace_tree(
    top: &Path,
    commit: &str,
    prefix: &str,
    rev: &str,
) -> Result<String, Diagnostics> {
    let tree = if prefix.is_empty() {
        format!("{commit}^{{tree}}")
    } else {
        format!("{commit}:{}", prefix.trim_end_matches('/'))
    };
    // `<commit>:<path>` takes the rest as the path, so `^{tree}` cannot be appended: ask the type.
    let exists = git(
        Some(top),
        &["cat-file".as_ref(), "-t".as_ref(), tree.as_ref()],
    )?;
    if !exists.status.success() || String::from_utf8_lossy(&exists.stdout).trim() != "tree" {
        return Err(Diagnostic::error(
            Code::InvalidValue,
            None,
            format!(
                "the workspace directory `{}` does not exist at revision `{rev}`",
                prefix.trim_end_matches('/')
            ),
        )
        .with_help("choose a revision in which the workspace already existed")
        .into());
    }
    Ok(tree)
}

fn extract_archive(repo: &Path, tree: &str, into: &Path) -> Result<(), Diagnostics> {
    let mut archive = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["archive", "--format=tar", tree])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Diagnostic::error(Code::Io, None, format!("could not run `git archive`: {e}"))
                .with_help("install Git and make sure `git` is on PATH")
        })?;
    let Some(stdout) = archive.stdout.take() else {
        return Err(
            Diagnostic::error(Code::Internal, None, "git archive has no output pipe").into(),
        );
    };
    let tar = Command::new("tar")
        .args(["-x", "-f", "-", "-C"])
        .arg(into)
        .stdin(stdout)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let archived = archive
        .wait_with_output()
        .map_err(|e| Diagnostics::from(io_diag("`git archive` failed".into(), e.to_string())))?;
    if !archived.status.success() {
        return Err(io_diag(format!("`git archive {tree}` failed"), stderr_of(&archived)).into());
    }
    match tar {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(io_diag(
            "could not unpack the revision with `tar`".into(),
            stderr_of(&o),
        )
        .into()),
        Err(e) => Err(
            Diagnostic::error(Code::Io, None, format!("could not run `tar`: {e}"))
                .with_help("install tar and make sure it is on PATH")
                .into(),
        ),
    }
}

/// The rendered tree published on `branch` (the remote's default branch when `None`) of the
/// GitOps repository at `url` (anything `git clone` accepts, a local path included), under
/// `subdir` when given. A shallow, single-branch clone into a temporary directory.
pub fn fetch_published(
    url: &str,
    branch: Option<&str>,
    subdir: Option<&str>,
) -> Result<Files, Diagnostics> {
    refuse_option_like("repository URL or path", url)?;
    if let Some(b) = branch {
        refuse_option_like("branch name", b)?;
    }
    if let Some(s) = subdir
        && Path::new(s)
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(Diagnostic::error(
            Code::InvalidValue,
            None,
            format!("`--path {s}` must be a relative path inside the repository without `..`"),
        )
        .into());
    }
    let tmp = TempDir::new("repo")?;
    let dest = tmp.path().join("checkout");
    clone_shallow(url, branch, &dest)?;
    let root = match subdir {
        Some(s) => dest.join(s),
        None => dest,
    };
    if !root.is_dir() {
        return Err(Diagnostic::error(
            Code::InvalidValue,
            None,
            format!(
                "`{}` does not exist on the published branch of `{url}`",
                subdir.unwrap_or(".")
            ),
        )
        .with_help("`--path` names the directory of the tree inside the GitOps repository")
        .into());
    }
    read_tree(&root)
}

/// `git clone` of one branch's last commit into `dest`.
fn clone_shallow(url: &str, branch: Option<&str>, dest: &Path) -> Result<(), Diagnostics> {
    let mut args: Vec<&OsStr> = vec![
        "clone".as_ref(),
        "--quiet".as_ref(),
        "--depth=1".as_ref(),
        "--single-branch".as_ref(),
        "--no-tags".as_ref(),
    ];
    if let Some(b) = branch {
        args.push("--branch".as_ref());
        args.push(b.as_ref());
    }
    // A local path clones by hard links and ignores --depth; file:// keeps it shallow.
    let local;
    let source: &OsStr = if !url.contains("://") && !url.contains('@') && Path::new(url).exists() {
        local = std::fs::canonicalize(url)
            .map(|p| format!("file://{}", p.display()))
            .unwrap_or_else(|_| url.to_string());
        local.as_ref()
    } else {
        url.as_ref()
    };
    args.push("--".as_ref());
    args.push(source);
    args.push(dest.as_os_str());
    let out = git(None, &args)?;
    if out.status.success() {
        return Ok(());
    }
    let err = stderr_of(&out);
    let d = match branch {
        Some(b) if err.contains("not found in upstream") || err.contains("Remote branch") => {
            Diagnostic::error(
                Code::InvalidValue,
                None,
                format!("branch `{b}` does not exist in `{url}`"),
            )
            .with_help("publish the tree first (`platc publish`), or name an existing branch with `--branch`")
        }
        _ => Diagnostic::error(
            Code::InvalidValue,
            None,
            format!("could not clone `{url}`"),
        )
        .with_note(err)
        .with_help("check the URL and your Git credentials (`git ls-remote URL` should work)"),
    };
    Err(d.into())
}

/// The workspace compiled with node keys, so that a base can reuse its rendering.
pub fn compile_head(
    root: &Path,
    opts: &crate::pipeline::Options,
) -> Result<crate::pipeline::Compilation, Diagnostics> {
    compile_keyed(root, opts, None)
}

/// The workspace at `root` compiled with node keys, taking from `from` every node with the same
/// key.
fn compile_keyed(
    root: &Path,
    opts: &crate::pipeline::Options,
    from: Option<&crate::pipeline::Compilation>,
) -> Result<crate::pipeline::Compilation, Diagnostics> {
    let (platform, workloads) = crate::pipeline::load(root, opts)?;
    let layout = opts.layout.unwrap_or(platform.gitops.layout);
    let memo = crate::memo::Memo::for_platform(&platform, layout).map(|m| match from {
        Some(c) => m.with_entries_of(c),
        None => m,
    });
    crate::pipeline::compile_with_memo(platform, workloads, opts, memo.as_ref())
}

/// The workspace at a revision, rendered.
pub struct Base {
    pub compilation: crate::pipeline::Compilation,
    pub files: Files,
    /// The full commit id the revision named.
    pub commit: String,
}

pub enum BaseError {
    /// The revision could not be read.
    Checkout(Diagnostics),
    /// It was read, and does not compile.
    Compile { commit: String, diags: Diagnostics },
}

/// The workspace at `rev` rendered, taking from `head` (see [`compile_head`]) every node whose
/// key is the same on both sides: a pull request's base is rendered only where it differs.
/// Its sources are unpacked under `scratch` (the system's temporary directory when `None`).
pub fn render_base(
    root: &Path,
    rev: &str,
    opts: &crate::pipeline::Options,
    head: &crate::pipeline::Compilation,
    scratch: Option<&Path>,
) -> Result<Base, BaseError> {
    let scratch = scratch.map_or_else(std::env::temp_dir, Path::to_path_buf);
    let ws = checkout_rev_in(root, rev, &scratch).map_err(BaseError::Checkout)?;
    match compile_keyed(&ws.root, opts, Some(head)) {
        Ok(compilation) => Ok(Base {
            files: compilation.tree().files,
            compilation,
            commit: ws.commit.clone(),
        }),
        Err(diags) => Err(BaseError::Compile {
            commit: ws.commit.clone(),
            diags,
        }),
    }
}
