//! The shape of an answer of `platc explain`, as the CLI prints it and `--format json` writes
//! it: the object, its cause and graph node, and a field's layers.

use serde::Serialize;
use serde_json::Value;

use crate::diag::Span;

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
    pub(super) fn span(s: &Span) -> Location {
        Location {
            file: s.file.to_string(),
            line: Some(s.line),
            col: Some(s.col),
            how: LocationHow::Span,
        }
    }
    pub(super) fn file(f: &str) -> Location {
        Location {
            file: f.to_string(),
            line: None,
            col: None,
            how: LocationHow::File,
        }
    }
    pub(super) fn searched(f: &str, line: u32, col: u32) -> Location {
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
