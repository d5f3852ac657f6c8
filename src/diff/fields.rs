//! Field-by-field comparison of two values, naming each difference by its field path.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::FieldChange;

/// Appends the paths at which `a` and `b` differ.
pub fn field_diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    let mut changes = Vec::new();
    field_changes(Some(a), Some(b), path, &mut changes);
    out.extend(changes.into_iter().map(|c| c.path));
}

/// Appends every field at which `a` and `b` differ, with both values. Maps are compared key by
/// key, lists of objects that all carry a distinct `name` are matched by name, other lists by
/// position; a field present on one side only is reported whole.
pub fn field_changes(a: Option<&Value>, b: Option<&Value>, path: &str, out: &mut Vec<FieldChange>) {
    let leaf = |out: &mut Vec<FieldChange>| {
        out.push(FieldChange {
            path: if path.is_empty() {
                ".".into()
            } else {
                path.into()
            },
            old: a.cloned(),
            new: b.cloned(),
        })
    };
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                field_changes(x.get(k), y.get(k), &crate::fieldpath::key(path, k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            if let (Some(nx), Some(ny)) = (by_name(x), by_name(y)) {
                let names: BTreeSet<&str> = nx.keys().chain(ny.keys()).copied().collect();
                for n in names {
                    let p = crate::fieldpath::item(path, n);
                    field_changes(nx.get(n).copied(), ny.get(n).copied(), &p, out);
                }
            } else {
                for i in 0..x.len().max(y.len()) {
                    let p = crate::fieldpath::index(path, i);
                    field_changes(x.get(i), y.get(i), &p, out);
                }
            }
        }
        _ if a != b => leaf(out),
        _ => {}
    }
}

/// Items by their `name` when every item is an object with a distinct string `name`.
fn by_name(items: &[Value]) -> Option<BTreeMap<&str, &Value>> {
    if items.is_empty() {
        return None;
    }
    let mut m = BTreeMap::new();
    for it in items {
        let n = it.get("name")?.as_str()?;
        if m.insert(n, it).is_some() {
            return None;
        }
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_with_dots_are_quoted_in_paths() {
        let mut out = Vec::new();
        field_diff(
            &json!({"metadata": {"labels": {"a.b/c": "1"}}}),
            &json!({"metadata": {"labels": {"a.b/c": "2"}}}),
            "",
            &mut out,
        );
        assert_eq!(out, vec![r#"metadata.labels["a.b/c"]"#]);
    }
}
