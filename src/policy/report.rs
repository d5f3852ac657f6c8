//! The findings (and any load/compile diagnostics) in four formats: text for people, JSON for
//! scripts (stable, sorted), SARIF 2.1.0 for code scanning, Markdown for a pull-request comment.
//! Pure functions returning strings: the CLI prints them.

use serde_json::{Value, json};

use super::{Finding, Report, Severity};
use crate::diag::{self, Diagnostics};

/// Where SARIF viewers link the tool.
pub const INFORMATION_URI: &str = "https://github.com/platc-dev/platc";
/// The SARIF rule id of load and compile errors.
pub const COMPILE_RULE: &str = "compile-error";

fn kind(f: &Finding) -> &'static str {
    match (&f.waived, f.severity) {
        (Some(_), _) => "waived",
        (None, Severity::Error) => "error",
        (None, Severity::Warning) => "warning",
    }
}

fn context(f: &Finding) -> String {
    if f.workload.is_empty() {
        return "the platform".into();
    }
    match &f.environment {
        Some(e) => format!("workload `{}`, environment `{e}`", f.workload),
        None => format!("workload `{}`", f.workload),
    }
}

/// A finding's workload in JSON and SARIF: `null` for the platform's own findings.
fn workload_json(f: &Finding) -> Value {
    if f.workload.is_empty() {
        Value::Null
    } else {
        json!(f.workload)
    }
}

/// The workload column of a Markdown row: the platform's own findings name none.
fn workload_cell(f: &Finding) -> String {
    if f.workload.is_empty() {
        "(platform)".into()
    } else {
        format!("`{}`", f.workload)
    }
}

/// `file:line:col: error[id]: message (workload, environment)` then `  help:` (and `  waived:`).
pub fn text(r: &Report) -> String {
    let mut s = String::new();
    for f in &r.findings {
        s.push_str(&format!(
            "{}: {}[{}]: {} ({})\n",
            f.span,
            kind(f),
            f.policy,
            f.message,
            context(f)
        ));
        if let Some(reason) = &f.waived {
            s.push_str(&format!("  waived: {reason}\n"));
        } else {
            s.push_str(&format!("  help: {}\n", f.help));
        }
    }
    s
}

/// Rule `schema`'s coverage in one line: `schema: 423 objects checked; no schema for 2 kinds
/// (unchecked): backstage.io/v1alpha1/API (9), ...`; `None` when the rule did not run.
pub fn schema_coverage(r: &Report) -> Option<String> {
    let s = r.schema.as_ref()?;
    let mut line = format!("schema: {} objects checked", s.checked);
    if !crate::schema::ENABLED {
        line.push_str(" (platc was built without the `schema` feature)");
    }
    if !s.unchecked.is_empty() {
        let kinds: Vec<String> = s
            .unchecked
            .iter()
            .map(|(k, n)| format!("{k} ({n})"))
            .collect();
        line.push_str(&format!(
            "; no schema for {} kind{} (unchecked): {}",
            kinds.len(),
            if kinds.len() == 1 { "" } else { "s" },
            kinds.join(", ")
        ));
    }
    Some(line)
}

/// One line: `2 errors, 1 warning, 1 waived`.
pub fn summary(r: &Report) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}, {} waived",
        plural(r.errors(), "error"),
        plural(r.warnings(), "warning"),
        r.waived()
    )
}

fn finding_json(f: &Finding) -> Value {
    json!({
        "policy": f.policy,
        "severity": f.severity,
        "status": if f.waived.is_some() { "waived" } else { "open" },
        "environment": f.environment,
        "workload": workload_json(f),
        "message": f.message,
        "help": f.help,
        "location": f.span.to_string(),
        "span": f.span,
        "waiver_reason": f.waived,
    })
}

fn compile_errors(diags: &Diagnostics) -> usize {
    diags
        .0
        .iter()
        .filter(|d| d.severity == diag::Severity::Error)
        .count()
}

/// `{ok, summary, diagnostics, findings}`; keys sorted, findings in report order.
pub fn json(r: &Report, diags: &Diagnostics) -> String {
    let v = json!({
        "ok": !r.has_errors() && !diags.has_errors(),
        "summary": {
            "errors": r.errors(),
            "warnings": r.warnings(),
            "waived": r.waived(),
            // Load and compile errors (`diagnostics`): findings are only counted once the
            // workspace compiles, so `errors` alone would say 0 beside `"ok": false`.
            "compile_errors": compile_errors(diags),
        },
        "diagnostics": diags.0,
        "findings": r.findings.iter().map(finding_json).collect::<Vec<_>>(),
        "schema": r.schema,
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn location(span: &diag::Span) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": {"uri": span.file.as_ref(), "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": span.line.max(1), "startColumn": span.col.max(1)},
        }
    })
}

/// SARIF 2.1.0: one run, the rules that are on (plus `compile-error` when there are load or
/// compile errors), one result per finding; waived findings carry an in-source suppression.
pub fn sarif(r: &Report, diags: &Diagnostics) -> String {
    let (rules, ids) = sarif_rules(r, diags);
    let index = |id: &str| ids.iter().position(|i| i == id).unwrap_or(0);
    let mut results: Vec<Value> = Vec::new();
    for d in &diags.0 {
        results.push(diagnostic_result(d, index(COMPILE_RULE)));
    }
    for f in &r.findings {
        results.push(finding_result(f, index(&f.policy)));
    }
    let v = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "platc",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The workspace root."}}},
            "properties": {"schema": r.schema},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// The SARIF rules, and their ids in the same order (a result names its rule by index).
fn sarif_rules(r: &Report, diags: &Diagnostics) -> (Vec<Value>, Vec<String>) {
    let mut rules: Vec<Value> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for info in r.rules.values() {
        ids.push(info.id.clone());
        rules.push(json!({
            "id": info.id,
            "name": info.id,
            "shortDescription": {"text": info.description},
            "help": {"text": info.help},
            "defaultConfiguration": {"level": level(info.severity)},
        }));
    }
    // Findings of a rule the report does not describe (should not happen) still get one.
    for f in &r.findings {
        if !ids.contains(&f.policy) {
            ids.push(f.policy.clone());
            rules.push(json!({
                "id": f.policy, "name": f.policy,
                "shortDescription": {"text": format!("policy `{}`", f.policy)},
                "help": {"text": f.help},
                "defaultConfiguration": {"level": level(f.severity)},
            }));
        }
    }
    if !diags.is_empty() {
        ids.push(COMPILE_RULE.into());
        rules.push(json!({
            "id": COMPILE_RULE, "name": COMPILE_RULE,
            "shortDescription": {"text": "The workspace must load and compile."},
            "help": {"text": "Fix the error at the location given; `platc check` prints a suggestion where it knows one."},
            "defaultConfiguration": {"level": "error"},
        }));
    }
    (rules, ids)
}

/// A load or compile error as a result of the `compile-error` rule.
fn diagnostic_result(d: &diag::Diagnostic, rule_index: usize) -> Value {
    let mut text = d.message.clone();
    if let Some(h) = &d.help {
        text.push_str(&format!("\nhelp: {h}"));
    }
    let mut res = json!({
        "ruleId": COMPILE_RULE,
        "ruleIndex": rule_index,
        "level": match d.severity { diag::Severity::Error => "error", diag::Severity::Warning => "warning" },
        "message": {"text": text},
    });
    if let Some(span) = &d.span {
        res["locations"] = json!([location(span)]);
    }
    res
}

fn finding_result(f: &Finding, rule_index: usize) -> Value {
    let mut res = json!({
        "ruleId": f.policy,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": format!("{} ({})\nhelp: {}", f.message, context(f), f.help)},
        "locations": [location(&f.span)],
        "properties": {"environment": f.environment, "workload": workload_json(f)},
    });
    if let Some(reason) = &f.waived {
        res["suppressions"] =
            json!([{"kind": "inSource", "status": "accepted", "justification": reason}]);
    }
    res
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

/// A pull-request comment: summary counts, a table of open findings, waived ones folded away.
pub fn markdown(r: &Report, diags: &Diagnostics) -> String {
    let failed = r.has_errors() || diags.has_errors();
    let headline = match compile_errors(diags) {
        0 => summary(r),
        1 => "the workspace does not compile (1 error)".to_string(),
        n => format!("the workspace does not compile ({n} errors)"),
    };
    let mut s = format!(
        "### platc check: {} {headline}\n\n",
        if failed { "❌" } else { "✅" },
    );
    if !diags.is_empty() {
        s.push_str(&format!(
            "The workspace does not compile ({} problem{}):\n\n",
            diags.0.len(),
            if diags.0.len() == 1 { "" } else { "s" }
        ));
        for d in &diags.0 {
            let at = d
                .span
                .as_ref()
                .map(|sp| format!("`{sp}`: "))
                .unwrap_or_default();
            s.push_str(&format!("- {at}{}\n", cell(&d.message)));
        }
        s.push('\n');
    }
    let open: Vec<&Finding> = r.findings.iter().filter(|f| f.waived.is_none()).collect();
    if open.is_empty() && diags.is_empty() {
        s.push_str("No policy findings.\n");
    } else if !open.is_empty() {
        s.push_str("| severity | policy | environment | workload | location | finding | fix |\n|---|---|---|---|---|---|---|\n");
        for f in open {
            s.push_str(&format!(
                "| {} | `{}` | {} | {} | `{}` | {} | {} |\n",
                if f.severity == Severity::Error {
                    "❌ error"
                } else {
                    "⚠️ warning"
                },
                f.policy,
                f.environment.as_deref().unwrap_or("all"),
                workload_cell(f),
                f.span,
                cell(&f.message),
                cell(&f.help)
            ));
        }
    }
    let waived: Vec<&Finding> = r.findings.iter().filter(|f| f.waived.is_some()).collect();
    if !waived.is_empty() {
        s.push_str(&format!(
            "\n<details><summary>{} waived finding{}</summary>\n\n| policy | environment | workload | location | finding | reason |\n|---|---|---|---|---|---|\n",
            waived.len(),
            if waived.len() == 1 { "" } else { "s" }
        ));
        for f in waived {
            s.push_str(&format!(
                "| `{}` | {} | {} | `{}` | {} | {} |\n",
                f.policy,
                f.environment.as_deref().unwrap_or("all"),
                workload_cell(f),
                f.span,
                cell(&f.message),
                cell(f.waived.as_deref().unwrap_or(""))
            ));
        }
        s.push_str("\n</details>\n");
    }
    if let Some(line) = schema_coverage(r) {
        s.push_str(&format!("\n<sub>{}</sub>\n", cell(&line)));
    }
    s
}
