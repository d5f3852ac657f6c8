//! A field answered from what the renderer recorded as it made the value
//! ([`crate::render::origins`]): the record at the field or its nearest ancestor, else the
//! records below it (asking for `spec.egress` lists each rule's causes).

use serde_json::Value;

use super::{FieldAnswer, Layer, LayerKind, Location, Role};
use crate::render::origins::{Origin, Origins};

/// The layers for `path` from `record`, or `None` when nothing at, above or below it was
/// recorded.
pub(super) fn answer(record: &Origins, path: &str, value: &Value) -> Option<FieldAnswer> {
    let mut layers = Vec::new();
    if let Some((at, origins)) = record.of(path) {
        let field = (at != path).then(|| at.to_string());
        push_chain(&mut layers, origins, field);
    }
    for (at, origins) in record.below(path) {
        push_chain(&mut layers, origins, Some(at.to_string()));
    }
    if layers.is_empty() {
        return None;
    }
    Some(FieldAnswer {
        path: path.to_string(),
        value: value.clone(),
        layers,
        notes: Vec::new(),
    })
}

/// One recorded chain: its first origin `sets` the value, the rest `feed` it.
fn push_chain(layers: &mut Vec<Layer>, origins: &[Origin], field: Option<String>) {
    for (n, o) in origins.iter().enumerate() {
        let mut l = layer(o);
        l.role = if n == 0 { Role::Sets } else { Role::Feeds };
        l.field = field.clone();
        layers.push(l);
    }
}

fn layer(o: &Origin) -> Layer {
    let base = |layer, origin: String, location, note| Layer {
        role: Role::Feeds,
        layer,
        origin,
        value: None,
        location,
        note,
        field: None,
    };
    match o {
        Origin::Score { what, at } => base(
            LayerKind::Workload,
            format!("{} ({what})", at.file),
            Some(Location::span(at)),
            None,
        ),
        Origin::Platform { setting, at } => {
            let kind = if setting.starts_with("profiles.") {
                LayerKind::Profile
            } else if setting.starts_with("environments.") {
                LayerKind::Environment
            } else if setting.starts_with("provisioners") {
                LayerKind::Provisioner
            } else {
                LayerKind::Platform
            };
            let note = at
                .is_none()
                .then(|| "no location: the Nickel evaluator kept no position for it".to_string());
            base(
                kind,
                format!("platform {setting}"),
                at.as_ref().map(Location::span),
                note,
            )
        }
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
