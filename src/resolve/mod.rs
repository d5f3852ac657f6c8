//! Resolve: for one environment, apply profiles and overrides, match resource requests to
//! provisioners, share instances by type+class+id, compute outputs and fill placeholders.
//! The result is plain data that the graph and the renderers read; nothing here does I/O.

pub mod params;
pub mod placeholders;
pub mod services;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::diag::{Code, Diagnostic, Diagnostics, Span, Spanned, did_you_mean};
use crate::model::{self, Platform, Profile, Workload};
use crate::template::Templates;
use crate::yaml::Node;
pub use placeholders::{Output, Seg};
use placeholders::{Scope, resolve, resolve_plain};
use services::{Call, service_call};
pub use services::{SERVICE_PORT_TYPE, SERVICE_TYPE, builtin_params, is_service_type};

/// Requests that already failed with their own error. A placeholder naming one must not add a
/// second error that contradicts the first ("declares no resource `db`" after "no provisioner
/// for `db`"): it resolves to nothing, and the environment fails with the real error anyway.
#[derive(Default)]
struct Failures {
    /// (workload, resource key)
    requests: BTreeSet<(String, String)>,
    /// Instance keys (a shared instance fails for all its consumers).
    instances: BTreeSet<String>,
}

impl Failures {
    fn keys_of(
        &self,
        w: &Workload,
        uses: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Vec<String> {
        let wname = &w.name.value;
        w.resources
            .keys()
            .filter(|k| {
                self.requests.contains(&(wname.clone(), (*k).clone()))
                    || uses
                        .get(wname)
                        .and_then(|u| u.get(*k))
                        .is_some_and(|ikey| self.instances.contains(ikey))
            })
            .cloned()
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
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

#[derive(Debug, Clone, PartialEq)]
pub struct RWorkload {
    pub name: String,
    pub file: Arc<str>,
    pub team: String,
    pub namespace: String,
    pub profile_name: String,
    pub profile: Profile,
    pub containers: Vec<RContainer>,
    /// Service ports, sorted by name.
    pub ports: Vec<RPort>,
    /// Resource key → instance key (provisioned resources only).
    pub uses: BTreeMap<String, String>,
    /// Workloads this one talks to through `service` resources, sorted.
    pub calls: Vec<String>,
    pub annotations: BTreeMap<String, String>,
    /// Where profile settings came from, for provenance: field → "profile web" / "environment prod".
    pub provenance: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RPort {
    pub name: String,
    pub port: u16,
    pub target_port: u16,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RContainer {
    pub name: String,
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
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvVar {
    pub name: String,
    pub value: EnvValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EnvValue {
    Value(String),
    SecretKeyRef { secret: String, key: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct RFile {
    pub target: String,
    pub mode: Option<u32>,
    pub content: RFileContent,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RFileContent {
    Text(String),
    Base64(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RVolume {
    pub target: String,
    pub claim: String,
    pub sub_path: Option<String>,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq)]
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

#[derive(Debug, Clone, PartialEq)]
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

/// What one request contributes before outputs are known.
struct Pending {
    key: String,
    rtype: String,
    class: String,
    id: Option<String>,
    res_key: String,
    provisioner: usize,
    first: String,
    span: Span,
    params: Option<Node>,
    annotations: BTreeMap<String, String>,
    consumers: BTreeSet<String>,
}

pub fn resolve_env(
    platform: &Platform,
    templates: &Templates,
    env_name: &str,
    workloads: &[Workload],
) -> Result<EnvResolution, Diagnostics> {
    let mut diags = Diagnostics::new();
    let Some(env) = platform.environments.get(env_name) else {
        let d = Diagnostic::error(
            Code::UnknownEnvironment,
            None,
            format!("unknown environment `{env_name}`"),
        );
        let names: Vec<&str> = platform.environments.keys().map(String::as_str).collect();
        return Err(match did_you_mean(env_name, names.iter().copied()) {
            Some(c) => d.with_help(format!("did you mean `{c}`?")),
            None => d.with_help(format!("environments: {}", names.join(", "))),
        }
        .into());
    };
    let cluster = platform.clusters.get(&env.cluster);

    // Workload skeletons: team, namespace, profile.
    use rayon::prelude::*;
    let mut skeletons: BTreeMap<String, Skeleton> = BTreeMap::new();
    let setups: Vec<Result<Skeleton, Diagnostic>> = workloads
        .par_iter()
        .map(|w| workload_setup(platform, env_name, env, w))
        .collect();
    for (w, setup) in workloads.iter().zip(setups) {
        match setup {
            Ok(s) => {
                skeletons.insert(w.name.value.clone(), s);
            }
            Err(d) => diags.push(d),
        }
    }
    let by_name: BTreeMap<&str, &Workload> = workloads
        .iter()
        .map(|w| (w.name.value.as_str(), w))
        .collect();

    // Requests → pending instances; service requests → calls.
    let mut pending: BTreeMap<String, Pending> = BTreeMap::new();
    let mut calls: BTreeMap<String, BTreeMap<String, Call>> = BTreeMap::new();
    let mut failed = Failures::default();
    for w in workloads {
        let wname = w.name.value.as_str();
        for (key, req) in &w.resources {
            let rtype = req.resource_type.value.as_str();
            if is_service_type(rtype) {
                match service_call(req, &by_name) {
                    Ok(call) => {
                        calls
                            .entry(wname.to_string())
                            .or_default()
                            .insert(key.clone(), call);
                    }
                    Err(ds) => {
                        diags.extend(ds);
                        failed.requests.insert((wname.to_string(), key.clone()));
                    }
                }
                continue;
            }
            let class = req
                .class
                .as_ref()
                .map(|c| c.value.clone())
                .unwrap_or_else(|| "default".into());
            let id = req.id.as_ref().map(|i| i.value.clone());
            let ikey = match &id {
                Some(id) => format!("{rtype}/{class}/{id}"),
                None => format!("{rtype}/{class}/{wname}.{key}"),
            };
            let Some(prov) = match_provisioner(
                platform,
                rtype,
                &class,
                id.as_deref(),
                env_name,
                &env.env_type,
            ) else {
                diags.push(no_provisioner(
                    platform,
                    req,
                    rtype,
                    &class,
                    env_name,
                    &env.env_type,
                ));
                failed.requests.insert((wname.to_string(), key.clone()));
                continue;
            };
            let annotations: BTreeMap<String, String> = req
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), v.value.clone()))
                .collect();
            match pending.get_mut(&ikey) {
                Some(p) => {
                    // Workloads are visited in name order, so the first consumer is stable.
                    let same = p.params.as_ref().map(Node::to_json)
                        == req.params.as_ref().map(Node::to_json);
                    if !same {
                        diags.push(
                            Diagnostic::at(
                                Code::SharedResourceConflict,
                                &req.key.span,
                                format!(
                                    "shared resource `{ikey}` is requested with different params than in workload `{}` ({})",
                                    p.first, p.span
                                ),
                            )
                            .with_help("requests with the same type, class and id are one resource: give them identical params, or different ids"),
                        );
                    }
                    p.consumers.insert(wname.to_string());
                }
                None => {
                    pending.insert(
                        ikey.clone(),
                        Pending {
                            key: ikey,
                            rtype: rtype.to_string(),
                            class,
                            id,
                            res_key: key.clone(),
                            provisioner: prov,
                            first: wname.to_string(),
                            span: req.key.span.clone(),
                            params: req.params.clone(),
                            annotations,
                            consumers: BTreeSet::from([wname.to_string()]),
                        },
                    );
                }
            }
        }
    }

    // Instance names: readable, unique per environment.
    let names = instance_names(&pending);

    // Which instances each workload uses, by key.
    let mut uses: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for w in workloads {
        for (key, req) in &w.resources {
            if is_service_type(&req.resource_type.value) {
                continue;
            }
            let class = req
                .class
                .as_ref()
                .map(|c| c.value.as_str())
                .unwrap_or("default");
            let ikey = match &req.id {
                Some(id) => format!("{}/{class}/{}", req.resource_type.value, id.value),
                None => format!("{}/{class}/{}.{key}", req.resource_type.value, w.name.value),
            };
            if pending.contains_key(&ikey) {
                uses.entry(w.name.value.clone())
                    .or_default()
                    .insert(key.clone(), ikey);
            }
        }
    }

    // Order instances so that params can use the outputs of the instances they name.
    let mut needs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in pending.values() {
        let mut n = BTreeSet::new();
        if let Some(params) = &p.params {
            for s in strings_of(params) {
                for k in placeholders::referenced_resources(&s.value) {
                    if let Some(target) = uses.get(&p.first).and_then(|u| u.get(&k))
                        && target != &p.key
                    {
                        n.insert(target.clone());
                    }
                }
            }
        }
        needs.insert(p.key.clone(), n);
    }
    let order = match topo_order(&needs) {
        Ok(o) => o,
        Err(cycle) => {
            let span = pending.get(&cycle[0]).map(|p| p.span.clone());
            let mut d = Diagnostic::error(
                Code::OrderingCycle,
                span,
                format!("resource params form a cycle: {}", cycle.join(" → ")),
            );
            for k in &cycle {
                if let Some(p) = pending.get(k) {
                    d = d.with_note(format!(
                        "{k} (resource `{}` of workload `{}`, {})",
                        p.res_key, p.first, p.span
                    ));
                }
            }
            diags.push(d.with_help("a resource's params may use another resource's outputs only if that one does not use its own"));
            return Err(sorted(diags));
        }
    };

    let team_ctx = |team: &str| -> Value {
        platform
            .teams
            .get(team)
            .map(|t| json!({"name": team, "namespace": t.namespace, "project": t.project, "owners": t.owners, "group": t.group}))
            .unwrap_or(Value::Null)
    };
    let env_ctx = json!({"name": env_name, "type": env.env_type, "pod_security": env.pod_security, "labels": env.labels});
    let cluster_ctx = cluster
        .map(|c| {
            json!({
                "name": env.cluster, "server": c.server, "domain": c.domain,
                "routes": match c.routes { model::RouteKind::Ingress => "ingress", model::RouteKind::Httproute => "httproute" },
                "ingress_class": c.ingress_class, "gateway": c.gateway.as_ref().map(|g| json!({"name": g.name, "namespace": g.namespace})),
            })
        })
        .unwrap_or(Value::Null);

    // What a workload's placeholders can see, given the outputs computed so far.
    let scope_data =
        |w: &Workload, outputs: &BTreeMap<String, BTreeMap<String, Output>>, failed: &Failures| {
            let resources = scope_for(w, &uses, outputs, &names, &calls, &skeletons);
            let declared: Vec<String> = w.resources.keys().cloned().collect();
            (resources, declared, failed.keys_of(w, &uses))
        };

    // Outputs, in dependency order.
    let mut outputs_by_instance: BTreeMap<String, BTreeMap<String, Output>> = BTreeMap::new();
    let mut instances: BTreeMap<String, Instance> = BTreeMap::new();
    for ikey in order {
        let Some(p) = pending.get(&ikey) else {
            continue;
        };
        let Some(w) = by_name.get(p.first.as_str()) else {
            continue;
        };
        let Some(Skeleton {
            team, namespace, ..
        }) = skeletons.get(&p.first)
        else {
            continue;
        };
        let prov = &platform.provisioners[p.provisioner];
        let (scope_resources, declared, failed_keys) = scope_data(w, &outputs_by_instance, &failed);
        let scope = Scope {
            workload: &p.first,
            metadata: &w.metadata,
            resources: &scope_resources,
            declared: &declared,
            failed: &failed_keys,
        };
        let mark_failed = |failed: &mut Failures| {
            failed.instances.insert(ikey.clone());
        };
        // Params that use a failed instance's outputs: that failure is the error to report.
        if needs
            .get(&ikey)
            .is_some_and(|n| n.iter().any(|k| failed.instances.contains(k)))
        {
            mark_failed(&mut failed);
            continue;
        }
        let params = match &p.params {
            Some(node) => match resolve_node(node, &scope) {
                Ok(v) => v,
                Err(d) => {
                    diags.push(d);
                    mark_failed(&mut failed);
                    continue;
                }
            },
            None => Value::Object(Default::default()),
        };
        let Some(req) = w.resources.get(&p.res_key) else {
            continue;
        };
        let decl = params::Declared {
            owner: format!("provisioner `{}`", prov.name),
            params: &prov.params,
            defaults: &prov.defaults,
        };
        let params = match params::check(&decl, req, params) {
            Ok(v) => v,
            Err(ds) => {
                diags.extend(ds);
                mark_failed(&mut failed);
                continue;
            }
        };
        let params = deep_merge(prov.defaults.clone(), params);
        let name = names.get(&ikey).cloned().unwrap_or_default();
        let uid = short_hash(&format!("{env_name}/{ikey}"));
        let consumers: Vec<String> = p.consumers.iter().cloned().collect();
        let service = w
            .service
            .as_ref()
            .map(|s| json!({"name": p.first, "ports": ports_of(s)}));
        let context = json!({
            "resource": {
                "type": p.rtype, "class": p.class, "id": p.id, "key": p.res_key, "name": name,
                "uid": uid, "shared": p.id.is_some(), "params": params, "annotations": p.annotations,
            },
            "namespace": namespace,
            "workload": {"name": p.first, "namespace": namespace, "team": team, "service": service},
            "consumers": consumers,
            "env": env_ctx,
            "cluster": cluster_ctx,
            "team": team_ctx(team),
            "platform": {"name": platform.name},
            "labels": resource_labels(platform, env_name, team, &name, &p.rtype),
        });
        let mut outputs = BTreeMap::new();
        let mut failed_outputs = false;
        let mcx = Templates::context(&context);
        for (oname, tmpl) in &prov.outputs {
            match templates.render_inline(&format!("{}.outputs.{oname}", prov.name), tmpl, &mcx) {
                Ok(v) => {
                    outputs.insert(oname.clone(), Output::Plain(v));
                }
                Err(d) => {
                    diags.push(d.with_note(format!(
                        "while provisioning resource `{}` of workload `{}` ({})",
                        p.res_key, p.first, p.span
                    )));
                    failed_outputs = true;
                }
            }
        }
        for (oname, so) in &prov.secret_outputs {
            match templates.render_inline(
                &format!("{}.secret_outputs.{oname}", prov.name),
                &so.secret,
                &mcx,
            ) {
                Ok(secret) => {
                    outputs.insert(
                        oname.clone(),
                        Output::Secret {
                            secret,
                            key: so.key.clone(),
                        },
                    );
                }
                Err(d) => {
                    diags.push(d);
                    failed_outputs = true;
                }
            }
        }
        let external_secret = match &prov.external_secret {
            Some(es) => match templates.render_inline(
                &format!("{}.external_secret.remote_key", prov.name),
                &es.remote_key,
                &mcx,
            ) {
                Ok(k) => Some((es.store.clone(), k)),
                Err(d) => {
                    diags.push(d);
                    failed_outputs = true;
                    None
                }
            },
            None => None,
        };
        if failed_outputs {
            mark_failed(&mut failed);
            continue;
        }
        // Secrets live in one namespace; consumers elsewhere could not reference them.
        let namespaces: BTreeSet<&str> = p
            .consumers
            .iter()
            .filter_map(|c| skeletons.get(c).map(|s| s.namespace.as_str()))
            .collect();
        if namespaces.len() > 1 && !prov.secret_outputs.is_empty() && external_secret.is_none() {
            diags.push(
                Diagnostic::at(
                    Code::SharedResourceConflict,
                    &p.span,
                    format!(
                        "shared resource `{ikey}` is used from namespaces {} but its secret outputs exist only in `{namespace}`",
                        namespaces.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    ),
                )
                .with_help("share it only between workloads of one team, or provision it with an `external_secret` so every namespace gets the secret"),
            );
        }
        outputs_by_instance.insert(ikey.clone(), outputs.clone());
        instances.insert(
            ikey.clone(),
            Instance {
                key: ikey.clone(),
                resource_type: p.rtype.clone(),
                class: p.class.clone(),
                id: p.id.clone(),
                name,
                uid,
                namespace: namespace.clone(),
                team: team.clone(),
                provisioner: prov.name.clone(),
                params,
                outputs,
                manifests: prov.manifests.clone(),
                requires: prov.requires.clone(),
                external_secret,
                consumers,
                needs: needs
                    .get(&ikey)
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default(),
                context,
                span: p.span.clone(),
            },
        );
    }

    // Workloads, in parallel: each reads only its own requests and the instances' outputs.
    let resolved: Vec<(Option<RWorkload>, Diagnostics)> = workloads
        .par_iter()
        .map(|w| {
            let mut diags = Diagnostics::new();
            let Some(Skeleton {
                team,
                namespace,
                profile_name,
                profile,
                provenance,
            }) = skeletons.get(&w.name.value)
            else {
                return (None, diags);
            };
            let (scope_resources, declared, failed_keys) =
                scope_data(w, &outputs_by_instance, &failed);
            let scope = Scope {
                workload: &w.name.value,
                metadata: &w.metadata,
                resources: &scope_resources,
                declared: &declared,
                failed: &failed_keys,
            };
            let mut containers = Vec::new();
            for c in w.containers.values() {
                match resolve_container(c, &scope, profile) {
                    Ok(rc) => containers.push(rc),
                    Err(ds) => diags.extend(ds),
                }
            }
            let ports = w.service.as_ref().map(rports).unwrap_or_default();
            let rw = RWorkload {
                name: w.name.value.clone(),
                file: w.file.clone(),
                team: team.clone(),
                namespace: namespace.clone(),
                profile_name: profile_name.clone(),
                profile: profile.clone(),
                containers,
                ports,
                uses: uses.get(&w.name.value).cloned().unwrap_or_default(),
                calls: calls
                    .get(&w.name.value)
                    .map(|m| {
                        m.values()
                            .map(|c| c.target.clone())
                            .collect::<BTreeSet<_>>()
                            .into_iter()
                            .collect()
                    })
                    .unwrap_or_default(),
                annotations: w
                    .annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value.clone()))
                    .collect(),
                provenance: provenance.clone(),
            };
            (Some(rw), diags)
        })
        .collect();
    let mut rworkloads = Vec::with_capacity(resolved.len());
    for (rw, ds) in resolved {
        rworkloads.extend(rw);
        diags.extend(ds);
    }
    rworkloads.sort_by(|a, b| a.name.cmp(&b.name));
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

fn sorted(mut d: Diagnostics) -> Diagnostics {
    d.sort();
    d
}

/// Who a workload belongs to and which golden path it gets in one environment.
struct Skeleton {
    team: String,
    namespace: String,
    profile_name: String,
    profile: Profile,
    provenance: BTreeMap<String, String>,
}

fn workload_setup(
    platform: &Platform,
    env_name: &str,
    env: &model::Environment,
    w: &Workload,
) -> Result<Skeleton, Diagnostic> {
    let team = crate::ownership::team_of(platform, w)?.name;
    let profile_name = crate::ownership::profile_of(platform, w)?.name;
    let Some(base) = platform.profiles.get(&profile_name) else {
        return Err(Diagnostic::at(
            Code::Internal,
            &w.name.span,
            format!("profile `{profile_name}` vanished after the platform was checked"),
        ));
    };
    let mut provenance = BTreeMap::new();
    record_provenance(
        &mut provenance,
        "",
        base,
        &format!("profile {profile_name}"),
    );
    record_provenance(
        &mut provenance,
        "",
        &env.overrides,
        &format!("environment {env_name} overrides"),
    );
    let mut merged = deep_merge(base.clone(), env.overrides.clone());
    if let Some(po) = env.profile_overrides.get(&profile_name) {
        record_provenance(
            &mut provenance,
            "",
            po,
            &format!("environment {env_name} profile_overrides.{profile_name}"),
        );
        merged = deep_merge(merged, po.clone());
    }
    let profile: Profile = serde_json::from_value(merged).map_err(|e| {
        Diagnostic::error(
            Code::InvalidValue,
            Some(Span::file("platform/main.ncl")),
            format!("profile `{profile_name}` in environment `{env_name}` is invalid after applying overrides: {e}"),
        )
    })?;
    let namespace = format!("{}-{env_name}", platform.teams[&team].namespace);
    Ok(Skeleton {
        team,
        namespace,
        profile_name,
        profile,
        provenance,
    })
}

fn record_provenance(out: &mut BTreeMap<String, String>, prefix: &str, v: &Value, origin: &str) {
    if let Value::Object(m) = v {
        for (k, v) in m {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                Value::Object(_) => record_provenance(out, &path, v, origin),
                _ => {
                    out.insert(path, origin.to_string());
                }
            }
        }
    }
}

/// Objects merge key by key; anything else in `over` replaces `base`.
pub fn deep_merge(base: Value, over: Value) -> Value {
    match (base, over) {
        (Value::Object(mut b), Value::Object(o)) => {
            for (k, v) in o {
                let merged = match b.remove(&k) {
                    Some(bv) => deep_merge(bv, v),
                    None => v,
                };
                b.insert(k, merged);
            }
            Value::Object(b)
        }
        (b, Value::Null) => b,
        (_, o) => o,
    }
}

fn match_provisioner(
    platform: &Platform,
    rtype: &str,
    class: &str,
    id: Option<&str>,
    env_name: &str,
    env_type: &str,
) -> Option<usize> {
    platform.provisioners.iter().position(|p| {
        p.resource_type == rtype
            && p.class.as_deref().is_none_or(|c| c == class)
            && p.id.as_deref().is_none_or(|i| Some(i) == id)
            && (p.env_types.is_empty() || p.env_types.iter().any(|t| t == env_type))
            && (p.envs.is_empty() || p.envs.iter().any(|e| e == env_name))
    })
}

fn no_provisioner(
    platform: &Platform,
    req: &model::ResourceRequest,
    rtype: &str,
    class: &str,
    env_name: &str,
    env_type: &str,
) -> Diagnostic {
    let known: BTreeSet<&str> = platform
        .provisioners
        .iter()
        .map(|p| p.resource_type.as_str())
        .chain([SERVICE_TYPE, SERVICE_PORT_TYPE])
        .collect();
    let span = &req.resource_type.span;
    if !known.contains(rtype) {
        // The same in every environment: no environment in the message, so it is said once.
        let d = Diagnostic::at(
            Code::NoProvisioner,
            span,
            format!(
                "no provisioner for resource type `{rtype}`: the platform provisions no such type"
            ),
        );
        return match did_you_mean(rtype, known.iter().copied()) {
            Some(c) => d.with_help(format!(
                "did you mean `{c}`? known types: {}",
                known.iter().copied().collect::<Vec<_>>().join(", ")
            )),
            None => d.with_help(format!(
                "known types: {}",
                known.iter().copied().collect::<Vec<_>>().join(", ")
            )),
        };
    }
    let classes: BTreeSet<String> = platform
        .provisioners
        .iter()
        .filter(|p| p.resource_type == rtype)
        .map(|p| p.class.clone().unwrap_or_else(|| "any".into()))
        .collect();
    Diagnostic::at(
        Code::NoProvisioner,
        span,
        format!("no provisioner for resource type `{rtype}` with class `{class}` in environment `{env_name}` ({env_type})"),
    )
    .with_help(format!(
        "classes of `{rtype}` the platform provisions: {}; or add a provisioner for this class and environment",
        classes.into_iter().collect::<Vec<_>>().join(", ")
    ))
}

/// DNS-1123 label from arbitrary text.
pub fn dns_label(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        let c = ch.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

pub fn short_hash(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

fn instance_names(pending: &BTreeMap<String, Pending>) -> BTreeMap<String, String> {
    let base = |p: &Pending| -> String {
        match &p.id {
            Some(id) => dns_label(id),
            None => dns_label(&format!("{}-{}", p.first, p.res_key)),
        }
    };
    let fit = |name: String, key: &str| -> String {
        if name.len() <= 52 {
            name
        } else {
            format!("{}-{}", name[..43].trim_end_matches('-'), short_hash(key))
        }
    };
    let mut names: BTreeMap<String, String> =
        pending.iter().map(|(k, p)| (k.clone(), base(p))).collect();
    // Two instances with one name (say a postgres and a redis both with id `orders`) get their
    // type appended; what is left colliding gets a hash.
    for round in 0..2 {
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for n in names.values() {
            *count.entry(n.clone()).or_default() += 1;
        }
        for (k, n) in names.iter_mut() {
            if count[n.as_str()] > 1 {
                let p = &pending[k];
                *n = if round == 0 {
                    dns_label(&format!("{n}-{}", p.rtype))
                } else {
                    format!("{n}-{}", short_hash(k))
                };
            }
        }
    }
    names
        .into_iter()
        .map(|(k, n)| {
            let f = fit(n, &k);
            (k, f)
        })
        .collect()
}

/// Topological order (by key, deterministic); on a cycle, the cycle's keys in order.
fn topo_order(needs: &BTreeMap<String, BTreeSet<String>>) -> Result<Vec<String>, Vec<String>> {
    let mut state: BTreeMap<&str, u8> = BTreeMap::new();
    let mut order = Vec::new();
    fn visit<'a>(
        k: &'a str,
        needs: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
        order: &mut Vec<String>,
    ) -> Result<(), Vec<String>> {
        match state.get(k) {
            Some(2) => return Ok(()),
            Some(1) => {
                let start = stack.iter().position(|s| *s == k).unwrap_or(0);
                let mut cycle: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(k.to_string());
                return Err(cycle);
            }
            _ => {}
        }
        state.insert(k, 1);
        stack.push(k);
        if let Some(ns) = needs.get(k) {
            for n in ns {
                visit(n, needs, state, stack, order)?;
            }
        }
        stack.pop();
        state.insert(k, 2);
        order.push(k.to_string());
        Ok(())
    }
    for k in needs.keys() {
        visit(k, needs, &mut state, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

fn ports_of(s: &model::Service) -> Value {
    serde_json::to_value(rports(s)).unwrap_or(Value::Null)
}

fn rports(s: &model::Service) -> Vec<RPort> {
    s.ports
        .values()
        .map(|p| RPort {
            name: p.name.value.clone(),
            port: p.port.value,
            target_port: p
                .target_port
                .as_ref()
                .map(|t| t.value)
                .unwrap_or(p.port.value),
            protocol: p
                .protocol
                .as_ref()
                .map(|x| x.value.clone())
                .unwrap_or_else(|| "TCP".into()),
        })
        .collect()
}

/// The outputs a workload's placeholders can see: its provisioned resources and the workloads
/// it calls (`name`, `host` and `hostname` are the target's cluster DNS name; `port` and `url`
/// use the chosen service port).
fn scope_for(
    w: &Workload,
    uses: &BTreeMap<String, BTreeMap<String, String>>,
    outputs: &BTreeMap<String, BTreeMap<String, Output>>,
    names: &BTreeMap<String, String>,
    calls: &BTreeMap<String, BTreeMap<String, Call>>,
    skeletons: &BTreeMap<String, Skeleton>,
) -> BTreeMap<String, (String, BTreeMap<String, Output>)> {
    let mut m = BTreeMap::new();
    if let Some(u) = uses.get(&w.name.value) {
        for (key, ikey) in u {
            if let Some(outs) = outputs.get(ikey) {
                let itself = match outs.get("source") {
                    Some(Output::Plain(s)) => s.clone(),
                    _ => names.get(ikey).cloned().unwrap_or_default(),
                };
                m.insert(key.clone(), (itself, outs.clone()));
            }
        }
    }
    if let Some(c) = calls.get(&w.name.value) {
        for (key, call) in c {
            if let Some(sk) = skeletons.get(&call.target) {
                m.insert(key.clone(), call.outputs(&sk.namespace));
            }
        }
    }
    m
}

/// Every string scalar in a node, with its span.
fn strings_of(node: &Node) -> Vec<Spanned<String>> {
    let mut out = Vec::new();
    fn walk(n: &Node, out: &mut Vec<Spanned<String>>) {
        match &n.kind {
            crate::yaml::NodeKind::Scalar { text, .. } => {
                out.push(Spanned::new(text.clone(), n.span.clone()))
            }
            crate::yaml::NodeKind::Seq(items) => items.iter().for_each(|i| walk(i, out)),
            crate::yaml::NodeKind::Map(entries) => entries.iter().for_each(|(_, v)| walk(v, out)),
            crate::yaml::NodeKind::Null => {}
        }
    }
    walk(node, &mut out);
    out
}

/// A params node as JSON with its string placeholders filled (secrets refused).
fn resolve_node(node: &Node, scope: &Scope<'_>) -> Result<Value, Diagnostic> {
    use crate::yaml::NodeKind;
    Ok(match &node.kind {
        NodeKind::Scalar { text, .. } if text.contains("${") => Value::String(resolve_plain(
            &Spanned::new(text.clone(), node.span.clone()),
            scope,
            "resource params",
        )?),
        NodeKind::Scalar { text, .. } if text.contains("$${") => node.to_json(),
        NodeKind::Seq(items) => Value::Array(
            items
                .iter()
                .map(|i| resolve_node(i, scope))
                .collect::<Result<_, _>>()?,
        ),
        NodeKind::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| Ok((k.value.clone(), resolve_node(v, scope)?)))
                .collect::<Result<_, Diagnostic>>()?,
        ),
        _ => node.to_json(),
    })
}

/// Kubernetes expands `$(VAR)` in env values, command and args; a literal `$(` must be escaped.
fn escape_k8s(s: &str) -> String {
    s.replace("$(", "$$(")
}

/// The hidden variable that carries a secret output inside a longer string.
pub fn env_name_for(hint: &str) -> String {
    let mut s = String::from("PLATC_SECRET_");
    for ch in hint.chars() {
        s.push(if ch.is_ascii_alphanumeric() {
            ch.to_ascii_uppercase()
        } else {
            '_'
        });
    }
    s
}

/// Turns segments into one Kubernetes string; secrets become `$(VAR)` references to hidden
/// variables (collected in `hidden`).
fn segs_to_k8s(segs: Vec<Seg>, hidden: &mut BTreeMap<String, (String, String)>) -> String {
    let mut out = String::new();
    for seg in segs {
        match seg {
            Seg::Text(t) => out.push_str(&escape_k8s(&t)),
            Seg::Secret { secret, key, hint } => {
                let var = env_name_for(&hint);
                out.push_str(&format!("$({var})"));
                hidden.insert(var, (secret, key));
            }
        }
    }
    out
}

fn resolve_container(
    c: &model::Container,
    scope: &Scope<'_>,
    profile: &Profile,
) -> Result<RContainer, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut hidden: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut visible = Vec::new();
    for (name, value) in &c.variables {
        match resolve(value, scope) {
            Ok(segs) => {
                let v = match segs.as_slice() {
                    [Seg::Secret { secret, key, .. }] => EnvValue::SecretKeyRef {
                        secret: secret.clone(),
                        key: key.clone(),
                    },
                    _ => EnvValue::Value(segs_to_k8s(segs, &mut hidden)),
                };
                visible.push(EnvVar {
                    name: name.clone(),
                    value: v,
                });
            }
            Err(d) => diags.push(d),
        }
    }
    let mut strings = |list: &[Spanned<String>], diags: &mut Diagnostics| -> Vec<String> {
        list.iter()
            .filter_map(|s| match resolve(s, scope) {
                Ok(segs) => Some(segs_to_k8s(segs, &mut hidden)),
                Err(d) => {
                    diags.push(d);
                    None
                }
            })
            .collect()
    };
    let command = strings(&c.command, &mut diags);
    let args = strings(&c.args, &mut diags);
    let image = match resolve_plain(&c.image, scope, "an image") {
        Ok(i) => i,
        Err(d) => {
            diags.push(d);
            String::new()
        }
    };
    let mut files = Vec::new();
    for f in c.files.values() {
        let mode = match &f.mode {
            Some(m) => match u32::from_str_radix(&m.value, 8) {
                Ok(v) => Some(v),
                Err(_) => {
                    diags.push(
                        Diagnostic::at(
                            Code::InvalidValue,
                            &m.span,
                            format!("file mode `{}` is not octal", m.value),
                        )
                        .with_help("write it like `0644`"),
                    );
                    None
                }
            },
            None => None,
        };
        let content = match &f.content {
            model::FileContent::Text(t) if f.no_expand => RFileContent::Text(t.value.clone()),
            model::FileContent::Text(t) => match resolve_plain(t, scope, "file contents") {
                Ok(s) => RFileContent::Text(s),
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            },
            model::FileContent::Binary(b) => RFileContent::Base64(b.value.clone()),
        };
        files.push(RFile {
            target: f.target.value.clone(),
            mode,
            content,
        });
    }
    let mut volumes = Vec::new();
    for v in c.volumes.values() {
        match resolve_plain(&v.source, scope, "a volume source") {
            Ok(claim) => volumes.push(RVolume {
                target: v.target.value.clone(),
                claim,
                sub_path: v.path.as_ref().map(|p| p.value.clone()),
                read_only: v.read_only,
            }),
            Err(d) => diags.push(d),
        }
    }
    let q = |spec: Option<&model::QuantitySpec>, dflt: &model::Quantities| model::Quantities {
        cpu: spec
            .and_then(|s| s.cpu.as_ref())
            .map(|x| x.value.clone())
            .or_else(|| dflt.cpu.clone()),
        memory: spec
            .and_then(|s| s.memory.as_ref())
            .map(|x| x.value.clone())
            .or_else(|| dflt.memory.clone()),
    };
    let requests = q(
        c.resources.as_ref().map(|r| &r.requests),
        &profile.resources.requests,
    );
    let limits = q(
        c.resources.as_ref().map(|r| &r.limits),
        &profile.resources.limits,
    );
    let probe = |p: &Option<model::Probe>| -> Option<RProbe> {
        let p = p.as_ref()?;
        if let Some(h) = &p.http_get {
            return Some(RProbe::Http {
                path: h.path.value.clone(),
                port: h.port.value,
                scheme: h.scheme.as_ref().map(|s| s.value.clone()),
                host: h.host.as_ref().map(|s| s.value.clone()),
                headers: h
                    .headers
                    .iter()
                    .map(|(n, v)| (n.value.clone(), v.value.clone()))
                    .collect(),
            });
        }
        p.exec.as_ref().map(|cmd| RProbe::Exec {
            command: cmd.iter().map(|s| s.value.clone()).collect(),
        })
    };
    let mut env: Vec<EnvVar> = hidden
        .into_iter()
        .map(|(name, (secret, key))| EnvVar {
            name,
            value: EnvValue::SecretKeyRef { secret, key },
        })
        .collect();
    env.extend(visible);
    let rc = RContainer {
        name: c.name.value.clone(),
        image,
        command,
        args,
        env,
        files,
        volumes,
        requests,
        limits,
        liveness: probe(&c.liveness_probe),
        readiness: probe(&c.readiness_probe),
    };
    diags.into_result(rc)
}

/// Labels every object of a resource instance carries.
pub fn resource_labels(
    platform: &Platform,
    env: &str,
    team: &str,
    name: &str,
    rtype: &str,
) -> Value {
    json!({
        "app.kubernetes.io/managed-by": "platc",
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": rtype,
        "app.kubernetes.io/part-of": platform.name,
        "platc.dev/team": team,
        "platc.dev/environment": env,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_merge_overrides_leaves_and_keeps_siblings() {
        let a =
            json!({"replicas": 1, "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}});
        let b = json!({"replicas": 3, "resources": {"requests": {"cpu": "500m"}}});
        assert_eq!(
            deep_merge(a, b),
            json!({"replicas": 3, "resources": {"requests": {"cpu": "500m", "memory": "128Mi"}}})
        );
    }

    #[test]
    fn topo_order_reports_the_whole_cycle() {
        let mut needs = BTreeMap::new();
        needs.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
        needs.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
        needs.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
        assert_eq!(
            topo_order(&needs),
            Err(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        needs.insert("c".to_string(), BTreeSet::new());
        assert_eq!(
            topo_order(&needs),
            Ok(vec!["c".into(), "b".into(), "a".into()])
        );
    }

    #[test]
    fn dns_labels_are_clean() {
        assert_eq!(dns_label("Orders_DB.main"), "orders-db-main");
        assert_eq!(dns_label("--x--"), "x");
    }

    #[test]
    fn secrets_become_hidden_variables_and_literals_are_escaped() {
        let mut hidden = BTreeMap::new();
        let s = segs_to_k8s(
            vec![
                Seg::Text("postgres://u:".into()),
                Seg::Secret {
                    secret: "db-app".into(),
                    key: "password".into(),
                    hint: "db_password".into(),
                },
                Seg::Text("@h/$(x)".into()),
            ],
            &mut hidden,
        );
        assert_eq!(s, "postgres://u:$(PLATC_SECRET_DB_PASSWORD)@h/$$(x)");
        assert_eq!(
            hidden["PLATC_SECRET_DB_PASSWORD"],
            ("db-app".to_string(), "password".to_string())
        );
    }
}
