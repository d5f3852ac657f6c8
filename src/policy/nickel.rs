//! Platform-defined policies: a `check` function in the platform's `policies` list, from a
//! workload record to `true`/`null` (pass), a message string or `false` (violation).
//!
//! One Nickel program maps every such policy over every workload record of every environment
//! and returns the findings, evaluated once (the platform is evaluated again inside it, since
//! Nickel values cannot outlive the program that made them and `check` functions are not
//! exported). The records are written into the program as Nickel literals.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::config::Rules;
use super::{Finding, Sources};
use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use crate::pipeline::Compilation;
use crate::resolve::{EnvResolution, RWorkload};

/// What the evaluation returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomRun {
    /// Ids of the platform's policies that have a `check`.
    pub ids: BTreeSet<String>,
    raw: Vec<Raw>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Raw {
    policy: String,
    env: String,
    workload: String,
    message: String,
    /// Set when `check` returned something other than a string, a boolean or null.
    #[serde(default)]
    bad: Option<String>,
}

#[derive(Deserialize)]
struct Output {
    ids: Vec<String>,
    findings: Vec<Raw>,
}

/// The Nickel program's body; `platform` and `platc` are bound by the loader, the workload
/// records come first.
const PROGRAM: &str = r#"
let custom = std.array.filter (fun p => std.record.has_field "check" p) platform.policies in
let applies = fun p w => p.enabled && (p.envs == [] || std.array.elem w.env p.envs) in
let finding = fun p w msg => { policy = p.id, env = w.env, workload = w.name, message = msg } in
{
  ids = std.array.map (fun p => p.id) custom,
  findings =
    std.array.flat_map
      (fun p =>
        std.array.flat_map
          (fun w =>
            if !(applies p w) then
              []
            else
              let r = p.check w in
              let t = std.typeof r in
              if t == 'Null then
                []
              else if t == 'Bool then
                (if r then [] else [finding p w (if std.record.has_field "message" p then p.message else "")])
              else if t == 'String then
                [finding p w r]
              else
                [finding p w "" & { bad = std.string.from_enum t }]
          )
          workloads
      )
      custom,
}
"#;

/// The record a `check` function receives for one workload in one environment.
pub fn workload_record(c: &Compilation, res: &EnvResolution, w: &RWorkload) -> Value {
    let env_type = c
        .platform
        .environments
        .get(&res.env)
        .map(|e| e.env_type.clone())
        .unwrap_or_default();
    let containers: Vec<Value> = w
        .containers
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "image": c.image,
                "resources": {
                    "requests": {"cpu": c.requests.cpu, "memory": c.requests.memory},
                    "limits": {"cpu": c.limits.cpu, "memory": c.limits.memory},
                },
                "env": c.env.iter().map(|e| e.name.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut resources = Map::new();
    for (key, ikey) in &w.uses {
        if let Some(i) = res.instance(ikey) {
            resources.insert(
                key.clone(),
                json!({"type": i.resource_type, "class": i.class, "id": i.id, "name": i.name, "provisioner": i.provisioner}),
            );
        }
    }
    json!({
        "name": w.name,
        "team": w.team,
        "env": res.env,
        "env_type": env_type,
        "namespace": w.namespace,
        "profile": w.profile_name,
        "kind": w.profile.kind.as_str(),
        "replicas": w.profile.replicas,
        "hpa": w.profile.hpa.as_ref().map(|h| json!({"min_replicas": h.min_replicas, "max_replicas": h.max_replicas})),
        "annotations": w.annotations,
        "containers": containers,
        "ports": w.ports,
        "resources": resources,
        "calls": w.calls(),
    })
}

/// Records per evaluation below which splitting costs more than it saves: every part evaluates
/// the platform again.
const MIN_PART: usize = 200;

/// Evaluates every platform-defined policy over every workload of every environment, in up to
/// `threads` programs at once. One program runs on one thread and most of a large check's time
/// went there (at 1,000 workloads, 0.9 s of a 1.95 s check), so the records are split into
/// parts evaluated side by side. Findings are sorted by the caller, so the split changes no
/// output; a failing part re-runs the whole program, whose error is the one an unsplit
/// evaluation reports, whatever the number of threads.
pub fn run(c: &Compilation, root: &Path, threads: usize) -> Result<CustomRun, Diagnostics> {
    let records: Vec<Value> = c
        .envs
        .iter()
        .flat_map(|e| {
            e.resolution
                .workloads
                .iter()
                .map(|w| workload_record(c, &e.resolution, w))
        })
        .collect();
    let parts = threads.clamp(1, (records.len() / MIN_PART).max(1));
    let size = records.len().div_ceil(parts).max(1);
    // Without workloads one program still runs: it names the policies that have a check.
    let chunks: Vec<&[Value]> = if records.is_empty() {
        vec![&records[..]]
    } else {
        records.chunks(size).collect()
    };
    let runs: Vec<Result<CustomRun, Diagnostics>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|part| s.spawn(move || run_records(root, part, Form::Json)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(panicked())))
            .collect()
    });
    // A part that ran out of time would run out of time again in the whole program: its error
    // (the same text from any part) is the answer, after one wait instead of two.
    if let Some(timeout) = runs.iter().find_map(|r| {
        r.as_ref()
            .err()
            .filter(|d| d.0.iter().any(|d| d.code == Code::Timeout))
    }) {
        return Err(timeout.clone());
    }
    let mut merged = CustomRun::default();
    for run in runs {
        let Ok(run) = run else {
            return run_records(root, &records, Form::Literal);
        };
        merged.ids = run.ids;
        merged.raw.extend(run.raw);
    }
    Ok(merged)
}

fn panicked() -> Diagnostics {
    Diagnostic::error(
        Code::Internal,
        Some(Span::file("platform/main.ncl")),
        "the policy evaluation stopped unexpectedly".to_string(),
    )
    .into()
}

/// How the records are written into the program.
#[derive(Clone, Copy)]
enum Form {
    /// One JSON string deserialized by the program: Nickel parses and typechecks a string
    /// literal instead of thousands of record literals (at 1,000 workloads, its parsing and
    /// typechecking were half of the policies' time). Records made this way are not closurized,
    /// and merging one (`w & { .. }`) fails a debug assertion of nickel-lang-core 0.19 (release
    /// builds evaluate it correctly), so any failure is decided by the literal form.
    Json,
    /// Every record a Nickel literal: errors point into records the way users wrote them.
    Literal,
}

/// One program over `records`.
fn run_records(root: &Path, records: &[Value], form: Form) -> Result<CustomRun, Diagnostics> {
    let mut expr = String::from("let workloads = ");
    match form {
        Form::Json => {
            expr.push_str("std.deserialize 'Json ");
            // Serialising JSON values cannot fail.
            write_string(
                &serde_json::to_string(records).unwrap_or_default(),
                &mut expr,
            );
        }
        Form::Literal => {
            expr.push('[');
            for (i, r) in records.iter().enumerate() {
                if i > 0 {
                    expr.push_str(", ");
                }
                write_nickel(r, &mut expr);
            }
            expr.push(']');
        }
    }
    expr.push_str(" in\n");
    expr.push_str(PROGRAM);
    let out = crate::load::platform::evaluate_with_platform(root, &expr)?;
    let out = Output::deserialize(&out).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            Code::Internal,
            Some(Span::file("platform/main.ncl")),
            format!("the policy evaluation returned an unexpected value: {e}"),
        ))
    })?;
    Ok(CustomRun {
        ids: out.ids.into_iter().collect(),
        raw: out.findings,
    })
}

impl CustomRun {
    /// The findings, with severities from `rules` and spans on the workloads' names.
    pub fn findings(&self, c: &Compilation, rules: &Rules, sources: &Sources<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        for r in &self.raw {
            let Some(e) = rules.custom(&r.policy) else {
                continue;
            };
            let file = c
                .envs
                .iter()
                .find_map(|env| env.resolution.workload(&r.workload))
                .map(|w| w.file.to_string())
                .unwrap_or_default();
            let message = match (&r.bad, r.message.trim()) {
                (Some(t), _) => format!(
                    "the check of policy `{}` returned a {t} for `{}`; it must return `true`, `null` or a message",
                    r.policy, r.workload
                ),
                (None, "") => format!(
                    "`{}` violates policy `{}`: {}",
                    r.workload, r.policy, e.description
                ),
                (None, m) => m.to_string(),
            };
            out.push(Finding {
                span: sources.name_span(&r.workload, &file),
                policy: r.policy.clone(),
                severity: e.severity,
                environment: Some(r.env.clone()),
                workload: r.workload.clone(),
                message,
                help: e
                    .message
                    .clone()
                    .filter(|m| m.trim() != r.message.trim())
                    .unwrap_or_else(|| e.description.clone()),
                waived: None,
            });
        }
        out
    }
}

/// A JSON value as a Nickel literal.
pub fn write_nickel(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_nickel(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push(' ');
                write_string(k, out);
                out.push_str(" = ");
                write_nickel(x, out);
            }
            out.push_str(" }");
        }
    }
}

/// A Nickel string literal: `%` is escaped so nothing can start an interpolation.
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '%' => out.push_str("\\%"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_everything_nickel_would_read() {
        let mut s = String::new();
        write_nickel(
            &json!({"a-b": ["x\"%{y}\\", null, true, 3], "c": "l1\nl2\u{1}"}),
            &mut s,
        );
        assert_eq!(
            s,
            r#"{ "a-b" = ["x\"\%{y}\\", null, true, 3], "c" = "l1\nl2\u{1}" }"#
        );
    }
}
