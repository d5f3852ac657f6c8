//! Workloads as the Score loader builds them, with the spans of everything a later error may
//! point at.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diag::{Span, Spanned};
use crate::yaml::Node;

/// Annotation keys through which a Score file carries platc's choices.
pub const ANN_TEAM: &str = "platc.dev/team";
pub const ANN_PROFILE: &str = "platc.dev/profile";

#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub name: Spanned<String>,
    /// Workspace-relative path of the file it came from.
    pub file: Arc<str>,
    /// The whole `metadata` mapping, for `${metadata.*}` placeholders.
    pub metadata: Node,
    pub annotations: BTreeMap<String, Spanned<String>>,
    pub team: Option<Spanned<String>>,
    pub profile: Option<Spanned<String>>,
    pub containers: BTreeMap<String, Container>,
    pub service: Option<Service>,
    pub resources: BTreeMap<String, ResourceRequest>,
    /// `x-`-prefixed top-level extension fields, kept as written.
    pub extensions: BTreeMap<String, Node>,
    /// Other files the workload's output depends on (`files.*.source`), workspace-relative,
    /// sorted: the build cache hashes them with the workload file.
    pub read_files: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub name: Spanned<String>,
    pub image: Spanned<String>,
    pub command: Vec<Spanned<String>>,
    pub args: Vec<Spanned<String>>,
    pub variables: BTreeMap<String, Spanned<String>>,
    /// Keyed by target path.
    pub files: BTreeMap<String, ContainerFile>,
    /// Keyed by target path.
    pub volumes: BTreeMap<String, ContainerVolume>,
    /// Containers this one starts before, each with the state it must reach before that one
    /// starts (`started`/`healthy`/`complete`).
    pub before: BTreeMap<String, Spanned<String>>,
    pub resources: Option<ContainerResources>,
    pub liveness_probe: Option<Probe>,
    pub readiness_probe: Option<Probe>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerFile {
    pub target: Spanned<String>,
    /// Octal mode as written (`"0600"`).
    pub mode: Option<Spanned<String>>,
    pub content: FileContent,
    pub no_expand: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FileContent {
    /// Inline text, or the text of a `source` file read by the loader (placeholders expand
    /// unless `no_expand`).
    Text(Spanned<String>),
    /// Base64 as written; never expanded.
    Binary(Spanned<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerVolume {
    pub target: Spanned<String>,
    /// Usually a placeholder naming a resource: `${resources.data}`.
    pub source: Spanned<String>,
    pub path: Option<Spanned<String>>,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerResources {
    pub limits: QuantitySpec,
    pub requests: QuantitySpec,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuantitySpec {
    pub cpu: Option<Spanned<String>>,
    pub memory: Option<Spanned<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub span: Span,
    pub http_get: Option<HttpProbe>,
    pub exec: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpProbe {
    pub host: Option<Spanned<String>>,
    pub scheme: Option<Spanned<String>>,
    pub path: Spanned<String>,
    pub port: Spanned<u16>,
    pub headers: Vec<(Spanned<String>, Spanned<String>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub ports: BTreeMap<String, ServicePort>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServicePort {
    pub name: Spanned<String>,
    pub port: Spanned<u16>,
    pub target_port: Option<Spanned<u16>>,
    /// `TCP` (default), `UDP` or `SCTP`.
    pub protocol: Option<Spanned<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRequest {
    /// The key under `resources:` (how placeholders name it).
    pub key: Spanned<String>,
    pub resource_type: Spanned<String>,
    pub class: Option<Spanned<String>>,
    pub id: Option<Spanned<String>>,
    /// May contain placeholders in its strings.
    pub params: Option<Node>,
    pub annotations: BTreeMap<String, Spanned<String>>,
    /// The whole `metadata` mapping as written.
    pub metadata: Option<Node>,
}
