//! One dependency graph per environment across the planes. Ordering edges ("must exist before")
//! give sync waves and must be acyclic; communication edges ("talks to") give network policies
//! and may form cycles.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde_json::json;

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::{Plane, Platform};
use crate::resolve::{EnvResolution, Instance, RWorkload};

pub const EXTERNAL_SECRET_KIND: &str = "external-secrets.io/ExternalSecret";

#[derive(Debug, Clone, Copy, PartialEq, Hash, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    Namespace,
    Component,
    Resource,
    Workload,
}

impl NodeKind {
    /// Mermaid's opening and closing brackets for this kind of node (one look in every picture:
    /// workloads boxes, resources cylinders, components subroutines, namespaces hexagons).
    pub fn mermaid_shape(self) -> (&'static str, &'static str) {
        match self {
            NodeKind::Workload => ("[", "]"),
            NodeKind::Resource => ("[(", ")]"),
            NodeKind::Component => ("[[", "]]"),
            NodeKind::Namespace => ("{{", "}}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Hash, Eq, serde::Serialize)]
pub struct GNode {
    /// `workload:<name>`, `resource:<instance key>`, `component:<name>`, `namespace:<name>`.
    pub id: String,
    pub kind: NodeKind,
    pub plane: Plane,
    /// Short human name (workload name, instance name, ...).
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Hash, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    Ordering,
    Communication,
}

#[derive(Debug, Clone, Default)]
pub struct EnvGraph {
    pub env: String,
    pub graph: DiGraph<GNode, EdgeKind>,
    pub index: BTreeMap<String, NodeIndex>,
    /// Sync wave of every node: for each ordering edge a→b, `waves[b] > waves[a]`.
    pub waves: BTreeMap<String, u32>,
}

pub fn workload_id(name: &str) -> String {
    format!("workload:{name}")
}
pub fn resource_id(key: &str) -> String {
    format!("resource:{key}")
}
/// The instance key of a resource node id (the inverse of [`resource_id`]).
pub fn resource_key(id: &str) -> Option<&str> {
    id.strip_prefix("resource:")
}
pub fn component_id(name: &str) -> String {
    format!("component:{name}")
}
pub fn namespace_id(name: &str) -> String {
    format!("namespace:{name}")
}

/// Components installed on a cluster, by name.
pub fn components_on<'a>(platform: &'a Platform, cluster: &str) -> Vec<&'a str> {
    platform
        .components
        .iter()
        .filter(|(_, c)| c.clusters.is_empty() || c.clusters.iter().any(|x| x == cluster))
        .map(|(n, _)| n.as_str())
        .collect()
}

/// Kinds (`<group>/<Kind>`) a workload's rendered objects will include that some operator serves
/// (a ServiceMonitor, an ExternalSecret): the planes say, the graph orders them after it.
pub type KindsNeeded<'a> = &'a dyn Fn(&RWorkload) -> Vec<String>;

pub fn build(
    platform: &Platform,
    res: &EnvResolution,
    kinds_needed: KindsNeeded<'_>,
) -> Result<EnvGraph, Diagnostics> {
    let installed: BTreeSet<&str> = components_on(platform, &res.cluster).into_iter().collect();
    let provider = providers(platform, &installed);
    let mut parts = Parts::default();
    parts.add_components(platform, &installed);
    for w in &res.workloads {
        parts.add_workload(w, kinds_needed, &provider);
    }
    let mut diags = Diagnostics::new();
    for i in &res.instances {
        parts.add_instance(res, i, &installed, &provider, &mut diags);
    }
    parts.add_namespaces();
    let (graph, index) = parts.into_digraph();
    if !diags.is_empty() {
        return Err(diags);
    }
    let waves = waves(&graph).map_err(|cycle| cycle_error(&res.env, &cycle))?;
    Ok(EnvGraph {
        env: res.env.clone(),
        graph,
        index,
        waves,
    })
}

/// Which installed component serves each kind (the first by name when several do).
fn providers<'a>(
    platform: &'a Platform,
    installed: &BTreeSet<&'a str>,
) -> BTreeMap<&'a str, &'a str> {
    let mut provider: BTreeMap<&str, &str> = BTreeMap::new();
    for name in installed {
        for kind in &platform.components[*name].provides {
            provider.entry(kind.as_str()).or_insert(name);
        }
    }
    provider
}

/// Nodes and edges by id, gathered before any becomes a petgraph node, so that the graph's
/// indices follow the ids' order whatever order they were found in.
#[derive(Default)]
struct Parts {
    nodes: BTreeMap<String, GNode>,
    edges: BTreeSet<(String, String, EdgeKind)>,
    namespaces: BTreeSet<String>,
}

impl Parts {
    fn node(&mut self, id: String, kind: NodeKind, plane: Plane, name: String) {
        let node = GNode {
            id: id.clone(),
            kind,
            plane,
            name,
        };
        self.nodes.insert(id, node);
    }

    fn ordering(&mut self, from: String, to: String) {
        self.edges.insert((from, to, EdgeKind::Ordering));
    }

    fn add_components(&mut self, platform: &Platform, installed: &BTreeSet<&str>) {
        for name in installed {
            let c = &platform.components[*name];
            self.node(
                component_id(name),
                NodeKind::Component,
                c.plane,
                name.to_string(),
            );
            for r in &c.requires {
                self.ordering(component_id(r), component_id(name));
            }
        }
    }

    /// A workload after its namespace and the operators of the kinds its objects need; its
    /// calls as communication edges.
    fn add_workload(
        &mut self,
        w: &RWorkload,
        kinds_needed: KindsNeeded<'_>,
        provider: &BTreeMap<&str, &str>,
    ) {
        self.namespaces.insert(w.namespace.clone());
        for kind in kinds_needed(w) {
            if let Some(comp) = provider.get(kind.as_str()) {
                self.ordering(component_id(comp), workload_id(&w.name));
            }
        }
        self.node(
            workload_id(&w.name),
            NodeKind::Workload,
            Plane::Resource,
            w.name.clone(),
        );
        self.ordering(namespace_id(&w.namespace), workload_id(&w.name));
        for callee in w.calls() {
            self.edges.insert((
                workload_id(&w.name),
                workload_id(callee),
                EdgeKind::Communication,
            ));
        }
    }

    /// A resource after its namespace, the resources it needs and the components it requires
    /// (one not installed on the cluster is an error), before its consumers.
    fn add_instance(
        &mut self,
        res: &EnvResolution,
        i: &Instance,
        installed: &BTreeSet<&str>,
        provider: &BTreeMap<&str, &str>,
        diags: &mut Diagnostics,
    ) {
        self.namespaces.insert(i.namespace.clone());
        let id = resource_id(&i.key);
        if i.external_secret.is_some()
            && let Some(comp) = provider.get(EXTERNAL_SECRET_KIND)
        {
            self.ordering(component_id(comp), id.clone());
        }
        self.node(
            id.clone(),
            NodeKind::Resource,
            Plane::Resource,
            i.name.clone(),
        );
        self.ordering(namespace_id(&i.namespace), id.clone());
        for c in &i.consumers {
            self.ordering(id.clone(), workload_id(c));
        }
        for n in &i.needs {
            self.ordering(resource_id(n), id.clone());
        }
        for comp in &i.requires {
            if installed.contains(comp.as_str()) {
                self.ordering(component_id(comp), id.clone());
            } else {
                diags.push(
                    Diagnostic::at(
                        Code::InvalidValue,
                        &i.span,
                        format!(
                            "resource `{}` (provisioner `{}`) requires component `{comp}`, which is not installed on cluster `{}` of environment `{}`",
                            i.name, i.provisioner, res.cluster, res.env
                        ),
                    )
                    .with_help(format!("add `{}` to the clusters of component `{comp}`, or match another provisioner in this environment", res.cluster)),
                );
            }
        }
    }

    fn add_namespaces(&mut self) {
        for ns in std::mem::take(&mut self.namespaces) {
            self.node(namespace_id(&ns), NodeKind::Namespace, Plane::Resource, ns);
        }
    }

    /// The petgraph, nodes added in id order; edges between ids that have no node are dropped.
    fn into_digraph(self) -> (DiGraph<GNode, EdgeKind>, BTreeMap<String, NodeIndex>) {
        let mut graph = DiGraph::new();
        let mut index = BTreeMap::new();
        for (id, n) in self.nodes {
            index.insert(id, graph.add_node(n));
        }
        for (a, b, k) in &self.edges {
            if let (Some(&ia), Some(&ib)) = (index.get(a), index.get(b)) {
                graph.add_edge(ia, ib, *k);
            }
        }
        (graph, index)
    }
}

fn cycle_error(env: &str, cycle: &[String]) -> Diagnostics {
    Diagnostic::error(
        Code::OrderingCycle,
        None,
        format!(
            "ordering cycle in environment `{env}`: {}",
            cycle.join(" → ")
        ),
    )
    .with_help("ordering edges say what must exist first; remove one of these dependencies")
    .into()
}

/// Longest-path layering of the ordering edges; on a cycle, the node ids along it.
pub fn waves(graph: &DiGraph<GNode, EdgeKind>) -> Result<BTreeMap<String, u32>, Vec<String>> {
    let mut wave: BTreeMap<NodeIndex, u32> = BTreeMap::new();
    let mut state: BTreeMap<NodeIndex, u8> = BTreeMap::new();
    fn visit(
        g: &DiGraph<GNode, EdgeKind>,
        n: NodeIndex,
        state: &mut BTreeMap<NodeIndex, u8>,
        wave: &mut BTreeMap<NodeIndex, u32>,
        stack: &mut Vec<NodeIndex>,
    ) -> Result<u32, Vec<String>> {
        match state.get(&n) {
            Some(2) => return Ok(wave[&n]),
            Some(1) => {
                let start = stack.iter().position(|s| *s == n).unwrap_or(0);
                let mut cycle: Vec<String> =
                    stack[start..].iter().map(|i| g[*i].id.clone()).collect();
                cycle.push(g[n].id.clone());
                return Err(cycle);
            }
            _ => {}
        }
        state.insert(n, 1);
        stack.push(n);
        let mut preds: Vec<NodeIndex> = g
            .edges_directed(n, Direction::Incoming)
            .filter(|e| *e.weight() == EdgeKind::Ordering)
            .map(|e| e.source())
            .collect();
        preds.sort_by(|a, b| g[*a].id.cmp(&g[*b].id));
        let mut w = 0;
        for p in preds {
            w = w.max(visit(g, p, state, wave, stack)? + 1);
        }
        stack.pop();
        state.insert(n, 2);
        wave.insert(n, w);
        Ok(w)
    }
    let mut ids: Vec<NodeIndex> = graph.node_indices().collect();
    ids.sort_by(|a, b| graph[*a].id.cmp(&graph[*b].id));
    for n in ids {
        visit(graph, n, &mut state, &mut wave, &mut Vec::new())?;
    }
    Ok(wave
        .into_iter()
        .map(|(i, w)| (graph[i].id.clone(), w))
        .collect())
}

impl EnvGraph {
    fn sorted_edges(&self) -> Vec<(&GNode, &GNode, EdgeKind)> {
        let mut v: Vec<_> = self
            .graph
            .edge_references()
            .map(|e| {
                (
                    &self.graph[e.source()],
                    &self.graph[e.target()],
                    *e.weight(),
                )
            })
            .collect();
        v.sort_by(|a, b| (&a.0.id, &a.1.id, a.2).cmp(&(&b.0.id, &b.1.id, b.2)));
        v
    }

    fn sorted_nodes(&self) -> Vec<&GNode> {
        self.index.values().map(|i| &self.graph[*i]).collect()
    }

    /// Ordering-edge predecessors and successors of a node.
    pub fn neighbours(&self, id: &str, kind: EdgeKind, dir: Direction) -> Vec<&GNode> {
        let Some(&i) = self.index.get(id) else {
            return Vec::new();
        };
        let mut v: Vec<&GNode> = self
            .graph
            .edges_directed(i, dir)
            .filter(|e| *e.weight() == kind)
            .map(|e| {
                &self.graph[if dir == Direction::Incoming {
                    e.source()
                } else {
                    e.target()
                }]
            })
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "environment": self.env,
            "nodes": self.sorted_nodes().iter().map(|n| json!({
                "id": n.id, "kind": n.kind, "plane": n.plane, "name": n.name, "wave": self.waves.get(&n.id),
            })).collect::<Vec<_>>(),
            "edges": self.sorted_edges().iter().map(|(a, b, k)| json!({"from": a.id, "to": b.id, "kind": k})).collect::<Vec<_>>(),
        })
    }

    pub fn to_dot(&self) -> String {
        let mut s = format!("digraph \"{}\" {{\n  rankdir=LR;\n", self.env);
        for n in self.sorted_nodes() {
            let shape = match n.kind {
                NodeKind::Workload => "box",
                NodeKind::Resource => "cylinder",
                NodeKind::Component => "component",
                NodeKind::Namespace => "folder",
            };
            let _ = writeln!(
                s,
                "  \"{}\" [label=\"{}\\n{} · wave {}\", shape={shape}];",
                n.id,
                n.name,
                n.plane.as_str(),
                self.waves.get(&n.id).copied().unwrap_or(0)
            );
        }
        for (a, b, k) in self.sorted_edges() {
            let style = match k {
                EdgeKind::Ordering => "solid",
                EdgeKind::Communication => "dashed",
            };
            let _ = writeln!(
                s,
                "  \"{}\" -> \"{}\" [style={style}, label=\"{}\"];",
                a.id,
                b.id,
                edge_label(k)
            );
        }
        s.push_str("}\n");
        s
    }

    pub fn to_mermaid(&self) -> String {
        let ids: BTreeMap<&str, String> = self
            .sorted_nodes()
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), format!("n{i}")))
            .collect();
        let mut s = String::from("flowchart LR\n");
        for n in self.sorted_nodes() {
            let (open, close) = n.kind.mermaid_shape();
            let _ = writeln!(
                s,
                "  {}{open}\"{}<br/>{}\"{close}",
                ids[n.id.as_str()],
                n.name,
                n.plane.as_str()
            );
        }
        for (a, b, k) in self.sorted_edges() {
            let arrow = match k {
                EdgeKind::Ordering => "-->",
                EdgeKind::Communication => "-.->",
            };
            let _ = writeln!(
                s,
                "  {} {arrow}|{}| {}",
                ids[a.id.as_str()],
                edge_label(k),
                ids[b.id.as_str()]
            );
        }
        s
    }
}

fn edge_label(k: EdgeKind) -> &'static str {
    match k {
        EdgeKind::Ordering => "before",
        EdgeKind::Communication => "calls",
    }
}

/// Sync waves of the components of one cluster (their Applications live in the cluster's root).
pub fn component_waves(
    platform: &Platform,
    cluster: &str,
) -> Result<BTreeMap<String, u32>, Diagnostics> {
    let mut graph = DiGraph::new();
    let mut index = BTreeMap::new();
    for name in components_on(platform, cluster) {
        let c = &platform.components[name];
        index.insert(
            name.to_string(),
            graph.add_node(GNode {
                id: component_id(name),
                kind: NodeKind::Component,
                plane: c.plane,
                name: name.to_string(),
            }),
        );
    }
    for (name, &i) in &index {
        for r in &platform.components[name].requires {
            if let Some(&j) = index.get(r) {
                graph.add_edge(j, i, EdgeKind::Ordering);
            }
        }
    }
    waves(&graph)
        .map(|w| {
            w.into_iter()
                .map(|(id, w)| (id.trim_start_matches("component:").to_string(), w))
                .collect()
        })
        .map_err(|cycle| {
            Diagnostic::error(
                Code::OrderingCycle,
                None,
                format!(
                    "components require each other in a cycle: {}",
                    cycle.join(" → ")
                ),
            )
            .into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str) -> GNode {
        GNode {
            id: id.into(),
            kind: NodeKind::Workload,
            plane: Plane::Resource,
            name: id.into(),
        }
    }

    #[test]
    fn waves_follow_ordering_edges_only() {
        let mut g = DiGraph::new();
        let a = g.add_node(node("a"));
        let b = g.add_node(node("b"));
        let c = g.add_node(node("c"));
        g.add_edge(a, b, EdgeKind::Ordering);
        g.add_edge(b, c, EdgeKind::Ordering);
        g.add_edge(a, c, EdgeKind::Ordering);
        g.add_edge(c, a, EdgeKind::Communication);
        let w = waves(&g).unwrap();
        assert_eq!((w["a"], w["b"], w["c"]), (0, 1, 2));
    }

    #[test]
    fn ordering_cycle_is_named_whole() {
        let mut g = DiGraph::new();
        let a = g.add_node(node("a"));
        let b = g.add_node(node("b"));
        let c = g.add_node(node("c"));
        g.add_edge(a, b, EdgeKind::Ordering);
        g.add_edge(b, c, EdgeKind::Ordering);
        g.add_edge(c, a, EdgeKind::Ordering);
        let err = waves(&g).unwrap_err();
        assert_eq!(err.first(), err.last());
        assert_eq!(err.len(), 4);
        for n in ["a", "b", "c"] {
            assert!(err.contains(&n.to_string()));
        }
    }

    proptest::proptest! {
        /// For random DAGs plus random communication edges (which may form cycles), every
        /// ordering edge a→b has wave(b) > wave(a), and a node with no ordering predecessor is
        /// in wave 0.
        #[test]
        fn waves_respect_every_ordering_edge(
            n in 1usize..30,
            raw in proptest::collection::vec((0usize..30, 0usize..30, proptest::bool::ANY), 0..80),
        ) {
            let mut g = DiGraph::new();
            let idx: Vec<NodeIndex> = (0..n).map(|i| g.add_node(node(&format!("n{i:02}")))).collect();
            for (a, b, ordering) in raw {
                let (a, b) = (a % n, b % n);
                if ordering {
                    // Only forward edges keep the ordering subgraph acyclic.
                    if a < b { g.add_edge(idx[a], idx[b], EdgeKind::Ordering); }
                } else {
                    g.add_edge(idx[a], idx[b], EdgeKind::Communication);
                }
            }
            let w = waves(&g).unwrap();
            for e in g.edge_references() {
                if *e.weight() == EdgeKind::Ordering {
                    proptest::prop_assert!(w[&g[e.target()].id] > w[&g[e.source()].id]);
                }
            }
            for i in &idx {
                let has_pred = g.edges_directed(*i, Direction::Incoming).any(|e| *e.weight() == EdgeKind::Ordering);
                if !has_pred { proptest::prop_assert_eq!(w[&g[*i].id], 0); }
            }
        }
    }
}
