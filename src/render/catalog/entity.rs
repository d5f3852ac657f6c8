//! A catalog entity being made, with its record: what it is made for (a subject, and the chain
//! of causes its fields start from), and the setters that give a field its value and record
//! why together (name, description, annotations, tags, relation lists). What every entity
//! kind shares: its file's place and provenance, its environments.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::VIA;
use super::names::tag;
use crate::model::{Plane, Platform};
use crate::render::origins::{Origin, Recorder, Sources, platform};
use crate::render::{Object, Provenance};
use crate::resolve::EnvResolution;

pub(super) const CAT: &str = "developer-control";

/// What the catalog's entities are made from, and what recording them reads (the Score
/// workloads; `None` when not recording).
#[derive(Clone, Copy)]
pub(super) struct Cat<'a> {
    pub platform: &'a Platform,
    pub sources: Option<&'a Sources<'a>>,
}

impl Cat<'_> {
    /// A team's setting.
    pub fn team(&self, team: &str) -> Origin {
        platform(self.platform, &[format!("teams.{team}"), "teams".into()])
    }

    /// A team's `owners`.
    pub fn owners(&self, team: &str) -> Origin {
        platform(
            self.platform,
            &[format!("teams.{team}.owners"), format!("teams.{team}")],
        )
    }

    /// Where a workload's Score file names it.
    pub fn workload(&self, w: &str) -> Vec<Origin> {
        self.sources
            .and_then(|s| s.score(w))
            .map(|s| Origin::score(format!("metadata.name of workload {w}"), &s.name.span))
            .into_iter()
            .collect()
    }
}

/// An entity being made for `subject` because of `made`, and its record.
pub(super) struct Made {
    subject: String,
    made: Vec<Origin>,
    pub rec: Recorder,
}

impl Made {
    /// `apiVersion`, `kind` and `metadata` are made by `made` (run only when recording).
    pub fn new(
        cx: Cat<'_>,
        subject: impl FnOnce() -> String,
        made: impl FnOnce() -> Vec<Origin>,
    ) -> Made {
        let mut rec = Recorder::new(cx.sources.is_some());
        let (subject, made) = if rec.on() {
            (subject(), made())
        } else {
            Default::default()
        };
        for f in ["apiVersion", "kind", "metadata"] {
            rec.at(f, || made.clone());
        }
        Made { subject, made, rec }
    }

    /// What the entity is made because of.
    pub fn made(&self) -> Vec<Origin> {
        self.made.clone()
    }

    /// The graph element or setting the entity is made for.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Records at `path` the renderer's rule `r` applied to the entity's subject, then what
    /// the entity is made because of.
    pub fn rule_at(&mut self, path: impl FnOnce() -> String, r: &'static str) {
        let Made { subject, made, rec } = self;
        rec.record(path, || {
            let mut o = vec![Origin::rule(CAT, r, subject.clone())];
            o.extend(made.iter().cloned());
            o
        });
    }

    /// `metadata.name` and `metadata.description`, by the catalog's rules.
    pub fn identity(&mut self, name: &str, description: Option<String>) -> Value {
        self.rule_at(
            || "metadata.name".into(),
            "an entity is named by the catalog's name rules: lower-case, unique per kind",
        );
        let mut m = Map::new();
        m.insert("name".into(), json!(name));
        if let Some(d) = description {
            self.rule_at(
                || "metadata.description".into(),
                "the description says what the entity stands for",
            );
            m.insert("description".into(), json!(d));
        }
        Value::Object(m)
    }

    /// `metadata.annotations`, each by what platc's annotation of that key says.
    pub fn annotations(&mut self, meta: &mut Value, a: Map<String, Value>) {
        for k in a.keys() {
            let path = || crate::fieldpath::key("metadata.annotations", k);
            self.rule_at(path, annotation_rule(k));
        }
        meta["annotations"] = Value::Object(a);
    }

    /// `metadata.tags`: a tag per environment that runs the entity.
    pub fn tags<T>(&mut self, meta: &mut Value, seen: &[(&EnvResolution, &T)]) {
        let tags = env_tags(seen);
        for ix in 0..tags.len() {
            let path = || crate::fieldpath::index("metadata.tags", ix);
            self.rule_at(path, "a tag per environment that runs it");
        }
        meta["tags"] = json!(tags);
    }

    /// A relation list at `path`, each item with its cause from `causes` (made only when
    /// recording).
    pub fn relation(
        &mut self,
        path: &str,
        items: Vec<String>,
        causes: impl FnOnce() -> BTreeMap<String, Vec<Origin>>,
    ) -> Vec<String> {
        if self.rec.on() {
            let causes = causes();
            for (ix, item) in items.iter().enumerate() {
                if let Some(o) = causes.get(item) {
                    self.rec
                        .record(|| crate::fieldpath::index(path, ix), || o.clone());
                }
            }
        }
        items
    }

    /// The entity's object in `dir`, with what was recorded.
    pub fn object(self, dir: &str, value: Value, provenance: Provenance) -> Object {
        Object::manifest(dir, value, Plane::DeveloperControl, provenance).with_origins(self.rec)
    }
}

/// What an annotation of platc's says, by its key.
fn annotation_rule(key: &str) -> &'static str {
    match key {
        "platc.dev/team" => "the team the entity belongs to",
        "platc.dev/argocd-project" => "the team's Argo CD project",
        "platc.dev/idp-group" => "the team's group in the identity provider",
        "platc.dev/source" => "the Score file the entity was rendered from",
        "platc.dev/port" => "the service port the API is served on",
        "platc.dev/environments" => "the environments that run it, in promotion order",
        "platc.dev/namespaces" => "its namespace in each environment",
        "platc.dev/profile" => "its profile in each environment",
        "platc.dev/provisioner" => "its provisioner in each environment",
        "platc.dev/instance" => "the resource instance's key (type, class, id)",
        "platc.dev/class" => "the resource instance's class",
        "platc.dev/requires" => "the components its provisioner requires",
        "argocd/app-selector" => "the portal finds the workload's Applications by their labels",
        "backstage.io/kubernetes-label-selector" => {
            "the portal finds the workload's objects by their name label"
        }
        _ => "an annotation of the entity",
    }
}

pub(super) fn prov(source: &str, node: String) -> Provenance {
    Provenance {
        source: source.to_string(),
        node,
        via: VIA.into(),
    }
}

pub(super) fn is_production(platform: &Platform, env: &str) -> bool {
    platform
        .environments
        .get(env)
        .is_some_and(|e| e.env_type == "production")
}

/// The environments that have it, in promotion order.
pub(super) fn env_list<T>(seen: &[(&EnvResolution, &T)]) -> String {
    seen.iter()
        .map(|(r, _)| r.env.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// `value` when every environment agrees, else `env=value` pairs.
pub(super) fn per_env<T>(seen: &[(&EnvResolution, &T)], f: impl Fn(&T) -> String) -> String {
    let values: BTreeSet<String> = seen.iter().map(|(_, t)| f(t)).collect();
    if values.len() == 1 {
        values.into_iter().next().unwrap_or_default()
    } else {
        seen.iter()
            .map(|(r, t)| format!("{}={}", r.env, f(t)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

pub(super) fn env_tags<T>(seen: &[(&EnvResolution, &T)]) -> Vec<String> {
    let tags: BTreeSet<String> = seen.iter().filter_map(|(r, _)| tag(&r.env)).collect();
    tags.into_iter().collect()
}

/// Optional relation lists are left out when empty: shorter files, same catalog.
pub(super) fn drop_empty_lists(spec: &mut Value) {
    if let Value::Object(m) = spec {
        m.retain(|_, v| v.as_array().is_none_or(|a| !a.is_empty()));
    }
}
