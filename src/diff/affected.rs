//! The part of each environment's graph a diff touches: which nodes caused the changed objects,
//! and a Mermaid picture of them with their neighbours.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::visit::EdgeRef;

use super::ChangeKind;
use super::Diff;
use super::paths::{app_of_path, env_of_path};
use crate::graph::{EdgeKind, EnvGraph, GNode};
use crate::pipeline::Compilation;

/// The graph nodes one environment's changes touch, with how.
#[derive(Debug, Clone, Default)]
pub struct Affected<'a> {
    pub env: String,
    pub new: Option<&'a EnvGraph>,
    pub old: Option<&'a EnvGraph>,
    /// Node id → added (only in the new rendering), removed, or changed.
    pub nodes: BTreeMap<String, ChangeKind>,
}

/// Environment → node id → how its objects changed.
type NodesPerEnv = BTreeMap<String, BTreeMap<String, BTreeSet<ChangeKind>>>;

/// Which graph nodes caused the changed objects, per environment in promotion order: from the
/// provenance of the fresh compilation and, for removed objects, of the old one when there is
/// one (`--base`); otherwise from the path (`envs/<env>/<workload>/`).
pub fn affected<'a>(
    diff: &Diff,
    new: &'a Compilation,
    old: Option<&'a Compilation>,
) -> Vec<Affected<'a>> {
    let per_env = nodes_per_env(diff, new, old);
    let env_names = new.envs.iter().map(|e| e.resolution.env.as_str()).chain(
        old.iter()
            .flat_map(|o| o.envs.iter().map(|e| e.resolution.env.as_str())),
    );
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for env in env_names {
        if !seen.insert(env) {
            continue;
        }
        if let Some(nodes) = per_env.get(env) {
            out.push(affected_in(env, nodes, new, old));
        }
    }
    out
}

/// Object path → (environment, graph node) from a compilation's provenance.
fn node_of_path(c: &Compilation) -> BTreeMap<&str, (&str, &str)> {
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
}

fn nodes_per_env(diff: &Diff, new: &Compilation, old: Option<&Compilation>) -> NodesPerEnv {
    let new_nodes = node_of_path(new);
    let old_nodes = old.map(node_of_path).unwrap_or_default();
    let mut per_env = NodesPerEnv::new();
    for c in &diff.changes {
        let found = new_nodes
            .get(c.path.as_str())
            .or_else(|| old_nodes.get(c.path.as_str()))
            .map(|(e, n)| (e.to_string(), n.to_string()))
            .or_else(|| workload_of_path(&c.path, new));
        if let Some((env, node)) = found {
            per_env
                .entry(env)
                .or_default()
                .entry(node)
                .or_default()
                .insert(c.change);
        }
    }
    per_env
}

/// No provenance (a directory or a published tree): the workload directory the file is in.
fn workload_of_path(path: &str, new: &Compilation) -> Option<(String, String)> {
    let env = env_of_path(path)?;
    let app = app_of_path(path)?;
    let g = new.envs.iter().find(|e| e.graph.env == env)?;
    let id = crate::graph::workload_id(app);
    g.graph
        .index
        .contains_key(&id)
        .then(|| (env.to_string(), id))
}

fn affected_in<'a>(
    env: &str,
    nodes: &BTreeMap<String, BTreeSet<ChangeKind>>,
    new: &'a Compilation,
    old: Option<&'a Compilation>,
) -> Affected<'a> {
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
    Affected {
        env: env.to_string(),
        new: gnew,
        old: gold,
        nodes,
    }
}

/// Beyond this many nodes a picture is no longer read; neighbours are then left out.
const MERMAID_MAX_NODES: usize = 60;

/// Nodes by id, and edges `(from, to, kind)`.
type Chart<'g> = (
    BTreeMap<String, &'g GNode>,
    BTreeSet<(String, String, EdgeKind)>,
);

/// A Mermaid flowchart of the affected nodes and their one-hop neighbours (both edge kinds), the
/// affected ones styled by how they changed. `None` when nothing in the graph is affected.
pub fn affected_mermaid(a: &Affected<'_>) -> Option<String> {
    let (nodes, edges) = chart(a)?;
    Some(write_chart(a, &nodes, &edges))
}

/// The affected nodes found in either graph, with their neighbours while the picture stays
/// small enough.
fn chart<'g>(a: &Affected<'g>) -> Option<Chart<'g>> {
    let graphs = || [a.new, a.old].into_iter().flatten();
    let mut shown: BTreeMap<String, &'g GNode> = BTreeMap::new();
    for id in a.nodes.keys() {
        if let Some(n) = graphs().find_map(|g| g.index.get(id).map(|&i| &g.graph[i])) {
            shown.insert(id.clone(), n);
        }
    }
    if shown.is_empty() {
        return None;
    }
    let mut edges: BTreeSet<(String, String, EdgeKind)> = BTreeSet::new();
    let mut with_neighbours = shown.clone();
    for id in shown.keys() {
        for g in graphs() {
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
    (nodes.len() <= MERMAID_MAX_NODES).then_some((nodes, edges))
}

fn write_chart(
    a: &Affected<'_>,
    nodes: &BTreeMap<String, &GNode>,
    edges: &BTreeSet<(String, String, EdgeKind)>,
) -> String {
    let ids: BTreeMap<&str, String> = nodes
        .keys()
        .enumerate()
        .map(|(i, id)| (id.as_str(), format!("n{i}")))
        .collect();
    let mut s = String::from("flowchart LR\n");
    for (id, n) in nodes {
        let (open, close) = n.kind.mermaid_shape();
        let label = n.name.replace('"', "#quot;");
        let _ = writeln!(
            s,
            "  {}{open}\"{label}<br/>{}\"{close}",
            ids[id.as_str()],
            n.plane.as_str()
        );
    }
    for (from, to, k) in edges {
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
    s
}
