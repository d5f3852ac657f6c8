//! `platc explain`: where a rendered file, object or field came from.
//!
//! Everything is answered from a fresh [`Compilation`] that recorded field origins (never from
//! an output directory): the object's [`Provenance`](crate::render::Provenance) names its
//! source file, graph node and renderer (`object.rs`); a field is a lookup in what its
//! renderer recorded as it made the value (`recorded.rs`, from [`crate::render::origins`]).
//! Platform locations are the positions the Nickel evaluator kept; the only text search is the
//! renderer's labelled fallback for a template line ([`LocationHow::TextSearch`]).

use serde_json::Value;

use crate::diag::{Code, Diagnostic, Diagnostics};
pub use crate::fieldpath::{Sel, parse as parse_field};
use crate::pipeline::Compilation;

mod answer;
mod object;
mod recorded;
mod targets;
mod walk;

pub use answer::{
    Explanation, FieldAnswer, GraphNode, Layer, LayerKind, Location, LocationHow, NodeRef,
    ObjectId, Role,
};
use object::{Cx, describe};
use targets::{Entry, entries, find_entry};
pub use walk::Step;
use walk::{display_steps, walk};

/// Explains `target` (a rendered path, `Kind/namespace/name` or `Kind/name`, optionally
/// followed by `#field.path`) against a compilation that recorded field origins
/// ([`crate::pipeline::Options::record_origins`]).
pub fn explain(comp: &Compilation, target: &str) -> Result<Explanation, Diagnostics> {
    let (main, field) = match target.split_once('#') {
        Some((m, f)) => (m.trim(), Some(f.trim())),
        None => (target.trim(), None),
    };
    if field == Some("") {
        return Err(usage(format!("empty field path in `{target}`"))
            .with_help("write the field after `#`, like `#spec.replicas`")
            .into());
    }
    if let Some(ex) = tree_file(comp, main.trim_start_matches("./"), target) {
        if field.is_some() {
            return Err(usage(format!(
                "`{main}` is not a manifest; only manifests have fields"
            ))
            .into());
        }
        return Ok(ex);
    }
    let entries = entries(comp);
    let entry = find_entry(&entries, main, comp.layout)?;
    let cx = Cx { comp };
    let mut ex = describe(&cx, &entry);
    ex.target = target.to_string();
    if let Some(f) = field {
        let Some(body) = entry.obj.value() else {
            return Err(usage(format!(
                "`{}` is a text file; only manifests have fields",
                entry.obj.path
            ))
            .into());
        };
        let sels = parse_field(f).map_err(|m| Diagnostics::from(usage(m)))?;
        let (steps, value) = walk(body, &sels).map_err(Diagnostics::from)?;
        ex.field = Some(explain_field(&entry, &steps, value));
    }
    Ok(ex)
}

/// Files of the output tree that no renderer makes: the pipeline's README and emit's index.
fn tree_file(comp: &Compilation, path: &str, target: &str) -> Option<Explanation> {
    let (cause, via) = match path {
        "README.md" => (
            "the compilation as a whole: a summary of environments, clusters and object counts",
            "pipeline (Compilation::tree)",
        ),
        ".platc/index.json" => (
            "the files written: their hashes, so a later build replaces or prunes only what platc owns",
            "emit",
        ),
        _ => return None,
    };
    let main = comp
        .platform
        .sources
        .iter()
        .find(|s| s.ends_with("main.ncl"))
        .cloned()
        .unwrap_or_else(|| "platform/main.ncl".into());
    Some(Explanation {
        target: target.to_string(),
        path: path.to_string(),
        environment: None,
        object: None,
        plane: "-".into(),
        cause: cause.into(),
        source: Location::file(&main),
        via: via.into(),
        node: String::new(),
        graph: Vec::new(),
        field: None,
    })
}

fn usage(msg: impl Into<String>) -> Diagnostic {
    Diagnostic::error(Code::InvalidValue, None, msg)
}

/// A field's answer: what its renderer recorded at the field, its nearest recorded ancestor
/// and below it; where nothing was recorded (every renderer records, so only for an object
/// made outside them), the renderer and the graph node, said to be all that is known.
fn explain_field(e: &Entry<'_>, steps: &[Step], value: &Value) -> FieldAnswer {
    let path = display_steps(steps);
    if let Some(answer) = e
        .obj
        .origins
        .as_ref()
        .and_then(|record| recorded::answer(record, &path, value))
    {
        return answer;
    }
    let p = &e.obj.provenance;
    let plane = e.obj.plane.as_str();
    FieldAnswer {
        path,
        value: value.clone(),
        layers: vec![Layer {
            role: Role::Sets,
            layer: LayerKind::Renderer,
            origin: p.via.clone(),
            value: Some(value.clone()),
            location: None,
            note: Some(format!(
                "a fixed rule of the {plane} plane renderer, from the graph node `{}`",
                if p.node.is_empty() { "-" } else { &p.node }
            )),
            field: None,
        }],
        notes: vec![format!(
            "no origin was recorded for this field of a `{plane}` object: platc can only name the renderer"
        )],
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn field_paths_parse_keys_items_and_dotted_keys() {
        assert_eq!(
            parse_field("spec.template.spec.containers[web].env[DB_HOST].value").unwrap(),
            vec![
                Sel::Key("spec".into()),
                Sel::Key("template".into()),
                Sel::Key("spec".into()),
                Sel::Key("containers".into()),
                Sel::Bracket("web".into()),
                Sel::Key("env".into()),
                Sel::Bracket("DB_HOST".into()),
                Sel::Key("value".into()),
            ]
        );
        assert_eq!(
            parse_field("metadata.labels[app.kubernetes.io/name]").unwrap(),
            vec![
                Sel::Key("metadata".into()),
                Sel::Key("labels".into()),
                Sel::Bracket("app.kubernetes.io/name".into()),
            ]
        );
        assert!(parse_field("spec..replicas").is_err());
        assert!(parse_field("spec.containers[web").is_err());
    }

    #[test]
    fn walking_selects_items_by_name_and_suggests_fields() {
        let v = json!({"spec": {"replicas": 2, "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let (steps, val) = walk(&v, &parse_field("spec.containers[b].image").unwrap()).unwrap();
        assert_eq!(val, &json!("y"));
        assert_eq!(display_steps(&steps), "spec.containers[name=b].image");
        let err = walk(&v, &parse_field("spec.replica").unwrap()).unwrap_err();
        assert_eq!(err.message, "`spec` has no field `replica`");
        assert_eq!(err.help.as_deref(), Some("did you mean `replicas`?"));
    }
}
