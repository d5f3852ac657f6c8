//! Resolve: for one environment, apply profiles and overrides, match resource requests to
//! provisioners, share instances by type+class+id, compute outputs and fill placeholders.
//! The result is plain data that the graph and the renderers read; nothing here does I/O.
//!
//! `resolve_env` runs the phases in order, one module each: `setup` (team, namespace, profile),
//! `requests` (pending instances and service calls), `naming` (instance names), `order`
//! (instances after those whose outputs their params use), `provision` (params, outputs,
//! secrets), `workloads` and `containers` (what the renderers read). `scope` is what
//! placeholders can see between phases.

mod containers;
mod naming;
mod order;
pub mod params;
pub mod placeholders;
mod provision;
mod requests;
mod scope;
pub mod services;
mod setup;
mod start;
mod workloads;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use crate::diag::{Code, Diagnostic, Diagnostics, Span, did_you_mean};
use crate::model::{self, Platform, Profile, Workload};
use crate::template::Templates;
pub use containers::env_name_for;
pub use naming::{dns_label, short_hash};
pub use placeholders::{Output, Seg};
pub use provision::resource_labels;
use requests::Pending;
use scope::Failures;
use services::Call;
pub use services::{SERVICE_PORT_TYPE, SERVICE_TYPE, builtin_params, is_service_type};
use setup::Skeleton;
pub use setup::deep_merge;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct EnvResolution {
    pub env: String,
    pub cluster: String,
    /// Sorted by name.
    pub workloads: Vec<RWorkload>,
    /// Sorted by key.
    pub instances: Vec<Instance>,
    /// Teams with at least one workload in this environment, sorted.
    pub teams: Vec<String>,
}

impl EnvResolution {
    /// The instance with this key (instances are sorted by key).
    pub fn instance(&self, key: &str) -> Option<&Instance> {
        self.instances
            .binary_search_by(|i| i.key.as_str().cmp(key))
            .ok()
            .map(|ix| &self.instances[ix])
    }

    /// Every namespace of the environment with the team that owns it (its workloads' and
    /// resources' team), sorted.
    pub fn namespaces(&self) -> BTreeMap<&str, &str> {
        self.workloads
            .iter()
            .map(|w| (w.namespace.as_str(), w.team.as_str()))
            .chain(
                self.instances
                    .iter()
                    .map(|i| (i.namespace.as_str(), i.team.as_str())),
            )
            .collect()
    }

    pub fn workload(&self, name: &str) -> Option<&RWorkload> {
        self.workloads
            .binary_search_by(|w| w.name.as_str().cmp(name))
            .ok()
            .map(|ix| &self.workloads[ix])
    }
}

#[derive(Debug, Clone, PartialEq, Hash)]
pub struct RWorkload {
    pub name: String,
    pub file: Arc<str>,
    pub team: String,
    pub namespace: String,
    pub profile_name: String,
    /// Shared by the environment's workloads of this profile (merged once per environment).
    pub profile: Arc<Profile>,
    pub containers: Vec<RContainer>,
    /// Service ports, sorted by name.
    pub ports: Vec<RPort>,
    /// Resource key → instance key (provisioned resources only).
    pub uses: BTreeMap<String, String>,
    /// Resource key → the workload that `service` resource links to (what its placeholders
    /// read; the workloads it calls are [`RWorkload::calls`]).
    pub links: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Where profile settings came from, for provenance: field → "profile web" / "environment prod".
    pub provenance: Arc<BTreeMap<String, String>>,
}

impl RWorkload {
    /// The first main container: it carries the service ports and the profile's default probe.
    pub fn primary(&self) -> Option<&RContainer> {
        self.containers.iter().find(|c| c.start == Start::Main)
    }

    /// The workloads this one talks to through `service` resources, sorted, each once.
    pub fn calls(&self) -> Vec<&str> {
        let called: std::collections::BTreeSet<&str> =
            self.links.values().map(String::as_str).collect();
        called.into_iter().collect()
    }
}

#[derive(Debug, Clone, PartialEq, Hash, serde::Serialize)]
pub struct RPort {
    pub name: String,
    pub port: u16,
    pub target_port: u16,
    pub protocol: String,
}

/// How a container starts in its pod (Score's `before`, see `start.rs`). Ordered by strength:
/// of a container's several `ready` states, the greatest decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Start {
    /// One of the pod's containers.
    Main,
    /// A native sidecar (an init container restarted always): the next starts once it has.
    Sidecar,
    /// A native sidecar whose readiness probe is its startup probe: the next starts once it
    /// passes.
    SidecarHealthy,
    /// An init container that runs to completion before the next starts.
    Init,
}

#[derive(Debug, Clone, PartialEq, Hash)]
pub struct RContainer {
    pub name: String,
    /// Init containers come first in [`RWorkload::containers`], in the order they start.
    pub start: Start,
    pub image: String,
    pub command: Vec<String>,
    pub args: Vec<String>,
    /// In the order Kubernetes must see them: hidden secret variables first, so `$(VAR)`
    /// references in later values expand.
    pub env: Vec<EnvVar>,
    pub files: Vec<RFile>,
    pub volumes: Vec<RVolume>,
    pub requests: model::Quantities,
    pub limits: model::Quantities,
    pub liveness: Option<RProbe>,
    pub readiness: Option<RProbe>,
    /// Hidden variable → the Score string whose secret it carries, where resolve first made
    /// it (kept for provenance).
    pub hidden: BTreeMap<String, HiddenUse>,
}

/// Where a hidden variable's secret is first used: a Score string of the container and the
/// placeholder in it.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct HiddenUse {
    pub field: StringField,
    /// The placeholder's path (`["resources", "db", "password"]`).
    pub placeholder: Vec<String>,
}

/// A string of a Score container that may use a secret inside a longer string.
#[derive(Debug, Clone, PartialEq, Hash)]
pub enum StringField {
    Variable(String),
    Command(usize),
    Args(usize),
}

#[derive(Debug, Clone, PartialEq, Hash)]
pub struct EnvVar {
    pub name: String,
    pub value: EnvValue,
}

#[derive(Debug, Clone, PartialEq, Hash)]
pub enum EnvValue {
    Value(String),
    SecretKeyRef { secret: String, key: String },
}

#[derive(Debug, Clone, PartialEq, Hash)]
pub struct RFile {
    pub target: String,
    pub mode: Option<u32>,
    pub content: RFileContent,
}

#[derive(Debug, Clone, PartialEq, Hash)]
pub enum RFileContent {
    Text(String),
    Base64(String),
}

#[derive(Debug, Clone, PartialEq, Hash)]
pub struct RVolume {
    pub target: String,
    pub claim: String,
    pub sub_path: Option<String>,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Hash)]
pub enum RProbe {
    Http {
        path: String,
        port: u16,
        scheme: Option<String>,
        host: Option<String>,
        headers: Vec<(String, String)>,
    },
    Exec {
        command: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Hash)]
pub struct Instance {
    /// `type/class/id` for shared instances, `type/class/workload.key` otherwise.
    pub key: String,
    pub resource_type: String,
    pub class: String,
    pub id: Option<String>,
    pub name: String,
    pub uid: String,
    pub namespace: String,
    pub team: String,
    pub provisioner: String,
    pub params: Value,
    pub outputs: BTreeMap<String, Output>,
    pub manifests: Vec<String>,
    pub requires: Vec<String>,
    pub external_secret: Option<(String, String)>,
    /// Workloads that use this instance, sorted.
    pub consumers: Vec<String>,
    /// Instances whose outputs this one's params use (ordering edges), sorted.
    pub needs: Vec<String>,
    /// The template context its manifests render with.
    pub context: Value,
    /// The request that created it.
    pub span: Span,
}

/// What the phases of one environment hand each other. Each phase fills its part; provisioning
/// adds `outputs` and `failed.instances` as it goes, so later instances and the workloads see them.
struct EnvState<'a> {
    platform: &'a Platform,
    env_name: &'a str,
    env: &'a model::Environment,
    by_name: BTreeMap<&'a str, &'a Workload>,
    /// Workloads whose set-up succeeded, by name.
    skeletons: BTreeMap<String, Skeleton>,
    /// Instance key → what its requests ask for.
    pending: BTreeMap<String, Pending>,
    /// Workload → resource key → the workload it calls.
    calls: BTreeMap<String, BTreeMap<String, Call>>,
    failed: Failures,
    /// Instance key → name.
    names: BTreeMap<String, String>,
    /// Workload → resource key → instance key.
    uses: BTreeMap<String, BTreeMap<String, String>>,
    /// Instance key → the instances whose outputs its params use.
    needs: BTreeMap<String, BTreeSet<String>>,
    /// Instance key → outputs, for the instances provisioned so far.
    outputs: BTreeMap<String, BTreeMap<String, Output>>,
}

pub fn resolve_env(
    platform: &Platform,
    templates: &Templates,
    env_name: &str,
    workloads: &[Workload],
) -> Result<EnvResolution, Diagnostics> {
    let env = environment(platform, env_name)?;
    let mut diags = Diagnostics::new();
    let mut st = EnvState {
        platform,
        env_name,
        env,
        by_name: workloads
            .iter()
            .map(|w| (w.name.value.as_str(), w))
            .collect(),
        skeletons: setup::skeletons(platform, env_name, env, workloads, &mut diags),
        pending: BTreeMap::new(),
        calls: BTreeMap::new(),
        failed: Failures::default(),
        names: BTreeMap::new(),
        uses: BTreeMap::new(),
        needs: BTreeMap::new(),
        outputs: BTreeMap::new(),
    };
    requests::collect(&mut st, workloads, &mut diags);
    st.names = naming::instance_names(&st.pending);
    st.uses = requests::uses(workloads, &st.pending);
    st.needs = order::needs(&st.pending, &st.uses);
    let order = match order::topo_order(&st.needs) {
        Ok(o) => o,
        Err(cycle) => {
            diags.push(order::cycle_error(&cycle, &st.pending));
            return Err(sorted(diags));
        }
    };
    let instances = provision::provision_all(&mut st, templates, order, &mut diags);
    let rworkloads = workloads::resolve_all(&st, workloads, &mut diags);
    let teams: BTreeSet<String> = rworkloads.iter().map(|w| w.team.clone()).collect();
    let res = EnvResolution {
        env: env_name.to_string(),
        cluster: env.cluster.clone(),
        workloads: rworkloads,
        instances: instances.into_values().collect(),
        teams: teams.into_iter().collect(),
    };
    sorted(diags).into_result(res)
}

fn environment<'a>(
    platform: &'a Platform,
    env_name: &str,
) -> Result<&'a model::Environment, Diagnostics> {
    if let Some(env) = platform.environments.get(env_name) {
        return Ok(env);
    }
    let d = Diagnostic::error(
        Code::UnknownEnvironment,
        None,
        format!("unknown environment `{env_name}`"),
    );
    let names: Vec<&str> = platform.environments.keys().map(String::as_str).collect();
    Err(match did_you_mean(env_name, names.iter().copied()) {
        Some(c) => d.with_help(format!("did you mean `{c}`?")),
        None => d.with_help(format!("environments: {}", names.join(", "))),
    }
    .into())
}

fn sorted(mut d: Diagnostics) -> Diagnostics {
    d.sort();
    d
}
