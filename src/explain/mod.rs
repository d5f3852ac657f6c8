//! `platc explain`: where a rendered file, object or field came from.
//!
//! Everything is answered from a fresh [`Compilation`] (never from an output directory): the
//! object's [`Provenance`](crate::render::Provenance) names its source file, graph node and
//! renderer; the resolved workload and the platform's profile layers say which layer set a
//! field. Nickel values carry no spans after export, so locations inside platform files are
//! found by a textual search of the platform sources and labelled as such
//! ([`LocationHow::TextSearch`]).

use std::path::Path;

use petgraph::Direction;
use serde::Serialize;
use serde_json::{Value, json};

use crate::diag::{Code, Diagnostic, Diagnostics, Span, Spanned};
pub use crate::fieldpath::{Sel, parse as parse_field};
use crate::graph::{EdgeKind, GNode};
use crate::load::score::{Piece, split_placeholders};
use crate::model::{self, Workload};
use crate::pipeline::{Compilation, EnvResult};
use crate::resolve::{Output, RWorkload};

mod recorded;
mod targets;
mod walk;

use targets::{Entry, entries, find_entry, object_id};
pub use walk::Step;
use walk::{display_steps, walk};

/// The answer to one `platc explain` question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The target as asked.
    pub target: String,
    /// The rendered file (relative to the output root).
    pub path: String,
    /// The environment the object belongs to; `None` for objects shared by all environments.
    pub environment: Option<String>,
    pub object: Option<ObjectId>,
    pub plane: String,
    /// What caused the object, in words ("workload `checkout`").
    pub cause: String,
    /// Where that cause is written.
    pub source: Location,
    /// `renderer:<plane>`, or `template:<name> via provisioner:<name>`.
    pub via: String,
    /// Graph node id of the object (empty for objects tied to no node).
    pub node: String,
    /// The node in each environment graph that holds it (one for environment objects).
    pub graph: Vec<GraphNode>,
    pub field: Option<FieldAnswer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectId {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectId {
    /// `Kind/namespace/name`, or `Kind/name` when cluster-scoped: how targets name objects.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{ns}/{}", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: Option<u32>,
    pub col: Option<u32>,
    pub how: LocationHow,
}

/// How a location was found, so nobody mistakes a text search for a parser's span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LocationHow {
    /// The span the loader recorded for the value.
    Span,
    /// A search of the platform source text for the field (only where the evaluator kept no position).
    TextSearch,
    /// Only the file is known.
    File,
}

impl Location {
    fn span(s: &Span) -> Location {
        Location {
            file: s.file.to_string(),
            line: Some(s.line),
            col: Some(s.col),
            how: LocationHow::Span,
        }
    }
    fn file(f: &str) -> Location {
        Location {
            file: f.to_string(),
            line: None,
            col: None,
            how: LocationHow::File,
        }
    }
    fn searched(f: &str, line: u32, col: u32) -> Location {
        Location {
            file: f.to_string(),
            line: Some(line),
            col: Some(col),
            how: LocationHow::TextSearch,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.col) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}", self.file)?,
            _ => write!(f, "{}", self.file)?,
        }
        if self.how == LocationHow::TextSearch {
            write!(f, " (found by text search)")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphNode {
    pub environment: String,
    pub id: String,
    pub kind: String,
    pub plane: String,
    pub wave: Option<u32>,
    /// Ordering predecessors: what must exist first.
    pub requires: Vec<NodeRef>,
    /// Ordering successors: what waits for this node.
    pub required_by: Vec<NodeRef>,
    /// Communication edges out of the node.
    pub calls: Vec<NodeRef>,
    /// Communication edges into the node.
    pub called_by: Vec<NodeRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeRef {
    pub id: String,
    pub wave: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldAnswer {
    /// The field path, canonical (`spec.template.spec.containers[web].image`).
    pub path: String,
    pub value: Value,
    /// The layers that made the value: the one that `sets` it last, those it `replaced`, and
    /// those that `feed` it (a provisioner output behind a placeholder).
    pub layers: Vec<Layer>,
    /// What could not be answered precisely.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layer {
    pub role: Role,
    pub layer: LayerKind,
    /// `profile web`, `environment prod overrides`, `examples/a/score.yaml`, `renderer:resource`.
    pub origin: String,
    pub value: Option<Value>,
    pub location: Option<Location>,
    pub note: Option<String>,
    /// The recorded field this layer answers for, when it is not the one asked (an ancestor
    /// that holds the cause, or a rule below the asked list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Sets,
    Replaced,
    Feeds,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// The Score workload spec.
    Workload,
    Profile,
    /// An environment's `overrides` or `profile_overrides`.
    Environment,
    /// Platform settings other than profiles (teams, clusters).
    Platform,
    Provisioner,
    Template,
    /// A fixed rule of a plane renderer.
    Renderer,
    /// An edge of the environment graph.
    Edge,
    /// platc's built-in default when no layer sets the field.
    Default,
}

/// Explains `target` (a rendered path, `Kind/namespace/name` or `Kind/name`, optionally
/// followed by `#field.path`) against a compilation of the workspace at `root`. `root` is only
/// read for platform sources (text search of Nickel fields).
pub fn explain(comp: &Compilation, root: &Path, target: &str) -> Result<Explanation, Diagnostics> {
    let (main, field) = match target.split_once('#') {
        Some((m, f)) => (m.trim(), Some(f.trim())),
        None => (target.trim(), None),
    };
    if field == Some("") {
        return Err(usage(format!("empty field path in `{target}`"))
            .with_help("write the field after `#`, like `#spec.replicas`")
            .into());
    }
    if let Some(ex) = tree_file(comp, main.trim_start_matches("./"), target) {
        if field.is_some() {
            return Err(usage(format!(
                "`{main}` is not a manifest; only manifests have fields"
            ))
            .into());
        }
        return Ok(ex);
    }
    let entries = entries(comp);
    let entry = find_entry(&entries, main, comp.layout)?;
    let cx = Cx { comp, root };
    let mut ex = describe(&cx, &entry);
    ex.target = target.to_string();
    if let Some(f) = field {
        let Some(body) = entry.obj.value() else {
            return Err(usage(format!(
                "`{}` is a text file; only manifests have fields",
                entry.obj.path
            ))
            .into());
        };
        let sels = parse_field(f).map_err(|m| Diagnostics::from(usage(m)))?;
        let (steps, value) = walk(body, &sels).map_err(Diagnostics::from)?;
        ex.field = Some(explain_field(&cx, &entry, body, &steps, value));
    }
    Ok(ex)
}

/// Files of the output tree that no renderer makes: the pipeline's README and emit's index.
fn tree_file(comp: &Compilation, path: &str, target: &str) -> Option<Explanation> {
    let (cause, via) = match path {
        "README.md" => (
            "the compilation as a whole: a summary of environments, clusters and object counts",
            "pipeline (Compilation::tree)",
        ),
        ".platc/index.json" => (
            "the files written: their hashes, so a later build replaces or prunes only what platc owns",
            "emit",
        ),
        _ => return None,
    };
    let main = comp
        .platform
        .sources
        .iter()
        .find(|s| s.ends_with("main.ncl"))
        .cloned()
        .unwrap_or_else(|| "platform/main.ncl".into());
    Some(Explanation {
        target: target.to_string(),
        path: path.to_string(),
        environment: None,
        object: None,
        plane: "-".into(),
        cause: cause.into(),
        source: Location::file(&main),
        via: via.into(),
        node: String::new(),
        graph: Vec::new(),
        field: None,
    })
}

fn usage(msg: impl Into<String>) -> Diagnostic {
    Diagnostic::error(Code::InvalidValue, None, msg)
}

// ---------------------------------------------------------------------------------------------
// The object
// ---------------------------------------------------------------------------------------------

struct Cx<'a> {
    comp: &'a Compilation,
    root: &'a Path,
}

impl Cx<'_> {
    fn score(&self, name: &str) -> Option<&Workload> {
        self.comp.workloads.iter().find(|w| w.name.value == name)
    }

    /// Where the Nickel value at `wanted` (a path from the platform's root, like
    /// `environments.prod.overrides.replicas`) was written, as the evaluator recorded it.
    fn nickel_field(&self, wanted: &[&str]) -> Option<Location> {
        let path = wanted
            .iter()
            .fold(String::new(), |p, k| crate::fieldpath::key(&p, k));
        self.comp
            .platform
            .positions
            .0
            .get(&path)
            .map(Location::span)
    }

    /// Where a provisioner is defined: the value of its `name`.
    fn provisioner_location(&self, name: &str) -> Option<Location> {
        let platform = &self.comp.platform;
        let i = platform.provisioners.iter().position(|p| p.name == name)?;
        platform
            .positions
            .0
            .get(&format!("provisioners[{i}].name"))
            .map(Location::span)
    }
}

fn describe(cx: &Cx<'_>, e: &Entry<'_>) -> Explanation {
    let o = e.obj;
    let p = &o.provenance;
    let env = e.env.map(|r| r.resolution.env.clone());
    let (cause, source) = cause_of(cx, e);
    let mut graph = Vec::new();
    if !p.node.is_empty() {
        let envs: Vec<&EnvResult> = match e.env {
            Some(r) => vec![r],
            None => cx.comp.envs.iter().collect(),
        };
        for r in envs {
            if let Some(n) = graph_node(r, &p.node) {
                graph.push(n);
            }
        }
    }
    Explanation {
        target: String::new(),
        // The file it is in: its own in the files layout, its directory's manifest.yaml else.
        path: cx.comp.layout.file_of(&o.path).into_owned(),
        environment: env,
        object: object_id(o),
        plane: o.plane.as_str().to_string(),
        cause,
        source,
        via: p.via.clone(),
        node: p.node.clone(),
        graph,
        field: None,
    }
}

fn cause_of(cx: &Cx<'_>, e: &Entry<'_>) -> (String, Location) {
    let p = &e.obj.provenance;
    let node = p.node.as_str();
    if let Some(w) = node.strip_prefix("workload:")
        && let Some(sw) = cx.score(w)
    {
        return (format!("workload `{w}`"), Location::span(&sw.name.span));
    }
    if let Some(k) = node.strip_prefix("resource:") {
        let inst = e
            .env
            .and_then(|r| r.resolution.instance(k))
            .or_else(|| cx.comp.envs.iter().find_map(|r| r.resolution.instance(k)));
        if let Some(i) = inst {
            let key = i
                .context
                .pointer("/resource/key")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let first = i.consumers.first().map(String::as_str).unwrap_or_default();
            return (
                format!(
                    "resource `{key}` requested by workload `{first}`: instance `{}` ({k}) of provisioner `{}`",
                    i.name, i.provisioner
                ),
                Location::span(&i.span),
            );
        }
    }
    if let Some(ns) = node.strip_prefix("namespace:") {
        let team = e
            .env
            .and_then(|r| r.resolution.namespaces().get(ns).map(|t| t.to_string()));
        if let Some(t) = team {
            let loc = cx
                .nickel_field(&["teams", &t, "namespace"])
                .unwrap_or_else(|| Location::file(&p.source));
            return (format!("the namespace of team `{t}`"), loc);
        }
    }
    if let Some(c) = node.strip_prefix("component:") {
        let loc = cx
            .nickel_field(&["components", c])
            .unwrap_or_else(|| Location::file(&p.source));
        return (format!("platform component `{c}`"), loc);
    }
    (
        format!("the platform ({})", p.source),
        Location::file(&p.source),
    )
}

fn graph_node(r: &EnvResult, id: &str) -> Option<GraphNode> {
    let g = &r.graph;
    let ix = *g.index.get(id)?;
    let n: &GNode = &g.graph[ix];
    let refs = |kind, dir| -> Vec<NodeRef> {
        g.neighbours(id, kind, dir)
            .into_iter()
            .map(|n| NodeRef {
                id: n.id.clone(),
                wave: g.waves.get(&n.id).copied(),
            })
            .collect()
    };
    Some(GraphNode {
        environment: r.resolution.env.clone(),
        id: id.to_string(),
        kind: serde_json::to_value(n.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        plane: n.plane.as_str().to_string(),
        wave: g.waves.get(id).copied(),
        requires: refs(EdgeKind::Ordering, Direction::Incoming),
        required_by: refs(EdgeKind::Ordering, Direction::Outgoing),
        calls: refs(EdgeKind::Communication, Direction::Outgoing),
        called_by: refs(EdgeKind::Communication, Direction::Incoming),
    })
}

// ---------------------------------------------------------------------------------------------
// Fields → layers
// ---------------------------------------------------------------------------------------------

fn explain_field(
    cx: &Cx<'_>,
    e: &Entry<'_>,
    body: &Value,
    steps: &[Step],
    value: &Value,
) -> FieldAnswer {
    let keys: Vec<String> = steps
        .iter()
        .map(|s| match s {
            Step::Key(k) => k.clone(),
            Step::Item { name: Some(n), .. } => n.clone(),
            Step::Item { index, .. } => index.to_string(),
        })
        .collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut ans = FieldAnswer {
        path: display_steps(steps),
        value: value.clone(),
        layers: Vec::new(),
        notes: Vec::new(),
    };
    // What the renderer recorded as it made the value, when it records (see `render::origins`).
    if let Some(record) = &e.obj.origins
        && let Some(recorded) = recorded::answer(record, &ans.path, value)
    {
        return recorded;
    }
    let p = &e.obj.provenance;
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();

    if let ["metadata", "labels", label] = keys.as_slice() {
        ans.layers
            .push(renderer(p.via.as_str(), value, label_rule(label)));
        return ans;
    }
    if let Some(tname) = p.via.strip_prefix("template:") {
        let map_keys: Vec<&str> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Key(k) => Some(k.as_str()),
                Step::Item { .. } => None,
            })
            .collect();
        template_field(cx, e, tname, &map_keys, value, &mut ans);
        return ans;
    }
    let workload = p.node.strip_prefix("workload:").and_then(|w| {
        let r = e.env?;
        Some((r, r.resolution.workload(w)?, cx.score(w)?))
    });
    match workload {
        Some((r, w, sw)) if p.via == "renderer:resource" => {
            workload_field(cx, r, w, sw, kind, &keys, value, &mut ans)
        }
        _ => {
            ans.layers.push(renderer(
                &p.via,
                value,
                format!(
                    "a fixed rule of the {} plane renderer, from the graph node `{}`",
                    e.obj.plane.as_str(),
                    if p.node.is_empty() { "-" } else { &p.node }
                ),
            ));
            ans.notes.push(format!(
                "field-level provenance is recorded for the security, delivery and monitoring planes, resource-plane workload objects and provisioner templates; for `{}` objects platc can only name the renderer yet",
                e.obj.plane.as_str()
            ));
        }
    }
    ans
}

fn label_rule(label: &str) -> String {
    match label {
        crate::render::PLANE_LABEL => "every object is labelled with its plane".into(),
        "app.kubernetes.io/managed-by" | "app.kubernetes.io/part-of" => {
            "every object says it is platc's and part of this platform".into()
        }
        "platc.dev/environment" | "platc.dev/team" => {
            "environment objects carry their environment and the team of their graph node".into()
        }
        _ => "a slicing label the renderer sets on every object it makes".into(),
    }
}

fn renderer(via: &str, value: &Value, note: impl Into<String>) -> Layer {
    Layer {
        role: Role::Sets,
        layer: LayerKind::Renderer,
        origin: via.to_string(),
        value: Some(value.clone()),
        location: None,
        note: Some(note.into()),
        field: None,
    }
}

fn score_layer(file: &str, what: &str, value: Value, span: &Span) -> Layer {
    Layer {
        role: Role::Sets,
        layer: LayerKind::Workload,
        origin: format!("{file} ({what})"),
        value: Some(value),
        location: Some(Location::span(span)),
        note: None,
        field: None,
    }
}

/// The profile field `segs` of a workload, layer by layer: the profile, the environment's
/// `overrides`, its `profile_overrides.<profile>` (the order resolve merges them in).
fn profile_layers(
    cx: &Cx<'_>,
    r: &EnvResult,
    w: &RWorkload,
    segs: &[&str],
    rendered: &Value,
) -> Vec<Layer> {
    let platform = &cx.comp.platform;
    let env_name = r.resolution.env.as_str();
    let pname = w.profile_name.as_str();
    let env = platform.environments.get(env_name);
    let base = platform.profiles.get(pname);
    let po = env.and_then(|e| e.profile_overrides.get(pname));
    let candidates: Vec<(LayerKind, String, Option<&Value>, Vec<&str>)> = vec![
        (
            LayerKind::Profile,
            format!("profile {pname}"),
            base,
            vec!["profiles", pname],
        ),
        (
            LayerKind::Environment,
            format!("environment {env_name} overrides"),
            env.map(|e| &e.overrides),
            vec!["environments", env_name, "overrides"],
        ),
        (
            LayerKind::Environment,
            format!("environment {env_name} profile_overrides.{pname}"),
            po,
            vec!["environments", env_name, "profile_overrides", pname],
        ),
    ];
    let mut layers = Vec::new();
    for (kind, origin, layer, anchor) in candidates {
        let Some(v) = layer.and_then(|l| get_path(l, segs)) else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        let wanted: Vec<&str> = anchor.iter().chain(segs).copied().collect();
        let location = cx.nickel_field(&wanted);
        let note = location.is_none().then(|| {
            "no location: the Nickel evaluator kept no position for this value, and a text search of the platform sources found no single `field = value` for it".to_string()
        });
        layers.push(Layer {
            role: Role::Replaced,
            layer: kind,
            origin,
            value: Some(v.clone()),
            location,
            note,
            field: None,
        });
    }
    // The layer merged last sets the value; list it first, then what it replaced, newest first.
    layers.reverse();
    match layers.first_mut() {
        Some(l) => l.role = Role::Sets,
        None => layers.push(Layer {
            role: Role::Sets,
            layer: LayerKind::Default,
            origin: "platc default".into(),
            value: Some(rendered.clone()),
            location: None,
            note: Some(format!(
                "neither profile `{pname}` nor environment `{env_name}` sets `{}`",
                segs.join(".")
            )),
            field: None,
        }),
    }
    // What resolve recorded must agree with the layers read here; say so when it does not.
    let recorded = w.provenance.get(&segs.join("."));
    if let (Some(rec), Some(last)) = (recorded, layers.first())
        && last.layer != LayerKind::Default
        && rec != &last.origin
    {
        layers.push(Layer {
            role: Role::Feeds,
            layer: LayerKind::Platform,
            origin: rec.clone(),
            value: None,
            location: None,
            note: Some("resolve recorded this layer as the origin".into()),
            field: None,
        });
    }
    layers
}

fn get_path<'v>(v: &'v Value, segs: &[&str]) -> Option<&'v Value> {
    segs.iter().try_fold(v, |cur, s| cur.get(*s))
}

#[allow(clippy::too_many_arguments)]
fn workload_field(
    cx: &Cx<'_>,
    r: &EnvResult,
    w: &RWorkload,
    sw: &Workload,
    kind: &str,
    keys: &[&str],
    value: &Value,
    ans: &mut FieldAnswer,
) {
    let file = sw.file.as_ref();
    let pod: &[&str] = match kind {
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => &["spec", "template", "spec"],
    };
    let tmeta: &[&str] = match kind {
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "metadata"],
        _ => &["spec", "template", "metadata"],
    };
    let is_pod_owner = kind == "Deployment" || kind == "CronJob";
    let profile = |segs: &[&str], ans: &mut FieldAnswer| {
        ans.layers.extend(profile_layers(cx, r, w, segs, value));
    };
    match (kind, keys) {
        ("Deployment", ["spec", "replicas"]) => return profile(&["replicas"], ans),
        ("HorizontalPodAutoscaler", ["spec", "minReplicas"]) => {
            return profile(&["hpa", "min_replicas"], ans);
        }
        ("HorizontalPodAutoscaler", ["spec", "maxReplicas"]) => {
            return profile(&["hpa", "max_replicas"], ans);
        }
        (
            "HorizontalPodAutoscaler",
            [
                "spec",
                "metrics",
                _,
                "resource",
                "target",
                "averageUtilization",
            ],
        ) => {
            return profile(&["hpa", "target_cpu_utilization"], ans);
        }
        ("PodDisruptionBudget", ["spec", "minAvailable"]) => {
            return profile(&["pdb", "min_available"], ans);
        }
        ("CronJob", ["spec", "schedule"]) => {
            if let Some(a) = sw.annotations.get("platc.dev/schedule") {
                ans.layers.push(score_layer(
                    file,
                    "annotation platc.dev/schedule",
                    json!(a.value),
                    &a.span,
                ));
                let mut rest = profile_layers(cx, r, w, &["schedule"], value);
                rest.retain(|l| l.layer != LayerKind::Default);
                for l in &mut rest {
                    l.role = Role::Replaced;
                }
                ans.layers.extend(rest);
                return;
            }
            if w.profile.schedule.is_none() {
                ans.layers.push(renderer(
                    "renderer:resource",
                    value,
                    "no annotation or profile sets a schedule: the renderer's hourly default",
                ));
                return;
            }
            return profile(&["schedule"], ans);
        }
        (_, ["metadata", "namespace"]) => {
            let team_ns = cx
                .comp
                .platform
                .teams
                .get(&w.team)
                .map(|t| t.namespace.clone())
                .unwrap_or_default();
            ans.layers.push(Layer {
                role: Role::Sets,
                layer: LayerKind::Platform,
                origin: format!("team {}", w.team),
                value: Some(json!(team_ns)),
                location: cx.nickel_field(&["teams", &w.team, "namespace"]),
                note: Some(format!(
                    "the namespace of team `{}` in environment `{}` is `<team namespace>-{}`",
                    w.team, r.resolution.env, r.resolution.env
                )),
                field: None,
            });
            // The team comes from the workload's annotation or the platform's path claims.
            if let Ok(choice) = crate::ownership::team_of(&cx.comp.platform, sw) {
                let (layer, origin, location) = match &choice.origin {
                    crate::ownership::Origin::Annotation(span) => (
                        LayerKind::Workload,
                        format!("{file} (annotation {})", model::ANN_TEAM),
                        Some(Location::span(span)),
                    ),
                    crate::ownership::Origin::Path { field, .. } => (
                        LayerKind::Platform,
                        format!("platform {field}"),
                        cx.nickel_field(&["teams", &choice.name, "paths"]),
                    ),
                    crate::ownership::Origin::Default(field) => (
                        LayerKind::Platform,
                        format!("platform {field}"),
                        cx.nickel_field(&[field]),
                    ),
                };
                ans.layers.push(Layer {
                    role: Role::Feeds,
                    layer,
                    origin,
                    value: Some(json!(choice.name)),
                    location,
                    note: Some(choice.describe("team")),
                    field: None,
                });
            }
            return;
        }
        (_, ["metadata", "name"]) => {
            ans.layers.push(score_layer(
                file,
                "metadata.name",
                json!(sw.name.value),
                &sw.name.span,
            ));
            return;
        }
        ("Service", ["spec", "ports", pname, rest @ ..]) => {
            service_port(sw, pname, rest, value, ans);
            return;
        }
        ("ConfigMap", ["data" | "binaryData", key]) => {
            for c in sw.containers.values() {
                for f in c.files.values() {
                    if crate::render::resource::config_key(&c.name.value, &f.target.value) == *key {
                        let (span, expanded) = match &f.content {
                            model::FileContent::Text(t) => (&t.span, !f.no_expand),
                            model::FileContent::Binary(b) => (&b.span, false),
                        };
                        ans.layers.push(score_layer(
                            file,
                            &format!("containers.{}.files[{}]", c.name.value, f.target.value),
                            value.clone(),
                            span,
                        ));
                        if expanded {
                            ans.notes.push("placeholders in the file content are filled from the workload's metadata and resource outputs".into());
                        }
                        return;
                    }
                }
            }
        }
        _ => {}
    }
    if is_pod_owner {
        if let Some(rest) = keys.strip_prefix(pod) {
            match rest {
                ["containers", cname, crest @ ..] => {
                    if let Some(c) = sw.containers.get(*cname) {
                        container_field(cx, r, w, sw, c, crest, value, ans);
                        return;
                    }
                }
                ["securityContext", "runAsNonRoot"] => {
                    return profile(&["security", "run_as_non_root"], ans);
                }
                ["securityContext", "runAsUser"] => {
                    return profile(&["security", "run_as_user"], ans);
                }
                _ => {}
            }
        }
        if let Some(rest) = keys.strip_prefix(tmeta) {
            match rest {
                ["labels", l] if w.profile.labels.contains_key(*l) => {
                    return profile(&["labels", l], ans);
                }
                ["annotations", "platc.dev/files-hash"] => {
                    ans.layers.push(renderer("renderer:resource", value, "a hash of the files ConfigMap, so that a change of file contents rolls the pods (subPath mounts are never refreshed)"));
                    return;
                }
                ["annotations", a] if w.profile.annotations.contains_key(*a) => {
                    return profile(&["annotations", a], ans);
                }
                _ => {}
            }
        }
    }
    ans.layers.push(renderer(
        "renderer:resource",
        value,
        "a fixed rule of the resource plane renderer (src/render/resource.rs)",
    ));
}

fn service_port(sw: &Workload, pname: &str, rest: &[&str], value: &Value, ans: &mut FieldAnswer) {
    let file = sw.file.as_ref();
    let Some(p) = sw.service.as_ref().and_then(|s| s.ports.get(pname)) else {
        ans.layers.push(renderer(
            "renderer:resource",
            value,
            "a fixed rule of the resource plane renderer",
        ));
        return;
    };
    let at = format!("service.ports.{pname}");
    match rest {
        ["port"] => ans.layers.push(score_layer(
            file,
            &format!("{at}.port"),
            json!(p.port.value),
            &p.port.span,
        )),
        ["targetPort"] => match &p.target_port {
            Some(t) => ans.layers.push(score_layer(
                file,
                &format!("{at}.targetPort"),
                json!(t.value),
                &t.span,
            )),
            None => {
                let mut l = score_layer(
                    file,
                    &format!("{at}.port"),
                    json!(p.port.value),
                    &p.port.span,
                );
                l.note = Some("no targetPort is written, so it is the port".into());
                ans.layers.push(l);
            }
        },
        ["protocol"] => match &p.protocol {
            Some(x) => ans.layers.push(score_layer(
                file,
                &format!("{at}.protocol"),
                json!(x.value),
                &x.span,
            )),
            None => ans.layers.push(renderer(
                "renderer:resource",
                value,
                "Score's default protocol, TCP",
            )),
        },
        _ => ans
            .layers
            .push(score_layer(file, &at, value.clone(), &p.name.span)),
    }
}

#[allow(clippy::too_many_arguments)]
fn container_field(
    cx: &Cx<'_>,
    r: &EnvResult,
    w: &RWorkload,
    sw: &Workload,
    c: &model::Container,
    rest: &[&str],
    value: &Value,
    ans: &mut FieldAnswer,
) {
    let file = sw.file.as_ref();
    let cn = c.name.value.as_str();
    let at = |s: &str| format!("containers.{cn}.{s}");
    match rest {
        ["name"] => ans.layers.push(score_layer(
            file,
            &format!("containers.{cn}"),
            value.clone(),
            &c.name.span,
        )),
        ["image"] => {
            ans.layers.push(score_layer(
                file,
                &at("image"),
                json!(c.image.value),
                &c.image.span,
            ));
            placeholder_layers(cx, r, w, sw, &c.image, ans);
        }
        [list @ ("command" | "args"), i, ..] => {
            let src = if *list == "command" {
                &c.command
            } else {
                &c.args
            };
            if let Some(s) = i.parse::<usize>().ok().and_then(|i| src.get(i)) {
                ans.layers.push(score_layer(
                    file,
                    &at(&format!("{list}[{i}]")),
                    json!(s.value),
                    &s.span,
                ));
                placeholder_layers(cx, r, w, sw, s, ans);
            }
        }
        ["env", name, ..] => env_field(cx, r, w, sw, c, name, value, ans),
        [
            "resources",
            rl @ ("requests" | "limits"),
            q @ ("cpu" | "memory"),
        ] => {
            let spec = c.resources.as_ref().map(|x| {
                if *rl == "requests" {
                    &x.requests
                } else {
                    &x.limits
                }
            });
            let set = spec.and_then(|s| {
                if *q == "cpu" {
                    s.cpu.as_ref()
                } else {
                    s.memory.as_ref()
                }
            });
            match set {
                Some(v) => {
                    ans.layers.push(score_layer(
                        file,
                        &at(&format!("resources.{rl}.{q}")),
                        json!(v.value),
                        &v.span,
                    ));
                    let mut under = profile_layers(cx, r, w, &["resources", rl, q], value);
                    under.retain(|l| l.layer != LayerKind::Default);
                    for l in &mut under {
                        l.role = Role::Replaced;
                        l.note =
                            Some("the profile default, unused: the workload sets its own".into());
                    }
                    ans.layers.extend(under);
                }
                None => {
                    ans.notes.push(format!(
                        "container `{cn}` sets no resources.{rl}.{q}, so the profile's applies"
                    ));
                    ans.layers
                        .extend(profile_layers(cx, r, w, &["resources", rl, q], value));
                }
            }
        }
        [probe @ ("livenessProbe" | "readinessProbe"), prest @ ..] => {
            let written = if *probe == "livenessProbe" {
                &c.liveness_probe
            } else {
                &c.readiness_probe
            };
            match written {
                Some(p) => ans
                    .layers
                    .push(score_layer(file, &at(probe), value.clone(), &p.span)),
                None => {
                    ans.notes.push(format!(
                        "container `{cn}` declares no {probe}: the profile's default HTTP probe on the first service port applies"
                    ));
                    match prest {
                        ["httpGet", "path"] => {
                            ans.layers
                                .extend(profile_layers(cx, r, w, &["probe_path"], value))
                        }
                        ["httpGet", "port"] => {
                            let first = sw
                                .service
                                .as_ref()
                                .and_then(|s| w.ports.first().and_then(|rp| s.ports.get(&rp.name)));
                            match first {
                                Some(p) => {
                                    let s = p.target_port.as_ref().unwrap_or(&p.port);
                                    ans.layers.push(score_layer(
                                        file,
                                        &format!("service.ports.{}", p.name.value),
                                        json!(s.value),
                                        &s.span,
                                    ));
                                }
                                None => ans.layers.push(renderer(
                                    "renderer:resource",
                                    value,
                                    "the first service port",
                                )),
                            }
                        }
                        _ => {
                            ans.layers.extend(profile_layers(
                                cx,
                                r,
                                w,
                                &["probe_path"],
                                &json!(w.profile.probe_path),
                            ));
                        }
                    }
                }
            }
        }
        ["ports", pname, prest @ ..] => {
            let port = w.ports.iter().find(|p| {
                crate::resolve::dns_label(&p.name) == *pname || p.name.starts_with(*pname)
            });
            let mapped: Vec<&str> = match prest {
                ["containerPort"] => vec!["targetPort"],
                ["protocol"] => vec!["protocol"],
                _ => vec![],
            };
            match port {
                Some(p) => {
                    ans.notes.push(
                        "the service ports of the workload are the first container's ports".into(),
                    );
                    service_port(sw, &p.name, &mapped, value, ans);
                }
                None => ans.layers.push(renderer(
                    "renderer:resource",
                    value,
                    "the service ports of the workload",
                )),
            }
        }
        ["securityContext", "readOnlyRootFilesystem"] => {
            ans.layers.extend(profile_layers(
                cx,
                r,
                w,
                &["security", "read_only_root_filesystem"],
                value,
            ));
        }
        _ => ans.layers.push(renderer(
            "renderer:resource",
            value,
            "a fixed rule of the resource plane renderer (src/render/resource.rs)",
        )),
    }
}

#[allow(clippy::too_many_arguments)]
fn env_field(
    cx: &Cx<'_>,
    r: &EnvResult,
    w: &RWorkload,
    sw: &Workload,
    c: &model::Container,
    name: &str,
    value: &Value,
    ans: &mut FieldAnswer,
) {
    let file = sw.file.as_ref();
    let cn = c.name.value.as_str();
    if let Some(v) = c.variables.get(name) {
        ans.layers.push(score_layer(
            file,
            &format!("containers.{cn}.variables.{name}"),
            json!(v.value),
            &v.span,
        ));
        placeholder_layers(cx, r, w, sw, v, ans);
        return;
    }
    // A hidden variable holds one secret of a longer string; find the strings that use it.
    let mut users: Vec<(String, &Spanned<String>)> = Vec::new();
    for (n, v) in &c.variables {
        users.push((format!("variables.{n}"), v));
    }
    for (i, s) in c.command.iter().enumerate() {
        users.push((format!("command[{i}]"), s));
    }
    for (i, s) in c.args.iter().enumerate() {
        users.push((format!("args[{i}]"), s));
    }
    for (what, s) in users {
        let Ok(pieces) = split_placeholders(&s.value) else {
            continue;
        };
        for piece in pieces {
            if let Piece::Placeholder { path, .. } = piece
                && path.len() >= 2
                && crate::resolve::env_name_for(&path[1..].join("_")) == name
            {
                ans.notes.push(format!(
                    "`{name}` is a hidden variable: `{what}` uses a secret inside a longer string, which becomes `$({name})`"
                ));
                let mut l = score_layer(
                    file,
                    &format!("containers.{cn}.{what}"),
                    json!(s.value),
                    &s.span,
                );
                l.role = Role::Feeds;
                ans.layers.push(l);
                if let Some(pl) = resource_placeholder(cx, r, w, sw, &path) {
                    ans.layers.push(Layer {
                        role: Role::Sets,
                        ..pl
                    });
                }
                return;
            }
        }
    }
    ans.layers.push(renderer(
        "renderer:resource",
        value,
        "a variable the renderer adds",
    ));
}

/// One `feeds` layer per placeholder in a workload string.
fn placeholder_layers(
    cx: &Cx<'_>,
    r: &EnvResult,
    w: &RWorkload,
    sw: &Workload,
    s: &Spanned<String>,
    ans: &mut FieldAnswer,
) {
    let Ok(pieces) = split_placeholders(&s.value) else {
        return;
    };
    for piece in pieces {
        let Piece::Placeholder { path, .. } = piece else {
            continue;
        };
        match path.first().map(String::as_str) {
            Some("metadata") => {
                let node = path[1..].iter().try_fold(&sw.metadata, |n, k| n.get(k));
                ans.layers.push(Layer {
                    role: Role::Feeds,
                    layer: LayerKind::Workload,
                    origin: format!("{} (${{{}}})", sw.file, path.join(".")),
                    value: node.map(|n| n.to_json()),
                    location: node.map(|n| Location::span(&n.span)),
                    note: None,
                    field: None,
                });
            }
            Some("resources") => {
                if let Some(l) = resource_placeholder(cx, r, w, sw, &path) {
                    ans.layers.push(l);
                }
            }
            _ => {}
        }
    }
}

/// The layer behind `${resources.<key>.<output>}`: the instance and its provisioner's output,
/// or the called workload's Service.
fn resource_placeholder(
    cx: &Cx<'_>,
    r: &EnvResult,
    w: &RWorkload,
    sw: &Workload,
    path: &[String],
) -> Option<Layer> {
    let key = path.get(1)?;
    let output = path.get(2..).map(|p| p.join(".")).unwrap_or_default();
    let req_span = sw.resources.get(key).map(|q| &q.key.span);
    let shown = format!("${{{}}}", path.join("."));
    if let Some(ikey) = w.uses.get(key)
        && let Some(i) = r.resolution.instance(ikey)
    {
        let prov = cx
            .comp
            .platform
            .provisioners
            .iter()
            .find(|p| p.name == i.provisioner);
        let (val, how) = match i.outputs.get(&output) {
            Some(Output::Plain(s)) => (
                Some(json!(s)),
                prov.and_then(|p| p.outputs.get(&output))
                    .map(|t| format!("output `{output}` = template `{t}`")),
            ),
            Some(Output::Secret { secret, key }) => (
                Some(json!({"secretKeyRef": {"name": secret, "key": key}})),
                Some(format!(
                    "secret output `{output}`: a reference to key `{key}` of Secret `{secret}`, never its value"
                )),
            ),
            None if output.is_empty() => (
                Some(json!(i.name)),
                Some("the resource itself: its name".into()),
            ),
            None => (None, None),
        };
        let how = match (how, req_span) {
            (Some(h), Some(sp)) => Some(format!("{h}; requested at {sp}")),
            (h, _) => h,
        };
        return Some(Layer {
            role: Role::Feeds,
            layer: LayerKind::Provisioner,
            origin: format!(
                "{shown}: resource `{key}` → instance `{}` ({}) of provisioner `{}`",
                i.name, i.key, i.provisioner
            ),
            value: val,
            location: cx
                .provisioner_location(&i.provisioner)
                .or_else(|| req_span.map(Location::span)),
            note: how,
            field: None,
        });
    }
    let target = w.calls.iter().find(|c| {
        sw.resources
            .get(key)
            .and_then(|q| q.params.as_ref())
            .and_then(|p| p.get("name"))
            .map(|n| n.to_json())
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| key.clone())
            == **c
    })?;
    let ns = r
        .resolution
        .workload(target)
        .map(|t| t.namespace.clone())
        .unwrap_or_default();
    Some(Layer {
        role: Role::Feeds,
        layer: LayerKind::Workload,
        origin: format!("{shown}: resource `{key}` of type service → workload `{target}`"),
        value: None,
        location: req_span.map(Location::span),
        note: Some(format!(
            "`{output}` of the Service of `{target}` (`{target}.{ns}.svc.cluster.local`, its `http` or first port)"
        )),
        field: None,
    })
}

fn template_field(
    cx: &Cx<'_>,
    e: &Entry<'_>,
    via_rest: &str,
    keys: &[&str],
    value: &Value,
    ans: &mut FieldAnswer,
) {
    let (tname, prov) = match via_rest.split_once(" via provisioner:") {
        Some((t, p)) => (t, Some(p)),
        None => (via_rest, None),
    };
    let platform = &cx.comp.platform;
    let file = if cx.root.join("platform").join(tname).is_file() {
        format!("platform/{tname}")
    } else {
        format!("<template {tname}>")
    };
    let loc = platform
        .templates
        .get(tname)
        .and_then(|src| yaml_key_line(src, keys))
        .map(|(l, c)| Location::searched(&file, l, c))
        .or_else(|| Some(Location::file(&file)));
    ans.layers.push(Layer {
        role: Role::Sets,
        layer: LayerKind::Template,
        origin: format!("template {tname}"),
        value: Some(value.clone()),
        location: loc,
        note: Some(
            "rendered with the instance's context (resource params, env, cluster, team)".into(),
        ),
        field: None,
    });
    if let Some(p) = prov {
        let inst = e
            .obj
            .provenance
            .node
            .strip_prefix("resource:")
            .and_then(|k| e.env?.resolution.instance(k));
        // A value that is one of the instance's params most likely came from there.
        let param = inst.and_then(|i| {
            i.params
                .as_object()?
                .iter()
                .find(|(_, v)| *v == value && !value.is_boolean())
                .map(|(k, v)| (k.clone(), v.clone(), i))
        });
        if let Some((k, v, i)) = param {
            let from_request = i
                .context
                .pointer("/resource/key")
                .and_then(Value::as_str)
                .and_then(|rk| {
                    cx.comp
                        .workloads
                        .iter()
                        .find(|w| i.consumers.first() == Some(&w.name.value))?
                        .resources
                        .get(rk)?
                        .params
                        .as_ref()?
                        .get(&k)
                        .map(|n| n.span.clone())
                });
            ans.layers.push(Layer {
                role: Role::Feeds,
                layer: if from_request.is_some() {
                    LayerKind::Workload
                } else {
                    LayerKind::Provisioner
                },
                origin: match from_request {
                    Some(_) => format!("resource params `{k}` of the request"),
                    None => format!("provisioner {p} defaults `{k}`"),
                },
                value: Some(v),
                location: from_request
                    .as_ref()
                    .map(Location::span)
                    .or_else(|| cx.provisioner_location(p)),
                note: Some(
                    "the value equals this param; the template likely reads `resource.params`"
                        .into(),
                ),
                field: None,
            });
        }
        ans.layers.push(Layer {
            role: Role::Feeds,
            layer: LayerKind::Provisioner,
            origin: format!("provisioner {p}"),
            value: None,
            location: cx.provisioner_location(p),
            note: Some(format!(
                "matched the resource request and lists template `{tname}`"
            )),
            field: None,
        });
    }
}

/// The line and column of the YAML key path `keys` (map keys only: list items have no key in
/// the text) in a template's text, following block indentation.
fn yaml_key_line(src: &str, keys: &[&str]) -> Option<(u32, u32)> {
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (ln, line) in src.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("{%") {
            continue;
        }
        let mut indent = line.len() - trimmed.len();
        let mut body = trimmed;
        if let Some(rest) = body.strip_prefix("- ") {
            indent += 2;
            body = rest;
        }
        let Some((key, _)) = body.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches('"').trim_matches('\'');
        if key.is_empty() || key.contains(' ') || key.contains("{{") {
            continue;
        }
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, key.to_string()));
        if stack.len() == keys.len() && stack.iter().zip(keys).all(|((_, a), b)| a == b) {
            return Some(((ln + 1) as u32, (indent + 1) as u32));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_parse_keys_items_and_dotted_keys() {
        assert_eq!(
            parse_field("spec.template.spec.containers[web].env[DB_HOST].value").unwrap(),
            vec![
                Sel::Key("spec".into()),
                Sel::Key("template".into()),
                Sel::Key("spec".into()),
                Sel::Key("containers".into()),
                Sel::Bracket("web".into()),
                Sel::Key("env".into()),
                Sel::Bracket("DB_HOST".into()),
                Sel::Key("value".into()),
            ]
        );
        assert_eq!(
            parse_field("metadata.labels[app.kubernetes.io/name]").unwrap(),
            vec![
                Sel::Key("metadata".into()),
                Sel::Key("labels".into()),
                Sel::Bracket("app.kubernetes.io/name".into()),
            ]
        );
        assert!(parse_field("spec..replicas").is_err());
        assert!(parse_field("spec.containers[web").is_err());
    }

    #[test]
    fn walking_selects_items_by_name_and_suggests_fields() {
        let v = json!({"spec": {"replicas": 2, "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let (steps, val) = walk(&v, &parse_field("spec.containers[b].image").unwrap()).unwrap();
        assert_eq!(val, &json!("y"));
        assert_eq!(display_steps(&steps), "spec.containers[name=b].image");
        let err = walk(&v, &parse_field("spec.replica").unwrap()).unwrap_err();
        assert_eq!(err.message, "`spec` has no field `replica`");
        assert_eq!(err.help.as_deref(), Some("did you mean `replicas`?"));
    }

    #[test]
    fn template_keys_are_found_by_indentation() {
        let src = "apiVersion: v1\nkind: X\nmetadata:\n  name: {{ resource.name }}\nspec:\n  instances: {{ resource.params.instances }}\n  storage:\n    size: 1Gi\n";
        assert_eq!(yaml_key_line(src, &["spec", "instances"]), Some((6, 3)));
        assert_eq!(
            yaml_key_line(src, &["spec", "storage", "size"]),
            Some((8, 5))
        );
        assert_eq!(yaml_key_line(src, &["spec", "nope"]), None);
    }
}
