//! `platc diff`, the real binary: a pull request's preview against the previous commit, a
//! rendered directory and a published GitOps branch.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

const TOKEN: &str = "tok-9f8e7d6c5b4a-do-not-print";

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "platc test")
        .env("GIT_AUTHOR_EMAIL", "test@platc.invalid")
        .env("GIT_COMMITTER_NAME", "platc test")
        .env("GIT_COMMITTER_EMAIL", "test@platc.invalid")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        s(&out.stderr)
    );
    s(&out.stdout)
}

/// A Git repository whose subdirectory `ws/` holds the reference workspace, committed once.
struct PrRepo {
    tmp: tempfile::TempDir,
    repo: PathBuf,
    ws: PathBuf,
}

fn pr_repo() -> PrRepo {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let ws = repo.join("ws");
    copy_dir(
        &common::repo().join("platform"),
        &ws.join("platform"),
        false,
    );
    copy_dir(
        &common::repo().join("examples"),
        &ws.join("examples"),
        false,
    );
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    PrRepo { tmp, repo, ws }
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} has no `{from}`", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// The pull request: a new image tag and two new variables (one a token) for payments-api, and
/// the cart's redis cache removed.
fn small_change(ws: &Path) {
    let api = ws.join("examples/payments/payments-api/score.yaml");
    edit(&api, "payments-api:2.8.0", "payments-api:2.9.0");
    edit(
        &api,
        "      OTEL_SERVICE_NAME: ${metadata.name}\n",
        &format!(
            "      OTEL_SERVICE_NAME: ${{metadata.name}}\n      LOG_LEVEL: debug\n      PAYMENTS_API_TOKEN: {TOKEN}\n"
        ),
    );
    let cart = ws.join("examples/storefront/cart/score.yaml");
    edit(&cart, "      REDIS_URI: ${resources.cache.uri}\n", "");
    edit(&cart, "  cache:\n    type: redis\n", "");
}

fn platc_ok(args: &[&str]) -> Output {
    let out = platc(args);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "platc {args:?}: {:?}\n{}",
        out.status,
        s(&out.stderr)
    );
    out
}

fn build(ws: &Path, out: &Path) -> BTreeMap<String, Vec<u8>> {
    let o = platc(&[
        "build",
        "-C",
        ws.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", s(&o.stderr));
    let mut t = read_tree(out);
    t.retain(|p, _| !p.starts_with(".platc/"));
    t
}

/// Added, changed, removed files between two rendered trees: one object per YAML file, so the
/// diff's counts must equal these.
fn oracle(
    old: &BTreeMap<String, Vec<u8>>,
    new: &BTreeMap<String, Vec<u8>>,
) -> (usize, usize, usize) {
    let added = new.keys().filter(|p| !old.contains_key(*p)).count();
    let removed = old.keys().filter(|p| !new.contains_key(*p)).count();
    let changed = new
        .iter()
        .filter(|(p, b)| old.get(*p).is_some_and(|o| o != *b))
        .count();
    (added, changed, removed)
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", s(&out.stdout)))
}

fn change<'a>(j: &'a Value, path: &str) -> &'a Value {
    j["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == path)
        .unwrap_or_else(|| panic!("no change for {path}"))
}

#[test]
fn pull_request_preview_in_all_three_formats() {
    let r = pr_repo();
    let old_tree = build(&r.ws, &r.tmp.path().join("old"));
    small_change(&r.ws);
    git(&r.repo, &["commit", "-q", "-am", "the change"]);
    let new_tree = build(&r.ws, &r.tmp.path().join("new"));
    let (added, changed, removed) = oracle(&old_tree, &new_tree);
    assert!(
        added == 0 && changed > 3 && removed > 3,
        "{added} {changed} {removed}"
    );
    let status_before = git(&r.repo, &["status", "--porcelain", "--untracked-files=all"]);
    let ws = r.ws.to_str().unwrap();

    // JSON: counts, identities, field paths, sorted.
    let out = platc_ok(&["diff", "-C", ws, "--base", "HEAD~1", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "no --exit-code: 0 on success");
    let text = s(&out.stdout);
    assert!(!text.contains(TOKEN));
    let j = json_of(&out);
    assert_eq!(
        j["summary"],
        serde_json::json!({"added": added, "changed": changed, "removed": removed, "files": added + changed + removed})
    );
    let paths: Vec<&str> = j["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    let d = change(&j, "envs/dev/payments-api/deployment-payments-api.yaml");
    assert_eq!(
        d,
        &serde_json::json!({
            "path": "envs/dev/payments-api/deployment-payments-api.yaml",
            "kind": "Deployment", "name": "payments-api", "namespace": "payments-dev",
            "environment": "dev", "app": "payments-api", "plane": "resource", "change": "changed",
            "fields": [
                "spec.template.spec.containers[name=api].env[name=LOG_LEVEL]",
                "spec.template.spec.containers[name=api].env[name=PAYMENTS_API_TOKEN]",
                "spec.template.spec.containers[name=api].image",
            ],
            // Old and new values, the token masked as in the text output.
            "values": [
                {"path": "spec.template.spec.containers[name=api].env[name=LOG_LEVEL]",
                 "old": null, "new": {"name": "LOG_LEVEL", "value": "debug"}},
                {"path": "spec.template.spec.containers[name=api].env[name=PAYMENTS_API_TOKEN]",
                 "old": null, "new": {"name": "PAYMENTS_API_TOKEN", "value": "***"}},
                {"path": "spec.template.spec.containers[name=api].image",
                 "old": "ghcr.io/acme/payments-api:2.8.0", "new": "ghcr.io/acme/payments-api:2.9.0"},
            ],
        })
    );
    let cart = change(&j, "envs/prod/cart/deployment-cart.yaml");
    assert!(
        cart["fields"].as_array().unwrap().contains(&Value::from(
            "spec.template.spec.containers[name=cart].env[name=REDIS_URI]"
        )),
        "{cart}"
    );
    let gone: Vec<&Value> = j["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["path"]
                .as_str()
                .unwrap()
                .starts_with("envs/staging/_resources/cart-cache/")
        })
        .collect();
    assert!(!gone.is_empty());
    assert!(
        gone.iter()
            .all(|c| c["change"] == "removed" && c["environment"] == "staging")
    );

    // Text: summary line, then unified diffs of the canonical YAML; no colour off a terminal.
    let out = platc_ok(&["diff", "-C", ws, "--base", "HEAD~1"]);
    let text = s(&out.stdout);
    assert_eq!(
        text.lines().next().unwrap(),
        format!(
            "{changed} changed, {added} added, {removed} removed in {} files",
            added + changed + removed
        )
    );
    assert!(text.contains("--- a/envs/dev/payments-api/deployment-payments-api.yaml\n+++ b/envs/dev/payments-api/deployment-payments-api.yaml\n"));
    assert!(text.contains("\n-        image: ghcr.io/acme/payments-api:2.8.0\n+        image: ghcr.io/acme/payments-api:2.9.0\n"), "{text}");
    assert!(
        text.contains("+        - name: PAYMENTS_API_TOKEN\n+          value: \"***\"\n"),
        "{text}"
    );
    assert!(text.contains("+++ /dev/null") || removed == 0);
    assert!(!text.contains(TOKEN));
    assert!(!text.contains('\x1b'));

    // Markdown: heading, table per environment/app/plane, details with diff fences, Mermaid.
    let out = platc_ok(&["diff", "-C", ws, "--base", "HEAD~1", "--format", "markdown"]);
    let md = s(&out.stdout);
    assert!(!md.contains(TOKEN));
    assert!(md.starts_with("### platc diff against `HEAD~1` ("), "{md}");
    assert!(md.contains(&format!(
        "**{changed}** changed, **{added}** added, **{removed}** removed in {} files.",
        added + changed + removed
    )));
    assert!(md.contains(
        "| environment | app | plane | added | changed | removed |\n|---|---|---|--:|--:|--:|\n"
    ));
    assert!(
        md.contains("| dev | payments-api | resource | 0 | 1 | 0 |"),
        "{md}"
    );
    assert!(md.contains("<details><summary><code>envs/dev/payments-api/deployment-payments-api.yaml</code>: changed Deployment payments-dev/payments-api</summary>"), "{md}");
    assert!(
        md.contains(
            "Changed fields: `spec.template.spec.containers[name=api].env[name=LOG_LEVEL]`"
        )
    );
    assert!(md.contains("```diff\n--- a/envs/dev/payments-api/deployment-payments-api.yaml"));
    assert!(
        md.contains("#### Affected graph: dev\n\n```mermaid\nflowchart LR\n"),
        "{md}"
    );
    assert!(md.contains("[\"payments-api<br/>resource\"]"));
    assert!(
        md.contains("[(\"cart-cache<br/>resource\")]"),
        "the removed cache, from the base's graph"
    );
    assert!(md.contains("  class ") && md.contains(" removed\n") && md.contains(" changed\n"));
    assert!(md.len() < 60_000);

    // --exit-code: 1 when something changed.
    let out = platc(&["diff", "-C", ws, "--base", "HEAD~1", "--exit-code"]);
    assert_eq!(out.status.code(), Some(1));
    let out = platc(&["diff", "-C", ws, "--base", "HEAD", "--exit-code"]);
    assert_eq!(out.status.code(), Some(0), "{}", s(&out.stderr));
    assert_eq!(s(&out.stdout), "no changes\n");

    // The user's repository is as it was.
    assert_eq!(
        git(&r.repo, &["status", "--porcelain", "--untracked-files=all"]),
        status_before
    );
}

#[test]
fn key_order_and_formatting_changes_are_no_change() {
    let r = pr_repo();
    let file = r.ws.join("examples/payments/payments-api/score.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    // Same meaning: top-level blocks in another order, flow style, other quoting, no comments.
    let (head, rest) = text.split_once("containers:\n").unwrap();
    let (containers, resources) = rest.split_once("resources:\n  db:").unwrap();
    let head: String = head
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let containers = containers.replace(
        "      requests:\n        cpu: 500m\n        memory: 512Mi\n",
        "      requests: {memory: \"512Mi\", cpu: '500m'}\n",
    );
    let reformatted = format!("resources:\n  db:{resources}containers:\n{containers}{head}");
    assert_ne!(reformatted, text);
    std::fs::write(&file, &reformatted).unwrap();
    git(&r.repo, &["commit", "-q", "-am", "reformat"]);
    let ws = r.ws.to_str().unwrap();

    let out = platc(&["diff", "-C", ws, "--base", "HEAD~1", "--exit-code"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        s(&out.stdout),
        s(&out.stderr)
    );
    assert_eq!(s(&out.stdout), "no changes\n");
    let out = platc(&["diff", "-C", ws, "--base", "HEAD~1", "--format", "json"]);
    assert_eq!(
        json_of(&out),
        serde_json::json!({"summary": {"added": 0, "changed": 0, "removed": 0, "files": 0}, "changes": []})
    );
    let out = platc(&["diff", "-C", ws, "--base", "HEAD~1", "--format", "markdown"]);
    assert!(s(&out.stdout).contains("No changes to the rendered tree."));

    // Uncommitted edits are part of the fresh side.
    edit(&file, "payments-api:2.8.0", "payments-api:2.8.1");
    let out = platc(&[
        "diff", "-C", ws, "--base", "HEAD", "--format", "json", "--env", "dev",
    ]);
    let j = json_of(&out);
    assert_eq!(
        j["summary"]["changed"], 2,
        "the Deployment and the app's README: {j}"
    );
    assert_eq!(
        change(&j, "envs/dev/payments-api/deployment-payments-api.yaml")["fields"],
        serde_json::json!(["spec.template.spec.containers[name=api].image"])
    );
    let readme = change(&j, "envs/dev/payments-api/README.md");
    assert_eq!(
        readme["plane"], "developer-control",
        "text files get their plane from the compilation"
    );
    assert_eq!(readme["kind"], Value::Null);
}

#[test]
fn against_a_rendered_directory_with_masked_secrets() {
    let r = pr_repo();
    let dir = r.tmp.path().join("rendered");
    build(&r.ws, &dir);
    let ws = r.ws.to_str().unwrap();
    let d = dir.to_str().unwrap();
    let out = platc(&["diff", "-C", ws, "--against", d, "--exit-code"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        s(&out.stdout),
        s(&out.stderr)
    );

    // Key order and formatting only: a moved top-level key, a file rewritten as JSON.
    let dep = dir.join("envs/dev/payments-api/deployment-payments-api.yaml");
    let t = std::fs::read_to_string(&dep).unwrap();
    std::fs::write(
        &dep,
        format!(
            "{}apiVersion: apps/v1\n",
            t.replacen("apiVersion: apps/v1\n", "", 1)
        ),
    )
    .unwrap();
    let svc = dir.join("envs/dev/payments-api/service-payments-api.yaml");
    let v = platc::yaml::read::parse("x", &std::fs::read_to_string(&svc).unwrap())
        .unwrap()
        .to_json();
    std::fs::write(&svc, serde_json::to_string(&v).unwrap()).unwrap();
    let out = platc(&["diff", "-C", ws, "--against", d, "--exit-code"]);
    assert_eq!(out.status.code(), Some(0), "{}", s(&out.stdout));

    // A Secret only in the directory (removed), a file missing from it (added).
    std::fs::write(
        dir.join("envs/dev/payments-api/secret-leak.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leak\n  namespace: payments-dev\ndata:\n  password: c3VwZXJzZWNyZXQtYjY0\nstringData:\n  token: plain-secret-value-42\n",
    )
    .unwrap();
    std::fs::remove_file(dir.join("envs/dev/cart/service-cart.yaml")).unwrap();
    for format in ["text", "markdown", "json"] {
        let out = platc(&[
            "diff",
            "-C",
            ws,
            "--against",
            d,
            "--format",
            format,
            "--exit-code",
        ]);
        assert_eq!(out.status.code(), Some(1), "{format}");
        let o = s(&out.stdout);
        assert!(
            !o.contains("c3VwZXJzZWNyZXQtYjY0") && !o.contains("plain-secret-value-42"),
            "{o}"
        );
        if format != "json" {
            assert!(
                o.contains("-  password: \"***\"\n") && o.contains("-  token: \"***\"\n"),
                "{o}"
            );
        }
    }
    let j = json_of(&platc(&[
        "diff",
        "-C",
        ws,
        "--against",
        d,
        "--format",
        "json",
    ]));
    assert_eq!(
        j["summary"],
        serde_json::json!({"added": 1, "changed": 0, "removed": 1, "files": 2})
    );
    assert_eq!(j["changes"][0]["path"], "envs/dev/cart/service-cart.yaml");
    assert_eq!(j["changes"][0]["change"], "added");
    assert_eq!(j["changes"][1]["kind"], "Secret");
    assert_eq!(j["changes"][1]["change"], "removed");
    assert_eq!(j["changes"][1]["environment"], "dev");
    assert_eq!(j["changes"][1]["plane"], Value::Null);

    let out = platc(&[
        "diff",
        "-C",
        ws,
        "--against",
        r.tmp.path().join("nope").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(s(&out.stderr).contains("is not a directory"));
}

#[test]
fn against_a_branch_published_in_a_bare_repository() {
    let r = pr_repo();
    let bare = r.tmp.path().join("gitops.git");
    std::fs::create_dir_all(&bare).unwrap();
    git(&bare, &["init", "-q", "--bare", "-b", "main"]);
    let work = r.tmp.path().join("gitops");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "rendered"]);
    build(&r.ws, &work.join("clusters/acme"));
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "publish"]);
    git(&work, &["push", "-q", bare.to_str().unwrap(), "rendered"]);

    let ws = r.ws.to_str().unwrap();
    let b = bare.to_str().unwrap();
    let args = [
        "diff",
        "-C",
        ws,
        "--repo",
        b,
        "--branch",
        "rendered",
        "--path",
        "clusters/acme",
    ];
    let out = platc(&[&args[..], &["--exit-code"]].concat());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        s(&out.stdout),
        s(&out.stderr)
    );

    edit(
        &r.ws.join("examples/payments/payments-api/score.yaml"),
        "payments-api:2.8.0",
        "payments-api:3.0.0",
    );
    let out = platc(&[&args[..], &["--exit-code", "--format", "json"]].concat());
    assert_eq!(out.status.code(), Some(1));
    let j = json_of(&out);
    for env in ["dev", "staging", "prod"] {
        let c = change(
            &j,
            &format!("envs/{env}/payments-api/deployment-payments-api.yaml"),
        );
        assert_eq!(
            c["fields"],
            serde_json::json!(["spec.template.spec.containers[name=api].image"])
        );
    }
    let md = s(&platc(&[&args[..], &["--format", "markdown"]].concat()).stdout);
    assert!(
        md.contains("```mermaid") && md.contains("payments-api<br/>resource"),
        "{md}"
    );

    let out = platc(&["diff", "-C", ws, "--repo", b, "--branch", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        s(&out.stderr).contains("branch `no-such-branch` does not exist"),
        "{}",
        s(&out.stderr)
    );
    let out = platc(&[
        "diff", "-C", ws, "--repo", b, "--branch", "rendered", "--path", "../x",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_workspace_at_the_repository_root() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path();
    copy_dir(
        &common::repo().join("platform"),
        &ws.join("platform"),
        false,
    );
    copy_dir(
        &common::repo().join("examples"),
        &ws.join("examples"),
        false,
    );
    git(ws, &["init", "-q", "-b", "main"]);
    git(ws, &["add", "-A"]);
    git(ws, &["commit", "-q", "-m", "base"]);
    let w = ws.to_str().unwrap();
    let out = platc(&["diff", "-C", w, "--base", "HEAD", "--exit-code"]);
    assert_eq!(out.status.code(), Some(0), "{}", s(&out.stderr));
    edit(
        &ws.join("examples/storefront/cart/score.yaml"),
        "cart:2.0.7",
        "cart:2.0.8",
    );
    let out = platc(&[
        "diff", "-C", w, "--base", "HEAD", "--env", "prod", "--format", "json",
    ]);
    let j = json_of(&out);
    assert_eq!(
        change(&j, "envs/prod/cart/deployment-cart.yaml")["fields"],
        serde_json::json!(["spec.template.spec.containers[name=cart].image"])
    );
}

#[test]
fn a_bad_revision_is_an_input_error() {
    let r = pr_repo();
    let ws = r.ws.to_str().unwrap();
    let out = platc(&["diff", "-C", ws, "--base", "no-such-rev"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = s(&out.stderr);
    assert!(err.contains("unknown revision `no-such-rev`"), "{err}");
    assert!(err.contains("help:"), "{err}");
    let out = platc(&["diff", "-C", ws, "--base", "--upload-pack=x"]);
    assert_eq!(out.status.code(), Some(2));

    let plain = tempfile::tempdir().unwrap();
    let out = platc(&[
        "diff",
        "-C",
        plain.path().to_str().unwrap(),
        "--base",
        "HEAD",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        s(&out.stderr).contains("is not inside a Git repository"),
        "{}",
        s(&out.stderr)
    );

    let out = platc(&["diff", "-C", ws]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "one of --against, --base, --repo is required"
    );
}

/// The same change reads the same in both layouts: the same objects, kinds and changed field
/// paths; only the files differ (one `manifest.yaml` per application directory).
#[test]
fn the_manifest_layout_diffs_object_by_object_like_the_files_layout() {
    let r = pr_repo();
    let ws = r.ws.to_str().unwrap();
    let mut summaries = Vec::new();
    for layout in ["files", "manifest"] {
        let dir = r.tmp.path().join(format!("rendered-{layout}"));
        let o = platc(&[
            "build",
            "-C",
            ws,
            "--layout",
            layout,
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", s(&o.stderr));
        summaries.push(dir);
    }
    small_change(&r.ws);
    let mut results = Vec::new();
    for (layout, dir) in ["files", "manifest"].iter().zip(&summaries) {
        let out = platc_ok(&[
            "diff",
            "-C",
            ws,
            "--layout",
            layout,
            "--against",
            dir.to_str().unwrap(),
            "--format",
            "json",
        ]);
        let j = json_of(&out);
        let mut changes: Vec<(String, String, String, String, Value)> = j["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let field = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                (
                    field("kind"),
                    field("namespace"),
                    field("name"),
                    field("change"),
                    c["fields"].clone(),
                )
            })
            .collect();
        changes.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
        if *layout == "manifest" {
            let dep = j["changes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["kind"] == "Deployment" && c["name"] == "payments-api")
                .expect("the payments-api Deployment changed");
            assert_eq!(dep["path"], "envs/dev/payments-api/manifest.yaml");
        }
        results.push((j["summary"].clone(), changes));
    }
    assert_eq!(
        results[0].1, results[1].1,
        "the layouts disagree on what changed"
    );
    for k in ["added", "changed", "removed"] {
        assert_eq!(results[0].0[k], results[1].0[k], "{k}");
    }
    assert!(!results[0].1.is_empty());
}

/// What `platc diff` prints, `platc explain` reads: every changed field path of a change, and
/// the changed file as it is on disk.
#[test]
fn explain_reads_every_path_diff_prints() {
    let r = pr_repo();
    let ws = r.ws.to_str().unwrap();
    let dir = r.tmp.path().join("rendered");
    build(&r.ws, &dir);
    edit(
        &r.ws.join("examples/payments/payments-api/score.yaml"),
        "payments-api:2.8.0",
        "payments-api:2.9.0",
    );
    let out = platc_ok(&[
        "diff",
        "-C",
        ws,
        "--against",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let j = json_of(&out);
    // Each changed field comes with its old and new value, so a bot can say "2.8.0 → 2.9.0".
    let dep = change(&j, "envs/dev/payments-api/deployment-payments-api.yaml");
    let image = dep["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["path"] == "spec.template.spec.containers[name=api].image")
        .unwrap_or_else(|| panic!("no image value: {dep}"));
    assert_eq!(image["old"], "ghcr.io/acme/payments-api:2.8.0");
    assert_eq!(image["new"], "ghcr.io/acme/payments-api:2.9.0");
    let mut explained = 0;
    for c in j["changes"].as_array().unwrap() {
        let (Some(kind), Some(name)) = (c["kind"].as_str(), c["name"].as_str()) else {
            continue;
        };
        let object = match c["namespace"].as_str() {
            Some(ns) => format!("{kind}/{ns}/{name}"),
            None => format!("{kind}/{name}"),
        };
        for f in c["fields"].as_array().into_iter().flatten() {
            let target = format!("{object}#{}", f.as_str().unwrap());
            let e = platc(&["explain", "-C", ws, &target]);
            assert!(e.status.success(), "explain {target}: {}", s(&e.stderr));
            explained += 1;
        }
    }
    assert!(explained >= 1, "{}", s(&out.stdout));
    // The file as a shell completes it, from the workspace's own build.
    build(&r.ws, &r.ws.join("out"));
    let on_disk =
        r.ws.join("out/envs/dev/payments-api/deployment-payments-api.yaml");
    let e = platc(&["explain", "-C", ws, on_disk.to_str().unwrap()]);
    assert!(e.status.success(), "{}", s(&e.stderr));
    assert!(s(&e.stdout).starts_with("envs/dev/payments-api/deployment-payments-api.yaml"));
    // Relative to the current directory, with a field as diff prints it.
    let e = std::process::Command::new(env!("CARGO_BIN_EXE_platc"))
        .current_dir(r.ws.join("out/envs/dev"))
        .args(["explain", "-C", ws])
        .arg("payments-api/deployment-payments-api.yaml#spec.template.spec.containers[name=api].image")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(e.status.success(), "{}", s(&e.stderr));
    let text = s(&e.stdout);
    assert!(
        text.starts_with("envs/dev/payments-api/deployment-payments-api.yaml"),
        "{text}"
    );
    assert!(text.contains("payments-api:2.9.0"), "{text}");
}
