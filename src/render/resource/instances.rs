//! A provisioned resource's objects: the ExternalSecret that brings its secret outputs into a
//! namespace, and the manifests its provisioner's templates render (checked against
//! `render/limits.rs`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::instance_dir;
use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use crate::graph::{resource_id, workload_id};
use crate::model::Plane;
use crate::render::limits;
use crate::render::origins::{
    Labelled, Origin, Recorder, platform, profile_layers, provisioner_path, record_labels,
};
use crate::render::{EnvCx, Object, Provenance};
use crate::resolve::{Instance, Output};

/// The `ExternalSecret`s that materialise an instance's secret outputs in `namespace`: one per
/// Secret, with one entry per key, each field recorded as it is made: the request that made
/// the instance, its provisioner's `external_secret` (store, remote key) and `secret_outputs`
/// (the keys).
pub(super) fn external_secrets(
    cx: &EnvCx<'_>,
    i: &Instance,
    owner: SecretLabels<'_>,
    namespace: &str,
    labels: &Map<String, Value>,
) -> Vec<(Value, Recorder)> {
    let Some((store, remote)) = &i.external_secret else {
        return Vec::new();
    };
    let mut by_secret: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for o in i.outputs.values() {
        if let Output::Secret { secret, key } = o {
            by_secret.entry(secret).or_default().insert(key);
        }
    }
    let es = Es {
        cx,
        i,
        owner,
        store,
        remote,
        namespace,
        labels,
    };
    by_secret
        .into_iter()
        .map(|(secret, keys)| es.make(secret, keys))
        .collect()
}

/// An instance's ExternalSecrets being made in a namespace.
struct Es<'a> {
    cx: &'a EnvCx<'a>,
    i: &'a Instance,
    owner: SecretLabels<'a>,
    store: &'a str,
    remote: &'a str,
    namespace: &'a str,
    labels: &'a Map<String, Value>,
}

impl Es<'_> {
    fn rule(&self, r: &'static str) -> Origin {
        Origin::rule("resource", r, resource_id(&self.i.key))
    }

    /// The provisioner's `external_secret` setting `field`.
    fn setting(&self, field: &str) -> Origin {
        let p = self.cx.platform;
        let es = format!(
            "{}.external_secret",
            provisioner_path(p, &self.i.provisioner).unwrap_or_default()
        );
        platform(p, &[format!("{es}.{field}"), es])
    }

    /// The provisioner's `secret_outputs`.
    fn outputs(&self) -> Origin {
        let p = self.cx.platform;
        let prov = provisioner_path(p, &self.i.provisioner).unwrap_or_default();
        platform(
            p,
            &[
                format!("{prov}.secret_outputs"),
                format!("{prov}.external_secret"),
            ],
        )
    }

    /// The ExternalSecret of Secret `secret`, with an entry per key.
    fn make(&self, secret: &str, keys: BTreeSet<&str>) -> (Value, Recorder) {
        let i = self.i;
        let mut rec = self.cx.recorder();
        let named = || {
            vec![
                self.rule(
                    "an ExternalSecret per Secret of the instance's secret outputs, named after it",
                ),
                self.outputs(),
                Origin::score(format!("the request of resource {}", i.name), &i.span),
            ]
        };
        for field in [
            "apiVersion",
            "kind",
            "metadata",
            "metadata.name",
            "spec.target.name",
        ] {
            rec.at(field, named);
        }
        rec.at("spec.target.creationPolicy", || {
            vec![self.rule("the ExternalSecret owns the Secret it creates")]
        });
        rec.at("spec.refreshInterval", || {
            vec![self.rule("secrets are refreshed hourly")]
        });
        rec.at("spec.secretStoreRef.kind", || {
            vec![self.rule("the store is cluster-wide: a ClusterSecretStore")]
        });
        rec.at("spec.secretStoreRef.name", || vec![self.setting("store")]);
        let data = self.data(keys, &mut rec);
        secret_namespace_and_labels(self.cx, i, &self.owner, &mut rec);
        let es = json!({
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": secret, "namespace": self.namespace, "labels": self.labels},
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRef": {"kind": "ClusterSecretStore", "name": self.store},
                "target": {"name": secret, "creationPolicy": "Owner"},
                "data": data,
            }
        });
        (es, rec)
    }

    /// One entry per key: the remote key's property of the same name.
    fn data(&self, keys: BTreeSet<&str>, rec: &mut Recorder) -> Vec<Value> {
        keys.into_iter()
            .enumerate()
            .map(|(ix, k)| {
                let at = rec.path(|| crate::fieldpath::index("spec.data", ix));
                rec.record(
                    || format!("{at}.secretKey"),
                    || vec![self.rule("one entry per secret output key"), self.outputs()],
                );
                rec.record(
                    || format!("{at}.remoteRef.key"),
                    || vec![self.setting("remote_key")],
                );
                rec.record(
                    || format!("{at}.remoteRef.property"),
                    || {
                        vec![
                            self.rule("the remote property is the output's key"),
                            self.outputs(),
                        ]
                    },
                );
                json!({"secretKey": k, "remoteRef": {"key": self.remote, "property": k}})
            })
            .collect()
    }
}

/// Whose labels an ExternalSecret carries: its instance's (in the instance's namespace), or
/// the consuming workload's (a copy in another namespace).
pub(super) enum SecretLabels<'a> {
    Instance,
    Consumer(&'a crate::resolve::RWorkload),
}

/// An ExternalSecret's namespace and labels: its instance's, or its consumer's.
fn secret_namespace_and_labels(
    cx: &EnvCx<'_>,
    i: &Instance,
    labels: &SecretLabels<'_>,
    rec: &mut Recorder,
) {
    if !rec.on() {
        return;
    }
    let id = resource_id(&i.key);
    match labels {
        SecretLabels::Instance => {
            rec.at("metadata.namespace", || {
                vec![Origin::rule(
                    "resource",
                    "an instance lives in its first consumer's namespace",
                    id.clone(),
                )]
            });
            let l = Labelled::env(cx.platform, "resource", &id, &cx.res.env, Some(&i.team));
            record_labels(rec, "metadata.labels", instance_label_keys(i), &l);
        }
        SecretLabels::Consumer(w) => {
            rec.at("metadata.namespace", || {
                vec![Origin::rule(
                    "resource",
                    "a consumer outside the instance's namespace gets its own copy of the secret",
                    workload_id(&w.name),
                )]
            });
            let subject = workload_id(&w.name);
            let l = Labelled::env(
                cx.platform,
                "resource",
                &subject,
                &cx.res.env,
                Some(&w.team),
            );
            let keys = crate::render::WORKLOAD_LABEL_KEYS;
            record_labels(rec, "metadata.labels", keys, &l);
            for k in w.profile.labels.keys() {
                rec.record(
                    || crate::fieldpath::key("metadata.labels", k),
                    || profile_layers(cx, w, &["labels", k]),
                );
            }
        }
    }
}

/// The keys of the labels resolve gives an instance's objects.
pub(super) fn instance_label_keys(i: &Instance) -> impl Iterator<Item = &str> {
    i.context
        .get("labels")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.keys().map(String::as_str))
}

pub(super) fn render_instance(cx: &EnvCx<'_>, i: &Instance) -> Result<Vec<Object>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut out = Vec::new();
    let dir = instance_dir(&cx.res.env, &i.name);
    let labels = i
        .context
        .get("labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (es, why) in external_secrets(cx, i, SecretLabels::Instance, &i.namespace, &labels) {
        out.push(
            Object::manifest(
                &dir,
                es,
                Plane::Security,
                Provenance {
                    source: i.span.file.to_string(),
                    node: resource_id(&i.key),
                    via: format!(
                        "renderer:resource (external_secret of provisioner:{})",
                        i.provisioner
                    ),
                },
            )
            .with_origins(why),
        );
    }
    for tname in &i.manifests {
        let text = match cx.templates.render(tname, &i.context) {
            Ok(t) => t,
            Err(d) => {
                diags.push(d.with_note(format!(
                    "rendering resource `{}` for provisioner `{}` ({})",
                    i.name, i.provisioner, i.span
                )));
                continue;
            }
        };
        // Recording only: the template's lines behind this render.
        let why = super::why_template::Rendered::new(cx, i, tname, &text);
        let label = crate::stdlib::template_file(tname);
        let docs = match crate::yaml::read::parse_stream(&label, &text) {
            Ok(d) => d,
            Err(d) => {
                diags.extend(at_template_lines(cx, i, tname, &text, d));
                continue;
            }
        };
        for doc in docs {
            match template_object(i, tname, &doc) {
                Ok(Some(v)) => out.push(
                    Object::manifest(
                        &dir,
                        v,
                        Plane::Resource,
                        Provenance {
                            source: i.span.file.to_string(),
                            node: resource_id(&i.key),
                            via: format!("template:{tname} via provisioner:{}", i.provisioner),
                        },
                    )
                    .with_origins(match &why {
                        Some(w) => w.object(&doc),
                        None => cx.recorder(),
                    }),
                ),
                Ok(None) => {}
                Err(d) => diags.push(d),
            }
        }
    }
    diags.into_result(out)
}

/// One document a provisioner's template rendered, checked and completed with the instance's
/// namespace and labels; `None` for an empty document.
fn template_object(
    i: &Instance,
    tname: &str,
    doc: &crate::yaml::Node,
) -> Result<Option<Value>, Diagnostic> {
    let mut v = doc.to_json();
    if v.is_null() {
        return Ok(None);
    }
    let ok = v.get("apiVersion").is_some_and(Value::is_string)
        && v.get("kind").is_some_and(Value::is_string)
        && v.pointer("/metadata/name").is_some_and(Value::is_string);
    if !ok {
        return Err(Diagnostic::error(
            Code::Template,
            Some(doc.span.clone()),
            format!(
                "template `{tname}` rendered a document without apiVersion, kind and metadata.name"
            ),
        )
        .with_note(format!("for resource `{}` ({})", i.name, i.span)));
    }
    if let Some(d) = limits::bad_template_name(&v, tname, &doc.span) {
        return Err(d.with_note(format!("for resource `{}` ({})", i.name, i.span)));
    }
    if let Some(d) = limits::template_secret(&v, tname, &doc.span) {
        let note = format!(
            "for resource `{}` of provisioner `{}` ({})",
            i.name, i.provisioner, i.span
        );
        return Err(d.with_note(note));
    }
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.entry("namespace")
            .or_insert_with(|| json!(i.namespace));
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if let (Some(l), Some(base)) = (
            labels.as_object_mut(),
            i.context.get("labels").and_then(Value::as_object),
        ) {
            for (k, val) in base {
                l.entry(k.clone()).or_insert(val.clone());
            }
        }
    }
    Ok(Some(v))
}

/// YAML errors in what a template rendered, moved from the rendered text's lines to the
/// template's own (tags and whitespace control make the two differ; the same line map
/// `explain` reads), each naming the rendered line it is about.
fn at_template_lines(
    cx: &EnvCx<'_>,
    i: &Instance,
    tname: &str,
    text: &str,
    errors: Diagnostics,
) -> Diagnostics {
    let map = cx.templates.render_lines(tname, &i.context, text);
    let file = crate::stdlib::template_file(tname);
    let mut out = Diagnostics::new();
    for mut d in errors.0 {
        if let Some(span) = d.span.take() {
            let rendered = usize::try_from(span.line)
                .ok()
                .and_then(|l| text.lines().nth(l.checked_sub(1)?))
                .unwrap_or_default()
                .trim_end();
            d.span = Some(
                match map.as_ref().and_then(|m| m.line_of(span.line, span.col)) {
                    Some(line) => Span::new(file.clone(), line, 1),
                    None => Span::file(file.clone()),
                },
            );
            d = d.with_note(format!(
                "in line {} of what the template rendered for resource `{}`: `{}`",
                span.line, i.name, rendered
            ));
        }
        out.push(d);
    }
    out
}
