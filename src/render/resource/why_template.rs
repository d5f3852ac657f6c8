//! What a provisioned manifest is made from, recorded when asked: each field from the line of
//! its provisioner's template that wrote it (known from rendering the template with its lines
//! marked, `Templates::render_lines`; only when that rendering differs, a labelled search of
//! the template's YAML keys), with the params that line reads and where they were written (the
//! request's `params`, else the provisioner's `defaults`), and the namespace and labels the
//! renderer completes.

use serde_json::Value;

use crate::diag::Span;
use crate::fieldpath::{key, list_item};
use crate::graph::resource_id;
use crate::render::EnvCx;
use crate::render::origins::{
    Labelled, Origin, Recorder, TemplateLine, platform, provisioner_path, record_labels,
};
use crate::resolve::Instance;
use crate::template::LineMap;
use crate::yaml::{Node, NodeKind};

/// One template render of an instance, as recording reads it.
pub(super) struct Rendered<'a, 'c> {
    cx: &'a EnvCx<'c>,
    i: &'a Instance,
    tname: &'a str,
    file: String,
    source: Vec<String>,
    lines: Option<LineMap>,
}

impl<'a, 'c> Rendered<'a, 'c> {
    /// `None` in a build: the template is neither read again nor rendered again.
    pub(super) fn new(
        cx: &'a EnvCx<'c>,
        i: &'a Instance,
        tname: &'a str,
        text: &str,
    ) -> Option<Self> {
        if !cx.recorder().on() {
            return None;
        }
        let source = cx.templates.source(tname).unwrap_or_default();
        Some(Rendered {
            cx,
            i,
            tname,
            file: crate::stdlib::template_file(tname),
            source: source.lines().map(str::to_string).collect(),
            lines: cx.templates.render_lines(tname, &i.context, text),
        })
    }

    /// The record of one document of the render.
    pub(super) fn object(&self, doc: &Node) -> Recorder {
        let mut rec = self.cx.recorder();
        let mut keys = Vec::new();
        self.walk(doc, String::new(), &mut keys, &mut rec);
        let node = resource_id(&self.i.key);
        rec.at("metadata.namespace", || {
            vec![Origin::rule(
                "resource",
                "a template object without a namespace gets its instance's (its first consumer's)",
                node.clone(),
            )]
        });
        rec.at("metadata.labels", || {
            vec![Origin::rule(
                "resource",
                "a template object carries its instance's labels where it sets none",
                node.clone(),
            )]
        });
        // The instance's labels the template left to the renderer; the ones it writes were
        // recorded at their template line by the walk.
        let written = doc.get("metadata").and_then(|m| m.get("labels"));
        let completed = super::instances::instance_label_keys(self.i)
            .filter(|k| written.and_then(|l| l.get(k)).is_none());
        let (env, team) = (&self.cx.res.env, Some(self.i.team.as_str()));
        let l = Labelled::env(self.cx.platform, "resource", &node, env, team);
        record_labels(&mut rec, "metadata.labels", completed, &l);
        rec
    }

    /// Every leaf of `n` at `path`; `keys` are the map keys above it (for the fallback search).
    fn walk(&self, n: &Node, path: String, keys: &mut Vec<String>, rec: &mut Recorder) {
        match &n.kind {
            NodeKind::Map(m) if !m.is_empty() => {
                for (k, v) in m {
                    keys.push(k.value.clone());
                    let at = key(&path, &k.value);
                    // A map or list is recorded at its key's line too: a field it lacks (one
                    // `check` asks for) is answered by the line where it would go.
                    if !is_leaf(v) {
                        let origins = self.line_at(&k.span, keys);
                        rec.record(|| at.clone(), || origins);
                    }
                    self.walk(v, at, keys, rec);
                    keys.pop();
                }
            }
            NodeKind::Seq(items) if !items.is_empty() => {
                for (ix, v) in items.iter().enumerate() {
                    let name = v.get("name").map(Node::to_json);
                    let p = list_item(&path, ix, name.as_ref().and_then(Value::as_str));
                    if !is_leaf(v) {
                        let origins = self.line_at(&v.span, keys);
                        rec.record(|| p.clone(), || origins);
                    }
                    self.walk(v, p, keys, rec);
                }
            }
            _ => {
                let origins = self.line_at(&n.span, keys);
                rec.record(|| path, || origins);
            }
        }
    }

    /// The template line behind the rendered text at `span`, and the params that line reads.
    fn line_at(&self, span: &Span, keys: &[String]) -> Vec<Origin> {
        let marked = self
            .lines
            .as_ref()
            .and_then(|m| m.line_of(span.line, span.col));
        let (line, how) = match marked {
            Some(l) => (Some(l), TemplateLine::Rendered),
            None => (key_line(&self.source, keys), TemplateLine::KeySearch),
        };
        let Some(line) = line else {
            return self.provisioner_manifests();
        };
        let text = (line as usize)
            .checked_sub(1)
            .and_then(|ix| self.source.get(ix))
            .map_or("", String::as_str);
        let col = text.len() - text.trim_start().len() + 1;
        let mut o = vec![Origin::Template {
            template: self.tname.to_string(),
            at: Span::new(self.file.clone(), line, col as u32),
            how,
        }];
        o.extend(self.params_read(text));
        o
    }

    /// Where the provisioner lists the template, when no line of it is known.
    fn provisioner_manifests(&self) -> Vec<Origin> {
        let p = self.cx.platform;
        let prov = provisioner_path(p, &self.i.provisioner).unwrap_or_default();
        vec![
            platform(p, &[format!("{prov}.manifests"), prov.clone()]),
            Origin::rule(
                "resource",
                "a provisioner's templates render its instance's manifests",
                resource_id(&self.i.key),
            ),
        ]
    }

    /// The params a template line reads (`resource.params.<name>`), each where it was written:
    /// the request's `params`, else the provisioner's `defaults`.
    fn params_read(&self, line: &str) -> Vec<Origin> {
        const READ: &str = "resource.params.";
        let mut names: Vec<&str> = line
            .match_indices(READ)
            .map(|(at, _)| {
                let rest = &line[at + READ.len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .filter(|n| !n.is_empty())
            .collect();
        names.dedup();
        let mut o: Vec<Origin> = names.into_iter().filter_map(|n| self.param(n)).collect();
        if line.contains("resource.name") {
            o.push(Origin::rule(
                "resolve",
                "an instance is named by its id, else `<workload>-<key>`, as a DNS label (the type, then a hash, appended on a clash)",
                resource_id(&self.i.key),
            ));
            o.push(Origin::score(
                format!("the request of resource {}", self.i.name),
                &self.i.span,
            ));
        }
        o
    }

    fn param(&self, name: &str) -> Option<Origin> {
        let i = self.i;
        let rkey = i.context.pointer("/resource/key").and_then(Value::as_str);
        let written = rkey.and_then(|rk| {
            let first = i.consumers.first()?;
            let score = self.cx.sources()?.score(first)?;
            score.resources.get(rk)?.params.as_ref()?.get(name).cloned()
        });
        if let Some(n) = written {
            return Some(Origin::Score {
                what: format!("params.{name} of the request of resource {}", i.name),
                at: n.span.clone(),
                value: Some(n.to_json()),
            });
        }
        let p = self.cx.platform;
        let prov = provisioner_path(p, &i.provisioner)?;
        let value = i.params.get(name)?.clone();
        let setting = key(&format!("{prov}.defaults"), name);
        Some(Origin::Layer {
            layer: format!("provisioner {} defaults", i.provisioner),
            at: p.positions.0.get(&setting).cloned(),
            setting,
            value,
        })
    }
}

/// The labelled fallback: the line of the YAML key path `keys` in the template's text,
/// following block indentation (list items have no key in the text).
fn key_line(source: &[String], keys: &[String]) -> Option<u32> {
    let mut stack: Vec<(usize, &str)> = Vec::new();
    for (ln, line) in source.iter().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("{%") {
            continue;
        }
        let mut indent = line.len() - trimmed.len();
        let mut body = trimmed;
        if let Some(rest) = body.strip_prefix("- ") {
            indent += 2;
            body = rest;
        }
        let Some((k, _)) = body.split_once(':') else {
            continue;
        };
        let k = k.trim().trim_matches('"').trim_matches('\'');
        if k.is_empty() || k.contains(' ') || k.contains("{{") {
            continue;
        }
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, k));
        if stack.len() == keys.len() && stack.iter().zip(keys).all(|((_, a), b)| a == b) {
            return u32::try_from(ln + 1).ok();
        }
    }
    None
}

/// A scalar, or an empty map or list: what the walk records as a leaf.
fn is_leaf(n: &Node) -> bool {
    match &n.kind {
        NodeKind::Map(m) => m.is_empty(),
        NodeKind::Seq(items) => items.is_empty(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fallback_finds_template_keys_by_indentation() {
        let src: Vec<String> = "apiVersion: v1\nkind: X\nmetadata:\n  name: {{ resource.name }}\nspec:\n  instances: {{ resource.params.instances }}\n  storage:\n    size: 1Gi\n"
            .lines()
            .map(str::to_string)
            .collect();
        let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(key_line(&src, &keys(&["spec", "instances"])), Some(6));
        assert_eq!(key_line(&src, &keys(&["spec", "storage", "size"])), Some(8));
        assert_eq!(key_line(&src, &keys(&["spec", "nope"])), None);
    }
}
