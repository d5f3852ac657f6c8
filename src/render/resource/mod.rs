//! The resource plane: namespaces, workloads (Deployment or CronJob, Service, HPA, PDB, files)
//! and provisioned resources from the provisioners' templates.

use std::collections::BTreeMap;

use serde_json::{Value, json};

mod container;
mod controller;
mod files;
mod instances;
mod namespace;
mod pod;
mod shape;
mod why_template;

use files::Files;
use instances::{SecretLabels, external_secrets, render_instance};
use shape::Shape;

use super::origins::{Origin, Recorder};
use super::{EnvCx, Object, PlaneRenderer, Provenance};
use crate::diag::Diagnostics;
use crate::graph::{EXTERNAL_SECRET_KIND, namespace_id, resource_id, workload_id};
use crate::model::Plane;
use crate::resolve::{EnvResolution, Instance, RPort, RWorkload};

pub struct ResourcePlane;

pub(super) const RES: &str = "resource";

/// Directory of a workload's objects.
pub fn workload_dir(env: &str, w: &str) -> String {
    format!("envs/{env}/{w}")
}
pub fn instance_dir(env: &str, name: &str) -> String {
    format!("envs/{env}/_resources/{name}")
}
pub fn namespace_dir(env: &str, ns: &str) -> String {
    format!("envs/{env}/_namespaces/{ns}")
}

impl PlaneRenderer for ResourcePlane {
    fn plane(&self) -> Plane {
        Plane::Resource
    }

    fn kinds_needed(&self, res: &EnvResolution, w: &RWorkload) -> Vec<String> {
        // A consumer outside an instance's namespace gets its own ExternalSecret.
        let copies = w.uses.values().any(|k| {
            res.instance(k)
                .is_some_and(|i| i.external_secret.is_some() && i.namespace != w.namespace)
        });
        if copies {
            vec![EXTERNAL_SECRET_KIND.to_string()]
        } else {
            Vec::new()
        }
    }

    fn render_env(&self, cx: &EnvCx<'_>) -> Result<Vec<Object>, Diagnostics> {
        let mut diags = Diagnostics::new();
        let mut out = Vec::new();
        let env = &cx.res.env;
        let environment = &cx.platform.environments[env];

        for (ns, team) in cx.res.namespaces() {
            if cx.fresh(&namespace_id(ns)) {
                out.push(namespace::namespace(cx, environment, ns, team));
            }
        }

        let by_key: BTreeMap<&str, &Instance> = cx
            .res
            .instances
            .iter()
            .map(|i| (i.key.as_str(), i))
            .collect();
        let finished = |r: Result<Vec<Object>, Diagnostics>| match r {
            Ok(objs) => (cx.finish_all(objs).collect(), Diagnostics::new()),
            Err(d) => (Vec::new(), d),
        };
        let (objects, d) = crate::render::par_each(&cx.res.workloads, |w| {
            if !cx.fresh(&workload_id(&w.name)) {
                return Default::default();
            }
            finished(render_workload(cx, w, &by_key))
        });
        out.extend(objects);
        diags.extend(d);
        let (objects, d) = crate::render::par_each(&cx.res.instances, |i| {
            if !cx.fresh(&resource_id(&i.key)) {
                return Default::default();
            }
            finished(render_instance(cx, i))
        });
        out.extend(objects);
        diags.extend(d);
        diags.into_result(out)
    }
}

fn obj(path_dir: &str, value: Value, w: &RWorkload) -> Object {
    Object::manifest(
        path_dir,
        value,
        Plane::Resource,
        Provenance {
            source: w.file.to_string(),
            node: workload_id(&w.name),
            via: "renderer:resource".into(),
        },
    )
}

fn render_workload(
    cx: &EnvCx<'_>,
    w: &RWorkload,
    instances: &BTreeMap<&str, &Instance>,
) -> Result<Vec<Object>, Diagnostics> {
    let sh = Shape::new(cx, w);
    let mut out = Vec::new();
    let mut rec = sh.recorder();
    let files = Files::of(&sh, &mut rec);
    let mut files_hash = None;
    if let Some((cm, hash)) = files.config_map(&sh, &mut rec) {
        // A change of file contents must roll the pods: subPath mounts are never refreshed.
        files_hash = Some(hash);
        out.push(sh.obj(cm, rec));
    }

    // A consumer outside the instance's namespace needs its own copy of the secret; inside it,
    // the instance's Application already creates it (an earlier wave, so it exists first).
    for ikey in w.uses.values() {
        if let Some(i) = instances.get(ikey.as_str())
            && i.namespace != w.namespace
        {
            let owner = SecretLabels::Consumer(w);
            for (es, why) in external_secrets(cx, i, owner, &w.namespace, &sh.labels) {
                out.push(sh.obj(es, why));
            }
        }
    }

    controller::controller(&sh, &files, files_hash, &mut out);
    if !w.ports.is_empty() {
        out.push(service(&sh));
    }
    Ok(out)
}

/// The Service in front of the workload's ports: cluster-internal (routes expose it), each
/// port from the Score port that declares it.
fn service(sh: &Shape<'_>) -> Object {
    let w = sh.w;
    let mut rec = sh.recorder();
    let meta = sh.meta(
        &w.name,
        "a Service per workload that declares service ports",
        &mut rec,
    );
    rec.at("spec.type", || {
        vec![sh.rule("services are cluster-internal; routes expose them")]
    });
    let selector = sh.selector("spec.selector", &mut rec);
    let mut ports = Vec::with_capacity(w.ports.len());
    for p in &w.ports {
        if rec.on() {
            service_port(sh, p, &mut rec);
        }
        ports.push(json!({"name": p.name, "port": p.port, "targetPort": p.target_port, "protocol": p.protocol}));
    }
    let v = json!({"apiVersion": "v1", "kind": "Service", "metadata": meta,
       "spec": {"type": "ClusterIP", "selector": selector, "ports": ports}});
    sh.obj(v, rec)
}

/// One port of the Service: each field from the Score port that declares it.
fn service_port(sh: &Shape<'_>, p: &RPort, rec: &mut Recorder) {
    let ports = sh.score.and_then(|s| s.service.as_ref());
    let at = crate::fieldpath::item("spec.ports", &p.name);
    let Some(sp) = ports.and_then(|s| s.ports.get(&p.name)) else {
        rec.record(|| at, || vec![sh.rule("the workload's service ports")]);
        return;
    };
    let what = |f: &str| format!("service.ports.{}{f}", p.name);
    let name = Origin::score(what(""), &sp.name.span);
    rec.record(|| format!("{at}.name"), || vec![name.clone()]);
    rec.record(|| at.clone(), || vec![name]);
    let port = Origin::score(what(".port"), &sp.port.span);
    rec.record(|| format!("{at}.port"), || vec![port.clone()]);
    let target = match &sp.target_port {
        Some(t) => vec![Origin::score(what(".targetPort"), &t.span)],
        None => vec![
            port,
            Origin::Note {
                note: "no targetPort is written, so it is the port".into(),
            },
        ],
    };
    rec.record(|| format!("{at}.targetPort"), || target);
    let protocol = match &sp.protocol {
        Some(x) => Origin::score(what(".protocol"), &x.span),
        None => sh.rule("Score's default protocol, TCP"),
    };
    rec.record(|| format!("{at}.protocol"), || vec![protocol]);
}

/// The ConfigMap key of a container file (also how `platc explain` finds it).
pub fn config_key(container: &str, target: &str) -> String {
    let mut k = format!("{container}-");
    for ch in target.trim_start_matches('/').chars() {
        k.push(
            if ch.is_ascii_alphanumeric() || ch == '.' || ch == '_' || ch == '-' {
                ch
            } else {
                '-'
            },
        );
    }
    k
}

fn volume_name(claim: &str) -> String {
    let n = format!("pvc-{claim}");
    if n.len() <= 63 {
        n
    } else {
        format!("pvc-{}", crate::resolve::short_hash(claim))
    }
}
