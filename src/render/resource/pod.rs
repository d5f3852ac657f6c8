//! A workload's pod spec: its security context, ServiceAccount, volumes and containers, each
//! field recorded (when recording) where it is made: the renderer's rules, the profile's
//! security settings, the Score volumes as written.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::container::container;
use super::files::Files;
use super::shape::Shape;
use super::volume_name;
use crate::fieldpath::item;
use crate::render::origins::{Origin, Recorder, placeholder_origins, workload_origin};
use crate::resolve::{RContainer, Start};

/// The pod's spec at `at` (`spec.template.spec`); a CronJob's (`cron`) restarts on failure.
pub(super) fn pod_spec(
    sh: &Shape<'_>,
    files: &Files,
    at: &str,
    cron: bool,
    rec: &mut Recorder,
) -> Value {
    let w = sh.w;
    let security = &w.profile.security;
    let pod_sc = pod_security(sh, at, rec);
    let needs_tmp = security.read_only_root_filesystem
        && !w.containers.iter().any(|c| {
            c.files.iter().any(|f| f.target.starts_with("/tmp/"))
                || c.volumes.iter().any(|v| v.target == "/tmp")
        });
    let volumes = volumes(sh, files, needs_tmp, &format!("{at}.volumes"), rec);
    let primary = w.primary().map(|c| c.name.as_str());
    let (mut containers, mut init) = (Vec::new(), Vec::new());
    for c in &w.containers {
        let list = if c.start == Start::Main {
            "containers"
        } else {
            "initContainers"
        };
        let at = rec.path(|| item(&format!("{at}.{list}"), &c.name));
        let first = primary == Some(c.name.as_str());
        let v = container(sh, c, (first, needs_tmp), &files.keys, &at, rec);
        if c.start == Start::Main {
            containers.push(v);
        } else {
            init.push(start_as_init(sh, c, v, &at, rec));
        }
    }
    let mut pod_spec = object!({
        "securityContext": pod_sc,
        // Each workload runs as its own ServiceAccount (security plane); no API token unless asked.
        "serviceAccountName": w.name.as_str(),
        "automountServiceAccountToken": false,
        "containers": containers,
    });
    if !init.is_empty() {
        pod_spec["initContainers"] = Value::Array(init);
    }
    if !volumes.is_empty() {
        pod_spec["volumes"] = Value::Array(volumes);
    }
    if cron {
        pod_spec["restartPolicy"] = json!("OnFailure");
        rec.record(
            || format!("{at}.restartPolicy"),
            || vec![sh.rule("a failed run is retried in its pod")],
        );
    }
    pod_spec
}

/// The pod's security context at `at`, recorded with the ServiceAccount settings beside it.
fn pod_security(sh: &Shape<'_>, at: &str, rec: &mut Recorder) -> Value {
    let w = sh.w;
    let security = &w.profile.security;
    let sc = rec.path(|| format!("{at}.securityContext"));
    rec.record(
        || sc.clone(),
        || vec![sh.rule("pods run with the RuntimeDefault seccomp profile")],
    );
    rec.record(
        || format!("{sc}.runAsNonRoot"),
        || sh.setting(&["security", "run_as_non_root"]),
    );
    rec.record(
        || format!("{sc}.runAsUser"),
        || sh.setting(&["security", "run_as_user"]),
    );
    let mut pod_sc = json!({"runAsNonRoot": security.run_as_non_root, "seccompProfile": {"type": "RuntimeDefault"}});
    if let Some(uid) = security.run_as_user {
        pod_sc["runAsUser"] = json!(uid);
    }
    rec.record(
        || format!("{at}.serviceAccountName"),
        || {
            let mut account = vec![sh.rule("each workload runs as its own ServiceAccount")];
            account.extend(workload_origin(sh.cx, &w.name));
            account
        },
    );
    rec.record(
        || format!("{at}.automountServiceAccountToken"),
        || vec![sh.rule("no API token unless asked: no workload calls the API server")],
    );
    pod_sc
}

/// A container with Score's `before`, as an init container: a sidecar keeps running
/// (`restartPolicy: Always`), and one that must be `healthy` first has its readiness probe as
/// its startup probe, which Kubernetes waits for before it starts the next container.
fn start_as_init(
    sh: &Shape<'_>,
    c: &RContainer,
    mut v: Value,
    at: &str,
    rec: &mut Recorder,
) -> Value {
    if matches!(c.start, Start::Sidecar | Start::SidecarHealthy) {
        v["restartPolicy"] = json!("Always");
        rec.record(
            || format!("{at}.restartPolicy"),
            || vec![sh.rule("a container that must be started or healthy before others start keeps running beside them (a native sidecar)")],
        );
    }
    if c.start == Start::SidecarHealthy
        && let Some(probe) = v.get("readinessProbe").cloned()
    {
        v["startupProbe"] = probe;
        rec.record(
            || format!("{at}.startupProbe"),
            || vec![sh.rule("the container must be healthy before the next starts: its readiness probe is the startup probe Kubernetes waits for")],
        );
    }
    v
}

/// The pod's volumes at `at`: the files ConfigMap, each claim a Score volume names, a
/// writable `/tmp` when the root file system is read-only and nothing else mounts there.
fn volumes(
    sh: &Shape<'_>,
    files: &Files,
    needs_tmp: bool,
    at: &str,
    rec: &mut Recorder,
) -> Vec<Value> {
    let w = sh.w;
    let mut volumes: Vec<Value> = files.volume().into_iter().collect();
    rec.record(
        || item(at, "platc-files"),
        || {
            let mut o = vec![sh.rule("the workload's files, from its files ConfigMap")];
            o.extend(sh.file_origins());
            o
        },
    );
    rec.record(
        || item(at, "tmp"),
        || {
            let mut tmp = vec![sh.rule(
                "a writable /tmp when the root file system is read-only and nothing else mounts there",
            )];
            tmp.extend(sh.setting(&["security", "read_only_root_filesystem"]));
            tmp
        },
    );
    let mut claims = BTreeSet::new();
    for c in &w.containers {
        for v in &c.volumes {
            claims.insert(v.claim.clone());
            record_claim(sh, &c.name, &v.target, &v.claim, at, rec);
        }
    }
    for claim in &claims {
        volumes.push(
            json!({"name": volume_name(claim), "persistentVolumeClaim": {"claimName": claim}}),
        );
    }
    if needs_tmp {
        volumes.push(json!({"name": "tmp", "emptyDir": {}}));
    }
    volumes
}

/// A claim's volume: the Score volume whose source names it, and what that source's
/// placeholders read.
fn record_claim(
    sh: &Shape<'_>,
    container: &str,
    target: &str,
    claim: &str,
    at: &str,
    rec: &mut Recorder,
) {
    let Some(score) = sh.score else { return };
    let Some(c) = score.containers.get(container) else {
        return;
    };
    let Some(v) = c.volumes.values().find(|v| v.target.value == target) else {
        return;
    };
    rec.record(
        || item(at, &volume_name(claim)),
        || {
            let mut o = vec![Origin::score(
                format!(
                    "containers.{}.volumes[{}].source",
                    c.name.value, v.target.value
                ),
                &v.source.span,
            )];
            o.extend(placeholder_origins(sh.cx, sh.w, score, &v.source));
            o
        },
    );
}

/// Each leaf of the pod spec `v` at `at` without a record of its own: the cause recorded for
/// the container, variable, port, mount or volume it belongs to, after the part it plays.
pub(super) fn complete(sh: &Shape<'_>, at: &str, v: &Value, rec: &mut Recorder) {
    rec.complete(at, v, |rel| part(rel).map(|r| sh.rule(r)));
}

/// The part a leaf of a pod spec plays in the item above it (`rel` is its path in the pod).
fn part(rel: &str) -> Option<&'static str> {
    let ends = |s: &str| rel.ends_with(s);
    if rel.contains(".env[") {
        return Some(if ends("secretKeyRef.name") {
            "the Secret that holds the variable's value"
        } else if ends("secretKeyRef.key") {
            "the key of the value in that Secret"
        } else if ends(".value") {
            "the variable's value, its placeholders resolved"
        } else {
            "the variable's name"
        });
    }
    if rel.contains(".volumeMounts[") {
        return if ends(".mountPath") {
            Some("mounted at the file's or volume's target")
        } else if ends(".subPath") {
            Some("one file of the files ConfigMap, by its key")
        } else if ends(".readOnly") {
            Some("mounted read-only as written")
        } else if ends(".name") {
            Some("the volume it mounts")
        } else {
            None
        };
    }
    if rel.contains(".ports[") {
        return Some(if ends(".containerPort") {
            "the service port's target port"
        } else if ends(".protocol") {
            "the service port's protocol"
        } else {
            "the service port's name"
        });
    }
    if rel.starts_with("volumes[") && ends(".name") {
        return Some("the volume's name, as its mounts refer to it");
    }
    if (rel.starts_with("containers[") || rel.starts_with("initContainers["))
        && rel.matches('.').count() == 1
        && ends(".name")
    {
        return Some("the container's name as written");
    }
    None
}
