//! What runs a workload's pods: its Deployment (with the profile's autoscaler and disruption
//! budget) or CronJob. The autoscaler's and the budget's fields are recorded (when recording)
//! where they are made; the controllers' own in `why.rs`, from the value made.

use serde_json::{Value, json};

use super::why::{self, Why};
use super::{Object, Shape};
use crate::model::{Hpa, Pdb, WorkloadKind};

pub(super) fn controller(
    sh: &Shape<'_>,
    mut pod_spec: Value,
    template_meta: Value,
    out: &mut Vec<Object>,
) {
    let w = sh.w;
    match w.profile.kind {
        WorkloadKind::Deployment => {
            let mut spec = json!({
                "selector": {"matchLabels": sh.selector},
                "template": {"metadata": template_meta, "spec": pod_spec},
            });
            // With an HPA the replica count is the autoscaler's: setting it here would fight it.
            if w.profile.hpa.is_none() {
                spec["replicas"] = json!(w.profile.replicas);
            }
            let v = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": sh.meta(&w.name), "spec": spec});
            let why = why::controller(sh.cx, w, &v);
            out.push(sh.obj(v).with_origins(why));
            if let Some(h) = &w.profile.hpa {
                out.push(hpa(sh, h));
            }
            if let Some(p) = &w.profile.pdb {
                out.push(pdb(sh, p));
            }
        }
        WorkloadKind::Cronjob => {
            let schedule = w
                .annotations
                .get("platc.dev/schedule")
                .cloned()
                .or_else(|| w.profile.schedule.clone())
                .unwrap_or_else(|| "0 * * * *".into());
            pod_spec["restartPolicy"] = json!("OnFailure");
            let v = json!({
                "apiVersion": "batch/v1", "kind": "CronJob", "metadata": sh.meta(&w.name),
                "spec": {
                    "schedule": schedule,
                    "concurrencyPolicy": "Forbid",
                    "jobTemplate": {"spec": {"template": {"metadata": template_meta, "spec": pod_spec}}},
                }
            });
            let why = why::controller(sh.cx, w, &v);
            out.push(sh.obj(v).with_origins(why));
        }
    }
}

/// The autoscaler that owns the Deployment's replica count.
fn hpa(sh: &Shape<'_>, h: &Hpa) -> Object {
    let w = sh.w;
    let mut y = Why::new(sh.cx, w);
    if let Some(y) = &mut y {
        y.frame("a HorizontalPodAutoscaler per Deployment whose profile sets `hpa`");
        let target = vec![y.rule("the workload's Deployment")];
        for f in ["", ".apiVersion", ".kind"] {
            y.put(format!("spec.scaleTargetRef{f}"), target.clone());
        }
        let mut named = target;
        named.extend(crate::render::origins::workload_origin(sh.cx, &w.name));
        y.put("spec.scaleTargetRef.name".into(), named);
        y.put(
            "spec.minReplicas".into(),
            y.setting(&["hpa", "min_replicas"]),
        );
        y.put(
            "spec.maxReplicas".into(),
            y.setting(&["hpa", "max_replicas"]),
        );
        let cpu = vec![y.rule("scaled on CPU utilisation")];
        for f in [
            "",
            "[0].type",
            "[0].resource.name",
            "[0].resource.target.type",
        ] {
            y.put(format!("spec.metrics{f}"), cpu.clone());
        }
        y.put(
            "spec.metrics[0].resource.target.averageUtilization".into(),
            y.setting(&["hpa", "target_cpu_utilization"]),
        );
    }
    let v = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": sh.meta(&w.name),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name},
            "minReplicas": h.min_replicas, "maxReplicas": h.max_replicas,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": h.target_cpu_utilization}}}],
        }
    });
    sh.recorded(v, y)
}

/// The disruption budget of a Deployment whose profile sets `pdb`.
fn pdb(sh: &Shape<'_>, p: &Pdb) -> Object {
    let w = sh.w;
    let mut y = Why::new(sh.cx, w);
    if let Some(y) = &mut y {
        y.frame("a PodDisruptionBudget per Deployment whose profile sets `pdb`");
        y.put(
            "spec.minAvailable".into(),
            y.setting(&["pdb", "min_available"]),
        );
        y.selector("spec.selector.matchLabels");
    }
    let v = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": sh.meta(&w.name),
           "spec": {"minAvailable": p.min_available, "selector": {"matchLabels": sh.selector}}});
    sh.recorded(v, y)
}
