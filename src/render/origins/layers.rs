//! Where a workload's profile settings and team come from, as resolve decided them: the layers
//! it merges a profile from (the profile, the environment's `overrides`, its
//! `profile_overrides.<profile>`), each with the value it gives and where the Nickel evaluator
//! says it is written, and the ownership rule that chose the team. Used only while recording.

use serde_json::Value;

use super::{Origin, platform};
use crate::render::EnvCx;
use crate::resolve::RWorkload;

/// The layers that write profile setting `segs` for `w`: the one merged last first (it sets
/// the value), then those it replaced, newest first, each as [`Origin::Replaced`]. Empty when
/// no layer writes it (the renderer's default applies).
pub fn profile_layers(cx: &EnvCx<'_>, w: &RWorkload, segs: &[&str]) -> Vec<Origin> {
    let p = cx.platform;
    let (env, pname) = (cx.res.env.as_str(), w.profile_name.as_str());
    let environment = p.environments.get(env);
    let layers: [(String, Option<&Value>, [&str; 4]); 3] = [
        (
            format!("profile {pname}"),
            p.profiles.get(pname),
            ["profiles", pname, "", ""],
        ),
        (
            format!("environment {env} overrides"),
            environment.map(|e| &e.overrides),
            ["environments", env, "overrides", ""],
        ),
        (
            format!("environment {env} profile_overrides.{pname}"),
            environment.and_then(|e| e.profile_overrides.get(pname)),
            ["environments", env, "profile_overrides", pname],
        ),
    ];
    let mut out = Vec::new();
    for (label, layer, anchor) in layers {
        let Some(value) = layer.and_then(|l| segs.iter().try_fold(l, |v, k| v.get(*k))) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        let path = anchor
            .iter()
            .filter(|k| !k.is_empty())
            .chain(segs)
            .fold(String::new(), |path, k| crate::fieldpath::key(&path, k));
        let at = p.positions.0.get(&path).cloned();
        out.push(Origin::Layer {
            layer: label,
            setting: path,
            at,
            value: value.clone(),
        });
    }
    // Resolve merges in the order above: the last one sets the value.
    out.reverse();
    let agrees = match (out.first(), w.provenance.get(&segs.join("."))) {
        (Some(Origin::Layer { layer, .. }), Some(kept)) => layer == kept,
        _ => true,
    };
    let mut layers = out.into_iter();
    let sets = layers.next();
    let mut chain: Vec<Origin> = sets
        .into_iter()
        .chain(layers.map(|l| Origin::Replaced {
            replaced: Box::new(l),
        }))
        .collect();
    // What resolve kept as it merged (`RWorkload::provenance`) is the authority; a layer read
    // here that disagrees with it would be a bug, shown rather than hidden.
    if !agrees && let Some(kept) = w.provenance.get(&segs.join(".")) {
        chain.push(Origin::Note {
            note: format!("resolve recorded `{kept}` as the layer that set it"),
        });
    }
    chain
}

/// Why `w` lives in its namespace: the team's namespace setting (suffixed with the
/// environment by resolve's rule) and how the team was chosen (the workload's annotation, a
/// path claim, or the platform's default).
pub fn team_origins(cx: &EnvCx<'_>, w: &RWorkload) -> Vec<Origin> {
    let p = cx.platform;
    let mut out = vec![
        platform(p, &[format!("teams.{}.namespace", w.team)]),
        Origin::rule(
            "resolve",
            "a team's namespace in an environment is `<team namespace>-<environment>`",
            crate::graph::namespace_id(&w.namespace),
        ),
    ];
    let Some(score) = cx.sources().and_then(|s| s.score(&w.name)) else {
        return out;
    };
    if let Ok(choice) = crate::ownership::team_of(p, score) {
        out.push(match &choice.origin {
            crate::ownership::Origin::Annotation(span) => Origin::Score {
                what: format!("annotation {}", crate::model::ANN_TEAM),
                at: span.clone(),
                value: Some(Value::String(choice.name.clone())),
            },
            crate::ownership::Origin::Path { field, .. } => Origin::Layer {
                layer: format!("platform {field}"),
                setting: field.clone(),
                at: p.positions.0.get(field).cloned(),
                value: Value::String(choice.name.clone()),
            },
            crate::ownership::Origin::Default(field) => Origin::Layer {
                layer: format!("platform {field}"),
                setting: (*field).to_string(),
                at: p.positions.0.get(*field).cloned(),
                value: Value::String(choice.name.clone()),
            },
        });
    }
    out
}
