//! `examples/` rendered with the reference platform must equal `golden/` byte for byte, and in
//! the manifest layout `golden-manifest/`. Update the expected trees with
//! `cargo run -- build --out golden` and `cargo run -- build --layout manifest --out golden-manifest`,
//! then review `git diff golden golden-manifest`.

mod common;

use common::*;

#[test]
fn examples_render_to_golden() {
    check_golden("golden", &[]);
}

#[test]
fn examples_render_to_golden_manifest_in_the_manifest_layout() {
    check_golden("golden-manifest", &["--layout", "manifest"]);
}

/// The manifest layout holds the same documents as the files layout, only grouped per directory.
#[test]
fn both_layouts_hold_the_same_documents() {
    let docs = |dir: &str| -> Vec<String> {
        let mut v: Vec<String> = read_tree(&repo().join(dir))
            .into_iter()
            .filter(|(p, _)| p.ends_with(".yaml"))
            .flat_map(|(_, b)| {
                String::from_utf8_lossy(&b)
                    .split("---\n")
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        v.sort();
        v
    };
    let files = docs("golden");
    assert!(files.len() > 500);
    assert_eq!(files, docs("golden-manifest"));
    let count = |dir: &str| read_tree(&repo().join(dir)).len();
    assert!(count("golden-manifest") * 2 < count("golden"));
}

fn check_golden(golden: &str, args: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let root = repo();
    let mut all = vec![
        "build",
        "-C",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let o = platc(&all);
    assert!(
        o.status.success(),
        "build failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let expected = read_tree(&repo().join(golden));
    let actual = read_tree(&out);
    let update = format!(
        "cargo run --release -- build {} --out {golden}",
        args.join(" ")
    );
    assert!(!expected.is_empty(), "{golden}/ is empty: run `{update}`");
    let diff = tree_diff(&expected, &actual);
    assert!(
        diff.is_empty(),
        "the rendering differs from {golden}/ (if the change is intended, run `{update}` and review `git diff {golden}`):\n{diff}"
    );
}
