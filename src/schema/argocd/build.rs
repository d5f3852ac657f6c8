//! Building blocks of the Argo CD schemas: strict objects (no unknown field), typed leaves,
//! references into `$defs`.

use serde_json::{Map, Value, json};

pub(super) fn string() -> Value {
    json!({"type": "string"})
}
pub(super) fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}
pub(super) fn boolean() -> Value {
    json!({"type": "boolean"})
}
pub(super) fn integer() -> Value {
    json!({"type": "integer"})
}
pub(super) fn string_map() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}})
}
/// Data Argo CD keeps as it is.
pub(super) fn open() -> Value {
    json!({"type": "object"})
}
pub(super) fn array_of(items: Value) -> Value {
    json!({"type": "array", "items": items})
}
pub(super) fn reference(def: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{def}") })
}

/// A strict object: `props` are its fields, `required` the ones it must have.
pub(super) fn object(props: &[(&str, Value)], required: &[&str]) -> Value {
    let properties: Map<String, Value> = props
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let mut o = json!({"type": "object", "properties": properties, "additionalProperties": false});
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}

pub(super) fn name_value(extra: &[(&str, Value)]) -> Value {
    let mut props = vec![("name", string()), ("value", string())];
    props.extend(extra.iter().cloned());
    object(&props, &["name", "value"])
}
