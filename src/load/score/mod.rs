//! Reads Score workload specs (`apiVersion: score.dev/v1b1`) into `model::Workload`.
//!
//! Every field of the Score v1b1 JSON schema is read and checked here, by hand rather than
//! through serde, so that each problem points at the exact key or value, says what was expected,
//! and all problems of a file are reported together. Placeholders (`${...}`) are only checked
//! lexically here; the resolver gives them meaning.

mod containers;
mod fields;
mod mounts;
mod patterns;
mod placeholders;
mod probes;
mod resources;
mod service;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diag::{Code, Diagnostic, Diagnostics, Span, Spanned};
use crate::model::{ANN_PROFILE, ANN_TEAM, Container, ResourceRequest, Workload};
use crate::yaml::{Node, NodeKind};

use fields::{Entries, TOP_FIELDS, found, get, join, key_span};
use patterns::is_annotation_key;

pub use patterns::{is_dotted_labels, is_label};
pub use placeholders::{Piece, split_placeholders};

/// The only Score version platc reads.
pub const API_VERSION: &str = "score.dev/v1b1";

/// Reads one Score file. `read_source` is given a `files.*.source` exactly as written and returns
/// that file's text or a message saying why it cannot (the caller sandboxes the path).
pub fn parse_workload(
    file: &str,
    text: &str,
    read_source: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Workload, Diagnostics> {
    let root = crate::yaml::read::parse(file, text)?;
    let mut loader = Loader {
        file: Arc::from(file),
        text,
        diags: Diagnostics::new(),
        read_source,
    };
    let workload = loader.workload(&root);
    loader.diags.into_result(workload)
}

/// One file's reading: every part pushes its problems into `diags` and carries on, so a file's
/// problems are all reported together rather than one per run.
struct Loader<'r> {
    file: Arc<str>,
    /// The file's text, to tell where a value was written on one line.
    text: &'r str,
    diags: Diagnostics,
    read_source: &'r mut dyn FnMut(&str) -> Result<String, String>,
}

impl Loader<'_> {
    fn workload(&mut self, root: &Node) -> Workload {
        let mut w = Workload {
            name: Spanned::new(String::new(), root.span.clone()),
            file: self.file.clone(),
            metadata: Node {
                kind: NodeKind::Map(Vec::new()),
                span: root.span.clone(),
            },
            annotations: BTreeMap::new(),
            team: None,
            profile: None,
            containers: BTreeMap::new(),
            service: None,
            resources: BTreeMap::new(),
            extensions: BTreeMap::new(),
            read_files: Vec::new(),
        };
        let Some(top) = root.as_map() else {
            self.push(
                Diagnostic::at(
                    Code::WrongType,
                    &root.span,
                    format!("expected a Score workload (a mapping), found {}", found(root)),
                )
                .with_help(format!(
                    "start the file with `apiVersion: {API_VERSION}`, then `metadata` and `containers`"
                )),
            );
            return w;
        };
        let top = self.fields(root, "", TOP_FIELDS).unwrap_or(top);
        for (k, v) in top {
            if k.value.starts_with("x-") {
                w.extensions.insert(k.value.clone(), v.clone());
            }
        }

        self.api_version(top, &root.span);

        if let Some(meta) = self.required(top, "metadata", &root.span, "") {
            self.metadata(meta, key_span(top, "metadata", &root.span), &mut w);
        }

        w.containers = self.containers(top, &root.span);

        if let Some(node) = get(top, "service") {
            w.service = self.service(node);
        }

        w.resources = self.resources(top);
        w
    }

    fn api_version(&mut self, top: &Entries, root: &Span) {
        if let Some(v) = self.required(top, "apiVersion", root, "")
            && let Some(s) = self.string(v, "apiVersion")
            && s.value != API_VERSION
        {
            self.push(
                Diagnostic::at(
                    Code::InvalidValue,
                    &s.span,
                    format!(
                        "unsupported apiVersion `{}`: expected `{API_VERSION}`",
                        s.value
                    ),
                )
                .with_help(format!(
                    "platc reads Score workloads of `apiVersion: {API_VERSION}`"
                )),
            );
        }
    }

    fn containers(&mut self, top: &Entries, root: &Span) -> BTreeMap<String, Container> {
        let mut out = BTreeMap::new();
        if let Some(node) = self.required(top, "containers", root, "")
            && let Some(entries) = self.mapping(node, "containers")
        {
            if entries.is_empty() {
                self.push(Diagnostic::at(
                    Code::MissingField,
                    &node.span,
                    "`containers` is empty: expected at least one container",
                ));
            }
            let names: Vec<&str> = entries.iter().map(|(k, _)| k.value.as_str()).collect();
            for (k, v) in entries {
                self.label(k, "container name");
                if let Some(c) = self.container(k, v, &names) {
                    out.insert(k.value.clone(), c);
                }
            }
        }
        out
    }

    fn resources(&mut self, top: &Entries) -> BTreeMap<String, ResourceRequest> {
        let mut out = BTreeMap::new();
        if let Some(node) = get(top, "resources")
            && let Some(entries) = self.mapping(node, "resources")
        {
            for (k, v) in entries {
                self.label(k, "resource name");
                if let Some(r) = self.resource(k, v) {
                    out.insert(k.value.clone(), r);
                }
            }
        }
        out
    }

    fn metadata(&mut self, meta: &Node, key: &Span, w: &mut Workload) {
        let Some(entries) = self.mapping(meta, "metadata") else {
            return;
        };
        w.metadata = meta.clone();
        // Not `required`: metadata takes any key, so a misspelt `nmae` got no "did you mean"
        // error that would make "missing `name`" a repetition (found by fuzzing: such a file
        // loaded as a workload without a name).
        let name = get(entries, "name");
        if name.is_none() {
            let mut d = Diagnostic::at(
                Code::MissingField,
                key,
                "missing required field `name` in `metadata`",
            );
            if let Some((k, _)) = entries
                .iter()
                .find(|(k, _)| crate::diag::did_you_mean(&k.value, ["name"]).is_some())
            {
                d = d.with_help(format!("did you mean `name` instead of `{}`?", k.value));
            }
            self.push(d);
        }
        if let Some(name) = name
            && let Some(s) = self.string(name, "metadata.name")
        {
            self.label(&s, "workload name");
            w.name = s;
        }
        if let Some(ann) = get(entries, "annotations") {
            w.annotations = self.annotations(ann, "metadata.annotations");
        }
        w.team = w.annotations.get(ANN_TEAM).cloned();
        w.profile = w.annotations.get(ANN_PROFILE).cloned();
    }

    fn annotations(&mut self, node: &Node, path: &str) -> BTreeMap<String, Spanned<String>> {
        let mut out = BTreeMap::new();
        let Some(entries) = self.mapping(node, path) else {
            return out;
        };
        for (k, v) in entries {
            self.check_name(
                k,
                is_annotation_key(&k.value),
                "annotation key",
                "an optional DNS prefix and `/`, then 2-63 characters of A-Z, a-z, 0-9, `-`, `_` and `.` starting and ending with a letter or digit (for example `platc.dev/team`)",
                None,
            );
            if let Some(s) = self.string(v, &join(path, &k.value)) {
                out.insert(k.value.clone(), s);
            }
        }
        out
    }
}
