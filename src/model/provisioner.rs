//! How resource requests are satisfied: provisioners, their params, network and secrets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
