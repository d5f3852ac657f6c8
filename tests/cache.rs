//! The build cache (level 1: nothing changed → nothing done), through the real binary: a
//! rebuild with no changed input loads and renders nothing and writes nothing; any changed input
//! (a workload, a platform file, a file a workload's `source` names) or a damaged output makes a
//! full build; a corrupt, stale or deleted cache is ignored and changes no output byte.

mod common;

use std::path::Path;

use common::*;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// A workspace: the reference platform and the files of `from` (relative to the repository).
fn workspace(from: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("platform"),
        &dir.path().join("platform"),
        false,
    );
    copy_dir(&repo().join(from), &dir.path().join("examples"), false);
    dir
}

/// Builds; returns the summary line.
fn build(ws: &Path) -> String {
    let o = platc(&["build", "-C", ws.to_str().unwrap()]);
    assert!(o.status.success(), "{}", s(&o.stderr));
    s(&o.stdout)
}

fn cached(summary: &str) -> bool {
    summary.contains("no input changed")
}

fn append(path: &Path, text: &str) {
    let mut t = std::fs::read_to_string(path).unwrap();
    t.push_str(text);
    std::fs::write(path, t).unwrap();
}

#[test]
fn an_unchanged_workspace_is_answered_by_the_cache_and_every_change_is_seen() {
    let ws = workspace("examples");
    let root = ws.path();
    let out = root.join("out");
    assert!(!cached(&build(root)));
    let tree = read_tree(&out);
    let second = build(root);
    assert!(cached(&second), "{second}");
    assert!(second.contains(" 0 written"), "{second}");
    assert_eq!(read_tree(&out), tree);

    // A workload edit: a full build, which writes what changed.
    let text = bump_web_image(root);
    let changed = build(root);
    assert!(
        !cached(&changed) && !changed.contains(" 0 written"),
        "{changed}"
    );
    assert!(cached(&build(root)));

    // A platform file, even one no import names yet: a full build.
    append(&root.join("platform/teams.ncl"), "\n# reviewed\n");
    assert!(!cached(&build(root)));
    std::fs::write(root.join("platform/notes.ncl"), "{}\n").unwrap();
    assert!(!cached(&build(root)));
    assert!(cached(&build(root)));

    // A deleted or truncated output file: rebuilt and restored.
    std::fs::write(root.join("examples/storefront/web/score.yaml"), &text).unwrap();
    assert!(!cached(&build(root)));
    let tree = read_tree(&out);
    let victim = "envs/dev/web/deployment-web.yaml";
    std::fs::remove_file(out.join(victim)).unwrap();
    let restored = build(root);
    assert!(!cached(&restored), "{restored}");
    assert_eq!(read_tree(&out), tree);
    std::fs::write(out.join(victim), "").unwrap();
    assert!(!cached(&build(root)));
    assert_eq!(read_tree(&out), tree);
}

#[test]
fn a_file_named_by_source_is_an_input() {
    let ws = workspace("tests/score-corpus/media/examples");
    let root = ws.path();
    build(root);
    assert!(cached(&build(root)));
    append(
        &root.join("examples/media-api/config/app.conf"),
        "\n[limits]\nmax_files = 10\n",
    );
    let rebuilt = build(root);
    assert!(!cached(&rebuilt), "{rebuilt}");
    let config = read_tree(&root.join("out"))
        .into_iter()
        .filter(|(p, _)| p.starts_with("envs/dev/media-api/configmap-"))
        .map(|(_, b)| s(&b))
        .collect::<String>();
    assert!(config.contains("max_files = 10"), "{config}");
}

#[test]
fn a_corrupt_stale_or_deleted_cache_changes_no_output_byte() {
    let ws = workspace("examples");
    let root = ws.path();
    let out = root.join("out");
    build(root);
    let tree = read_tree(&out);
    let cache_dir = root.join(".platc/cache");
    // The first level's entry (the render memo beside it has its own tests in memo.rs).
    let entries = cache_files(root, "build");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    let good = std::fs::read(entry).unwrap();

    for damage in [
        b"garbage".to_vec(),
        good[..good.len() / 2].to_vec(),
        Vec::new(),
        s(&good)
            .replace("\"format\":1", "\"format\":0")
            .into_bytes(),
        // Stale: claims an input hash that is not the file's.
        s(&good).replacen("\"sha256:", "\"sha256:0", 1).into_bytes(),
    ] {
        std::fs::write(entry, &damage).unwrap();
        let summary = build(root);
        assert!(!cached(&summary), "a damaged entry was trusted: {summary}");
        assert_eq!(read_tree(&out), tree);
    }
    std::fs::remove_dir_all(&cache_dir).unwrap();
    assert!(!cached(&build(root)));
    assert_eq!(read_tree(&out), tree);
    assert!(cached(&build(root)));
}

/// The platform's evaluation is kept in the cache and reused while no file it read changed: a
/// workload edit builds from it; an edit of a platform file evaluates again; a damaged entry is
/// ignored.
#[test]
fn the_platforms_evaluation_is_kept_until_a_file_it_read_changes() {
    let ws = workspace("examples");
    let root = ws.path();
    let out = root.join("out");
    build(root);
    let tree = read_tree(&out);
    let entries = cache_files(root, "platform");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    let good = s(&std::fs::read(entry).unwrap());
    assert!(good.contains("\"platform/main.ncl\""), "{good}");

    // Proof that it is reused: a (hand-made) entry naming the platform otherwise is believed
    // by a build that has to load the workspace.
    std::fs::write(
        entry,
        good.replace("\"name\":\"acme\"", "\"name\":\"kept\""),
    )
    .unwrap();
    let web = root.join("examples/storefront/web/score.yaml");
    append(&web, "\n# edited\n");
    build(root);
    let part_of = |name: &str| format!("app.kubernetes.io/part-of: {name}");
    let deployment = s(&std::fs::read(out.join("envs/dev/web/deployment-web.yaml")).unwrap());
    assert!(deployment.contains(&part_of("kept")), "{deployment}");

    // A file the evaluation read changed: evaluated again, the entry replaced.
    append(&root.join("platform/teams.ncl"), "\n# reviewed\n");
    build(root);
    let deployment = s(&std::fs::read(out.join("envs/dev/web/deployment-web.yaml")).unwrap());
    assert!(deployment.contains(&part_of("acme")), "{deployment}");
    assert_eq!(read_tree(&out), tree);
    let replaced = s(&std::fs::read(entry).unwrap());
    assert!(replaced.contains("\"name\":\"acme\""));

    // Damaged entries are ignored.
    for damage in ["garbage", "", &replaced[..replaced.len() / 2]] {
        std::fs::write(entry, damage).unwrap();
        append(&web, "\n# again\n");
        build(root);
        assert_eq!(read_tree(&out), tree);
    }
}

/// The issue's "a no-change build reads no output file; a one-workload change writes only that
/// workload's files": an output file given other bytes of the same size (what only reading it
/// would reveal) is left as it is by a rebuild with nothing changed and by one with an unrelated
/// workload changed, and each summary says what it wrote. Files are known by the hash and size
/// the index recorded, never by reading them back.
#[test]
fn rebuilds_read_no_output_file_and_write_only_what_changed() {
    let ws = workspace("examples");
    let root = ws.path();
    let out = root.join("out");
    build(root);
    let victim = out.join("envs/dev/cart/deployment-cart.yaml");
    let original = std::fs::read(&victim).unwrap();
    let mut tampered = original.clone();
    let at = tampered
        .iter()
        .position(|b| b.is_ascii_lowercase())
        .unwrap();
    tampered[at] = tampered[at].to_ascii_uppercase();
    std::fs::write(&victim, &tampered).unwrap();

    let unchanged = build(root);
    assert!(cached(&unchanged), "{unchanged}");
    assert!(unchanged.contains(" 0 written"), "{unchanged}");
    assert_eq!(std::fs::read(&victim).unwrap(), tampered);

    bump_web_image(root);
    let one = build(root);
    assert!(one.contains(" 6 written"), "{one}");
    assert_eq!(std::fs::read(&victim).unwrap(), tampered);
}
