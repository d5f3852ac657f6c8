//! A field answered from what the renderer recorded as it made the value
//! ([`crate::render::origins`]): the record at the field or its nearest ancestor, and the
//! records below it (asking for `spec.egress` lists each rule's causes), leaving out those
//! that only repeat the record above them with the part a leaf plays.

use serde_json::Value;

use super::{FieldAnswer, Layer, LayerKind, Location, Role};
use crate::render::origins::{Origin, Origins, TemplateLine};

/// The layers for `path` from `record`, or `None` when nothing at, above or below it was
/// recorded.
pub(super) fn answer(record: &Origins, path: &str, value: &Value) -> Option<FieldAnswer> {
    let mut ans = FieldAnswer {
        path: path.to_string(),
        value: value.clone(),
        layers: Vec::new(),
        notes: Vec::new(),
    };
    if let Some((at, origins)) = record.of(path) {
        let field = (at != path).then(|| at.to_string());
        push_chain(&mut ans, origins, field);
    }
    for (at, origins) in record.below(path) {
        if !repeats_above(record, path, at, origins) {
            push_chain(&mut ans, origins, Some(at.to_string()));
        }
    }
    (!ans.layers.is_empty()).then_some(ans)
}

/// Whether the record at `at` (below the asked `path`) starts with the whole chain recorded
/// above it, within `path`: a leaf's record made from its rule's (a policy rule's port), which
/// the rule's own listing already says.
fn repeats_above(record: &Origins, path: &str, at: &str, origins: &[Origin]) -> bool {
    record
        .above(at)
        .filter(|(p, _)| crate::render::origins::is_within(p, path))
        .is_some_and(|(_, above)| origins.starts_with(above))
}

/// One recorded chain: its first cause `sets` the value, the rest `feed` it; a layer a later
/// one replaced says so, and notes go to the answer's notes.
fn push_chain(ans: &mut FieldAnswer, origins: &[Origin], field: Option<String>) {
    let mut first = true;
    for o in origins {
        let mut l = match o {
            Origin::Note { note } => {
                if !ans.notes.contains(note) {
                    ans.notes.push(note.clone());
                }
                continue;
            }
            Origin::Replaced { replaced } => Layer {
                role: Role::Replaced,
                ..layer(replaced)
            },
            o => {
                let role = if first { Role::Sets } else { Role::Feeds };
                first = false;
                Layer { role, ..layer(o) }
            }
        };
        l.field = field.clone();
        ans.layers.push(l);
    }
}

fn base(
    layer: LayerKind,
    origin: String,
    location: Option<Location>,
    note: Option<String>,
) -> Layer {
    Layer {
        role: Role::Feeds,
        layer,
        origin,
        value: None,
        location,
        note,
        field: None,
    }
}

/// Profile, environment or other platform setting, by where it is in the platform.
fn setting_kind(setting: &str) -> LayerKind {
    if setting.starts_with("profiles.") {
        LayerKind::Profile
    } else if setting.starts_with("environments.") {
        LayerKind::Environment
    } else if setting.starts_with("provisioners") {
        LayerKind::Provisioner
    } else {
        LayerKind::Platform
    }
}

const NO_POSITION: &str = "no location: the Nickel evaluator kept no position for it";

fn layer(o: &Origin) -> Layer {
    match o {
        Origin::Score { what, at, value } => Layer {
            value: value.clone(),
            ..base(
                LayerKind::Workload,
                format!("{} ({what})", at.file),
                Some(Location::span(at)),
                None,
            )
        },
        Origin::Platform { setting, at } => base(
            setting_kind(setting),
            format!("platform {setting}"),
            at.as_ref().map(Location::span),
            at.is_none().then(|| NO_POSITION.to_string()),
        ),
        Origin::Layer {
            layer,
            setting,
            at,
            value,
        } => Layer {
            value: Some(value.clone()),
            ..base(
                setting_kind(setting),
                layer.clone(),
                at.as_ref().map(Location::span),
                at.is_none().then(|| NO_POSITION.to_string()),
            )
        },
        Origin::Read {
            placeholder,
            from,
            how,
            value,
            at,
        } => read(placeholder, from, how, value, at.as_ref()),
        Origin::Template { template, at, how } => template_line(template, at, *how),
        Origin::Replaced { replaced } => layer(replaced),
        Origin::Note { note } => base(LayerKind::Renderer, note.clone(), None, None),
        Origin::Edge { from, to, kind } => {
            let kind = match kind {
                crate::graph::EdgeKind::Ordering => "ordering",
                crate::graph::EdgeKind::Communication => "communication",
            };
            base(
                LayerKind::Edge,
                format!("edge {from} → {to} ({kind})"),
                None,
                None,
            )
        }
        Origin::Rule {
            renderer,
            rule,
            applied_to,
        } => base(
            LayerKind::Renderer,
            format!("renderer:{renderer} rule, applied to {applied_to}"),
            None,
            Some(rule.to_string()),
        ),
    }
}

/// What a placeholder read: an instance's output, or a called workload's Service.
fn read(
    placeholder: &str,
    from: &str,
    how: &str,
    value: &Option<Value>,
    at: Option<&crate::diag::Span>,
) -> Layer {
    let kind = if from.contains(" of type service ") {
        LayerKind::Workload
    } else {
        LayerKind::Provisioner
    };
    Layer {
        value: value.clone(),
        ..base(
            kind,
            format!("{placeholder}: {from}"),
            at.map(Location::span),
            Some(how.to_string()),
        )
    }
}

/// A template's line, labelled as a search where it was one.
fn template_line(template: &str, at: &crate::diag::Span, how: TemplateLine) -> Layer {
    let location = match how {
        TemplateLine::Rendered => Location::span(at),
        TemplateLine::KeySearch => Location::searched(&at.file, at.line, at.col),
    };
    base(
        LayerKind::Template,
        format!("template {template}"),
        Some(location),
        Some("rendered with the instance's context (resource params, env, cluster, team)".into()),
    )
}
