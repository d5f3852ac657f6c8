//! Provisioning, one instance at a time in dependency order: its params filled and checked
//! against the provisioner, its template context, outputs, secret outputs and external secret,
//! and whether every consumer can reach its secrets.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::naming::short_hash;
use super::placeholders::{Output, Scope, resolve_plain};
use super::requests::Pending;
use super::scope::View;
use super::setup::{Skeleton, deep_merge};
use super::workloads::rports;
use super::{EnvState, Instance, params};
use crate::diag::{Code, Diagnostic, Diagnostics, Spanned};
use crate::model::{self, Platform, Workload};
use crate::template::{Context, Templates};
use crate::yaml::Node;

/// Why an instance was not provisioned.
enum Stop {
    /// Its own error was reported; placeholders naming it stay quiet (see `Failures`).
    Failed,
    /// Something it comes from (its first consumer's set-up) failed and was reported there.
    Skipped,
}

/// Provisions the instances in `order`, recording each one's outputs in `st.outputs` for the
/// instances after it, and each failure in `st.failed`. Instances whose params read no output
/// of another one still unprovisioned are provisioned side by side: `order` is cut into levels
/// (an instance one above the highest of those it needs), each level in parallel, the results
/// applied in `order`'s order, so the outcome is the sequential one.
pub(super) fn provision_all(
    st: &mut EnvState<'_>,
    templates: &Templates,
    order: Vec<String>,
    diags: &mut Diagnostics,
) -> BTreeMap<String, Instance> {
    use rayon::prelude::*;
    let cx = Contexts::new(st);
    let mut instances = BTreeMap::new();
    for level in levels(order, &st.needs) {
        let done: Vec<(String, Result<Instance, Stop>, Diagnostics)> = level
            .into_par_iter()
            .map(|ikey| {
                let mut mine = Diagnostics::new();
                let r = provision(st, templates, &cx, &ikey, &mut mine);
                (ikey, r, mine)
            })
            .collect();
        for (ikey, r, mine) in done {
            diags.extend(mine);
            match r {
                Ok(instance) => {
                    st.outputs.insert(ikey.clone(), instance.outputs.clone());
                    instances.insert(ikey, instance);
                }
                Err(Stop::Failed) => {
                    st.failed.instances.insert(ikey);
                }
                Err(Stop::Skipped) => {}
            }
        }
    }
    instances
}

/// `order` (topological: every instance after those it needs) cut into levels: level 0 needs
/// nothing, level n needs something of level n-1 and nothing above. Within a level, `order`'s
/// order is kept.
fn levels(order: Vec<String>, needs: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut level_of: BTreeMap<&str, usize> = BTreeMap::new();
    let mut levels: Vec<Vec<String>> = Vec::new();
    let at: Vec<usize> = order
        .iter()
        .map(|k| {
            let l = needs
                .get(k)
                .into_iter()
                .flatten()
                .filter_map(|n| level_of.get(n.as_str()).map(|l| l + 1))
                .max()
                .unwrap_or(0);
            level_of.insert(k, l);
            l
        })
        .collect();
    for (k, l) in order.into_iter().zip(at) {
        if levels.len() <= l {
            levels.resize_with(l + 1, Vec::new);
        }
        levels[l].push(k);
    }
    levels
}

fn provision(
    st: &EnvState<'_>,
    templates: &Templates,
    cx: &Contexts<'_>,
    ikey: &str,
    diags: &mut Diagnostics,
) -> Result<Instance, Stop> {
    let p = st.pending.get(ikey).ok_or(Stop::Skipped)?;
    let w = st.by_name.get(p.first.as_str()).ok_or(Stop::Skipped)?;
    let sk = st.skeletons.get(&p.first).ok_or(Stop::Skipped)?;
    let prov = &st.platform.provisioners[p.provisioner];
    let needs = st.needs.get(ikey);
    // Params that use a failed instance's outputs: that failure is the error to report.
    if needs.is_some_and(|n| n.iter().any(|k| st.failed.instances.contains(k))) {
        return Err(Stop::Failed);
    }
    let view = View::of(st, w);
    let params = params_of(p, w, prov, &view.scope(w), diags)?;
    let name = st.names.get(ikey).cloned().unwrap_or_default();
    let uid = short_hash(&format!("{}/{ikey}", st.env_name));
    let context = cx.instance(p, w, sk, &params, &name, &uid);
    let mcx = Templates::context(&context);
    let outputs = render_outputs(templates, prov, &mcx, p, diags);
    let external_secret = render_external_secret(templates, prov, &mcx, diags);
    let (outputs, external_secret) = (outputs?, external_secret?);
    if !prov.secret_outputs.is_empty() && external_secret.is_none() {
        check_secrets_reachable(st, p, &sk.namespace, diags);
    }
    Ok(Instance {
        key: ikey.to_string(),
        resource_type: p.rtype.clone(),
        class: p.class.clone(),
        id: p.id.clone(),
        name,
        uid,
        namespace: sk.namespace.clone(),
        team: sk.team.clone(),
        provisioner: prov.name.clone(),
        params,
        outputs,
        manifests: prov.manifests.clone(),
        requires: prov.requires.clone(),
        external_secret,
        consumers: p.consumers.iter().cloned().collect(),
        needs: needs
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default(),
        context,
        span: p.span.clone(),
    })
}

/// The request's params with placeholders filled, checked against what the provisioner
/// declares, over its defaults.
fn params_of(
    p: &Pending,
    w: &Workload,
    prov: &model::Provisioner,
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> Result<Value, Stop> {
    let params = match &p.params {
        Some(node) => resolve_node(node, scope).map_err(|d| {
            diags.push(d);
            Stop::Failed
        })?,
        None => Value::Object(Default::default()),
    };
    let req = w.resources.get(&p.res_key).ok_or(Stop::Skipped)?;
    let decl = params::Declared {
        owner: format!("provisioner `{}`", prov.name),
        params: &prov.params,
        defaults: &prov.defaults,
    };
    let params = params::check(&decl, req, params).map_err(|ds| {
        diags.extend(ds);
        Stop::Failed
    })?;
    Ok(deep_merge(prov.defaults.clone(), params))
}

/// The parts of an instance's template context that are the same for the whole environment,
/// built once.
struct Contexts<'a> {
    platform: &'a Platform,
    env_name: &'a str,
    env: Value,
    cluster: Value,
}

impl<'a> Contexts<'a> {
    fn new(st: &EnvState<'a>) -> Self {
        let env = st.env;
        let cluster = st.platform.clusters.get(&env.cluster).map(|c| {
            json!({
                "name": env.cluster, "server": c.server, "domain": c.domain,
                "routes": match c.routes { model::RouteKind::Ingress => "ingress", model::RouteKind::Httproute => "httproute" },
                "ingress_class": c.ingress_class, "gateway": c.gateway.as_ref().map(|g| json!({"name": g.name, "namespace": g.namespace})),
            })
        });
        Contexts {
            platform: st.platform,
            env_name: st.env_name,
            env: json!({"name": st.env_name, "type": env.env_type, "pod_security": env.pod_security, "labels": env.labels}),
            cluster: cluster.unwrap_or(Value::Null),
        }
    }

    fn team(&self, team: &str) -> Value {
        self.platform
            .teams
            .get(team)
            .map(|t| json!({"name": team, "namespace": t.namespace, "project": t.project, "owners": t.owners, "group": t.group}))
            .unwrap_or(Value::Null)
    }

    /// What an instance's outputs and manifests render with.
    fn instance(
        &self,
        p: &Pending,
        w: &Workload,
        sk: &Skeleton,
        params: &Value,
        name: &str,
        uid: &str,
    ) -> Value {
        let Skeleton {
            team, namespace, ..
        } = sk;
        let consumers: Vec<&String> = p.consumers.iter().collect();
        let service = w
            .service
            .as_ref()
            .map(|s| json!({"name": p.first, "ports": ports_of(s)}));
        let mut resource = json!({
            "type": p.rtype, "class": p.class, "id": p.id, "key": p.res_key, "name": name,
            "uid": uid, "shared": p.id.is_some(), "annotations": p.annotations,
        });
        // Values already built go in as they are: `json!` would copy each through serde's
        // serializer, which was a third of provisioning an environment.
        insert(&mut resource, "params", params.clone());
        let mut cx = json!({
            "namespace": namespace,
            "workload": {"name": p.first, "namespace": namespace, "team": team, "service": service},
            "consumers": consumers,
            "platform": {"name": self.platform.name},
        });
        insert(&mut cx, "resource", resource);
        insert(&mut cx, "env", self.env.clone());
        insert(&mut cx, "cluster", self.cluster.clone());
        insert(&mut cx, "team", self.team(team));
        let labels = resource_labels(self.platform, self.env_name, team, name, &p.rtype);
        insert(&mut cx, "labels", labels);
        cx
    }
}

fn insert(object: &mut Value, key: &str, value: Value) {
    if let Value::Object(m) = object {
        m.insert(key.to_string(), value);
    }
}

fn ports_of(s: &model::Service) -> Value {
    serde_json::to_value(rports(s)).unwrap_or(Value::Null)
}

/// Outputs and secret outputs; every template is rendered so that all errors are reported.
fn render_outputs(
    templates: &Templates,
    prov: &model::Provisioner,
    mcx: &Context,
    p: &Pending,
    diags: &mut Diagnostics,
) -> Result<BTreeMap<String, Output>, Stop> {
    let mut outputs = BTreeMap::new();
    let mut failed = false;
    for (oname, tmpl) in &prov.outputs {
        match templates.render_inline(&format!("{}.outputs.{oname}", prov.name), tmpl, mcx) {
            Ok(v) => {
                outputs.insert(oname.clone(), Output::Plain(v));
            }
            Err(d) => {
                diags.push(d.with_note(format!(
                    "while provisioning resource `{}` of workload `{}` ({})",
                    p.res_key, p.first, p.span
                )));
                failed = true;
            }
        }
    }
    for (oname, so) in &prov.secret_outputs {
        let what = format!("{}.secret_outputs.{oname}", prov.name);
        match templates.render_inline(&what, &so.secret, mcx) {
            Ok(secret) => {
                let key = so.key.clone();
                outputs.insert(oname.clone(), Output::Secret { secret, key });
            }
            Err(d) => {
                diags.push(d);
                failed = true;
            }
        }
    }
    if failed {
        Err(Stop::Failed)
    } else {
        Ok(outputs)
    }
}

/// (store, remote key) of the provisioner's external secret, if it has one.
fn render_external_secret(
    templates: &Templates,
    prov: &model::Provisioner,
    mcx: &Context,
    diags: &mut Diagnostics,
) -> Result<Option<(String, String)>, Stop> {
    let Some(es) = &prov.external_secret else {
        return Ok(None);
    };
    let what = format!("{}.external_secret.remote_key", prov.name);
    match templates.render_inline(&what, &es.remote_key, mcx) {
        Ok(k) => Ok(Some((es.store.clone(), k))),
        Err(d) => {
            diags.push(d);
            Err(Stop::Failed)
        }
    }
}

/// Secrets live in one namespace; consumers elsewhere could not reference them. Reported, but
/// the instance is still provisioned: its consumers' errors would only repeat this one.
fn check_secrets_reachable(
    st: &EnvState<'_>,
    p: &Pending,
    namespace: &str,
    diags: &mut Diagnostics,
) {
    let namespaces: BTreeSet<&str> = p
        .consumers
        .iter()
        .filter_map(|c| st.skeletons.get(c).map(|s| s.namespace.as_str()))
        .collect();
    if namespaces.len() > 1 {
        diags.push(
            Diagnostic::at(
                Code::SharedResourceConflict,
                &p.span,
                format!(
                    "shared resource `{}` is used from namespaces {} but its secret outputs exist only in `{namespace}`",
                    p.key,
                    namespaces.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ),
            )
            .with_help("share it only between workloads of one team, or provision it with an `external_secret` so every namespace gets the secret"),
        );
    }
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

    fn needs(pairs: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        pairs
            .iter()
            .map(|(k, ns)| (k.to_string(), ns.iter().map(|n| n.to_string()).collect()))
            .collect()
    }

    #[test]
    fn levels_keep_order_within_a_level_and_put_each_instance_above_what_it_needs() {
        let order: Vec<String> = ["a", "c", "b", "d", "e"].map(String::from).to_vec();
        let needs = needs(&[("c", &["a"]), ("d", &["c", "b"]), ("e", &["b"])]);
        assert_eq!(
            levels(order, &needs),
            vec![vec!["a", "b"], vec!["c", "e"], vec!["d"]]
        );
    }

    #[test]
    fn a_need_outside_the_order_does_not_raise_a_level() {
        // A failed first consumer's instance is never in the order; what needs it stays low.
        let order: Vec<String> = vec!["b".into()];
        assert_eq!(levels(order, &needs(&[("b", &["gone"])])), vec![vec!["b"]]);
    }
}
