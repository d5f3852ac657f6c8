//! What the resource plane's workload objects are made from, recorded when asked: names and
//! ports from the Score file at their spans, replicas, probes, resources and security from the
//! profile layers resolve merged (each with its Nickel position), the namespace from the team,
//! and the renderer's fixed rules applied to the workload. The pod's own fields are in
//! `why_pod.rs`.

use serde_json::Value;

use super::config_key;
use crate::fieldpath::key;
use crate::graph::{namespace_id, workload_id};
use crate::model::Workload;
use crate::render::EnvCx;
use crate::render::origins::{
    Labelled, Origin, Recorder, SELECTOR_KEYS, platform, profile_layers, record_labels,
    team_origins, workload_origin,
};
use crate::resolve::{RPort, RWorkload};

pub(super) const RES: &str = "resource";

/// Recording for one workload's objects; exists only when the compilation records origins.
pub(super) struct Why<'a, 'c> {
    pub(super) cx: &'a EnvCx<'c>,
    pub(super) w: &'a RWorkload,
    pub(super) score: Option<&'a Workload>,
    rec: Recorder,
}

impl<'a, 'c> Why<'a, 'c> {
    /// `None` in a build: nothing below runs.
    pub(super) fn new(cx: &'a EnvCx<'c>, w: &'a RWorkload) -> Option<Self> {
        let rec = cx.recorder();
        rec.on().then(|| Why {
            cx,
            w,
            score: cx.sources().and_then(|s| s.score(&w.name)),
            rec,
        })
    }

    /// The value at `path` was made by `origins`.
    pub(super) fn put(&mut self, path: String, origins: Vec<Origin>) {
        self.rec.record(|| path, || origins);
    }

    pub(super) fn rule(&self, rule: &'static str) -> Origin {
        Origin::rule(RES, rule, workload_id(&self.w.name))
    }

    /// A profile setting: the layers that write it, else the renderer's default; a layer the
    /// evaluator kept no position for is completed by the rule that reads it.
    pub(super) fn setting(&self, segs: &[&str]) -> Vec<Origin> {
        let mut o = profile_layers(self.cx, self.w, segs);
        if !o.first().is_some_and(Origin::is_located) {
            o.push(self.rule("platc's default where no profile layer sets it"));
        }
        o
    }

    /// A Score value with what is written there.
    pub(super) fn score_value(&self, what: String, at: &crate::diag::Span, v: Value) -> Origin {
        Origin::Score {
            what,
            at: at.clone(),
            value: Some(v),
        }
    }

    /// `apiVersion`, `kind` and `metadata` of an object made for the workload.
    pub(super) fn frame(&mut self, kind_rule: &'static str) {
        let w = self.w;
        let mut made = vec![self.rule(kind_rule)];
        made.extend(workload_origin(self.cx, &w.name));
        for f in ["apiVersion", "kind", "metadata"] {
            self.put(f.into(), made.clone());
        }
        self.put("metadata.name".into(), workload_origin(self.cx, &w.name));
        self.put("metadata.namespace".into(), team_origins(self.cx, w));
        self.labels("metadata.labels");
        let mut src = vec![self.rule("every object of a workload names its Score file")];
        src.extend(workload_origin(self.cx, &w.name));
        self.put(key("metadata.annotations", "platc.dev/source"), src);
    }

    /// The workload's labels: the renderer's own (name, instance, team, environment, platform)
    /// and its profile's.
    pub(super) fn labels(&mut self, at: &str) {
        let rule = self.rule(
            "every object of a workload carries its name, instance, team, environment and platform",
        );
        self.put(at.to_string(), vec![rule]);
        self.vocabulary(at, &crate::render::WORKLOAD_LABEL_KEYS);
        for l in self.w.profile.labels.keys() {
            let o = self.setting(&["labels", l]);
            self.put(key(at, l), o);
        }
    }

    /// Labels of platc's vocabulary (`keys`) in the map at `at`, each by its rule.
    pub(super) fn vocabulary(&mut self, at: &str, keys: &[&str]) {
        let (cx, w) = (self.cx, self.w);
        let subject = workload_id(&w.name);
        let l = Labelled::env(cx.platform, RES, &subject, &cx.res.env, Some(&w.team));
        record_labels(&mut self.rec, at, keys.iter().copied(), &l);
    }

    /// A selector of the workload's pods at `at` (a `matchLabels` map, or a Service's
    /// selector): its name and instance labels.
    pub(super) fn selector(&mut self, at: &str) {
        let o = vec![self.rule("the pods by the workload's name and instance labels")];
        self.put(at.to_string(), o);
        self.vocabulary(at, &SELECTOR_KEYS);
    }

    /// The leaves of `v` at `at` without a record of their own: the cause recorded above
    /// each, after the part it plays (see [`Recorder::complete`]).
    pub(super) fn complete(
        &mut self,
        at: &str,
        v: &Value,
        part: impl Fn(&str) -> Option<&'static str>,
    ) {
        let subject = workload_id(&self.w.name);
        self.rec.complete(at, v, |rel| {
            part(rel).map(|r| Origin::rule(RES, r, subject.clone()))
        });
    }

    /// What was recorded.
    pub(super) fn finish(self) -> Recorder {
        self.rec
    }
}

/// The Deployment (or CronJob) that runs the workload's pods.
pub(super) fn controller(cx: &EnvCx<'_>, w: &RWorkload, made: &Value) -> Recorder {
    let Some(mut y) = Why::new(cx, w) else {
        return cx.recorder();
    };
    let cron = made["kind"] == "CronJob";
    let template = if cron {
        y.frame("a CronJob per workload whose profile's kind is cronjob");
        y.put("spec.schedule".into(), schedule(&y));
        y.put(
            "spec.concurrencyPolicy".into(),
            vec![y.rule("a run is never started while the last one still runs")],
        );
        "spec.jobTemplate.spec.template"
    } else {
        y.frame("a Deployment per workload whose profile's kind is deployment");
        y.put("spec.replicas".into(), y.setting(&["replicas"]));
        "spec.template"
    };
    y.selector("spec.selector.matchLabels");
    y.labels(&format!("{template}.metadata.labels"));
    pod_annotations(&mut y, &format!("{template}.metadata.annotations"));
    let pod = format!("{template}.spec");
    super::why_pod::pod(&mut y, &pod, cron);
    let pointer = format!("/{}", pod.replace('.', "/"));
    if let Some(v) = made.pointer(&pointer) {
        super::why_pod::parts(&mut y, &pod, v);
    }
    y.finish()
}

/// A CronJob's schedule: the workload's annotation, else the profile's, else hourly.
fn schedule(y: &Why<'_, '_>) -> Vec<Origin> {
    let ann = y
        .score
        .and_then(|s| s.annotations.get("platc.dev/schedule"));
    let layers = profile_layers(y.cx, y.w, &["schedule"]);
    match ann {
        Some(a) => {
            let mut o = vec![y.score_value(
                "annotation platc.dev/schedule".into(),
                &a.span,
                Value::String(a.value.clone()),
            )];
            o.extend(layers.into_iter().map(|l| match l {
                Origin::Replaced { .. } => l,
                l => Origin::Replaced {
                    replaced: Box::new(l),
                },
            }));
            o
        }
        None if layers.is_empty() => {
            vec![y.rule("no annotation or profile sets a schedule: the renderer's hourly default")]
        }
        None => y.setting(&["schedule"]),
    }
}

/// The pod template's annotations: the profile's, and the hash of the files ConfigMap.
fn pod_annotations(y: &mut Why<'_, '_>, at: &str) {
    for a in y.w.profile.annotations.keys() {
        let o = y.setting(&["annotations", a]);
        y.put(key(at, a), o);
    }
    let mut hash = vec![y.rule(
        "a hash of the files ConfigMap, so that a change of file contents rolls the pods (subPath mounts are never refreshed)",
    )];
    hash.extend(file_origins(y));
    y.put(key(at, "platc.dev/files-hash"), hash);
}

/// Where every file of the workload is written in its Score file.
pub(super) fn file_origins(y: &Why<'_, '_>) -> Vec<Origin> {
    let Some(score) = y.score else {
        return Vec::new();
    };
    score
        .containers
        .values()
        .flat_map(|c| {
            c.files.values().map(move |f| {
                Origin::score(
                    format!("containers.{}.files[{}]", c.name.value, f.target.value),
                    &f.target.span,
                )
            })
        })
        .collect()
}

/// A Service's frame, type and selector; its ports are recorded as they are made
/// ([`service_port`]).
pub(super) fn service(y: &mut Why<'_, '_>) {
    y.frame("a Service per workload that declares service ports");
    y.put(
        "spec.type".into(),
        vec![y.rule("services are cluster-internal; routes expose them")],
    );
    y.selector("spec.selector");
}

/// One port of the Service: each field from the Score port that declares it.
pub(super) fn service_port(y: &mut Why<'_, '_>, p: &RPort) {
    let ports = y.score.and_then(|s| s.service.as_ref());
    let at = crate::fieldpath::item("spec.ports", &p.name);
    let Some(sp) = ports.and_then(|s| s.ports.get(&p.name)) else {
        let o = vec![y.rule("the workload's service ports")];
        y.put(at, o);
        return;
    };
    let what = |f: &str| format!("service.ports.{}{f}", p.name);
    let name = Origin::score(what(""), &sp.name.span);
    y.put(format!("{at}.name"), vec![name.clone()]);
    y.put(at.clone(), vec![name]);
    let port = Origin::score(what(".port"), &sp.port.span);
    y.put(format!("{at}.port"), vec![port.clone()]);
    let target = match &sp.target_port {
        Some(t) => vec![Origin::score(what(".targetPort"), &t.span)],
        None => vec![
            port,
            Origin::Note {
                note: "no targetPort is written, so it is the port".into(),
            },
        ],
    };
    y.put(format!("{at}.targetPort"), target);
    let protocol = match &sp.protocol {
        Some(x) => Origin::score(what(".protocol"), &x.span),
        None => y.rule("Score's default protocol, TCP"),
    };
    y.put(format!("{at}.protocol"), vec![protocol]);
}

/// The ConfigMap holding the workload's files: each key from the file's Score content.
pub(super) fn files(cx: &EnvCx<'_>, w: &RWorkload) -> Recorder {
    let Some(mut y) = Why::new(cx, w) else {
        return cx.recorder();
    };
    y.frame("a ConfigMap holding the workload's files, mounted file by file");
    let Some(score) = y.score else {
        return y.finish();
    };
    for c in score.containers.values() {
        for f in c.files.values() {
            let k = config_key(&c.name.value, &f.target.value);
            let what = format!("containers.{}.files[{}]", c.name.value, f.target.value);
            let (field, content, expanded) = match &f.content {
                crate::model::FileContent::Text(t) => ("data", t, !f.no_expand),
                crate::model::FileContent::Binary(b) => ("binaryData", b, false),
            };
            let mut o = vec![Origin::score(what, &content.span)];
            if expanded {
                o.extend(crate::render::origins::placeholder_origins(
                    cx, w, score, content,
                ));
            }
            y.put(key(field, &k), o);
        }
    }
    y.finish()
}

/// A namespace of the environment: its team's namespace setting, the environment's labels and
/// Pod Security level.
pub(super) fn namespace(cx: &EnvCx<'_>, ns: &str, team: &str) -> Recorder {
    let mut rec = cx.recorder();
    if !rec.on() {
        return rec;
    }
    let (p, env) = (cx.platform, cx.res.env.as_str());
    let made = || {
        vec![
            Origin::rule(
                RES,
                "a Namespace per team namespace with workloads or resources in the environment, `<team namespace>-<environment>`",
                namespace_id(ns),
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
    // The environment's labels are written over platc's.
    let env_labels = p.environments.get(env).map(|e| &e.labels);
    let own = [
        "app.kubernetes.io/managed-by",
        "platc.dev/team",
        "platc.dev/environment",
    ]
    .into_iter()
    .filter(|k| !env_labels.is_some_and(|l| l.contains_key(*k)));
    let id = namespace_id(ns);
    let l = Labelled::env(p, RES, &id, env, Some(team));
    record_labels(&mut rec, "metadata.labels", own, &l);
    rec.at("metadata.labels", || {
        vec![Origin::rule(
            RES,
            "a namespace carries platc's, its team's and its environment's labels",
            namespace_id(ns),
        )]
    });
    if let Some(e) = p.environments.get(env) {
        for k in e.labels.keys() {
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
    }
    for mode in ["enforce", "audit", "warn"] {
        rec.record(
            || {
                key(
                    "metadata.labels",
                    &format!("pod-security.kubernetes.io/{mode}"),
                )
            },
            || {
                vec![
                    platform(p, &[format!("environments.{env}.pod_security")]),
                    Origin::rule(
                        RES,
                        "the environment's Pod Security level is enforced, audited and warned",
                        namespace_id(ns),
                    ),
                ]
            },
        );
    }
    rec
}
