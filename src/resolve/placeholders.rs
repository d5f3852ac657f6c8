//! Substitution of `${...}` placeholders in workload strings.
//!
//! A string resolves to segments: literal text, or a reference to a secret key. Secrets never
//! become text; the caller decides how to reference them (a `secretKeyRef`, or `$(VAR)`
//! expansion of a hidden variable) or refuses them where no reference is possible.

use std::collections::BTreeMap;

use crate::diag::{Code, Diagnostic, Spanned, did_you_mean};
use crate::load::score::{Piece, split_placeholders};
use crate::yaml::{Node, NodeKind};

/// A value a resource exposes to its consumers.
#[derive(Debug, Clone, PartialEq, Hash, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Output {
    Plain(String),
    Secret { secret: String, key: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Text(String),
    Secret {
        secret: String,
        key: String,
        /// The placeholder's path: `path[1..]` joined by `_` names the hidden variable.
        path: Vec<String>,
    },
}

/// What a workload's placeholders can see.
pub struct Scope<'a> {
    pub workload: &'a str,
    pub metadata: &'a Node,
    /// Resource key → (the resource itself as text, its outputs). `None` for a key whose outputs
    /// are not known yet (only while resolving resource params in dependency order).
    pub resources: &'a BTreeMap<String, (String, BTreeMap<String, Output>)>,
    /// All the resource keys the workload declares, for "did you mean" on unknown keys.
    pub declared: &'a [String],
    /// Declared keys whose request already failed with its own error (no provisioner, bad
    /// params): placeholders naming them resolve to nothing rather than contradict that error.
    pub failed: &'a [String],
}

/// The resource keys a string refers to, for ordering resources whose params use other
/// resources' outputs.
pub fn referenced_resources(s: &str) -> Vec<String> {
    match split_placeholders(s) {
        Ok(pieces) => pieces
            .into_iter()
            .filter_map(|p| match p {
                Piece::Placeholder { path, .. } if path.len() >= 2 && path[0] == "resources" => {
                    Some(path[1].clone())
                }
                _ => None,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

pub fn resolve(s: &Spanned<String>, scope: &Scope<'_>) -> Result<Vec<Seg>, Diagnostic> {
    let pieces = split_placeholders(&s.value)
        .map_err(|m| Diagnostic::at(Code::UnknownPlaceholder, &s.span, m))?;
    let mut out: Vec<Seg> = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => push_text(&mut out, t),
            Piece::Placeholder { path, .. } => match lookup(&path, s, scope)? {
                Output::Plain(t) => push_text(&mut out, t),
                Output::Secret { secret, key } => out.push(Seg::Secret { secret, key, path }),
            },
        }
    }
    Ok(out)
}

/// Resolves a string where secrets are not allowed (file contents, resource params, images).
pub fn resolve_plain(
    s: &Spanned<String>,
    scope: &Scope<'_>,
    place: &str,
) -> Result<String, Diagnostic> {
    let mut text = String::new();
    for seg in resolve(s, scope)? {
        match seg {
            Seg::Text(t) => text.push_str(&t),
            Seg::Secret { path, .. } => {
                let hint = path[1..].join("_");
                return Err(Diagnostic::at(
                    Code::InvalidValue,
                    &s.span,
                    format!("the secret output `{hint}` cannot be used in {place}: it would be written into Git"),
                )
                .with_help("use it in a container variable instead, where it becomes a secretKeyRef"));
            }
        }
    }
    Ok(text)
}

fn push_text(out: &mut Vec<Seg>, t: String) {
    if let Some(Seg::Text(prev)) = out.last_mut() {
        prev.push_str(&t);
    } else {
        out.push(Seg::Text(t));
    }
}

fn lookup(path: &[String], s: &Spanned<String>, scope: &Scope<'_>) -> Result<Output, Diagnostic> {
    let shown = format!("${{{}}}", path.join("."));
    match path.first().map(String::as_str) {
        Some("metadata") => lookup_metadata(&path[1..], scope.metadata)
            .map(Output::Plain)
            .ok_or_else(|| {
                Diagnostic::at(
                    Code::UnknownPlaceholder,
                    &s.span,
                    format!(
                        "unknown placeholder `{shown}`: workload `{}` has no such metadata value",
                        scope.workload
                    ),
                )
                .with_help(
                    "metadata placeholders name a scalar under `metadata`, e.g. `${metadata.name}`",
                )
            }),
        Some("resources") => lookup_resource(path, s, scope, &shown),
        _ => Err(Diagnostic::at(
            Code::UnknownPlaceholder,
            &s.span,
            format!("unknown placeholder `{shown}`"),
        )
        .with_help(
            "placeholders start with `metadata.` or `resources.`; write `$${` for a literal `${`",
        )),
    }
}

/// `${resources.<key>}` (the instance itself) or `${resources.<key>.<output>}`.
fn lookup_resource(
    path: &[String],
    s: &Spanned<String>,
    scope: &Scope<'_>,
    shown: &str,
) -> Result<Output, Diagnostic> {
    let Some(key) = path.get(1) else {
        return Err(Diagnostic::at(
            Code::UnknownPlaceholder,
            &s.span,
            format!("placeholder `{shown}` must name a resource, e.g. `${{resources.db.host}}`"),
        ));
    };
    if scope.failed.contains(key) {
        return Ok(Output::Plain(String::new()));
    }
    let Some((itself, outputs)) = scope.resources.get(key) else {
        let mut d = Diagnostic::at(
            Code::UnknownPlaceholder,
            &s.span,
            format!(
                "unknown placeholder `{shown}`: workload `{}` declares no resource `{key}`",
                scope.workload
            ),
        );
        d = match did_you_mean(key, scope.declared.iter().map(String::as_str)) {
            Some(c) => d.with_help(format!("did you mean `{c}`?")),
            None if scope.declared.is_empty() => {
                d.with_help("declare the resource under `resources:` first")
            }
            None => d.with_help(format!("declared resources: {}", scope.declared.join(", "))),
        };
        return Err(d);
    };
    match path.get(2) {
        None => Ok(Output::Plain(itself.clone())),
        Some(out) if path.len() == 3 => outputs.get(out).cloned().ok_or_else(|| {
            let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
            let d = Diagnostic::at(
                Code::UnknownPlaceholder,
                &s.span,
                format!("unknown placeholder `{shown}`: resource `{key}` has no output `{out}`"),
            );
            match did_you_mean(out, names.iter().copied()) {
                Some(c) => {
                    d.with_help(format!("did you mean `{c}`? outputs: {}", names.join(", ")))
                }
                None => d.with_help(format!("outputs of `{key}`: {}", names.join(", "))),
            }
        }),
        Some(_) => Err(Diagnostic::at(
            Code::UnknownPlaceholder,
            &s.span,
            format!("unknown placeholder `{shown}`: resource outputs are one level deep"),
        )),
    }
}

fn lookup_metadata(path: &[String], node: &Node) -> Option<String> {
    let mut cur = node;
    for p in path {
        cur = cur.get(p)?;
    }
    match &cur.kind {
        NodeKind::Scalar { text, .. } => Some(text.clone()),
        _ => None,
    }
}
