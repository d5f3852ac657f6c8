//! The policy corpus: every case under `tests/policies/<case>/` is a small workspace laid over a
//! copy of the reference platform (a case's own `platform/` files replace the reference ones of
//! the same name) whose `platc check --format json` findings must be exactly its
//! `expected.json` (policy, severity, file:line:col, environment, open/waived), with its exit
//! code. Plus: the examples have no errors, and the SARIF output has the structure of SARIF
//! 2.1.0 that code scanning needs.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{Value, json};

/// The case's workspace: reference platform, then the case's files over it.
fn case_workspace(case: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("platform"),
        &tmp.path().join("platform"),
        false,
    );
    copy_dir(case, tmp.path(), false);
    std::fs::remove_file(tmp.path().join("expected.json")).unwrap();
    tmp
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

fn check(ws: &Path, format: &str) -> (Option<i32>, String, String) {
    let o = platc(&["check", "-C", ws.to_str().unwrap(), "--format", format]);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

/// The fields `expected.json` lists, from a finding of `--format json`.
fn essentials(f: &Value) -> Value {
    json!({
        "policy": f["policy"], "severity": f["severity"], "location": f["location"],
        "environment": f["environment"], "status": f["status"],
    })
}

#[test]
fn every_case_reports_exactly_its_expected_findings() {
    let cases = cases();
    assert!(cases.len() >= 9, "only {} cases", cases.len());
    let mut failures = Vec::new();
    let mut policies_seen = std::collections::BTreeSet::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(case.join("expected.json"))
                .unwrap_or_else(|_| panic!("case {name} has no expected.json")),
        )
        .unwrap();
        let ws = case_workspace(case);
        let (code, stdout, stderr) = check(ws.path(), "json");
        let v: Value = match serde_json::from_str(&stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!(
                    "{name}: output is not JSON ({e}): {stdout}{stderr}"
                ));
                continue;
            }
        };
        let got: Vec<Value> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(essentials)
            .collect();
        let want = expected["findings"].as_array().unwrap();
        for f in want {
            policies_seen.insert(f["policy"].as_str().unwrap().to_string());
        }
        if &got != want {
            failures.push(format!(
                "{name}: findings differ\n  expected: {}\n  got:      {}",
                serde_json::to_string(want).unwrap(),
                serde_json::to_string(&got).unwrap()
            ));
        }
        if code.map(i64::from) != expected["exit"].as_i64() {
            failures.push(format!(
                "{name}: exit {code:?}, expected {}",
                expected["exit"]
            ));
        }
        if v["diagnostics"].as_array().is_none_or(|d| !d.is_empty()) {
            failures.push(format!(
                "{name}: unexpected diagnostics {}",
                v["diagnostics"]
            ));
        }
        // Every finding has a message and a fix hint, and names its workload (`null`: one
        // about the platform itself).
        for f in v["findings"].as_array().unwrap() {
            if f["message"].as_str().is_none_or(str::is_empty)
                || f["help"].as_str().is_none_or(str::is_empty)
                || !(f["workload"].is_null()
                    || f["workload"].as_str().is_some_and(|w| !w.is_empty()))
            {
                failures.push(format!(
                    "{name}: finding without message/help/workload: {f}"
                ));
            }
        }
        // The text format says the same, one `file:line:col: kind[policy]:` line per finding.
        let (tcode, _, text) = check(ws.path(), "text");
        if tcode != code {
            failures.push(format!(
                "{name}: text exit {tcode:?} differs from json {code:?}"
            ));
        }
        for f in want {
            let kind = if f["status"] == "waived" {
                "waived".to_string()
            } else {
                f["severity"].as_str().unwrap().to_string()
            };
            let line = format!(
                "{}: {kind}[{}]: ",
                f["location"].as_str().unwrap(),
                f["policy"].as_str().unwrap()
            );
            if !text.contains(&line) {
                failures.push(format!("{name}: text output lacks `{line}`:\n{text}"));
            }
        }
        if stderr.contains("panicked") || text.contains("panicked") {
            failures.push(format!("{name}: platc panicked"));
        }
    }
    for id in [
        "images-pinned",
        "resources-set",
        "prod-replicas",
        "no-privileged",
        "service-probes",
        "team-exists",
        "workload-globs-match",
        "waiver-without-reason",
        "payments-no-cron-in-prod",
    ] {
        if !policies_seen.contains(id) {
            failures.push(format!("no case expects a finding of `{id}`"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn waived_findings_are_reported_with_their_reason_and_do_not_fail() {
    let ws = case_workspace(&repo().join("tests/policies/waiver"));
    let (code, stdout, _) = check(ws.path(), "json");
    assert_eq!(code, Some(0));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        v["summary"],
        json!({"errors": 0, "warnings": 0, "waived": 3, "compile_errors": 0})
    );
    assert_eq!(
        v["findings"][0]["waiver_reason"],
        json!("vendor image, mirrored in Q3 (JIRA-123)")
    );
    let (_, _, text) = check(ws.path(), "text");
    assert!(
        text.contains("  waived: vendor image, mirrored in Q3 (JIRA-123)"),
        "{text}"
    );
    let (_, md, _) = check(ws.path(), "markdown");
    assert!(
        md.contains("<details><summary>3 waived findings</summary>"),
        "{md}"
    );
    assert!(
        md.contains("vendor image, mirrored in Q3 (JIRA-123)"),
        "{md}"
    );
    assert!(
        md.starts_with("### platc check: ✅ 0 errors, 0 warnings, 3 waived"),
        "{md}"
    );
}

#[test]
fn the_examples_have_no_policy_errors() {
    let ws = workspace_with(&[]);
    copy_dir(&repo().join("examples"), &ws.path().join("examples"), false);
    let (code, stdout, stderr) = check(ws.path(), "json");
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["summary"]["errors"], 0, "{stdout}");
    let errors: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    // fraud serves a port but its worker profile gives it no liveness probe: a warning.
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["policy"] == "service-probes" && f["workload"] == "fraud"),
        "{stdout}"
    );
    let (_, md, _) = check(ws.path(), "markdown");
    assert!(md.starts_with("### platc check: ✅ 0 errors"), "{md}");
    assert!(md.contains("| ⚠️ warning | `service-probes` |"), "{md}");
}

#[test]
fn load_errors_keep_exit_code_1_in_every_format() {
    let ws = workspace_with(&[(
        "examples/a/score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\n  annotations:\n    platc.dev/team: payments\ncontainers:\n  main:\n    imgae: nginx:1.27\n",
    )]);
    for format in ["text", "json", "sarif", "markdown"] {
        let (code, stdout, stderr) = check(ws.path(), format);
        assert_eq!(code, Some(1), "{format}: {stdout}{stderr}");
    }
    let (_, sarif, _) = check(ws.path(), "sarif");
    let v: Value = serde_json::from_str(&sarif).unwrap();
    let r = &v["runs"][0]["results"][0];
    assert_eq!(r["ruleId"], "compile-error");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        8
    );
    // The counts say why it failed (they said 0 errors beside `"ok": false`).
    let (_, json, _) = check(ws.path(), "json");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["summary"]["compile_errors"], 1);
    let (_, md, _) = check(ws.path(), "markdown");
    assert!(
        md.starts_with("### platc check: ❌ the workspace does not compile (1 error)"),
        "{md}"
    );
}

/// The parts of SARIF 2.1.0 that GitHub code scanning reads, checked by hand.
fn sarif_problems(v: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            p.push(what.to_string());
        }
    };
    need(v["version"] == "2.1.0", "version is not 2.1.0");
    need(
        v["$schema"]
            .as_str()
            .is_some_and(|s| s.contains("sarif-2.1.0")),
        "$schema does not name SARIF 2.1.0",
    );
    let Some(runs) = v["runs"].as_array() else {
        return vec!["no runs".into()];
    };
    need(runs.len() == 1, "not exactly one run");
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    need(driver["name"] == "platc", "driver.name");
    need(driver["version"].is_string(), "driver.version");
    need(
        driver["informationUri"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://")),
        "driver.informationUri",
    );
    let rules = driver["rules"].as_array().cloned().unwrap_or_default();
    need(!rules.is_empty(), "no rules");
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    for r in &rules {
        need(r["id"].is_string(), "rule without id");
        need(
            r["shortDescription"]["text"].is_string(),
            "rule without shortDescription.text",
        );
        need(r["help"]["text"].is_string(), "rule without help.text");
        need(
            ["error", "warning", "note", "none"]
                .contains(&r["defaultConfiguration"]["level"].as_str().unwrap_or("")),
            "rule without a valid defaultConfiguration.level",
        );
    }
    for r in run["results"].as_array().cloned().unwrap_or_default() {
        let rule = r["ruleId"].as_str().unwrap_or("");
        need(
            ids.contains(&rule),
            "result names a rule that is not declared",
        );
        if let Some(ix) = r["ruleIndex"].as_u64() {
            need(
                ids.get(ix as usize) == Some(&rule),
                "ruleIndex does not match ruleId",
            );
        }
        need(
            ["error", "warning", "note", "none"].contains(&r["level"].as_str().unwrap_or("")),
            "result level",
        );
        need(r["message"]["text"].is_string(), "result message.text");
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap_or("/");
        need(
            !uri.starts_with('/') && !uri.contains(':') && !uri.is_empty(),
            "artifactLocation.uri is not workspace-relative",
        );
        need(
            loc["region"]["startLine"].as_u64().is_some_and(|l| l >= 1),
            "region.startLine",
        );
        need(
            loc["region"]["startColumn"]
                .as_u64()
                .is_some_and(|c| c >= 1),
            "region.startColumn",
        );
        if let Some(s) = r.get("suppressions") {
            need(
                s.as_array().is_some_and(|a| {
                    a.iter().all(|x| {
                        ["inSource", "external"].contains(&x["kind"].as_str().unwrap_or(""))
                    })
                }),
                "suppression kind",
            );
        }
    }
    p
}

/// A minimal SARIF 2.1.0 schema (written here from the specification's required properties;
/// not the official schema) for Python's `jsonschema`, when it is installed.
const MINIMAL_SARIF_SCHEMA: &str = r##"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["version", "runs"],
  "properties": {
    "$schema": {"type": "string"},
    "version": {"enum": ["2.1.0"]},
    "runs": {"type": "array", "minItems": 1, "items": {
      "type": "object", "required": ["tool"],
      "properties": {
        "tool": {"type": "object", "required": ["driver"], "properties": {
          "driver": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"}, "version": {"type": "string"},
            "informationUri": {"type": "string", "format": "uri"},
            "rules": {"type": "array", "items": {"type": "object", "required": ["id"], "properties": {
              "id": {"type": "string"},
              "shortDescription": {"$ref": "#/definitions/message"},
              "help": {"$ref": "#/definitions/message"},
              "defaultConfiguration": {"type": "object", "properties": {"level": {"$ref": "#/definitions/level"}}}
            }}}
          }}
        }},
        "results": {"type": "array", "items": {
          "type": "object", "required": ["message"],
          "properties": {
            "ruleId": {"type": "string"}, "ruleIndex": {"type": "integer", "minimum": -1},
            "level": {"$ref": "#/definitions/level"},
            "message": {"$ref": "#/definitions/message"},
            "locations": {"type": "array", "items": {"type": "object", "properties": {
              "physicalLocation": {"type": "object", "properties": {
                "artifactLocation": {"type": "object", "properties": {"uri": {"type": "string"}, "uriBaseId": {"type": "string"}}},
                "region": {"type": "object", "properties": {"startLine": {"type": "integer", "minimum": 1}, "startColumn": {"type": "integer", "minimum": 1}}}
              }}
            }}},
            "suppressions": {"type": "array", "items": {"type": "object", "required": ["kind"], "properties": {
              "kind": {"enum": ["inSource", "external"]},
              "status": {"enum": ["accepted", "underReview", "rejected"]},
              "justification": {"type": "string"}
            }}}
          }
        }}
      }
    }}
  },
  "definitions": {
    "message": {"type": "object", "anyOf": [{"required": ["text"]}, {"required": ["id"]}], "properties": {"text": {"type": "string"}}},
    "level": {"enum": ["none", "note", "warning", "error"]}
  }
}"##;

#[test]
fn sarif_output_has_the_structure_code_scanning_reads() {
    let mut checked = 0;
    for name in ["images-pinned", "waiver", "no-privileged", "team-exists"] {
        let ws = case_workspace(&repo().join("tests/policies").join(name));
        let (_, stdout, stderr) = check(ws.path(), "sarif");
        let v: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {stdout}{stderr}"));
        let problems = sarif_problems(&v);
        assert!(problems.is_empty(), "{name}: {problems:?}\n{stdout}");
        let results = v["runs"][0]["results"].as_array().unwrap();
        assert!(!results.is_empty(), "{name}: no results");
        if name == "waiver" {
            assert!(results.iter().all(|r| {
                r["suppressions"][0]["justification"] == "vendor image, mirrored in Q3 (JIRA-123)"
            }));
        }
        if name == "images-pinned" {
            let r = &results[0];
            assert_eq!(r["ruleId"], "images-pinned");
            assert_eq!(r["level"], "error");
            let loc = &r["locations"][0]["physicalLocation"];
            assert_eq!(loc["artifactLocation"]["uri"], "examples/web/score.yaml");
            assert_eq!(loc["region"]["startLine"], 8);
            assert_eq!(loc["region"]["startColumn"], 12);
        }
        let validated = validate_with_python(&stdout);
        if validated.is_some() {
            checked += 1;
        }
        // The structural check itself must be able to fail.
        let mut broken = v.clone();
        broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
            json!(0);
        broken["version"] = json!("2.0.0");
        assert_eq!(sarif_problems(&broken).len(), 2, "{name}");
    }
    if checked == 0 {
        judge_missing("Python jsonschema is not installed; structural checks only");
    }
}

/// `Some(())` when Python's jsonschema validated the document against the minimal schema,
/// `None` when it is not installed; panics when it finds the document invalid.
fn validate_with_python(doc: &str) -> Option<()> {
    let dir = tempfile::tempdir().unwrap();
    let (schema, file) = (dir.path().join("schema.json"), dir.path().join("doc.json"));
    std::fs::write(&schema, MINIMAL_SARIF_SCHEMA).unwrap();
    std::fs::write(&file, doc).unwrap();
    let script = "import json,sys\ntry:\n import jsonschema\nexcept ImportError:\n sys.exit(3)\ns=json.load(open(sys.argv[1]));d=json.load(open(sys.argv[2]))\njsonschema.Draft7Validator.check_schema(s)\nerrs=[e.message for e in jsonschema.Draft7Validator(s).iter_errors(d)]\nprint('\\n'.join(errs));sys.exit(1 if errs else 0)\n";
    let o = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&schema)
        .arg(&file)
        .output()
        .ok()?;
    match o.status.code() {
        Some(0) => Some(()),
        Some(3) => None,
        _ => panic!(
            "SARIF fails the minimal schema: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

/// A platform policy whose `check` never returns is stopped by the evaluation's time limit,
/// with an error that says so; the platform itself (whose `check` functions are not evaluated)
/// still builds.
#[test]
fn a_policy_that_never_returns_is_stopped_with_an_error() {
    let ws = example_workspace(false);
    let main = ws.path().join("platform/main.ncl");
    let text = std::fs::read_to_string(&main).unwrap();
    let looping = text.replacen(
        "check = fun w => w.profile != \"worker\" || w.replicas <= 10,",
        "check = fun w => let rec spin = fun x => spin x in spin w,",
        1,
    );
    assert_ne!(
        looping, text,
        "the reference platform's policy was not found"
    );
    std::fs::write(&main, looping).unwrap();
    let run = |cmd: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_platc"))
            .args([cmd, "-C", ws.path().to_str().unwrap()])
            .env("NO_COLOR", "1")
            .env("PLATC_EVAL_TIMEOUT_SECS", "3")
            .output()
            .expect("the platc binary runs")
    };
    let o = run("check");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the platform's policies did not finish evaluating within 3 s"),
        "{stderr}"
    );
    let built = run("build");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
}

/// A workspace of the reference platform with `n` plain workloads `w000`…, and a platform
/// policy `marked` that fails for the workloads `marked` names (in every environment) and, when
/// `broken` names one, stops with a Nickel error on it.
fn many_workloads(n: usize, marked: &[&str], broken: Option<&str>) -> tempfile::TempDir {
    let list = marked
        .iter()
        .map(|m| format!("\"{m}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let broken = broken.unwrap_or("");
    with_policy(
        n,
        &format!(
            "if w.name == \"{broken}\" then std.fail_with \"broken on %{{w.name}} in %{{w.env}}\" else !(std.array.elem w.name [{list}])"
        ),
    )
}

/// A workspace of the reference platform with `n` plain workloads `w000`… and a platform
/// policy `marked` whose `check` is `fun w => <check>`.
fn with_policy(n: usize, check: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("platform"),
        &tmp.path().join("platform"),
        false,
    );
    for i in 0..n {
        let dir = tmp.path().join(format!("examples/w{i:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("score.yaml"),
            format!(
                "apiVersion: score.dev/v1b1\nmetadata:\n  name: w{i:03}\ncontainers:\n  main:\n    image: ghcr.io/acme/w{i:03}:1.0.0\n"
            ),
        )
        .unwrap();
    }
    let policy = format!(
        "{{\n      id = \"marked\",\n      description = \"Marked workloads fail.\",\n      check = fun w => {check},\n    }},\n    {{\n      id = \"worker-replicas-bounded\","
    );
    let main = tmp.path().join("platform/main.ncl");
    let text = std::fs::read_to_string(&main).unwrap();
    let with = text.replacen("{\n      id = \"worker-replicas-bounded\",", &policy, 1);
    assert_ne!(
        with, text,
        "the reference platform's policy list was not found"
    );
    std::fs::write(&main, with).unwrap();
    tmp
}

/// The (workload, environment) of each finding of policy `marked` in a JSON report, sorted.
fn marked_findings(json: &str) -> Vec<(String, String)> {
    let report: Value = serde_json::from_str(json).unwrap();
    let mut marked: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["policy"] == "marked")
        .map(|f| {
            (
                f["workload"].as_str().unwrap_or_default().to_string(),
                f["environment"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    marked.sort();
    marked
}

fn check_threads(ws: &Path, threads: &str) -> (Option<i32>, String, String) {
    let o = platc(&[
        "check",
        "-C",
        ws.to_str().unwrap(),
        "--format",
        "json",
        "--threads",
        threads,
    ]);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

/// Platform policies over many workloads are evaluated in parts side by side: the findings,
/// from both parts, are the same for one thread as for several, and so is the error of a
/// `check` that fails (the one the whole program reports).
#[test]
fn policies_split_over_threads_report_as_one_evaluation() {
    // 150 workloads × 3 environments: two parts of the records with two threads or more.
    let ws = many_workloads(150, &["w007", "w120"], None);
    let one = check_threads(ws.path(), "1");
    let four = check_threads(ws.path(), "4");
    assert_eq!(one.0, Some(1), "{}", one.2);
    assert_eq!(one, four);
    let marked = marked_findings(&one.1);
    let mut expected = Vec::new();
    for w in ["w007", "w120"] {
        for env in ["dev", "prod", "staging"] {
            expected.push((w.to_string(), env.to_string()));
        }
    }
    assert_eq!(marked, expected, "{}", one.1);

    let ws = many_workloads(150, &[], Some("w140"));
    let one = check_threads(ws.path(), "1");
    let two = check_threads(ws.path(), "2");
    assert_eq!(one.0, Some(1), "{}", one.2);
    assert!(
        one.1.contains("broken on w140") || one.2.contains("broken on w140"),
        "{} {}",
        one.1,
        one.2
    );
    assert_eq!(one, two);
}

/// A `check` may treat its record as any Nickel record: merge it, map over it. The records
/// reach the program as one deserialized JSON string, which nickel-lang-core 0.19's debug
/// builds refuse to merge (a debug assertion); the program then runs again with the records as
/// Nickel literals, so the findings are the same in every build.
#[test]
fn a_check_that_merges_its_record_is_evaluated_like_any_other() {
    let ws = with_policy(
        4,
        "let m = w & { extra = 1 } in let n = std.record.map (fun _k v => v) m in !(n.name == \"w002\" && n.extra == 1)",
    );
    let (code, out, err) = check_threads(ws.path(), "1");
    assert_eq!(code, Some(1), "{err}");
    let marked = marked_findings(&out);
    let expected: Vec<(String, String)> = ["dev", "prod", "staging"]
        .iter()
        .map(|e| ("w002".to_string(), e.to_string()))
        .collect();
    assert_eq!(marked, expected, "{out}");
}

/// A policy that is neither built in nor has a `check` is reported even when there is no
/// workload to evaluate the platform's checks on (the evaluation that names the checks runs
/// all the same).
#[test]
fn an_unknown_policy_is_reported_without_workloads() {
    let ws = with_policy(0, "true");
    let main = ws.path().join("platform/main.ncl");
    let text = std::fs::read_to_string(&main).unwrap();
    let with = text.replacen(
        "{\n      id = \"marked\",",
        "{ id = \"no-such-policy\", description = \"a typo\" },\n    {\n      id = \"marked\",",
        1,
    );
    assert_ne!(with, text);
    std::fs::write(&main, with).unwrap();
    let (code, out, err) = check_threads(ws.path(), "2");
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        format!("{out}{err}").contains("policy `no-such-policy` is not a built-in policy"),
        "{out}{err}"
    );
}

/// The evaluator turns the debug assertion a merged record trips into a diagnostic, and the
/// literal form then answers: nothing is reported as a crash on the way.
#[test]
fn a_contained_evaluator_panic_is_not_reported_as_a_crash() {
    let ws = with_policy(2, "(w & { extra = 1 }).extra == 1");
    let (code, out, err) = check_threads(ws.path(), "1");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(!err.contains("internal error"), "{err}");
}
