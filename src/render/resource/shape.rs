//! What a workload's objects share (their directory, metadata, labels and pod selector), made
//! and recorded together, and the causes the resource plane's records name: the workload's
//! Score values at their spans, the profile layers resolve merged, the renderer's rules
//! applied to the workload.

use serde_json::{Map, Value, json};

use super::{RES, obj};
use crate::fieldpath::key;
use crate::graph::workload_id;
use crate::model::Workload;
use crate::render::origins::{
    Labelled, Origin, Recorder, SELECTOR_KEYS, profile_layers, record_labels, team_origins,
    workload_origin,
};
use crate::render::{EnvCx, Object, WORKLOAD_LABEL_KEYS, workload_labels};
use crate::resolve::RWorkload;

/// A workload's objects' shared parts, and what their records read.
pub(super) struct Shape<'a> {
    pub cx: &'a EnvCx<'a>,
    pub w: &'a RWorkload,
    pub dir: String,
    pub labels: Map<String, Value>,
    pub selector: Value,
    /// The workload's Score file, when recording.
    pub score: Option<&'a Workload>,
}

impl<'a> Shape<'a> {
    pub fn new(cx: &'a EnvCx<'a>, w: &'a RWorkload) -> Shape<'a> {
        let env = &cx.res.env;
        let mut labels = workload_labels(cx.platform, env, &w.team, &w.name);
        for (k, v) in &w.profile.labels {
            labels.insert(k.clone(), json!(v));
        }
        Shape {
            cx,
            w,
            dir: super::workload_dir(env, &w.name),
            labels,
            selector: json!({
                "app.kubernetes.io/name": w.name,
                "app.kubernetes.io/instance": format!("{}-{env}", w.name),
            }),
            score: cx.sources().and_then(|s| s.score(&w.name)),
        }
    }

    /// A recorder for one of the workload's objects (off in a build).
    pub fn recorder(&self) -> Recorder {
        self.cx.recorder()
    }

    /// The object made of `value`, with what `rec` recorded.
    pub fn obj(&self, value: Value, rec: Recorder) -> Object {
        obj(&self.dir, value, self.w).with_origins(rec)
    }

    /// The renderer's rule `rule`, applied to the workload.
    pub fn rule(&self, rule: &'static str) -> Origin {
        Origin::rule(RES, rule, workload_id(&self.w.name))
    }

    /// A profile setting: the layers that write it, else the renderer's default; a layer the
    /// evaluator kept no position for is completed by the rule that reads it.
    pub fn setting(&self, segs: &[&str]) -> Vec<Origin> {
        let mut o = profile_layers(self.cx, self.w, segs);
        if !o.first().is_some_and(Origin::is_located) {
            o.push(self.rule("platc's default where no profile layer sets it"));
        }
        o
    }

    /// An object's `metadata` named `name`: the workload's namespace, labels and Score file;
    /// `apiVersion`, `kind` and `metadata` are made by `kind_rule`; `name` is the workload's.
    pub fn meta(&self, name: &str, kind_rule: &'static str, rec: &mut Recorder) -> Value {
        self.meta_suffixed(name, None, kind_rule, rec)
    }

    /// [`Shape::meta`] of an object named after the workload with a suffix, `suffixed` saying
    /// which.
    pub fn meta_suffixed(
        &self,
        name: &str,
        suffixed: Option<&'static str>,
        kind_rule: &'static str,
        rec: &mut Recorder,
    ) -> Value {
        let (cx, w) = (self.cx, self.w);
        for f in ["apiVersion", "kind", "metadata"] {
            rec.at(f, || {
                let mut made = vec![self.rule(kind_rule)];
                made.extend(workload_origin(cx, &w.name));
                made
            });
        }
        rec.at("metadata.name", || {
            let mut o: Vec<Origin> = suffixed.map(|r| self.rule(r)).into_iter().collect();
            o.extend(workload_origin(cx, &w.name));
            o
        });
        rec.at("metadata.namespace", || team_origins(cx, w));
        let labels = self.labels("metadata.labels", rec);
        rec.record(
            || key("metadata.annotations", "platc.dev/source"),
            || {
                let mut src = vec![self.rule("every object of a workload names its Score file")];
                src.extend(workload_origin(cx, &w.name));
                src
            },
        );
        json!({"name": name, "namespace": w.namespace, "labels": labels, "annotations": {"platc.dev/source": w.file.to_string()}})
    }

    /// The workload's labels, placed at `at`: the renderer's own (name, instance, team,
    /// environment, platform) and its profile's.
    pub fn labels(&self, at: &str, rec: &mut Recorder) -> Value {
        rec.record(
            || at.to_string(),
            || {
                vec![self.rule(
                    "every object of a workload carries its name, instance, team, environment and platform",
                )]
            },
        );
        self.vocabulary(at, &WORKLOAD_LABEL_KEYS, rec);
        for l in self.w.profile.labels.keys() {
            rec.record(|| key(at, l), || self.setting(&["labels", l]));
        }
        Value::Object(self.labels.clone())
    }

    /// A selector of the workload's pods, placed at `at` (a `matchLabels` map, or a Service's
    /// selector): its name and instance labels.
    pub fn selector(&self, at: &str, rec: &mut Recorder) -> Value {
        rec.record(
            || at.to_string(),
            || vec![self.rule("the pods by the workload's name and instance labels")],
        );
        self.vocabulary(at, &SELECTOR_KEYS, rec);
        self.selector.clone()
    }

    /// Labels of platc's vocabulary (`keys`) in the map at `at`, each by its rule.
    fn vocabulary(&self, at: &str, keys: &[&str], rec: &mut Recorder) {
        if !rec.on() {
            return;
        }
        let (cx, w) = (self.cx, self.w);
        let subject = workload_id(&w.name);
        let l = Labelled::env(cx.platform, RES, &subject, &cx.res.env, Some(&w.team));
        record_labels(rec, at, keys.iter().copied(), &l);
    }

    /// Where every file of the workload is written in its Score file.
    pub fn file_origins(&self) -> Vec<Origin> {
        let Some(score) = self.score else {
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
}

/// A Score value with what is written there.
pub(super) fn score_value(what: String, at: &crate::diag::Span, v: Value) -> Origin {
    Origin::Score {
        what,
        at: at.clone(),
        value: Some(v),
    }
}

/// An origin shown as replaced by what comes before it.
pub(super) fn replaced(o: Origin) -> Origin {
    match o {
        Origin::Replaced { .. } => o,
        o => Origin::Replaced {
            replaced: Box::new(o),
        },
    }
}
