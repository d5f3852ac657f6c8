//! Compile-time policies (`platc check`): the built-in ones over the resolved model and the
//! rendered objects, the platform's own written in Nickel, and workload waivers. Every finding
//! is collected (nothing stops at the first) and carries the span of the source value that
//! caused it. Formatting for people and machines lives in [`report`].
//!
//! Two entry points, because one built-in policy has to run before compiling:
//! [`check_teams`] (`team-exists`) runs on the loaded workloads, since a workload without a known
//! team cannot be resolved; it returns the workloads to compile without the failing ones, so the
//! other policies still run on the rest. [`check`] runs everything else on the compilation.

pub mod builtin;
pub mod config;
pub mod locate;
pub mod nickel;
pub mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::diag::{Diagnostics, Span, did_you_mean};
use crate::model::{Platform, Workload};
use crate::pipeline::Compilation;

pub use config::{BUILTINS, Builtin, Effective, Rules};

/// Annotation prefix of a waiver: `platc.dev/waive.<policy-id>: "<reason>"`.
pub const WAIVE_PREFIX: &str = "platc.dev/waive.";
/// Policy id of the finding for a waiver without a reason.
pub const WAIVER_WITHOUT_REASON: &str = "waiver-without-reason";
/// Policy id of the finding for a waiver naming no known policy.
pub const WAIVER_UNKNOWN_POLICY: &str = "waiver-unknown-policy";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            _ => None,
        }
    }
}

/// One policy violation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The source value that caused it (a workload field, or the profile / platform file).
    pub span: Span,
    pub policy: String,
    pub severity: Severity,
    /// `None` for findings that do not depend on an environment (teams, waivers).
    pub environment: Option<String>,
    pub workload: String,
    pub message: String,
    /// How to fix it.
    pub help: String,
    /// The reason given by the workload's waiver, when the finding is waived.
    pub waived: Option<String>,
}

impl Finding {
    /// Counts against the exit code: an error that is not waived.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error && self.waived.is_none()
    }
}

/// What `platc check` found, sorted by location, then policy, environment and workload.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Every rule that ran or could have run (built-in and platform-defined), by id, for SARIF.
    pub rules: BTreeMap<String, RuleInfo>,
    /// Rule `schema`: how many rendered objects were checked against a schema, and the kinds
    /// (`<apiVersion>/<kind>`) that have none, with their object counts. Unchecked is not an
    /// error. `None` when the rule did not run.
    pub schema: Option<SchemaCoverage>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SchemaCoverage {
    pub checked: usize,
    pub unchecked: BTreeMap<String, usize>,
}

/// What SARIF and the docs say about one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleInfo {
    pub id: String,
    pub description: String,
    pub help: String,
    pub severity: Severity,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.is_error()).count()
    }
    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning && f.waived.is_none())
            .count()
    }
    pub fn waived(&self) -> usize {
        self.findings.iter().filter(|f| f.waived.is_some()).count()
    }
    pub fn has_errors(&self) -> bool {
        self.errors() > 0
    }

    /// Adds findings (from [`check_teams`]) and keeps the order canonical.
    pub fn extend(&mut self, findings: Vec<Finding>) {
        self.findings.extend(findings);
        self.findings.sort();
        self.findings.dedup();
    }
}

/// `team-exists` over the loaded workloads. Returns its findings (waivers do not apply: a
/// workload without a team cannot be compiled) and the workloads that can be compiled. When the
/// platform switches the policy off, every workload is kept and the compiler's own error stands.
pub fn check_teams(
    platform: &Platform,
    workloads: Vec<Workload>,
) -> Result<(Vec<Finding>, Vec<Workload>), Diagnostics> {
    let rules = Rules::new(platform, &BTreeSet::new())?;
    let Some(eff) = rules.builtin("team-exists") else {
        return Ok((Vec::new(), workloads));
    };
    let mut findings = Vec::new();
    let mut keep = Vec::new();
    for w in workloads {
        match builtin::team_exists(platform, &w, eff.severity) {
            Some(f) => findings.push(f),
            None => keep.push(w),
        }
    }
    findings.sort();
    Ok((findings, keep))
}

/// `workload-globs-match`: each of the platform's `workloads` globs that finds none of the
/// loaded workload files (a misspelt directory looks like a platform without those workloads).
/// A glob is let off when another one over the same directories finds files: `*.score.yaml`
/// beside `score.yaml` is an alternative a workspace need not use.
pub fn unmatched_globs(
    platform: &Platform,
    workloads: &[Workload],
) -> Result<Vec<Finding>, Diagnostics> {
    let rules = Rules::new(platform, &BTreeSet::new())?;
    let Some(eff) = rules.builtin("workload-globs-match") else {
        return Ok(Vec::new());
    };
    let help = config::builtin("workload-globs-match")
        .map(|b| b.help.to_string())
        .unwrap_or_default();
    let files: Vec<Vec<&str>> = workloads
        .iter()
        .map(|w| w.file.split('/').collect())
        .collect();
    let globs: Vec<(usize, &String, Vec<&str>, bool)> = platform
        .workloads
        .iter()
        .enumerate()
        .map(|(i, glob)| {
            let pattern: Vec<&str> = glob.split('/').filter(|s| !s.is_empty()).collect();
            let finds = files
                .iter()
                .any(|f| crate::discover::glob_match(&pattern, f));
            (i, glob, pattern, finds)
        })
        .collect();
    fn dirs<'a>(p: &[&'a str]) -> Vec<&'a str> {
        p[..p.len().saturating_sub(1)].to_vec()
    }
    let searched: BTreeSet<Vec<&str>> = globs.iter().filter(|g| g.3).map(|g| dirs(&g.2)).collect();
    Ok(globs
        .iter()
        .filter(|(_, _, pattern, finds)| !finds && !searched.contains(&dirs(pattern)))
        .map(|(i, glob, ..)| Finding {
            span: platform
                .positions
                .0
                .get(&format!("workloads[{i}]"))
                .or_else(|| platform.positions.0.get("workloads"))
                .cloned()
                .unwrap_or_else(|| Span::file("platform/main.ncl")),
            policy: "workload-globs-match".into(),
            severity: eff.severity,
            environment: None,
            workload: String::new(),
            message: format!("the glob `{glob}` of `workloads` finds no workload file"),
            help: help.clone(),
            waived: None,
        })
        .collect())
}

/// What `platc check` found in a workspace.
pub struct Checked {
    /// Workloads, environments and objects, when the workspace compiled.
    pub counts: Option<(usize, usize, usize)>,
    pub report: Report,
    pub diags: Diagnostics,
}

/// `platc check` as one call: load, team policies, compile, every policy and schema.
pub fn check_workspace(root: &Path, opts: &crate::pipeline::Options) -> Checked {
    let mut report = Report::default();
    let failed = |report, diags| Checked {
        counts: None,
        report,
        diags,
    };
    // The platform's kept evaluation is used as a build uses it: it stands only while every
    // file the evaluation read is unchanged, so the model is the same either way.
    let loading = crate::pipeline::Options {
        reuse_evaluation: true,
        ..opts.clone()
    };
    let (platform, workloads) = match crate::pipeline::load(root, &loading) {
        Ok(x) => x,
        Err(d) => return failed(report, d),
    };
    match unmatched_globs(&platform, &workloads) {
        Ok(findings) => report.extend(findings),
        Err(d) => return failed(report, d),
    }
    let (team_findings, workloads) = match check_teams(&platform, workloads) {
        Ok(x) => x,
        Err(d) => return failed(report, d),
    };
    report.extend(team_findings);
    // Policies read the model and the schemas every object's value, whatever the caller's
    // options say (the benchmark passes a build's).
    let opts = &crate::pipeline::Options {
        bytes_only: false,
        free_models: false,
        ..opts.clone()
    };
    let c = match crate::pipeline::compile_loaded(platform, workloads, opts) {
        Ok(c) => c,
        Err(d) => return failed(report, d),
    };
    let counts = Some((c.workloads.len(), c.envs.len(), c.objects().count()));
    let checked = check(&c, root, opts.threads);
    // Freeing every object's JSON tree is a tenth of a check: done beside the caller, which
    // (the CLI) is usually about to exit anyway.
    crate::aside::drop_aside(c);
    match checked {
        Ok(mut r) => {
            r.extend(std::mem::take(&mut report.findings));
            Checked {
                counts,
                report: r,
                diags: Diagnostics::new(),
            }
        }
        Err(diags) => Checked {
            counts,
            report,
            diags,
        },
    }
}

/// Every policy but `team-exists` over a compilation; `root` is the workspace (platform files are
/// read from it to point at profile values; the embedded platform has none, then findings point
/// at the workload). Errors are problems of the policy configuration or of a Nickel `check`.
/// `threads` bounds the Nickel evaluations run at once.
pub fn check(c: &Compilation, root: &Path, threads: usize) -> Result<Report, Diagnostics> {
    let on_disk = root.join("platform/main.ncl").is_file();
    let read = |rel: &str| -> Option<String> {
        if on_disk && rel.starts_with("platform/") {
            std::fs::read_to_string(root.join(rel)).ok()
        } else {
            None
        }
    };
    let locator = locate::Locator::new(&c.platform, &read);

    let custom: BTreeSet<String> = c
        .platform
        .policies
        .iter()
        .filter(|p| config::builtin(&p.id).is_none())
        .map(|p| p.id.clone())
        .collect();
    // Platform-defined policies are evaluated first: the evaluation also says which of the
    // non-built-in ids really have a `check`. Nickel evaluates on one thread, so the schema
    // check (every object) runs beside it; its outcome is dropped if the rules turn it off.
    let (custom_run, schema_outcome) = rayon::join(
        || {
            if custom.is_empty() {
                Ok(nickel::CustomRun::default())
            } else {
                nickel::run(c, root, threads)
            }
        },
        || crate::schema::check(c),
    );
    let custom_run = custom_run?;
    let rules = Rules::new(&c.platform, &custom_run.ids)?;
    let sources = Sources::new(c);

    let mut findings = Vec::new();
    findings.extend(builtin::run_all(c, &rules, &sources, &locator));
    findings.extend(custom_run.findings(c, &rules, &sources));
    let mut coverage = None;
    if let Some(eff) = rules.builtin(SCHEMA) {
        let outcome = schema_outcome?;
        findings.extend(
            outcome
                .failures
                .iter()
                .filter(|f| f.environment.as_deref().is_none_or(|e| eff.applies(e)))
                .map(|f| schema_finding(f, eff.severity)),
        );
        coverage = Some(SchemaCoverage {
            checked: outcome.checked,
            unchecked: outcome.unchecked,
        });
    }
    let waiver_findings = apply_waivers(&mut findings, &c.workloads, &rules);
    findings.extend(waiver_findings);
    findings.sort();
    findings.dedup();
    Ok(Report {
        findings,
        rules: rules.info(),
        schema: coverage,
    })
}

/// Policy id of schema validation findings.
pub const SCHEMA: &str = "schema";

/// A schema failure as a finding: it names the object, its file, the JSON path, what was
/// expected and what produced the object; it points at the template line or workload value that
/// wrote the field when that is known, else at the file the object came from.
pub fn schema_finding(f: &crate::schema::Failure, severity: Severity) -> Finding {
    let p = &f.provenance;
    let span = f.span.clone().unwrap_or_else(|| {
        Span::file(if p.source.is_empty() {
            f.object.file.as_str()
        } else {
            p.source.as_str()
        })
    });
    let at = if f.field.is_empty() {
        String::new()
    } else {
        format!(" at `{}`", f.field)
    };
    let from = if p.source.is_empty() || p.via.contains(&p.source) {
        p.via.clone()
    } else {
        format!("{}, from {}", p.via, p.source)
    };
    let message = format!(
        "`{}` ({}){at}: {}; expected {} (produced by {from})",
        f.object, f.object.file, f.message, f.expected
    );
    let fix = match p.via.strip_prefix("template:") {
        Some(rest) => {
            let template = rest.split(' ').next().unwrap_or(rest);
            let provisioner = rest
                .split("provisioner:")
                .nth(1)
                .map(|s| format!(" of provisioner `{}`", s.trim_end_matches(')')))
                .unwrap_or_default();
            format!("fix template `{template}`{provisioner}")
        }
        None => format!("fix what {} writes there", p.via),
    };
    let help = match &f.suggestion {
        Some(s) => format!("did you mean `{s}`? {fix}; checked against {}", f.schema),
        None => format!("{fix}; checked against {}", f.schema),
    };
    Finding {
        span,
        policy: SCHEMA.into(),
        severity,
        environment: f.environment.clone(),
        workload: f.workload.clone().unwrap_or_else(|| {
            if p.node.is_empty() {
                f.object.to_string()
            } else {
                p.node.clone()
            }
        }),
        message,
        help,
        waived: None,
    }
}

/// The source workloads by name, for spans.
pub struct Sources<'a> {
    by_name: BTreeMap<&'a str, &'a Workload>,
}

impl<'a> Sources<'a> {
    pub fn new(c: &'a Compilation) -> Self {
        Sources {
            by_name: c
                .workloads
                .iter()
                .map(|w| (w.name.value.as_str(), w))
                .collect(),
        }
    }
    pub fn get(&self, name: &str) -> Option<&'a Workload> {
        self.by_name.get(name).copied()
    }
    /// The workload's name, or its file when it is unknown.
    pub fn name_span(&self, name: &str, file: &str) -> Span {
        self.get(name)
            .map(|w| w.name.span.clone())
            .unwrap_or_else(|| Span::file(file))
    }
}

/// Waivers: a finding of a policy that the workload waives (with a reason) becomes waived; a
/// waiver without a reason or naming no known policy is itself a finding (returned).
fn apply_waivers(findings: &mut [Finding], workloads: &[Workload], rules: &Rules) -> Vec<Finding> {
    let mut extra = Vec::new();
    let mut waivers: BTreeMap<(&str, &str), String> = BTreeMap::new();
    for w in workloads {
        for (key, value) in &w.annotations {
            let Some(id) = key.strip_prefix(WAIVE_PREFIX) else {
                continue;
            };
            let reason = value.value.trim();
            if reason.is_empty() {
                extra.push(Finding {
                    span: value.span.clone(),
                    policy: WAIVER_WITHOUT_REASON.into(),
                    severity: Severity::Error,
                    environment: None,
                    workload: w.name.value.clone(),
                    message: format!("the waiver of `{id}` gives no reason"),
                    help: format!(
                        "say why the workload may break `{id}`: `{key}: \"<reason>\"`; the waiver has no effect until then"
                    ),
                    waived: None,
                });
                continue;
            }
            if !rules.knows(id) {
                let known = rules.ids();
                let help = match did_you_mean(id, known.iter().map(String::as_str)) {
                    Some(c) => format!("did you mean `{WAIVE_PREFIX}{c}`?"),
                    None => format!("known policies: {}", known.join(", ")),
                };
                extra.push(Finding {
                    span: value.span.clone(),
                    policy: WAIVER_UNKNOWN_POLICY.into(),
                    severity: Severity::Warning,
                    environment: None,
                    workload: w.name.value.clone(),
                    message: format!("the waiver names policy `{id}`, which does not exist"),
                    help,
                    waived: None,
                });
                continue;
            }
            waivers.insert((w.name.value.as_str(), id), reason.to_string());
        }
    }
    for f in findings.iter_mut() {
        if f.policy == "team-exists" {
            continue;
        }
        if let Some(reason) = waivers.get(&(f.workload.as_str(), f.policy.as_str())) {
            f.waived = Some(reason.clone());
        }
    }
    extra
}
