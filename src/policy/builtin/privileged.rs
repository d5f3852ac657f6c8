//! no-privileged: rendered pod specs (workloads' and provisioner templates' alike) that escape
//! their sandbox, each reported at the Score container or template line that caused it.

use serde_json::Value;

use super::{Cx, Effective, EnvResult, Finding};
use crate::diag::Span;
use crate::fieldpath;
use crate::render::{Body, Object};

// ---------------------------------------------------------------------------------------------
// no-privileged (rendered pod specs: workloads and provisioner templates alike)
// ---------------------------------------------------------------------------------------------

/// A kind's pod spec and its field path.
fn pod_spec<'v>(kind: &str, v: &'v Value) -> Option<(&'v Value, &'static str)> {
    let path = match kind {
        "Pod" => "spec",
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => "spec.template.spec",
        "CronJob" => "spec.jobTemplate.spec.template.spec",
        _ => return None,
    };
    let spec = path.split('.').try_fold(v, |v, k| v.get(k))?;
    Some((spec, path))
}

pub(super) fn no_privileged(cx: &Cx<'_>, env: &EnvResult, e: &Effective) -> Vec<Finding> {
    const ID: &str = "no-privileged";
    let mut out = Vec::new();
    for o in &env.objects {
        let Body::Manifest(v) = &o.body else { continue };
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
        let Some((spec, at)) = pod_spec(kind, v) else {
            continue;
        };
        let obj_name = v
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let what = format!("{kind} `{obj_name}`");
        let mut problems = host_namespace_problems(&what, spec, at);
        problems.extend(container_privilege_problems(&what, spec, at));
        for p in problems {
            let (workload, span) = privilege_place(cx, env, o, &p);
            out.push(cx.finding(
                ID,
                e,
                &workload,
                span,
                p.message,
                "run without host namespaces or `privileged`, and set `securityContext.allowPrivilegeEscalation: false` on every container".into(),
            ));
        }
    }
    out
}

/// One way a pod spec escapes its sandbox.
struct PrivilegeProblem {
    message: String,
    /// The container it is about; `None` for the pod.
    container: Option<String>,
    /// The field at fault (`spec.template.spec.hostNetwork`), as `platc explain` reads it.
    field: String,
}

fn host_namespace_problems(what: &str, spec: &Value, at: &str) -> Vec<PrivilegeProblem> {
    let mut problems = Vec::new();
    for (field, label) in [
        ("hostNetwork", "the host network"),
        ("hostPID", "the host PID namespace"),
        ("hostIPC", "the host IPC namespace"),
    ] {
        if spec.get(field) == Some(&Value::Bool(true)) {
            problems.push(PrivilegeProblem {
                message: format!("{what} uses {label} (`{field}: true`)"),
                container: None,
                field: fieldpath::key(at, field),
            });
        }
    }
    problems
}

fn container_privilege_problems(what: &str, spec: &Value, at: &str) -> Vec<PrivilegeProblem> {
    let mut problems = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let items = spec.get(list).and_then(Value::as_array);
        for (ix, c) in items.into_iter().flatten().enumerate() {
            let name = c.get("name").and_then(Value::as_str);
            let cname = name.unwrap_or("").to_string();
            let sc_at = fieldpath::key(
                &fieldpath::list_item(&fieldpath::key(at, list), ix, name),
                "securityContext",
            );
            let sc = c.get("securityContext");
            if sc.and_then(|s| s.get("privileged")) == Some(&Value::Bool(true)) {
                problems.push(PrivilegeProblem {
                    message: format!("container `{cname}` of {what} runs privileged"),
                    container: Some(cname.clone()),
                    field: fieldpath::key(&sc_at, "privileged"),
                });
            }
            if sc.and_then(|s| s.get("allowPrivilegeEscalation")) != Some(&Value::Bool(false)) {
                problems.push(PrivilegeProblem {
                    message: format!(
                        "container `{cname}` of {what} may escalate privileges (`allowPrivilegeEscalation` is not `false`)"
                    ),
                    container: Some(cname.clone()),
                    field: fieldpath::key(&sc_at, "allowPrivilegeEscalation"),
                });
            }
        }
    }
    problems
}

/// The workload a problem is reported for, and the source text that caused it: the Score
/// container of a workload, else the line of a resource's template (or the resource's request).
fn privilege_place(
    cx: &Cx<'_>,
    env: &EnvResult,
    o: &Object,
    p: &PrivilegeProblem,
) -> (String, Span) {
    let node = o.provenance.node.as_str();
    if let Some(wname) = node.strip_prefix("workload:") {
        let span = match (&p.container, env.resolution.workload(wname)) {
            (Some(c), Some(w)) => cx.container_span(w, c),
            _ => cx.sources.name_span(wname, &o.provenance.source),
        };
        (wname.to_string(), span)
    } else if let Some(key) = node.strip_prefix("resource:") {
        let inst = env.resolution.instance(key);
        let workload = inst
            .and_then(|i| i.consumers.first().cloned())
            .unwrap_or_else(|| key.to_string());
        let span = (cx.recorded)
            .template_line(env, o, &p.field)
            .or_else(|| inst.map(|i| i.span.clone()))
            .unwrap_or_else(|| Span::file(o.provenance.source.as_str()));
        (workload, span)
    } else {
        (node.to_string(), Span::file(o.provenance.source.as_str()))
    }
}
