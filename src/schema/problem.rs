//! One `jsonschema` error → what a person needs: the path of the bad field (for an unknown field,
//! the field itself rather than the object holding it), what is wrong, what was expected, and
//! the closest known field name when the field is unknown.

use jsonschema::error::{TypeKind, ValidationError, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use serde_json::Value;

use super::strict::QUANTITY_PATTERN;
use crate::diag::did_you_mean;

/// One path segment of an instance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: Vec<Seg>,
    /// What is wrong.
    pub message: String,
    /// What the schema expects there.
    pub expected: String,
    /// A known field name close to an unknown one.
    pub suggestion: Option<String>,
}

/// The bad field's path as `platc diff` writes and `platc explain` reads it
/// (`spec.ports[name=http].port`, `metadata.labels["app.kubernetes.io/name"]`; a list item
/// without a `name` by index); empty for the object itself.
pub fn field_path(value: &Value, path: &[Seg]) -> String {
    use crate::fieldpath::Step;
    crate::fieldpath::of_steps(
        value,
        path.iter().map(|seg| match seg {
            Seg::Key(k) => Step::Key(k),
            Seg::Index(i) => Step::Index(*i),
        }),
    )
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A short rendering of a value for messages.
fn show(v: &Value) -> String {
    let s = match v {
        Value::Object(_) => return "an object".into(),
        Value::Array(_) => return "an array".into(),
        other => other.to_string(),
    };
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn a(t: &str) -> String {
    match t {
        "integer" => "an integer".into(),
        "object" => "an object".into(),
        "array" => "an array".into(),
        other => format!("a {other}"),
    }
}

pub fn problems(err: &ValidationError<'_>, schema: &Value) -> Vec<Problem> {
    let path: Vec<Seg> = err
        .instance_path()
        .segments()
        .map(|s| match s {
            LocationSegment::Property(p) => Seg::Key(p.into_owned()),
            LocationSegment::Index(i) => Seg::Index(i),
        })
        .collect();
    match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            unknown_fields(schema, &path, unexpected)
        }
        _ => {
            let (message, expected) = mismatch(err);
            vec![Problem {
                path,
                message,
                expected,
                suggestion: None,
            }]
        }
    }
}

/// One problem per unknown field, at the field, with the closest known name.
fn unknown_fields(schema: &Value, path: &[Seg], unexpected: &[String]) -> Vec<Problem> {
    let known = known_fields(schema, path);
    let expected = if known.is_empty() {
        "no other fields".to_string()
    } else {
        format!("one of {}", backticked(&known))
    };
    unexpected
        .iter()
        .map(|field| {
            let mut p = path.to_vec();
            p.push(Seg::Key(field.clone()));
            Problem {
                path: p,
                message: format!("unknown field `{field}`"),
                expected: expected.clone(),
                suggestion: did_you_mean(field, known.iter().map(String::as_str))
                    .map(str::to_string),
            }
        })
        .collect()
}

/// What is wrong with the value and what was expected, for every other kind of error.
fn mismatch(err: &ValidationError<'_>) -> (String, String) {
    let instance: &Value = err.instance();
    match err.kind() {
        ValidationErrorKind::Type { kind } => {
            let want: Vec<String> = match kind {
                TypeKind::Single(t) => vec![t.to_string()],
                TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
            };
            let want: Vec<String> = want.iter().map(|t| a(t)).collect();
            // `show` already names objects and arrays by their type ("an object").
            let what = match instance {
                Value::Object(_) | Value::Array(_) => show(instance),
                _ => format!("{} {}", a(type_name(instance)), show(instance)),
            };
            (format!("{what} is not allowed here"), want.join(" or "))
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            (
                format!("required field `{name}` is missing"),
                format!("a field `{name}`"),
            )
        }
        ValidationErrorKind::Enum { options } => (
            format!("{} is not an allowed value", show(instance)),
            match options.as_array() {
                Some(o) => format!(
                    "one of {}",
                    o.iter().map(show).collect::<Vec<_>>().join(", ")
                ),
                None => show(options),
            },
        ),
        ValidationErrorKind::Constant { expected_value } => (
            format!("{} is not the expected value", show(instance)),
            show(expected_value),
        ),
        ValidationErrorKind::Pattern { pattern } if pattern == QUANTITY_PATTERN => (
            format!("{} is not a Kubernetes quantity", show(instance)),
            "a quantity such as `250m`, `1.5`, `512Mi` or `2Gi`".into(),
        ),
        ValidationErrorKind::Pattern { pattern } => (
            format!("{} does not match the pattern", show(instance)),
            format!("a string matching `{pattern}`"),
        ),
        _ => (err.to_string(), "what the schema describes".into()),
    }
}

fn backticked(names: &[String]) -> String {
    const MAX: usize = 12;
    let mut s: Vec<String> = names.iter().take(MAX).map(|n| format!("`{n}`")).collect();
    if names.len() > MAX {
        s.push(format!("... ({} in all)", names.len()));
    }
    s.join(", ")
}

/// The field names the schema allows at `path` (sorted), following `$ref`s and `allOf`.
pub fn known_fields(root: &Value, path: &[Seg]) -> Vec<String> {
    let mut nodes = vec![root];
    for seg in path {
        let mut next = Vec::new();
        for n in expand(root, nodes) {
            let child = match seg {
                Seg::Key(k) => n
                    .get("properties")
                    .and_then(|p| p.get(k))
                    .or_else(|| n.get("additionalProperties").filter(|a| a.is_object())),
                Seg::Index(_) => n.get("items"),
            };
            next.extend(child);
        }
        if next.is_empty() {
            return Vec::new();
        }
        nodes = next;
    }
    let mut names: Vec<String> = expand(root, nodes)
        .into_iter()
        .filter_map(|n| n.get("properties").and_then(Value::as_object))
        .flat_map(|p| p.keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Resolves local `$ref`s and flattens `allOf`/`anyOf`/`oneOf` (bounded against cycles).
fn expand<'a>(root: &'a Value, nodes: Vec<&'a Value>) -> Vec<&'a Value> {
    let mut out = Vec::new();
    let mut todo = nodes;
    let mut budget = 64;
    while let Some(n) = todo.pop() {
        budget -= 1;
        if budget == 0 {
            break;
        }
        if let Some(r) = n.get("$ref").and_then(Value::as_str)
            && let Some(target) = r.strip_prefix('#').and_then(|p| root.pointer(p))
        {
            todo.push(target);
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            if let Some(items) = n.get(key).and_then(Value::as_array) {
                todo.extend(items.iter());
            }
        }
        out.push(n);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_paths_quote_keys_and_name_items() {
        let p = vec![
            Seg::Key("metadata".into()),
            Seg::Key("labels".into()),
            Seg::Key("app.kubernetes.io/name".into()),
        ];
        let v = json!({"spec": {"ports": [{"name": "http", "port": 80}]}});
        assert_eq!(
            field_path(&v, &p),
            r#"metadata.labels["app.kubernetes.io/name"]"#
        );
        let p = vec![
            Seg::Key("spec".into()),
            Seg::Key("ports".into()),
            Seg::Index(0),
            Seg::Key("port".into()),
        ];
        assert_eq!(field_path(&v, &p), "spec.ports[name=http].port");
        assert_eq!(field_path(&json!({}), &p), "spec.ports[0].port");
    }

    #[test]
    fn known_fields_follow_refs_items_and_maps() {
        let root = json!({
            "properties": {"spec": {"$ref": "#/$defs/Spec"}},
            "$defs": {
                "Spec": {"properties": {"ports": {"items": {"$ref": "#/$defs/Port"}}, "replicas": {}}},
                "Port": {"properties": {"port": {}, "name": {}}},
            },
        });
        let spec = [Seg::Key("spec".into())];
        assert_eq!(known_fields(&root, &spec), vec!["ports", "replicas"]);
        let port = [
            Seg::Key("spec".into()),
            Seg::Key("ports".into()),
            Seg::Index(3),
        ];
        assert_eq!(known_fields(&root, &port), vec!["name", "port"]);
        assert!(known_fields(&root, &[Seg::Key("nope".into())]).is_empty());
    }
}
