//! `platc diff`: what a change to the platform or the workloads does to the rendered tree, object
//! by object, for review in a pull request.
//!
//! Three sources for the "before" side: a directory holding a rendered tree, the same workspace at
//! another Git revision (read from Git's object store into a temporary directory, never through
//! the user's working tree or index), or the tree published on a branch of a GitOps repository.
//! Both sides are parsed, so reformatting and key order are not changes; objects are matched by
//! file path and, inside multi-document files, by apiVersion/kind/namespace/name. Secret values
//! are masked before anything is turned into text. Nothing here prints.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::visit::EdgeRef;
use serde_json::{Value, json};

use crate::graph::{EdgeKind, EnvGraph, GNode};
use crate::pipeline::Compilation;

/// Relative `/`-separated path → bytes: one side of a comparison.
pub type Files = BTreeMap<String, Vec<u8>>;

/// What a masked secret value reads.
pub const MASK: &str = "***";
const MASK_CHANGED: &str = "*** (changed)";

/// GitHub refuses comments over 65,536 characters; this leaves room for a bot's own header.
pub const MARKDOWN_BUDGET: usize = 60_000;

mod source;
pub use source::*;

/// Keeps only the files of the given environments (`envs/<e>/`, `argocd/<e>/`): with `--env`,
/// the platform-wide files depend on which environments were compiled and would all differ.
pub fn only_envs(files: &mut Files, envs: &[String]) {
    if envs.is_empty() {
        return;
    }
    files.retain(|p, _| env_of_path(p).is_some_and(|e| envs.iter().any(|x| x == e)));
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Changed,
    Removed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Changed => "changed",
            ChangeKind::Removed => "removed",
        }
    }
}

/// One object (or one non-YAML file) that differs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub path: String,
    /// `None` for a file that is not YAML (a README) or that does not parse.
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub environment: Option<String>,
    /// The application directory (`envs/<env>/<app>/`, `argocd/<env>/apps/<app>.yaml`).
    pub app: Option<String>,
    pub plane: Option<String>,
    pub change: ChangeKind,
    /// Changed field paths (`spec.template.spec.containers[name=api].image`), only for `changed`
    /// objects; empty for text files.
    pub fields: Vec<String>,
    /// The same fields with their old and new values (`null` where the field is absent on that
    /// side), secrets masked as in the text output.
    pub values: Vec<FieldChange>,
}

/// One changed field of a changed object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldChange {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// One file that differs, as the masked canonical text of both sides (empty when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    pub path: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Sorted by path, then kind, namespace, name.
    pub changes: Vec<Change>,
    /// Sorted by path.
    pub files: Vec<FileDiff>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    /// Files that differ.
    pub files: usize,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            files: self.files.len(),
            ..Summary::default()
        };
        for c in &self.changes {
            match c.change {
                ChangeKind::Added => s.added += 1,
                ChangeKind::Changed => s.changed += 1,
                ChangeKind::Removed => s.removed += 1,
            }
        }
        s
    }

    /// Gives text files (READMEs), which carry no plane label, the plane of the object that
    /// rendered them.
    pub fn fill_planes(&mut self, comp: &Compilation) {
        let planes: BTreeMap<&str, &str> = comp
            .objects()
            .map(|o| (o.path.as_str(), o.plane.as_str()))
            .collect();
        for c in &mut self.changes {
            if c.plane.is_none()
                && let Some(p) = planes.get(c.path.as_str())
            {
                c.plane = Some(p.to_string());
            }
        }
    }
}

/// A YAML document with what identifies it.
/// apiVersion, kind, namespace, name.
type DocKey = (String, String, String, String);

struct Doc {
    key: DocKey,
    value: Value,
}

fn is_yaml(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml")
}

/// The documents of a YAML file, or `None` when it is not YAML or does not parse (then it is
/// compared as text).
fn parse_docs(path: &str, bytes: &[u8]) -> Option<Vec<Doc>> {
    if !is_yaml(path) {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let nodes = crate::yaml::read::parse_stream(path, text).ok()?;
    let mut docs: Vec<Doc> = nodes
        .iter()
        .map(|n| n.to_json())
        .filter(|v| !v.is_null())
        .map(|value| Doc {
            key: (
                str_at(&value, "/apiVersion"),
                str_at(&value, "/kind"),
                str_at(&value, "/metadata/namespace"),
                str_at(&value, "/metadata/name"),
            ),
            value,
        })
        .collect();
    // Document order inside a file is not meaningful to Kubernetes.
    docs.sort_by(|a, b| a.key.cmp(&b.key));
    Some(docs)
}

fn str_at(v: &Value, ptr: &str) -> String {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// `envs/<env>/…` and `argocd/<env>/…` (but not `argocd/projects`, `argocd/clusters`).
fn env_of_path(path: &str) -> Option<&str> {
    let mut parts = path.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("envs"), Some(e), Some(_)) => Some(e),
        (Some("argocd"), Some(e), Some(_)) if e != "projects" && e != "clusters" => Some(e),
        _ => None,
    }
}

/// The application a file belongs to: the workload, resource instance or namespace directory
/// under `envs/<env>/`, or the node an Application in `argocd/<env>/apps/` deploys.
fn app_of_path(path: &str) -> Option<&str> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["envs", _, "_resources" | "_namespaces", name, _, ..] => Some(name),
        ["envs", _, app, _, ..] => Some(app),
        ["argocd", env, "apps", file] => {
            let stem = file.strip_suffix(".yaml").unwrap_or(file);
            let stem = stem
                .strip_prefix(env)
                .and_then(|s| s.strip_prefix('-'))
                .unwrap_or(stem);
            Some(
                stem.strip_prefix("res-")
                    .or_else(|| stem.strip_prefix("ns-"))
                    .unwrap_or(stem),
            )
        }
        _ => None,
    }
}

fn change_of(path: &str, value: Option<&Value>, change: ChangeKind, fields: Vec<String>) -> Change {
    let s = |p: &str| value.map(|v| str_at(v, p)).and_then(|x| opt(&x));
    Change {
        path: path.to_string(),
        kind: s("/kind"),
        name: s("/metadata/name"),
        namespace: s("/metadata/namespace"),
        environment: s("/metadata/labels/platc.dev~1environment")
            .or_else(|| env_of_path(path).map(str::to_string)),
        app: app_of_path(path).map(str::to_string),
        plane: s("/metadata/labels/platc.dev~1plane"),
        change,
        fields,
        values: Vec::new(),
    }
}

/// Compares two trees object by object.
pub fn diff_trees(old: &Files, new: &Files) -> Diff {
    let mut diff = Diff::default();
    let paths: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for path in paths {
        let (o, n) = (old.get(path), new.get(path));
        if o == n {
            continue;
        }
        let od = o.map(|b| parse_docs(path, b));
        let nd = n.map(|b| parse_docs(path, b));
        match (od, nd) {
            (Some(Some(od)), Some(Some(nd))) => diff_docs(&mut diff, path, Some(od), Some(nd)),
            (None, Some(Some(nd))) => diff_docs(&mut diff, path, None, Some(nd)),
            (Some(Some(od)), None) => diff_docs(&mut diff, path, Some(od), None),
            _ => diff_text(&mut diff, path, o, n),
        }
    }
    diff.changes.sort_by(|a, b| {
        (&a.path, &a.kind, &a.namespace, &a.name).cmp(&(&b.path, &b.kind, &b.namespace, &b.name))
    });
    diff
}

fn diff_text(diff: &mut Diff, path: &str, old: Option<&Vec<u8>>, new: Option<&Vec<u8>>) {
    let change = match (old, new) {
        (None, _) => ChangeKind::Added,
        (_, None) => ChangeKind::Removed,
        _ => ChangeKind::Changed,
    };
    let mut c = change_of(path, None, change, Vec::new());
    c.environment = env_of_path(path).map(str::to_string);
    diff.changes.push(c);
    diff.files.push(FileDiff {
        path: path.to_string(),
        old: old.map(|b| String::from_utf8_lossy(b).into_owned()),
        new: new.map(|b| String::from_utf8_lossy(b).into_owned()),
    });
}

fn diff_docs(diff: &mut Diff, path: &str, old: Option<Vec<Doc>>, new: Option<Vec<Doc>>) {
    let mut by_key: BTreeMap<DocKey, (Vec<&Value>, Vec<&Value>)> = BTreeMap::new();
    for d in old.iter().flatten() {
        by_key.entry(d.key.clone()).or_default().0.push(&d.value);
    }
    for d in new.iter().flatten() {
        by_key.entry(d.key.clone()).or_default().1.push(&d.value);
    }
    let before = diff.changes.len();
    for (olds, news) in by_key.values() {
        // Two documents with one identity in one file are matched in order.
        for i in 0..olds.len().max(news.len()) {
            match (olds.get(i), news.get(i)) {
                (Some(o), Some(n)) => {
                    // On the masked sides: a changed secret reads `*** (changed)`, never its value.
                    let mut values = Vec::new();
                    field_changes(
                        Some(&masked(o, None)),
                        Some(&masked(n, Some(o))),
                        "",
                        &mut values,
                    );
                    if !values.is_empty() {
                        let mut c = change_of(path, Some(n), ChangeKind::Changed, Vec::new());
                        c.fields = values.iter().map(|v| v.path.clone()).collect();
                        c.values = values;
                        diff.changes.push(c);
                    }
                }
                (None, Some(n)) => {
                    diff.changes
                        .push(change_of(path, Some(n), ChangeKind::Added, Vec::new()))
                }
                (Some(o), None) => {
                    diff.changes
                        .push(change_of(path, Some(o), ChangeKind::Removed, Vec::new()))
                }
                (None, None) => {}
            }
        }
    }
    if diff.changes.len() == before {
        return;
    }
    let text = |docs: &[Doc], other: Option<&Vec<Doc>>| -> String {
        docs.iter()
            .map(|d| {
                let counterpart = other
                    .and_then(|o| o.iter().find(|x| x.key == d.key))
                    .map(|x| &x.value);
                crate::yaml::write::to_yaml(&masked(&d.value, counterpart))
            })
            .collect::<Vec<_>>()
            .join("---\n")
    };
    diff.files.push(FileDiff {
        path: path.to_string(),
        old: old.as_deref().map(|d| text(d, None)),
        new: new.as_deref().map(|d| text(d, old.as_ref())),
    });
}

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

// ---------------------------------------------------------------------------------------------
// Masking
// ---------------------------------------------------------------------------------------------

/// A name that says its value is a secret.
pub fn secret_looking(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["password", "secret", "token", "key", "credential"]
        .iter()
        .any(|w| n.contains(w))
}

/// `value` with every secret value replaced by `***`: all of `data`/`stringData` of a `Secret`,
/// every `stringData` entry, and the `value` of every `{name, value}` entry (env variables)
/// whose name looks secret. With `other` (the other side of a comparison), a masked value that
/// differs there reads `*** (changed)`, so a rotated secret still shows in a diff.
pub fn masked(value: &Value, other: Option<&Value>) -> Value {
    let mut v = value.clone();
    let is_secret = value.get("kind").and_then(Value::as_str) == Some("Secret");
    if let Value::Object(m) = &mut v
        && is_secret
    {
        // `stringData` of any object is masked by the walk below; masking it here as well
        // compared the masked text with the other side's value and called every entry changed.
        if let Some(Value::Object(entries)) = m.get_mut("data") {
            mask_all(entries, other.and_then(|o| o.get("data")));
        }
    }
    mask_walk(&mut v, other);
    v
}

fn mask_leaf(v: &mut Value, other: Option<&Value>) {
    let changed = other.is_some_and(|o| o != v);
    *v = Value::String(if changed { MASK_CHANGED } else { MASK }.to_string());
}

fn mask_all(entries: &mut serde_json::Map<String, Value>, other: Option<&Value>) {
    for (k, v) in entries.iter_mut() {
        mask_leaf(v, other.and_then(|o| o.get(k)));
    }
}

fn mask_walk(v: &mut Value, other: Option<&Value>) {
    match v {
        Value::Object(m) => {
            let env_like = m
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(secret_looking)
                && m.contains_key("value");
            if env_like && let Some(val) = m.get_mut("value") {
                mask_leaf(val, other.and_then(|o| o.get("value")));
            }
            for (k, child) in m.iter_mut() {
                let o = other.and_then(|o| o.get(k));
                if k == "stringData"
                    && let Value::Object(entries) = child
                {
                    mask_all(entries, o);
                } else if !(env_like && k == "value") {
                    mask_walk(child, o);
                }
            }
        }
        Value::Array(items) => {
            let others: Option<&Vec<Value>> = other.and_then(Value::as_array);
            for (i, item) in items.iter_mut().enumerate() {
                let counterpart = match (others, item.get("name").and_then(Value::as_str)) {
                    (Some(os), Some(n)) => os
                        .iter()
                        .find(|o| o.get("name").and_then(Value::as_str) == Some(n)),
                    (Some(os), None) => os.get(i),
                    (None, _) => None,
                };
                mask_walk(item, counterpart);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------

/// One line: "2 objects changed, 1 added, 1 removed in 3 files" or "no changes".
pub fn summary_line(diff: &Diff) -> String {
    let s = diff.summary();
    if diff.is_empty() {
        return "no changes".into();
    }
    format!(
        "{} changed, {} added, {} removed in {} file{}",
        s.changed,
        s.added,
        s.removed,
        s.files,
        if s.files == 1 { "" } else { "s" }
    )
}

/// A unified diff of one file's masked canonical text.
pub fn unified(f: &FileDiff) -> String {
    let old = f.old.as_deref().unwrap_or("");
    let new = f.new.as_deref().unwrap_or("");
    let a = if f.old.is_some() {
        format!("a/{}", f.path)
    } else {
        "/dev/null".into()
    };
    let b = if f.new.is_some() {
        format!("b/{}", f.path)
    } else {
        "/dev/null".into()
    };
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&a, &b)
        .to_string()
}

/// The summary line, then every file's unified diff; ANSI colours when `colour`.
pub fn to_text(diff: &Diff, colour: bool) -> String {
    let mut s = summary_line(diff);
    s.push('\n');
    for f in &diff.files {
        for line in unified(f).lines() {
            let code = if !colour {
                None
            } else if line.starts_with("+++") || line.starts_with("---") {
                Some("1")
            } else if line.starts_with('+') {
                Some("32")
            } else if line.starts_with('-') {
                Some("31")
            } else if line.starts_with("@@") {
                Some("36")
            } else {
                None
            };
            match code {
                Some(c) => {
                    let _ = writeln!(s, "\x1b[{c}m{line}\x1b[0m");
                }
                None => {
                    s.push_str(line);
                    s.push('\n');
                }
            }
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

/// `{summary: {added, changed, removed, files}, changes: [...]}`, changes sorted by path.
pub fn to_json(diff: &Diff) -> Value {
    json!({
        "summary": diff.summary(),
        "changes": diff.changes,
    })
}

// ---------------------------------------------------------------------------------------------
// Graph of the affected part
// ---------------------------------------------------------------------------------------------

/// The graph nodes one environment's changes touch, with how.
#[derive(Debug, Clone, Default)]
pub struct Affected<'a> {
    pub env: String,
    pub new: Option<&'a EnvGraph>,
    pub old: Option<&'a EnvGraph>,
    /// Node id → added (only in the new rendering), removed, or changed.
    pub nodes: BTreeMap<String, ChangeKind>,
}

/// Which graph nodes caused the changed objects, per environment in promotion order: from the
/// provenance of the fresh compilation and, for removed objects, of the old one when there is
/// one (`--base`); otherwise from the path (`envs/<env>/<workload>/`).
pub fn affected<'a>(
    diff: &Diff,
    new: &'a Compilation,
    old: Option<&'a Compilation>,
) -> Vec<Affected<'a>> {
    let node_of = |c: &'a Compilation| -> BTreeMap<&'a str, (&'a str, &'a str)> {
        c.envs
            .iter()
            .flat_map(|e| {
                e.objects
                    .iter()
                    .filter(|o| !o.provenance.node.is_empty())
                    .map(move |o| {
                        (
                            o.path.as_str(),
                            (e.resolution.env.as_str(), o.provenance.node.as_str()),
                        )
                    })
            })
            .collect()
    };
    let new_nodes = node_of(new);
    let old_nodes = old.map(node_of).unwrap_or_default();
    let mut per_env: BTreeMap<String, BTreeMap<String, BTreeSet<ChangeKind>>> = BTreeMap::new();
    for c in &diff.changes {
        let found = new_nodes
            .get(c.path.as_str())
            .or_else(|| old_nodes.get(c.path.as_str()))
            .map(|(e, n)| (e.to_string(), n.to_string()));
        let found = found.or_else(|| {
            // No provenance (a directory or a published tree): the workload directory.
            let env = env_of_path(&c.path)?;
            let app = app_of_path(&c.path)?;
            let g = new.envs.iter().find(|e| e.graph.env == env)?;
            let id = crate::graph::workload_id(app);
            g.graph
                .index
                .contains_key(&id)
                .then(|| (env.to_string(), id))
        });
        if let Some((env, node)) = found {
            per_env
                .entry(env)
                .or_default()
                .entry(node)
                .or_default()
                .insert(c.change);
        }
    }
    let mut out = Vec::new();
    let env_names: Vec<&str> = new
        .envs
        .iter()
        .map(|e| e.resolution.env.as_str())
        .chain(
            old.iter()
                .flat_map(|o| o.envs.iter().map(|e| e.resolution.env.as_str())),
        )
        .collect();
    let mut seen = BTreeSet::new();
    for env in env_names {
        if !seen.insert(env) {
            continue;
        }
        let Some(nodes) = per_env.get(env) else {
            continue;
        };
        let gnew = new
            .envs
            .iter()
            .find(|e| e.graph.env == env)
            .map(|e| &e.graph);
        let gold = old.and_then(|o| o.envs.iter().find(|e| e.graph.env == env).map(|e| &e.graph));
        let nodes = nodes
            .iter()
            .map(|(id, kinds)| {
                let in_new = gnew.is_some_and(|g| g.index.contains_key(id));
                let in_old = gold.is_some_and(|g| g.index.contains_key(id));
                let k = if old.is_some() && in_new && !in_old {
                    ChangeKind::Added
                } else if !in_new {
                    ChangeKind::Removed
                } else if kinds.len() == 1 && kinds.contains(&ChangeKind::Added) {
                    ChangeKind::Added
                } else {
                    ChangeKind::Changed
                };
                (id.clone(), k)
            })
            .collect();
        out.push(Affected {
            env: env.to_string(),
            new: gnew,
            old: gold,
            nodes,
        });
    }
    out
}

/// Beyond this many nodes a picture is no longer read; neighbours are then left out.
const MERMAID_MAX_NODES: usize = 60;

/// A Mermaid flowchart of the affected nodes and their one-hop neighbours (both edge kinds), the
/// affected ones styled by how they changed. `None` when nothing in the graph is affected.
pub fn affected_mermaid(a: &Affected<'_>) -> Option<String> {
    let lookup = |id: &str| -> Option<(&GNode, &EnvGraph)> {
        for g in [a.new, a.old].into_iter().flatten() {
            if let Some(&i) = g.index.get(id) {
                return Some((&g.graph[i], g));
            }
        }
        None
    };
    let mut shown: BTreeMap<String, &GNode> = BTreeMap::new();
    let mut edges: BTreeSet<(String, String, EdgeKind)> = BTreeSet::new();
    for id in a.nodes.keys() {
        if let Some((n, _)) = lookup(id) {
            shown.insert(id.clone(), n);
        }
    }
    if shown.is_empty() {
        return None;
    }
    let mut with_neighbours = shown.clone();
    for id in shown.keys() {
        for g in [a.new, a.old].into_iter().flatten() {
            let Some(&i) = g.index.get(id) else { continue };
            for dir in [Direction::Outgoing, Direction::Incoming] {
                for e in g.graph.edges_directed(i, dir) {
                    let (s, t) = (&g.graph[e.source()], &g.graph[e.target()]);
                    edges.insert((s.id.clone(), t.id.clone(), *e.weight()));
                    with_neighbours.entry(s.id.clone()).or_insert(s);
                    with_neighbours.entry(t.id.clone()).or_insert(t);
                }
            }
        }
    }
    let nodes = if with_neighbours.len() <= MERMAID_MAX_NODES {
        with_neighbours
    } else {
        edges.retain(|(s, t, _)| shown.contains_key(s) && shown.contains_key(t));
        shown
    };
    if nodes.len() > MERMAID_MAX_NODES {
        return None;
    }
    let ids: BTreeMap<&str, String> = nodes
        .keys()
        .enumerate()
        .map(|(i, id)| (id.as_str(), format!("n{i}")))
        .collect();
    let mut s = String::from("flowchart LR\n");
    for (id, n) in &nodes {
        let (open, close) = n.kind.mermaid_shape();
        let label = n.name.replace('"', "#quot;");
        let _ = writeln!(
            s,
            "  {}{open}\"{label}<br/>{}\"{close}",
            ids[id.as_str()],
            n.plane.as_str()
        );
    }
    for (from, to, k) in &edges {
        let (Some(a), Some(b)) = (ids.get(from.as_str()), ids.get(to.as_str())) else {
            continue;
        };
        let arrow = match k {
            EdgeKind::Ordering => "-->|before|",
            EdgeKind::Communication => "-.->|calls|",
        };
        let _ = writeln!(s, "  {a} {arrow} {b}");
    }
    s.push_str("  classDef added fill:#dafbe1,stroke:#1a7f37,stroke-width:2px\n");
    s.push_str("  classDef changed fill:#fff8c5,stroke:#9a6700,stroke-width:2px\n");
    s.push_str(
        "  classDef removed fill:#ffebe9,stroke:#cf222e,stroke-width:2px,stroke-dasharray:4\n",
    );
    for kind in [ChangeKind::Added, ChangeKind::Changed, ChangeKind::Removed] {
        let members: Vec<&str> = a
            .nodes
            .iter()
            .filter(|(id, k)| **k == kind && ids.contains_key(id.as_str()))
            .map(|(id, _)| ids[id.as_str()].as_str())
            .collect();
        if !members.is_empty() {
            let _ = writeln!(s, "  class {} {}", members.join(","), kind.as_str());
        }
    }
    Some(s)
}

// ---------------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------------

pub struct MarkdownOptions<'a> {
    /// What was compared with, shown in the heading (`` `HEAD~1` ``, a directory).
    pub against: String,
    /// Total size the comment must stay under.
    pub budget: usize,
    pub graphs: Vec<Affected<'a>>,
}

fn cell(s: Option<&str>) -> String {
    match s {
        Some(s) => s.replace('|', "\\|"),
        None => "—".into(),
    }
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A fence longer than any run of backticks inside `body`.
fn fence(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

fn object_label(c: &Change) -> String {
    match (&c.kind, &c.name) {
        (Some(k), Some(n)) => match &c.namespace {
            Some(ns) => format!("{k} {ns}/{n}"),
            None => format!("{k} {n}"),
        },
        _ => "file".into(),
    }
}

/// A pull-request comment: heading, a table of changes per environment, app and plane, one
/// `<details>` block per file with its diff, and the affected part of each environment's graph.
/// Blocks that do not fit in `budget` are left out and listed in a note.
pub fn to_markdown(diff: &Diff, opts: &MarkdownOptions<'_>) -> String {
    let s = diff.summary();
    let mut head = format!("### platc diff against {}\n\n", opts.against);
    if diff.is_empty() {
        head.push_str("No changes to the rendered tree.\n");
        return head;
    }
    let _ = writeln!(
        head,
        "**{}** changed, **{}** added, **{}** removed in {} file{}.\n",
        s.changed,
        s.added,
        s.removed,
        s.files,
        if s.files == 1 { "" } else { "s" }
    );
    // (environment, app, plane) → added, changed, removed.
    type Row<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);
    let mut rows: BTreeMap<Row<'_>, [usize; 3]> = BTreeMap::new();
    for c in &diff.changes {
        let r = rows
            .entry((
                c.environment.as_deref(),
                c.app.as_deref(),
                c.plane.as_deref(),
            ))
            .or_default();
        r[match c.change {
            ChangeKind::Added => 0,
            ChangeKind::Changed => 1,
            ChangeKind::Removed => 2,
        }] += 1;
    }
    head.push_str(
        "| environment | app | plane | added | changed | removed |\n|---|---|---|--:|--:|--:|\n",
    );
    for ((e, a, p), [ad, ch, rm]) in &rows {
        let _ = writeln!(
            head,
            "| {} | {} | {} | {ad} | {ch} | {rm} |",
            cell(*e),
            cell(*a),
            cell(*p)
        );
    }
    head.push('\n');

    let mut graph_part = String::new();
    for g in &opts.graphs {
        if let Some(m) = affected_mermaid(g) {
            let _ = write!(
                graph_part,
                "#### Affected graph: {}\n\n```mermaid\n{m}```\n\n",
                g.env
            );
        }
    }
    // The picture is cheap to keep and says the most; drop it only if it alone is too big.
    if graph_part.len() > opts.budget / 3 {
        graph_part = "#### Affected graph\n\n_Left out: too large for a comment; run `platc graph --format mermaid` locally._\n".into();
    }

    let mut by_path: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for c in &diff.changes {
        by_path.entry(c.path.as_str()).or_default().push(c);
    }
    let blocks: Vec<(String, String)> = diff
        .files
        .iter()
        .map(|f| {
            let changes = by_path.get(f.path.as_str()).cloned().unwrap_or_default();
            let what: Vec<String> = changes
                .iter()
                .map(|c| format!("{} {}", c.change.as_str(), object_label(c)))
                .collect();
            let mut b = format!(
                "<details><summary><code>{}</code>: {}</summary>\n\n",
                html(&f.path),
                html(&what.join(", "))
            );
            let fields: Vec<String> = changes
                .iter()
                .flat_map(|c| c.fields.iter())
                .map(|p| format!("`{}`", p.replace('`', "'")))
                .collect();
            if !fields.is_empty() {
                let _ = writeln!(b, "Changed fields: {}\n", fields.join(", "));
            }
            let body = unified(f);
            let fence = fence(&body);
            let _ = write!(b, "{fence}diff\n{body}");
            if !body.ends_with('\n') {
                b.push('\n');
            }
            let _ = write!(b, "{fence}\n\n</details>\n\n");
            (f.path.clone(), b)
        })
        .collect();

    // Room for the note naming what was left out.
    const NOTE_RESERVE: usize = 2_000;
    let mut out = head;
    let mut left_out: Vec<&str> = Vec::new();
    for (path, b) in &blocks {
        if left_out.is_empty()
            && out.len() + b.len() + graph_part.len() + NOTE_RESERVE <= opts.budget
        {
            out.push_str(b);
        } else {
            left_out.push(path);
        }
    }
    if !left_out.is_empty() {
        let mut note = format!(
            "> **Truncated:** the diffs of {} file{} are left out to stay under the comment size limit; run `platc diff` locally for the full diff. Left out: ",
            left_out.len(),
            if left_out.len() == 1 { "" } else { "s" }
        );
        let mut listed = 0;
        for p in &left_out {
            if note.len() + p.len() + 40 > NOTE_RESERVE {
                break;
            }
            let _ = write!(note, "{}`{p}`", if listed == 0 { "" } else { ", " });
            listed += 1;
        }
        if listed < left_out.len() {
            let _ = write!(note, " and {} more", left_out.len() - listed);
        }
        note.push_str(".\n\n");
        out.push_str(&note);
    }
    out.push_str(&graph_part);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(entries: &[(&str, &str)]) -> Files {
        entries
            .iter()
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
            .collect()
    }

    const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: team-dev\n  labels:\n    platc.dev/environment: dev\n    platc.dev/plane: resource\nspec:\n  template:\n    spec:\n      containers:\n      - name: api\n        image: api:1\n        env:\n        - name: DB_PASSWORD\n          value: hunter2\n        - name: MODE\n          value: fast\n      - name: sidecar\n        image: side:1\n";

    #[test]
    fn key_order_and_formatting_are_not_changes() {
        let reordered = "kind: Deployment\napiVersion: apps/v1\nmetadata: {namespace: team-dev, name: api, labels: {platc.dev/plane: resource, platc.dev/environment: dev}}\nspec:\n  template:\n    spec:\n      containers:\n        - image: \"api:1\"\n          name: api\n          env: [{name: DB_PASSWORD, value: hunter2}, {value: fast, name: MODE}]\n        - {name: sidecar, image: side:1}\n";
        let d = diff_trees(
            &files(&[("envs/dev/api/deployment-api.yaml", DEPLOY)]),
            &files(&[("envs/dev/api/deployment-api.yaml", reordered)]),
        );
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn changed_fields_match_list_items_by_name() {
        let new = DEPLOY
            .replace("image: api:1", "image: api:2")
            .replace("value: fast", "value: slow");
        let d = diff_trees(
            &files(&[("envs/dev/api/deployment-api.yaml", DEPLOY)]),
            &files(&[("envs/dev/api/deployment-api.yaml", &new)]),
        );
        assert_eq!(d.changes.len(), 1);
        let c = &d.changes[0];
        assert_eq!(c.change, ChangeKind::Changed);
        assert_eq!(c.kind.as_deref(), Some("Deployment"));
        assert_eq!(c.environment.as_deref(), Some("dev"));
        assert_eq!(c.app.as_deref(), Some("api"));
        assert_eq!(c.plane.as_deref(), Some("resource"));
        assert_eq!(
            c.fields,
            vec![
                "spec.template.spec.containers[name=api].env[name=MODE].value",
                "spec.template.spec.containers[name=api].image",
            ]
        );
    }

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

    #[test]
    fn multi_document_files_match_by_identity() {
        let a = "kind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\ndata: {x: '1'}\n---\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: b}\ndata: {x: '1'}\n";
        let b = "kind: ConfigMap\napiVersion: v1\nmetadata: {name: b}\ndata: {x: '2'}\n---\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\n";
        let d = diff_trees(&files(&[("m.yaml", a)]), &files(&[("m.yaml", b)]));
        let got: Vec<(String, ChangeKind)> = d
            .changes
            .iter()
            .map(|c| (c.name.clone().unwrap_or_default(), c.change))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a".into(), ChangeKind::Removed),
                ("b".into(), ChangeKind::Changed),
                ("c".into(), ChangeKind::Added)
            ]
        );
        assert_eq!(d.changes[1].fields, vec!["data.x"]);
    }

    #[test]
    fn secrets_are_masked_and_a_rotation_still_shows() {
        let secret_old = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: b2xk}\nstringData: {token: old-token}\n";
        let secret_new = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: bmV3}\nstringData: {token: old-token}\n";
        let new_deploy = DEPLOY.replace("hunter2", "correcthorse");
        let d = diff_trees(
            &files(&[("s.yaml", secret_old), ("envs/dev/api/d.yaml", DEPLOY)]),
            &files(&[("s.yaml", secret_new), ("envs/dev/api/d.yaml", &new_deploy)]),
        );
        let text = to_text(&d, false);
        for secret in ["b2xk", "bmV3", "old-token", "hunter2", "correcthorse"] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
        assert!(text.contains("+  password: \"*** (changed)\""), "{text}");
        // The unchanged `stringData` entry reads unchanged on both sides.
        assert!(!text.contains("token: \"*** (changed)\""), "{text}");
        assert!(text.contains("-  password: \"***\""), "{text}");
        assert!(text.contains("value: \"*** (changed)\""), "{text}");
        assert_eq!(
            d.changes[0].fields,
            vec!["spec.template.spec.containers[name=api].env[name=DB_PASSWORD].value"]
        );
        assert_eq!(d.changes[1].fields, vec!["data.password"]);
    }

    #[test]
    fn text_files_compare_as_text_and_yaml_that_does_not_parse_too() {
        let d = diff_trees(
            &files(&[("README.md", "a\n"), ("envs/dev/x/bad.yaml", "a: [\n")]),
            &files(&[("README.md", "b\n")]),
        );
        assert_eq!(
            d.summary(),
            Summary {
                added: 0,
                changed: 1,
                removed: 1,
                files: 2
            }
        );
        assert!(d.changes.iter().all(|c| c.kind.is_none()));
        assert_eq!(d.changes[1].environment.as_deref(), Some("dev"));
        assert!(unified(&d.files[0]).contains("-a\n+b\n"));
    }

    #[test]
    fn markdown_is_truncated_under_the_budget_with_a_note() {
        let mut old = Files::new();
        let mut new = Files::new();
        for i in 0..50 {
            let p = format!("envs/dev/app{i:02}/configmap-x.yaml");
            let body = |v: &str| {
                format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata:\n{}",
                    (0..40)
                        .map(|j| format!("  k{j}: {v}{j}\n"))
                        .collect::<String>()
                )
            };
            old.insert(p.clone(), body("old").into_bytes());
            new.insert(p, body("new").into_bytes());
        }
        let d = diff_trees(&old, &new);
        let md = to_markdown(
            &d,
            &MarkdownOptions {
                against: "`x`".into(),
                budget: 10_000,
                graphs: Vec::new(),
            },
        );
        assert!(md.len() <= 10_000, "{}", md.len());
        assert!(md.contains("**Truncated:**"), "{md}");
        assert!(md.contains("| dev | app49 | — | 0 | 1 | 0 |"), "{md}");
        assert!(md.contains("<details><summary><code>envs/dev/app00/configmap-x.yaml</code>"));
        assert!(!md.contains("<details><summary><code>envs/dev/app49/"));
    }

    #[test]
    fn apps_come_from_the_layout() {
        assert_eq!(
            app_of_path("envs/dev/cart/deployment-cart.yaml"),
            Some("cart")
        );
        assert_eq!(
            app_of_path("envs/dev/_resources/cart-cache/service-cart-cache.yaml"),
            Some("cart-cache")
        );
        assert_eq!(
            app_of_path("envs/dev/_namespaces/payments-dev/namespace-payments-dev.yaml"),
            Some("payments-dev")
        );
        assert_eq!(app_of_path("argocd/dev/apps/dev-cart.yaml"), Some("cart"));
        assert_eq!(
            app_of_path("argocd/dev/apps/dev-res-cart-cache.yaml"),
            Some("cart-cache")
        );
        assert_eq!(app_of_path("argocd/dev/root.yaml"), None);
        assert_eq!(app_of_path("catalog/storefront/component-cart.yaml"), None);
    }

    #[test]
    fn fences_outgrow_backticks_in_the_body() {
        assert_eq!(fence("a ``` b"), "````");
        assert_eq!(fence("plain"), "```");
    }

    #[test]
    fn only_envs_keeps_environment_files() {
        let mut f = files(&[
            ("envs/dev/a/x.yaml", ""),
            ("envs/prod/a/x.yaml", ""),
            ("argocd/dev/root.yaml", ""),
            ("argocd/projects/p.yaml", ""),
            ("README.md", ""),
        ]);
        only_envs(&mut f, &["dev".into()]);
        assert_eq!(
            f.keys().collect::<Vec<_>>(),
            vec!["argocd/dev/root.yaml", "envs/dev/a/x.yaml"]
        );
    }
}
