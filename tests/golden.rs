//! `examples/` rendered with the reference platform must equal `golden/` byte for byte.
//! Update the expected tree with: `cargo run -- build --out golden`, then review `git diff golden`.

mod common;

use common::*;

#[test]
fn examples_render_to_golden() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = platc(&[
        "build",
        "-C",
        repo().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        o.status.success(),
        "build failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let expected = read_tree(&repo().join("golden"));
    let actual = read_tree(&out);
    assert!(
        !expected.is_empty(),
        "golden/ is empty: run `cargo run -- build --out golden`"
    );
    let diff = tree_diff(&expected, &actual);
    assert!(
        diff.is_empty(),
        "the rendering differs from golden/ (if the change is intended, run `cargo run -- build --out golden` and review `git diff golden`):\n{diff}"
    );
}
