//! The NetworkPolicy on a provisioned resource's own pods in a platc namespace (the default
//! deny covers them too): each rule records the edge or the `network` setting it comes from.

use std::collections::BTreeSet;

use petgraph::Direction;
use serde_json::{Value, json};

use super::super::origins::{Origin, Recorder, edge_origins, platform, provisioner_path};
use super::super::resource::instance_dir;
use super::namespace::ns_labels;
use super::workload::network;
use super::{
    EnvCx, Object, POD_MONITOR_KIND, PodEndpoint, Provenance, SEC, SERVICE_MONITOR_KIND, dns_rule,
    find, ns_peers, peer_workload, provider_namespaces, tcp,
};
use crate::graph::{EdgeKind, NodeKind, resource_id};
use crate::model::Plane;
use crate::resolve::Instance;

/// `apiVersion`, `kind`, `metadata`, `spec.podSelector` and `spec.policyTypes`: the rule, the
/// request that made the instance, the pods its provisioner's `network` names.
fn record_frame(cx: &EnvCx<'_>, rec: &mut Recorder, i: &Instance) {
    let node = || resource_id(&i.key);
    for field in ["apiVersion", "kind", "metadata", "spec.policyTypes"] {
        rec.at(field, || {
            vec![
                Origin::rule(
                    SEC,
                    "a NetworkPolicy on the pods of each resource served in a platc namespace",
                    node(),
                ),
                Origin::Score {
                    what: format!("the request of resource {}", i.name),
                    at: i.span.clone(),
                },
            ]
        });
    }
    rec.at("spec.podSelector", || network(cx, i, "pods"));
}

/// The policy on a resource's own pods in a platc namespace: its consumers on its ports, its
/// own pods among themselves (replication, clustering), its operators, Prometheus on the
/// metrics port, DNS, and the API server when its pods need it.
pub(super) fn instance_policy(cx: &EnvCx<'_>, i: &Instance, e: &PodEndpoint) -> Object {
    let mut rec = cx.recorder();
    record_frame(cx, &mut rec, i);
    let (ingress, egress) = rules(cx, i, e, &mut rec);
    let pods = &e.pods;
    let mut spec = json!({
        "podSelector": {"matchLabels": pods},
        "policyTypes": ["Ingress", "Egress"],
        "egress": egress,
    });
    if pods.is_empty() {
        spec["podSelector"] = json!({});
    }
    if !ingress.is_empty() {
        spec["ingress"] = Value::Array(ingress);
    }
    let labels = i
        .context
        .get("labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(|| ns_labels(cx, &i.team));
    Object::manifest(
        &instance_dir(&cx.res.env, &i.name),
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": i.name, "namespace": e.namespace, "labels": labels},
            "spec": spec,
        }),
        Plane::Security,
        Provenance {
            source: i.span.file.to_string(),
            node: resource_id(&i.key),
            via: format!(
                "renderer:security (network of provisioner:{})",
                i.provisioner
            ),
        },
    )
    .with_origins(rec)
}

/// The ingress and egress rules, each recorded as it is added.
fn rules(
    cx: &EnvCx<'_>,
    i: &Instance,
    e: &PodEndpoint,
    rec: &mut Recorder,
) -> (Vec<Value>, Vec<Value>) {
    let env = &cx.res.env;
    let id = resource_id(&i.key);
    let node = || id.clone();
    let mut add = |list: &mut Vec<Value>, dir: &'static str, rule: Value, why: Vec<Origin>| {
        let n = list.len();
        rec.record(|| format!("spec.{dir}[{n}]"), || why);
        list.push(rule);
    };
    let on = cx.sources().is_some();
    // Origins are built only when recording: `why` is evaluated before `add` sees it.
    let why = |f: &dyn Fn() -> Vec<Origin>| if on { f() } else { Vec::new() };
    let consumers: Vec<_> = cx
        .graph
        .neighbours(&id, EdgeKind::Ordering, Direction::Outgoing)
        .into_iter()
        .filter(|n| n.kind == NodeKind::Workload)
        .filter_map(|n| find(cx, &n.name))
        .collect();
    let mut ingress = Vec::new();
    if !consumers.is_empty() {
        let from: Vec<Value> = consumers.iter().map(|c| peer_workload(env, c)).collect();
        let w = why(&|| {
            let mut o = network(cx, i, "ports");
            for c in &consumers {
                o.extend(edge_origins(
                    cx,
                    &id,
                    &crate::graph::workload_id(&c.name),
                    EdgeKind::Ordering,
                ));
            }
            o
        });
        add(
            &mut ingress,
            "ingress",
            json!({"from": from, "ports": tcp(e.ports.iter().copied())}),
            w,
        );
    }
    let mut egress = Vec::new();
    let w = why(&|| {
        vec![Origin::rule(
            SEC,
            "every pod may resolve names: DNS to kube-dns",
            node(),
        )]
    });
    add(&mut egress, "egress", dns_rule(), w);
    // With no pod labels the "own pods" would be the whole namespace.
    if !e.pods.is_empty() {
        let own = json!({"podSelector": {"matchLabels": e.pods}});
        let w = || {
            let mut o = vec![Origin::rule(
                SEC,
                "a resource's pods reach each other (replication, clustering)",
                node(),
            )];
            o.extend(network(cx, i, "pods"));
            o
        };
        add(
            &mut ingress,
            "ingress",
            json!({"from": [own.clone()]}),
            why(&w),
        );
        add(&mut egress, "egress", json!({"to": [own]}), why(&w));
    }
    let operators: BTreeSet<String> = i
        .requires
        .iter()
        .filter_map(|c| cx.platform.components.get(c))
        .map(|c| c.namespace.clone())
        .collect();
    if !operators.is_empty() {
        let w = why(&|| {
            let prov = provisioner_path(cx.platform, &i.provisioner).unwrap_or_default();
            vec![
                Origin::rule(
                    SEC,
                    "the operators the provisioner requires reach the resource's pods",
                    node(),
                ),
                platform(
                    cx.platform,
                    &[format!("{prov}.requires"), format!("{prov}.name")],
                ),
            ]
        });
        add(
            &mut ingress,
            "ingress",
            json!({"from": ns_peers(&operators)}),
            w,
        );
    }
    if let Some(mp) = e.metrics_port {
        let mon = provider_namespaces(cx, &[SERVICE_MONITOR_KIND, POD_MONITOR_KIND]);
        if !mon.is_empty() {
            let w = why(&|| {
                let mut o = vec![Origin::rule(
                    SEC,
                    "Prometheus scrapes the resource's metrics port",
                    node(),
                )];
                o.extend(network(cx, i, "metrics_port"));
                o
            });
            add(
                &mut ingress,
                "ingress",
                json!({"from": ns_peers(&mon), "ports": tcp([mp])}),
                w,
            );
        }
    }
    if e.kube_api {
        // The API server has no pod labels and its address is the cluster's; it is reached
        // through the `kubernetes` Service (443) or directly (6443).
        let w = why(&|| {
            let mut o = vec![Origin::rule(
                SEC,
                "pods that need the API server reach it (443, 6443)",
                node(),
            )];
            o.extend(network(cx, i, "kube_api"));
            o
        });
        add(
            &mut egress,
            "egress",
            json!({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": tcp([443, 6443])}),
            w,
        );
    }
    (ingress, egress)
}
