//! The security plane's objects per team namespace: the default deny, the team's read-only
//! Role and its binding to the team's group.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::super::origins::{Labelled, Origin, Recorder, platform, record_labels};
use super::super::resource::namespace_dir;
use super::{DEFAULT_DENY, EnvCx, Object, SEC, provenance_ns};
use crate::graph::{components_on, namespace_id};
use crate::model::{Plane, Platform};

pub(super) fn ns_labels(cx: &EnvCx<'_>, team: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("app.kubernetes.io/managed-by".into(), json!("platc"));
    m.insert("app.kubernetes.io/part-of".into(), json!(cx.platform.name));
    m.insert("platc.dev/team".into(), json!(team));
    m.insert("platc.dev/environment".into(), json!(cx.res.env));
    m
}

/// The identity every namespace object's `apiVersion`, `kind` and `metadata` come from: the
/// renderer's rule for the namespace and the team setting that names the namespace.
fn record_frame(cx: &EnvCx<'_>, rec: &mut Recorder, ns: &str, team: &str, rule: &'static str) {
    if !rec.on() {
        return;
    }
    for field in ["apiVersion", "kind", "metadata", "metadata.name"] {
        rec.at(field, || {
            vec![
                Origin::rule(SEC, rule, namespace_id(ns)),
                platform(cx.platform, &[format!("teams.{team}.namespace")]),
            ]
        });
    }
    let id = namespace_id(ns);
    rec.at("metadata.namespace", || {
        vec![
            platform(cx.platform, &[format!("teams.{team}.namespace")]),
            Origin::rule(
                "resolve",
                "a team's namespace in an environment is `<team namespace>-<environment>`",
                id.clone(),
            ),
        ]
    });
    let l = Labelled::env(cx.platform, SEC, &id, &cx.res.env, Some(team));
    let keys = [
        "app.kubernetes.io/managed-by",
        "app.kubernetes.io/part-of",
        "platc.dev/team",
        "platc.dev/environment",
    ];
    record_labels(rec, "metadata.labels", keys, &l);
}

/// Default deny, the team's Role and its binding.
pub(super) fn namespace_objects(cx: &EnvCx<'_>, ns: &str, team: &str) -> Vec<Object> {
    let mut out = vec![default_deny(cx, ns, team), role(cx, ns, team)];
    if let Some(group) = cx.platform.teams.get(team).and_then(|t| t.group.as_ref()) {
        out.push(role_binding(cx, ns, team, group));
    }
    out
}

fn default_deny(cx: &EnvCx<'_>, ns: &str, team: &str) -> Object {
    let mut rec = cx.recorder();
    record_frame(
        cx,
        &mut rec,
        ns,
        team,
        "a default-deny NetworkPolicy per namespace",
    );
    for field in [
        "spec",
        "spec.podSelector",
        "spec.policyTypes[0]",
        "spec.policyTypes[1]",
    ] {
        rec.at(field, || {
            vec![Origin::rule(
                SEC,
                "deny all traffic in and out of every pod of the namespace but what a workload's own policy allows",
                namespace_id(ns),
            )]
        });
    }
    Object::manifest(
        &namespace_dir(&cx.res.env, ns),
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": DEFAULT_DENY, "namespace": ns, "labels": ns_labels(cx, team)},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        }),
        Plane::Security,
        provenance_ns(ns),
    )
    .with_origins(rec)
}

fn role(cx: &EnvCx<'_>, ns: &str, team: &str) -> Object {
    let env = &cx.res.env;
    let production = cx
        .platform
        .environments
        .get(env)
        .is_some_and(|e| e.env_type == "production");
    let mut rec = cx.recorder();
    record_frame(
        cx,
        &mut rec,
        ns,
        team,
        "a read-only Role per team namespace",
    );
    rec.at("rules", || {
        vec![
            Origin::rule(
                SEC,
                "read what platc and the cluster's operators put in the namespace, never secrets; port-forward outside production",
                namespace_id(ns),
            ),
            platform(cx.platform, &[format!("environments.{env}.type"), format!("environments.{env}")]),
        ]
    });
    let rules = team_rules(cx.platform, &cx.res.cluster, production);
    if rec.on() {
        record_rules(cx, &mut rec, ns, &rules);
    }
    Object::manifest(
        &namespace_dir(env, ns),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": format!("team-{team}"), "namespace": ns, "labels": ns_labels(cx, team)},
            "rules": rules,
        }),
        Plane::Security,
        provenance_ns(ns),
    )
    .with_origins(rec)
}

fn role_binding(cx: &EnvCx<'_>, ns: &str, team: &str, group: &str) -> Object {
    let role = format!("team-{team}");
    let mut rec = cx.recorder();
    record_frame(cx, &mut rec, ns, team, "the team's group bound to its Role");
    for field in [
        "roleRef",
        "roleRef.apiGroup",
        "roleRef.kind",
        "roleRef.name",
    ] {
        rec.at(field, || {
            vec![Origin::rule(SEC, "the team's Role", namespace_id(ns))]
        });
    }
    rec.at("subjects", || {
        vec![platform(cx.platform, &[format!("teams.{team}.group")])]
    });
    record_subject(cx, &mut rec, ns, team, group);
    Object::manifest(
        &namespace_dir(&cx.res.env, ns),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": role, "namespace": ns, "labels": ns_labels(cx, team)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}],
        }),
        Plane::Security,
        provenance_ns(ns),
    )
    .with_origins(rec)
}

/// The binding's subject, the team's group (a list item selected by its `name`).
fn record_subject(cx: &EnvCx<'_>, rec: &mut Recorder, ns: &str, team: &str, group: &str) {
    if !rec.on() {
        return;
    }
    let subject = crate::fieldpath::item("subjects", group);
    for field in ["apiGroup", "kind"] {
        rec.record(
            || format!("{subject}.{field}"),
            || {
                vec![Origin::rule(
                    SEC,
                    "the team's group is an RBAC Group",
                    namespace_id(ns),
                )]
            },
        );
    }
    rec.record(
        || format!("{subject}.name"),
        || vec![platform(cx.platform, &[format!("teams.{team}.group")])],
    );
}

/// Each leaf of the Role's `rules`, by the part of [`team_rules`] that made it.
fn record_rules(cx: &EnvCx<'_>, rec: &mut Recorder, ns: &str, rules: &[Value]) {
    let env = &cx.res.env;
    let id = namespace_id(ns);
    let rule = |r: &'static str| Origin::rule(SEC, r, id.clone());
    for (ix, r) in rules.iter().enumerate() {
        let at = format!("rules[{ix}]");
        let resources = r["resources"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let why: Vec<Origin> = match resources.first().and_then(Value::as_str) {
            Some("pods/log") => vec![rule("a team reads its pods' logs")],
            Some("pods/portforward") => vec![
                rule("a team may port-forward to its pods outside production"),
                platform(
                    cx.platform,
                    &[
                        format!("environments.{env}.type"),
                        format!("environments.{env}"),
                    ],
                ),
            ],
            Some("*") => {
                record_operator_groups(cx, rec, &at, r, &id);
                vec![rule(
                    "a team reads whole the API groups of the operators installed on its cluster",
                )]
            }
            _ => vec![rule(
                "a team reads the kinds platc and the cluster put in its namespace, never secrets",
            )],
        };
        rec.spread(&at, r, |rel| {
            if rel.starts_with("apiGroups")
                && resources.first().and_then(Value::as_str) == Some("*")
            {
                Vec::new()
            } else {
                why.clone()
            }
        });
    }
}

/// An operator rule's API groups: each from the `provides` of the components installed on
/// the environment's cluster that serve a kind of it.
fn record_operator_groups(cx: &EnvCx<'_>, rec: &mut Recorder, at: &str, r: &Value, id: &str) {
    let p = cx.platform;
    let groups = r["apiGroups"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (j, g) in groups.iter().enumerate() {
        let g = g.as_str().unwrap_or_default();
        let mut o = vec![Origin::rule(SEC, "an operator's API group, read whole", id)];
        o.extend(
            components_on(p, &cx.res.cluster)
                .into_iter()
                .filter(|c| {
                    p.components.get(*c).is_some_and(|c| {
                        c.provides
                            .iter()
                            .any(|k| k.rsplit_once('/').is_some_and(|(x, _)| x == g))
                    })
                })
                .map(|c| platform(p, &[format!("components.{c}.provides")])),
        );
        rec.record(|| format!("{at}.apiGroups[{j}]"), || o);
    }
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
