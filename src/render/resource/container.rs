//! One container of a workload's pod, each field recorded (when recording) where it is made:
//! its Score value and what the value's placeholders read, or the profile's layers where the
//! Score file writes nothing (resources, the default probe), or the renderer's rule. A
//! container the Score file does not name (never, in practice) is recorded as a whole.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::shape::{Shape, replaced, score_value};
use super::volume_name;
use crate::diag::Spanned;
use crate::fieldpath::{index, item};
use crate::model::{self, WorkloadKind};
use crate::render::origins::{Origin, Recorder, placeholder_origins, profile_layers};
use crate::resolve::{EnvValue, HiddenUse, RContainer, RProbe, StringField};

/// The files' mounts: (container, target) → (ConfigMap key, mode).
pub(super) type FileKeys = BTreeMap<(String, String), (String, Option<u32>)>;

/// Container `c` at `at` (`…containers[name=api]`); the first one carries the service ports
/// and the profile's default probes; `tmp`: a writable `/tmp` is mounted.
pub(super) fn container(
    sh: &Shape<'_>,
    c: &RContainer,
    (first, tmp): (bool, bool),
    files: &FileKeys,
    at: &str,
    rec: &mut Recorder,
) -> Value {
    let score = sh
        .score
        .zip(sh.score.and_then(|s| s.containers.get(&c.name)));
    let y = Written { sh, c, score };
    y.strings(at, rec);
    let mut v = json!({"name": c.name, "image": c.image});
    if !c.command.is_empty() {
        v["command"] = json!(c.command);
    }
    if !c.args.is_empty() {
        v["args"] = json!(c.args);
    }
    if !c.env.is_empty() {
        v["env"] = Value::Array(y.env(at, rec));
    }
    if first && !sh.w.ports.is_empty() {
        v["ports"] = Value::Array(y.ports(&format!("{at}.ports"), rec));
    }
    if let Some(res) = y.resources(&format!("{at}.resources"), rec) {
        v["resources"] = res;
    }
    y.probes(first, at, rec, &mut v);
    let mounts = y.mounts(files, tmp, &format!("{at}.volumeMounts"), rec);
    if !mounts.is_empty() {
        v["volumeMounts"] = Value::Array(mounts);
    }
    v["securityContext"] = y.security_context(at, rec);
    v
}

/// A container being made: the workload's objects' shape, the resolved container, and its
/// Score values (`None` when not recording).
struct Written<'a> {
    sh: &'a Shape<'a>,
    c: &'a RContainer,
    score: Option<(&'a model::Workload, &'a model::Container)>,
}

impl Written<'_> {
    /// Records at `path` what `o` says of the Score container, when there is one.
    fn put(
        &self,
        rec: &mut Recorder,
        path: impl FnOnce() -> String,
        o: impl FnOnce(&model::Workload, &model::Container) -> Vec<Origin>,
    ) {
        if let Some((score, sc)) = self.score {
            rec.record(path, || o(score, sc));
        }
    }

    /// A Score string with what is written there and what its placeholders read.
    fn string(&self, score: &model::Workload, what: String, s: &Spanned<String>) -> Vec<Origin> {
        let mut o = vec![score_value(what, &s.span, Value::String(s.value.clone()))];
        o.extend(placeholder_origins(self.sh.cx, self.sh.w, score, s));
        o
    }

    /// The container as written (or, without a Score container, by the renderer's rule), its
    /// image, command and args.
    fn strings(&self, at: &str, rec: &mut Recorder) {
        let cn = &self.c.name;
        let Some((score, sc)) = self.score else {
            rec.record(
                || at.to_string(),
                || vec![self.sh.rule("a container of the workload")],
            );
            return;
        };
        rec.record(
            || at.to_string(),
            || vec![Origin::score(format!("containers.{cn}"), &sc.name.span)],
        );
        rec.record(
            || format!("{at}.image"),
            || self.string(score, format!("containers.{cn}.image"), &sc.image),
        );
        for (list, strings) in [("command", &sc.command), ("args", &sc.args)] {
            for (i, s) in strings.iter().enumerate() {
                rec.record(
                    || index(&format!("{at}.{list}"), i),
                    || self.string(score, format!("containers.{cn}.{list}[{i}]"), s),
                );
            }
        }
    }

    /// The env vars: each by its Score variable and what its placeholders read (a hidden
    /// variable by the string whose secret it carries); a name as written.
    fn env(&self, at: &str, rec: &mut Recorder) -> Vec<Value> {
        self.c
            .env
            .iter()
            .map(|e| {
                let var = rec.path(|| item(&format!("{at}.env"), &e.name));
                if let Some((score, sc)) = self.score
                    && rec.on()
                {
                    let o = self.env_var(score, sc, &e.name, &e.value);
                    // The name is the variable's as written; what its placeholders read made
                    // the value.
                    let mut name: Vec<Origin> = o.first().cloned().into_iter().collect();
                    name.push(self.sh.rule("the variable's name"));
                    rec.record(|| format!("{var}.name"), || name);
                    rec.record(|| var, || o);
                }
                match &e.value {
                    EnvValue::Value(s) => json!({"name": e.name, "value": s}),
                    EnvValue::SecretKeyRef { secret, key } => {
                        json!({"name": e.name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
                    }
                }
            })
            .collect()
    }

    /// An env var's cause: the Score variable and what its placeholders read, or, for a
    /// hidden variable, the string whose secret it carries.
    fn env_var(
        &self,
        score: &model::Workload,
        sc: &model::Container,
        name: &str,
        value: &EnvValue,
    ) -> Vec<Origin> {
        let cn = &sc.name.value;
        if let Some(v) = sc.variables.get(name) {
            return self.string(score, format!("containers.{cn}.variables.{name}"), v);
        }
        if let Some(used) = self.c.hidden.get(name) {
            return self.hidden(score, sc, name, used);
        }
        let what = match value {
            EnvValue::Value(_) => "a variable the renderer adds",
            EnvValue::SecretKeyRef { .. } => "a secret reference the renderer adds",
        };
        vec![self.sh.rule(what)]
    }

    /// Hidden variable `name`'s cause: the placeholder whose secret it carries and the Score
    /// string resolve first found it in (`used`).
    fn hidden(
        &self,
        score: &model::Workload,
        sc: &model::Container,
        name: &str,
        used: &HiddenUse,
    ) -> Vec<Origin> {
        let (what, s) = match &used.field {
            StringField::Variable(v) => (format!("variables.{v}"), sc.variables.get(v)),
            StringField::Command(i) => (format!("command[{i}]"), sc.command.get(*i)),
            StringField::Args(i) => (format!("args[{i}]"), sc.args.get(*i)),
        };
        let (cx, w) = (self.sh.cx, self.sh.w);
        let mut o: Vec<Origin> =
            crate::render::origins::placeholder_read(cx, w, score, &used.placeholder)
                .into_iter()
                .collect();
        o.extend(s.map(|s| {
            score_value(
                format!("containers.{}.{what}", sc.name.value),
                &s.span,
                Value::String(s.value.clone()),
            )
        }));
        o.push(Origin::Note {
            note: format!(
                "`{name}` is a hidden variable: `{what}` uses a secret inside a longer string, which becomes `$({name})`"
            ),
        });
        o
    }

    /// The first container's ports: the workload's service ports, one per target port and
    /// protocol.
    fn ports(&self, at: &str, rec: &mut Recorder) -> Vec<Value> {
        let w = self.sh.w;
        let svc = self.score.and_then(|(s, _)| s.service.as_ref());
        for p in &w.ports {
            self.put(
                rec,
                || item(at, &port_name(&p.name)),
                |_, _| {
                    let mut o =
                        vec![self.sh.rule(
                            "the service ports of the workload are the first container's ports",
                        )];
                    if let Some(sp) = svc.and_then(|s| s.ports.get(&p.name)) {
                        let t = sp.target_port.as_ref().unwrap_or(&sp.port);
                        o.insert(
                            0,
                            Origin::score(format!("service.ports.{}", p.name), &t.span),
                        );
                    }
                    o
                },
            );
        }
        let mut seen = BTreeSet::new();
        w.ports
            .iter()
            .filter(|p| seen.insert((p.target_port, p.protocol.clone())))
            .map(|p| json!({"name": port_name(&p.name), "containerPort": p.target_port, "protocol": p.protocol}))
            .collect()
    }

    /// Requests and limits, each only with what is set: the container's own (the profile's
    /// shown as replaced), else the profile's.
    fn resources(&self, at: &str, rec: &mut Recorder) -> Option<Value> {
        let c = self.c;
        let mut res = Map::new();
        for (rl, q) in [("requests", &c.requests), ("limits", &c.limits)] {
            let mut m = Map::new();
            for (name, set) in [("cpu", &q.cpu), ("memory", &q.memory)] {
                self.put(
                    rec,
                    || format!("{at}.{rl}.{name}"),
                    |_, sc| self.quantity(sc, rl, name),
                );
                if let Some(v) = set {
                    m.insert(name.into(), json!(v));
                }
            }
            if !m.is_empty() {
                res.insert(rl.into(), Value::Object(m));
            }
        }
        (!res.is_empty()).then_some(Value::Object(res))
    }

    /// Where request or limit `q` of `rl` comes from.
    fn quantity(&self, sc: &model::Container, rl: &str, q: &str) -> Vec<Origin> {
        let (cx, w) = (self.sh.cx, self.sh.w);
        let spec = sc.resources.as_ref().map(|r| match rl {
            "requests" => &r.requests,
            _ => &r.limits,
        });
        let set = spec.and_then(|s| if q == "cpu" { &s.cpu } else { &s.memory }.as_ref());
        let cn = &sc.name.value;
        match set {
            Some(v) => {
                let mut o = vec![score_value(
                    format!("containers.{cn}.resources.{rl}.{q}"),
                    &v.span,
                    Value::String(v.value.clone()),
                )];
                // The profile's value, unused: shown as replaced.
                o.extend(
                    profile_layers(cx, w, &["resources", rl, q])
                        .into_iter()
                        .map(replaced),
                );
                o
            }
            None => {
                let mut o = self.sh.setting(&["resources", rl, q]);
                o.push(Origin::Note {
                    note: format!(
                        "container `{cn}` sets no resources.{rl}.{q}, so the profile's applies"
                    ),
                });
                o
            }
        }
    }

    /// Liveness and readiness: the container's own, else the profile's default HTTP probe on
    /// the first service port (a Deployment's first container).
    fn probes(&self, first: bool, at: &str, rec: &mut Recorder, v: &mut Value) {
        let (c, w) = (self.c, self.sh.w);
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
        for (field, own) in [
            ("livenessProbe", &c.liveness),
            ("readinessProbe", &c.readiness),
        ] {
            if let Some((_, sc)) = self.score {
                self.probe_origins(sc, field, first, &format!("{at}.{field}"), rec);
            }
            if let Some(p) = own.as_ref().or(default_probe.as_ref()) {
                v[field] = probe(p);
            }
        }
    }

    /// Where probe `field` at `pat` comes from: the container's as written, else the profile's
    /// default.
    fn probe_origins(
        &self,
        sc: &model::Container,
        field: &str,
        first: bool,
        pat: &str,
        rec: &mut Recorder,
    ) {
        let (sh, cn) = (self.sh, &sc.name.value);
        let written = match field {
            "livenessProbe" => &sc.liveness_probe,
            _ => &sc.readiness_probe,
        };
        if let Some(p) = written {
            rec.record(
                || pat.to_string(),
                || vec![Origin::score(format!("containers.{cn}.{field}"), &p.span)],
            );
            return;
        }
        if !first || sh.w.profile.kind != WorkloadKind::Deployment {
            return;
        }
        rec.record(
            || pat.to_string(),
            || {
                let mut o =
                    vec![sh.rule("the profile's default HTTP probe on the first service port")];
                o.extend(sh.setting(&["probe_path"]));
                o.push(Origin::Note {
                    note: format!(
                        "container `{cn}` declares no {field}: the profile's default HTTP probe on the first service port applies"
                    ),
                });
                o
            },
        );
        rec.record(
            || format!("{pat}.httpGet.path"),
            || sh.setting(&["probe_path"]),
        );
        let svc = sh.score.and_then(|s| s.service.as_ref());
        let port =
            sh.w.ports
                .first()
                .and_then(|rp| svc.and_then(|s| s.ports.get(&rp.name)));
        if let Some(p) = port {
            let t = p.target_port.as_ref().unwrap_or(&p.port);
            rec.record(
                || format!("{pat}.httpGet.port"),
                || {
                    vec![Origin::score(
                        format!("service.ports.{}", p.name.value),
                        &t.span,
                    )]
                },
            );
        }
    }

    /// The container's mounts: its files (from the files ConfigMap), its volumes, and a
    /// writable `/tmp` when the root file system is read-only.
    fn mounts(&self, files: &FileKeys, tmp: bool, at: &str, rec: &mut Recorder) -> Vec<Value> {
        let (sh, c) = (self.sh, self.c);
        self.put(
            rec,
            || at.to_string(),
            |_, sc| {
                let cn = &sc.name.value;
                let mut o =
                    vec![sh.rule(
                        "each file mounted from the files ConfigMap, each volume as written",
                    )];
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
                o
            },
        );
        self.put(
            rec,
            || item(at, "tmp"),
            |_, _| {
                let mut tmp = vec![sh.rule(
                    "a writable /tmp when the root file system is read-only and nothing else mounts there",
                )];
                tmp.extend(sh.setting(&["security", "read_only_root_filesystem"]));
                tmp
            },
        );
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

    /// Containers never escalate and drop every capability; the root file system is
    /// read-only as the profile says.
    fn security_context(&self, at: &str, rec: &mut Recorder) -> Value {
        let sh = self.sh;
        self.put(
            rec,
            || format!("{at}.securityContext"),
            |_, _| vec![sh.rule("containers never escalate and drop every capability")],
        );
        self.put(
            rec,
            || format!("{at}.securityContext.readOnlyRootFilesystem"),
            |_, _| sh.setting(&["security", "read_only_root_filesystem"]),
        );
        json!({
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": sh.w.profile.security.read_only_root_filesystem,
            "capabilities": {"drop": ["ALL"]},
        })
    }
}

/// Container port names are IANA_SVC_NAMEs: at most 15 characters.
pub(super) fn port_name(name: &str) -> String {
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
