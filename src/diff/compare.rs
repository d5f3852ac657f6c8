//! Object-aware comparison of two rendered trees: YAML parsed, documents matched by file path
//! and apiVersion/kind/namespace/name, changes recorded field by field on masked values.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Files;
use super::fields::field_changes;
use super::mask::masked;
use super::paths::{app_of_path, env_of_path};
use crate::pipeline::Compilation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Changed,
    Removed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Changed => "changed",
            ChangeKind::Removed => "removed",
        }
    }
}

/// One object (or one non-YAML file) that differs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub path: String,
    /// `None` for a file that is not YAML (a README) or that does not parse.
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub environment: Option<String>,
    /// The application directory (`envs/<env>/<app>/`, `argocd/<env>/apps/<app>.yaml`).
    pub app: Option<String>,
    pub plane: Option<String>,
    pub change: ChangeKind,
    /// Changed field paths (`spec.template.spec.containers[name=api].image`), only for `changed`
    /// objects; empty for text files.
    pub fields: Vec<String>,
    /// The same fields with their old and new values (`null` where the field is absent on that
    /// side), secrets masked as in the text output.
    pub values: Vec<FieldChange>,
}

/// One changed field of a changed object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldChange {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// One file that differs, as the masked canonical text of both sides (empty when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    pub path: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Sorted by path, then kind, namespace, name.
    pub changes: Vec<Change>,
    /// Sorted by path.
    pub files: Vec<FileDiff>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    /// Files that differ.
    pub files: usize,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            files: self.files.len(),
            ..Summary::default()
        };
        for c in &self.changes {
            match c.change {
                ChangeKind::Added => s.added += 1,
                ChangeKind::Changed => s.changed += 1,
                ChangeKind::Removed => s.removed += 1,
            }
        }
        s
    }

    /// Gives text files (READMEs), which carry no plane label, the plane of the object that
    /// rendered them.
    pub fn fill_planes(&mut self, comp: &Compilation) {
        let planes: BTreeMap<&str, &str> = comp
            .objects()
            .map(|o| (o.path.as_str(), o.plane.as_str()))
            .collect();
        for c in &mut self.changes {
            if c.plane.is_none()
                && let Some(p) = planes.get(c.path.as_str())
            {
                c.plane = Some(p.to_string());
            }
        }
    }
}

/// A YAML document with what identifies it.
/// apiVersion, kind, namespace, name.
type DocKey = (String, String, String, String);

struct Doc {
    key: DocKey,
    value: Value,
}

fn is_yaml(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml")
}

/// The documents of a YAML file, or `None` when it is not YAML or does not parse (then it is
/// compared as text).
fn parse_docs(path: &str, bytes: &[u8]) -> Option<Vec<Doc>> {
    if !is_yaml(path) {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let nodes = crate::yaml::read::parse_stream(path, text).ok()?;
    let mut docs: Vec<Doc> = nodes
        .iter()
        .map(|n| n.to_json())
        .filter(|v| !v.is_null())
        .map(|value| Doc {
            key: (
                str_at(&value, "/apiVersion"),
                str_at(&value, "/kind"),
                str_at(&value, "/metadata/namespace"),
                str_at(&value, "/metadata/name"),
            ),
            value,
        })
        .collect();
    // Document order inside a file is not meaningful to Kubernetes.
    docs.sort_by(|a, b| a.key.cmp(&b.key));
    Some(docs)
}

fn str_at(v: &Value, ptr: &str) -> String {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}
fn change_of(path: &str, value: Option<&Value>, change: ChangeKind, fields: Vec<String>) -> Change {
    let s = |p: &str| value.map(|v| str_at(v, p)).and_then(|x| opt(&x));
    Change {
        path: path.to_string(),
        kind: s("/kind"),
        name: s("/metadata/name"),
        namespace: s("/metadata/namespace"),
        environment: s("/metadata/labels/platc.dev~1environment")
            .or_else(|| env_of_path(path).map(str::to_string)),
        app: app_of_path(path).map(str::to_string),
        plane: s("/metadata/labels/platc.dev~1plane"),
        change,
        fields,
        values: Vec::new(),
    }
}

/// Compares two trees object by object.
pub fn diff_trees(old: &Files, new: &Files) -> Diff {
    let mut diff = Diff::default();
    let paths: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for path in paths {
        let (o, n) = (old.get(path), new.get(path));
        if o == n {
            continue;
        }
        let od = o.map(|b| parse_docs(path, b));
        let nd = n.map(|b| parse_docs(path, b));
        match (od, nd) {
            (Some(Some(od)), Some(Some(nd))) => diff_docs(&mut diff, path, Some(od), Some(nd)),
            (None, Some(Some(nd))) => diff_docs(&mut diff, path, None, Some(nd)),
            (Some(Some(od)), None) => diff_docs(&mut diff, path, Some(od), None),
            _ => diff_text(&mut diff, path, o, n),
        }
    }
    diff.changes.sort_by(|a, b| {
        (&a.path, &a.kind, &a.namespace, &a.name).cmp(&(&b.path, &b.kind, &b.namespace, &b.name))
    });
    diff
}

fn diff_text(diff: &mut Diff, path: &str, old: Option<&Vec<u8>>, new: Option<&Vec<u8>>) {
    let change = match (old, new) {
        (None, _) => ChangeKind::Added,
        (_, None) => ChangeKind::Removed,
        _ => ChangeKind::Changed,
    };
    let mut c = change_of(path, None, change, Vec::new());
    c.environment = env_of_path(path).map(str::to_string);
    diff.changes.push(c);
    diff.files.push(FileDiff {
        path: path.to_string(),
        old: old.map(|b| String::from_utf8_lossy(b).into_owned()),
        new: new.map(|b| String::from_utf8_lossy(b).into_owned()),
    });
}

fn diff_docs(diff: &mut Diff, path: &str, old: Option<Vec<Doc>>, new: Option<Vec<Doc>>) {
    let mut by_key: BTreeMap<DocKey, (Vec<&Value>, Vec<&Value>)> = BTreeMap::new();
    for d in old.iter().flatten() {
        by_key.entry(d.key.clone()).or_default().0.push(&d.value);
    }
    for d in new.iter().flatten() {
        by_key.entry(d.key.clone()).or_default().1.push(&d.value);
    }
    let before = diff.changes.len();
    for (olds, news) in by_key.values() {
        // Two documents with one identity in one file are matched in order.
        for i in 0..olds.len().max(news.len()) {
            match (olds.get(i), news.get(i)) {
                (Some(o), Some(n)) => {
                    // On the masked sides: a changed secret reads `*** (changed)`, never its value.
                    let mut values = Vec::new();
                    field_changes(
                        Some(&masked(o, None)),
                        Some(&masked(n, Some(o))),
                        "",
                        &mut values,
                    );
                    if !values.is_empty() {
                        let mut c = change_of(path, Some(n), ChangeKind::Changed, Vec::new());
                        c.fields = values.iter().map(|v| v.path.clone()).collect();
                        c.values = values;
                        diff.changes.push(c);
                    }
                }
                (None, Some(n)) => {
                    diff.changes
                        .push(change_of(path, Some(n), ChangeKind::Added, Vec::new()))
                }
                (Some(o), None) => {
                    diff.changes
                        .push(change_of(path, Some(o), ChangeKind::Removed, Vec::new()))
                }
                (None, None) => {}
            }
        }
    }
    if diff.changes.len() == before {
        return;
    }
    let text = |docs: &[Doc], other: Option<&Vec<Doc>>| -> String {
        docs.iter()
            .map(|d| {
                let counterpart = other
                    .and_then(|o| o.iter().find(|x| x.key == d.key))
                    .map(|x| &x.value);
                crate::yaml::write::to_yaml(&masked(&d.value, counterpart))
            })
            .collect::<Vec<_>>()
            .join("---\n")
    };
    diff.files.push(FileDiff {
        path: path.to_string(),
        old: old.as_deref().map(|d| text(d, None)),
        new: new.as_deref().map(|d| text(d, old.as_ref())),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::test_support::{DEPLOY, files};
    use crate::diff::unified;

    #[test]
    fn key_order_and_formatting_are_not_changes() {
        let reordered = "kind: Deployment\napiVersion: apps/v1\nmetadata: {namespace: team-dev, name: api, labels: {platc.dev/plane: resource, platc.dev/environment: dev}}\nspec:\n  template:\n    spec:\n      containers:\n        - image: \"api:1\"\n          name: api\n          env: [{name: DB_PASSWORD, value: hunter2}, {value: fast, name: MODE}]\n        - {name: sidecar, image: side:1}\n";
        let d = diff_trees(
            &files(&[("envs/dev/api/deployment-api.yaml", DEPLOY)]),
            &files(&[("envs/dev/api/deployment-api.yaml", reordered)]),
        );
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn changed_fields_match_list_items_by_name() {
        let new = DEPLOY
            .replace("image: api:1", "image: api:2")
            .replace("value: fast", "value: slow");
        let d = diff_trees(
            &files(&[("envs/dev/api/deployment-api.yaml", DEPLOY)]),
            &files(&[("envs/dev/api/deployment-api.yaml", &new)]),
        );
        assert_eq!(d.changes.len(), 1);
        let c = &d.changes[0];
        assert_eq!(c.change, ChangeKind::Changed);
        assert_eq!(c.kind.as_deref(), Some("Deployment"));
        assert_eq!(c.environment.as_deref(), Some("dev"));
        assert_eq!(c.app.as_deref(), Some("api"));
        assert_eq!(c.plane.as_deref(), Some("resource"));
        assert_eq!(
            c.fields,
            vec![
                "spec.template.spec.containers[name=api].env[name=MODE].value",
                "spec.template.spec.containers[name=api].image",
            ]
        );
    }

    #[test]
    fn multi_document_files_match_by_identity() {
        let a = "kind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\ndata: {x: '1'}\n---\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: b}\ndata: {x: '1'}\n";
        let b = "kind: ConfigMap\napiVersion: v1\nmetadata: {name: b}\ndata: {x: '2'}\n---\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\n";
        let d = diff_trees(&files(&[("m.yaml", a)]), &files(&[("m.yaml", b)]));
        let got: Vec<(String, ChangeKind)> = d
            .changes
            .iter()
            .map(|c| (c.name.clone().unwrap_or_default(), c.change))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a".into(), ChangeKind::Removed),
                ("b".into(), ChangeKind::Changed),
                ("c".into(), ChangeKind::Added)
            ]
        );
        assert_eq!(d.changes[1].fields, vec!["data.x"]);
    }

    #[test]
    fn text_files_compare_as_text_and_yaml_that_does_not_parse_too() {
        let d = diff_trees(
            &files(&[("README.md", "a\n"), ("envs/dev/x/bad.yaml", "a: [\n")]),
            &files(&[("README.md", "b\n")]),
        );
        assert_eq!(
            d.summary(),
            Summary {
                added: 0,
                changed: 1,
                removed: 1,
                files: 2
            }
        );
        assert!(d.changes.iter().all(|c| c.kind.is_none()));
        assert_eq!(d.changes[1].environment.as_deref(), Some("dev"));
        assert!(unified(&d.files[0]).contains("-a\n+b\n"));
    }
}
