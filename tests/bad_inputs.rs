//! The bad-input corpus: every case under `tests/bad/<case>/` is a small workspace that must
//! fail with the lines of its `expected.txt` on stderr (a line `!text` must not appear), exit
//! code 2, and write nothing.
//! Cases without a `platform/` get the repository's reference platform; a case's `outside/`
//! files are put beside the workspace (for sandbox-escape cases).

mod common;

use common::*;

#[test]
fn every_bad_input_fails_with_its_message_and_writes_nothing() {
    let corpus = repo().join("tests/bad");
    let mut cases: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 15,
        "the corpus has {} cases; it should have at least 15",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let expected = std::fs::read_to_string(case.join("expected.txt"))
            .unwrap_or_else(|_| panic!("case {name} has no expected.txt"));
        let tmp = tempfile::tempdir().unwrap();
        let ws = tmp.path().join("ws");
        copy_dir(case, &ws, false);
        std::fs::remove_file(ws.join("expected.txt")).unwrap();
        // `outside/` holds files placed beside the workspace, for sandbox-escape cases.
        if ws.join("outside").exists() {
            copy_dir(&ws.join("outside"), tmp.path(), false);
            std::fs::remove_dir_all(ws.join("outside")).unwrap();
        }
        if !ws.join("platform").exists() {
            copy_dir(&repo().join("platform"), &ws.join("platform"), false);
        }
        let out = tmp.path().join("out");
        let o = platc(&[
            "build",
            "-C",
            ws.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        let mut problems = Vec::new();
        if o.status.code() != Some(2) {
            problems.push(format!("exit code {:?}, expected 2", o.status.code()));
        }
        for line in expected
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            // `!text`: text that must not appear (a leaked secret, say).
            if let Some(forbidden) = line.strip_prefix('!') {
                if stderr.contains(forbidden) {
                    problems.push(format!("stderr contains `{forbidden}`"));
                }
            } else if !stderr.contains(line) {
                problems.push(format!("stderr lacks `{line}`"));
            }
        }
        if out.exists() {
            problems.push("the output directory was written".into());
        }
        if stderr.contains("panicked") {
            problems.push("platc panicked".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "case {name}:\n  {}\n  stderr was:\n{stderr}",
                problems.join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
