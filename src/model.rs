//! The typed intermediate representation: what the loaders produce and every later stage reads.
//! Plain data, no I/O. Platform types deserialize from the exported Nickel value; workload types
//! are built by the Score loader and keep the spans of everything a later error may point at.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diag::{Span, Spanned};
use crate::yaml::Node;

// ---------------------------------------------------------------------------------------------
// Platform (from Nickel)
// ---------------------------------------------------------------------------------------------

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

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
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

/// A profile after merging: the golden-path settings one workload gets in one environment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub kind: WorkloadKind,
    #[serde(default = "one")]
    pub replicas: u32,
    /// Cron schedule, for `kind = 'cronjob`.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Default container resources when the workload sets none.
    #[serde(default)]
    pub resources: ResourceDefaults,
    #[serde(default)]
    pub hpa: Option<Hpa>,
    #[serde(default)]
    pub pdb: Option<Pdb>,
    /// Default HTTP probe path for containers that declare no probe but whose workload has a port.
    #[serde(default)]
    pub probe_path: Option<String>,
    #[serde(default)]
    pub metrics: Option<Metrics>,
    /// Service-level objectives; the monitoring plane turns them into alerting rules.
    #[serde(default)]
    pub slo: Option<Slo>,
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    Deployment,
    Cronjob,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceDefaults {
    #[serde(default)]
    pub requests: Quantities,
    #[serde(default)]
    pub limits: Quantities,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Quantities {
    #[serde(default)]
    pub cpu: Option<String>,
    #[serde(default)]
    pub memory: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hpa {
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub target_cpu_utilization: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pdb {
    /// Either a count or a percentage such as `"50%"`.
    pub min_available: Value,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    pub port: String,
    #[serde(default = "metrics_path")]
    pub path: String,
}

fn metrics_path() -> String {
    "/metrics".into()
}

/// Objectives over the conventional HTTP metrics (`http_requests_total` with a `code` label,
/// `http_request_duration_seconds` histogram) of a scraped workload, for a 30-day window.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Percentage of requests that must not fail with a 5xx, e.g. `99.9`.
    #[serde(default)]
    pub availability: Option<f64>,
    #[serde(default)]
    pub latency: Option<LatencySlo>,
    /// Runbook link of every alert; `{alert}`, `{workload}`, `{team}` and `{environment}` are
    /// replaced.
    #[serde(default)]
    pub runbook_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySlo {
    /// Percentile of requests that must be faster than `threshold_ms`, e.g. `99`.
    #[serde(default = "p99")]
    pub percentile: f64,
    pub threshold_ms: u32,
}

fn p99() -> f64 {
    99.0
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    #[serde(default = "yes")]
    pub run_as_non_root: bool,
    #[serde(default = "yes")]
    pub read_only_root_filesystem: bool,
    #[serde(default)]
    pub run_as_user: Option<u32>,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            run_as_non_root: true,
            read_only_root_filesystem: true,
            run_as_user: None,
        }
    }
}

fn yes() -> bool {
    true
}

/// How one kind of resource request is satisfied. Matching: `type` equal, and each of `class`,
/// `id`, `env_types`, `envs` either unset/empty (matches anything) or containing the request's
/// value.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Provisioner {
    /// Unique name, for provenance and messages.
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub env_types: Vec<String>,
    #[serde(default)]
    pub envs: Vec<String>,
    /// Output name → minijinja expression template producing the value (see `render::context`).
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
    /// Outputs whose values are secret: they become `secretKeyRef`s to the named Secret/key,
    /// never literal values.
    #[serde(default)]
    pub secret_outputs: BTreeMap<String, SecretOutput>,
    /// When set, the Secret holding the secret outputs is materialised by an `ExternalSecret` from
    /// this store instead of being created by an operator.
    #[serde(default)]
    pub external_secret: Option<ExternalSecretSpec>,
    /// Names of templates (in `Platform::templates`) that render this resource's manifests.
    #[serde(default)]
    pub manifests: Vec<String>,
    /// Platform components (operators) that must exist before this resource.
    #[serde(default)]
    pub requires: Vec<String>,
    /// The params a request may give; anything else is refused (see `resolve::params`).
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
    /// Defaults of optional params, deep-merged under the request's params.
    #[serde(default)]
    pub defaults: Value,
    /// Where consumers connect to the resource (network policies). Absent: derived from the
    /// `port` and `host` outputs when there are such outputs.
    #[serde(default)]
    pub network: Option<ResourceNetwork>,
    #[serde(default)]
    pub description: Option<String>,
}

/// One param a provisioner accepts.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    #[serde(rename = "type", default)]
    pub param_type: ParamType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    #[default]
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
    Any,
}

impl ParamType {
    /// How messages name the type (`an integer`).
    pub fn article(self) -> &'static str {
        match self {
            ParamType::String => "a string",
            ParamType::Integer => "an integer",
            ParamType::Number => "a number",
            ParamType::Boolean => "a boolean",
            ParamType::Array => "a list",
            ParamType::Object => "a mapping",
            ParamType::Any => "any value",
        }
    }
}

/// How consumers of a provisioned resource reach it; every string is a template rendered with
/// the resource's context.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceNetwork {
    /// Served outside the cluster (a managed database, a SaaS API): consumers may reach public
    /// addresses on `ports`.
    #[serde(default)]
    pub external: bool,
    /// Namespace of the serving pods (default: the instance's namespace).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Labels of the serving pods, as their operator sets them; empty selects the namespace.
    #[serde(default)]
    pub pods: BTreeMap<String, String>,
    /// TCP ports consumers connect to (default: the `port` output).
    #[serde(default)]
    pub ports: Vec<String>,
    /// Port on the serving pods that Prometheus scrapes, if any.
    #[serde(default)]
    pub metrics_port: Option<String>,
    /// The serving pods call the Kubernetes API (operator instance managers, peer discovery).
    #[serde(default)]
    pub kube_api: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretOutput {
    /// Template of the Secret's name.
    pub secret: String,
    /// Key in that Secret.
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalSecretSpec {
    /// `ClusterSecretStore` name.
    pub store: String,
    /// Template of the remote key prefix.
    pub remote_key: String,
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

// ---------------------------------------------------------------------------------------------
// Workloads (from Score YAML)
// ---------------------------------------------------------------------------------------------

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
    /// Containers that must reach a state before this one starts (`started`/`healthy`/`complete`).
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
