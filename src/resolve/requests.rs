//! Resource requests sorted by what they ask for: a provisioned request becomes a pending
//! instance (one per type/class/id when shared) matched to its provisioner; a `service` request
//! becomes a call to another workload.

use std::collections::{BTreeMap, BTreeSet};

use super::EnvState;
use super::services::{SERVICE_PORT_TYPE, SERVICE_TYPE, is_service_type, service_call};
use crate::diag::{Code, Diagnostic, Diagnostics, Span, did_you_mean};
use crate::model::{self, Platform, Workload};
use crate::yaml::Node;

/// What one request contributes before outputs are known.
pub(super) struct Pending {
    pub(super) key: String,
    pub(super) rtype: String,
    pub(super) class: String,
    pub(super) id: Option<String>,
    pub(super) res_key: String,
    /// Index into the platform's provisioners.
    pub(super) provisioner: usize,
    /// The first consumer, whose request's params, namespace and team the instance takes.
    pub(super) first: String,
    pub(super) span: Span,
    pub(super) params: Option<Node>,
    pub(super) annotations: BTreeMap<String, String>,
    pub(super) consumers: BTreeSet<String>,
}

/// Fills `st.pending`, `st.calls` and `st.failed.requests` from every workload's requests.
pub(super) fn collect(st: &mut EnvState<'_>, workloads: &[Workload], diags: &mut Diagnostics) {
    for w in workloads {
        let wname = w.name.value.as_str();
        for (key, req) in &w.resources {
            if is_service_type(&req.resource_type.value) {
                add_call(st, wname, key, req, diags);
            } else {
                add_request(st, wname, key, req, diags);
            }
        }
    }
}

fn add_call(
    st: &mut EnvState<'_>,
    wname: &str,
    key: &str,
    req: &model::ResourceRequest,
    diags: &mut Diagnostics,
) {
    match service_call(req, &st.by_name) {
        Ok(call) => {
            st.calls
                .entry(wname.to_string())
                .or_default()
                .insert(key.to_string(), call);
        }
        Err(ds) => {
            diags.extend(ds);
            st.failed
                .requests
                .insert((wname.to_string(), key.to_string()));
        }
    }
}

fn add_request(
    st: &mut EnvState<'_>,
    wname: &str,
    key: &str,
    req: &model::ResourceRequest,
    diags: &mut Diagnostics,
) {
    let rtype = req.resource_type.value.as_str();
    let class = class_of(req).to_string();
    let id = req.id.as_ref().map(|i| i.value.clone());
    let ikey = instance_key(wname, key, req);
    let env_type = st.env.env_type.as_str();
    let Some(prov) = match_provisioner(
        st.platform,
        rtype,
        &class,
        id.as_deref(),
        st.env_name,
        env_type,
    ) else {
        diags.push(no_provisioner(
            st.platform,
            req,
            rtype,
            &class,
            st.env_name,
            env_type,
        ));
        st.failed
            .requests
            .insert((wname.to_string(), key.to_string()));
        return;
    };
    match st.pending.get_mut(&ikey) {
        Some(p) => add_consumer(p, wname, req, diags),
        None => {
            let p = Pending {
                key: ikey.clone(),
                rtype: rtype.to_string(),
                class,
                id,
                res_key: key.to_string(),
                provisioner: prov,
                first: wname.to_string(),
                span: req.key.span.clone(),
                params: req.params.clone(),
                annotations: req
                    .annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value.clone()))
                    .collect(),
                consumers: BTreeSet::from([wname.to_string()]),
            };
            st.pending.insert(ikey, p);
        }
    }
}

/// A further request for a shared instance: one instance has one set of params.
fn add_consumer(
    p: &mut Pending,
    wname: &str,
    req: &model::ResourceRequest,
    diags: &mut Diagnostics,
) {
    // Workloads are visited in name order, so the first consumer is stable.
    let same = p.params.as_ref().map(Node::to_json) == req.params.as_ref().map(Node::to_json);
    if !same {
        diags.push(
            Diagnostic::at(
                Code::SharedResourceConflict,
                &req.key.span,
                format!(
                    "shared resource `{}` is requested with different params than in workload `{}` ({})",
                    p.key, p.first, p.span
                ),
            )
            .with_help("requests with the same type, class and id are one resource: give them identical params, or different ids"),
        );
    }
    p.consumers.insert(wname.to_string());
}

fn class_of(req: &model::ResourceRequest) -> &str {
    req.class.as_ref().map_or("default", |c| c.value.as_str())
}

/// `type/class/id` for a shared request, `type/class/workload.key` for a private one.
fn instance_key(wname: &str, key: &str, req: &model::ResourceRequest) -> String {
    let rtype = &req.resource_type.value;
    let class = class_of(req);
    match &req.id {
        Some(id) => format!("{rtype}/{class}/{}", id.value),
        None => format!("{rtype}/{class}/{wname}.{key}"),
    }
}

/// Workload → resource key → instance key, for the requests that became instances.
pub(super) fn uses(
    workloads: &[Workload],
    pending: &BTreeMap<String, Pending>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut uses: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for w in workloads {
        for (key, req) in &w.resources {
            if is_service_type(&req.resource_type.value) {
                continue;
            }
            let ikey = instance_key(&w.name.value, key, req);
            if pending.contains_key(&ikey) {
                uses.entry(w.name.value.clone())
                    .or_default()
                    .insert(key.clone(), ikey);
            }
        }
    }
    uses
}

/// The first provisioner that serves this request in this environment (the platform's order
/// is its priority).
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
