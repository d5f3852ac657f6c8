//! Offline schema validation of the rendered objects (`platc check`, rule `schema`).
//!
//! Three sources of schemas, looked up by `<apiVersion>/<kind>` (`apps/v1/Deployment`,
//! `v1/Service`, `monitoring.coreos.com/v1/ServiceMonitor`):
//! 1. the platform's own `schemas` field (JSON Schemas, usually `import "schemas/x.json"`), which
//!    wins over the built-in ones so a platform can pin the exact version its cluster runs;
//! 2. core Kubernetes kinds, from the Kubernetes OpenAPI schema (`k8s-openapi`), made strict:
//!    an unknown field is an error, as `kubectl apply --validate=strict` would say;
//! 3. Argo CD's `Application`, `ApplicationSet` and `AppProject`, from our own schemas.
//!
//! Objects of any other kind are counted as unchecked, which is not an error. Validators are
//! compiled lazily, once per kind per [`Validators`], never per object. The heavy parts are behind
//! the default cargo feature `schema`; without it every kind is unchecked.

#[cfg(feature = "schema")]
mod argocd;
#[cfg(feature = "schema")]
mod kubernetes;
#[cfg(feature = "schema")]
pub mod problem;
pub mod strict;

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use crate::node_origins::NodeOrigins;
use crate::pipeline::{Compilation, EnvResult};
use crate::render::{Object, Provenance};

/// The lookup key of a kind: `<apiVersion>/<kind>`.
pub fn kind_key(api_version: &str, kind: &str) -> String {
    format!("{api_version}/{kind}")
}

/// Which object failed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    /// `None` for cluster-scoped objects and objects without one.
    pub namespace: Option<String>,
    pub name: String,
    /// The rendered file, relative to the output root.
    pub file: String,
}

impl fmt::Display for ObjectRef {
    /// `Deployment/shop-dev/cart`, `Namespace/shop-dev` when cluster-scoped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{ns}/{}", self.kind, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// Where the schema an object was checked against came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SchemaSource {
    Kubernetes,
    ArgoCd,
    /// The platform's `schemas` entry of this key.
    Platform(String),
}

impl fmt::Display for SchemaSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaSource::Kubernetes => f.write_str("the Kubernetes 1.33 OpenAPI schema (strict)"),
            SchemaSource::ArgoCd => f.write_str("platc's Argo CD 3.x schema"),
            SchemaSource::Platform(k) => write!(f, "the platform's schema `schemas.\"{k}\"`"),
        }
    }
}

/// One field of one object that does not match its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub object: ObjectRef,
    /// `None` for objects that do not belong to one environment (AppProjects, the catalog).
    pub environment: Option<String>,
    /// The bad field: `spec.replcas`, `spec.ports[0].port`; empty for the object itself.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// What the schema expects there.
    pub expected: String,
    /// A known field name close to an unknown one.
    pub suggestion: Option<String>,
    pub schema: SchemaSource,
    /// Where the object came from (`via` names the template and provisioner).
    pub provenance: Provenance,
    /// The source line that produced the field when known: the line of a platform template that
    /// writes it, else the workload's resource request or the workload's name.
    pub span: Option<Span>,
    /// The workload the object belongs to (the first consumer of a shared resource); `None` for
    /// platform-level objects.
    pub workload: Option<String>,
}

/// The result of checking a compilation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub failures: Vec<Failure>,
    /// Objects checked against a schema.
    pub checked: usize,
    /// Kinds without a schema (`<apiVersion>/<kind>`) and how many objects of each were skipped.
    pub unchecked: BTreeMap<String, usize>,
}

/// Whether this build can validate (the `schema` feature).
pub const ENABLED: bool = cfg!(feature = "schema");

#[cfg(feature = "schema")]
struct Compiled {
    validator: jsonschema::Validator,
    /// Kept to name the known fields of an object with an unknown one.
    schema: Value,
    source: SchemaSource,
}

/// Schemas by kind, compiled on first use.
pub struct Validators {
    /// The platform's raw schemas by key.
    #[cfg_attr(not(feature = "schema"), allow(dead_code))]
    platform: BTreeMap<String, Value>,
    #[cfg(feature = "schema")]
    cache: BTreeMap<String, Option<Compiled>>,
    #[cfg(feature = "schema")]
    object_meta: Option<Value>,
}

impl Validators {
    /// Checks the platform's schemas: every key is `<apiVersion>/<Kind>` and every value a valid
    /// JSON Schema (compiled here, so a broken one is reported before any object).
    pub fn new(platform: &BTreeMap<String, Value>) -> Result<Validators, Diagnostics> {
        let mut diags = Diagnostics::new();
        let span = Span::file("platform/main.ncl");
        for (key, schema) in platform {
            let kind = key.rsplit('/').next().unwrap_or_default();
            if !key.contains('/') || !kind.starts_with(|c: char| c.is_ascii_uppercase()) {
                diags.push(
                    Diagnostic::at(
                        Code::InvalidValue,
                        &span,
                        format!("schema key `{key}` does not name a kind as `<apiVersion>/<Kind>`"),
                    )
                    .with_help("write e.g. `\"monitoring.coreos.com/v1/ServiceMonitor\"` or `\"apps/v1/Deployment\"`"),
                );
                continue;
            }
            #[cfg(feature = "schema")]
            if let Err(e) = compile(schema) {
                diags.push(
                    Diagnostic::at(
                        Code::InvalidValue,
                        &span,
                        format!("the platform's schema for `{key}` is not a valid JSON Schema: {e}"),
                    )
                    .with_help("fix the schema file; only local `$ref`s (`#/...`) resolve, platc reads nothing from the network"),
                );
            }
            #[cfg(not(feature = "schema"))]
            let _ = schema;
        }
        diags.into_result(Validators {
            platform: platform.clone(),
            #[cfg(feature = "schema")]
            cache: BTreeMap::new(),
            #[cfg(feature = "schema")]
            object_meta: None,
        })
    }

    /// Whether a kind has a schema (from the platform or built in).
    pub fn knows(&self, api_version: &str, kind: &str) -> bool {
        #[cfg(feature = "schema")]
        {
            self.platform.contains_key(&kind_key(api_version, kind))
                || kubernetes::KINDS.contains(&(api_version, kind))
                || (api_version == argocd::API_VERSION && argocd::KINDS.contains(&kind))
        }
        #[cfg(not(feature = "schema"))]
        {
            let _ = (api_version, kind);
            false
        }
    }

    /// The problems of one manifest, `None` when its kind has no schema.
    #[cfg(feature = "schema")]
    fn problems(
        &mut self,
        api_version: &str,
        kind: &str,
        value: &Value,
    ) -> Option<(Vec<problem::Problem>, SchemaSource)> {
        let key = kind_key(api_version, kind);
        if !self.cache.contains_key(&key) {
            let built = self.build(api_version, kind, &key);
            self.cache.insert(key.clone(), built);
        }
        let c = self.cache.get(&key)?.as_ref()?;
        let mut out: Vec<problem::Problem> = c
            .validator
            .iter_errors(value)
            .flat_map(|e| problem::problems(&e, &c.schema))
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path).then(a.message.cmp(&b.message)));
        out.dedup();
        Some((out, c.source.clone()))
    }

    #[cfg(feature = "schema")]
    fn build(&mut self, api_version: &str, kind: &str, key: &str) -> Option<Compiled> {
        let (schema, source) = if let Some(s) = self.platform.get(key) {
            (s.clone(), SchemaSource::Platform(key.to_string()))
        } else if let Some(s) = kubernetes::schema(api_version, kind) {
            (s, SchemaSource::Kubernetes)
        } else if api_version == argocd::API_VERSION {
            let meta = self.object_meta.get_or_insert_with(kubernetes::object_meta);
            (argocd::schema(kind, meta)?, SchemaSource::ArgoCd)
        } else {
            return None;
        };
        // Built-in schemas are tested to compile; a platform schema was compiled in `new`.
        let validator = compile(&schema).ok()?;
        Some(Compiled {
            validator,
            schema,
            source,
        })
    }

    /// Checks one object (`env`: its environment, for the failure).
    #[cfg(feature = "schema")]
    pub fn check_object(&mut self, o: &Object, env: Option<&str>) -> Option<Vec<Failure>> {
        let value = o.value()?;
        let api_version = value.get("apiVersion").and_then(Value::as_str)?;
        let kind = value.get("kind").and_then(Value::as_str)?;
        let (problems, source) = self.problems(api_version, kind, value)?;
        let object = object_ref(o, value, api_version, kind);
        Some(
            problems
                .into_iter()
                .map(|p| Failure {
                    object: object.clone(),
                    environment: env.map(str::to_string),
                    field: problem::field_path(value, &p.path),
                    message: p.message,
                    expected: p.expected,
                    suggestion: p.suggestion,
                    schema: source.clone(),
                    provenance: o.provenance.clone(),
                    span: None,
                    workload: None,
                })
                .collect(),
        )
    }
}

#[cfg(feature = "schema")]
fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .build(schema)
        .map_err(|e| e.to_string())
}

#[cfg(feature = "schema")]
fn object_ref(o: &Object, value: &Value, api_version: &str, kind: &str) -> ObjectRef {
    let meta = |k: &str| {
        value
            .get("metadata")
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    ObjectRef {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        namespace: meta("namespace"),
        name: meta("name").unwrap_or_default(),
        file: o.path.clone(),
    }
}

/// Validates every rendered manifest of a compilation against the platform's schemas and the
/// built-in ones; failures carry the span of their source where it can be found.
pub fn check(c: &Compilation) -> Result<Outcome, Diagnostics> {
    #[cfg_attr(not(feature = "schema"), allow(unused_mut))]
    let mut validators = Validators::new(&c.platform.schemas)?;
    let mut out = Outcome::default();
    #[cfg(feature = "schema")]
    let recorded = NodeOrigins::new(c);
    let per_env = c
        .envs
        .iter()
        .flat_map(|e| e.objects.iter().map(move |o| (Some(e), o)));
    let global = c.global.iter().map(|o| (None, o));
    for (env, o) in per_env.chain(global) {
        let Some(value) = o.value() else {
            continue;
        };
        let api_version = value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
        if !validators.knows(api_version, kind) {
            *out.unchecked
                .entry(kind_key(api_version, kind))
                .or_default() += 1;
            continue;
        }
        out.checked += 1;
        #[cfg(feature = "schema")]
        {
            let env_name = env.map(|e| e.resolution.env.as_str());
            for mut f in validators.check_object(o, env_name).unwrap_or_default() {
                let (workload, span) = locate(c, &recorded, env, o, &f);
                f.workload = workload;
                f.span = span;
                out.failures.push(f);
            }
        }
        #[cfg(not(feature = "schema"))]
        let _ = env;
    }
    out.failures.sort_by(|a, b| {
        (&a.object, &a.environment, &a.field, &a.message).cmp(&(
            &b.object,
            &b.environment,
            &b.field,
            &b.message,
        ))
    });
    Ok(out)
}

/// The workload an object belongs to and the best source span of a failure: the line of a
/// platform template writing the field, else the resource request that made the object, else
/// the workload's name.
#[cfg_attr(not(feature = "schema"), allow(dead_code))]
fn locate(
    c: &Compilation,
    recorded: &NodeOrigins<'_>,
    env: Option<&EnvResult>,
    o: &Object,
    f: &Failure,
) -> (Option<String>, Option<Span>) {
    let node = o.provenance.node.as_str();
    let name_span = |w: &str| {
        c.workloads
            .iter()
            .find(|x| x.name.value == w)
            .map(|x| x.name.span.clone())
    };
    if let Some(w) = node.strip_prefix("workload:") {
        return (Some(w.to_string()), name_span(w));
    }
    if let Some(key) = node.strip_prefix("resource:") {
        let inst = env.and_then(|e| e.resolution.instance(key));
        let workload = inst.and_then(|i| i.consumers.first().cloned());
        let span = env
            .and_then(|e| recorded.template_line(e, o, &f.field))
            .or_else(|| inst.map(|i| i.span.clone()));
        return (workload, span);
    }
    (None, None)
}

#[cfg(all(test, feature = "schema"))]
mod tests;
