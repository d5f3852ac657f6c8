//! The platform as `platform/main.ncl` evaluates it: environments, clusters, teams, components,
//! policies, the GitOps layout and the planes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Provisioner;
use super::profile::yes;

/// The whole platform, as `platform/main.ncl` evaluates it (after the stdlib's `Platform`
/// contract has checked it and filled its defaults).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    pub name: String,
    /// Globs (relative to the workspace root) that find workload files.
    #[serde(default = "default_globs")]
    pub workloads: Vec<String>,
    pub gitops: GitOps,
    pub clusters: BTreeMap<String, Cluster>,
    pub environments: BTreeMap<String, Environment>,
    pub teams: BTreeMap<String, Team>,
    /// The team of workloads that no annotation names and no team's `paths` claims.
    #[serde(default)]
    pub default_team: Option<String>,
    /// Raw profiles: resolve deep-merges profile, environment overrides and workload choices, then
    /// reads the result as a [`Profile`].
    pub profiles: BTreeMap<String, Value>,
    pub default_profile: String,
    /// Profile name → globs of the workload files that follow it (see `ownership`).
    #[serde(default)]
    pub profile_paths: BTreeMap<String, Vec<String>>,
    /// In order: the first provisioner whose rules match a resource request wins.
    pub provisioners: Vec<Provisioner>,
    #[serde(default)]
    pub components: BTreeMap<String, Component>,
    #[serde(default)]
    pub policies: Vec<Policy>,
    /// JSON Schemas of kinds the platform renders, by `<apiVersion>/<kind>`
    /// (`monitoring.coreos.com/v1/ServiceMonitor`); `platc check` validates objects of those
    /// kinds against them (see `schema`).
    #[serde(default)]
    pub schemas: BTreeMap<String, Value>,
    /// Template name → minijinja source. Filled by the loader (stdlib templates under
    /// `platc/...`, the platform's own by their path relative to `platform/`); not from Nickel.
    #[serde(skip)]
    pub templates: BTreeMap<String, String>,
    /// Every Nickel file the evaluation read, relative to the workspace (stdlib files as
    /// `<stdlib>/...`). For provenance and cache keys.
    #[serde(skip)]
    pub sources: Vec<String>,
    /// Where each value was written, by field path (`environments.prod.overrides.replicas` →
    /// `platform/environments.ncl:28:18`), from the evaluator's own positions.
    #[serde(skip)]
    pub positions: Positions,
}

/// Field path → where its value was written in the platform's Nickel (or the stdlib, for a
/// contract's default). Left out of the platform's `Debug`, which salts the render memo: a value
/// that only moved to another line (a comment added above it) renders nothing differently.
#[derive(Clone, Default, PartialEq)]
pub struct Positions(pub BTreeMap<String, crate::diag::Span>);

impl std::fmt::Debug for Positions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Positions(..)")
    }
}

pub fn default_globs() -> Vec<String> {
    vec!["**/score.yaml".into(), "**/*.score.yaml".into()]
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GitOps {
    /// The repository Argo CD syncs the rendered tree from.
    pub repo_url: String,
    #[serde(default = "default_revision")]
    pub target_revision: String,
    /// Directory of the rendered tree inside that repository ("" for its root).
    #[serde(default)]
    pub path: String,
    /// Namespace where Argo CD runs (Applications and AppProjects live there).
    #[serde(default = "default_argocd_ns")]
    pub argocd_namespace: String,
    /// How objects become files (see [`Layout`]).
    #[serde(default)]
    pub layout: Layout,
}

/// How rendered objects become files of the GitOps tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// One object per file, `<kind>-<name>.yaml`: the smallest diffs, one file per object.
    #[default]
    Files,
    /// One multi-document `manifest.yaml` per application directory (every directory under
    /// `envs/` and every `argocd/**/apps/`), as Argo CD's source hydrator writes: about a tenth of
    /// the files for a large platform.
    Manifest,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Files => "files",
            Layout::Manifest => "manifest",
        }
    }

    pub fn parse(s: &str) -> Option<Layout> {
        match s {
            "files" => Some(Layout::Files),
            "manifest" => Some(Layout::Manifest),
            _ => None,
        }
    }

    /// The file an object's own path (`envs/dev/web/deployment-web.yaml`) is written to. Text
    /// files (READMEs) keep their path.
    pub fn file_of(self, object_path: &str) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        if self == Layout::Files || !object_path.ends_with(".yaml") {
            return Cow::Borrowed(object_path);
        }
        match object_path.rsplit_once('/') {
            Some((dir, _))
                if dir.starts_with("envs/")
                    || (dir.starts_with("argocd/") && dir.ends_with("/apps")) =>
            {
                Cow::Owned(format!("{dir}/{MANIFEST_FILE}"))
            }
            _ => Cow::Borrowed(object_path),
        }
    }
}

/// The file name of an application directory in the `manifest` layout.
pub const MANIFEST_FILE: &str = "manifest.yaml";

fn default_revision() -> String {
    "main".into()
}
fn default_argocd_ns() -> String {
    "argocd".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Argo CD destination server URL.
    pub server: String,
    /// Base DNS domain for routes and dns resources in this cluster.
    pub domain: String,
    /// How routes are exposed.
    #[serde(default)]
    pub routes: RouteKind,
    #[serde(default)]
    pub ingress_class: Option<String>,
    /// Gateway API parent (`namespace/name`) when `routes = 'httproute`.
    #[serde(default)]
    pub gateway: Option<GatewayRef>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    #[default]
    Ingress,
    Httproute,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayRef {
    pub name: String,
    pub namespace: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// `development`, `staging` or `production`; provisioner rules match on it.
    #[serde(rename = "type")]
    pub env_type: String,
    pub cluster: String,
    /// Position in promotion order (dev before staging before prod); ties broken by name.
    #[serde(default)]
    pub order: u32,
    /// Partial profile applied on top of every profile in this environment.
    #[serde(default)]
    pub overrides: Value,
    /// Partial profiles applied on top of the named profile only, after `overrides`.
    #[serde(default)]
    pub profile_overrides: BTreeMap<String, Value>,
    /// Pod Security admission level for namespaces of this environment.
    #[serde(default = "default_pod_security")]
    pub pod_security: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_pod_security() -> String {
    "baseline".into()
}

#[derive(Debug, Clone, PartialEq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    pub owners: Vec<String>,
    /// Identity-provider group of the team (RBAC subjects, Argo CD project roles).
    #[serde(default)]
    pub group: Option<String>,
    /// Base of the team's namespaces: the namespace in environment `e` is `<namespace>-<e>`.
    pub namespace: String,
    /// Name of the team's Argo CD AppProject.
    pub project: String,
    /// Globs of the workload files the team owns (see `ownership`).
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A platform service (operator, controller, portal) installed per cluster as an Argo CD
/// Application.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub plane: Plane,
    pub namespace: String,
    #[serde(default)]
    pub chart: Option<Chart>,
    /// Clusters it is installed on; empty means every cluster.
    #[serde(default)]
    pub clusters: Vec<String>,
    /// Other components that must exist first.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Kinds (`<group>/<Kind>`, e.g. `monitoring.coreos.com/ServiceMonitor`) it serves: objects of
    /// those kinds sync after it.
    #[serde(default)]
    pub provides: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    pub repo_url: String,
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub values: Value,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub envs: Vec<String>,
    #[serde(default)]
    pub params: Value,
    /// `false` switches a built-in policy off.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Message of a platform-defined policy whose `check` returns `false`. (The `check` function
    /// itself is not exported; `policy::nickel` evaluates it.)
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Plane {
    DeveloperControl,
    Delivery,
    Monitoring,
    Security,
    Resource,
}

impl Plane {
    pub fn as_str(self) -> &'static str {
        match self {
            Plane::DeveloperControl => "developer-control",
            Plane::Delivery => "delivery",
            Plane::Monitoring => "monitoring",
            Plane::Security => "security",
            Plane::Resource => "resource",
        }
    }
}
