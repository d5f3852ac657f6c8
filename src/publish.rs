//! `platc publish`: commits a rendered tree to a branch of a GitOps repository.
//!
//! Mechanism: the `git` CLI (see the "Git" section of ARCHITECTURE.md). Push and fetch then use
//! the user's credential helpers, SSH config and hooks exactly as `git push` would.
//!
//! One attempt: a fresh scratch repository fetches the branch tip (depth 1; a missing branch
//! becomes an orphan commit), `emit::emit` writes the tree into the checkout (under `path`), so
//! ownership works as for `platc build`: files listed in the checkout's `.platc/index.json` are
//! replaced or pruned, everything else is kept. The commit is made with plumbing (`write-tree`,
//! `commit-tree`): no local hooks, no signing, author/committer and both dates fixed, so the same
//! inputs on the same parent give the same commit id. The push is a plain fast-forward push: when
//! the branch moved meanwhile, the attempt is discarded and the same tree is applied again on the
//! new tip, at most `max_retries` times. Nothing is ever force-pushed.
//!
//! "No change" ignores the provenance files (`hydrator.metadata`, the index's source commit and
//! platc version): a new source commit that renders the same manifests makes no commit, so
//! `drySha` names the first source commit that produced the published tree.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::emit::{self, EmitError, INDEX_PATH, IndexMeta, Tree};

/// The Argo CD source-hydrator-style provenance file, at the root of the published tree.
pub const METADATA_PATH: &str = "hydrator.metadata";
/// Commit date when there is no source commit to take it from (keeps commits reproducible).
pub const FIXED_DATE: &str = "@0 +0000";
/// Changed-file groups listed in a commit body before the rest is summarised in one line.
const MAX_BODY_GROUPS: usize = 60;
/// File names listed per group and kind before "and N more".
const MAX_NAMES: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

impl Identity {
    /// `Name <email>`, as `git commit --author` takes it.
    pub fn parse(s: &str) -> Option<Identity> {
        let s = s.trim();
        let open = s.rfind('<')?;
        let rest = s[open + 1..].strip_suffix('>')?;
        let name = s[..open].trim();
        if name.is_empty() || rest.is_empty() || rest.contains(['<', '>', '\n']) {
            return None;
        }
        if name.contains(['<', '>', '\n']) {
            return None;
        }
        Some(Identity {
            name: name.to_string(),
            email: rest.to_string(),
        })
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} <{}>", self.name, self.email)
    }
}

/// Where the rendered tree came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    /// The full commit id of the workspace's source.
    pub commit: Option<String>,
    /// The worktree had changes not in `commit`.
    pub dirty: bool,
    /// The source repository's URL, credentials removed.
    pub repo: Option<String>,
    /// `commit`'s committer date in Git's internal format (`@<seconds> <zone>`).
    pub date: Option<String>,
}

impl Source {
    /// The commit as recorded in trailers and the index: `<sha>` or `<sha>-dirty`.
    pub fn commit_label(&self) -> Option<String> {
        self.commit.as_ref().map(|c| {
            if self.dirty {
                format!("{c}-dirty")
            } else {
                c.clone()
            }
        })
    }

    fn short_label(&self) -> Option<String> {
        self.commit.as_ref().map(|c| {
            let short: String = c.chars().take(7).collect();
            if self.dirty {
                format!("{short}-dirty")
            } else {
                short
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// A local path (bare repository or not) or a URL `git` understands.
    pub repo: String,
    pub branch: String,
    /// Directory of the repository the tree is written into; `None` = the repository root.
    pub path: Option<String>,
    pub source: Source,
    pub author: Identity,
    pub committer: Identity,
    /// Further attempts after the push was rejected because the branch moved.
    pub max_retries: u32,
    /// Make the commit in the scratch repository but do not push it.
    pub dry_run: bool,
    pub platc_version: String,
    /// The commands that render the tree, recorded in `hydrator.metadata`.
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Added,
    Changed,
    Removed,
}

/// One file the commit changes; `path` is relative to the published tree's root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new commit is on the branch.
    Published,
    /// The branch already holds this rendering; no commit was made.
    Unchanged,
    /// The commit was made in the scratch repository only.
    DryRun,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub outcome: Outcome,
    /// The new commit (published or dry run); for `Unchanged` the branch tip, if the branch exists.
    pub commit: Option<String>,
    /// The branch tip the commit was made on (`None`: a new orphan branch).
    pub parent: Option<String>,
    pub message: Option<String>,
    /// Sorted by path; provenance files (`hydrator.metadata`, the index) are not listed.
    pub changes: Vec<Change>,
    /// Attempts repeated because the branch moved.
    pub retries: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{message}")]
    Invalid {
        message: String,
        help: Option<String>,
    },
    #[error("`git {command}` failed: {detail}")]
    Git {
        command: String,
        detail: String,
        help: Option<String>,
    },
    #[error("cannot run `git`: {0}")]
    NoGit(io::Error),
    #[error("cannot {op} `{}`: {source}", .path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Emit(#[from] EmitError),
    #[error(
        "the branch `{branch}` of {repo} moved on every attempt: gave up after {attempts} attempts"
    )]
    Contended {
        repo: String,
        branch: String,
        attempts: u32,
    },
}

impl PublishError {
    pub fn to_diagnostics(&self) -> Diagnostics {
        match self {
            PublishError::Emit(e) => e.to_diagnostics(),
            PublishError::Invalid { help, .. } => {
                with_help(Code::InvalidValue, self.to_string(), help.as_deref())
            }
            PublishError::Git { help, .. } => {
                with_help(Code::Io, self.to_string(), help.as_deref())
            }
            PublishError::NoGit(_) => with_help(
                Code::Io,
                self.to_string(),
                Some("platc publish needs the `git` command on PATH"),
            ),
            PublishError::Contended { .. } => with_help(
                Code::Io,
                self.to_string(),
                Some(
                    "another publisher keeps pushing to this branch; run again, or raise --max-retries",
                ),
            ),
            PublishError::Io { .. } => with_help(Code::Io, self.to_string(), None),
        }
    }
}

fn with_help(code: Code, message: String, help: Option<&str>) -> Diagnostics {
    let d = Diagnostic::error(code, None, message);
    Diagnostics::from(match help {
        Some(h) => d.with_help(h),
        None => d,
    })
}

impl From<PublishError> for Diagnostics {
    fn from(e: PublishError) -> Self {
        e.to_diagnostics()
    }
}

// ---------------------------------------------------------------------------------------------
// Running git

/// Variables that would point our `git` calls at another repository (set inside Git hooks).
const GIT_LOCATION_VARS: [&str; 8] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
];

fn git_command(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    // Bytes are committed as platc wrote them, whatever the user's global config says; the C
    // locale keeps git's messages stable for the few that are parsed.
    cmd.args([
        "-c",
        "core.autocrlf=false",
        "-c",
        "core.safecrlf=false",
        "-c",
        "commit.gpgSign=false",
    ])
    .args(args)
    .current_dir(cwd)
    .env("LC_ALL", "C")
    .stdin(Stdio::null());
    for v in GIT_LOCATION_VARS {
        cmd.env_remove(v);
    }
    cmd
}

fn run(cmd: &mut Command) -> Result<Output, PublishError> {
    cmd.output().map_err(PublishError::NoGit)
}

fn describe(args: &[&str]) -> String {
    args.iter()
        .map(|a| redact_url(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// git's stderr without progress noise and hints, for error messages.
fn stderr_text(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        .collect();
    if lines.is_empty() {
        format!("exit status {}", out.status.code().unwrap_or(-1))
    } else {
        lines.join("\n  ")
    }
}

/// Runs git and returns its stdout (trailing newline trimmed), or an error with its stderr.
fn git_ok(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Result<String, PublishError> {
    let mut cmd = git_command(cwd, args);
    cmd.envs(envs.iter().copied());
    let out = run(&mut cmd)?;
    if !out.status.success() {
        return Err(PublishError::Git {
            command: describe(args),
            detail: redact_url(&stderr_text(&out)),
            help: None,
        });
    }
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    while s.ends_with('\n') {
        s.pop();
    }
    Ok(s)
}

/// Removes the user information (`user:token@`) from every URL in `text` (a URL or a message
/// quoting some); everything else is returned as is.
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        out.push_str(match authority.rfind('@') {
            Some(at) => &authority[at + 1..],
            None => authority,
        });
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

fn is_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

// ---------------------------------------------------------------------------------------------
// The workspace side: source commit and identity

/// The source of a workspace: `commit` and `repo` (flags) win; otherwise `git rev-parse HEAD` and
/// the `origin` remote when the workspace is inside a Git repository. Never an error: a workspace
/// outside Git simply has no source commit.
pub fn detect_source(
    workspace: &Path,
    commit: Option<&str>,
    repo: Option<&str>,
) -> Result<Source, PublishError> {
    let ws = workspace;
    let inside =
        git_ok(ws, &["rev-parse", "--is-inside-work-tree"], &[]).is_ok_and(|s| s.trim() == "true");
    let mut source = Source::default();
    match commit {
        Some(c) => {
            let c = c.trim().to_ascii_lowercase();
            if !(4..=64).contains(&c.len()) || !is_hex(&c) {
                return Err(PublishError::Invalid {
                    message: format!(
                        "--source-commit `{c}` is not a commit id (expected 4 to 64 hex digits)"
                    ),
                    help: Some("pass the full SHA, e.g. `--source-commit $GITHUB_SHA`".into()),
                });
            }
            source.commit = Some(c);
        }
        None if inside => {
            // A repository without commits has no HEAD: no source commit, not an error.
            if let Ok(head) = git_ok(ws, &["rev-parse", "--verify", "-q", "HEAD^{commit}"], &[]) {
                source.commit = Some(head);
                // Only this workspace's files matter (the repository may hold more).
                let status = git_ok(ws, &["status", "--porcelain", "--", "."], &[])?;
                source.dirty = !status.trim().is_empty();
            }
        }
        None => {}
    }
    if let (true, Some(c)) = (inside, &source.commit) {
        // The flag's commit may be unknown to a shallow CI checkout: then the fixed date is used.
        let spec = format!("{c}^{{commit}}");
        if let Ok(date) = git_ok(ws, &["show", "-s", "--format=%ct %cz", &spec, "--"], &[])
            && !date.is_empty()
        {
            source.date = Some(format!("@{date}"));
        }
    }
    source.repo = match repo {
        Some(r) => Some(redact_url(r.trim())),
        None if inside => git_ok(ws, &["remote", "get-url", "origin"], &[])
            .ok()
            .filter(|u| !u.is_empty())
            .map(|u| redact_url(&u)),
        None => None,
    };
    Ok(source)
}

/// Author and committer as `git commit` in the workspace would pick them (environment
/// variables, then repository, global and system config).
pub fn git_identities(workspace: &Path) -> Result<(Identity, Identity), PublishError> {
    let one = |var: &str| -> Result<Identity, PublishError> {
        let mut cmd = git_command(workspace, &["var", var]);
        let out = run(&mut cmd)?;
        let text = String::from_utf8_lossy(&out.stdout);
        // `Name <email> <seconds> <zone>`: the date is dropped, publish fixes its own.
        let ident = text.trim().rsplitn(3, ' ').nth(2).and_then(Identity::parse);
        match (out.status.success(), ident) {
            (true, Some(i)) => Ok(i),
            _ => Err(PublishError::Invalid {
                message: format!(
                    "no Git identity for the commit ({var}: {})",
                    stderr_text(&out)
                        .lines()
                        .find(|l| l.starts_with("fatal:"))
                        .unwrap_or("unknown")
                ),
                help: Some(
                    "pass --author \"Name <email>\", or set git config user.name and user.email"
                        .into(),
                ),
            }),
        }
    };
    Ok((one("GIT_AUTHOR_IDENT")?, one("GIT_COMMITTER_IDENT")?))
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// A local repository path is made absolute (git runs in a scratch directory); a URL is kept.
fn resolve_repo(repo: &str) -> Result<String, PublishError> {
    if repo.trim().is_empty() {
        return Err(PublishError::Invalid {
            message: "--repo is empty".into(),
            help: Some("pass a repository path or URL".into()),
        });
    }
    let p = Path::new(repo);
    if !repo.contains("://") && p.exists() {
        let abs = fs::canonicalize(p).map_err(|source| PublishError::Io {
            op: "resolve",
            path: p.to_path_buf(),
            source,
        })?;
        return abs
            .to_str()
            .map(str::to_string)
            .ok_or_else(|| PublishError::Invalid {
                message: format!("repository path `{}` is not valid UTF-8", abs.display()),
                help: None,
            });
    }
    Ok(repo.to_string())
}

fn check_branch(branch: &str) -> Result<(), PublishError> {
    let ok = !branch.is_empty()
        && !branch.starts_with('-')
        && git_ok(
            Path::new("."),
            &["check-ref-format", &format!("refs/heads/{branch}")],
            &[],
        )
        .is_ok();
    if ok {
        Ok(())
    } else {
        Err(PublishError::Invalid {
            message: format!("`{branch}` is not a valid branch name"),
            help: Some("see `git check-ref-format --help` for the rules".into()),
        })
    }
}

/// The `--path` directory as clean `/`-separated components; `""` for the repository root.
pub fn normalise_subdir(path: Option<&str>) -> Result<String, PublishError> {
    let Some(path) = path else {
        return Ok(String::new());
    };
    let trimmed = path.trim_end_matches('/');
    let mut parts = Vec::new();
    for c in trimmed.split('/') {
        let bad = match c {
            "" if parts.is_empty() && trimmed.starts_with('/') => {
                Some("is absolute (it is a directory inside the repository)")
            }
            "" | "." => None,
            ".." => Some("contains `..`"),
            ".git" => Some("is inside `.git`"),
            c if c.contains(['\\', '\0']) => Some("contains `\\` or NUL"),
            _ => {
                parts.push(c);
                None
            }
        };
        if let Some(reason) = bad {
            return Err(PublishError::Invalid {
                message: format!("--path `{path}` {reason}"),
                help: Some("use a relative directory such as `clusters/prod`".into()),
            });
        }
    }
    Ok(parts.join("/"))
}

/// The content of `hydrator.metadata`: sorted keys, trailing newline.
pub fn metadata(source: &Source, platc_version: &str, commands: &[String]) -> Vec<u8> {
    let mut m = serde_json::Map::new();
    m.insert("commands".into(), serde_json::json!(commands));
    if let Some(c) = &source.commit {
        m.insert("drySha".into(), serde_json::json!(c));
        if source.dirty {
            m.insert("dryShaDirty".into(), serde_json::json!(true));
        }
    }
    m.insert("platcVersion".into(), serde_json::json!(platc_version));
    if let Some(r) = &source.repo {
        m.insert("repoURL".into(), serde_json::json!(r));
    }
    let mut bytes = serde_json::to_vec_pretty(&serde_json::Value::Object(m)).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

// ---------------------------------------------------------------------------------------------
// Commit message

/// `envs/<env>/<app>/x.yaml` → (`envs/<env>/<app>`, `x.yaml`); `argocd/clusters/<c>/…` likewise;
/// other nested paths group by their first two components, top-level files stand alone.
fn group_of(path: &str) -> (&str, &str) {
    let parts: Vec<&str> = path.split('/').collect();
    let depth = if parts.len() > 4 && parts[0] == "envs" && parts[2].starts_with('_') {
        // `_namespaces/<ns>`, `_resources/<instance>`: each one is a unit like an app.
        4
    } else if parts.len() > 3 && (parts[0] == "envs" || parts[..2] == ["argocd", "clusters"]) {
        3
    } else if parts.len() > 2 {
        2
    } else if parts.len() == 2 {
        1
    } else {
        return (path, "");
    };
    let split = parts[..depth].iter().map(|p| p.len() + 1).sum::<usize>();
    (&path[..split - 1], &path[split..])
}

fn names(list: &[&str]) -> String {
    let shown: Vec<&str> = list.iter().take(MAX_NAMES).copied().collect();
    let mut s = shown.join(", ");
    if list.len() > MAX_NAMES {
        let _ = write!(s, " and {} more", list.len() - MAX_NAMES);
    }
    s
}

/// Subject `platc: render <short sha>`, a body grouping the changes by environment and app,
/// and the `Platc-*` trailers.
pub fn commit_message(changes: &[Change], source: &Source, platc_version: &str) -> String {
    let mut msg = match source.short_label() {
        Some(s) => format!("platc: render {s}\n\n"),
        None => "platc: render (no source commit)\n\n".to_string(),
    };
    let count = |k: ChangeKind| changes.iter().filter(|c| c.kind == k).count();
    let (a, c, r) = (
        count(ChangeKind::Added),
        count(ChangeKind::Changed),
        count(ChangeKind::Removed),
    );
    let mut groups: BTreeMap<&str, [Vec<&str>; 3]> = BTreeMap::new();
    for ch in changes {
        let (g, rest) = group_of(&ch.path);
        let slot = &mut groups.entry(g).or_default()[ch.kind as usize];
        if !rest.is_empty() {
            slot.push(rest);
        }
    }
    let envs: std::collections::BTreeSet<&str> = groups
        .keys()
        .filter_map(|g| g.strip_prefix("envs/"))
        .filter_map(|g| g.split('/').next())
        .collect();
    let apps = groups
        .keys()
        .filter(|g| {
            g.starts_with("envs/") && !g.split('/').nth(2).is_some_and(|a| a.starts_with('_'))
        })
        .count();
    let _ = writeln!(
        msg,
        "{} file{}: {a} added, {c} changed, {r} removed; {apps} app{} in {} environment{}{}.",
        changes.len(),
        plural(changes.len()),
        plural(apps),
        envs.len(),
        plural(envs.len()),
        if envs.is_empty() {
            String::new()
        } else {
            format!(" ({})", envs.iter().copied().collect::<Vec<_>>().join(", "))
        }
    );
    msg.push('\n');
    // Environments' apps first, then the delivery, catalog and top-level files.
    let mut ordered: Vec<(&&str, &[Vec<&str>; 3])> = groups.iter().collect();
    ordered.sort_by_key(|(g, _)| (!g.starts_with("envs/"), **g));
    for (i, (group, kinds)) in ordered.iter().enumerate() {
        if i == MAX_BODY_GROUPS {
            let _ = writeln!(msg, "… and {} more", ordered.len() - MAX_BODY_GROUPS);
            break;
        }
        let mut parts = Vec::new();
        for (k, word) in [(0, "added"), (1, "changed"), (2, "removed")] {
            if !kinds[k].is_empty() {
                parts.push(format!("{word} {}", names(&kinds[k])));
            }
        }
        if parts.is_empty() {
            // A top-level file: the group is the file itself.
            let word = [ChangeKind::Added, ChangeKind::Changed, ChangeKind::Removed]
                .iter()
                .find(|k| changes.iter().any(|c| c.path == **group && c.kind == **k))
                .map_or("changed", |k| match k {
                    ChangeKind::Added => "added",
                    ChangeKind::Changed => "changed",
                    ChangeKind::Removed => "removed",
                });
            let _ = writeln!(msg, "{group}: {word}");
        } else {
            let _ = writeln!(msg, "{group}: {}", parts.join("; "));
        }
    }
    msg.push('\n');
    if let Some(c) = source.commit_label() {
        let _ = writeln!(msg, "Platc-Source-Commit: {c}");
    }
    if let Some(r) = &source.repo {
        let _ = writeln!(msg, "Platc-Source-Repo: {r}");
    }
    let _ = writeln!(msg, "Platc-Version: {platc_version}");
    msg
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

// ---------------------------------------------------------------------------------------------
// Scratch space

static SCRATCH_SEQ: AtomicU64 = AtomicU64::new(0);

/// A private temporary directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, PublishError> {
        let base = std::env::temp_dir();
        loop {
            let n = SCRATCH_SEQ.fetch_add(1, Ordering::Relaxed);
            let dir = base.join(format!(
                "platc-publish-{}-{n}-{:x}",
                std::process::id(),
                random_u64() & 0xffff_ffff
            ));
            match fs::create_dir(&dir) {
                Ok(()) => return Ok(Scratch(dir)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(source) => {
                    return Err(PublishError::Io {
                        op: "create directory",
                        path: dir,
                        source,
                    });
                }
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Randomness for names and backoff jitter only (std's hasher keys are randomly seeded).
fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(SCRATCH_SEQ.load(Ordering::Relaxed));
    h.finish()
}

fn path_str(p: &Path) -> Result<&str, PublishError> {
    p.to_str().ok_or_else(|| PublishError::Invalid {
        message: format!("path `{}` is not valid UTF-8", p.display()),
        help: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Publishing

/// Tip of `branch` in `repo`, `None` when the branch does not exist.
fn remote_tip(cwd: &Path, repo: &str, branch: &str) -> Result<Option<String>, PublishError> {
    let refname = format!("refs/heads/{branch}");
    let args = ["ls-remote", "--exit-code", repo, refname.as_str()];
    let out = run(&mut git_command(cwd, &args))?;
    match out.status.code() {
        Some(0) => {
            let text = String::from_utf8_lossy(&out.stdout);
            Ok(text
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .find(|(_, r)| *r == refname)
                .map(|(sha, _)| sha.to_string()))
        }
        // `--exit-code`: 2 means the repository answered and has no such ref.
        Some(2) => Ok(None),
        _ => Err(PublishError::Git {
            command: describe(&args),
            detail: redact_url(&stderr_text(&out)),
            help: Some("check --repo and your access to it".into()),
        }),
    }
}

enum Attempt {
    Done(Report),
    /// The branch moved between fetch and push.
    Raced,
}

/// Renders nothing itself: writes `tree` (plus `hydrator.metadata`) into `opts.branch` of
/// `opts.repo` and pushes one commit, or none when nothing changed.
pub fn publish(tree: &Tree, opts: &Options) -> Result<Report, PublishError> {
    let repo = resolve_repo(&opts.repo)?;
    check_branch(&opts.branch)?;
    let sub = normalise_subdir(opts.path.as_deref())?;
    if tree.files.contains_key(METADATA_PATH) {
        return Err(PublishError::Invalid {
            message: format!("the rendered tree already has a `{METADATA_PATH}`"),
            help: Some("publish writes that file itself; rename the object".into()),
        });
    }
    let mut full = tree.clone();
    full.files.insert(
        METADATA_PATH.into(),
        metadata(&opts.source, &opts.platc_version, &opts.commands),
    );
    let scratch = Scratch::new()?;
    let mut retries = 0;
    loop {
        match attempt(&scratch.0, retries, &repo, &sub, &full, opts)? {
            Attempt::Done(mut report) => {
                report.retries = retries;
                return Ok(report);
            }
            Attempt::Raced if retries < opts.max_retries => {
                // The next attempt starts from a fresh clone; this one's files are dead weight.
                for dir in ["git", "work"] {
                    let _ = fs::remove_dir_all(scratch.0.join(format!("{dir}-{retries}")));
                }
                retries += 1;
                std::thread::sleep(backoff(retries));
            }
            Attempt::Raced => {
                return Err(PublishError::Contended {
                    repo: redact_url(&opts.repo),
                    branch: opts.branch.clone(),
                    attempts: retries + 1,
                });
            }
        }
    }
}

/// 20 ms doubling per retry up to 640 ms, each drawn uniformly from its upper half so that
/// publishers that collided once do not collide again in lockstep.
fn backoff(retry: u32) -> Duration {
    let cap = 20u64 << retry.min(5);
    Duration::from_millis(cap / 2 + random_u64() % (cap / 2 + 1))
}

fn attempt(
    scratch: &Path,
    n: u32,
    repo: &str,
    sub: &str,
    tree: &Tree,
    opts: &Options,
) -> Result<Attempt, PublishError> {
    let gitdir = scratch.join(format!("git-{n}"));
    let work = scratch.join(format!("work-{n}"));
    git_ok(
        scratch,
        &[
            "init",
            "-q",
            "--separate-git-dir",
            path_str(&gitdir)?,
            path_str(&work)?,
        ],
        &[],
    )?;
    let branch = &opts.branch;
    let parent = match remote_tip(&work, repo, branch)? {
        None => None,
        Some(_) => {
            let tracking = format!("refs/remotes/origin/{branch}");
            let spec = format!("+refs/heads/{branch}:{tracking}");
            git_ok(
                &work,
                &["fetch", "-q", "--no-tags", "--depth=1", repo, &spec],
                &[],
            )?;
            // The fetched tip, not the listed one: the branch may have moved in between.
            let tip = git_ok(&work, &["rev-parse", "--verify", &tracking], &[])?;
            git_ok(&work, &["reset", "-q", "--hard", &tip], &[])?;
            Some(tip)
        }
    };

    let out_dir = if sub.is_empty() {
        work.clone()
    } else {
        work.join(sub)
    };
    let owned_before = owned_manifests(emit::read_index(&out_dir)?);
    let meta = IndexMeta {
        platc_version: opts.platc_version.clone(),
        source_commit: opts.source.commit_label(),
    };
    emit::emit(&out_dir, tree, &meta)?;
    let owned_after = owned_manifests(emit::read_index(&out_dir)?);

    let pathspec = if sub.is_empty() { "." } else { sub };
    git_ok(&work, &["add", "-A", "-f", "--", pathspec], &[])?;
    let diff = git_ok(
        &work,
        &[
            "diff",
            "--cached",
            "--name-status",
            "-z",
            "--no-renames",
            "--",
            pathspec,
        ],
        &[],
    )?;
    let changes = parse_name_status(&diff, sub);
    if changes.is_empty() && owned_before == owned_after && parent.is_some() {
        return Ok(Attempt::Done(Report {
            outcome: Outcome::Unchanged,
            commit: parent.clone(),
            parent,
            message: None,
            changes,
            retries: 0,
        }));
    }

    let message = commit_message(&changes, &opts.source, &opts.platc_version);
    let msg_file = scratch.join(format!("message-{n}"));
    fs::write(&msg_file, &message).map_err(|source| PublishError::Io {
        op: "write",
        path: msg_file.clone(),
        source,
    })?;
    let tree_id = git_ok(&work, &["write-tree"], &[])?;
    let date = opts.source.date.as_deref().unwrap_or(FIXED_DATE);
    let envs = [
        ("GIT_AUTHOR_NAME", opts.author.name.as_str()),
        ("GIT_AUTHOR_EMAIL", opts.author.email.as_str()),
        ("GIT_AUTHOR_DATE", date),
        ("GIT_COMMITTER_NAME", opts.committer.name.as_str()),
        ("GIT_COMMITTER_EMAIL", opts.committer.email.as_str()),
        ("GIT_COMMITTER_DATE", date),
    ];
    let mut args = vec!["commit-tree", "--no-gpg-sign", tree_id.as_str()];
    if let Some(p) = &parent {
        args.extend(["-p", p.as_str()]);
    }
    args.extend(["-F", path_str(&msg_file)?]);
    let commit = git_ok(&work, &args, &envs)?;

    let report = |outcome| Report {
        outcome,
        commit: Some(commit.clone()),
        parent: parent.clone(),
        message: Some(message.clone()),
        changes: changes.clone(),
        retries: 0,
    };
    if opts.dry_run {
        return Ok(Attempt::Done(report(Outcome::DryRun)));
    }

    // A plain push: the remote accepts it only as a fast-forward of the tip we built on.
    let refspec = format!("{commit}:refs/heads/{branch}");
    let push_args = ["push", "--porcelain", repo, refspec.as_str()];
    let pushed = run(&mut git_command(&work, &push_args))?;
    if pushed.status.success() {
        return Ok(Attempt::Done(report(Outcome::Published)));
    }
    // Decide from the branch itself, not from the wording of the rejection.
    let now = remote_tip(&work, repo, branch)?;
    if now.as_deref() == Some(commit.as_str()) {
        // The push landed but its answer was lost.
        return Ok(Attempt::Done(report(Outcome::Published)));
    }
    if now != parent {
        return Ok(Attempt::Raced);
    }
    let mut detail = stderr_text(&pushed);
    let porcelain = String::from_utf8_lossy(&pushed.stdout);
    if let Some(line) = porcelain.lines().find(|l| l.starts_with('!'))
        && let Some(reason) = line.rsplit('\t').next()
    {
        detail = format!("{reason}\n{detail}");
    }
    Err(PublishError::Git {
        command: describe(&push_args),
        detail: redact_url(&detail),
        help: Some(
            "the push was refused while the branch did not move: check write access, branch protection and server hooks".into(),
        ),
    })
}

/// The index's files without the provenance file (whose content changes with every source commit).
fn owned_manifests(index: Option<emit::Index>) -> Option<BTreeMap<String, String>> {
    index.map(|i| {
        i.files
            .into_iter()
            .filter(|(p, _)| p != METADATA_PATH)
            .collect()
    })
}

/// `git diff --name-status -z` output → changes relative to the tree root, provenance excluded.
fn parse_name_status(z: &str, sub: &str) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut fields = z.split('\0').filter(|f| !f.is_empty());
    while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
        let rel = if sub.is_empty() {
            path
        } else {
            match path.strip_prefix(sub).and_then(|p| p.strip_prefix('/')) {
                Some(p) => p,
                None => continue,
            }
        };
        if rel == METADATA_PATH || rel == INDEX_PATH {
            continue;
        }
        let kind = match status.as_bytes().first() {
            Some(b'A') => ChangeKind::Added,
            Some(b'D') => ChangeKind::Removed,
            _ => ChangeKind::Changed,
        };
        changes.push(Change {
            path: rel.to_string(),
            kind,
        });
    }
    changes.sort();
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(path: &str, kind: ChangeKind) -> Change {
        Change {
            path: path.into(),
            kind,
        }
    }

    #[test]
    fn identity_parses_name_and_email() {
        assert_eq!(
            Identity::parse(" Platc Bot <bot@example.com> "),
            Some(Identity {
                name: "Platc Bot".into(),
                email: "bot@example.com".into()
            })
        );
        assert_eq!(Identity::parse("no email"), None);
        assert_eq!(Identity::parse("<only@email>"), None);
        assert_eq!(Identity::parse("A <b@c> trailing"), None);
    }

    #[test]
    fn credentials_are_removed_from_urls() {
        assert_eq!(
            redact_url("https://x-access-token:ghs_abc@github.com/org/gitops.git"),
            "https://github.com/org/gitops.git"
        );
        assert_eq!(
            redact_url("https://github.com/org/a@b.git"),
            "https://github.com/org/a@b.git"
        );
        assert_eq!(
            redact_url("git@github.com:org/gitops.git"),
            "git@github.com:org/gitops.git"
        );
        assert_eq!(
            redact_url("fatal: unable to access 'https://u:t@h/x/': 403\nTo https://t@h/y\n"),
            "fatal: unable to access 'https://h/x/': 403\nTo https://h/y\n"
        );
    }

    #[test]
    fn subdir_is_normalised_or_rejected() {
        assert_eq!(normalise_subdir(None).expect("none"), "");
        assert_eq!(
            normalise_subdir(Some("./clusters//prod/")).expect("ok"),
            "clusters/prod"
        );
        for (bad, why) in [
            ("../x", "contains `..`"),
            ("/abs", "is absolute"),
            ("a/.git/b", "is inside `.git`"),
        ] {
            let err = normalise_subdir(Some(bad)).expect_err(bad).to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn paths_group_by_environment_and_app() {
        assert_eq!(
            group_of("envs/dev/cart/deployment.yaml"),
            ("envs/dev/cart", "deployment.yaml")
        );
        assert_eq!(
            group_of("envs/dev/_namespaces/data-dev/ns.yaml"),
            ("envs/dev/_namespaces/data-dev", "ns.yaml")
        );
        assert_eq!(
            group_of("argocd/clusters/prod/apps/x.yaml"),
            ("argocd/clusters/prod", "apps/x.yaml")
        );
        assert_eq!(
            group_of("argocd/dev/apps/cart.yaml"),
            ("argocd/dev", "apps/cart.yaml")
        );
        assert_eq!(
            group_of("argocd/dev/root.yaml"),
            ("argocd/dev", "root.yaml")
        );
        assert_eq!(group_of("catalog/x.yaml"), ("catalog", "x.yaml"));
        assert_eq!(group_of("README.md"), ("README.md", ""));
    }

    #[test]
    fn message_has_subject_body_by_app_and_trailers() {
        let source = Source {
            commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            dirty: true,
            repo: Some("https://example.com/src.git".into()),
            date: None,
        };
        let changes = vec![
            ch("README.md", ChangeKind::Changed),
            ch("argocd/dev/apps/cart.yaml", ChangeKind::Changed),
            ch("envs/dev/cart/deployment.yaml", ChangeKind::Changed),
            ch("envs/dev/cart/hpa.yaml", ChangeKind::Added),
            ch("envs/prod/orders/cronjob.yaml", ChangeKind::Removed),
            ch(
                "envs/prod/_resources/orders-db/cluster.yaml",
                ChangeKind::Changed,
            ),
        ];
        assert_eq!(
            commit_message(&changes, &source, "0.1.0"),
            "platc: render 0123456-dirty\n\
             \n\
             6 files: 1 added, 4 changed, 1 removed; 2 apps in 2 environments (dev, prod).\n\
             \n\
             envs/dev/cart: added hpa.yaml; changed deployment.yaml\n\
             envs/prod/_resources/orders-db: changed cluster.yaml\n\
             envs/prod/orders: removed cronjob.yaml\n\
             README.md: changed\n\
             argocd/dev: changed apps/cart.yaml\n\
             \n\
             Platc-Source-Commit: 0123456789abcdef0123456789abcdef01234567-dirty\n\
             Platc-Source-Repo: https://example.com/src.git\n\
             Platc-Version: 0.1.0\n"
        );
    }

    #[test]
    fn long_lists_are_shortened() {
        let changes: Vec<Change> = (0..6)
            .map(|i| ch(&format!("envs/dev/a/f{i}.yaml"), ChangeKind::Added))
            .collect();
        let msg = commit_message(&changes, &Source::default(), "1");
        assert!(
            msg.starts_with("platc: render (no source commit)\n"),
            "{msg}"
        );
        assert!(
            msg.contains("envs/dev/a: added f0.yaml, f1.yaml, f2.yaml, f3.yaml and 2 more\n"),
            "{msg}"
        );
        assert!(!msg.contains("Platc-Source-Commit"), "{msg}");
    }

    #[test]
    fn name_status_is_relative_to_the_subdir_without_provenance() {
        let z = "M\0sub/envs/dev/a/x.yaml\0A\0sub/hydrator.metadata\0M\0sub/.platc/index.json\0D\0sub/README.md\0A\0other/y\0";
        assert_eq!(
            parse_name_status(z, "sub"),
            vec![
                ch("README.md", ChangeKind::Removed),
                ch("envs/dev/a/x.yaml", ChangeKind::Changed)
            ]
        );
    }

    #[test]
    fn metadata_is_sorted_json() {
        let source = Source {
            commit: Some("abc1".into()),
            dirty: false,
            repo: Some("https://e/x".into()),
            date: None,
        };
        assert_eq!(
            String::from_utf8(metadata(&source, "0.1.0", &["platc build".into()])).expect("utf8"),
            "{\n  \"commands\": [\n    \"platc build\"\n  ],\n  \"drySha\": \"abc1\",\n  \"platcVersion\": \"0.1.0\",\n  \"repoURL\": \"https://e/x\"\n}\n"
        );
    }

    #[test]
    fn backoff_is_bounded_and_grows() {
        for r in 1..10 {
            let d = backoff(r).as_millis() as u64;
            let cap = 20u64 << r.min(5);
            assert!(d >= cap / 2 && d <= cap, "retry {r}: {d}ms");
        }
    }
}
