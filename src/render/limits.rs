//! What a rendered object may be: no larger than the Kubernetes API server accepts, named so
//! that its output path is one clean file name on every file system, and never a Secret with its
//! values in it.

use serde_json::Value;

use super::{Body, Object};
use crate::diag::{Code, Diagnostic, Diagnostics, Span};

/// The API server's limit on a request body (etcd's default `--max-request-bytes`): an object
/// over it is rejected at sync time, after it was committed to Git.
pub const MAX_OBJECT_BYTES: usize = 1_572_864;

/// Every object over [`MAX_OBJECT_BYTES`] of canonical YAML, each named with the file behind it.
pub fn check_sizes<'a>(objects: impl IntoIterator<Item = &'a Object>) -> Result<(), Diagnostics> {
    let mut diags = Diagnostics::new();
    for o in objects {
        let size = match &o.body {
            Body::Yaml(b) => b.len(),
            Body::Text(t) => t.len(),
            // The text of every string is a lower bound of the YAML's size: most objects are far
            // below half the limit by it, and only the others are serialised to be measured.
            Body::Manifest(v) if text_len(v) < MAX_OBJECT_BYTES / 2 => continue,
            Body::Manifest(v) => crate::yaml::write::to_yaml(v).len(),
        };
        if size > MAX_OBJECT_BYTES {
            diags.push(too_large(o, size));
        }
    }
    diags.into_result(())
}

/// Bytes of every key and string, and a few per other value: about what the YAML holds.
fn text_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(|x| 2 + text_len(x)).sum(),
        Value::Object(m) => m.iter().map(|(k, x)| k.len() + 2 + text_len(x)).sum(),
        _ => 8,
    }
}

fn too_large(o: &Object, size: usize) -> Diagnostic {
    let what = match &o.body {
        Body::Manifest(v) => describe(v),
        Body::Yaml(b) => describe_yaml(b),
        Body::Text(_) => String::new(),
    };
    let what = if what.trim().is_empty() {
        o.path.clone()
    } else {
        what
    };
    Diagnostic::error(
        Code::TooLarge,
        Some(Span::file(o.provenance.source.clone())),
        format!(
            "{what} renders to {size} bytes, over the Kubernetes API server's limit of {MAX_OBJECT_BYTES} bytes",
        ),
    )
    .with_note(format!("from {} ({})", o.provenance.source, o.provenance.via))
    .with_note(format!("output file `{}`", o.path))
    .with_help("move large values out of the workload or template: into a volume, or data the container fetches when it starts")
}

/// `Kind namespace/name` (or `Kind name` for a cluster-scoped object).
pub fn describe(v: &Value) -> String {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default();
    match s("/metadata/namespace") {
        "" => format!("{} {}", s("/kind"), s("/metadata/name")),
        ns => format!("{} {ns}/{}", s("/kind"), s("/metadata/name")),
    }
}

/// [`describe`] of an object already written as canonical YAML (keys sorted, `kind` and
/// `metadata` at the top level, two spaces of indentation), read from its lines without parsing
/// a document of megabytes.
fn describe_yaml(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let unquote = |s: &str| s.trim().trim_matches('"').to_string();
    let (mut kind, mut name, mut ns, mut in_meta) = (String::new(), String::new(), None, false);
    for line in text.lines() {
        if let Some(k) = line.strip_prefix("kind: ") {
            kind = unquote(k);
        } else if !line.starts_with(' ') {
            in_meta = line == "metadata:";
        } else if in_meta {
            if let Some(n) = line.strip_prefix("  name: ") {
                name = unquote(n);
            } else if let Some(n) = line.strip_prefix("  namespace: ") {
                ns = Some(unquote(n));
            }
        }
    }
    match ns {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// The error for a template-rendered object whose name cannot be used (see [`name_problem`]).
pub fn bad_template_name(v: &Value, template: &str, span: &Span) -> Option<Diagnostic> {
    let problem = name_problem(v)?;
    Some(
        Diagnostic::at(
            Code::Template,
            span,
            format!("template `{template}` rendered {}: {problem}", describe(v).escape_debug()),
        )
        .with_help("names are lowercase letters, digits, `-` and `.`: derive them from `resource.name`, which is always valid"),
    )
}

/// Why a template-rendered object's name or namespace cannot be used, if it cannot: both become
/// output paths, so `..`, `/` or an upper-case letter (two files on a case-insensitive file
/// system) must never reach them, and the API server would refuse them anyway.
pub fn name_problem(v: &Value) -> Option<String> {
    let name = v.pointer("/metadata/name").and_then(Value::as_str)?;
    if !is_subdomain(name) {
        return Some(format!(
            "metadata.name `{}` is not a DNS-1123 subdomain",
            name.escape_debug()
        ));
    }
    match v.pointer("/metadata/namespace") {
        Some(Value::String(ns)) if !(is_subdomain(ns) && ns.len() <= 63 && !ns.contains('.')) => {
            Some(format!(
                "metadata.namespace `{}` is not a DNS-1123 label",
                ns.escape_debug()
            ))
        }
        _ => None,
    }
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`, at most 253 bytes.
fn is_subdomain(s: &str) -> bool {
    s.len() <= 253 && crate::load::score::is_dotted_labels(s)
}

/// The label maps the API server validates on every object (and the pod template's).
const LABEL_MAPS: [&str; 3] = [
    "/metadata/labels",
    "/spec/selector/matchLabels",
    "/spec/template/metadata/labels",
];

/// Why a label value is not one the API server accepts: at most 63 characters, empty or
/// alphanumeric at both ends with `-`, `_` and `.` between.
fn label_value_problem(v: &str) -> Option<&'static str> {
    let b = v.as_bytes();
    let edge = |c: &u8| c.is_ascii_alphanumeric();
    let well_formed = match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            edge(first)
                && edge(last)
                && b.iter().all(|c| edge(c) || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => true,
    };
    if v.len() > 63 {
        Some("is longer than 63 characters")
    } else if !well_formed {
        Some("is not alphanumeric at both ends with only `-`, `_` and `.` between")
    } else {
        None
    }
}

/// Every label of `v` the API server would refuse, as `(field, value, why)`: values whose
/// length or characters are out of bounds (keys are platc's or a template's own and checked by
/// `check`'s schema rule). Names of workloads and resources are at most 63 characters, but a label
/// that joins one with its environment (`<name>-<env>`) can pass the limit.
pub fn label_problems(v: &Value) -> Vec<(String, String, &'static str)> {
    let mut out = Vec::new();
    for map in LABEL_MAPS {
        let Some(Value::Object(labels)) = v.pointer(map) else {
            continue;
        };
        for (key, value) in labels {
            if let Some(why) = value.as_str().and_then(label_value_problem) {
                let field = format!("{}.{key}", map.trim_start_matches('/').replace('/', "."));
                out.push((field, value.as_str().unwrap_or_default().to_string(), why));
            }
        }
    }
    out
}

/// The error for a rendered object with a label the API server refuses (see [`label_problems`]).
pub fn bad_label(o: &Object, v: &Value, field: &str, value: &str, why: &str) -> Diagnostic {
    let name = o
        .provenance
        .node
        .split_once(':')
        .map(|(_, n)| n)
        .unwrap_or_default();
    let mut d = Diagnostic::error(
        Code::InvalidValue,
        Some(Span::file(o.provenance.source.clone())),
        format!(
            "{}'s `{field}` would be `{value}`, which {why}: the Kubernetes API server refuses it",
            describe(v)
        ),
    )
    .with_note(format!(
        "from {} ({})",
        o.provenance.source, o.provenance.via
    ));
    if value.len() > 63 && !name.is_empty() && value.contains(name) {
        let room = 63usize.saturating_sub(value.len() - name.len());
        d = d.with_help(format!(
            "the label joins the name `{name}` ({} characters) with its environment: shorten the name to at most {room} characters",
            name.len()
        ));
    }
    d
}

/// The field of a core `Secret` that carries values (`data`, `stringData`), if any is set.
fn secret_payload(v: &Value) -> Option<&'static str> {
    if v.get("kind").and_then(Value::as_str) != Some("Secret")
        || v.get("apiVersion").and_then(Value::as_str) != Some("v1")
    {
        return None;
    }
    ["data", "stringData"]
        .into_iter()
        .find(|f| match v.get(*f) {
            None | Some(Value::Null) => false,
            Some(Value::Object(m)) => !m.is_empty(),
            Some(_) => true,
        })
}

/// A template that renders a core Secret with a payload: whatever it puts there is in Git once
/// published, so it is an error, and the message names only the field (the values are the
/// secret).
pub fn template_secret(v: &Value, tname: &str, span: &Span) -> Option<Diagnostic> {
    let field = secret_payload(v)?;
    let d = Diagnostic::error(
        Code::Template,
        Some(span.clone()),
        format!("template `{tname}` rendered a Secret with `{field}`: its values would be written into Git"),
    )
    .with_help("let the operator or an `external_secret` on the provisioner create the Secret, and publish its keys as `secret_outputs`");
    Some(d)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_that_would_leave_or_collide_in_the_output_are_refused() {
        let named = |n: &str| json!({"kind": "ConfigMap", "metadata": {"name": n}});
        assert_eq!(name_problem(&named("db-rw.a1")), None);
        for bad in ["../x", "a/b", "Api", "", "a..b", "x\0y", "-a"] {
            assert!(name_problem(&named(bad)).is_some(), "{bad:?}");
        }
        let ns = json!({"metadata": {"name": "a", "namespace": "a.b"}});
        assert!(name_problem(&ns).is_some());
    }

    #[test]
    fn labels_the_api_server_refuses_are_found() {
        let ok = "a".repeat(63);
        let long = "a".repeat(64);
        let v = json!({"metadata": {"labels": {"a": ok, "b": "", "c": "x_y.z-1"}},
            "spec": {"selector": {"matchLabels": {"d": long}},
                     "template": {"metadata": {"labels": {"e": "-x", "f": "a b"}}}}});
        let found: Vec<(String, &str)> = label_problems(&v)
            .into_iter()
            .map(|(f, _, why)| (f, why))
            .collect();
        assert_eq!(
            found.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
            [
                "spec.selector.matchLabels.d",
                "spec.template.metadata.labels.e",
                "spec.template.metadata.labels.f"
            ]
        );
        assert_eq!(found[0].1, "is longer than 63 characters");
    }

    #[test]
    fn sizes_are_measured_on_the_yaml() {
        let small = json!({"kind": "ConfigMap", "metadata": {"name": "a"}});
        assert!(text_len(&small) < 100);
        assert_eq!(describe(&small), "ConfigMap a");
        let yaml = b"apiVersion: v1\nkind: Deployment\nmetadata:\n  annotations:\n    name: x\n  name: app\n  namespace: \"team-dev\"\nspec: {}\n";
        assert_eq!(describe_yaml(yaml), "Deployment team-dev/app");
    }
}
