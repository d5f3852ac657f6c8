//! Turns the schemas `schemars` generates from `k8s-openapi` into strict ones: the generated
//! schemas accept unknown fields (like the API server's non-strict decoding) and leave
//! int-or-string and quantity values untyped, so neither a misspelled field nor `port: "80"` in
//! the wrong place would be caught.

use serde_json::{Map, Value, json};

/// A Kubernetes quantity as a string (`500m`, `1Gi`, `1e3`, `0.5`); numbers are accepted as they
/// are. The grammar of `k8s.io/apimachinery/pkg/api/resource`.
pub const QUANTITY_PATTERN: &str =
    r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$";

const QUANTITY_DEF: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// Rewrites a schema in place:
/// - every object schema that lists `properties` gets `additionalProperties: false` unless it
///   says otherwise or keeps unknown fields (`x-kubernetes-preserve-unknown-fields`); maps such as
///   labels, annotations or ConfigMap `data` are `additionalProperties: {schema}` without
///   `properties` and stay maps;
/// - `x-kubernetes-int-or-string` becomes `integer` or `string`, except the Quantity definition,
///   which becomes `number` or a string matching [`QUANTITY_PATTERN`];
/// - descriptions and titles go (they are large and validation never reads them).
pub fn make_strict(schema: &mut Value) {
    if let Some(defs) = schema.get_mut("$defs").and_then(Value::as_object_mut)
        && let Some(q) = defs.get_mut(QUANTITY_DEF)
    {
        *q = json!({"type": ["number", "string"], "pattern": QUANTITY_PATTERN});
    }
    walk(schema);
}

fn walk(v: &mut Value) {
    match v {
        Value::Object(map) => {
            strict_object(map);
            for (k, child) in map.iter_mut() {
                match k.as_str() {
                    // Maps from names to schemas: the names are field names (a field may well be
                    // called `description`), only the values are schemas.
                    "properties" | "$defs" | "definitions" | "patternProperties"
                    | "dependentSchemas" => {
                        if let Some(m) = child.as_object_mut() {
                            m.values_mut().for_each(walk);
                        }
                    }
                    // Instance values and name lists, not schemas.
                    "enum" | "const" | "default" | "examples" | "required" => {}
                    _ => walk(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(walk),
        _ => {}
    }
}

fn strict_object(map: &mut Map<String, Value>) {
    map.remove("description");
    map.remove("title");
    if map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
        && !map.contains_key("type")
    {
        map.insert("type".into(), json!(["integer", "string"]));
    }
    let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let has_props = map.get("properties").is_some_and(Value::is_object);
    if has_props && !preserve && !map.contains_key("additionalProperties") {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closes_structs_keeps_maps_and_types_int_or_string() {
        let mut s = json!({
            "type": "object",
            "description": "x",
            "properties": {
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "port": {"x-kubernetes-int-or-string": true},
                "values": {"type": "object", "properties": {"a": {}}, "x-kubernetes-preserve-unknown-fields": true},
                "mode": {"enum": [{"properties": {"z": 1}}]},
                "description": {"type": "string", "title": "t"},
            },
            "$defs": {QUANTITY_DEF: {"x-kubernetes-int-or-string": true}},
        });
        make_strict(&mut s);
        assert_eq!(s["additionalProperties"], json!(false));
        assert!(s.get("description").is_none());
        assert_eq!(s["properties"]["description"], json!({"type": "string"}));
        assert!(s["properties"]["labels"]["additionalProperties"].is_object());
        assert_eq!(
            s["properties"]["port"]["type"],
            json!(["integer", "string"])
        );
        assert!(
            s["properties"]["values"]
                .get("additionalProperties")
                .is_none()
        );
        assert!(
            s["properties"]["mode"]["enum"][0]
                .get("additionalProperties")
                .is_none()
        );
        assert_eq!(
            s["$defs"][QUANTITY_DEF]["type"],
            json!(["number", "string"])
        );
    }
}
