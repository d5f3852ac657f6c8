//! Field-level provenance, recorded by the renderers as they make each value: an object's
//! record maps field paths (in [`crate::fieldpath`]'s format) to the chain of origins that
//! produced the value there — a Score span, a platform setting with the position the Nickel
//! evaluator kept, a graph edge, or a renderer's fixed rule applied to a graph element.
//!
//! Recording is asked for by `platc explain` only ([`crate::pipeline::Options::record_origins`]).
//! A [`Recorder`] that is off runs none of the closures it is given, so an ordinary build
//! formats no path and allocates nothing for provenance.

mod causes;
mod labels;
mod layers;
mod placeholders;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::diag::Span;
use crate::graph::EdgeKind;

pub use causes::{
    Sources, edge_origins, platform, profile_setting, provisioner_path, request_origins,
    service_links, workload_origin,
};
pub use labels::{Labelled, SELECTOR_KEYS, label_origins, record_labels};
pub use layers::{profile_layers, team_origins};
pub use placeholders::{placeholder_origins, placeholder_read};

/// What made a value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "origin", rename_all = "kebab-case")]
pub enum Origin {
    /// A value written in a Score file: `what` names it (`resources.db of workload orders`),
    /// `value` is what is written there when that differs from, or explains, the rendered one.
    Score {
        what: String,
        at: Span,
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<Value>,
    },
    /// A platform setting by its path in the evaluated platform
    /// (`provisioners[3].network.ports`), where the evaluator says it was written.
    Platform { setting: String, at: Option<Span> },
    /// A profile setting in one of the layers resolve merges (`profile web`, `environment prod
    /// overrides`, `environment prod profile_overrides.web`), with the value that layer gives.
    Layer {
        layer: String,
        setting: String,
        at: Option<Span>,
        value: Value,
    },
    /// A layer a later one replaced: not a cause of the value, kept so a reader sees what was
    /// overridden (a profile default under an environment override or the workload's own).
    Replaced { replaced: Box<Origin> },
    /// What a `${…}` placeholder read: `from` names the instance and provisioner (or the called
    /// workload), `how` the output, `at` where the platform defines it.
    Read {
        placeholder: String,
        from: String,
        how: String,
        value: Option<Value>,
        at: Option<Span>,
    },
    /// What a reader needs beside the causes (why a lower layer applies): no cause itself.
    Note { note: String },
    /// The line of a provisioner's manifest template that wrote the value; `how` says whether
    /// the line is known from rendering or only found by a search of the template's keys.
    Template {
        template: String,
        at: Span,
        how: TemplateLine,
    },
    /// A graph edge of the environment.
    Edge {
        from: String,
        to: String,
        kind: EdgeKind,
    },
    /// A fixed rule of a renderer, applied to a graph element (a node id, or `a → b`).
    Rule {
        renderer: &'static str,
        rule: &'static str,
        applied_to: String,
    },
}

/// How a template's line was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TemplateLine {
    /// From rendering the template with each line marked (`template::Templates::render_lines`).
    Rendered,
    /// The marked rendering did not reproduce the manifest (a whitespace-trimming tag ended a
    /// line): the line of the field's YAML keys in the template text, a labelled fallback.
    KeySearch,
}

impl Origin {
    /// A Score value at `at`, named by `what`.
    pub fn score(what: impl Into<String>, at: &Span) -> Self {
        Origin::Score {
            what: what.into(),
            at: at.clone(),
            value: None,
        }
    }

    /// A renderer's rule applied to a graph element.
    pub fn rule(renderer: &'static str, rule: &'static str, applied_to: impl Into<String>) -> Self {
        Origin::Rule {
            renderer,
            rule,
            applied_to: applied_to.into(),
        }
    }

    /// Whether the origin points somewhere a reader can go: a file and line, or a renderer's
    /// rule together with the graph element it was applied to. A graph edge alone does not:
    /// it needs the Score request or the rule behind it beside it in the chain.
    pub fn is_located(&self) -> bool {
        match self {
            Origin::Score { at, .. }
            | Origin::Template { at, .. }
            | Origin::Platform { at: Some(at), .. }
            | Origin::Layer { at: Some(at), .. }
            | Origin::Read { at: Some(at), .. } => !at.file.is_empty() && at.line > 0,
            Origin::Rule { applied_to, .. } => !applied_to.is_empty(),
            Origin::Platform { at: None, .. }
            | Origin::Layer { at: None, .. }
            | Origin::Read { at: None, .. }
            | Origin::Replaced { .. }
            | Origin::Note { .. }
            | Origin::Edge { .. } => false,
        }
    }
}

/// One object's record: field path → the origins of the value there (and of everything below
/// it that has no record of its own).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Origins(pub BTreeMap<String, Vec<Origin>>);

/// Whether `path` is `ancestor` or lies below it (`spec.egress[1].ports` below `spec.egress`).
pub fn is_within(path: &str, ancestor: &str) -> bool {
    ancestor.is_empty()
        || path
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

impl Origins {
    /// The record that answers for `path`: the one at it, else at its nearest ancestor.
    pub fn of(&self, path: &str) -> Option<(&str, &[Origin])> {
        self.0
            .range::<str, _>((std::ops::Bound::Unbounded, std::ops::Bound::Included(path)))
            .rev()
            .find(|(p, _)| is_within(path, p))
            .map(|(p, o)| (p.as_str(), o.as_slice()))
    }

    /// Drops the records of fields the object does not have: a renderer records what a field
    /// is made from when it could be made (a default probe, a writable `/tmp`), and only the
    /// object it made says whether it was.
    pub fn retain_present(&mut self, value: &Value) {
        self.0.retain(|path, _| present(value, path));
    }

    /// The record nearest above `path`, not at it.
    pub fn above(&self, path: &str) -> Option<(&str, &[Origin])> {
        self.0
            .range::<str, _>((std::ops::Bound::Unbounded, std::ops::Bound::Excluded(path)))
            .rev()
            .find(|(p, _)| is_within(path, p))
            .map(|(p, o)| (p.as_str(), o.as_slice()))
    }

    /// Records strictly below `path` (the rules of `spec.egress`).
    pub fn below<'a>(&'a self, path: &'a str) -> impl Iterator<Item = (&'a str, &'a [Origin])> {
        self.0
            .iter()
            .filter(move |(p, _)| p.as_str() != path && is_within(p, path))
            .map(|(p, o)| (p.as_str(), o.as_slice()))
    }
}

/// Whether `value` has a field at `path` (in [`crate::fieldpath`]'s format: list items by
/// `name`, else by index).
fn present(value: &Value, path: &str) -> bool {
    use crate::fieldpath::Sel;
    let Ok(sels) = crate::fieldpath::parse(path) else {
        return false;
    };
    sels.iter()
        .try_fold(value, |cur, sel| match (sel, cur) {
            (Sel::Key(k) | Sel::Bracket(k), Value::Object(m)) => m.get(k),
            (Sel::Bracket(b), Value::Array(items)) => items
                .iter()
                .find(|x| x.get("name").and_then(Value::as_str) == Some(b.as_str()))
                .or_else(|| b.parse::<usize>().ok().and_then(|i| items.get(i))),
            _ => None,
        })
        .is_some()
}

/// Records an object's field origins when asked. Off, every call returns at once without
/// running its closures: the paths and origins of an ordinary build are never made.
#[derive(Debug, Default)]
pub struct Recorder(Option<Origins>);

impl Recorder {
    pub fn new(on: bool) -> Recorder {
        Recorder(on.then(Origins::default))
    }

    /// Whether this recorder keeps anything (for work beyond one `record` call).
    #[inline]
    pub fn on(&self) -> bool {
        self.0.is_some()
    }

    /// The value at `path` was made by `origins` (added to what is recorded there already).
    #[inline]
    pub fn record(&mut self, path: impl FnOnce() -> String, origins: impl FnOnce() -> Vec<Origin>) {
        if let Some(o) = &mut self.0 {
            o.0.entry(path()).or_default().extend(origins());
        }
    }

    /// A path several records share, made only when recording (empty otherwise), so a renderer
    /// can name the rule or group it is making without a build paying for the string.
    #[inline]
    pub fn path(&self, path: impl FnOnce() -> String) -> String {
        if self.on() { path() } else { String::new() }
    }

    /// [`Recorder::record`] for a path known as a literal.
    #[inline]
    pub fn at(&mut self, path: &'static str, origins: impl FnOnce() -> Vec<Origin>) {
        self.record(|| path.to_string(), origins);
    }

    /// A value `v` made at `at` as a whole: each of its leaves by `why` (given the leaf's path
    /// below `at`, so the part a leaf plays can be named).
    pub fn spread(&mut self, at: &str, v: &Value, why: impl Fn(&str) -> Vec<Origin>) {
        let Some(o) = &mut self.0 else {
            return;
        };
        for rel in leaves(v) {
            let chain = why(&rel);
            o.0.entry(join(at, &rel)).or_default().extend(chain);
        }
    }

    /// Each leaf of `v` (made at `at`) that has no record of its own gets the chain recorded
    /// at its nearest recorded ancestor (whose first origin still sets it), then the part it
    /// plays there (`part`, given the leaf's path below `at`): for values whose parts are all
    /// made by one recorded cause through a fixed rule (a policy rule's peers and ports, made
    /// by its edge; an env var's name and value, made by its Score variable).
    pub fn complete(&mut self, at: &str, v: &Value, part: impl Fn(&str) -> Option<Origin>) {
        let Some(o) = &mut self.0 else {
            return;
        };
        for rel in leaves(v) {
            let path = join(at, &rel);
            if o.0.contains_key(&path) {
                continue;
            }
            let Some((_, above)) = o.of(&path) else {
                continue;
            };
            let chain: Vec<Origin> = above.iter().cloned().chain(part(&rel)).collect();
            o.0.insert(path, chain);
        }
    }

    /// What was recorded (`None` when off).
    pub fn finish(self) -> Option<Box<Origins>> {
        self.0.map(Box::new)
    }
}

/// `rel` (a path as [`leaves`] writes it) below `at`.
fn join(at: &str, rel: &str) -> String {
    if rel.is_empty() {
        at.to_string()
    } else if rel.starts_with('[') || at.is_empty() {
        format!("{at}{rel}")
    } else {
        format!("{at}.{rel}")
    }
}

/// Every leaf of a value with its path, as [`crate::fieldpath`] writes it and `platc explain`
/// reads it: list items by `name` when they have one, else by index. Empty maps and lists are
/// leaves.
pub fn leaves(v: &serde_json::Value) -> Vec<String> {
    fn walk(v: &serde_json::Value, path: String, out: &mut Vec<String>) {
        use serde_json::Value;
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, x) in m {
                    walk(x, crate::fieldpath::key(&path, k), out);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for (i, x) in a.iter().enumerate() {
                    let name = x.get("name").and_then(Value::as_str);
                    walk(x, crate::fieldpath::list_item(&path, i, name), out);
                }
            }
            _ => out.push(path),
        }
    }
    let mut out = Vec::new();
    walk(v, String::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(n: &str) -> Vec<Origin> {
        vec![Origin::rule("security", "r", n)]
    }

    #[test]
    fn a_field_is_answered_by_its_nearest_recorded_ancestor() {
        let mut r = Recorder::new(true);
        r.at("spec.egress[1]", || rule("a"));
        r.at("spec.egress[1].ports", || rule("b"));
        r.at("spec.egressX", || rule("c"));
        let o = r.finish().expect("on");
        assert_eq!(
            o.of("spec.egress[1].to[0]").map(|x| x.0),
            Some("spec.egress[1]")
        );
        assert_eq!(
            o.of("spec.egress[1].ports[0].port").map(|x| x.0),
            Some("spec.egress[1].ports")
        );
        assert_eq!(o.of("spec.egress[10]"), None);
        assert_eq!(o.of("spec"), None);
        assert_eq!(o.below("spec.egress").count(), 2);
        assert_eq!(
            o.above("spec.egress[1].ports").map(|x| x.0),
            Some("spec.egress[1]")
        );
        assert_eq!(o.above("spec.egress[1]"), None);
    }

    #[test]
    fn records_of_fields_the_object_lacks_are_dropped() {
        let mut r = Recorder::new(true);
        r.at("spec.volumes[name=tmp]", || rule("a"));
        r.at("spec.volumes[name=data]", || rule("b"));
        r.at("spec.ports[0]", || rule("c"));
        r.at("metadata.labels[\"a.b/c\"]", || rule("d"));
        let mut o = r.finish().expect("on");
        o.retain_present(&serde_json::json!({
            "spec": {"volumes": [{"name": "data"}], "ports": [80]},
            "metadata": {"labels": {"a.b/c": "x"}},
        }));
        let kept: Vec<&str> = o.0.keys().map(String::as_str).collect();
        assert_eq!(
            kept,
            [
                "metadata.labels[\"a.b/c\"]",
                "spec.ports[0]",
                "spec.volumes[name=data]"
            ]
        );
    }

    #[test]
    fn a_made_value_is_recorded_at_each_leaf() {
        let mut r = Recorder::new(true);
        let v = serde_json::json!({"a.b": 1, "l": [{"name": "x", "p": 2}, 3]});
        r.spread("m", &v, rule);
        r.at("n[0]", || rule("item"));
        r.at("n[0].ports[1].port", || rule("own"));
        let n = serde_json::json!([{"ports": [{"port": 1}, {"port": 2}]}]);
        r.complete("n", &n, |rel| {
            rel.ends_with(".port").then(|| Origin::Note {
                note: "part".into(),
            })
        });
        let o = r.finish().expect("on");
        let kept: Vec<&str> = o.0.keys().map(String::as_str).collect();
        assert_eq!(
            kept,
            [
                "m.l[1]",
                "m.l[name=x].name",
                "m.l[name=x].p",
                "m[\"a.b\"]",
                "n[0]",
                "n[0].ports[0].port",
                "n[0].ports[1].port"
            ]
        );
        assert_eq!(o.0["m.l[1]"], rule("l[1]"));
        // The cause above first, then the part; a leaf's own record is kept as it is.
        assert_eq!(o.0["n[0].ports[0].port"][0], rule("item")[0]);
        assert!(matches!(o.0["n[0].ports[0].port"][1], Origin::Note { .. }));
        assert_eq!(o.0["n[0].ports[1].port"], rule("own"));
    }

    #[test]
    fn an_off_recorder_runs_nothing() {
        let mut r = Recorder::new(false);
        let v = serde_json::json!({"a": 1});
        r.spread("x", &v, |_| panic!("origins made"));
        r.complete("x", &v, |_| panic!("part made"));
        r.record(|| panic!("path made"), || panic!("origins made"));
        assert!(!r.on());
        assert!(r.finish().is_none());
    }

    #[test]
    fn leaves_are_written_as_fieldpath_writes_them() {
        let v = serde_json::json!({"a": {"b.c": 1, "l": [{"name": "x", "v": 2}, 3], "e": {}}});
        assert_eq!(
            leaves(&v),
            vec![
                "a[\"b.c\"]",
                "a.e",
                "a.l[name=x].name",
                "a.l[name=x].v",
                "a.l[1]"
            ]
        );
    }
}
