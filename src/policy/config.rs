//! Which policies run, how severe they are, where, and with which params: the built-ins'
//! defaults overlaid with the platform's `policies` list.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{RuleInfo, Severity};
use crate::diag::{Code, Diagnostic, Diagnostics, Span, did_you_mean};
use crate::model::{Platform, Policy};

/// A built-in policy. Ids are stable (waivers and CI configurations name them); the stdlib's
/// `builtin_policies` documents the same list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    pub id: &'static str,
    pub severity: Severity,
    pub description: &'static str,
    pub help: &'static str,
    /// Param name → what it must be (for messages).
    pub params: &'static [(&'static str, ParamKind)],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Strings,
    Count,
}

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        id: "images-pinned",
        severity: Severity::Error,
        description: "Images come from allowed registries and are pinned: never `latest` or untagged; by digest in production.",
        help: "Use an image from an allowed registry with an explicit tag (`:1.4.2`), and a digest (`@sha256:…`) in production environments.",
        params: &[
            ("allowed_registries", ParamKind::Strings),
            ("digest_env_types", ParamKind::Strings),
        ],
    },
    Builtin {
        id: "no-privileged",
        severity: Severity::Error,
        description: "No privileged containers, host network/PID/IPC, or privilege escalation in any rendered pod.",
        help: "Remove `privileged`, `hostNetwork`, `hostPID` and `hostIPC`, and set `allowPrivilegeEscalation: false` on every container.",
        params: &[],
    },
    Builtin {
        id: "prod-replicas",
        severity: Severity::Error,
        description: "Production deployments run at least two replicas (or an HPA with a minimum of two) and have a PodDisruptionBudget.",
        help: "Raise `replicas` (or `hpa.min_replicas`) and set `pdb.min_available` in the profile or the environment's overrides.",
        params: &[
            ("env_types", ParamKind::Strings),
            ("min_replicas", ParamKind::Count),
        ],
    },
    Builtin {
        id: "resources-set",
        severity: Severity::Error,
        description: "Every container has CPU and memory requests and a memory limit (after profile defaults).",
        help: "Set `resources.requests.cpu`, `resources.requests.memory` and `resources.limits.memory` on the container, or give its profile defaults.",
        params: &[],
    },
    Builtin {
        id: "schema",
        severity: Severity::Error,
        description: "Every rendered object of a kind with a schema (core Kubernetes, Argo CD, the platform's `schemas`) matches it strictly: no unknown fields, the right types.",
        help: "Fix the field at the JSON path given, in the template or workload that wrote it (`platc explain` shows where an object came from).",
        params: &[],
    },
    Builtin {
        id: "service-probes",
        severity: Severity::Warning,
        description: "Workloads with service ports have readiness and liveness probes.",
        help: "Add `livenessProbe` and `readinessProbe` to the container, or use a profile with a `probe_path`.",
        params: &[],
    },
    Builtin {
        id: "workload-globs-match",
        severity: Severity::Warning,
        description: "Every glob of the platform's `workloads` finds at least one workload file.",
        help: "Correct the glob (a misspelt directory finds nothing, and a published tree without those workloads prunes their applications), or remove it.",
        params: &[],
    },
    Builtin {
        id: "team-exists",
        severity: Severity::Error,
        description: "Every workload names an owning team that exists.",
        help: "Set the annotation `platc.dev/team` to one of the platform's teams.",
        params: &[],
    },
];

pub fn builtin(id: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.id == id)
}

/// How one policy runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    pub severity: Severity,
    /// Empty: every environment.
    pub envs: Vec<String>,
    pub params: Value,
    pub description: String,
    /// Message of a platform-defined policy whose check returns `false`.
    pub message: Option<String>,
}

impl Effective {
    pub fn applies(&self, env: &str) -> bool {
        self.envs.is_empty() || self.envs.iter().any(|e| e == env)
    }

    /// A string-list param, or `default` when absent (checked by [`Rules::new`]).
    pub fn strings(&self, name: &str, default: &[&str]) -> Vec<String> {
        match self.params.get(name).and_then(Value::as_array) {
            Some(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            None => default.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn count(&self, name: &str, default: u64) -> u64 {
        self.params
            .get(name)
            .and_then(Value::as_u64)
            .unwrap_or(default)
    }
}

/// The effective configuration of every policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// `None`: switched off.
    builtins: BTreeMap<&'static str, Option<Effective>>,
    /// Platform-defined policies with a `check`, by id (switched-off ones are absent).
    custom: BTreeMap<String, Effective>,
    /// Every known id, including switched-off ones (a waiver may name them).
    known: BTreeSet<String>,
}

impl Rules {
    /// `custom_ids`: the non-built-in ids that have a `check` (from the Nickel evaluation). Ids
    /// that are neither built-in nor in it are errors, unless `custom_ids` is empty and nothing
    /// was evaluated yet ([`super::check_teams`]); the full check reports them.
    pub fn new(platform: &Platform, custom_ids: &BTreeSet<String>) -> Result<Rules, Diagnostics> {
        let strict =
            !custom_ids.is_empty() || platform.policies.iter().all(|p| builtin(&p.id).is_some());
        let mut diags = Diagnostics::new();
        let mut builtins = builtin_defaults();
        let mut custom = BTreeMap::new();
        let mut known: BTreeSet<String> = BUILTINS.iter().map(|b| b.id.to_string()).collect();
        let mut seen = BTreeSet::new();
        let span = Span::file("platform/main.ncl");
        for p in &platform.policies {
            if !seen.insert(p.id.as_str()) {
                diags.push(
                    Diagnostic::at(
                        Code::InvalidValue,
                        &span,
                        format!("policy `{}` is listed twice in `policies`", p.id),
                    )
                    .with_help("configure each policy once"),
                );
                continue;
            }
            let b = builtin(&p.id);
            let eff = effective(p, b);
            match b {
                Some(b) => {
                    check_params(b, &eff.params, &mut diags);
                    builtins.insert(b.id, p.enabled.then_some(eff));
                }
                None if custom_ids.contains(&p.id) => {
                    known.insert(p.id.clone());
                    if p.enabled {
                        custom.insert(p.id.clone(), eff);
                    }
                }
                None if strict => diags.push(unknown_policy(&p.id, &span)),
                None => {}
            }
        }
        diags.into_result(Rules {
            builtins,
            custom,
            known,
        })
    }

    /// The configuration of a built-in policy, `None` when it is switched off.
    pub fn builtin(&self, id: &str) -> Option<&Effective> {
        self.builtins.get(id).and_then(Option::as_ref)
    }

    pub fn custom(&self, id: &str) -> Option<&Effective> {
        self.custom.get(id)
    }

    pub fn knows(&self, id: &str) -> bool {
        self.known.contains(id)
    }

    pub fn ids(&self) -> Vec<String> {
        self.known.iter().cloned().collect()
    }

    /// What SARIF says about each rule that is on.
    pub fn info(&self) -> BTreeMap<String, RuleInfo> {
        let mut out = BTreeMap::new();
        for b in BUILTINS {
            if let Some(e) = self.builtin(b.id) {
                out.insert(
                    b.id.to_string(),
                    RuleInfo {
                        id: b.id.to_string(),
                        description: e.description.clone(),
                        help: b.help.to_string(),
                        severity: e.severity,
                    },
                );
            }
        }
        for (id, e) in &self.custom {
            out.insert(
                id.clone(),
                RuleInfo {
                    id: id.clone(),
                    description: e.description.clone(),
                    help: e.message.clone().unwrap_or_else(|| e.description.clone()),
                    severity: e.severity,
                },
            );
        }
        for (id, description, help, severity) in [
            (
                super::WAIVER_WITHOUT_REASON,
                "A waiver annotation must give a reason.",
                "Write why the policy may be broken as the annotation's value.",
                Severity::Error,
            ),
            (
                super::WAIVER_UNKNOWN_POLICY,
                "A waiver annotation must name an existing policy.",
                "Fix the policy id after `platc.dev/waive.`.",
                Severity::Warning,
            ),
        ] {
            out.insert(
                id.to_string(),
                RuleInfo {
                    id: id.to_string(),
                    description: description.to_string(),
                    help: help.to_string(),
                    severity,
                },
            );
        }
        out
    }
}

/// Every built-in policy on, with its default severity and no params.
fn builtin_defaults() -> BTreeMap<&'static str, Option<Effective>> {
    let mut builtins = BTreeMap::new();
    for b in BUILTINS {
        builtins.insert(
            b.id,
            Some(Effective {
                severity: b.severity,
                envs: Vec::new(),
                params: Value::Object(Default::default()),
                description: b.description.to_string(),
                message: None,
            }),
        );
    }
    builtins
}

/// A `policies` entry over its built-in's defaults, if it is one.
fn effective(p: &Policy, b: Option<&Builtin>) -> Effective {
    let default_sev = b.map(|b| b.severity).unwrap_or(Severity::Error);
    let severity = p
        .severity
        .as_deref()
        .and_then(Severity::parse)
        .unwrap_or(default_sev);
    let params = match &p.params {
        Value::Null => Value::Object(Default::default()),
        v => v.clone(),
    };
    Effective {
        severity,
        envs: p.envs.clone(),
        params,
        description: p
            .description
            .clone()
            .or_else(|| b.map(|b| b.description.to_string()))
            .unwrap_or_else(|| format!("platform policy `{}`", p.id)),
        message: p.message.clone(),
    }
}

fn unknown_policy(id: &str, span: &Span) -> Diagnostic {
    let ids: Vec<&str> = BUILTINS.iter().map(|b| b.id).collect();
    let d = Diagnostic::at(
        Code::InvalidValue,
        span,
        format!("policy `{id}` is not a built-in policy and has no `check`"),
    );
    match did_you_mean(id, ids.iter().copied()) {
        Some(c) => d.with_help(format!("did you mean `{c}`?")),
        None => d.with_help(format!(
            "built-in policies: {}; a platform-defined policy needs `check = fun w => ...`",
            ids.join(", ")
        )),
    }
}

fn check_params(b: &Builtin, params: &Value, diags: &mut Diagnostics) {
    let span = Span::file("platform/main.ncl");
    let Some(map) = params.as_object() else {
        return;
    };
    for (name, v) in map {
        let Some((_, kind)) = b.params.iter().find(|(n, _)| n == name) else {
            let names: Vec<&str> = b.params.iter().map(|(n, _)| *n).collect();
            let d = Diagnostic::at(
                Code::UnknownField,
                &span,
                format!("policy `{}` has no param `{name}`", b.id),
            );
            diags.push(match did_you_mean(name, names.iter().copied()) {
                Some(c) => d.with_help(format!("did you mean `{c}`?")),
                None if names.is_empty() => d.with_help(format!("`{}` takes no params", b.id)),
                None => d.with_help(format!("params of `{}`: {}", b.id, names.join(", "))),
            });
            continue;
        };
        let ok = match kind {
            ParamKind::Strings => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            ParamKind::Count => v.as_u64().is_some(),
        };
        if !ok {
            let what = match kind {
                ParamKind::Strings => "an array of strings",
                ParamKind::Count => "a non-negative integer",
            };
            diags.push(Diagnostic::at(
                Code::WrongType,
                &span,
                format!("param `{name}` of policy `{}` must be {what}", b.id),
            ));
        }
    }
}
