//! A Namespace per team namespace with workloads or resources in an environment, each label
//! recorded as it is set: platc's, the environment's, its Pod Security level.

use serde_json::{Map, Value, json};

use super::{RES, namespace_dir};
use crate::fieldpath::key;
use crate::graph::namespace_id;
use crate::model::{Environment, Plane};
use crate::render::origins::{Labelled, Origin, Recorder, platform, record_labels};
use crate::render::{EnvCx, Object, Provenance};

pub(super) fn namespace(cx: &EnvCx<'_>, environment: &Environment, ns: &str, team: &str) -> Object {
    let (p, env) = (cx.platform, cx.res.env.as_str());
    let mut rec = cx.recorder();
    let id = rec.path(|| namespace_id(ns));
    let made = || {
        vec![
            Origin::rule(
                RES,
                "a Namespace per team namespace with workloads or resources in the environment, `<team namespace>-<environment>`",
                id.clone(),
            ),
            platform(
                p,
                &[format!("teams.{team}.namespace"), format!("teams.{team}")],
            ),
        ]
    };
    for f in ["apiVersion", "kind", "metadata", "metadata.name"] {
        rec.at(f, made);
    }
    rec.at("metadata.labels", || {
        vec![Origin::rule(
            RES,
            "a namespace carries platc's, its team's and its environment's labels",
            id.clone(),
        )]
    });
    let labels = labels(cx, environment, ns, team, &mut rec);
    let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}});
    Object::manifest(
        &namespace_dir(env, ns),
        obj,
        Plane::Resource,
        Provenance {
            source: "platform/main.ncl".into(),
            node: namespace_id(ns),
            via: format!("team {team}"),
        },
    )
    .with_origins(rec)
}

/// platc's labels (team, environment), the environment's written over them, and the
/// environment's Pod Security level.
fn labels(
    cx: &EnvCx<'_>,
    environment: &Environment,
    ns: &str,
    team: &str,
    rec: &mut Recorder,
) -> Map<String, Value> {
    let (p, env) = (cx.platform, cx.res.env.as_str());
    let id = rec.path(|| namespace_id(ns));
    let mut labels = Map::new();
    labels.insert("app.kubernetes.io/managed-by".into(), json!("platc"));
    labels.insert("platc.dev/team".into(), json!(team));
    labels.insert("platc.dev/environment".into(), json!(env));
    // The environment's labels are written over platc's.
    let own = labels
        .keys()
        .filter(|k| !environment.labels.contains_key(*k))
        .map(String::as_str);
    if rec.on() {
        let l = Labelled::env(p, RES, &id, env, Some(team));
        record_labels(rec, "metadata.labels", own, &l);
    }
    for (k, v) in &environment.labels {
        labels.insert(k.clone(), json!(v));
        rec.record(
            || key("metadata.labels", k),
            || {
                vec![platform(
                    p,
                    &[key(&format!("environments.{env}.labels"), k)],
                )]
            },
        );
    }
    for mode in ["enforce", "audit", "warn"] {
        let k = format!("pod-security.kubernetes.io/{mode}");
        rec.record(
            || key("metadata.labels", &k),
            || {
                vec![
                    platform(p, &[format!("environments.{env}.pod_security")]),
                    Origin::rule(
                        RES,
                        "the environment's Pod Security level is enforced, audited and warned",
                        id.clone(),
                    ),
                ]
            },
        );
        labels.insert(k, json!(environment.pod_security));
    }
    labels
}
