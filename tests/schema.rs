//! Offline schema validation in `platc check` (rule `schema`), through the real binary: the
//! examples pass strictly; a provisioner template with a misspelled field and a wrong type gives
//! exactly those findings, naming the object, the JSON path, what was expected and the template
//! line; every output format shows them; the platform's own schemas (Nickel or imported JSON)
//! are applied and kinds without one are listed as unchecked.

#![cfg(feature = "schema")]

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};

fn check(ws: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["check", "-C", ws.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = platc(&args);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

fn json_check(ws: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = check(ws, &args);
    let v = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}{stderr}"));
    (code, v)
}

fn schema_findings(v: &Value) -> Vec<Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["policy"] == "schema")
        .cloned()
        .collect()
}

/// The reference platform with a case's files laid over it.
fn case(name: &str) -> tempfile::TempDir {
    let ws = workspace_with(&[]);
    copy_dir(&repo().join("tests/schema").join(name), ws.path(), false);
    ws
}

#[test]
fn the_rendered_examples_pass_strict_validation() {
    let ws = workspace_with(&[]);
    copy_dir(&repo().join("examples"), &ws.path().join("examples"), false);
    let (code, v) = json_check(ws.path(), &[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(schema_findings(&v), Vec::<Value>::new());
    assert_eq!(v["diagnostics"], json!([]));
    let checked = v["schema"]["checked"].as_u64().unwrap();
    assert!(checked > 400, "only {checked} objects checked");
    let unchecked = v["schema"]["unchecked"].as_object().unwrap();
    // Core kinds, Argo CD's and the reference platform's ObjectStorage all have a schema.
    for kind in [
        "apps/v1/Deployment",
        "v1/Service",
        "argoproj.io/v1alpha1/Application",
        "argoproj.io/v1alpha1/AppProject",
        "platform.example.com/v1alpha1/ObjectStorage",
    ] {
        assert!(!unchecked.contains_key(kind), "{kind} unchecked");
    }
    assert_eq!(
        unchecked["monitoring.coreos.com/v1/ServiceMonitor"],
        json!(21)
    );
}

#[test]
fn a_template_typo_and_a_wrong_type_are_exactly_the_findings() {
    let ws = case("template-typo");
    let (code, v) = json_check(ws.path(), &["--env", "dev"]);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["diagnostics"], json!([]));
    let found = schema_findings(&v);
    let essentials: Vec<Value> = found
        .iter()
        .map(|f| {
            json!([
                f["location"],
                f["environment"],
                f["workload"],
                f["severity"]
            ])
        })
        .collect();
    assert_eq!(
        essentials,
        vec![
            json!([
                "platform/templates/cache.yaml.j2:8:3",
                "dev",
                "edge",
                "error"
            ]),
            json!([
                "platform/templates/cache.yaml.j2:34:7",
                "dev",
                "edge",
                "error"
            ]),
        ]
    );
    // Nothing else fails: the template is otherwise valid and follows the policies.
    assert_eq!(v["findings"].as_array().unwrap().len(), 2, "{v:#}");

    let typo = found[0]["message"].as_str().unwrap();
    for part in [
        "`Deployment/storefront-dev/edge-cache`",
        "(envs/dev/_resources/edge-cache/deployment-edge-cache.yaml)",
        "at `spec.replcas`: unknown field `replcas`",
        "expected one of `minReadySeconds`, `paused`, `progressDeadlineSeconds`, `replicas`,",
        "template:templates/cache.yaml.j2 via provisioner:cache",
        "examples/edge/score.yaml",
    ] {
        assert!(typo.contains(part), "`{part}` not in: {typo}");
    }
    let help = found[0]["help"].as_str().unwrap();
    assert!(
        help.starts_with(
            "did you mean `replicas`? fix template `templates/cache.yaml.j2` of provisioner `cache`"
        ),
        "{help}"
    );
    assert!(help.contains("Kubernetes 1.33 OpenAPI schema"), "{help}");

    let port = found[1]["message"].as_str().unwrap();
    for part in [
        "`Service/storefront-dev/edge-cache`",
        "at `spec.ports[name=redis].port`: a string \"6379\" is not allowed here; expected an integer",
        "provisioner:cache",
    ] {
        assert!(port.contains(part), "`{part}` not in: {port}");
    }

    // The finding's field path is one `platc explain` reads, and both name the same line: they
    // read one record of the template render, not two searches of its text.
    let o = platc(&[
        "explain",
        "-C",
        ws.path().to_str().unwrap(),
        "Service/storefront-dev/edge-cache#spec.ports[name=redis].port",
    ]);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        said.contains("platform/templates/cache.yaml.j2:34:"),
        "{said}"
    );

    // Every environment has the same two.
    let (_, all) = json_check(ws.path(), &[]);
    assert_eq!(schema_findings(&all).len(), 6);
}

#[test]
fn every_format_shows_schema_findings() {
    let ws = case("template-typo");
    let (code, _, text) = check(ws.path(), &["--env", "dev"]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("platform/templates/cache.yaml.j2:8:3: error[schema]: `Deployment/storefront-dev/edge-cache`"),
        "{text}"
    );
    assert!(text.contains("  help: did you mean `replicas`?"), "{text}");
    assert!(text.contains("note: schema: "), "{text}");

    let (_, md, _) = check(ws.path(), &["--env", "dev", "--format", "markdown"]);
    assert!(md.starts_with("### platc check: ❌ 2 errors"), "{md}");
    assert!(
        md.contains(
            "| ❌ error | `schema` | dev | `edge` | `platform/templates/cache.yaml.j2:8:3` |"
        ),
        "{md}"
    );

    let (_, sarif, _) = check(ws.path(), &["--env", "dev", "--format", "sarif"]);
    let s: Value = serde_json::from_str(&sarif).unwrap();
    let run = &s["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let index = rules
        .iter()
        .position(|r| r["id"] == "schema")
        .expect("rule `schema`");
    let results: Vec<&Value> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "schema")
        .collect();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["ruleIndex"], json!(index));
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["region"],
        json!({"startLine": 8, "startColumn": 3})
    );
    assert!(run["properties"]["schema"]["checked"].as_u64().unwrap() > 0);
}

#[test]
fn the_schema_rule_can_be_waived_and_switched_off() {
    let ws = case("template-typo");
    let score = ws.path().join("examples/edge/score.yaml");
    let text = std::fs::read_to_string(&score).unwrap().replace(
        "    platc.dev/profile: worker\n",
        "    platc.dev/profile: worker\n    platc.dev/waive.schema: \"vendor chart, fixed upstream in 7.3\"\n",
    );
    std::fs::write(&score, text).unwrap();
    let (code, v) = json_check(ws.path(), &["--env", "dev"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(
        v["summary"],
        json!({"errors": 0, "warnings": 0, "waived": 2, "compile_errors": 0})
    );

    let ws = case("template-typo");
    let main = ws.path().join("platform/main.ncl");
    let text = std::fs::read_to_string(&main).unwrap().replacen(
        "  policies = [\n",
        "  policies = [\n    { id = \"schema\", enabled = false },\n",
        1,
    );
    std::fs::write(&main, text).unwrap();
    let (code, v) = json_check(ws.path(), &["--env", "dev"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(schema_findings(&v), Vec::<Value>::new());
    assert_eq!(v["schema"], Value::Null);
}

/// A hand-written schema for prometheus-operator's ServiceMonitor, as a platform would keep it
/// next to its Nickel: only what this platform's ServiceMonitors may say.
const SERVICE_MONITOR: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["apiVersion", "kind", "metadata", "spec"],
  "properties": {
    "apiVersion": {"const": "monitoring.coreos.com/v1"},
    "kind": {"const": "ServiceMonitor"},
    "metadata": {"type": "object"},
    "spec": {
      "type": "object",
      "additionalProperties": false,
      "required": ["endpoints", "selector"],
      "properties": {
        "selector": {"type": "object"},
        "namespaceSelector": {"type": "object"},
        "jobLabel": {"type": "string"},
        "targetLabels": {"type": "array", "items": {"type": "string"}},
        "endpoints": {
          "type": "array",
          "items": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
              "port": {"type": "string"},
              "path": {"type": "string"},
              "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
              "scheme": {"enum": ["http", "https"]}
            }
          }
        }
      }
    }
  }
}"#;

fn with_schemas(ws: &Path, entries: &str) {
    let main = ws.join("platform/main.ncl");
    let text = std::fs::read_to_string(&main).unwrap();
    let anchor = "  schemas = {\n";
    assert!(
        text.contains(anchor),
        "the reference platform has a `schemas` field"
    );
    std::fs::write(
        &main,
        text.replacen(anchor, &format!("{anchor}{entries}"), 1),
    )
    .unwrap();
}

#[test]
fn platform_schemas_imported_from_json_are_applied() {
    let ws = workspace_with(&[("platform/schemas/servicemonitor.json", SERVICE_MONITOR)]);
    copy_dir(&repo().join("examples"), &ws.path().join("examples"), false);
    with_schemas(
        ws.path(),
        "    \"monitoring.coreos.com/v1/ServiceMonitor\" = import \"schemas/servicemonitor.json\",\n",
    );
    let (code, v) = json_check(ws.path(), &[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(schema_findings(&v), Vec::<Value>::new());
    let unchecked = v["schema"]["unchecked"].as_object().unwrap();
    assert!(!unchecked.contains_key("monitoring.coreos.com/v1/ServiceMonitor"));
    assert!(unchecked.contains_key("monitoring.coreos.com/v1/PrometheusRule"));

    // The same schema, stricter than what platc renders: every ServiceMonitor fails, by the
    // platform's schema.
    let strict = SERVICE_MONITOR.replace("\"path\": {\"type\": \"string\"},", "");
    assert_ne!(strict, SERVICE_MONITOR);
    std::fs::write(
        ws.path().join("platform/schemas/servicemonitor.json"),
        strict,
    )
    .unwrap();
    let (code, v) = json_check(ws.path(), &["--env", "dev"]);
    assert_eq!(code, Some(1), "{v:#}");
    let found = schema_findings(&v);
    assert!(!found.is_empty());
    for f in &found {
        let m = f["message"].as_str().unwrap();
        assert!(m.contains("`ServiceMonitor/"), "{m}");
        assert!(
            m.contains("at `spec.endpoints[0].path`: unknown field `path`"),
            "{m}"
        );
        let h = f["help"].as_str().unwrap();
        assert!(
            h.contains(
                "the platform's schema `schemas.\"monitoring.coreos.com/v1/ServiceMonitor\"`"
            ),
            "{h}"
        );
    }
}

#[test]
fn the_reference_platforms_object_storage_schema_catches_a_bad_region() {
    let ws = workspace_with(&[(
        "examples/lake/score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: lake\n  annotations:\n    platc.dev/team: data\n    platc.dev/profile: worker\ncontainers:\n  main:\n    image: ghcr.io/acme/lake:1.0.0\n    variables:\n      BUCKET: ${resources.bucket.bucket}\nresources:\n  bucket:\n    type: s3\n    params:\n      region: mars-north-1\n",
    )]);
    let (code, v) = json_check(ws.path(), &["--env", "dev"]);
    assert_eq!(code, Some(1), "{v:#}");
    let found = schema_findings(&v);
    assert_eq!(found.len(), 1, "{v:#}");
    let m = found[0]["message"].as_str().unwrap();
    assert!(
        m.contains("at `spec.region`: \"mars-north-1\" is not an allowed value; expected one of \"eu-west-1\", \"eu-central-1\", \"us-east-1\""),
        "{m}"
    );
    assert!(m.contains("provisioner:s3"), "{m}");
    // The template line that writes `region:`.
    let loc = found[0]["location"].as_str().unwrap();
    assert!(
        loc.starts_with("platform/templates/object-storage.yaml.j2:"),
        "{loc}"
    );
}

#[test]
fn a_broken_platform_schema_is_a_configuration_error() {
    let ws = workspace_with(&[("platform/schemas/bad.json", r#"{"type": 12}"#)]);
    with_schemas(
        ws.path(),
        "    \"x.io/v1/Thing\" = import \"schemas/bad.json\",\n",
    );
    let (code, v) = json_check(ws.path(), &[]);
    assert_eq!(code, Some(1));
    let d = &v["diagnostics"][0];
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("schema for `x.io/v1/Thing` is not a valid JSON Schema"),
        "{v:#}"
    );
}

#[test]
fn an_argo_cd_field_typo_is_caught() {
    use platc::model::Plane;
    use platc::render::{Object, Provenance};

    let mut v = platc::schema::Validators::new(&Default::default()).unwrap();
    let app = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "dev-cart", "namespace": "argocd"},
        "spec": {
            "project": "storefront",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "storefront-dev"},
            "source": {"repoUrl": "https://git.example.com/gitops.git", "path": "envs/dev/cart"},
        },
    });
    let o = Object::manifest(
        "argocd/dev/apps",
        app,
        Plane::Delivery,
        Provenance {
            source: "examples/storefront/cart/score.yaml".into(),
            node: "workload:cart".into(),
            via: "renderer:delivery".into(),
        },
    );
    let f = v
        .check_object(&o, Some("dev"))
        .expect("Application has a schema");
    let got: Vec<(&str, &str, Option<&str>)> = f
        .iter()
        .map(|f| {
            (
                f.field.as_str(),
                f.message.as_str(),
                f.suggestion.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("spec.source", "required field `repoURL` is missing", None),
            (
                "spec.source.repoUrl",
                "unknown field `repoUrl`",
                Some("repoURL")
            ),
        ]
    );
    assert_eq!(f[0].object.to_string(), "Application/argocd/dev-cart");
    assert_eq!(
        f[0].object.file,
        "argocd/dev/apps/application-dev-cart.yaml"
    );
}
