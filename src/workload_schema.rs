//! `platc schema`: the JSON Schema (draft 2020-12) of this platform's workload files, for editors
//! (the YAML language server validates and completes with it) and CI linters. It is the Score
//! project's v1b1 schema (`stdlib/score/score-v1b1.json`, vendored unchanged) narrowed and
//! annotated by the platform: `x-` extensions allowed where platc keeps them, platc's workload
//! annotations described (teams and profiles as enums), resource types limited to those the
//! platform provisions, and each type's `params` to what its provisioners declare.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::model::{ANN_PROFILE, ANN_TEAM, ParamSpec, ParamType, Platform};
use crate::render::monitoring::{ANN_METRICS_PATH, ANN_METRICS_PORT};

const SCORE_V1B1: &str = include_str!("../stdlib/score/score-v1b1.json");

/// A `${...}` placeholder, which platc fills before it checks a param's type.
const PLACEHOLDER: &str = r"\$\{[^}]+\}";

pub fn workload_schema(platform: &Platform) -> Value {
    // The vendored schema is a constant of this binary; a test parses it.
    let mut schema: Value = serde_json::from_str(SCORE_V1B1).unwrap_or_else(|_| json!({}));
    schema["$id"] = json!(format!("urn:platc:{}:workload-schema", platform.name));
    schema["title"] = json!(format!(
        "Score workload (v1b1) for the `{}` platform",
        platform.name
    ));
    allow_extensions(&mut schema);
    if let Some(defs) = schema.pointer_mut("/$defs/container") {
        allow_extensions(defs);
    }
    if let Some(annotations) = schema.pointer_mut("/properties/metadata/properties/annotations") {
        describe_annotations(annotations, platform);
    }
    if let Some(resource) = schema.pointer_mut("/$defs/resource") {
        narrow_resources(resource, platform);
    }
    schema
}

/// platc keeps `x-` fields as extensions where Score itself is closed.
fn allow_extensions(object_schema: &mut Value) {
    object_schema["patternProperties"] = json!({ "^x-": {} });
}

fn describe_annotations(annotations: &mut Value, platform: &Platform) {
    let teams: Vec<&String> = platform.teams.keys().collect();
    let profiles: Vec<&String> = platform.profiles.keys().collect();
    annotations["properties"] = json!({
        ANN_TEAM: {
            "description": "The team that owns this workload (otherwise: the team whose `paths` claim the file, else the platform's default team).",
            "enum": teams,
        },
        ANN_PROFILE: {
            "description": "The golden path this workload follows (otherwise: the profile whose `profile_paths` claim the file, else the platform's default profile).",
            "enum": profiles,
        },
        "platc.dev/schedule": {
            "description": "Cron schedule of a `cronjob` profile workload, e.g. \"0 3 * * *\".",
            "type": "string",
        },
        ANN_METRICS_PORT: {
            "description": "The service port that serves metrics (overrides the profile).",
            "type": "string",
        },
        ANN_METRICS_PATH: {
            "description": "The HTTP path of the metrics (overrides the profile).",
            "type": "string",
        },
    });
    let policies: Vec<String> = platform
        .policies
        .iter()
        .map(|p| regex_escape(&p.id))
        .chain(crate::policy::BUILTINS.iter().map(|b| regex_escape(b.id)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    annotations["patternProperties"] = json!({
        format!("^platc\\.dev/waive\\.({})$", policies.join("|")): {
            "description": "Waives a policy for this workload; the value says why (it appears in `platc check` reports).",
            "type": "string",
            "minLength": 1,
        },
    });
}

/// Resource types: the ones some provisioner serves and the built-in `service`/`service-port`;
/// each type's params: what its provisioners declare.
fn narrow_resources(resource: &mut Value, platform: &Platform) {
    let mut by_type: BTreeMap<&str, Vec<&BTreeMap<String, ParamSpec>>> = BTreeMap::new();
    for p in &platform.provisioners {
        by_type.entry(&p.resource_type).or_default().push(&p.params);
    }
    for t in [
        crate::resolve::SERVICE_TYPE,
        crate::resolve::SERVICE_PORT_TYPE,
    ] {
        if let Some(params) = crate::resolve::builtin_params(t) {
            by_type.entry(t).or_default().push(params);
        }
    }
    let types: Vec<&str> = by_type.keys().copied().collect();
    resource["properties"]["type"]["enum"] = json!(types);
    let rules: Vec<Value> = by_type
        .iter()
        .map(|(t, declared)| {
            json!({
                "if": { "properties": { "type": { "const": t } }, "required": ["type"] },
                "then": { "properties": { "params": params_schema(declared) } },
            })
        })
        .collect();
    resource["allOf"] = Value::Array(rules);
}

/// What every provisioner of a type accepts: each param any of them declares (typed), required
/// only when all of them require it; nothing undeclared.
fn params_schema(declared: &[&BTreeMap<String, ParamSpec>]) -> Value {
    let mut properties = Map::new();
    let mut required: Option<BTreeSet<&str>> = None;
    for params in declared {
        for (name, spec) in params.iter() {
            properties
                .entry(name.clone())
                .or_insert_with(|| param_schema(spec));
        }
        let here: BTreeSet<&str> = params
            .iter()
            .filter(|(_, s)| s.required)
            .map(|(n, _)| n.as_str())
            .collect();
        required = Some(match required {
            None => here,
            Some(r) => r.intersection(&here).copied().collect(),
        });
    }
    let mut schema = json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    });
    if let Some(r) = required.filter(|r| !r.is_empty()) {
        schema["required"] = json!(r);
    }
    schema
}

fn param_schema(spec: &ParamSpec) -> Value {
    let typed = match spec.param_type {
        ParamType::String => json!({ "type": "string" }),
        ParamType::Integer => json!({ "type": "integer" }),
        ParamType::Number => json!({ "type": "number" }),
        ParamType::Boolean => json!({ "type": "boolean" }),
        ParamType::Array => json!({ "type": "array" }),
        ParamType::Object => json!({ "type": "object" }),
        ParamType::Any => json!({}),
    };
    let mut schema = if matches!(spec.param_type, ParamType::String | ParamType::Any) {
        typed
    } else {
        // A placeholder (`${resources.db.port}`) is filled before the type is checked.
        json!({ "anyOf": [typed, { "type": "string", "pattern": PLACEHOLDER }] })
    };
    if let Some(d) = &spec.description {
        schema["description"] = json!(d);
    }
    schema
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_score_schema_parses() {
        let v: Value = serde_json::from_str(SCORE_V1B1).expect("score schema");
        assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    }

    #[test]
    fn the_reference_platform_narrows_types_and_params() {
        let p = crate::load::platform::load_embedded_platform().expect("reference platform");
        let s = workload_schema(&p);
        let types = s.pointer("/$defs/resource/properties/type/enum").unwrap();
        for t in ["postgres", "redis", "route", "service", "service-port"] {
            assert!(types.as_array().unwrap().contains(&json!(t)), "{t}");
        }
        let teams = s
            .pointer("/properties/metadata/properties/annotations/properties/platc.dev~1team/enum")
            .unwrap();
        assert!(teams.as_array().unwrap().contains(&json!("payments")));
        let route = s
            .pointer("/$defs/resource/allOf")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["if"]["properties"]["type"]["const"] == "route")
            .unwrap();
        let params = &route["then"]["properties"]["params"];
        assert_eq!(params["additionalProperties"], false);
        assert!(params["properties"]["host"].is_object(), "{params}");
    }
}
