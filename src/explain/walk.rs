//! A field path walked through an object's value: each step by key, list index or item name,
//! with suggestions when a step does not exist.

use serde_json::Value;

use super::usage;
use crate::diag::{Diagnostic, did_you_mean};
use crate::fieldpath::Sel;

/// One step of a resolved field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Item { index: usize, name: Option<String> },
}

pub(super) fn display_steps(steps: &[Step]) -> String {
    // Written as `platc diff` writes field paths, so a path from either reads in the other.
    steps.iter().fold(String::new(), |path, st| match st {
        Step::Key(k) => crate::fieldpath::key(&path, k),
        Step::Item { index, name } => crate::fieldpath::list_item(&path, *index, name.as_deref()),
    })
}

pub(super) fn walk<'v>(
    body: &'v Value,
    sels: &[Sel],
) -> Result<(Vec<Step>, &'v Value), Diagnostic> {
    let mut cur = body;
    let mut steps = Vec::new();
    for sel in sels {
        let here = if steps.is_empty() {
            "the object".to_string()
        } else {
            format!("`{}`", display_steps(&steps))
        };
        match (sel, cur) {
            (Sel::Key(k) | Sel::Bracket(k), Value::Object(m)) => match m.get(k) {
                Some(v) => {
                    steps.push(Step::Key(k.clone()));
                    cur = v;
                }
                None => {
                    let mut d = usage(format!("{here} has no field `{k}`"));
                    if let Some(hint) = replicas_hint(body, &steps, k) {
                        d = d.with_note(hint);
                    }
                    return Err(match did_you_mean(k, m.keys().map(String::as_str)) {
                        Some(c) => d.with_help(format!("did you mean `{c}`?")),
                        None => d.with_help(format!(
                            "fields: {}",
                            m.keys().cloned().collect::<Vec<_>>().join(", ")
                        )),
                    });
                }
            },
            (Sel::Bracket(b), Value::Array(items)) => {
                let name_of = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_string);
                let found = match b.parse::<usize>() {
                    Ok(i) if i < items.len() => Some(i),
                    _ => items.iter().position(|v| name_of(v).as_deref() == Some(b)),
                };
                match found {
                    Some(i) => {
                        steps.push(Step::Item {
                            index: i,
                            name: name_of(&items[i]),
                        });
                        cur = &items[i];
                    }
                    None => {
                        let names: Vec<String> = items.iter().filter_map(name_of).collect();
                        let d = usage(format!("{here} has no item `{b}`"));
                        return Err(match did_you_mean(b, names.iter().map(String::as_str)) {
                            Some(c) => d.with_help(format!("did you mean `[{c}]`?")),
                            None if names.is_empty() => d.with_help(format!(
                                "it is a list of {} items: select one by index, `[0]`",
                                items.len()
                            )),
                            None => d.with_help(format!("items: {}", names.join(", "))),
                        });
                    }
                }
            }
            (Sel::Key(k), Value::Array(_)) => {
                return Err(usage(format!("{here} is a list, not a map (at `{k}`)"))
                    .with_help("select an item with `[name]` or `[index]`"));
            }
            (sel, _) => {
                let k = match sel {
                    Sel::Key(k) | Sel::Bracket(k) => k,
                };
                return Err(usage(format!("{here} is a value, it has no field `{k}`")));
            }
        }
    }
    Ok((steps, cur))
}

/// `spec.replicas` is absent exactly when an autoscaler owns the count: say so.
fn replicas_hint(body: &Value, steps: &[Step], missing: &str) -> Option<String> {
    let is_deploy = body.get("kind").and_then(Value::as_str) == Some("Deployment");
    if is_deploy && missing == "replicas" && steps == [Step::Key("spec".into())] {
        let name = body
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let ns = body
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Some(format!(
            "the profile gives this workload a HorizontalPodAutoscaler, which owns the replica count: explain `HorizontalPodAutoscaler/{ns}/{name}#spec.minReplicas`"
        ))
    } else {
        None
    }
}
