//! The object of an answer: the file it is in, what caused it (its graph node's workload,
//! resource instance, team namespace or component, located by Score spans and the platform's
//! Nickel positions) and its node in each environment graph.

use petgraph::Direction;
use serde_json::Value;

use super::answer::{Explanation, GraphNode, Location, NodeRef};
use super::targets::{Entry, object_id};
use crate::graph::{EdgeKind, GNode};
use crate::model::Workload;
use crate::pipeline::{Compilation, EnvResult};

/// What the answer about one object reads.
pub(super) struct Cx<'a> {
    pub(super) comp: &'a Compilation,
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
}

pub(super) fn describe(cx: &Cx<'_>, e: &Entry<'_>) -> Explanation {
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
