//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An independent judge is not installed here: the test says so and passes with its own checks
/// only, except in a run that installed the judges (`.ci/run` sets `PLATC_REQUIRE_JUDGES` once
/// pip has installed them), where a missing judge is a failure rather than a silent skip.
pub fn judge_missing(what: &str) {
    if std::env::var_os("PLATC_REQUIRE_JUDGES").is_some() {
        panic!("{what}, but PLATC_REQUIRE_JUDGES says the judges were installed for this run");
    }
    eprintln!("SKIPPED: {what}");
}

pub fn platc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_platc"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the platc binary runs")
}

/// A command run as the publishing bot: no colour, Git configuration of neither the system
/// nor the user running the tests, a fixed bot identity.
pub fn as_bot(cmd: &mut Command) -> &mut Command {
    cmd.env("NO_COLOR", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "platc bot")
        .env("GIT_AUTHOR_EMAIL", "bot@example.com")
        .env("GIT_COMMITTER_NAME", "platc bot")
        .env("GIT_COMMITTER_EMAIL", "bot@example.com")
}

/// `platc build -C ws --out out`.
pub fn build_into(ws: &Path, out: &Path) -> Output {
    platc(&[
        "build",
        "-C",
        ws.to_str().expect("a UTF-8 path"),
        "--out",
        out.to_str().expect("a UTF-8 path"),
    ])
}

/// Every file under `dir` (relative path → bytes), including hidden ones.
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.expect("walk");
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, std::fs::read(e.path()).unwrap());
        }
    }
    out
}

/// Copies a directory tree; `reverse` creates entries in reverse name order so that tests can
/// check that directory order does not leak into output.
pub fn copy_dir(from: &Path, to: &Path, reverse: bool) {
    std::fs::create_dir_all(to).unwrap();
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    if reverse {
        entries.reverse();
    }
    for e in entries {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target, reverse);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A human-readable difference between two trees (missing, extra, and a unified diff of the
/// first changed files).
pub fn tree_diff(
    expected: &BTreeMap<String, Vec<u8>>,
    actual: &BTreeMap<String, Vec<u8>>,
) -> String {
    let mut s = String::new();
    let mut shown = 0;
    for (path, exp) in expected {
        match actual.get(path) {
            None => s.push_str(&format!("missing: {path}\n")),
            Some(act) if act != exp => {
                if shown < 5 {
                    let e = String::from_utf8_lossy(exp);
                    let a = String::from_utf8_lossy(act);
                    let diff = similar::TextDiff::from_lines(e.as_ref(), a.as_ref());
                    s.push_str(&format!(
                        "{}",
                        diff.unified_diff()
                            .context_radius(3)
                            .header(&format!("expected/{path}"), &format!("actual/{path}"))
                    ));
                } else {
                    s.push_str(&format!("changed: {path}\n"));
                }
                shown += 1;
            }
            _ => {}
        }
    }
    for path in actual.keys().filter(|p| !expected.contains_key(*p)) {
        s.push_str(&format!("unexpected: {path}\n"));
    }
    s
}

/// The reference workspace (platform + examples) copied into a scratch dir; `reverse` creates
/// entries in reverse name order (directory order must not leak into output).
pub fn example_workspace(reverse: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("platform"),
        &dir.path().join("platform"),
        reverse,
    );
    copy_dir(
        &repo().join("examples"),
        &dir.path().join("examples"),
        reverse,
    );
    dir
}

/// A scratch workspace: the repository's reference platform plus the given workload files.
pub fn workspace_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("platform"),
        &dir.path().join("platform"),
        false,
    );
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// Runs the independent judges (`tests/tools/validate.py`: kubernetes-validate --strict and the
/// CRD schemas of `../shared/schemas`) over a rendered tree. `None` when they are not available
/// here (the caller says SKIPPED); panics with their findings when the tree fails; otherwise
/// their summary line.
pub fn validate_tree(dir: &Path) -> Option<String> {
    let schemas = repo().join("../shared/schemas");
    if !schemas.join("crds").exists() {
        eprintln!("SKIPPED: ../shared/schemas is not beside the checkout");
        return None;
    }
    let Ok(o) = Command::new("python3")
        .arg(repo().join("tests/tools/validate.py"))
        .arg(dir)
        .arg(&schemas)
        .output()
    else {
        judge_missing("python3 is not installed");
        return None;
    };
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    if o.status.code() == Some(3) {
        judge_missing(stdout.trim());
        return None;
    }
    assert!(
        o.status.success(),
        "the rendered tree fails schema validation:\n{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary = stdout.lines().last().unwrap_or_default().to_string();
    assert!(summary.starts_with("summary:"), "{stdout}");
    Some(summary)
}

/// The repository's examples rendered by the real binary into a scratch directory, with the
/// graph of every environment (`platc graph --format json`).
pub struct Examples {
    pub _dir: tempfile::TempDir,
    pub out: PathBuf,
    pub graph: serde_json::Value,
}

pub fn render_examples() -> Examples {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let b = platc(&[
        "build",
        "-C",
        repo().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let g = platc(&["graph", "-C", repo().to_str().unwrap(), "--format", "json"]);
    assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
    let graph = serde_json::from_slice(&g.stdout).expect("graph json");
    Examples {
        _dir: dir,
        out,
        graph,
    }
}

/// The build-cache files of one kind (`build`, `nodes`) in a workspace's `.platc/cache`.
pub fn cache_files(workspace: &Path, kind: &str) -> Vec<PathBuf> {
    let prefix = format!("{kind}-");
    std::fs::read_dir(workspace.join(".platc/cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&prefix)
        })
        .collect()
}

/// The secrets corpus in a scratch workspace: the reference platform, overlaid with
/// `tests/secrets/{platform,workloads}`, then with `tests/secrets/bad/<variant>`.
pub fn secrets_workspace(variant: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let corpus = repo().join("tests/secrets");
    copy_dir(&repo().join("platform"), &ws.join("platform"), false);
    copy_dir(&corpus.join("platform"), &ws.join("platform"), false);
    copy_dir(&corpus.join("workloads"), &ws.join("workloads"), false);
    if let Some(v) = variant {
        copy_dir(&corpus.join("bad").join(v), &ws, false);
    }
    (dir, ws)
}

/// Gives the storefront's `web` workload a new image; returns its file's old text.
pub fn bump_web_image(root: &Path) -> String {
    let web = root.join("examples/storefront/web/score.yaml");
    let text = std::fs::read_to_string(&web).unwrap();
    std::fs::write(
        &web,
        text.replace("storefront-web:3.12.0", "storefront-web:3.13.0"),
    )
    .unwrap();
    text
}
