//! The security plane, judged from the rendered tree.
//!
//! The reachability test is the heart: a small interpreter of `networking.k8s.io/v1`
//! NetworkPolicy semantics (selection, isolation, peers, ports, ipBlock) runs over every rendered
//! policy, with pods placed as Kubernetes and the operators would create them, and the set of
//! allowed flows must equal the graph's edges exactly.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::Path;

use common::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// A NetworkPolicy interpreter
// ---------------------------------------------------------------------------------------------

type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone)]
struct Pod {
    name: String,
    namespace: String,
    labels: Labels,
    ip: Ipv4Addr,
}

/// Where a connection goes: a pod, or an address outside the cluster.
#[derive(Debug, Clone)]
enum Dest {
    Pod(Pod),
    External(Ipv4Addr),
}

#[derive(Default)]
struct World {
    /// Namespace → its labels (including `kubernetes.io/metadata.name`, as the API server sets).
    namespaces: BTreeMap<String, Labels>,
    policies: Vec<Value>,
}

fn labels_of(v: Option<&Value>) -> Labels {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().expect("label values are strings").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A LabelSelector: `matchLabels` and `matchExpressions` ANDed; `{}` selects everything.
fn selects(selector: &Value, labels: &Labels) -> bool {
    let obj = selector.as_object().expect("a selector is a mapping");
    for k in obj.keys() {
        assert!(
            k == "matchLabels" || k == "matchExpressions",
            "selector field `{k}` is not understood by this interpreter"
        );
    }
    let ml = labels_of(obj.get("matchLabels"));
    if !ml.iter().all(|(k, v)| labels.get(k) == Some(v)) {
        return false;
    }
    for e in obj
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e["key"].as_str().expect("key");
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let got = labels.get(key).map(String::as_str);
        let ok = match e["operator"].as_str().expect("operator") {
            "In" => got.is_some_and(|g| values.contains(&g)),
            "NotIn" => got.is_none_or(|g| !values.contains(&g)),
            "Exists" => got.is_some(),
            "DoesNotExist" => got.is_none(),
            op => panic!("unknown selector operator {op}"),
        };
        if !ok {
            return false;
        }
    }
    true
}

fn parse_cidr(s: &str) -> (u32, u32) {
    let (ip, len) = s.split_once('/').expect("a CIDR");
    let ip: Ipv4Addr = ip.parse().expect("an IPv4 address");
    let len: u32 = len.parse().expect("a prefix length");
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    (u32::from(ip) & mask, mask)
}

fn in_cidr(ip: Ipv4Addr, cidr: &str) -> bool {
    let (net, mask) = parse_cidr(cidr);
    u32::from(ip) & mask == net
}

/// Which policy types a policy has (the API's defaulting when `policyTypes` is absent).
fn policy_types(p: &Value) -> BTreeSet<String> {
    match p["spec"].get("policyTypes").and_then(Value::as_array) {
        Some(a) => a
            .iter()
            .map(|t| t.as_str().expect("policy type").to_string())
            .collect(),
        None => {
            let mut s = BTreeSet::from(["Ingress".to_string()]);
            if p["spec"].get("egress").is_some() {
                s.insert("Egress".into());
            }
            s
        }
    }
}

impl World {
    fn ns_labels(&self, ns: &str) -> Labels {
        self.namespaces.get(ns).cloned().unwrap_or_else(|| {
            Labels::from([("kubernetes.io/metadata.name".into(), ns.to_string())])
        })
    }

    /// Policies in the pod's namespace whose podSelector selects it, with the given type.
    fn applying<'a>(&'a self, pod: &Pod, ty: &str) -> Vec<&'a Value> {
        self.policies
            .iter()
            .filter(|p| p["metadata"]["namespace"].as_str() == Some(pod.namespace.as_str()))
            .filter(|p| selects(&p["spec"]["podSelector"], &pod.labels))
            .filter(|p| policy_types(p).contains(ty))
            .collect()
    }

    /// Does one peer of a rule in `policy_ns` match the other end of the connection?
    fn peer_matches(&self, peer: &Value, policy_ns: &str, other: &Dest) -> bool {
        let obj = peer.as_object().expect("a peer is a mapping");
        for k in obj.keys() {
            assert!(
                ["podSelector", "namespaceSelector", "ipBlock"].contains(&k.as_str()),
                "peer field `{k}` is not understood by this interpreter"
            );
        }
        if let Some(b) = obj.get("ipBlock") {
            assert!(obj.len() == 1, "ipBlock cannot be combined with selectors");
            // Pod addresses are matched too: the strict reading, so that an over-wide block
            // shows up as reaching pods.
            let ip = match other {
                Dest::Pod(p) => p.ip,
                Dest::External(ip) => *ip,
            };
            let excluded = b
                .get("except")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| in_cidr(ip, c.as_str().expect("cidr")));
            return in_cidr(ip, b["cidr"].as_str().expect("cidr")) && !excluded;
        }
        let Dest::Pod(pod) = other else {
            return false;
        };
        let ns_ok = match obj.get("namespaceSelector") {
            Some(sel) => selects(sel, &self.ns_labels(&pod.namespace)),
            None => pod.namespace == policy_ns,
        };
        let pod_ok = match obj.get("podSelector") {
            Some(sel) => selects(sel, &pod.labels),
            None => true,
        };
        ns_ok && pod_ok
    }

    fn port_matches(ports: Option<&Value>, proto: &str, port: u16) -> bool {
        let Some(list) = ports.and_then(Value::as_array) else {
            return true;
        };
        if list.is_empty() {
            return true;
        }
        list.iter().any(|p| {
            let pr = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            let Some(start) = p.get("port") else {
                return pr == proto;
            };
            let start = start.as_u64().unwrap_or_else(|| {
                panic!("named port {start} is not understood by this interpreter")
            });
            let end = p.get("endPort").and_then(Value::as_u64).unwrap_or(start);
            pr == proto && (start..=end).contains(&u64::from(port))
        })
    }

    /// Does `pod`'s side allow this connection in direction `ty` with `other` at the far end?
    fn side_allows(&self, pod: &Pod, ty: &str, other: &Dest, proto: &str, port: u16) -> bool {
        let policies = self.applying(pod, ty);
        if policies.is_empty() {
            return true; // not isolated
        }
        let (rules_key, peers_key) = if ty == "Ingress" {
            ("ingress", "from")
        } else {
            ("egress", "to")
        };
        policies.iter().any(|p| {
            let ns = p["metadata"]["namespace"].as_str().expect("namespaced");
            p["spec"]
                .get(rules_key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|rule| {
                    let peers_ok = match rule.get(peers_key).and_then(Value::as_array) {
                        None => true,
                        Some(a) if a.is_empty() => true,
                        Some(a) => a.iter().any(|peer| self.peer_matches(peer, ns, other)),
                    };
                    peers_ok && Self::port_matches(rule.get("ports"), proto, port)
                })
        })
    }

    /// A connection from `src` to `dst` on `proto`/`port`: the source's egress and, for a pod,
    /// the destination's ingress must both allow it.
    fn allowed(&self, src: &Pod, dst: &Dest, proto: &str, port: u16) -> bool {
        if !self.side_allows(src, "Egress", dst, proto, port) {
            return false;
        }
        match dst {
            Dest::Pod(d) => self.side_allows(d, "Ingress", &Dest::Pod(src.clone()), proto, port),
            Dest::External(_) => true,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The interpreter's own tests
// ---------------------------------------------------------------------------------------------

fn pod(name: &str, ns: &str, app: &str, ip: [u8; 4]) -> Pod {
    Pod {
        name: name.into(),
        namespace: ns.into(),
        labels: Labels::from([("app".into(), app.into())]),
        ip: Ipv4Addr::from(ip),
    }
}

fn deny_all(ns: &str) -> Value {
    json!({"metadata": {"name": "deny", "namespace": ns}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
}

/// Flows from `sources` to `targets` on (proto, port), as (source, target) names.
fn flows(w: &World, pods: &[Pod], port: u16) -> BTreeSet<(String, String)> {
    let mut s = BTreeSet::new();
    for a in pods {
        for b in pods {
            if a.name != b.name && w.allowed(a, &Dest::Pod(b.clone()), "TCP", port) {
                s.insert((a.name.clone(), b.name.clone()));
            }
        }
    }
    s
}

#[test]
fn interpreter_rejects_a_policy_that_allows_too_much() {
    let pods = vec![
        pod("a", "x", "a", [10, 0, 0, 1]),
        pod("b", "y", "b", [10, 0, 0, 2]),
        pod("c", "z", "c", [10, 0, 0, 3]),
    ];
    let want = BTreeSet::from([("a".to_string(), "b".to_string())]);
    let egress_a = json!({"metadata": {"name": "a", "namespace": "x"}, "spec": {
        "podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "y"}}, "podSelector": {"matchLabels": {"app": "b"}}}], "ports": [{"port": 80}]}]}});
    let egress_c = json!({"metadata": {"name": "c", "namespace": "z"}, "spec": {
        "podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}});
    let precise = json!({"metadata": {"name": "b", "namespace": "y"}, "spec": {
        "podSelector": {"matchLabels": {"app": "b"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "x"}}, "podSelector": {"matchLabels": {"app": "a"}}}], "ports": [{"protocol": "TCP", "port": 80}]}]}});
    // The classic mistake: a namespaceSelector and a podSelector as two peers (OR) instead of
    // one peer (AND) admits every pod of namespace x and every pod named `a` anywhere.
    let too_wide = json!({"metadata": {"name": "b", "namespace": "y"}, "spec": {
        "podSelector": {"matchLabels": {"app": "b"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {}}, {"podSelector": {"matchLabels": {"app": "a"}}}], "ports": [{"port": 80}]}]}});

    let world = |b_policy: &Value| World {
        namespaces: BTreeMap::new(),
        policies: vec![
            deny_all("x"),
            deny_all("y"),
            deny_all("z"),
            egress_a.clone(),
            egress_c.clone(),
            b_policy.clone(),
        ],
    };
    assert_eq!(flows(&world(&precise), &pods, 80), want);
    assert!(flows(&world(&precise), &pods, 81).is_empty(), "wrong port");
    let wide = flows(&world(&too_wide), &pods, 80);
    assert_ne!(wide, want, "an over-wide policy must not pass the equality");
    assert!(
        wide.contains(&("c".to_string(), "b".to_string())),
        "{wide:?}"
    );

    // Without the default deny, b's namespace-less egress is open: the interpreter must see
    // that too (nothing selects c's egress in that world).
    let mut open = world(&precise);
    open.policies
        .retain(|p| p["metadata"]["name"] != "c" && p["metadata"]["name"] != "deny");
    assert!(open.allowed(&pods[2], &Dest::Pod(pods[0].clone()), "TCP", 5));
}

#[test]
fn interpreter_ip_blocks_and_defaults() {
    let a = pod("a", "x", "a", [10, 1, 2, 3]);
    let b = pod("b", "x", "b", [10, 9, 9, 9]);
    let mut w = World {
        namespaces: BTreeMap::new(),
        policies: vec![deny_all("x")],
    };
    w.policies.push(json!({"metadata": {"name": "a", "namespace": "x"}, "spec": {
        "podSelector": {"matchLabels": {"app": "a"}},
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}], "ports": [{"port": 443}]}]}}));
    let public = Dest::External(Ipv4Addr::new(203, 0, 113, 7));
    assert!(w.allowed(&a, &public, "TCP", 443));
    assert!(!w.allowed(&a, &public, "TCP", 80));
    assert!(!w.allowed(&a, &public, "UDP", 443));
    assert!(
        !w.allowed(&a, &Dest::Pod(b.clone()), "TCP", 443),
        "except keeps pods out"
    );
    // Without `policyTypes`, a policy with an `egress` section is Ingress+Egress: a's ingress
    // is isolated by it even apart from the deny.
    w.policies.retain(|p| p["metadata"]["name"] != "deny");
    assert!(!w.allowed(&b, &Dest::Pod(a.clone()), "TCP", 1));
    assert!(w.allowed(&a, &Dest::External(Ipv4Addr::new(1, 1, 1, 1)), "TCP", 443));
    // matchExpressions
    let sel = json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "z"]}]});
    assert!(selects(&sel, &a.labels));
    assert!(!selects(&sel, &b.labels));
}

// ---------------------------------------------------------------------------------------------
// The examples
// ---------------------------------------------------------------------------------------------

struct Built {
    _tmp: tempfile::TempDir,
    out: std::path::PathBuf,
    /// Per environment: the parsed objects by path.
    objects: BTreeMap<String, Value>,
    graph: Value,
}

fn build_examples() -> Built {
    let Examples {
        _dir: tmp,
        out,
        graph,
    } = render_examples();
    let mut objects = BTreeMap::new();
    for (path, bytes) in read_tree(&out) {
        if path.starts_with("envs/") && path.ends_with(".yaml") {
            let text = String::from_utf8(bytes).unwrap();
            let v = platc::yaml::read::parse(&path, &text)
                .unwrap_or_else(|d| panic!("{path}: {d:?}"))
                .to_json();
            objects.insert(path, v);
        }
    }
    Built {
        _tmp: tmp,
        out,
        objects,
        graph,
    }
}

fn kind_is(v: &Value, kind: &str) -> bool {
    v["kind"].as_str() == Some(kind)
}

/// What a resource's consumers reach, as the operators actually run it (independent of the
/// platform's `network` blocks: this is the oracle they are judged against).
enum Serving {
    Pod {
        namespace: String,
        labels: Labels,
        port: u16,
    },
    External {
        port: u16,
    },
    Nothing,
}

fn serving(
    env_objects: &BTreeMap<&str, &Value>,
    env: &str,
    rtype: &str,
    name: &str,
    ns: &str,
) -> Serving {
    let l = |pairs: &[(&str, String)]| -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    let in_ns = |labels: Labels, port: u16| Serving::Pod {
        namespace: ns.to_string(),
        labels,
        port,
    };
    match rtype {
        // CloudNativePG instance pods.
        "postgres" => in_ns(
            l(&[
                ("cnpg.io/cluster", name.into()),
                ("cnpg.io/instanceName", format!("{name}-1")),
                ("cnpg.io/podRole", "instance".into()),
                ("cnpg.io/instanceRole", "primary".into()),
            ]),
            5432,
        ),
        // The MongoDB community operator's StatefulSet pods.
        "mongodb" => in_ns(l(&[("app", format!("{name}-svc"))]), 27017),
        // The RabbitMQ cluster operator's StatefulSet pods.
        "amqp" => in_ns(
            l(&[
                ("app.kubernetes.io/name", name.into()),
                ("app.kubernetes.io/component", "rabbitmq".into()),
                ("app.kubernetes.io/part-of", "rabbitmq".into()),
            ]),
            5672,
        ),
        // Our own Deployment: its pod template says.
        "redis" => {
            let d = env_objects
                .get(format!("envs/{env}/_resources/{name}/deployment-{name}.yaml").as_str())
                .unwrap_or_else(|| panic!("redis {name} has a Deployment"));
            in_ns(labels_of(d.pointer("/spec/template/metadata/labels")), 6379)
        }
        // Broker pods of the shared Strimzi cluster the KafkaTopic names.
        "kafka-topic" => {
            let t = env_objects
                .iter()
                .find(|(p, v)| {
                    p.starts_with(&format!("envs/{env}/_resources/{name}/"))
                        && kind_is(v, "KafkaTopic")
                })
                .map(|(_, v)| *v)
                .unwrap_or_else(|| panic!("kafka-topic {name} has a KafkaTopic"));
            let cluster = t["metadata"]["labels"]["strimzi.io/cluster"]
                .as_str()
                .unwrap()
                .to_string();
            Serving::Pod {
                namespace: t["metadata"]["namespace"].as_str().unwrap().to_string(),
                labels: l(&[
                    ("strimzi.io/cluster", cluster.clone()),
                    ("strimzi.io/kind", "Kafka".into()),
                    ("strimzi.io/name", format!("{cluster}-kafka")),
                    ("strimzi.io/broker-role", "true".into()),
                    ("strimzi.io/pool-name", "brokers".into()),
                ]),
                port: 9092,
            }
        }
        // Managed databases and object storage of the cloud; SaaS endpoints (both examples'
        // processors are on 443).
        "mysql" => Serving::External { port: 3306 },
        "mssql" => Serving::External { port: 1433 },
        "s3" | "endpoint" => Serving::External { port: 443 },
        "volume" | "route" | "dns" => Serving::Nothing,
        other => panic!("the test has no oracle for resource type `{other}`: add one"),
    }
}

#[test]
fn network_policies_allow_exactly_the_graph_edges() {
    let built = build_examples();
    let envs = built.graph["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 3);
    let mut checked_pairs = 0;
    for genv in envs {
        let env = genv["environment"].as_str().unwrap();
        let prefix = format!("envs/{env}/");
        let objs: BTreeMap<&str, &Value> = built
            .objects
            .iter()
            .filter(|(p, _)| p.starts_with(&prefix))
            .map(|(p, v)| (p.as_str(), v))
            .collect();

        let mut world = World::default();
        for v in objs.values() {
            if kind_is(v, "Namespace") {
                let name = v["metadata"]["name"].as_str().unwrap().to_string();
                let mut labels = labels_of(v.pointer("/metadata/labels"));
                labels.insert("kubernetes.io/metadata.name".into(), name.clone());
                world.namespaces.insert(name, labels);
            }
            if kind_is(v, "NetworkPolicy") {
                world.policies.push((*v).clone());
            }
        }
        assert!(
            world.policies.len() > world.namespaces.len(),
            "{env}: policies rendered"
        );

        let mut next_ip = 1u32;
        let mut ip = || {
            next_ip += 1;
            Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + next_ip)
        };

        // Workload pods and their service (target) ports, from the rendered objects.
        let mut workloads: BTreeMap<String, (Pod, BTreeSet<(String, u16)>)> = BTreeMap::new();
        for n in genv["nodes"].as_array().unwrap() {
            if n["kind"] != "workload" {
                continue;
            }
            let name = n["name"].as_str().unwrap();
            let dir = format!("envs/{env}/{name}/");
            let ctrl = objs
                .iter()
                .find(|(p, v)| {
                    p.starts_with(&dir) && (kind_is(v, "Deployment") || kind_is(v, "CronJob"))
                })
                .map(|(_, v)| *v)
                .unwrap_or_else(|| panic!("{env}/{name}: a Deployment or CronJob"));
            let tmpl = ctrl
                .pointer("/spec/template")
                .or_else(|| ctrl.pointer("/spec/jobTemplate/spec/template"))
                .unwrap();
            let pod = Pod {
                name: format!("workload:{name}"),
                namespace: ctrl["metadata"]["namespace"].as_str().unwrap().to_string(),
                labels: labels_of(tmpl.pointer("/metadata/labels")),
                ip: ip(),
            };
            let mut ports = BTreeSet::new();
            if let Some(svc) = objs.get(format!("{dir}service-{name}.yaml").as_str()) {
                for p in svc["spec"]["ports"].as_array().unwrap() {
                    ports.insert((
                        p["protocol"].as_str().unwrap_or("TCP").to_string(),
                        p["targetPort"].as_u64().expect("numeric targetPort") as u16,
                    ));
                }
            }
            workloads.insert(name.to_string(), (pod, ports));
        }
        assert!(workloads.len() >= 10, "{env}: {}", workloads.len());

        // Resource endpoints, from the oracle.
        let mut instance_ns: BTreeMap<&str, &str> = BTreeMap::new();
        let edges = genv["edges"].as_array().unwrap();
        for e in edges {
            if let (Some(ns), Some(r)) = (
                e["from"].as_str().unwrap().strip_prefix("namespace:"),
                e["to"].as_str().unwrap().strip_prefix("resource:"),
            ) {
                instance_ns.insert(r, ns);
            }
        }
        let mut resources: BTreeMap<String, Serving> = BTreeMap::new();
        for n in genv["nodes"].as_array().unwrap() {
            if n["kind"] != "resource" {
                continue;
            }
            let key = n["id"].as_str().unwrap().strip_prefix("resource:").unwrap();
            let rtype = key.split('/').next().unwrap();
            let s = serving(
                &objs,
                env,
                rtype,
                n["name"].as_str().unwrap(),
                instance_ns[key],
            );
            resources.insert(n["id"].as_str().unwrap().to_string(), s);
        }

        // Decoys: pods the graph says nothing about must be unreachable, and must not reach in.
        let decoys = vec![
            Pod {
                name: "decoy:kube-system".into(),
                namespace: "kube-system".into(),
                labels: Labels::from([("k8s-app".into(), "metrics-server".into())]),
                ip: ip(),
            },
            Pod {
                name: "decoy:monitoring".into(),
                namespace: "monitoring".into(),
                labels: Labels::from([("app".into(), "grafana".into())]),
                ip: ip(),
            },
            Pod {
                name: "decoy:elsewhere".into(),
                namespace: "elsewhere".into(),
                labels: Labels::new(),
                ip: ip(),
            },
        ];
        let dns = Pod {
            name: "kube-dns".into(),
            namespace: "kube-system".into(),
            labels: Labels::from([("k8s-app".into(), "kube-dns".into())]),
            ip: ip(),
        };

        // Every port anybody listens on, and a few nobody does.
        let mut candidates: BTreeSet<(String, u16)> = [22, 80, 443, 8443, 9999]
            .into_iter()
            .map(|p| ("TCP".to_string(), p))
            .collect();
        for (_, ports) in workloads.values() {
            candidates.extend(ports.iter().cloned());
        }
        for s in resources.values() {
            match s {
                Serving::Pod { port, .. } | Serving::External { port } => {
                    candidates.insert(("TCP".into(), *port));
                }
                Serving::Nothing => {}
            }
        }

        let comm: BTreeSet<(String, String)> = edges
            .iter()
            .filter(|e| e["kind"] == "communication")
            .map(|e| {
                (
                    e["from"]
                        .as_str()
                        .unwrap()
                        .strip_prefix("workload:")
                        .unwrap()
                        .to_string(),
                    e["to"]
                        .as_str()
                        .unwrap()
                        .strip_prefix("workload:")
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        let uses: BTreeSet<(String, String)> = edges
            .iter()
            .filter(|e| e["kind"] == "ordering")
            .filter_map(|e| {
                let r = e["from"].as_str().unwrap();
                let w = e["to"].as_str().unwrap().strip_prefix("workload:")?;
                r.starts_with("resource:")
                    .then(|| (w.to_string(), r.to_string()))
            })
            .collect();
        assert!(!comm.is_empty() && !uses.is_empty());

        let reach = |src: &Pod, dst: &Dest| -> BTreeSet<(String, u16)> {
            candidates
                .iter()
                .filter(|(proto, port)| world.allowed(src, dst, proto, *port))
                .cloned()
                .collect()
        };

        // Workload → workload: exactly the callee's service ports along communication edges.
        let mut got_comm = BTreeSet::new();
        for (a, (pa, _)) in &workloads {
            for (b, (pb, ports_b)) in &workloads {
                if a == b {
                    continue;
                }
                let r = reach(pa, &Dest::Pod(pb.clone()));
                checked_pairs += 1;
                if !r.is_empty() {
                    assert_eq!(
                        &r, ports_b,
                        "{env}: {a} → {b} reaches other ports than {b}'s service ports"
                    );
                    got_comm.insert((a.clone(), b.clone()));
                }
            }
        }
        assert_eq!(
            got_comm, comm,
            "{env}: allowed workload pairs vs communication edges"
        );

        // Workload → resource: the resource's port along ordering edges resource → workload.
        // Flows are compared per serving endpoint: the network cannot tell apart resources
        // that the same pods serve (topics of one Kafka cluster: Kafka ACLs do that), nor two
        // public addresses (NetworkPolicy has no host names), so those collapse to one.
        let endpoint_of = |s: &Serving| -> Option<String> {
            match s {
                Serving::Pod {
                    namespace,
                    labels,
                    port,
                } => Some(format!("{namespace}/{labels:?}:{port}")),
                Serving::External { port } => Some(format!("internet:{port}")),
                Serving::Nothing => None,
            }
        };
        let mut got_uses = BTreeSet::new();
        let mut expected_uses = BTreeSet::new();
        let mut external_expected: BTreeMap<String, BTreeSet<(String, u16)>> = BTreeMap::new();
        for (a, (pa, _)) in &workloads {
            for (rid, s) in &resources {
                let Some(ep) = endpoint_of(s) else { continue };
                if uses.contains(&(a.clone(), rid.clone())) {
                    expected_uses.insert((a.clone(), ep.clone()));
                }
                match s {
                    Serving::Pod {
                        namespace,
                        labels,
                        port,
                    } => {
                        let dst = Pod {
                            name: rid.clone(),
                            namespace: namespace.clone(),
                            labels: labels.clone(),
                            ip: ip(),
                        };
                        let r = reach(pa, &Dest::Pod(dst));
                        checked_pairs += 1;
                        if !r.is_empty() {
                            assert_eq!(
                                r,
                                BTreeSet::from([("TCP".to_string(), *port)]),
                                "{env}: {a} → {rid}"
                            );
                            got_uses.insert((a.clone(), ep));
                        }
                    }
                    Serving::External { port } => {
                        if uses.contains(&(a.clone(), rid.clone())) {
                            external_expected
                                .entry(a.clone())
                                .or_default()
                                .insert(("TCP".into(), *port));
                        }
                    }
                    Serving::Nothing => {}
                }
            }
            let r = reach(pa, &Dest::External(Ipv4Addr::new(203, 0, 113, 10)));
            assert_eq!(
                r,
                external_expected.get(a).cloned().unwrap_or_default(),
                "{env}: {a} → the internet"
            );
            for (_, port) in &r {
                got_uses.insert((a.clone(), format!("internet:{port}")));
            }
            // DNS, and nothing else outside the graph.
            assert!(
                world.allowed(pa, &Dest::Pod(dns.clone()), "UDP", 53),
                "{env}: {a} resolves names"
            );
            assert!(world.allowed(pa, &Dest::Pod(dns.clone()), "TCP", 53));
            assert!(!world.allowed(pa, &Dest::Pod(dns.clone()), "TCP", 80));
            for d in &decoys {
                assert!(
                    reach(pa, &Dest::Pod(d.clone())).is_empty(),
                    "{env}: {a} → {}",
                    d.name
                );
                let (_, ports) = &workloads[a];
                for (proto, port) in ports {
                    let from_decoy = world.allowed(d, &Dest::Pod(pa.clone()), proto, *port);
                    // Only Prometheus's namespace may come in, and only to scraped ports.
                    if from_decoy {
                        assert_eq!(d.namespace, "monitoring", "{env}: {} → {a}", d.name);
                    }
                }
            }
        }
        assert_eq!(
            got_uses, expected_uses,
            "{env}: workload → resource flows vs ordering edges"
        );
        assert!(
            expected_uses
                .iter()
                .any(|(_, ep)| ep.contains("cnpg.io/cluster"))
        );
        assert!(!external_expected.is_empty());
    }
    assert!(checked_pairs > 500, "{checked_pairs}");
}

#[test]
fn routed_and_scraped_workloads_admit_only_their_controllers() {
    let built = build_examples();
    let policy = |env: &str, w: &str| {
        built.objects[&format!("envs/{env}/{w}/networkpolicy-{w}.yaml")].clone()
    };
    let from_namespaces = |p: &Value| -> BTreeSet<String> {
        p["spec"]["ingress"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["from"].as_array().unwrap().iter())
            .filter(|peer| peer.get("podSelector").is_none())
            .map(|peer| {
                peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    // web has a route: nginx in the ingress clusters, the Gateway and Envoy Gateway in prod.
    let dev = from_namespaces(&policy("dev", "web"));
    assert_eq!(
        dev,
        BTreeSet::from(["ingress-nginx".to_string(), "monitoring".to_string()])
    );
    let prod = from_namespaces(&policy("prod", "web"));
    assert_eq!(
        prod,
        BTreeSet::from([
            "envoy-gateway-system".to_string(),
            "gateway-system".to_string(),
            "monitoring".to_string()
        ])
    );
    // fraud is a worker: no metrics, no route, callers only.
    assert!(from_namespaces(&policy("prod", "fraud")).is_empty());
}

#[test]
fn prod_is_restricted_every_workload_has_its_service_account_and_rbac_binds_team_groups() {
    let built = build_examples();
    let mut namespaces = 0;
    for (path, v) in &built.objects {
        if kind_is(v, "Namespace") {
            let level = v["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
                .as_str()
                .unwrap();
            if path.starts_with("envs/prod/") {
                namespaces += 1;
                assert_eq!(level, "restricted", "{path}");
            } else {
                assert_eq!(level, "baseline", "{path}");
            }
        }
    }
    assert_eq!(namespaces, 3);

    let mut controllers = 0;
    for (path, v) in &built.objects {
        let spec = if kind_is(v, "Deployment") && !path.contains("/_resources/") {
            v.pointer("/spec/template/spec")
        } else if kind_is(v, "CronJob") {
            v.pointer("/spec/jobTemplate/spec/template/spec")
        } else {
            None
        };
        let Some(spec) = spec else { continue };
        controllers += 1;
        let sa = spec["serviceAccountName"].as_str().unwrap();
        let dir = Path::new(path).parent().unwrap().to_str().unwrap();
        let sa_obj = built
            .objects
            .get(&format!("{dir}/serviceaccount-{sa}.yaml"))
            .unwrap_or_else(|| panic!("{path}: ServiceAccount {sa} beside it"));
        assert_eq!(sa, v["metadata"]["name"].as_str().unwrap());
        assert_eq!(sa_obj["metadata"]["namespace"], v["metadata"]["namespace"]);
        assert_eq!(
            sa_obj["automountServiceAccountToken"],
            json!(false),
            "{path}"
        );
        assert_eq!(sa_obj["metadata"]["labels"]["platc.dev/plane"], "security");
    }
    assert_eq!(controllers, 39, "13 workloads × 3 environments");

    let groups = BTreeMap::from([
        ("data", "team-data"),
        ("payments", "team-payments"),
        ("storefront", "team-storefront"),
    ]);
    let mut bindings = 0;
    for (path, v) in &built.objects {
        if !kind_is(v, "RoleBinding") {
            continue;
        }
        bindings += 1;
        let team = v["metadata"]["labels"]["platc.dev/team"].as_str().unwrap();
        assert_eq!(
            v["subjects"],
            json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": groups[team]}]),
            "{path}"
        );
        let ns = v["metadata"]["namespace"].as_str().unwrap();
        let env = path.split('/').nth(1).unwrap();
        assert_eq!(ns, format!("{team}-{env}"));
        let role = &built.objects[&path.replace("rolebinding-", "role-")];
        assert_eq!(v["roleRef"]["name"], role["metadata"]["name"]);
        let rules = role["rules"].as_array().unwrap();
        let port_forward = rules.iter().any(|r| {
            r["resources"]
                .as_array()
                .unwrap()
                .contains(&json!("pods/portforward"))
        });
        assert_eq!(
            port_forward,
            env != "prod",
            "{path}: port-forward only outside production"
        );
        assert!(
            !rules.iter().any(|r| r["resources"]
                .as_array()
                .unwrap()
                .contains(&json!("secrets"))),
            "{path}: teams do not read Secrets"
        );
        assert!(rules.iter().all(|r| {
            r["verbs"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| ["get", "list", "watch", "create"].contains(&v.as_str().unwrap()))
        }));
    }
    assert_eq!(bindings, 9);
}

#[test]
fn security_objects_pass_independent_schema_validation() {
    let built = build_examples();
    // Only this plane's objects: the judge of the whole tree is tests/validate.rs.
    let only = tempfile::tempdir().unwrap();
    let mut n = 0;
    for (path, v) in &built.objects {
        if v.pointer("/metadata/labels/platc.dev~1plane") == Some(&json!("security")) {
            let to = only.path().join(path);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(built.out.join(path), &to).unwrap();
            n += 1;
        }
    }
    assert!(n > 100, "{n}");
    let Some(stdout) = validate_tree(only.path()) else {
        return;
    };
    assert!(stdout.contains(" 0 failures"), "{stdout}");
}
