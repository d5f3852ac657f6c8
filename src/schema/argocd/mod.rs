//! Our own schemas of Argo CD's `Application`, `ApplicationSet` and `AppProject`
//! (`argoproj.io/v1alpha1`), written from the field names and types Argo CD 3.x accepts. They
//! are strict where platc writes (an unknown field in `spec`, `source`, `syncPolicy`, a project
//! role... is an error) and open only where Argo CD itself keeps arbitrary data: Helm
//! `valuesObject`, an ApplicationSet's list elements and generator templates, `status` and
//! `operation`. Metadata is Kubernetes' `ObjectMeta`.
//!
//! `build.rs` holds the JSON Schema building blocks; one file per kind holds its definitions.

mod application;
mod application_set;
mod build;
mod project;

use serde_json::{Map, Value, json};

use build::{object, open, reference};

pub const API_VERSION: &str = "argoproj.io/v1alpha1";
pub const KINDS: &[&str] = &["AppProject", "Application", "ApplicationSet"];

/// The shared `$defs` every kind's schema carries.
fn defs() -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("Helm".into(), application::helm());
    d.insert("Kustomize".into(), application::kustomize());
    d.insert("Directory".into(), application::directory());
    d.insert("Plugin".into(), application::plugin());
    d.insert("ApplicationSource".into(), application::source());
    d.insert("ApplicationSpec".into(), application::spec());
    d.insert("Generator".into(), application_set::generator());
    d.insert("LabelSelector".into(), application_set::label_selector());
    d
}

/// The schema of one Argo CD kind; `object_meta` is the (strict) schema of `ObjectMeta` whose
/// `$defs` are lifted to the root. `None` for other kinds.
pub fn schema(kind: &str, object_meta: &Value) -> Option<Value> {
    let spec = match kind {
        "Application" => reference("ApplicationSpec"),
        "ApplicationSet" => application_set::spec(),
        "AppProject" => project::spec(),
        _ => return None,
    };
    let mut defs = defs();
    let mut meta = object_meta.clone();
    if let Some(m) = meta.as_object_mut() {
        m.remove("$schema");
        if let Some(Value::Object(inner)) = m.remove("$defs") {
            defs.extend(inner);
        }
    }
    defs.insert("ObjectMeta".into(), meta);
    let mut s = object(
        &[
            ("apiVersion", json!({"const": API_VERSION})),
            ("kind", json!({"const": kind})),
            ("metadata", reference("ObjectMeta")),
            ("operation", open()),
            ("spec", spec),
            ("status", open()),
        ],
        &["apiVersion", "kind", "metadata", "spec"],
    );
    s["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    s["$defs"] = Value::Object(defs);
    Some(s)
}
