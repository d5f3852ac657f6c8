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

use petgraph::Direction;
use serde_json::{Map, Value, json};

use super::resource::{instance_dir, namespace_dir, workload_dir};
use super::{EnvCx, Object, PlaneRenderer, Provenance, workload_labels};
use crate::diag::Diagnostics;
use crate::graph::{EdgeKind, NodeKind, components_on, namespace_id, resource_id, workload_id};
use crate::model::{Plane, Platform, RouteKind};
use crate::resolve::{Instance, RPort, RWorkload};

mod endpoints;

use endpoints::port_of;
pub use endpoints::{Endpoint, PodEndpoint, endpoint};

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
        for i in &cx.res.instances {
            match endpoint(cx, i) {
                Ok(Some(e)) => {
                    endpoints.insert(i.key.as_str(), e);
                }
                Ok(None) => {}
                Err(d) => diags.push(d),
            }
        }

        for w in cx.res.workloads.iter() {
            if cx.fresh(&workload_id(&w.name)) {
                out.push(cx.finish(service_account(cx, w)));
                out.push(cx.finish(workload_policy(cx, w, &endpoints)));
            }
        }
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

fn provenance_ns(ns: &str) -> Provenance {
    Provenance {
        source: "platform/main.ncl".into(),
        node: namespace_id(ns),
        via: "renderer:security".into(),
    }
}

fn provenance_w(w: &RWorkload) -> Provenance {
    Provenance {
        source: w.file.to_string(),
        node: workload_id(&w.name),
        via: "renderer:security".into(),
    }
}

fn ns_labels(cx: &EnvCx<'_>, team: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("app.kubernetes.io/managed-by".into(), json!("platc"));
    m.insert("app.kubernetes.io/part-of".into(), json!(cx.platform.name));
    m.insert("platc.dev/team".into(), json!(team));
    m.insert("platc.dev/environment".into(), json!(cx.res.env));
    m
}

/// Default deny, the team's Role and its binding.
fn namespace_objects(cx: &EnvCx<'_>, ns: &str, team: &str) -> Vec<Object> {
    let env = &cx.res.env;
    let dir = namespace_dir(env, ns);
    let labels = ns_labels(cx, team);
    let mut out = vec![Object::manifest(
        &dir,
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": DEFAULT_DENY, "namespace": ns, "labels": labels},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        }),
        Plane::Security,
        provenance_ns(ns),
    )];
    let production = cx
        .platform
        .environments
        .get(env)
        .is_some_and(|e| e.env_type == "production");
    let role = format!("team-{team}");
    out.push(Object::manifest(
        &dir,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": role, "namespace": ns, "labels": labels},
            "rules": team_rules(cx.platform, &cx.res.cluster, production),
        }),
        Plane::Security,
        provenance_ns(ns),
    ));
    if let Some(group) = cx.platform.teams.get(team).and_then(|t| t.group.as_ref()) {
        out.push(Object::manifest(
            &dir,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": role, "namespace": ns, "labels": labels},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}],
            }),
            Plane::Security,
            provenance_ns(ns),
        ));
    }
    out
}

const READ: [&str; 3] = ["get", "list", "watch"];

/// Read access to what platc and the operators put in a namespace, logs, and port-forward
/// outside production. Secrets are deliberately absent: reading them would defeat keeping
/// secret values out of Git and out of the portal. Operator API groups (from the `provides` of
/// the cluster's components) are read whole, since their kinds' plural names are not in the
/// platform definition.
pub fn team_rules(platform: &Platform, cluster: &str, production: bool) -> Vec<Value> {
    let core: [(&str, &[&str]); 9] = [
        (
            "",
            &[
                "configmaps",
                "endpoints",
                "events",
                "persistentvolumeclaims",
                "pods",
                "serviceaccounts",
                "services",
            ],
        ),
        ("apps", &["deployments", "replicasets", "statefulsets"]),
        ("autoscaling", &["horizontalpodautoscalers"]),
        ("batch", &["cronjobs", "jobs"]),
        ("discovery.k8s.io", &["endpointslices"]),
        ("events.k8s.io", &["events"]),
        ("networking.k8s.io", &["ingresses", "networkpolicies"]),
        ("policy", &["poddisruptionbudgets"]),
        ("rbac.authorization.k8s.io", &["rolebindings", "roles"]),
    ];
    let mut rules: Vec<Value> = core
        .iter()
        .map(|(g, r)| json!({"apiGroups": [g], "resources": r, "verbs": READ}))
        .collect();
    let listed: BTreeSet<&str> = core.iter().map(|(g, _)| *g).collect();
    let operator_groups: BTreeSet<&str> = components_on(platform, cluster)
        .into_iter()
        .filter_map(|c| platform.components.get(c))
        .flat_map(|c| c.provides.iter())
        .filter_map(|k| k.rsplit_once('/').map(|(g, _)| g))
        .filter(|g| !listed.contains(g))
        .collect();
    if !operator_groups.is_empty() {
        rules.push(json!({"apiGroups": operator_groups, "resources": ["*"], "verbs": READ}));
    }
    rules.push(json!({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}));
    if !production {
        rules.push(
            json!({"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["create", "get"]}),
        );
    }
    rules
}

fn service_account(cx: &EnvCx<'_>, w: &RWorkload) -> Object {
    let labels = workload_labels(cx.platform, &cx.res.env, &w.team, &w.name);
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

fn peer_workload(env: &str, w: &RWorkload) -> Value {
    json!({"namespaceSelector": ns_selector(&w.namespace), "podSelector": {"matchLabels": pod_selector(env, &w.name)}})
}

fn peer_pods(namespace: &str, pods: &BTreeMap<String, String>) -> Value {
    let mut p = json!({"namespaceSelector": ns_selector(namespace)});
    if !pods.is_empty() {
        p["podSelector"] = json!({"matchLabels": pods});
    }
    p
}

fn tcp(ports: impl IntoIterator<Item = u16>) -> Vec<Value> {
    ports
        .into_iter()
        .map(|p| json!({"protocol": "TCP", "port": p}))
        .collect()
}

fn pod_ports(ports: &[RPort]) -> Vec<Value> {
    let set: BTreeSet<(&str, u16)> = ports
        .iter()
        .map(|p| (p.protocol.as_str(), p.target_port))
        .collect();
    set.into_iter()
        .map(|(proto, port)| json!({"protocol": proto, "port": port}))
        .collect()
}

fn dns_rule() -> Value {
    json!({
        "to": [{"namespaceSelector": ns_selector("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    })
}

fn external_peer() -> Value {
    json!({"ipBlock": {"cidr": "0.0.0.0/0", "except": CLUSTER_RANGES}})
}

/// Namespaces of the installed components that serve any of `kinds`.
fn provider_namespaces(cx: &EnvCx<'_>, kinds: &[&str]) -> BTreeSet<String> {
    components_on(cx.platform, &cx.res.cluster)
        .into_iter()
        .filter_map(|c| cx.platform.components.get(c))
        .filter(|c| c.provides.iter().any(|k| kinds.contains(&k.as_str())))
        .map(|c| c.namespace.clone())
        .collect()
}

/// Where route traffic comes from: the ingress controller, or the Gateway and its controller.
fn route_namespaces(cx: &EnvCx<'_>) -> BTreeSet<String> {
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

fn ns_peers(namespaces: &BTreeSet<String>) -> Vec<Value> {
    namespaces
        .iter()
        .map(|ns| json!({"namespaceSelector": ns_selector(ns)}))
        .collect()
}

fn find<'a>(cx: &'a EnvCx<'_>, name: &str) -> Option<&'a RWorkload> {
    cx.res.workload(name)
}

/// The workload's NetworkPolicy: every rule comes from one graph edge (or the workload's own
/// route, metrics port and DNS).
fn workload_policy(cx: &EnvCx<'_>, w: &RWorkload, endpoints: &BTreeMap<&str, Endpoint>) -> Object {
    let env = &cx.res.env;
    let id = workload_id(&w.name);
    let mut ingress = Vec::new();

    let callers: Vec<Value> = cx
        .graph
        .neighbours(&id, EdgeKind::Communication, Direction::Incoming)
        .into_iter()
        .filter(|n| n.kind == NodeKind::Workload)
        .filter_map(|n| find(cx, &n.name))
        .map(|c| peer_workload(env, c))
        .collect();
    if !callers.is_empty() && !w.ports.is_empty() {
        ingress.push(json!({"from": callers, "ports": pod_ports(&w.ports)}));
    }

    // A route sends to the Service port its `port` param names (default 80, as the template).
    let route_ports: BTreeSet<u16> = cx
        .res
        .instances
        .iter()
        .filter(|i| i.resource_type == "route" && w.uses.values().any(|k| k == &i.key))
        .filter_map(|i| {
            let port = i.params.get("port").and_then(port_of).unwrap_or(80);
            w.ports
                .iter()
                .find(|p| p.port == port)
                .map(|p| p.target_port)
        })
        .collect();
    let route_ns = route_namespaces(cx);
    if !route_ports.is_empty() && !route_ns.is_empty() {
        ingress.push(json!({"from": ns_peers(&route_ns), "ports": tcp(route_ports)}));
    }

    // The same scrape target the monitoring plane renders a ServiceMonitor for (profile or
    // annotation), so the two planes cannot disagree.
    if let Ok(Some(scrape)) = crate::render::monitoring::scrape_target(w)
        && let Some(p) = w.ports.iter().find(|p| p.name == scrape.port)
    {
        let mon = provider_namespaces(cx, &[SERVICE_MONITOR_KIND]);
        if !mon.is_empty() {
            ingress.push(json!({"from": ns_peers(&mon), "ports": tcp([p.target_port])}));
        }
    }

    let mut egress = vec![dns_rule()];
    for n in cx
        .graph
        .neighbours(&id, EdgeKind::Communication, Direction::Outgoing)
    {
        if let Some(callee) = find(cx, &n.name)
            && n.kind == NodeKind::Workload
            && !callee.ports.is_empty()
        {
            egress.push(
                json!({"to": [peer_workload(env, callee)], "ports": pod_ports(&callee.ports)}),
            );
        }
    }
    for n in cx
        .graph
        .neighbours(&id, EdgeKind::Ordering, Direction::Incoming)
    {
        let Some(key) = n.id.strip_prefix("resource:") else {
            continue;
        };
        // Volumes, routes and DNS names have no endpoint: nothing to reach.
        match endpoints.get(key) {
            Some(Endpoint::Pods(e)) => egress.push(
                json!({"to": [peer_pods(&e.namespace, &e.pods)], "ports": tcp(e.ports.iter().copied())}),
            ),
            Some(Endpoint::External { ports }) => {
                egress.push(json!({"to": [external_peer()], "ports": tcp(ports.iter().copied())}))
            }
            None => {}
        }
    }

    let mut spec = json!({
        "podSelector": {"matchLabels": pod_selector(env, &w.name)},
        "policyTypes": ["Ingress", "Egress"],
        "egress": egress,
    });
    if !ingress.is_empty() {
        spec["ingress"] = Value::Array(ingress);
    }
    let labels = workload_labels(cx.platform, env, &w.team, &w.name);
    Object::manifest(
        &workload_dir(env, &w.name),
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": w.name, "namespace": w.namespace, "labels": labels},
            "spec": spec,
        }),
        Plane::Security,
        provenance_w(w),
    )
}

/// The policy on a resource's own pods in a platc namespace: its consumers on its ports, its
/// own pods among themselves (replication, clustering), its operators, Prometheus on the
/// metrics port, DNS, and the API server when its pods need it.
fn instance_policy(cx: &EnvCx<'_>, i: &Instance, e: &PodEndpoint) -> Object {
    let env = &cx.res.env;
    let PodEndpoint {
        namespace,
        pods,
        ports,
        metrics_port,
        kube_api,
    } = e;
    let consumers: Vec<Value> = cx
        .graph
        .neighbours(
            &resource_id(&i.key),
            EdgeKind::Ordering,
            Direction::Outgoing,
        )
        .into_iter()
        .filter(|n| n.kind == NodeKind::Workload)
        .filter_map(|n| find(cx, &n.name))
        .map(|c| peer_workload(env, c))
        .collect();
    let mut ingress = Vec::new();
    if !consumers.is_empty() {
        ingress.push(json!({"from": consumers, "ports": tcp(ports.iter().copied())}));
    }
    let mut egress = vec![dns_rule()];
    // With no pod labels the "own pods" would be the whole namespace.
    if !pods.is_empty() {
        let own = json!({"podSelector": {"matchLabels": pods}});
        ingress.push(json!({"from": [own.clone()]}));
        egress.push(json!({"to": [own]}));
    }
    let operators: BTreeSet<String> = i
        .requires
        .iter()
        .filter_map(|c| cx.platform.components.get(c))
        .map(|c| c.namespace.clone())
        .collect();
    if !operators.is_empty() {
        ingress.push(json!({"from": ns_peers(&operators)}));
    }
    if let Some(mp) = metrics_port {
        let mon = provider_namespaces(cx, &[SERVICE_MONITOR_KIND, POD_MONITOR_KIND]);
        if !mon.is_empty() {
            ingress.push(json!({"from": ns_peers(&mon), "ports": tcp([*mp])}));
        }
    }
    if *kube_api {
        // The API server has no pod labels and its address is the cluster's; it is reached
        // through the `kubernetes` Service (443) or directly (6443).
        egress.push(json!({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": tcp([443, 6443])}));
    }
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
        &instance_dir(env, &i.name),
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": i.name, "namespace": namespace, "labels": labels},
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Compilation, Options, compile};
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
