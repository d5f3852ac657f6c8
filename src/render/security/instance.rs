//! The NetworkPolicy on a provisioned resource's own pods in a platc namespace (the default
//! deny covers them too): each rule records the edge or the `network` setting it comes from.

use std::collections::BTreeSet;

use petgraph::Direction;
use serde_json::{Value, json};

use super::super::origins::{
    Labelled, Origin, Recorder, edge_origins, platform, provisioner_path, record_labels,
};
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
                Origin::score(format!("the request of resource {}", i.name), &i.span),
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
    let mut spec = object!({
        "podSelector": json!({"matchLabels": pods}),
        "policyTypes": json!(["Ingress", "Egress"]),
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
    if rec.on() {
        let id = resource_id(&i.key);
        let l = Labelled::env(cx.platform, SEC, &id, &cx.res.env, Some(&i.team));
        let keys: Vec<&str> = labels.keys().map(String::as_str).collect();
        record_labels(&mut rec, "metadata.labels", keys, &l);
        rec.spread("spec.podSelector", &spec["podSelector"], |_| {
            network(cx, i, "pods")
        });
        super::record_rules(&mut rec, &spec, &id);
        rec.at("metadata.name", || {
            vec![Origin::score(
                format!("the request of resource {}", i.name),
                &i.span,
            )]
        });
        rec.at("metadata.namespace", || network(cx, i, "pods"));
    }
    Object::manifest(
        &instance_dir(&cx.res.env, &i.name),
        object!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": json!({"name": i.name, "namespace": e.namespace, "labels": labels}),
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

/// A policy's rules as they are added, each recorded with its origins (made only when
/// recording: `why` runs inside the recorder).
struct Rules<'r> {
    ingress: Vec<Value>,
    egress: Vec<Value>,
    rec: &'r mut Recorder,
}

impl Rules<'_> {
    fn ingress(&mut self, rule: Value, why: impl FnOnce() -> Vec<Origin>) {
        let n = self.ingress.len();
        self.rec.record(|| format!("spec.ingress[{n}]"), why);
        self.ingress.push(rule);
    }

    fn egress(&mut self, rule: Value, why: impl FnOnce() -> Vec<Origin>) {
        let n = self.egress.len();
        self.rec.record(|| format!("spec.egress[{n}]"), why);
        self.egress.push(rule);
    }
}

/// The ingress and egress rules.
fn rules(
    cx: &EnvCx<'_>,
    i: &Instance,
    e: &PodEndpoint,
    rec: &mut Recorder,
) -> (Vec<Value>, Vec<Value>) {
    let id = resource_id(&i.key);
    let rule = |r: &'static str| Origin::rule(SEC, r, id.clone());
    let mut rules = Rules {
        ingress: Vec::new(),
        egress: Vec::new(),
        rec,
    };
    consumers(cx, i, e, &mut rules);
    rules.egress(dns_rule(), || {
        vec![rule("every pod may resolve names: DNS to kube-dns")]
    });
    // With no pod labels the "own pods" would be the whole namespace.
    if !e.pods.is_empty() {
        let own = json!({"podSelector": {"matchLabels": e.pods}});
        let why = || {
            let mut o = vec![rule(
                "a resource's pods reach each other (replication, clustering)",
            )];
            o.extend(network(cx, i, "pods"));
            o
        };
        rules.ingress(json!({"from": [own.clone()]}), why);
        rules.egress(json!({"to": [own]}), why);
    }
    operators_and_monitoring(cx, i, e, &mut rules);
    if e.kube_api {
        // The API server has no pod labels and its address is the cluster's; it is reached
        // through the `kubernetes` Service (443) or directly (6443).
        rules.egress(
            json!({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": tcp([443, 6443])}),
            || {
                let mut o = vec![rule("pods that need the API server reach it (443, 6443)")];
                o.extend(network(cx, i, "kube_api"));
                o
            },
        );
    }
    (rules.ingress, rules.egress)
}

/// The workloads that use the resource, on its ports: one ordering edge each.
fn consumers(cx: &EnvCx<'_>, i: &Instance, e: &PodEndpoint, rules: &mut Rules<'_>) {
    let id = resource_id(&i.key);
    let consumers: Vec<_> = cx
        .graph
        .neighbours(&id, EdgeKind::Ordering, Direction::Outgoing)
        .into_iter()
        .filter(|n| n.kind == NodeKind::Workload)
        .filter_map(|n| find(cx, &n.name))
        .collect();
    if consumers.is_empty() {
        return;
    }
    let from: Vec<Value> = consumers
        .iter()
        .map(|c| peer_workload(&cx.res.env, c))
        .collect();
    rules.ingress(
        json!({"from": from, "ports": tcp(e.ports.iter().copied())}),
        || {
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
        },
    );
}

/// The operators the provisioner requires, and Prometheus on the metrics port.
fn operators_and_monitoring(cx: &EnvCx<'_>, i: &Instance, e: &PodEndpoint, rules: &mut Rules<'_>) {
    let rule = |r: &'static str| Origin::rule(SEC, r, resource_id(&i.key));
    let operators: BTreeSet<String> = i
        .requires
        .iter()
        .filter_map(|c| cx.platform.components.get(c))
        .map(|c| c.namespace.clone())
        .collect();
    if !operators.is_empty() {
        rules.ingress(json!({"from": ns_peers(&operators)}), || {
            let prov = provisioner_path(cx.platform, &i.provisioner).unwrap_or_default();
            vec![
                rule("the operators the provisioner requires reach the resource's pods"),
                platform(
                    cx.platform,
                    &[format!("{prov}.requires"), format!("{prov}.name")],
                ),
            ]
        });
    }
    if let Some(mp) = e.metrics_port {
        let mon = provider_namespaces(cx, &[SERVICE_MONITOR_KIND, POD_MONITOR_KIND]);
        if !mon.is_empty() {
            rules.ingress(json!({"from": ns_peers(&mon), "ports": tcp([mp])}), || {
                let mut o = vec![rule("Prometheus scrapes the resource's metrics port")];
                o.extend(network(cx, i, "metrics_port"));
                o
            });
        }
    }
}
