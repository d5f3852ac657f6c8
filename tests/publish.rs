//! `platc publish` against real Git repositories: local bare repositories, a `git daemon`, and
//! two publishers racing on one branch.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Barrier};

use common::*;
use platc::emit::Tree;
use platc::publish::{self, Identity, Options, Outcome, Source};

const SOURCE_REPO: &str = "https://example.com/acme/platform.git";

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// Git with a fixed identity and dates and no user or system configuration.
fn git_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.args(["-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Dev Eloper")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_AUTHOR_DATE", "@1700000000 +0100")
        .env("GIT_COMMITTER_NAME", "Dev Eloper")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_DATE", "@1700000000 +0100")
        .env("LC_ALL", "C");
    cmd
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_cmd(dir, args).output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        s(&out.stderr)
    );
    s(&out.stdout).trim_end().to_string()
}

/// The binary, with the same hermetic Git environment and a bot identity.
fn publish_bin(ws: &Path, extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_platc"));
    as_bot(cmd.arg("publish").arg("-C").arg(ws).args(extra));
    cmd.output().expect("the platc binary runs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        s(&out.stdout),
        s(&out.stderr)
    );
    s(&out.stdout)
}

/// The reference workspace as a Git repository with one commit.
fn source_workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("src");
    copy_dir(&repo().join("platform"), &ws.join("platform"), false);
    copy_dir(&repo().join("examples"), &ws.join("examples"), false);
    std::fs::write(ws.join(".gitignore"), "out/\n").unwrap();
    git(&ws, &["init", "-q"]);
    git(&ws, &["remote", "add", "origin", SOURCE_REPO]);
    commit_all(&ws, "initial");
    (dir, ws)
}

fn commit_all(ws: &Path, msg: &str) -> String {
    git(ws, &["add", "-A"]);
    git(ws, &["commit", "-q", "-m", msg]);
    git(ws, &["rev-parse", "HEAD"])
}

fn bare_repo(parent: &Path, name: &str) -> PathBuf {
    let p = parent.join(name);
    git(parent, &["init", "-q", "--bare", name]);
    p
}

fn set_cart_image(ws: &Path, tag: &str) {
    let path = ws.join("examples/storefront/cart/score.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let next = text.replace(
        "ghcr.io/acme/cart:2.0.7",
        &format!("ghcr.io/acme/cart:{tag}"),
    );
    assert_ne!(text, next);
    std::fs::write(&path, next).unwrap();
}

fn log(bare: &Path, branch: &str) -> Vec<String> {
    let out = git(bare, &["rev-list", branch]);
    out.lines().map(str::to_string).collect()
}

fn message(bare: &Path, rev: &str) -> String {
    git(bare, &["log", "-1", "--format=%B", rev])
}

/// Files of a commit's tree (path → bytes).
fn files_at(bare: &Path, rev: &str) -> BTreeMap<String, Vec<u8>> {
    let list = git(bare, &["ls-tree", "-r", "--name-only", rev]);
    list.lines()
        .map(|p| {
            let out = git_cmd(bare, &["show", &format!("{rev}:{p}")])
                .output()
                .unwrap();
            (p.to_string(), out.stdout)
        })
        .collect()
}

#[test]
fn publishing_twice_makes_one_commit_and_then_reports_no_change() {
    let (tmp, ws) = source_workspace();
    let bare = bare_repo(tmp.path(), "gitops.git");
    let repo = bare.to_str().unwrap();
    let head = git(&ws, &["rev-parse", "HEAD"]);

    let first = ok(&publish_bin(&ws, &["--repo", repo]));
    assert!(first.starts_with("published "), "{first}");
    let commits = log(&bare, "main");
    assert_eq!(commits.len(), 1, "one commit on a new branch");
    assert!(first.contains(&commits[0][..12]), "{first}");
    // A new branch starts as an orphan and holds the whole rendering and its provenance.
    let parents = git(&bare, &["log", "-1", "--format=%P", "main"]);
    assert_eq!(parents, "");
    let files = files_at(&bare, "main");
    assert!(files.contains_key("argocd/prod/root.yaml"));
    assert!(files.contains_key(".platc/index.json"));
    let meta: serde_json::Value =
        serde_json::from_slice(&files["hydrator.metadata"]).expect("metadata is JSON");
    assert_eq!(meta["drySha"], head.as_str());
    assert_eq!(meta["repoURL"], SOURCE_REPO);
    assert_eq!(meta["commands"], serde_json::json!(["platc build"]));
    assert_eq!(meta["platcVersion"], env!("CARGO_PKG_VERSION"));
    // Author, committer and dates: the bot, at the source commit's committer date.
    assert_eq!(
        git(
            &bare,
            &["log", "-1", "--format=%an <%ae>|%cn <%ce>|%at %ct", "main"]
        ),
        "platc bot <bot@example.com>|platc bot <bot@example.com>|1700000000 1700000000"
    );
    let msg = message(&bare, "main");
    assert!(
        msg.starts_with(&format!("platc: render {}\n\n", &head[..7])),
        "{msg}"
    );

    let second = ok(&publish_bin(&ws, &["--repo", repo]));
    assert!(
        second.starts_with("nothing changed: branch `main` of "),
        "{second}"
    );
    assert!(second.contains("no commit made"), "{second}");
    assert_eq!(log(&bare, "main"), commits, "no second commit");
}

#[test]
fn a_source_change_makes_one_commit_naming_the_changed_apps_with_trailers() {
    let (tmp, ws) = source_workspace();
    let bare = bare_repo(tmp.path(), "gitops.git");
    let repo = bare.to_str().unwrap();
    ok(&publish_bin(&ws, &["--repo", repo]));
    let before = log(&bare, "main");

    set_cart_image(&ws, "2.0.8");
    // A later date, so that this commit's date is visibly the source commit's.
    let mut c = git_cmd(&ws, &["commit", "-q", "-am", "cart 2.0.8"]);
    c.env("GIT_COMMITTER_DATE", "@1700000500 +0100");
    assert!(c.status().unwrap().success());
    let head = git(&ws, &["rev-parse", "HEAD"]);

    let out = ok(&publish_bin(&ws, &["--repo", repo]));
    assert!(out.starts_with("published "), "{out}");
    let after = log(&bare, "main");
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after[1..], before[..], "built on the previous tip");
    let msg = message(&bare, "main");
    assert_eq!(
        msg,
        format!(
            "platc: render {}\n\n\
             6 files: 0 added, 6 changed, 0 removed; 3 apps in 3 environments (dev, prod, staging).\n\n\
             envs/dev/cart: changed README.md, deployment-cart.yaml\n\
             envs/prod/cart: changed README.md, deployment-cart.yaml\n\
             envs/staging/cart: changed README.md, deployment-cart.yaml\n\n\
             Platc-Source-Commit: {head}\n\
             Platc-Source-Repo: {SOURCE_REPO}\n\
             Platc-Version: {}",
            &head[..7],
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%ct", "main"]),
        "1700000500"
    );
    // The trailers are real Git trailers.
    let trailers = git(
        &bare,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Platc-Source-Commit,valueonly)",
            "main",
        ],
    );
    assert_eq!(trailers, head);
    let deployment = files_at(&bare, "main")["envs/prod/cart/deployment-cart.yaml"].clone();
    assert!(s(&deployment).contains("ghcr.io/acme/cart:2.0.8"));

    // A dirty worktree is published as such.
    set_cart_image_again(&ws, "2.0.8", "2.0.9");
    ok(&publish_bin(&ws, &["--repo", repo]));
    let msg = message(&bare, "main");
    assert!(
        msg.starts_with(&format!("platc: render {}-dirty\n", &head[..7])),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("Platc-Source-Commit: {head}-dirty\n")),
        "{msg}"
    );
}

fn set_cart_image_again(ws: &Path, from: &str, to: &str) {
    let path = ws.join("examples/storefront/cart/score.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn files_someone_else_added_survive_a_publish() {
    let (tmp, ws) = source_workspace();
    let bare = bare_repo(tmp.path(), "gitops.git");
    let repo = bare.to_str().unwrap();
    ok(&publish_bin(&ws, &["--repo", repo]));

    // Someone clones the branch and adds their own files, one inside an app directory.
    let clone = tmp.path().join("human");
    git(tmp.path(), &["clone", "-q", repo, "human"]);
    std::fs::create_dir_all(clone.join("notes")).unwrap();
    std::fs::write(clone.join("notes/runbook.md"), "# runbook\n").unwrap();
    std::fs::write(clone.join("envs/dev/cart/extra.yaml"), "kind: Hand\n").unwrap();
    commit_all(&clone, "hand-written files");
    git(&clone, &["push", "-q", "origin", "main"]);
    let theirs = git(&clone, &["rev-parse", "HEAD"]);

    set_cart_image(&ws, "3.0.0");
    commit_all(&ws, "cart 3");
    ok(&publish_bin(&ws, &["--repo", repo]));
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%P", "main"]),
        theirs,
        "built on their commit"
    );
    let files = files_at(&bare, "main");
    assert_eq!(s(&files["notes/runbook.md"]), "# runbook\n");
    assert_eq!(s(&files["envs/dev/cart/extra.yaml"]), "kind: Hand\n");
    assert!(s(&files["envs/dev/cart/deployment-cart.yaml"]).contains("cart:3.0.0"));
    let index = s(&files[".platc/index.json"]);
    assert!(!index.contains("notes/runbook.md") && !index.contains("extra.yaml"));
}

#[test]
fn the_same_inputs_give_the_same_commit_id() {
    let (tmp, ws) = source_workspace();
    let a = bare_repo(tmp.path(), "a.git");
    let b = bare_repo(tmp.path(), "b.git");
    ok(&publish_bin(&ws, &["--repo", a.to_str().unwrap()]));
    ok(&publish_bin(&ws, &["--repo", b.to_str().unwrap()]));
    let ca = git(&a, &["rev-parse", "main"]);
    assert_eq!(ca, git(&b, &["rev-parse", "main"]));
    // Explicit flags instead of the workspace's Git: also stable, dated at the fixed epoch.
    let plain = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("platform"),
        &plain.path().join("platform"),
        true,
    );
    copy_dir(
        &repo().join("examples"),
        &plain.path().join("examples"),
        true,
    );
    let flags = [
        "--source-commit",
        "89abcdef0123456789abcdef0123456789abcdef",
        "--source-repo",
        "https://user:secret@example.com/acme/platform.git",
        "--author",
        "Release Bot <release@example.com>",
        "--branch",
        "rendered",
        "--path",
        "clusters/all",
    ];
    let c = bare_repo(tmp.path(), "c.git");
    let d = bare_repo(tmp.path(), "d.git");
    for r in [&c, &d] {
        let mut args = vec!["--repo", r.to_str().unwrap()];
        args.extend(flags);
        ok(&publish_bin(plain.path(), &args));
    }
    let cc = git(&c, &["rev-parse", "rendered"]);
    assert_eq!(cc, git(&d, &["rev-parse", "rendered"]));
    assert_eq!(
        git(&c, &["log", "-1", "--format=%an <%ae> %at", "rendered"]),
        "Release Bot <release@example.com> 0"
    );
    let msg = message(&c, "rendered");
    assert!(
        msg.contains("Platc-Source-Repo: https://example.com/acme/platform.git"),
        "credentials must not be committed: {msg}"
    );
    let files = files_at(&c, "rendered");
    assert!(files.contains_key("clusters/all/argocd/prod/root.yaml"));
    assert!(files.contains_key("clusters/all/hydrator.metadata"));
    assert!(files.keys().all(|k| k.starts_with("clusters/all/")));
}

#[test]
fn dry_run_prints_the_commit_and_pushes_nothing() {
    let (tmp, ws) = source_workspace();
    let bare = bare_repo(tmp.path(), "gitops.git");
    let out = ok(&publish_bin(
        &ws,
        &["--repo", bare.to_str().unwrap(), "--dry-run"],
    ));
    assert!(out.starts_with("dry run: would push "), "{out}");
    assert!(out.contains("    platc: render "), "{out}");
    assert!(out.contains("    Platc-Version: "), "{out}");
    let refs = git(&bare, &["for-each-ref"]);
    assert_eq!(refs, "", "nothing pushed");
}

#[test]
fn a_push_refused_by_the_server_is_a_clear_error() {
    let (tmp, ws) = source_workspace();
    let bare = bare_repo(tmp.path(), "gitops.git");
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'denied by policy: bots need a ticket' >&2\nexit 1\n",
    )
    .unwrap();
    make_executable(&hook);
    let out = publish_bin(&ws, &["--repo", bare.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", s(&out.stderr));
    let err = s(&out.stderr);
    assert!(err.contains("error: `git push --porcelain"), "{err}");
    assert!(
        err.contains("denied by policy: bots need a ticket"),
        "{err}"
    );
    assert!(err.contains("help: the push was refused"), "{err}");
}

#[test]
fn a_branch_that_keeps_moving_is_never_overwritten_and_gives_up() {
    let (tmp, ws) = source_workspace();
    let bare = bare_repo(tmp.path(), "gitops.git");
    let repo = bare.to_str().unwrap();
    ok(&publish_bin(&ws, &["--repo", repo]));
    // Every push races with another writer: the hook moves the branch before ours lands.
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\nunset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n\
         c=$(git commit-tree main^{tree} -p main -m intruder) && git update-ref refs/heads/main \"$c\"\n",
    )
    .unwrap();
    make_executable(&hook);
    set_cart_image(&ws, "4.0.0");
    commit_all(&ws, "cart 4");
    let out = publish_bin(&ws, &["--repo", repo, "--max-retries", "2"]);
    assert_eq!(out.status.code(), Some(2), "{}", s(&out.stderr));
    let err = s(&out.stderr);
    assert!(
        err.contains("moved on every attempt: gave up after 3 attempts"),
        "{err}"
    );
    let subjects = git(&bare, &["log", "--format=%s", "main"]);
    assert_eq!(
        subjects.lines().collect::<Vec<_>>()[..3],
        ["intruder", "intruder", "intruder"],
        "their commits are all there, ours is not"
    );
    assert!(!subjects.contains("cart"), "{subjects}");
}

fn make_executable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Two publishers racing, through the library (the binary's rendering would dominate the time).

fn bot() -> Identity {
    Identity {
        name: "racer".into(),
        email: "racer@example.com".into(),
    }
}

/// The rendering of publisher `p`'s source in round `r`: each is different from every other, so
/// each publish must make exactly one commit whatever it lands on.
fn race_tree(p: usize, r: usize) -> Tree {
    let mut t = Tree::default();
    t.files.insert(
        "README.md".into(),
        format!("rendered from publisher {p}, round {r}\n").into_bytes(),
    );
    t.files.insert(
        format!("envs/dev/app-{p}/deployment.yaml"),
        format!("kind: Deployment\nround: {r}\n").into_bytes(),
    );
    t.files.insert(
        "envs/dev/shared/config.yaml".into(),
        b"shared: true\n".to_vec(),
    );
    t
}

fn race_sha(p: usize, r: usize) -> String {
    format!("{:040x}", (p + 1) * 1000 + r)
}

#[test]
fn two_publishers_racing_for_50_rounds_lose_nothing() {
    const ROUNDS: usize = 50;
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "race.git");
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|p| {
            let barrier = Arc::clone(&barrier);
            let repo = bare.to_str().unwrap().to_string();
            std::thread::spawn(move || {
                let mut reports = Vec::new();
                for r in 0..ROUNDS {
                    let opts = Options {
                        repo: repo.clone(),
                        branch: "main".into(),
                        path: None,
                        source: Source {
                            commit: Some(race_sha(p, r)),
                            dirty: false,
                            repo: Some(SOURCE_REPO.into()),
                            date: Some(format!("@{} +0000", 1_700_000_000 + r)),
                        },
                        author: bot(),
                        committer: bot(),
                        max_retries: 5,
                        dry_run: false,
                        platc_version: "test".into(),
                        commands: vec!["platc build".into()],
                    };
                    barrier.wait();
                    let report = publish::publish(&race_tree(p, r), &opts)
                        .unwrap_or_else(|e| panic!("publisher {p} round {r}: {e}"));
                    reports.push((r, report));
                }
                reports
            })
        })
        .collect();
    let results: Vec<Vec<(usize, publish::Report)>> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();

    let history = log(&bare, "main");
    assert_eq!(history.len(), 2 * ROUNDS, "one commit per publish");
    assert_eq!(git(&bare, &["rev-list", "--merges", "main"]), "");
    let landed: BTreeSet<&str> = history.iter().map(String::as_str).collect();
    let mut retries = 0;
    let mut expected_sources = BTreeSet::new();
    for (p, reports) in results.iter().enumerate() {
        for (r, report) in reports {
            assert_eq!(report.outcome, Outcome::Published, "{p}/{r}");
            let commit = report.commit.as_deref().unwrap();
            assert!(landed.contains(commit), "publish {p}/{r} was lost");
            retries += report.retries;
            expected_sources.insert(race_sha(p, *r));
        }
    }
    // Each source change once, each commit changes something.
    let sources: Vec<String> = git(
        &bare,
        &[
            "log",
            "--format=%(trailers:key=Platc-Source-Commit,valueonly)",
            "main",
        ],
    )
    .lines()
    .filter(|l| !l.is_empty())
    .map(str::to_string)
    .collect();
    assert_eq!(sources.len(), 2 * ROUNDS);
    assert_eq!(
        sources.iter().cloned().collect::<BTreeSet<_>>(),
        expected_sources
    );
    for c in &history {
        let changed = git(
            &bare,
            &[
                "diff-tree",
                "--root",
                "-r",
                "--name-only",
                "--no-commit-id",
                c,
            ],
        );
        assert!(
            changed
                .lines()
                .any(|f| f != "hydrator.metadata" && f != ".platc/index.json"),
            "commit {c} changes no rendered file: {changed:?}"
        );
    }
    // The final tree is exactly the rendering of the last publish to land.
    let tip_source = sources[0].clone();
    let (p, r) = (0..2)
        .flat_map(|p| (0..ROUNDS).map(move |r| (p, r)))
        .find(|&(p, r)| race_sha(p, r) == tip_source)
        .unwrap();
    let mut tip_files = files_at(&bare, "main");
    tip_files.remove(".platc/index.json");
    tip_files.remove("hydrator.metadata");
    assert_eq!(tip_files, race_tree(p, r).files);
    assert!(retries > 0, "the publishers never collided");
    eprintln!("race: {retries} retries in {ROUNDS} rounds");
}

/// One workload over the reference platform (renders in ~0.1 s), the platform written into the
/// workspace: publish commits only a platform of its own.
fn tiny_workspace(dir: &Path, image: &str) {
    for (rel, text) in platc::load::platform::reference_files() {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    std::fs::create_dir_all(dir.join("examples/hello")).unwrap();
    std::fs::write(
        dir.join("examples/hello/score.yaml"),
        format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: hello\n  annotations:\n    platc.dev/team: storefront\ncontainers:\n  hello:\n    image: {image}\n"
        ),
    )
    .unwrap();
}

#[test]
fn two_publisher_processes_racing_each_land_every_change_once() {
    const ROUNDS: usize = 5;
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "race.git");
    let repo = bare.to_str().unwrap();
    let mut expected = BTreeSet::new();
    for r in 0..ROUNDS {
        let children: Vec<_> = ["a", "b"]
            .iter()
            .map(|p| {
                let ws = tmp.path().join(format!("{p}-{r}"));
                tiny_workspace(&ws, &format!("ghcr.io/acme/hello:{p}-{r}"));
                let sha = format!("{:040x}", r * 16 + usize::from(*p == "b"));
                expected.insert(sha.clone());
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_platc"));
                cmd.args(["publish", "--repo", repo, "--source-commit", &sha])
                    .arg("-C")
                    .arg(&ws)
                    .args(["--author", "racer <racer@example.com>"])
                    .env("NO_COLOR", "1");
                cmd.stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            let text = ok(&out);
            assert!(text.starts_with("published "), "round {r}: {text}");
        }
    }
    let sources: BTreeSet<String> = git(
        &bare,
        &[
            "log",
            "--format=%(trailers:key=Platc-Source-Commit,valueonly)",
            "main",
        ],
    )
    .lines()
    .filter(|l| !l.is_empty())
    .map(str::to_string)
    .collect();
    assert_eq!(log(&bare, "main").len(), 2 * ROUNDS);
    assert_eq!(sources, expected);
}

// ---------------------------------------------------------------------------------------------
// git:// through a git daemon started by the test.

struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn git_daemon() -> PathBuf {
    Path::new(&git(Path::new("."), &["--exec-path"])).join("git-daemon")
}

fn git_daemon_available() -> bool {
    git_daemon().is_file()
}

#[test]
fn publishing_over_git_protocol_to_a_git_daemon() {
    if !git_daemon_available() {
        eprintln!(
            "SKIPPED publishing_over_git_protocol_to_a_git_daemon: `git daemon` is not installed"
        );
        return;
    }
    let (tmp, ws) = source_workspace();
    let base = tmp.path().join("served");
    std::fs::create_dir(&base).unwrap();
    let bare = bare_repo(&base, "gitops.git");
    let (daemon, port) = start_daemon(&base);
    let url = format!("git://127.0.0.1:{port}/gitops.git");
    let out = ok(&publish_bin(&ws, &["--repo", &url]));
    assert!(out.starts_with("published "), "{out}");
    assert!(out.contains(&url), "{out}");
    assert_eq!(log(&bare, "main").len(), 1);
    let again = ok(&publish_bin(&ws, &["--repo", &url]));
    assert!(again.starts_with("nothing changed"), "{again}");
    set_cart_image(&ws, "5.0.0");
    commit_all(&ws, "cart 5");
    ok(&publish_bin(&ws, &["--repo", &url]));
    assert_eq!(log(&bare, "main").len(), 2);
    assert!(
        s(&files_at(&bare, "main")["envs/dev/cart/deployment-cart.yaml"]).contains("cart:5.0.0")
    );
    drop(daemon);
}

fn start_daemon(base: &Path) -> (Daemon, u16) {
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // The daemon binary itself, not `git daemon`: killing the `git` wrapper would leave the
        // daemon running (and holding the test harness's output pipes).
        let child = Command::new(git_daemon())
            .current_dir(base)
            .args([
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                &format!("--base-path={}", base.display()),
            ])
            .arg(base)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("git daemon starts");
        let mut daemon = Daemon(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (daemon, port);
            }
            if let Ok(Some(_)) = daemon.0.try_wait() {
                break; // the port was taken meanwhile: try another
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    panic!("git daemon did not start");
}
