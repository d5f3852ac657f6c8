//! What the monitoring plane's objects share, each part recorded beside the value it is given:
//! a workload object's `metadata` (its name, the workload's namespace), platc's labels, and an
//! operator kind's extra labels (the profile's, the operator's Helm `release`).

use serde_json::{Map, Value, json};

use super::super::origins::{
    Labelled, Origin, Recorder, platform, profile_setting, record_labels, team_origins,
    workload_origin,
};
use crate::graph::workload_id;
use crate::render::{EnvCx, WORKLOAD_LABEL_KEYS, workload_labels};
use crate::resolve::RWorkload;

pub(super) const MON: &str = "monitoring";

/// A profile setting, and platc's own default when no layer wrote it.
pub(super) fn setting(cx: &EnvCx<'_>, w: &RWorkload, path: &str, ann: Option<&str>) -> Vec<Origin> {
    let o = profile_setting(cx, w, path, ann);
    let located = o.is_located();
    let mut out = vec![o];
    if !located {
        out.push(Origin::rule(
            MON,
            "platc's default where no profile layer sets it",
            workload_id(&w.name),
        ));
    }
    out
}

/// The `metadata` of an object made per workload by `rule` (which is recorded for its
/// `apiVersion`, `kind` and `metadata`): `name` (made by `named`), the workload's namespace,
/// `labels`.
pub(super) fn workload_metadata(
    cx: &EnvCx<'_>,
    w: &RWorkload,
    (name, named): (String, impl FnOnce() -> Vec<Origin>),
    labels: Map<String, Value>,
    rule: &'static str,
    rec: &mut Recorder,
) -> Value {
    for f in ["apiVersion", "kind", "metadata"] {
        rec.at(f, || {
            let mut o = vec![Origin::rule(MON, rule, workload_id(&w.name))];
            o.extend(workload_origin(cx, &w.name));
            o
        });
    }
    rec.at("metadata.name", named);
    rec.at("metadata.namespace", || team_origins(cx, w));
    json!({"name": name, "namespace": w.namespace, "labels": labels})
}

/// platc's labels of an object named `name` made for graph node `subject` of `team`.
pub(super) fn platc_labels(
    cx: &EnvCx<'_>,
    subject: &str,
    team: &str,
    name: &str,
    rec: &mut Recorder,
) -> Map<String, Value> {
    let l = Labelled::env(cx.platform, MON, subject, &cx.res.env, Some(team));
    record_labels(rec, "metadata.labels", WORKLOAD_LABEL_KEYS, &l);
    workload_labels(cx.platform, &cx.res.env, team, name)
}

/// The labels of a workload's ServiceMonitor or PrometheusRule: platc's, the profile's, and
/// `release`, so kube-prometheus-stack's default selectors (which match on the Helm release of
/// the operator, the component `release` names) pick the object up.
pub(super) fn operator_labels(
    cx: &EnvCx<'_>,
    w: &RWorkload,
    release: Option<&str>,
    rec: &mut Recorder,
) -> Map<String, Value> {
    let mut l = platc_labels(cx, &workload_id(&w.name), &w.team, &w.name, rec);
    for (k, v) in &w.profile.labels {
        l.insert(k.clone(), json!(v));
        rec.record(
            || crate::fieldpath::key("metadata.labels", k),
            || setting(cx, w, &format!("labels.{k}"), None),
        );
    }
    if let Some(r) = release {
        l.insert("release".into(), json!(r));
        rec.at("metadata.labels.release", || {
            vec![
                Origin::rule(
                    MON,
                    "the operator's Helm release, which its default selectors match",
                    workload_id(&w.name),
                ),
                platform(
                    cx.platform,
                    &[format!("components.{r}.chart"), format!("components.{r}")],
                ),
            ]
        });
    }
    l
}
