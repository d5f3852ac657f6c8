//! The render memo (build cache level 2: per graph node), through the real binary. After each of
//! a series of edits, the incremental build into the same output must equal, byte for byte, a
//! build into a fresh directory (which renders every node); and it must have rendered fewer
//! nodes, so the test fails if the memo silently stops being used. A corrupt, lying or deleted
//! memo changes no output byte.

mod common;

use std::path::Path;

use common::*;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// Builds into `out`; returns the summary line.
fn build(ws: &Path, out: &Path, layout: &str) -> String {
    let o = platc(&[
        "build",
        "-C",
        ws.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--layout",
        layout,
    ]);
    assert!(o.status.success(), "{}", s(&o.stderr));
    s(&o.stdout)
}

/// (rendered, total) nodes from a summary line, `None` when every node was rendered.
fn rendered(summary: &str) -> Option<(usize, usize)> {
    let rest = summary.split("; rendered ").nth(1)?;
    let mut words = rest.split_whitespace();
    let a = words.next()?.parse().ok()?;
    words.next();
    let b = words.next()?.parse().ok()?;
    Some((a, b))
}

fn edit(root: &Path, file: &str, from: &str, to: &str) {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} holds `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// Builds incrementally into `out` and into a new directory; both trees must be equal.
fn check_against_fresh(root: &Path, layout: &str, step: &str, n: usize) -> Option<(usize, usize)> {
    let out = root.join("out");
    let summary = build(root, &out, layout);
    let fresh = root.join(format!("fresh-{n}"));
    let full = build(root, &fresh, layout);
    assert_eq!(
        rendered(&full),
        None,
        "a new directory renders every node: {full}"
    );
    let (a, b) = (read_tree(&out), read_tree(&fresh));
    if a != b {
        panic!(
            "{step} ({layout}): incremental and fresh builds differ\n{summary}\n{}",
            tree_diff(&a, &b)
        );
    }
    std::fs::remove_dir_all(&fresh).unwrap();
    rendered(&summary)
}

type Edit = Box<dyn Fn(&Path)>;

fn edits_match_fresh_builds(layout: &str) {
    let ws = example_workspace(false);
    let root = ws.path();
    assert_eq!(rendered(&build(root, &root.join("out"), layout)), None);

    let steps: Vec<(&str, Edit)> = vec![
        (
            "a workload's image",
            Box::new(|r| {
                edit(
                    r,
                    "examples/storefront/web/score.yaml",
                    "storefront-web:3.12.0",
                    "storefront-web:3.13.0",
                )
            }),
        ),
        (
            "a new caller of a service",
            Box::new(|r| {
                edit(
                    r,
                    "examples/payments/ledger/score.yaml",
                    "\nresources:\n",
                    "\nresources:\n  fraud:\n    type: service\n",
                )
            }),
        ),
        (
            "a shared resource's second consumer goes away",
            Box::new(|r| {
                edit(
                    r,
                    "examples/data/warehouse-loader/score.yaml",
                    "    id: warehouse\n",
                    "    id: warehouse-2\n",
                )
            }),
        ),
        (
            "a workload removed",
            Box::new(|r| {
                std::fs::remove_file(r.join("examples/storefront/sitemap/score.yaml")).unwrap()
            }),
        ),
        (
            "a workload added",
            Box::new(|r| {
                let text =
                    std::fs::read_to_string(r.join("examples/storefront/cart/score.yaml")).unwrap();
                std::fs::create_dir_all(r.join("examples/storefront/basket")).unwrap();
                std::fs::write(
                    r.join("examples/storefront/basket/score.yaml"),
                    text.replace("name: cart", "name: basket")
                        .replace("  checkout:\n    type: service\n", "")
                        .replace("      CHECKOUT_URL: ${resources.checkout.url}\n", ""),
                )
                .unwrap();
            }),
        ),
        (
            "a platform comment (evaluates to the same platform)",
            Box::new(|r| {
                let p = r.join("platform/teams.ncl");
                let mut t = std::fs::read_to_string(&p).unwrap();
                t.push_str("\n# reviewed\n");
                std::fs::write(p, t).unwrap();
            }),
        ),
    ];
    let mut partial = 0;
    for (n, (step, apply)) in steps.iter().enumerate() {
        apply(root);
        if let Some((a, b)) = check_against_fresh(root, layout, step, n) {
            assert!(a < b, "{step}: {a} of {b}");
            partial += 1;
            if step.starts_with("a platform comment") {
                assert_eq!(
                    a, 0,
                    "nothing to render when the platform evaluates the same"
                );
            }
        }
    }
    assert_eq!(partial, steps.len(), "every edit reused the memo");

    // A platform change every node reads: everything is rendered again, and right.
    edit(root, "platform/main.ncl", "name = ", "name = \"x-\" ++ ");
    let summary = check_against_fresh(root, layout, "the platform's name", 99);
    assert!(summary.is_none_or(|(a, b)| a == b), "{summary:?}");
}

#[test]
fn edits_match_fresh_builds_files_layout() {
    edits_match_fresh_builds("files");
}

#[test]
fn edits_match_fresh_builds_manifest_layout() {
    edits_match_fresh_builds("manifest");
}

#[test]
fn a_corrupt_lying_or_deleted_memo_changes_no_output_byte() {
    let ws = example_workspace(false);
    let root = ws.path();
    let out = root.join("out");
    build(root, &out, "files");
    let want = |r: &Path| {
        let fresh = r.join("fresh");
        let _ = std::fs::remove_dir_all(&fresh);
        build(r, &fresh, "files");
        read_tree(&fresh)
    };
    let bump = |r: &Path, v: &str| {
        let p = r.join("examples/storefront/web/score.yaml");
        let t = std::fs::read_to_string(&p).unwrap();
        std::fs::write(p, format!("{t}# {v}\n")).unwrap();
    };

    // Garbage, then an empty file, then a memo of another format.
    for (i, garbage) in [&b"{not json"[..], b"", br#"{"format": 99, "envs": {}}"#]
        .into_iter()
        .enumerate()
    {
        for m in cache_files(root, "nodes") {
            std::fs::write(m, garbage).unwrap();
        }
        bump(root, &i.to_string());
        let summary = build(root, &out, "files");
        assert_eq!(rendered(&summary), None, "{summary}");
        assert_eq!(read_tree(&out), want(root));
    }

    // A memo whose hashes are no hashes: those entries are no hits, their nodes are rendered.
    for memo in cache_files(root, "nodes") {
        let text = std::fs::read_to_string(&memo).unwrap();
        std::fs::write(&memo, text.replace("\"sha256:", "\"sha256:0")).unwrap();
    }
    bump(root, "malformed");
    build(root, &out, "files");
    assert_eq!(read_tree(&out), want(root));

    // A memo whose hashes lie: every recorded file hash is replaced by another well-formed one.
    // Those entries fail their checksums when the memo is read and their nodes are rendered (a
    // lie with a recomputed checksum is caught by emit, which finds the output does not hold
    // the hashes: `emit`'s own tests).
    build(root, &out, "files");
    for memo in cache_files(root, "nodes") {
        let text = std::fs::read_to_string(&memo).unwrap();
        let lie: String = text
            .split("\"sha256:")
            .enumerate()
            .map(|(i, part)| match i {
                0 => part.to_string(),
                _ => format!("\"sha256:{}{}", "0".repeat(64), &part[64..]),
            })
            .collect();
        std::fs::write(&memo, lie).unwrap();
    }
    bump(root, "lie");
    build(root, &out, "files");
    assert_eq!(read_tree(&out), want(root));

    // An output file the memo relies on, deleted: restored.
    bump(root, "restore");
    build(root, &out, "files");
    let victim = out.join("envs/dev/catalog/deployment-catalog.yaml");
    std::fs::remove_file(&victim).unwrap();
    bump(root, "again");
    build(root, &out, "files");
    assert!(victim.is_file());
    assert_eq!(read_tree(&out), want(root));

    // No memo at all.
    std::fs::remove_dir_all(root.join(".platc/cache")).unwrap();
    bump(root, "none");
    let summary = build(root, &out, "files");
    assert_eq!(rendered(&summary), None, "{summary}");
    assert_eq!(read_tree(&out), want(root));
}

/// `platc diff --base` renders the base only where it differs from the head: the base's tree
/// must equal a full rendering of the base, for each kind of edit.
#[test]
fn a_base_rendered_from_the_head_equals_a_full_base_render() {
    use platc::memo::Memo;
    use platc::pipeline::{self, Options};
    let opts = Options {
        bytes_only: true,
        ..Options::default()
    };
    let base = example_workspace(false);
    let edits: Vec<(&str, &str, &str)> = vec![
        (
            "examples/storefront/web/score.yaml",
            "storefront-web:3.12.0",
            "storefront-web:3.13.0",
        ),
        (
            "examples/payments/ledger/score.yaml",
            "\nresources:\n",
            "\nresources:\n  fraud:\n    type: service\n",
        ),
        (
            "examples/data/warehouse-loader/score.yaml",
            "    id: warehouse\n",
            "    id: warehouse-2\n",
        ),
    ];
    for (file, from, to) in edits {
        let head = example_workspace(false);
        edit(head.path(), file, from, to);
        let compile = |root: &Path, from: Option<&pipeline::Compilation>| {
            let (platform, workloads) = pipeline::load(root, &opts).unwrap();
            let memo = Memo::for_platform(&platform, platform.gitops.layout).map(|m| match from {
                Some(c) => m.with_entries_of(c),
                None => m,
            });
            pipeline::compile_with_memo(platform, workloads, &opts, memo.as_ref()).unwrap()
        };
        let head_comp = compile(head.path(), None);
        let reusing = compile(base.path(), Some(&head_comp));
        let reused: usize = reusing.envs.iter().map(|e| e.reused.len()).sum();
        assert!(reused > 0, "{file}: the base reused nothing");
        let full = pipeline::compile(base.path(), &opts).unwrap();
        assert_eq!(reusing.tree(), full.tree(), "{file}");
    }
}

#[test]
fn a_memo_whose_output_directory_is_gone_changes_no_output_byte() {
    let ws = example_workspace(false);
    let root = ws.path();
    let out = root.join("out");
    build(root, &out, "files");
    let want = read_tree(&out);
    // Every node's key still matches, but none of the files the memo relies on exists.
    std::fs::remove_dir_all(&out).unwrap();
    let summary = build(root, &out, "files");
    assert_eq!(rendered(&summary), None, "{summary}");
    assert_eq!(read_tree(&out), want);
}
