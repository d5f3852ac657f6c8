//! The security plane: who runs as whom, who may talk to whom, who may look.
//!
//! - a ServiceAccount per workload (pods already name it), with no API token mounted;
//! - per namespace a default-deny NetworkPolicy (ingress and egress), then per workload exactly
//!   the traffic the graph implies: from its callers (communication edges in), to its callees
//!   (communication edges out), to the resources it uses (ordering edges resource → workload),
//!   from the route controller when it has a route, from Prometheus when it is scraped, and DNS;
//! - per provisioned resource whose pods run in a platc namespace, the matching ingress on its
//!   own pods (the default deny covers them too);
//! - per team namespace a read-only Role and a RoleBinding to the team's group.
//!
//! Pod Security admission labels are on the Namespace objects (resource plane).
//!
//! NetworkPolicy ports are pod ports, so a workload's service ports appear as their target
//! ports.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::origins::{Origin, Recorder};
use super::{EnvCx, Object, PlaneRenderer, Provenance};
use crate::diag::Diagnostics;
use crate::graph::{components_on, namespace_id, resource_id, workload_id};
use crate::model::{Plane, RouteKind};
use crate::resolve::{RPort, RWorkload};

mod endpoints;
mod instance;
mod namespace;
mod workload;

pub use endpoints::{Endpoint, PodEndpoint, endpoint};
use instance::instance_policy;
use namespace::namespace_objects;
pub use namespace::team_rules;
use workload::{service_account, used_resources, workload_policy};

/// The renderer's name in recorded origins.
const SEC: &str = "security";

pub struct SecurityPlane;

pub const DEFAULT_DENY: &str = "default-deny";
pub const INGRESS_KIND: &str = "networking.k8s.io/Ingress";
pub const HTTPROUTE_KIND: &str = "gateway.networking.k8s.io/HTTPRoute";
pub const SERVICE_MONITOR_KIND: &str = "monitoring.coreos.com/ServiceMonitor";
pub const POD_MONITOR_KIND: &str = "monitoring.coreos.com/PodMonitor";
const NS_LABEL: &str = "kubernetes.io/metadata.name";

/// Address ranges that an egress rule to an external service excludes: RFC 1918, which is where
/// pod, service and node addresses of the platform's clusters live. Without the exclusion, an
/// ipBlock `0.0.0.0/0` would also reach every pod of the cluster on that port.
pub const CLUSTER_RANGES: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

impl PlaneRenderer for SecurityPlane {
    fn plane(&self) -> Plane {
        Plane::Security
    }

    fn render_env(&self, cx: &EnvCx<'_>) -> Result<Vec<Object>, Diagnostics> {
        let mut diags = Diagnostics::new();
        let mut out = Vec::new();

        let namespaces = cx.res.namespaces();
        for (ns, team) in &namespaces {
            if cx.fresh(&namespace_id(ns)) {
                out.extend(cx.finish_all(namespace_objects(cx, ns, team)));
            }
        }

        let mut endpoints: BTreeMap<&str, Endpoint> = BTreeMap::new();
        for (i, e) in wanted_endpoints(cx) {
            match e {
                Ok(Some(e)) => {
                    endpoints.insert(i.key.as_str(), e);
                }
                Ok(None) => {}
                Err(d) => diags.push(d),
            }
        }

        let (objects, _) = crate::render::par_each(&cx.res.workloads, |w| {
            if !cx.fresh(&workload_id(&w.name)) {
                return Default::default();
            }
            let objects = vec![
                cx.finish(service_account(cx, w)),
                cx.finish(workload_policy(cx, w, &endpoints)),
            ];
            (objects, Diagnostics::new())
        });
        out.extend(objects);
        for i in cx
            .res
            .instances
            .iter()
            .filter(|i| cx.fresh(&resource_id(&i.key)))
        {
            // Pods outside platc's namespaces (the shared Kafka) are not under its default deny.
            if let Some(Endpoint::Pods(e)) = endpoints.get(i.key.as_str())
                && namespaces.contains_key(e.namespace.as_str())
            {
                out.push(cx.finish(instance_policy(cx, i, e)));
            }
        }
        diags.into_result(out)
    }
}

/// The endpoints of the instances whose endpoint something rendered now reads, in instance
/// order, worked out side by side (each renders the provisioner's network templates): a fresh
/// resource's own ingress, and a fresh workload's egress to the resources it uses
/// ([`used_resources`], as `egress` reads them). A rebuild that
/// renders a few nodes works out a few endpoints, not every instance's.
fn wanted_endpoints<'a>(
    cx: &'a EnvCx<'_>,
) -> Vec<(
    &'a crate::resolve::Instance,
    Result<Option<Endpoint>, crate::diag::Diagnostic>,
)> {
    use rayon::prelude::*;
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    for w in &cx.res.workloads {
        let id = workload_id(&w.name);
        if cx.fresh(&id) {
            wanted.extend(used_resources(cx, &id).into_iter().map(|(_, key)| key));
        }
    }
    cx.res
        .instances
        .par_iter()
        .filter(|i| wanted.contains(i.key.as_str()) || cx.fresh(&resource_id(&i.key)))
        .map(|i| (i, endpoint(cx, i)))
        .collect()
}

pub(super) fn provenance_ns(ns: &str) -> Provenance {
    Provenance {
        source: "platform/main.ncl".into(),
        node: namespace_id(ns),
        via: "renderer:security".into(),
    }
}

pub(super) fn provenance_w(w: &RWorkload) -> Provenance {
    Provenance {
        source: w.file.to_string(),
        node: workload_id(&w.name),
        via: "renderer:security".into(),
    }
}

/// Each leaf of a policy's `policyTypes` and rules (recording only): a rule's peers and ports
/// are made by the cause recorded for the rule (its edge and what created it, or the
/// provisioner's `network`), each through the part it plays, named here.
pub(super) fn record_rules(rec: &mut Recorder, spec: &Value, subject: &str) {
    let rule = |r: &'static str| Some(Origin::rule(SEC, r, subject));
    rec.complete("spec.policyTypes", &spec["policyTypes"], |_| None);
    for dir in ["ingress", "egress"] {
        let Some(rules) = spec.get(dir) else {
            continue;
        };
        rec.complete(&format!("spec.{dir}"), rules, |rel| {
            if rel.contains("namespaceSelector") {
                rule("a peer's namespace, selected by its name label")
            } else if rel.contains("podSelector") {
                rule("a peer's pods, selected by their labels")
            } else if rel.contains("ipBlock.except") {
                rule("an external peer excludes the cluster's private ranges (RFC 1918)")
            } else if rel.contains("ipBlock") {
                rule("an external peer: any address")
            } else if rel.ends_with(".protocol") {
                rule("the protocol of the port")
            } else if rel.ends_with(".port") {
                rule("the port, as a pod port")
            } else {
                None
            }
        });
    }
}

/// The labels that select a workload's pods (the Deployment's selector).
pub fn pod_selector(env: &str, workload: &str) -> Value {
    json!({
        "app.kubernetes.io/name": workload,
        "app.kubernetes.io/instance": format!("{workload}-{env}"),
    })
}

fn ns_selector(ns: &str) -> Value {
    json!({"matchLabels": {NS_LABEL: ns}})
}

pub(super) fn peer_workload(env: &str, w: &RWorkload) -> Value {
    json!({"namespaceSelector": ns_selector(&w.namespace), "podSelector": {"matchLabels": pod_selector(env, &w.name)}})
}

pub(super) fn peer_pods(namespace: &str, pods: &BTreeMap<String, String>) -> Value {
    let mut p = json!({"namespaceSelector": ns_selector(namespace)});
    if !pods.is_empty() {
        p["podSelector"] = json!({"matchLabels": pods});
    }
    p
}

pub(super) fn tcp(ports: impl IntoIterator<Item = u16>) -> Vec<Value> {
    ports
        .into_iter()
        .map(|p| json!({"protocol": "TCP", "port": p}))
        .collect()
}

pub(super) fn pod_ports(ports: &[RPort]) -> Vec<Value> {
    let set: BTreeSet<(&str, u16)> = ports
        .iter()
        .map(|p| (p.protocol.as_str(), p.target_port))
        .collect();
    set.into_iter()
        .map(|(proto, port)| json!({"protocol": proto, "port": port}))
        .collect()
}

pub(super) fn dns_rule() -> Value {
    json!({
        "to": [{"namespaceSelector": ns_selector("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    })
}

pub(super) fn external_peer() -> Value {
    json!({"ipBlock": {"cidr": "0.0.0.0/0", "except": CLUSTER_RANGES}})
}

/// Namespaces of the installed components that serve any of `kinds`.
pub(super) fn provider_namespaces(cx: &EnvCx<'_>, kinds: &[&str]) -> BTreeSet<String> {
    components_on(cx.platform, &cx.res.cluster)
        .into_iter()
        .filter_map(|c| cx.platform.components.get(c))
        .filter(|c| c.provides.iter().any(|k| kinds.contains(&k.as_str())))
        .map(|c| c.namespace.clone())
        .collect()
}

/// Where route traffic comes from: the ingress controller, or the Gateway and its controller.
pub(super) fn route_namespaces(cx: &EnvCx<'_>) -> BTreeSet<String> {
    let Some(cluster) = cx.platform.clusters.get(&cx.res.cluster) else {
        return BTreeSet::new();
    };
    match cluster.routes {
        RouteKind::Ingress => provider_namespaces(cx, &[INGRESS_KIND]),
        RouteKind::Httproute => {
            let mut s = provider_namespaces(cx, &[HTTPROUTE_KIND]);
            if let Some(g) = &cluster.gateway {
                s.insert(g.namespace.clone());
            }
            s
        }
    }
}

pub(super) fn ns_peers(namespaces: &BTreeSet<String>) -> Vec<Value> {
    namespaces
        .iter()
        .map(|ns| json!({"namespaceSelector": ns_selector(ns)}))
        .collect()
}

pub(super) fn find<'a>(cx: &'a EnvCx<'_>, name: &str) -> Option<&'a RWorkload> {
    cx.res.workload(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Compilation, Options, compile};
    use crate::resolve::Instance;
    use crate::template::Templates;

    fn examples() -> Compilation {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        match compile(root, &Options::default()) {
            Ok(c) => c,
            Err(d) => panic!("the examples compile: {d:?}"),
        }
    }

    fn env_of<'a>(c: &'a Compilation, env: &str) -> &'a crate::pipeline::EnvResult {
        c.envs
            .iter()
            .find(|e| e.resolution.env == env)
            .expect("env")
    }

    fn instance<'a>(e: &'a crate::pipeline::EnvResult, name: &str) -> &'a Instance {
        e.resolution
            .instances
            .iter()
            .find(|i| i.name == name)
            .expect("instance")
    }

    #[test]
    fn port_forward_only_outside_production_and_never_secrets() {
        let c = examples();
        let resources = |rules: &[Value]| -> Vec<String> {
            rules
                .iter()
                .flat_map(|r| r["resources"].as_array().cloned().unwrap_or_default())
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        let dev = team_rules(&c.platform, "nonprod", false);
        let prod = team_rules(&c.platform, "prod", true);
        assert!(resources(&dev).contains(&"pods/portforward".to_string()));
        assert!(!resources(&prod).contains(&"pods/portforward".to_string()));
        assert!(resources(&prod).contains(&"pods/log".to_string()));
        assert!(
            !resources(&dev)
                .iter()
                .any(|r| r == "secrets" || r == "pods/exec")
        );
        // Operator groups come from the cluster's components: Envoy's only on prod.
        let groups = |rules: &[Value]| -> Vec<String> {
            rules
                .iter()
                .flat_map(|r| r["apiGroups"].as_array().cloned().unwrap_or_default())
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        assert!(groups(&prod).contains(&"gateway.networking.k8s.io".to_string()));
        assert!(!groups(&dev).contains(&"gateway.networking.k8s.io".to_string()));
        assert!(groups(&dev).contains(&"postgresql.cnpg.io".to_string()));
    }

    #[test]
    fn endpoints_come_from_the_provisioners_network_or_the_outputs() {
        let mut c = examples();
        let templates = Templates::new(&c.platform).expect("templates");
        let e = env_of(&c, "dev");
        let cx = EnvCx::new(&c.platform, &templates, &e.resolution, &e.graph);
        let Ok(Some(Endpoint::Pods(db))) = endpoint(&cx, instance(e, "payments-db")) else {
            panic!("payments-db is served by pods");
        };
        assert_eq!(db.namespace, "payments-dev");
        assert_eq!(
            db.pods,
            BTreeMap::from([("cnpg.io/cluster".to_string(), "payments-db".to_string())])
        );
        assert_eq!(
            (db.ports.clone(), db.metrics_port, db.kube_api),
            (vec![5432], Some(9187), true)
        );
        let topic = instance(e, "payment-events");
        let Ok(Some(Endpoint::Pods(k))) = endpoint(&cx, topic) else {
            panic!("kafka topics are served by the brokers");
        };
        assert_eq!(
            (k.namespace.as_str(), k.ports.clone()),
            ("kafka", vec![9092])
        );
        assert_ne!(topic.namespace, "kafka");
        assert_eq!(
            endpoint(&cx, instance(e, "reconcile-reports")),
            Ok(Some(Endpoint::External { ports: vec![443] }))
        );
        assert_eq!(endpoint(&cx, instance(e, "ledger-audit")), Ok(None));
        assert_eq!(endpoint(&cx, instance(e, "web-route")), Ok(None));

        // Without `network`: the `port` output, in the namespace its `.svc` host names, or
        // outside the cluster for any other host.
        let (res, graph) = (e.resolution.clone(), e.graph.clone());
        for p in &mut c.platform.provisioners {
            p.network = None;
        }
        let cx = EnvCx::new(&c.platform, &templates, &res, &graph);
        let db = res
            .instances
            .iter()
            .find(|i| i.name == "payments-db")
            .expect("db");
        assert_eq!(
            endpoint(&cx, db),
            Ok(Some(Endpoint::Pods(PodEndpoint {
                namespace: "payments-dev".into(),
                pods: BTreeMap::new(),
                ports: vec![5432],
                metrics_port: None,
                kube_api: false,
            })))
        );
        let processor = res
            .instances
            .iter()
            .find(|i| i.resource_type == "endpoint")
            .expect("an endpoint");
        assert_eq!(
            endpoint(&cx, processor),
            Ok(Some(Endpoint::External { ports: vec![443] }))
        );
        let s3 = res
            .instances
            .iter()
            .find(|i| i.resource_type == "s3")
            .expect("s3");
        assert_eq!(
            endpoint(&cx, s3),
            Ok(None),
            "no port output, no network: nothing"
        );
    }

    #[test]
    fn a_port_template_that_is_not_a_port_is_an_error() {
        let mut c = examples();
        let templates = Templates::new(&c.platform).expect("templates");
        for p in &mut c.platform.provisioners {
            if p.name == "kafka-topic"
                && let Some(n) = &mut p.network
            {
                n.ports = vec!["{{ resource.params.cluster }}".into()];
            }
        }
        let e = env_of(&c, "dev");
        let cx = EnvCx::new(&c.platform, &templates, &e.resolution, &e.graph);
        let err = endpoint(&cx, instance(e, "payment-events")).expect_err("not a port");
        assert!(
            err.message.contains(
                "network.ports of resource `payment-events` is `events`, expected a port number"
            ),
            "{}",
            err.message
        );
    }

    #[test]
    fn policies_follow_the_graph_and_teams_without_a_group_get_no_binding() {
        let mut c = examples();
        if let Some(t) = c.platform.teams.get_mut("payments") {
            t.group = None;
        }
        let templates = Templates::new(&c.platform).expect("templates");
        let e = env_of(&c, "prod");
        let cx = EnvCx::new(&c.platform, &templates, &e.resolution, &e.graph);
        let objs = SecurityPlane.render_env(&cx).expect("renders");
        let paths: BTreeSet<&str> = objs.iter().map(|o| o.path.as_str()).collect();
        assert!(paths.contains("envs/prod/_namespaces/payments-prod/role-team-payments.yaml"));
        assert!(
            !paths.contains("envs/prod/_namespaces/payments-prod/rolebinding-team-payments.yaml")
        );
        assert!(
            paths
                .contains("envs/prod/_namespaces/storefront-prod/rolebinding-team-storefront.yaml")
        );
        assert!(paths.contains("envs/prod/_namespaces/data-prod/networkpolicy-default-deny.yaml"));

        // ledger: called by payments-api only; egress to DNS and its SQL Server (external);
        // its volume gives nothing.
        let ledger = objs
            .iter()
            .find(|o| o.path == "envs/prod/ledger/networkpolicy-ledger.yaml")
            .and_then(Object::value)
            .expect("ledger policy");
        let ingress = ledger["spec"]["ingress"].as_array().expect("ingress");
        assert_eq!(
            ingress[0]["from"],
            json!([{"namespaceSelector": {"matchLabels": {NS_LABEL: "payments-prod"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "payments-api", "app.kubernetes.io/instance": "payments-api-prod"}}}])
        );
        assert_eq!(
            ingress[0]["ports"],
            json!([{"protocol": "TCP", "port": 8080}])
        );
        let egress = ledger["spec"]["egress"].as_array().expect("egress");
        assert_eq!(egress.len(), 2, "{egress:?}");
        assert_eq!(egress[0], dns_rule());
        assert_eq!(egress[1]["to"], json!([external_peer()]));
        assert_eq!(
            egress[1]["ports"],
            json!([{"protocol": "TCP", "port": 1433}])
        );
        // Every object is a security-plane object, in the dir of its graph node.
        for o in &objs {
            assert_eq!(o.plane, Plane::Security);
            assert!(
                e.graph.index.contains_key(&o.provenance.node),
                "{}",
                o.provenance.node
            );
        }
    }
}
