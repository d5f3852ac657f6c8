//! A workload's ServiceAccount and NetworkPolicy. Every rule of the policy comes from one graph
//! edge (or the workload's own route, metrics port and DNS), and records it with what created
//! the edge: the Score request or `service` link, the provisioner's `network` block.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::Direction;
use serde_json::{Value, json};

use super::super::origins::{
    Labelled, Origin, Recorder, SELECTOR_KEYS, edge_origins, platform, profile_setting,
    provisioner_path, record_labels, team_origins, workload_origin,
};
use super::super::resource::workload_dir;
use super::endpoints::port_of;
use super::{
    Endpoint, EnvCx, Object, SEC, SERVICE_MONITOR_KIND, dns_rule, external_peer, find, ns_peers,
    peer_pods, peer_workload, pod_ports, pod_selector, provenance_w, provider_namespaces,
    route_namespaces, tcp,
};
use crate::graph::{EdgeKind, NodeKind, resource_id, workload_id};
use crate::model::Plane;
use crate::render::{WORKLOAD_LABEL_KEYS, workload_labels};
use crate::resolve::{Instance, RWorkload};

/// `apiVersion`, `kind` and `metadata` of an object made per workload: the rule, and the
/// workload's name in its Score file.
fn record_frame(cx: &EnvCx<'_>, rec: &mut Recorder, w: &RWorkload, rule: &'static str) {
    for field in ["apiVersion", "kind", "metadata"] {
        rec.at(field, || {
            let mut o = vec![Origin::rule(SEC, rule, workload_id(&w.name))];
            o.extend(workload_origin(cx, &w.name));
            o
        });
    }
}

/// The workload's name, namespace and labels on an object made for it.
fn record_identity(cx: &EnvCx<'_>, rec: &mut Recorder, w: &RWorkload) {
    if !rec.on() {
        return;
    }
    rec.at("metadata.name", || workload_origin(cx, &w.name));
    rec.at("metadata.namespace", || team_origins(cx, w));
    let subject = workload_id(&w.name);
    let l = Labelled::env(cx.platform, SEC, &subject, &cx.res.env, Some(&w.team));
    record_labels(rec, "metadata.labels", WORKLOAD_LABEL_KEYS, &l);
}

/// Each leaf of the policy's spec: the pod selector's labels by their rule, and each part of
/// a rule (a peer's namespace or pods, a port) by the cause recorded for the rule.
fn record_spec(cx: &EnvCx<'_>, rec: &mut Recorder, w: &RWorkload, spec: &Value) {
    if !rec.on() {
        return;
    }
    let subject = workload_id(&w.name);
    let l = Labelled::env(cx.platform, SEC, &subject, &cx.res.env, Some(&w.team));
    record_labels(rec, "spec.podSelector.matchLabels", SELECTOR_KEYS, &l);
    super::record_rules(rec, spec, &subject);
}

pub(super) fn service_account(cx: &EnvCx<'_>, w: &RWorkload) -> Object {
    let labels = workload_labels(cx.platform, &cx.res.env, &w.team, &w.name);
    let mut rec = cx.recorder();
    record_frame(cx, &mut rec, w, "a ServiceAccount per workload");
    record_identity(cx, &mut rec, w);
    rec.at("automountServiceAccountToken", || {
        vec![Origin::rule(
            SEC,
            "workloads get no API token: none of them calls the API server",
            workload_id(&w.name),
        )]
    });
    Object::manifest(
        &workload_dir(&cx.res.env, &w.name),
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": w.name, "namespace": w.namespace, "labels": labels},
            "automountServiceAccountToken": false,
        }),
        Plane::Security,
        provenance_w(w),
    )
    .with_origins(rec)
}

/// The Score `service.ports` of `w`: where the NetworkPolicy's ports come from (as target
/// ports, since NetworkPolicy ports are pod ports).
fn service_ports(cx: &EnvCx<'_>, w: &RWorkload) -> Vec<Origin> {
    let mut o = vec![Origin::rule(
        SEC,
        "the target ports of the workload's service ports",
        workload_id(&w.name),
    )];
    let score = cx.sources().and_then(|s| s.score(&w.name));
    if let Some(svc) = score.and_then(|s| s.service.as_ref()) {
        o.extend(svc.ports.iter().map(|(name, p)| {
            Origin::score(
                format!("service.ports.{name} of workload {}", w.name),
                &p.port.span,
            )
        }));
    }
    o
}

/// The workload's NetworkPolicy.
pub(super) fn workload_policy(
    cx: &EnvCx<'_>,
    w: &RWorkload,
    endpoints: &BTreeMap<&str, Endpoint>,
) -> Object {
    let env = &cx.res.env;
    let mut rec = cx.recorder();
    record_frame(cx, &mut rec, w, "a NetworkPolicy per workload");
    record_identity(cx, &mut rec, w);
    rec.at("spec.podSelector", || {
        let mut o = vec![Origin::rule(
            SEC,
            "the workload's pods, as its Deployment selects them",
            workload_id(&w.name),
        )];
        o.extend(workload_origin(cx, &w.name));
        o
    });
    rec.at("spec.policyTypes", || {
        vec![Origin::rule(
            SEC,
            "both directions, each allowed rule by rule",
            workload_id(&w.name),
        )]
    });
    let ingress = ingress(cx, w, &mut rec);
    let egress = egress(cx, w, endpoints, &mut rec);
    let mut spec = object!({
        "podSelector": object!({"matchLabels": pod_selector(env, &w.name)}),
        "policyTypes": json!(["Ingress", "Egress"]),
        "egress": egress,
    });
    if !ingress.is_empty() {
        spec["ingress"] = Value::Array(ingress);
    }
    record_spec(cx, &mut rec, w, &spec);
    let labels = workload_labels(cx.platform, env, &w.team, &w.name);
    Object::manifest(
        &workload_dir(env, &w.name),
        object!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": json!({"name": w.name, "namespace": w.namespace, "labels": labels}),
            "spec": spec,
        }),
        Plane::Security,
        provenance_w(w),
    )
    .with_origins(rec)
}

/// From its callers, from the route controller, from Prometheus.
fn ingress(cx: &EnvCx<'_>, w: &RWorkload, rec: &mut Recorder) -> Vec<Value> {
    let env = &cx.res.env;
    let id = workload_id(&w.name);
    let mut ingress = Vec::new();

    let callers: Vec<&RWorkload> = cx
        .graph
        .neighbours(&id, EdgeKind::Communication, Direction::Incoming)
        .into_iter()
        .filter(|n| n.kind == NodeKind::Workload)
        .filter_map(|n| find(cx, &n.name))
        .collect();
    if !callers.is_empty() && !w.ports.is_empty() {
        let n = ingress.len();
        rec.record(
            || format!("spec.ingress[{n}]"),
            || {
                vec![Origin::rule(
                    SEC,
                    "callers reach the workload's service ports",
                    id.clone(),
                )]
            },
        );
        for (j, c) in callers.iter().enumerate() {
            rec.record(
                || format!("spec.ingress[{n}].from[{j}]"),
                || edge_origins(cx, &workload_id(&c.name), &id, EdgeKind::Communication),
            );
        }
        rec.record(
            || format!("spec.ingress[{n}].ports"),
            || service_ports(cx, w),
        );
        let from: Vec<Value> = callers.iter().map(|c| peer_workload(env, c)).collect();
        ingress.push(json!({"from": from, "ports": pod_ports(&w.ports)}));
    }

    route_ingress(cx, w, rec, &mut ingress);
    monitoring_ingress(cx, w, rec, &mut ingress);
    ingress
}

/// From the route controller, when the workload has a route.
fn route_ingress(cx: &EnvCx<'_>, w: &RWorkload, rec: &mut Recorder, ingress: &mut Vec<Value>) {
    let id = workload_id(&w.name);
    // A route sends to the Service port its `port` param names (default 80, as the template).
    let routes: Vec<(&Instance, u16)> = cx
        .res
        .instances
        .iter()
        .filter(|i| i.resource_type == "route" && w.uses.values().any(|k| k == &i.key))
        .filter_map(|i| {
            let port = i.params.get("port").and_then(port_of).unwrap_or(80);
            let p = w.ports.iter().find(|p| p.port == port)?;
            Some((i, p.target_port))
        })
        .collect();
    let route_ports: BTreeSet<u16> = routes.iter().map(|(_, p)| *p).collect();
    let route_ns = route_namespaces(cx);
    if !route_ports.is_empty() && !route_ns.is_empty() {
        let n = ingress.len();
        rec.record(
            || format!("spec.ingress[{n}]"),
            || {
                let mut o = vec![Origin::rule(
                    SEC,
                    "the route controller reaches the service port its route names (`port` param, default 80)",
                    id.clone(),
                )];
                for (i, _) in &routes {
                    o.extend(edge_origins(cx, &resource_id(&i.key), &id, EdgeKind::Ordering));
                }
                o.push(platform(cx.platform, &[format!("clusters.{}.routes", cx.res.cluster)]));
                o
            },
        );
        ingress.push(json!({"from": ns_peers(&route_ns), "ports": tcp(route_ports)}));
    }
}

/// From Prometheus, on the metrics port.
fn monitoring_ingress(cx: &EnvCx<'_>, w: &RWorkload, rec: &mut Recorder, ingress: &mut Vec<Value>) {
    let id = workload_id(&w.name);
    // The same scrape target the monitoring plane renders a ServiceMonitor for (profile or
    // annotation), so the two planes cannot disagree.
    if let Ok(Some(scrape)) = crate::render::monitoring::scrape_target(w)
        && let Some(p) = w.ports.iter().find(|p| p.name == scrape.port)
    {
        let mon = provider_namespaces(cx, &[SERVICE_MONITOR_KIND]);
        if !mon.is_empty() {
            let n = ingress.len();
            rec.record(
                || format!("spec.ingress[{n}]"),
                || {
                    let ann = crate::render::monitoring::ANN_METRICS_PORT;
                    vec![
                        Origin::rule(
                            SEC,
                            "Prometheus (the namespaces of the components serving ServiceMonitor) scrapes the metrics port",
                            id.clone(),
                        ),
                        profile_setting(cx, w, "metrics.port", Some(ann)),
                    ]
                },
            );
            ingress.push(json!({"from": ns_peers(&mon), "ports": tcp([p.target_port])}));
        }
    }
}

/// To DNS, to its callees, to the resources it uses.
fn egress(
    cx: &EnvCx<'_>,
    w: &RWorkload,
    endpoints: &BTreeMap<&str, Endpoint>,
    rec: &mut Recorder,
) -> Vec<Value> {
    let env = &cx.res.env;
    let id = workload_id(&w.name);
    rec.at("spec.egress[0]", || {
        vec![Origin::rule(
            SEC,
            "every pod may resolve names: DNS to kube-dns",
            id.clone(),
        )]
    });
    let mut egress = vec![dns_rule()];
    for n in cx
        .graph
        .neighbours(&id, EdgeKind::Communication, Direction::Outgoing)
    {
        if let Some(callee) = find(cx, &n.name)
            && n.kind == NodeKind::Workload
            && !callee.ports.is_empty()
        {
            let k = egress.len();
            rec.record(
                || format!("spec.egress[{k}]"),
                || edge_origins(cx, &id, &n.id, EdgeKind::Communication),
            );
            rec.record(
                || format!("spec.egress[{k}].ports"),
                || service_ports(cx, callee),
            );
            egress.push(
                json!({"to": [peer_workload(env, callee)], "ports": pod_ports(&callee.ports)}),
            );
        }
    }
    for (n, key) in used_resources(cx, &id) {
        // Volumes, routes and DNS names have no endpoint: nothing to reach.
        let rule = match endpoints.get(key) {
            Some(Endpoint::Pods(e)) => {
                json!({"to": [peer_pods(&e.namespace, &e.pods)], "ports": tcp(e.ports.iter().copied())})
            }
            Some(Endpoint::External { ports }) => {
                json!({"to": [external_peer()], "ports": tcp(ports.iter().copied())})
            }
            None => continue,
        };
        let k = egress.len();
        rec.record(
            || format!("spec.egress[{k}]"),
            || edge_origins(cx, &n.id, &id, EdgeKind::Ordering),
        );
        if let Some(i) = cx.res.instance(key) {
            rec.record(|| format!("spec.egress[{k}].to"), || network(cx, i, "pods"));
            rec.record(
                || format!("spec.egress[{k}].ports"),
                || network(cx, i, "ports"),
            );
        }
        egress.push(rule);
    }
    egress
}

/// The resource nodes workload `id` uses (its incoming ordering edges) with their instance
/// keys: whose endpoints its egress reads.
pub(super) fn used_resources<'a>(
    cx: &'a EnvCx<'_>,
    id: &str,
) -> Vec<(&'a crate::graph::GNode, &'a str)> {
    cx.graph
        .neighbours(id, EdgeKind::Ordering, Direction::Incoming)
        .into_iter()
        .filter_map(|n| Some((n, n.id.strip_prefix("resource:")?)))
        .collect()
}

/// Where a resource's endpoint `field` (`pods`, `ports`, `metrics_port`) comes from: its
/// provisioner's `network` block, or without one its `host` and `port` outputs.
pub(super) fn network(cx: &EnvCx<'_>, i: &Instance, field: &str) -> Vec<Origin> {
    let p = cx.platform;
    let prov = provisioner_path(p, &i.provisioner).unwrap_or_default();
    let net = p
        .provisioners
        .iter()
        .find(|x| x.name == i.provisioner)
        .and_then(|x| x.network.as_ref());
    if let Some(n) = net {
        let net = format!("{prov}.network");
        // A `network` without `ports` takes the port from the `port` output.
        let mut paths = if field == "ports" && n.ports.is_empty() {
            vec![format!("{prov}.outputs.port")]
        } else {
            vec![format!("{net}.{field}")]
        };
        if field == "pods" {
            // Selectors: the pods' labels, or the external flag, or the namespace.
            paths.extend([format!("{net}.external"), format!("{net}.namespace")]);
        }
        paths.extend([net, format!("{prov}.name")]);
        return vec![platform(p, &paths)];
    }
    vec![
        Origin::rule(
            SEC,
            "without a `network` block, the `port` output is the port and a `.svc` `host` output names the namespace (else external)",
            resource_id(&i.key),
        ),
        platform(
            p,
            &[
                format!("{prov}.outputs.port"),
                format!("{prov}.outputs"),
                format!("{prov}.name"),
            ],
        ),
    ]
}
