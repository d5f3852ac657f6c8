//! The resource plane: namespaces, workloads (Deployment or CronJob, Service, HPA, PDB, files)
//! and provisioned resources from the provisioners' templates.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

mod controller;
mod instances;
mod why;
mod why_pod;
mod why_template;

use instances::{SecretLabels, external_secrets, render_instance};

use super::{EnvCx, Object, PlaneRenderer, Provenance, workload_labels};
use crate::diag::Diagnostics;
use crate::graph::{EXTERNAL_SECRET_KIND, namespace_id, resource_id, workload_id};
use crate::model::{Plane, WorkloadKind};
use crate::resolve::{
    EnvResolution, EnvValue, Instance, RContainer, RFileContent, RProbe, RWorkload,
};

pub struct ResourcePlane;

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

        let namespaces = cx.res.namespaces();
        for (ns, team) in namespaces {
            if !cx.fresh(&namespace_id(ns)) {
                continue;
            }
            let mut labels = Map::new();
            labels.insert("app.kubernetes.io/managed-by".into(), json!("platc"));
            labels.insert("platc.dev/team".into(), json!(team));
            labels.insert("platc.dev/environment".into(), json!(env));
            for (k, v) in &environment.labels {
                labels.insert(k.clone(), json!(v));
            }
            for mode in ["enforce", "audit", "warn"] {
                labels.insert(
                    format!("pod-security.kubernetes.io/{mode}"),
                    json!(environment.pod_security),
                );
            }
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}});
            out.push(
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
                .with_origins(why::namespace(cx, ns, team)),
            );
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

/// What a workload's objects share: their directory, labels and selector.
struct Shape<'a> {
    cx: &'a EnvCx<'a>,
    w: &'a RWorkload,
    dir: String,
    labels: Map<String, Value>,
    selector: Value,
}

impl Shape<'_> {
    fn meta(&self, name: &str) -> Value {
        json!({"name": name, "namespace": self.w.namespace, "labels": self.labels, "annotations": {"platc.dev/source": self.w.file.to_string()}})
    }

    fn obj(&self, value: Value) -> Object {
        obj(&self.dir, value, self.w)
    }

    /// [`Shape::obj`] with what `y` recorded (nothing when not recording).
    fn recorded(&self, value: Value, y: Option<why::Why<'_, '_>>) -> Object {
        let rec = y.map_or_else(|| self.cx.recorder(), why::Why::finish);
        self.obj(value).with_origins(rec)
    }
}

/// A workload's files: one ConfigMap, mounted file by file.
struct Files {
    data: Map<String, Value>,
    binary: Map<String, Value>,
    /// (container, target) → (ConfigMap key, mode)
    keys: BTreeMap<(String, String), (String, Option<u32>)>,
    name: String,
}

impl Files {
    fn of(w: &RWorkload) -> Files {
        let mut files = Files {
            data: Map::new(),
            binary: Map::new(),
            keys: BTreeMap::new(),
            name: format!("{}-files", w.name),
        };
        for c in &w.containers {
            for f in &c.files {
                let key = config_key(&c.name, &f.target);
                match &f.content {
                    RFileContent::Text(t) => files.data.insert(key.clone(), json!(t)),
                    RFileContent::Base64(b) => files.binary.insert(key.clone(), json!(b)),
                };
                files
                    .keys
                    .insert((c.name.clone(), f.target.clone()), (key, f.mode));
            }
        }
        files
    }

    /// The ConfigMap and the hash of its contents, when there are files.
    fn config_map(&self, sh: &Shape<'_>) -> Option<(Value, String)> {
        if self.keys.is_empty() {
            return None;
        }
        let mut cm =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": sh.meta(&self.name)});
        if !self.data.is_empty() {
            cm["data"] = Value::Object(self.data.clone());
        }
        if !self.binary.is_empty() {
            cm["binaryData"] = Value::Object(self.binary.clone());
        }
        let digest = Sha256::digest(serde_json::to_string(&cm).unwrap_or_default().as_bytes());
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Some((cm, hex))
    }

    fn volume(&self) -> Option<Value> {
        if self.keys.is_empty() {
            return None;
        }
        let items: Vec<Value> = self
            .keys
            .values()
            .map(|(k, mode)| {
                let mut it = json!({"key": k, "path": k});
                if let Some(m) = mode {
                    it["mode"] = json!(m);
                }
                it
            })
            .collect();
        Some(json!({"name": "platc-files", "configMap": {"name": self.name, "items": items}}))
    }
}

fn render_workload(
    cx: &EnvCx<'_>,
    w: &RWorkload,
    instances: &BTreeMap<&str, &Instance>,
) -> Result<Vec<Object>, Diagnostics> {
    let env = &cx.res.env;
    let mut labels = workload_labels(cx.platform, env, &w.team, &w.name);
    for (k, v) in &w.profile.labels {
        labels.insert(k.clone(), json!(v));
    }
    let sh = Shape {
        cx,
        w,
        dir: workload_dir(env, &w.name),
        labels,
        selector: json!({
            "app.kubernetes.io/name": w.name,
            "app.kubernetes.io/instance": format!("{}-{env}", w.name),
        }),
    };
    let mut out = Vec::new();
    let files = Files::of(w);
    let mut pod_annotations: Map<String, Value> = w
        .profile
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    if let Some((cm, hash)) = files.config_map(&sh) {
        // A change of file contents must roll the pods: subPath mounts are never refreshed.
        pod_annotations.insert("platc.dev/files-hash".into(), json!(hash));
        out.push(sh.obj(cm).with_origins(why::files(cx, w)));
    }

    // A consumer outside the instance's namespace needs its own copy of the secret; inside it,
    // the instance's Application already creates it (an earlier wave, so it exists first).
    for ikey in w.uses.values() {
        if let Some(i) = instances.get(ikey.as_str())
            && i.namespace != w.namespace
        {
            let owner = SecretLabels::Consumer(w);
            for (es, why) in external_secrets(cx, i, owner, &w.namespace, &sh.labels) {
                out.push(sh.obj(es).with_origins(why));
            }
        }
    }

    let pod_spec = pod_spec(w, &files);
    let mut template_meta = json!({"labels": sh.labels});
    if !pod_annotations.is_empty() {
        template_meta["annotations"] = Value::Object(pod_annotations);
    }
    controller::controller(&sh, pod_spec, template_meta, &mut out);
    if !w.ports.is_empty() {
        out.push(service(&sh));
    }
    Ok(out)
}

/// The Service in front of the workload's ports, each port recorded (when recording) as it
/// is made.
fn service(sh: &Shape<'_>) -> Object {
    let w = sh.w;
    let mut y = why::Why::new(sh.cx, w);
    if let Some(y) = &mut y {
        why::service(y);
    }
    let mut ports = Vec::with_capacity(w.ports.len());
    for p in &w.ports {
        if let Some(y) = &mut y {
            why::service_port(y, p);
        }
        ports.push(json!({"name": p.name, "port": p.port, "targetPort": p.target_port, "protocol": p.protocol}));
    }
    let v = json!({"apiVersion": "v1", "kind": "Service", "metadata": sh.meta(&w.name),
       "spec": {"type": "ClusterIP", "selector": sh.selector, "ports": ports}});
    sh.recorded(v, y)
}

/// The pod's spec: security context, its ServiceAccount, containers and volumes.
fn pod_spec(w: &RWorkload, files: &Files) -> Value {
    let security = &w.profile.security;
    let mut pod_sc = json!({"runAsNonRoot": security.run_as_non_root, "seccompProfile": {"type": "RuntimeDefault"}});
    if let Some(uid) = security.run_as_user {
        pod_sc["runAsUser"] = json!(uid);
    }
    let mut volumes: Vec<Value> = files.volume().into_iter().collect();
    let mut claims = BTreeSet::new();
    for c in &w.containers {
        for v in &c.volumes {
            claims.insert(v.claim.clone());
        }
    }
    for claim in &claims {
        volumes.push(
            json!({"name": volume_name(claim), "persistentVolumeClaim": {"claimName": claim}}),
        );
    }
    let needs_tmp = security.read_only_root_filesystem
        && !w.containers.iter().any(|c| {
            c.files.iter().any(|f| f.target.starts_with("/tmp/"))
                || c.volumes.iter().any(|v| v.target == "/tmp")
        });
    if needs_tmp {
        volumes.push(json!({"name": "tmp", "emptyDir": {}}));
    }
    let containers: Vec<Value> = w
        .containers
        .iter()
        .enumerate()
        .map(|(idx, c)| container(w, c, idx == 0, &files.keys, needs_tmp))
        .collect();
    let mut pod_spec = json!({
        "securityContext": pod_sc,
        // Each workload runs as its own ServiceAccount (security plane); no API token unless asked.
        "serviceAccountName": w.name,
        "automountServiceAccountToken": false,
        "containers": containers,
    });
    if !volumes.is_empty() {
        pod_spec["volumes"] = Value::Array(volumes);
    }
    pod_spec
}

/// The Deployment (with its HPA and PDB) or the CronJob that runs the pods.
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

fn container(
    w: &RWorkload,
    c: &RContainer,
    first: bool,
    files: &BTreeMap<(String, String), (String, Option<u32>)>,
    tmp: bool,
) -> Value {
    let mut v = json!({"name": c.name, "image": c.image});
    if !c.command.is_empty() {
        v["command"] = json!(c.command);
    }
    if !c.args.is_empty() {
        v["args"] = json!(c.args);
    }
    if !c.env.is_empty() {
        let env: Vec<Value> = c
            .env
            .iter()
            .map(|e| match &e.value {
                EnvValue::Value(s) => json!({"name": e.name, "value": s}),
                EnvValue::SecretKeyRef { secret, key } => {
                    json!({"name": e.name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
                }
            })
            .collect();
        v["env"] = Value::Array(env);
    }
    if first && !w.ports.is_empty() {
        let mut seen = BTreeSet::new();
        let ports: Vec<Value> = w
            .ports
            .iter()
            .filter(|p| seen.insert((p.target_port, p.protocol.clone())))
            .map(|p| json!({"name": port_name(&p.name), "containerPort": p.target_port, "protocol": p.protocol}))
            .collect();
        v["ports"] = Value::Array(ports);
    }
    if let Some(res) = resources(c) {
        v["resources"] = res;
    }
    let default_probe = match (&w.profile.probe_path, w.ports.first()) {
        (Some(path), Some(p)) if first && w.profile.kind == WorkloadKind::Deployment => {
            Some(RProbe::Http {
                path: path.clone(),
                port: p.target_port,
                scheme: None,
                host: None,
                headers: Vec::new(),
            })
        }
        _ => None,
    };
    if let Some(p) = c.liveness.as_ref().or(default_probe.as_ref()) {
        v["livenessProbe"] = probe(p);
    }
    if let Some(p) = c.readiness.as_ref().or(default_probe.as_ref()) {
        v["readinessProbe"] = probe(p);
    }
    let mounts = mounts(c, files, tmp);
    if !mounts.is_empty() {
        v["volumeMounts"] = Value::Array(mounts);
    }
    v["securityContext"] = json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": w.profile.security.read_only_root_filesystem,
        "capabilities": {"drop": ["ALL"]},
    });
    v
}

/// Container port names are IANA_SVC_NAMEs: at most 15 characters.
/// A container's requests and limits, each only with what is set.
fn resources(c: &RContainer) -> Option<Value> {
    let mut res = Map::new();
    for (field, q) in [("requests", &c.requests), ("limits", &c.limits)] {
        let mut m = Map::new();
        if let Some(cpu) = &q.cpu {
            m.insert("cpu".into(), json!(cpu));
        }
        if let Some(mem) = &q.memory {
            m.insert("memory".into(), json!(mem));
        }
        if !m.is_empty() {
            res.insert(field.into(), Value::Object(m));
        }
    }
    (!res.is_empty()).then_some(Value::Object(res))
}

/// A container's mounts: its files (from the files ConfigMap), its volumes, and a writable
/// `/tmp` when the root file system is read-only.
fn mounts(
    c: &RContainer,
    files: &BTreeMap<(String, String), (String, Option<u32>)>,
    tmp: bool,
) -> Vec<Value> {
    let mut mounts = Vec::new();
    for ((cname, target), (key, _)) in files {
        if cname == &c.name {
            mounts.push(json!({"name": "platc-files", "mountPath": target, "subPath": key, "readOnly": true}));
        }
    }
    for vol in &c.volumes {
        let mut m = json!({"name": volume_name(&vol.claim), "mountPath": vol.target});
        if let Some(sp) = &vol.sub_path {
            m["subPath"] = json!(sp);
        }
        if vol.read_only {
            m["readOnly"] = json!(true);
        }
        mounts.push(m);
    }
    if tmp {
        mounts.push(json!({"name": "tmp", "mountPath": "/tmp"}));
    }
    mounts
}

fn port_name(name: &str) -> String {
    let n: String = name.chars().take(15).collect();
    n.trim_end_matches('-').to_string()
}

fn probe(p: &RProbe) -> Value {
    match p {
        RProbe::Http {
            path,
            port,
            scheme,
            host,
            headers,
        } => {
            let mut h = json!({"path": path, "port": port});
            if let Some(s) = scheme {
                h["scheme"] = json!(s);
            }
            if let Some(host) = host {
                h["host"] = json!(host);
            }
            if !headers.is_empty() {
                h["httpHeaders"] = Value::Array(
                    headers
                        .iter()
                        .map(|(n, v)| json!({"name": n, "value": v}))
                        .collect(),
                );
            }
            json!({"httpGet": h})
        }
        RProbe::Exec { command } => json!({"exec": {"command": command}}),
    }
}
