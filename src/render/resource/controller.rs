//! What runs a workload's pods: its Deployment (with the profile's autoscaler and disruption
//! budget) or CronJob, each field recorded (when recording) where it is made.

use serde_json::{Map, Value, json};

use super::Object;
use super::files::Files;
use super::pod;
use super::shape::{Shape, replaced, score_value};
use crate::fieldpath::key;
use crate::model::{Hpa, Pdb, WorkloadKind};
use crate::render::origins::{Origin, Recorder, profile_layers};

/// The Deployment (with its HPA and PDB) or the CronJob that runs the pods; `files_hash` is
/// the hash of the files ConfigMap, when there is one.
pub(super) fn controller(
    sh: &Shape<'_>,
    files: &Files,
    files_hash: Option<String>,
    out: &mut Vec<Object>,
) {
    let w = sh.w;
    let mut rec = sh.recorder();
    match w.profile.kind {
        WorkloadKind::Deployment => {
            let meta = sh.meta(
                &w.name,
                "a Deployment per workload whose profile's kind is deployment",
                &mut rec,
            );
            let at = "spec.template";
            let mut spec = object!({
                "selector": object!({"matchLabels": sh.selector("spec.selector.matchLabels", &mut rec)}),
                "template": object!({
                    "metadata": template_meta(sh, at, files_hash, &mut rec),
                    "spec": pod::pod_spec(sh, files, &format!("{at}.spec"), false, &mut rec),
                }),
            });
            // With an HPA the replica count is the autoscaler's: setting it here would fight it.
            if w.profile.hpa.is_none() {
                spec["replicas"] = json!(w.profile.replicas);
            }
            rec.at("spec.replicas", || sh.setting(&["replicas"]));
            let v = object!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec});
            out.push(finish_pod(sh, v, &format!("{at}.spec"), rec));
            if let Some(h) = &w.profile.hpa {
                out.push(hpa(sh, h));
            }
            if let Some(p) = &w.profile.pdb {
                out.push(pdb(sh, p));
            }
        }
        WorkloadKind::Cronjob => {
            let meta = sh.meta(
                &w.name,
                "a CronJob per workload whose profile's kind is cronjob",
                &mut rec,
            );
            let schedule = w
                .annotations
                .get("platc.dev/schedule")
                .cloned()
                .or_else(|| w.profile.schedule.clone())
                .unwrap_or_else(|| "0 * * * *".into());
            rec.at("spec.schedule", || schedule_origins(sh));
            rec.at("spec.concurrencyPolicy", || {
                vec![sh.rule("a run is never started while the last one still runs")]
            });
            let at = "spec.jobTemplate.spec.template";
            let template = object!({
                "metadata": template_meta(sh, at, files_hash, &mut rec),
                "spec": pod::pod_spec(sh, files, &format!("{at}.spec"), true, &mut rec),
            });
            let v = object!({
                "apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta,
                "spec": object!({
                    "schedule": schedule,
                    "concurrencyPolicy": "Forbid",
                    "jobTemplate": object!({"spec": object!({"template": template})}),
                }),
            });
            out.push(finish_pod(sh, v, &format!("{at}.spec"), rec));
        }
    }
}

/// The controller's object, each leaf of its pod spec (at `pod`) without a record of its own
/// answered by the item it belongs to.
fn finish_pod(sh: &Shape<'_>, v: Value, pod: &str, mut rec: Recorder) -> Object {
    if rec.on() {
        let pointer = format!("/{}", pod.replace('.', "/"));
        if let Some(p) = v.pointer(&pointer) {
            pod::complete(sh, pod, p, &mut rec);
        }
    }
    sh.obj(v, rec)
}

/// The pod template's metadata at `at`: the workload's labels; the profile's annotations and
/// the hash of the files ConfigMap, so that a change of file contents rolls the pods (subPath
/// mounts are never refreshed).
fn template_meta(
    sh: &Shape<'_>,
    at: &str,
    files_hash: Option<String>,
    rec: &mut Recorder,
) -> Value {
    let mut meta = json!({"labels": sh.labels(&format!("{at}.metadata.labels"), rec)});
    let anns = format!("{at}.metadata.annotations");
    let mut annotations: Map<String, Value> = Map::new();
    for (k, v) in &sh.w.profile.annotations {
        annotations.insert(k.clone(), json!(v));
        rec.record(|| key(&anns, k), || sh.setting(&["annotations", k]));
    }
    rec.record(
        || key(&anns, "platc.dev/files-hash"),
        || {
            let mut hash = vec![sh.rule(
                "a hash of the files ConfigMap, so that a change of file contents rolls the pods (subPath mounts are never refreshed)",
            )];
            hash.extend(sh.file_origins());
            hash
        },
    );
    if let Some(hash) = files_hash {
        annotations.insert("platc.dev/files-hash".into(), json!(hash));
    }
    if !annotations.is_empty() {
        meta["annotations"] = Value::Object(annotations);
    }
    meta
}

/// A CronJob's schedule: the workload's annotation, else the profile's, else hourly.
fn schedule_origins(sh: &Shape<'_>) -> Vec<Origin> {
    let ann = sh
        .score
        .and_then(|s| s.annotations.get("platc.dev/schedule"));
    let layers = profile_layers(sh.cx, sh.w, &["schedule"]);
    match ann {
        Some(a) => {
            let mut o = vec![score_value(
                "annotation platc.dev/schedule".into(),
                &a.span,
                Value::String(a.value.clone()),
            )];
            o.extend(layers.into_iter().map(replaced));
            o
        }
        None if layers.is_empty() => {
            vec![sh.rule("no annotation or profile sets a schedule: the renderer's hourly default")]
        }
        None => sh.setting(&["schedule"]),
    }
}

/// The autoscaler that owns the Deployment's replica count.
fn hpa(sh: &Shape<'_>, h: &Hpa) -> Object {
    let w = sh.w;
    let mut rec = sh.recorder();
    let meta = sh.meta(
        &w.name,
        "a HorizontalPodAutoscaler per Deployment whose profile sets `hpa`",
        &mut rec,
    );
    let target = || vec![sh.rule("the workload's Deployment")];
    for f in ["", ".apiVersion", ".kind"] {
        rec.record(|| format!("spec.scaleTargetRef{f}"), target);
    }
    rec.at("spec.scaleTargetRef.name", || {
        let mut named = target();
        named.extend(crate::render::origins::workload_origin(sh.cx, &w.name));
        named
    });
    rec.at("spec.minReplicas", || sh.setting(&["hpa", "min_replicas"]));
    rec.at("spec.maxReplicas", || sh.setting(&["hpa", "max_replicas"]));
    for f in [
        "",
        "[0].type",
        "[0].resource.name",
        "[0].resource.target.type",
    ] {
        rec.record(
            || format!("spec.metrics{f}"),
            || vec![sh.rule("scaled on CPU utilisation")],
        );
    }
    rec.at("spec.metrics[0].resource.target.averageUtilization", || {
        sh.setting(&["hpa", "target_cpu_utilization"])
    });
    let v = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name},
            "minReplicas": h.min_replicas, "maxReplicas": h.max_replicas,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": h.target_cpu_utilization}}}],
        }
    });
    sh.obj(v, rec)
}

/// The disruption budget of a Deployment whose profile sets `pdb`.
fn pdb(sh: &Shape<'_>, p: &Pdb) -> Object {
    let w = sh.w;
    let mut rec = sh.recorder();
    let meta = sh.meta(
        &w.name,
        "a PodDisruptionBudget per Deployment whose profile sets `pdb`",
        &mut rec,
    );
    rec.at("spec.minAvailable", || {
        sh.setting(&["pdb", "min_available"])
    });
    let selector = sh.selector("spec.selector.matchLabels", &mut rec);
    let v = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta,
           "spec": {"minAvailable": p.min_available, "selector": {"matchLabels": selector}}});
    sh.obj(v, rec)
}
