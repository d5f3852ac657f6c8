//! What a workload's pod is made from, recorded when asked: each container field from its
//! Score value (with what its placeholders read), or from the profile layers where the Score
//! file writes nothing; the pod's security, account and volumes by the renderer's rules.

use serde_json::Value;

use super::why::{Why, file_origins};
use super::{port_name, volume_name};
use crate::fieldpath::{index, item};
use crate::load::score::{Piece, split_placeholders};
use crate::model::{self, WorkloadKind};
use crate::render::origins::{Origin, placeholder_origins, workload_origin};
use crate::resolve::{EnvValue, RContainer};

/// The pod spec at `at` (`spec.template.spec`).
pub(super) fn pod(y: &mut Why<'_, '_>, at: &str, cron: bool) {
    let sc = format!("{at}.securityContext");
    y.put(
        sc.clone(),
        vec![y.rule("pods run with the RuntimeDefault seccomp profile")],
    );
    y.put(
        format!("{sc}.runAsNonRoot"),
        y.setting(&["security", "run_as_non_root"]),
    );
    y.put(
        format!("{sc}.runAsUser"),
        y.setting(&["security", "run_as_user"]),
    );
    let mut account = vec![y.rule("each workload runs as its own ServiceAccount")];
    account.extend(workload_origin(y.cx, &y.w.name));
    y.put(format!("{at}.serviceAccountName"), account);
    y.put(
        format!("{at}.automountServiceAccountToken"),
        vec![y.rule("no API token unless asked: no workload calls the API server")],
    );
    if cron {
        y.put(
            format!("{at}.restartPolicy"),
            vec![y.rule("a failed run is retried in its pod")],
        );
    }
    volumes(y, &format!("{at}.volumes"));
    for (n, c) in y.w.containers.iter().enumerate() {
        container(y, &item(&format!("{at}.containers"), &c.name), c, n == 0);
    }
}

fn volumes(y: &mut Why<'_, '_>, at: &str) {
    let mut files = vec![y.rule("the workload's files, from its files ConfigMap")];
    files.extend(file_origins(y));
    y.put(item(at, "platc-files"), files);
    let mut tmp = vec![y.rule(
        "a writable /tmp when the root file system is read-only and nothing else mounts there",
    )];
    tmp.extend(y.setting(&["security", "read_only_root_filesystem"]));
    y.put(item(at, "tmp"), tmp);
    let Some(score) = y.score else { return };
    for rc in &y.w.containers {
        let Some(c) = score.containers.get(&rc.name) else {
            continue;
        };
        for rv in &rc.volumes {
            let Some(v) = c.volumes.values().find(|v| v.target.value == rv.target) else {
                continue;
            };
            let mut o = vec![Origin::score(
                format!(
                    "containers.{}.volumes[{}].source",
                    c.name.value, v.target.value
                ),
                &v.source.span,
            )];
            o.extend(placeholder_origins(y.cx, y.w, score, &v.source));
            y.put(item(at, &volume_name(&rv.claim)), o);
        }
    }
}

/// One container of the pod at `at` (`…containers[name=api]`).
fn container(y: &mut Why<'_, '_>, at: &str, c: &RContainer, first: bool) {
    let sc = y.score.and_then(|s| s.containers.get(&c.name));
    let Some((score, sc)) = y.score.zip(sc) else {
        y.put(at.to_string(), vec![y.rule("a container of the workload")]);
        return;
    };
    let cn = &c.name;
    y.put(
        at.to_string(),
        vec![Origin::score(format!("containers.{cn}"), &sc.name.span)],
    );
    let mut image = vec![y.score_value(
        format!("containers.{cn}.image"),
        &sc.image.span,
        Value::String(sc.image.value.clone()),
    )];
    image.extend(placeholder_origins(y.cx, y.w, score, &sc.image));
    y.put(format!("{at}.image"), image);
    for (list, written) in [("command", &sc.command), ("args", &sc.args)] {
        for (i, s) in written.iter().enumerate() {
            let mut o = vec![y.score_value(
                format!("containers.{cn}.{list}[{i}]"),
                &s.span,
                Value::String(s.value.clone()),
            )];
            o.extend(placeholder_origins(y.cx, y.w, score, s));
            y.put(index(&format!("{at}.{list}"), i), o);
        }
    }
    for e in &c.env {
        let o = env_var(y, score, sc, &e.name, &e.value);
        let var = item(&format!("{at}.env"), &e.name);
        // The name is the variable's as written; what its placeholders read made the value.
        let mut name: Vec<Origin> = o.first().cloned().into_iter().collect();
        name.push(y.rule("the variable's name"));
        y.put(format!("{var}.name"), name);
        y.put(var, o);
    }
    if first {
        ports(y, &format!("{at}.ports"));
    }
    resources(y, &format!("{at}.resources"), sc);
    probes(y, at, sc, first);
    mounts(y, &format!("{at}.volumeMounts"), sc);
    y.put(
        format!("{at}.securityContext"),
        vec![y.rule("containers never escalate and drop every capability")],
    );
    y.put(
        format!("{at}.securityContext.readOnlyRootFilesystem"),
        y.setting(&["security", "read_only_root_filesystem"]),
    );
}

/// An env var: the Score variable and what its placeholders read, or, for a hidden variable,
/// the string whose secret it carries.
fn env_var(
    y: &Why<'_, '_>,
    score: &model::Workload,
    sc: &model::Container,
    name: &str,
    value: &EnvValue,
) -> Vec<Origin> {
    let cn = &sc.name.value;
    if let Some(v) = sc.variables.get(name) {
        let mut o = vec![y.score_value(
            format!("containers.{cn}.variables.{name}"),
            &v.span,
            Value::String(v.value.clone()),
        )];
        o.extend(placeholder_origins(y.cx, y.w, score, v));
        return o;
    }
    let users = sc
        .variables
        .iter()
        .map(|(n, v)| (format!("variables.{n}"), v))
        .chain(
            sc.command
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("command[{i}]"), s)),
        )
        .chain(
            sc.args
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("args[{i}]"), s)),
        );
    for (what, s) in users {
        let Ok(pieces) = split_placeholders(&s.value) else {
            continue;
        };
        for piece in pieces {
            let Piece::Placeholder { path, .. } = piece else {
                continue;
            };
            if path.len() < 2 || crate::resolve::env_name_for(&path[1..].join("_")) != name {
                continue;
            }
            let mut o: Vec<Origin> =
                crate::render::origins::placeholder_read(y.cx, y.w, score, &path)
                    .into_iter()
                    .collect();
            o.push(y.score_value(
                format!("containers.{cn}.{what}"),
                &s.span,
                Value::String(s.value.clone()),
            ));
            o.push(Origin::Note {
                note: format!(
                    "`{name}` is a hidden variable: `{what}` uses a secret inside a longer string, which becomes `$({name})`"
                ),
            });
            return o;
        }
    }
    let what = match value {
        EnvValue::Value(_) => "a variable the renderer adds",
        EnvValue::SecretKeyRef { .. } => "a secret reference the renderer adds",
    };
    vec![y.rule(what)]
}

/// The first container's ports: the workload's service ports.
fn ports(y: &mut Why<'_, '_>, at: &str) {
    let svc = y.score.and_then(|s| s.service.as_ref());
    for p in &y.w.ports {
        let mut o =
            vec![y.rule("the service ports of the workload are the first container's ports")];
        if let Some(sp) = svc.and_then(|s| s.ports.get(&p.name)) {
            let t = sp.target_port.as_ref().unwrap_or(&sp.port);
            o.insert(
                0,
                Origin::score(format!("service.ports.{}", p.name), &t.span),
            );
        }
        y.put(item(at, &port_name(&p.name)), o);
    }
}

/// Requests and limits: the container's own, else the profile's.
fn resources(y: &mut Why<'_, '_>, at: &str, sc: &model::Container) {
    for rl in ["requests", "limits"] {
        for q in ["cpu", "memory"] {
            let spec = sc.resources.as_ref().map(|r| match rl {
                "requests" => &r.requests,
                _ => &r.limits,
            });
            let set = spec.and_then(|s| if q == "cpu" { &s.cpu } else { &s.memory }.as_ref());
            let cn = &sc.name.value;
            let o = match set {
                Some(v) => {
                    let mut o = vec![y.score_value(
                        format!("containers.{cn}.resources.{rl}.{q}"),
                        &v.span,
                        Value::String(v.value.clone()),
                    )];
                    // The profile's value, unused: shown as replaced.
                    o.extend(
                        crate::render::origins::profile_layers(y.cx, y.w, &["resources", rl, q])
                            .into_iter()
                            .map(replaced),
                    );
                    o
                }
                None => {
                    let mut o = y.setting(&["resources", rl, q]);
                    o.push(Origin::Note {
                        note: format!(
                            "container `{cn}` sets no resources.{rl}.{q}, so the profile's applies"
                        ),
                    });
                    o
                }
            };
            y.put(format!("{at}.{rl}.{q}"), o);
        }
    }
}

fn replaced(o: Origin) -> Origin {
    match o {
        Origin::Replaced { .. } => o,
        o => Origin::Replaced {
            replaced: Box::new(o),
        },
    }
}

/// Liveness and readiness: the container's own, else the profile's default HTTP probe on the
/// first service port.
fn probes(y: &mut Why<'_, '_>, at: &str, sc: &model::Container, first: bool) {
    let cn = &sc.name.value;
    for (field, written) in [
        ("livenessProbe", &sc.liveness_probe),
        ("readinessProbe", &sc.readiness_probe),
    ] {
        let pat = format!("{at}.{field}");
        if let Some(p) = written {
            y.put(
                pat,
                vec![Origin::score(format!("containers.{cn}.{field}"), &p.span)],
            );
            continue;
        }
        if !first || y.w.profile.kind != WorkloadKind::Deployment {
            continue;
        }
        let mut o = vec![y.rule("the profile's default HTTP probe on the first service port")];
        o.extend(y.setting(&["probe_path"]));
        o.push(Origin::Note {
            note: format!(
                "container `{cn}` declares no {field}: the profile's default HTTP probe on the first service port applies"
            ),
        });
        y.put(pat.clone(), o);
        y.put(format!("{pat}.httpGet.path"), y.setting(&["probe_path"]));
        let svc = y.score.and_then(|s| s.service.as_ref());
        let port =
            y.w.ports
                .first()
                .and_then(|rp| svc.and_then(|s| s.ports.get(&rp.name)));
        if let Some(p) = port {
            let t = p.target_port.as_ref().unwrap_or(&p.port);
            y.put(
                format!("{pat}.httpGet.port"),
                vec![Origin::score(
                    format!("service.ports.{}", p.name.value),
                    &t.span,
                )],
            );
        }
    }
}

/// The container's mounts: its files and volumes as written, and `/tmp`.
fn mounts(y: &mut Why<'_, '_>, at: &str, sc: &model::Container) {
    let cn = &sc.name.value;
    let mut o = vec![y.rule("each file mounted from the files ConfigMap, each volume as written")];
    o.extend(sc.files.values().map(|f| {
        Origin::score(
            format!("containers.{cn}.files[{}]", f.target.value),
            &f.target.span,
        )
    }));
    o.extend(sc.volumes.values().map(|v| {
        Origin::score(
            format!("containers.{cn}.volumes[{}]", v.target.value),
            &v.target.span,
        )
    }));
    y.put(at.to_string(), o);
    let mut tmp = vec![y.rule(
        "a writable /tmp when the root file system is read-only and nothing else mounts there",
    )];
    tmp.extend(y.setting(&["security", "read_only_root_filesystem"]));
    y.put(item(at, "tmp"), tmp);
}

/// Each leaf of the pod spec `v` at `at` without a record of its own: the cause recorded for
/// the container, variable, port, mount or volume it belongs to, after the part it plays.
pub(super) fn parts(y: &mut Why<'_, '_>, at: &str, v: &Value) {
    y.complete(at, v, part);
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
    if rel.starts_with("containers[") && rel.matches('.').count() == 1 && ends(".name") {
        return Some("the container's name as written");
    }
    None
}
