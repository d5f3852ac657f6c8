//! The guides in `docs/` as tests: every fenced block tagged with a file name is written to that
//! file, every `sh` block is run, in the order of the page, so a guide cannot drift from what
//! platc does.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// A page as one shell script: `sh` blocks verbatim, file blocks as here-documents.
fn script_of(page: &str) -> String {
    let mut script = String::from("set -eux\n");
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        let mut words = info.split_whitespace();
        match (words.next(), words.next()) {
            (Some("sh"), None) => {
                for l in body {
                    script.push_str(l);
                    script.push('\n');
                }
            }
            (Some(_), Some(file)) => {
                script.push_str(&format!(
                    "mkdir -p \"$(dirname '{file}')\"\ncat > '{file}' <<'PLATC_DOC_EOF'\n{}\nPLATC_DOC_EOF\n",
                    body.join("\n")
                ));
            }
            _ => {}
        }
    }
    script
}

fn run_page(page: &Path) {
    let text = std::fs::read_to_string(page).unwrap();
    let script = script_of(&text);
    assert!(script.contains("platc"), "{script}");
    let tmp = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_platc")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(tmp.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{} failed:\n{}\n{}",
        page.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn adding_a_resource_type_works_as_written() {
    run_page(&repo().join("docs/adding-a-resource-type.md"));
}

#[test]
fn first_platform_works_as_written() {
    run_page(&repo().join("docs/first-platform.md"));
}

#[test]
fn a_failing_step_fails_the_page() {
    let script = script_of("```sh\nplatc build --no-such-flag\n```\n");
    let o = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(!o.status.success());
}
