//! A resource request's `params` against what its provisioner (or a built-in type) declares:
//! unknown, missing and mistyped params are errors at the request, listing what is accepted, so
//! a template never meets a value it was not written for.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::diag::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::model::{ParamSpec, ParamType, ResourceRequest};
use crate::yaml::{Node, NodeKind};

/// What a request is checked against.
pub struct Declared<'a> {
    /// How messages name it: "provisioner `endpoint`", "type `service`".
    pub owner: String,
    pub params: &'a BTreeMap<String, ParamSpec>,
    /// Defaults of optional params (shown in the list of accepted params).
    pub defaults: &'a Value,
}

impl Declared<'_> {
    /// "`host` (string, required), `port` (integer, default 443)".
    pub fn accepted(&self) -> String {
        if self.params.is_empty() {
            return "no params".into();
        }
        self.params
            .iter()
            .map(|(name, spec)| {
                let kind = format!("{:?}", spec.param_type).to_lowercase();
                match (spec.required, self.defaults.get(name)) {
                    (true, _) => format!("`{name}` ({kind}, required)"),
                    (false, Some(d)) => format!("`{name}` ({kind}, default {d})"),
                    (false, None) => format!("`{name}` ({kind}, optional)"),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn help(&self) -> String {
        format!("{} accepts {}", self.owner, self.accepted())
    }

    fn with_descriptions(&self, mut d: Diagnostic) -> Diagnostic {
        for (name, spec) in self.params {
            if let Some(desc) = &spec.description {
                d = d.with_note(format!("`{name}`: {desc}"));
            }
        }
        d
    }
}

/// Checks `value` (the request's params with placeholders filled; `req.params` is the node it
/// came from, for spans) and returns it with scalars read as their declared types.
pub fn check(
    decl: &Declared<'_>,
    req: &ResourceRequest,
    value: Value,
) -> Result<Value, Diagnostics> {
    let key = &req.key.value;
    let entries = param_entries(decl, req)?;
    let mut diags = Diagnostics::new();
    let mut out = serde_json::Map::new();
    for (k, node) in entries {
        let Some(spec) = decl.params.get(&k.value) else {
            diags.push(unknown_param(decl, key, k));
            continue;
        };
        let v = value.get(&k.value).cloned().unwrap_or(Value::Null);
        match typed(spec.param_type, v, node) {
            Ok(v) => {
                out.insert(k.value.clone(), v);
            }
            Err(found) => diags.push(
                Diagnostic::at(
                    Code::WrongType,
                    &node.span,
                    format!(
                        "param `{}` of resource `{key}` must be {}, found {found}",
                        k.value,
                        spec.param_type.article()
                    ),
                )
                .with_help(decl.help()),
            ),
        }
    }
    for (name, spec) in decl.params {
        if spec.required
            && !out.contains_key(name)
            && !entries.iter().any(|(k, _)| &k.value == name)
        {
            diags.push(missing_param(decl, req, name));
        }
    }
    diags.into_result(Value::Object(out))
}

/// The request's `params` as (key, value) entries: none when absent or null, an error when it is
/// not a mapping.
fn param_entries<'r>(
    decl: &Declared<'_>,
    req: &'r ResourceRequest,
) -> Result<&'r [(crate::diag::Spanned<String>, Node)], Diagnostics> {
    let Some(node) = &req.params else {
        return Ok(&[]);
    };
    match &node.kind {
        NodeKind::Map(m) => Ok(m),
        NodeKind::Null => Ok(&[]),
        _ => Err(Diagnostic::at(
            Code::WrongType,
            &node.span,
            format!(
                "`params` of resource `{}` must be a mapping, found {}",
                req.key.value,
                node.describe()
            ),
        )
        .with_help(decl.help())
        .into()),
    }
}

fn unknown_param(decl: &Declared<'_>, key: &str, k: &crate::diag::Spanned<String>) -> Diagnostic {
    let d = Diagnostic::at(
        Code::UnknownField,
        &k.span,
        format!(
            "unknown param `{}` for resource `{key}` ({})",
            k.value, decl.owner
        ),
    );
    let d = match did_you_mean(&k.value, decl.params.keys().map(String::as_str)) {
        Some(c) => d.with_help(format!("did you mean `{c}`? {}", decl.help())),
        None => d.with_help(decl.help()),
    };
    decl.with_descriptions(d)
}

fn missing_param(decl: &Declared<'_>, req: &ResourceRequest, name: &str) -> Diagnostic {
    let span = req
        .params
        .as_ref()
        .map(|p| p.span.clone())
        .unwrap_or_else(|| req.key.span.clone());
    decl.with_descriptions(
        Diagnostic::at(
            Code::MissingField,
            &span,
            format!(
                "resource `{}` needs the param `{name}` ({})",
                req.key.value, decl.owner
            ),
        )
        .with_help(format!("add `{name}` under `params`; {}", decl.help())),
    )
}

/// The value as the declared type, or a description of what was found instead. YAML authors
/// quote numbers and leave versions unquoted, so scalars are read by the declared type: `"8080"`
/// is an integer where one is expected and `16` is the text `16` where a string is.
fn typed(t: ParamType, v: Value, node: &Node) -> Result<Value, String> {
    let written = match &node.kind {
        NodeKind::Scalar { text, .. } => Some(text.as_str()),
        _ => None,
    };
    let text_of = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => written.map(str::to_string),
        _ => None,
    };
    let found = |v: &Value| match v {
        Value::Null => "null".to_string(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    };
    match t {
        ParamType::Any => Ok(v),
        ParamType::String => text_of(&v).map(Value::String).ok_or_else(|| found(&v)),
        ParamType::Integer => match &v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| found(&v)),
            _ => Err(found(&v)),
        },
        ParamType::Number => match &v {
            Value::Number(_) => Ok(v),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| found(&v)),
            _ => Err(found(&v)),
        },
        ParamType::Boolean => match &v {
            Value::Bool(_) => Ok(v),
            Value::String(s) if s == "true" => Ok(Value::Bool(true)),
            Value::String(s) if s == "false" => Ok(Value::Bool(false)),
            _ => Err(found(&v)),
        },
        ParamType::Array => match v {
            Value::Array(_) => Ok(v),
            _ => Err(found(&v)),
        },
        ParamType::Object => match v {
            Value::Object(_) => Ok(v),
            _ => Err(found(&v)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Span, Spanned};

    fn scalar(text: &str, plain: bool) -> Node {
        Node {
            kind: NodeKind::Scalar {
                text: text.into(),
                plain,
            },
            span: Span::new("w.yaml", 1, 1),
        }
    }

    /// An `endpoint` request `api` with these params.
    fn request(params: &Node) -> ResourceRequest {
        ResourceRequest {
            key: Spanned::new("api".to_string(), Span::new("w.yaml", 1, 3)),
            resource_type: Spanned::new("endpoint".to_string(), Span::new("w.yaml", 2, 11)),
            class: None,
            id: None,
            params: Some(params.clone()),
            annotations: BTreeMap::new(),
            metadata: None,
        }
    }

    #[test]
    fn scalars_are_read_by_the_declared_type() {
        let n = scalar("16", true);
        assert_eq!(
            typed(ParamType::String, n.to_json(), &n),
            Ok(Value::from("16"))
        );
        let n = scalar("1.10", true);
        assert_eq!(
            typed(ParamType::String, n.to_json(), &n),
            Ok(Value::from("1.10"))
        );
        let n = scalar("8080", false);
        assert_eq!(
            typed(ParamType::Integer, n.to_json(), &n),
            Ok(Value::from(8080))
        );
        let n = scalar("http", true);
        assert_eq!(
            typed(ParamType::Integer, n.to_json(), &n),
            Err("`http`".to_string())
        );
        let n = scalar("yes", true);
        assert!(typed(ParamType::Boolean, n.to_json(), &n).is_err());
    }

    #[test]
    fn params_that_are_not_a_mapping_are_refused_with_what_is_accepted() {
        let specs: BTreeMap<String, ParamSpec> =
            serde_json::from_value(serde_json::json!({"host": {"required": true}})).unwrap();
        let decl = Declared {
            owner: "provisioner `endpoint`".into(),
            params: &specs,
            defaults: &Value::Null,
        };
        let params = scalar("api.example.org", true);
        let req = request(&params);
        let ds = check(&decl, &req, params.to_json()).unwrap_err();
        assert_eq!(
            ds.0[0].message,
            "`params` of resource `api` must be a mapping, found a scalar"
        );
        assert_eq!(
            ds.0[0].help.as_deref(),
            Some("provisioner `endpoint` accepts `host` (string, required)")
        );
    }

    #[test]
    fn unknown_missing_and_mistyped_params_are_all_reported() {
        let specs: BTreeMap<String, ParamSpec> = serde_json::from_value(serde_json::json!({
            "host": {"type": "string", "required": true, "description": "where it is"},
            "port": {"type": "integer"},
        }))
        .unwrap();
        let defaults = serde_json::json!({"port": 443});
        let decl = Declared {
            owner: "provisioner `endpoint`".into(),
            params: &specs,
            defaults: &defaults,
        };
        let params = Node {
            kind: NodeKind::Map(vec![
                (
                    Spanned::new("hots".to_string(), Span::new("w.yaml", 3, 7)),
                    scalar("a.example", true),
                ),
                (
                    Spanned::new("port".to_string(), Span::new("w.yaml", 4, 7)),
                    scalar("https", true),
                ),
            ]),
            span: Span::new("w.yaml", 3, 7),
        };
        let req = request(&params);
        let ds = check(&decl, &req, params.to_json()).unwrap_err();
        let msgs: BTreeMap<&str, Option<&str>> =
            ds.0.iter()
                .map(|d| (d.message.as_str(), d.help.as_deref()))
                .collect();
        assert_eq!(
            msgs.keys().copied().collect::<Vec<_>>(),
            [
                "param `port` of resource `api` must be an integer, found `https`",
                "resource `api` needs the param `host` (provisioner `endpoint`)",
                "unknown param `hots` for resource `api` (provisioner `endpoint`)",
            ]
        );
        assert_eq!(
            msgs["unknown param `hots` for resource `api` (provisioner `endpoint`)"],
            Some(
                "did you mean `host`? provisioner `endpoint` accepts `host` (string, required), `port` (integer, default 443)"
            )
        );
    }
}
