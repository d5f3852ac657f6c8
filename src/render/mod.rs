//! Render: resolved environments + graphs → Kubernetes and Argo CD objects, one renderer per
//! plane. Every object carries its provenance (source file, graph node, provisioner/template).

/// A JSON object whose values are moved in (`Value::from` each); in scope in every renderer
/// declared below. serde_json's `json!` copies every value it interpolates through its
/// serializer (`to_value(&v)`): a pod spec put into a Deployment was serialised twice over.
macro_rules! object {
    ({ $($key:literal : $value:expr),* $(,)? }) => {{
        #[allow(unused_mut)]
        let mut m = serde_json::Map::new();
        $(m.insert(String::from($key), serde_json::Value::from($value));)*
        serde_json::Value::Object(m)
    }};
}

pub mod catalog;
mod dashboards;
pub mod delivery;
pub mod limits;
pub mod monitoring;
pub mod origins;
pub mod resource;
pub mod security;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::graph::EnvGraph;
use crate::model::{Plane, Platform};
use crate::resolve::{EnvResolution, RWorkload};
use crate::template::Templates;

/// Where an object came from, for `platc explain` and error messages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Provenance {
    /// Workspace-relative file that caused the object.
    pub source: String,
    /// Graph node id (empty for objects not tied to one node, like AppProjects).
    pub node: String,
    /// `renderer:<plane>` or `template:<name>` via `provisioner:<name>`.
    pub via: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Output path, relative to the output root, `/`-separated.
    pub path: String,
    pub plane: Plane,
    pub body: Body,
    pub provenance: Provenance,
    /// Field-level provenance, when the compilation recorded it (`platc explain`); `None` in
    /// a build, and for objects of renderers that record none yet.
    pub origins: Option<Box<origins::Origins>>,
}

/// What a rendered file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A Kubernetes (or Backstage) object, written as canonical YAML.
    Manifest(Value),
    /// A manifest already written as canonical YAML, its value dropped: what a build keeps, so
    /// memory holds the bytes of the tree rather than a JSON tree per object.
    Yaml(Vec<u8>),
    /// A text file written as is (READMEs).
    Text(String),
}

impl Object {
    /// A manifest in `dir`, named `<kind>-<name>.yaml`.
    pub fn manifest(dir: &str, value: Value, plane: Plane, provenance: Provenance) -> Object {
        Object {
            path: format!("{dir}/{}", file_name(&value)),
            plane,
            body: Body::Manifest(value),
            provenance,
            origins: None,
        }
    }

    /// The object with what its renderer's [`origins::Recorder`] recorded, for the fields
    /// it has (nothing at all when the recorder is off).
    pub fn with_origins(mut self, rec: origins::Recorder) -> Object {
        self.origins = rec.finish().map(|mut o| {
            if let Some(v) = self.value() {
                o.retain_present(v);
            }
            o
        });
        self
    }

    /// The manifest's value (`None` for text files, and for manifests already turned into
    /// bytes by [`Object::into_bytes`]).
    pub fn value(&self) -> Option<&Value> {
        match &self.body {
            Body::Manifest(v) => Some(v),
            Body::Yaml(_) | Body::Text(_) => None,
        }
    }

    /// The file's bytes: canonical YAML for manifests.
    pub fn bytes(&self) -> Vec<u8> {
        match &self.body {
            Body::Manifest(v) => crate::yaml::write::to_yaml(v).into_bytes(),
            Body::Yaml(b) => b.clone(),
            Body::Text(t) => t.clone().into_bytes(),
        }
    }

    /// Its path and the file's bytes, moving what it holds instead of copying it.
    pub fn into_file(self) -> (String, Vec<u8>) {
        let bytes = match self.body {
            Body::Yaml(b) => b,
            Body::Text(t) => t.into_bytes(),
            Body::Manifest(v) => crate::yaml::write::to_yaml(&v).into_bytes(),
        };
        (self.path, bytes)
    }

    /// Writes a manifest as canonical YAML now and drops its value.
    pub fn into_bytes(mut self) -> Object {
        if let Body::Manifest(v) = &self.body {
            let mut bytes = crate::yaml::write::to_yaml(v).into_bytes();
            // The writer grows its buffer by doubling; what is kept for the whole build should
            // not carry that slack.
            bytes.shrink_to_fit();
            self.body = Body::Yaml(bytes);
        }
        self
    }
}

/// Everything a plane renderer may read for one environment.
pub struct EnvCx<'a> {
    pub platform: &'a Platform,
    pub templates: &'a Templates,
    pub res: &'a EnvResolution,
    pub graph: &'a EnvGraph,
    /// Nodes whose objects the render memo already holds: renderers make no object tagged with
    /// one of these (they may still read the node's data for other nodes' objects).
    reused: &'a BTreeSet<String>,
    /// Keep only each manifest's canonical YAML (see [`EnvCx::finish`]).
    bytes_only: bool,
    /// Namespace → owning team, computed once for the labels.
    namespaces: BTreeMap<&'a str, &'a str>,
    /// Set when field origins are to be recorded (see [`origins`]).
    sources: Option<&'a origins::Sources<'a>>,
    /// Only this node's objects are made (one node's record, on demand).
    only: Option<&'a str>,
    /// Objects [`EnvCx::finish`] found the API server would refuse; [`render_env`] reports them.
    /// Keyed by graph node and value: one error for each, not one per object carrying it.
    refused: std::sync::Mutex<Vec<(String, String, crate::diag::Diagnostic)>>,
}

static NONE_REUSED: BTreeSet<String> = BTreeSet::new();

impl<'a> EnvCx<'a> {
    pub fn new(
        platform: &'a Platform,
        templates: &'a Templates,
        res: &'a EnvResolution,
        graph: &'a EnvGraph,
    ) -> EnvCx<'a> {
        EnvCx {
            platform,
            templates,
            res,
            graph,
            reused: &NONE_REUSED,
            bytes_only: false,
            namespaces: res.namespaces(),
            sources: None,
            only: None,
            refused: Default::default(),
        }
    }

    /// Record field origins, reading Score spans from `sources`.
    pub fn recording(mut self, sources: Option<&'a origins::Sources<'a>>) -> Self {
        self.sources = sources;
        self
    }

    /// What recording reads; `None` when not recording.
    pub fn sources(&self) -> Option<&'a origins::Sources<'a>> {
        self.sources
    }

    /// A recorder for one object: on only when this compilation records origins.
    pub fn recorder(&self) -> origins::Recorder {
        origins::Recorder::new(self.sources.is_some())
    }

    /// Nodes not to render (the render memo holds them).
    pub fn reusing(mut self, reused: &'a BTreeSet<String>) -> Self {
        self.reused = reused;
        self
    }

    /// Only the objects of `node` are to be rendered (objects tied to no node still are).
    pub fn only(mut self, node: &'a str) -> Self {
        self.only = Some(node);
        self
    }

    /// Manifests become bytes as soon as they are finished.
    pub fn bytes_only(mut self, bytes_only: bool) -> Self {
        self.bytes_only = bytes_only;
        self
    }

    /// Whether the objects of this node (a graph node id) are to be rendered.
    pub fn fresh(&self, node: &str) -> bool {
        if let Some(only) = self.only {
            return only == node;
        }
        self.reused.is_empty() || !self.reused.contains(node)
    }

    /// An object as it leaves its renderer: the plane and slicing labels every object carries,
    /// and, in a build, its canonical YAML instead of its value. Renderers call this per
    /// workload so that a whole plane's JSON values never exist at once; calling it twice is
    /// harmless.
    pub fn finish(&self, mut o: Object) -> Object {
        let before = o.origins.is_some().then(|| label_keys(&o));
        label_plane(&mut o, &self.platform.name);
        label_env_object(&mut o, self);
        if let Some(before) = before {
            let team = node_team(self, &o.provenance.node);
            let env = Some(self.res.env.as_str());
            record_completed_labels(&mut o, &before, self.platform, env, team);
        }
        if let Some(v) = o.value() {
            let problems = limits::label_problems(v);
            if !problems.is_empty() {
                let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
                for (field, value, why) in problems {
                    let d = limits::bad_label(&o, v, &field, &value, why);
                    refused.push((o.provenance.node.clone(), value, d));
                }
            }
        }
        if self.bytes_only { o.into_bytes() } else { o }
    }

    /// [`EnvCx::finish`] for each object.
    pub fn finish_all(&self, objects: Vec<Object>) -> impl Iterator<Item = Object> + '_ {
        objects.into_iter().map(|o| self.finish(o))
    }
}

/// Everything a plane renderer may read for objects that belong to no single environment
/// (AppProjects, cluster roots, the developer portal's catalog).
pub struct GlobalCx<'a> {
    pub platform: &'a Platform,
    /// In promotion order.
    pub envs: Vec<(&'a EnvResolution, &'a EnvGraph)>,
    /// Record field origins (see [`origins`]).
    pub record: bool,
    /// What recording reads (the Score workloads); `None` when not recording.
    pub sources: Option<&'a origins::Sources<'a>>,
}

/// The seam for plane renderers: each turns resolved nodes into objects, per environment and
/// once for the whole platform.
pub trait PlaneRenderer: Sync {
    fn plane(&self) -> Plane;
    fn render_env(&self, cx: &EnvCx<'_>) -> Result<Vec<Object>, Diagnostics>;
    fn render_global(&self, _cx: &GlobalCx<'_>) -> Result<Vec<Object>, Diagnostics> {
        Ok(Vec::new())
    }
    /// Kinds served by an operator (`<group>/<Kind>`) that this plane will render for a
    /// workload, so the graph can order the workload after that operator.
    fn kinds_needed(&self, _res: &EnvResolution, _w: &RWorkload) -> Vec<String> {
        Vec::new()
    }
}

/// Every plane's [`PlaneRenderer::kinds_needed`] for one workload.
pub fn kinds_needed(res: &EnvResolution, w: &RWorkload) -> Vec<String> {
    let mut kinds: Vec<String> = renderers()
        .iter()
        .flat_map(|r| r.kinds_needed(res, w))
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// The renderers that run, in plane order.
pub fn renderers() -> Vec<Box<dyn PlaneRenderer>> {
    vec![
        Box::new(catalog::DeveloperControlPlane),
        Box::new(delivery::DeliveryPlane),
        Box::new(monitoring::MonitoringPlane),
        Box::new(security::SecurityPlane),
        Box::new(resource::ResourcePlane),
    ]
}

/// The label every object carries to say which plane it belongs to.
pub const PLANE_LABEL: &str = "platc.dev/plane";

/// Renders one environment with every plane renderer, the planes in parallel (results in plane
/// order, so the output does not depend on scheduling). Every object is finished
/// ([`EnvCx::finish`]); renderers finish theirs per workload already, so with `bytes_only` only
/// a few workloads' JSON values exist at once.
pub fn render_env(cx: &EnvCx<'_>) -> Result<Vec<Object>, Diagnostics> {
    use rayon::prelude::*;
    let results: Vec<_> = renderers()
        .par_iter()
        .map(|r| Ok::<_, Diagnostics>(cx.finish_all(r.render_env(cx)?).collect::<Vec<_>>()))
        .collect();
    let objects: Vec<Object> = Diagnostics::all(results)?.into_iter().flatten().collect();
    let mut refused = std::mem::take(&mut *cx.refused.lock().unwrap_or_else(|e| e.into_inner()));
    if !refused.is_empty() {
        // Planes finish in parallel: sorted, the errors come out the same on every run.
        refused.sort_by(|a, b| (&a.0, &a.1, a.2.to_string()).cmp(&(&b.0, &b.1, b.2.to_string())));
        refused.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        let mut diags = Diagnostics::new();
        for (_, _, d) in refused {
            diags.push(d);
        }
        return Err(diags);
    }
    Ok(objects)
}

/// `f` over `items` in parallel, each item's objects and errors kept in `items`' order, so the
/// result is the sequential loop's. A plane's workloads were rendered one after another: the
/// heaviest plane of the last environment was a serial tail of a cold build.
pub fn par_each<T: Sync>(
    items: &[T],
    f: impl Fn(&T) -> (Vec<Object>, Diagnostics) + Sync + Send,
) -> (Vec<Object>, Diagnostics) {
    use rayon::prelude::*;
    let parts: Vec<(Vec<Object>, Diagnostics)> = items.par_iter().map(f).collect();
    let mut out = Vec::with_capacity(parts.iter().map(|(o, _)| o.len()).sum());
    let mut diags = Diagnostics::new();
    for (objects, d) in parts {
        out.extend(objects);
        diags.extend(d);
    }
    (out, diags)
}

/// Every manifest to canonical YAML bytes, in parallel, dropping the values.
pub fn into_bytes(objects: Vec<Object>) -> Vec<Object> {
    use rayon::prelude::*;
    objects.into_par_iter().map(Object::into_bytes).collect()
}

/// Environment objects all carry the same slicing labels: environment, owning team (from the
/// graph node that caused them), and `app.kubernetes.io/name`/`instance` where the renderer set
/// none. Logs and metrics can then be sliced the same way on every plane.
fn label_env_object(o: &mut Object, cx: &EnvCx<'_>) {
    let env = cx.res.env.as_str();
    let node = o.provenance.node.as_str();
    let Body::Manifest(Value::Object(m)) = &mut o.body else {
        return;
    };
    let Some(Value::Object(meta)) = m.get_mut("metadata") else {
        return;
    };
    let team = node_team(cx, node);
    let name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Value::Object(labels) = meta.entry("labels").or_insert_with(|| json!({})) {
        labels
            .entry("platc.dev/environment")
            .or_insert_with(|| json!(env));
        if let Some(t) = team {
            labels.entry("platc.dev/team").or_insert_with(|| json!(t));
        }
        labels
            .entry("app.kubernetes.io/name")
            .or_insert_with(|| json!(name));
        labels
            .entry("app.kubernetes.io/instance")
            .or_insert_with(|| json!(format!("{name}-{env}")));
    }
}

/// The team that owns a graph node: its workload's, its instance's, its namespace's.
fn node_team<'a>(cx: &'a EnvCx<'_>, node: &str) -> Option<&'a str> {
    if let Some(w) = node.strip_prefix("workload:") {
        cx.res.workload(w).map(|w| w.team.as_str())
    } else if let Some(k) = node.strip_prefix("resource:") {
        cx.res.instance(k).map(|i| i.team.as_str())
    } else if let Some(ns) = node.strip_prefix("namespace:") {
        cx.namespaces.get(ns).copied()
    } else {
        None
    }
}

/// The label keys an object has (before `finish` completes them; recording only).
fn label_keys(o: &Object) -> Vec<String> {
    o.value()
        .and_then(|v| v.pointer("/metadata/labels"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Records the labels `finish` added to an object that had only `before`, and the plane
/// label it always sets, by the labels' rules applied to the object's graph node.
fn record_completed_labels(
    o: &mut Object,
    before: &[String],
    platform: &Platform,
    env: Option<&str>,
    team: Option<&str>,
) {
    let after = label_keys(o);
    let subject = if o.provenance.node.is_empty() {
        format!("object {}", o.path)
    } else {
        o.provenance.node.clone()
    };
    let l = origins::Labelled {
        platform,
        renderer: o.plane.as_str(),
        subject: &subject,
        env,
        team,
        cluster: None,
    };
    let added = after
        .iter()
        .filter(|k| *k == PLANE_LABEL || !before.contains(k));
    if let Some(record) = &mut o.origins {
        for k in added {
            if let Some(chain) = origins::label_origins(&l, k) {
                record
                    .0
                    .insert(crate::fieldpath::key("metadata.labels", k), chain);
            }
        }
    }
}

/// Objects that belong to no single environment, from every plane renderer.
pub fn render_global(cx: &GlobalCx<'_>) -> Result<Vec<Object>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut out = Vec::new();
    for r in renderers() {
        match r.render_global(cx) {
            Ok(objs) => out.extend(objs),
            Err(d) => diags.extend(d),
        }
    }
    for o in &mut out {
        let before = o.origins.is_some().then(|| label_keys(o));
        label_plane(o, &cx.platform.name);
        if let Some(before) = before {
            record_completed_labels(o, &before, cx.platform, None, None);
        }
    }
    diags.into_result(out)
}

/// Every object says which plane it belongs to, so logs, metrics and `kubectl get -l` slice the
/// platform by plane the same way; and every object, whichever renderer made it, says it is
/// platc's and part of this platform.
fn label_plane(o: &mut Object, part_of: &str) {
    let plane = o.plane.as_str();
    if let Body::Manifest(Value::Object(m)) = &mut o.body
        && let Some(Value::Object(meta)) = m.get_mut("metadata")
        && let Value::Object(labels) = meta.entry("labels").or_insert_with(|| json!({}))
    {
        labels.insert(PLANE_LABEL.to_string(), json!(plane));
        labels
            .entry("app.kubernetes.io/managed-by")
            .or_insert_with(|| json!("platc"));
        labels
            .entry("app.kubernetes.io/part-of")
            .or_insert_with(|| json!(part_of));
    }
}

/// The keys of [`workload_labels`].
pub const WORKLOAD_LABEL_KEYS: [&str; 6] = [
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
    "platc.dev/team",
    "platc.dev/environment",
];

/// Labels every object platc renders for a workload carries.
pub fn workload_labels(
    platform: &Platform,
    env: &str,
    team: &str,
    workload: &str,
) -> Map<String, Value> {
    // In `WORKLOAD_LABEL_KEYS` order: the keys are written once, there, for the labels and for
    // the provenance that records them.
    let values = [
        workload.to_string(),
        format!("{workload}-{env}"),
        "platc".to_string(),
        platform.name.clone(),
        team.to_string(),
        env.to_string(),
    ];
    WORKLOAD_LABEL_KEYS
        .iter()
        .zip(values)
        .map(|(k, v)| (k.to_string(), Value::String(v)))
        .collect()
}

/// `<kind>-<name>.yaml`, lower-cased: the file name of one object.
pub fn file_name(obj: &Value) -> String {
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("object")
        .to_ascii_lowercase();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("unnamed");
    format!("{kind}-{name}.yaml")
}

/// Rejects two objects written to one path (two templates rendering the same kind and name).
pub fn check_unique<'a>(objects: impl IntoIterator<Item = &'a Object>) -> Result<(), Diagnostics> {
    let mut seen: BTreeMap<&str, &Object> = BTreeMap::new();
    let mut diags = Diagnostics::new();
    for o in objects {
        if let Some(prev) = seen.insert(&o.path, o) {
            diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    Some(crate::diag::Span::file(o.provenance.source.clone())),
                    format!(
                        "two objects render to `{}` (from {} and {})",
                        o.path, prev.provenance.via, o.provenance.via
                    ),
                )
                .with_help("give the objects distinct names in their templates"),
            );
        }
    }
    diags.into_result(())
}
