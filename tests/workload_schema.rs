//! `platc schema` judged by an independent validator (Python `jsonschema`, draft 2020-12): every
//! example workload and every Score file of the corpus is valid; the bad-input cases whose
//! mistake is one of shape (unknown field or param, wrong type, unknown team, type or profile)
//! are not.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

/// File → `None` (valid) or the validator's message; `None` overall when the judge is missing.
fn judge(schema: &Path, files: &[PathBuf]) -> Option<BTreeMap<PathBuf, Option<String>>> {
    let o = std::process::Command::new("python3")
        .arg(repo().join("tests/tools/schema_check.py"))
        .arg(schema)
        .args(files)
        .output()
        .ok()?;
    if o.status.code() == Some(3) {
        judge_missing(String::from_utf8_lossy(&o.stdout).trim());
        return None;
    }
    // Anything else that stops the judge (the schema is not a valid draft 2020-12 schema, a
    // file it cannot read) is a failure, not a skip.
    assert!(
        o.status.success(),
        "the schema judge failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    Some(
        text.lines()
            .filter_map(|l| {
                if let Some(p) = l.strip_prefix("ok ") {
                    Some((PathBuf::from(p), None))
                } else {
                    let rest = l.strip_prefix("invalid ")?;
                    let (p, msg) = rest.split_once(": ")?;
                    Some((PathBuf::from(p), Some(msg.to_string())))
                }
            })
            .collect(),
    )
}

fn schema_of(workspace: &Path, into: &Path) -> PathBuf {
    let o = platc(&["schema", "-C", workspace.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let path = into.join("workload.schema.json");
    std::fs::write(&path, &o.stdout).unwrap();
    path
}

fn score_files(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap().path().to_path_buf())
        .filter(|p| p.to_string_lossy().ends_with("score.yaml"))
        .collect()
}

#[test]
fn examples_are_valid_and_shape_mistakes_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = schema_of(&repo(), tmp.path());
    let examples = score_files(&repo().join("examples"));
    assert!(examples.len() >= 10);
    let Some(verdicts) = judge(&schema, &examples) else {
        return;
    };
    for (file, verdict) in &verdicts {
        assert_eq!(verdict, &None, "{} should be valid", file.display());
    }
    assert_eq!(verdicts.len(), examples.len());

    // The bad-input corpus runs on the embedded platform, which is the repository's.
    let cases = [
        "bad-api-version",
        "invalid-name",
        "missing-image",
        "mistyped-param",
        "no-provisioner-for-type",
        "port-out-of-range",
        "unknown-field",
        "unknown-param",
        "unknown-profile",
        "unknown-protocol",
        "unknown-team",
        "wrong-type",
    ];
    let files: Vec<PathBuf> = cases
        .iter()
        .flat_map(|c| score_files(&repo().join("tests/bad").join(c)))
        .collect();
    let verdicts = judge(&schema, &files).expect("judge ran above");
    for (file, verdict) in &verdicts {
        assert!(verdict.is_some(), "{} should be invalid", file.display());
    }
    assert_eq!(verdicts.len(), files.len());
}

#[test]
fn corpus_workloads_are_valid_against_their_platforms() {
    let corpus = repo().join("tests/score-corpus");
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for app in std::fs::read_dir(&corpus).unwrap() {
        let app = app.unwrap().path();
        if !app.is_dir() {
            continue;
        }
        let ws = if app.join("platform/main.ncl").is_file() {
            app.clone()
        } else {
            repo()
        };
        let dir = tmp.path().join(app.file_name().unwrap());
        std::fs::create_dir_all(&dir).unwrap();
        let schema = schema_of(&ws, &dir);
        let files = score_files(&app);
        let Some(verdicts) = judge(&schema, &files) else {
            return;
        };
        for (file, verdict) in &verdicts {
            assert_eq!(verdict, &None, "{} should be valid", file.display());
        }
        checked += verdicts.len();
    }
    assert!(checked >= 10, "{checked}");
}
