//! The monitoring plane, per environment: a ServiceMonitor for every workload that serves
//! metrics, a PrometheusRule (multi-window burn-rate and latency alerts) for every scraped
//! workload whose profile declares SLOs, and Grafana dashboards (`dashboards.rs`): one per
//! workload, one overview per team.
//!
//! Metrics follow the usual HTTP conventions (`http_requests_total` with a `code` label, the
//! `http_request_duration_seconds` histogram); Prometheus adds `namespace` and `service` to every
//! scraped series, which is how rules and panels select one workload.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::origins::{
    Labelled, Origin, Recorder, SELECTOR_KEYS, platform, record_labels, team_origins,
    workload_origin,
};
use super::resource::{namespace_dir, workload_dir};
use super::{EnvCx, Object, PlaneRenderer, Provenance, dashboards};
use crate::diag::{Code, Diagnostic, Diagnostics, Span, did_you_mean};
use crate::graph::{components_on, namespace_id, workload_id};
use crate::model::{Plane, Platform, Slo};
use crate::resolve::{EnvResolution, RWorkload};

mod slo;
pub(super) use slo::{decimal, percent_micros};
mod dashboard;
mod frame;

use frame::{MON, operator_labels, setting, workload_metadata};

pub struct MonitoringPlane;

pub const SERVICE_MONITOR_KIND: &str = "monitoring.coreos.com/ServiceMonitor";
pub const PROMETHEUS_RULE_KIND: &str = "monitoring.coreos.com/PrometheusRule";
/// Workload annotation naming the service port that serves metrics (overrides the profile).
pub const ANN_METRICS_PORT: &str = "platc.dev/metrics-port";
/// Workload annotation with the HTTP path of the metrics (overrides the profile).
pub const ANN_METRICS_PATH: &str = "platc.dev/metrics-path";
const API_VERSION: &str = "monitoring.coreos.com/v1";
const DEFAULT_METRICS_PATH: &str = "/metrics";

/// Where Prometheus scrapes a workload: a service port by name and an HTTP path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrape {
    pub port: String,
    pub path: String,
}

/// The scrape endpoint of a workload. The annotations win over the profile's `metrics`; a
/// profile naming a port the workload does not have means "not scraped" (the golden path is a
/// default, not a demand), while an annotation naming one is a mistake worth an error.
pub fn scrape_target(w: &RWorkload) -> Result<Option<Scrape>, Diagnostic> {
    let ann_port = w.annotations.get(ANN_METRICS_PORT);
    let ann_path = w.annotations.get(ANN_METRICS_PATH);
    let port = match (ann_port, &w.profile.metrics) {
        (Some(p), _) => p.clone(),
        (None, Some(m)) => m.port.clone(),
        (None, None) => {
            return match ann_path {
                Some(_) => Err(Diagnostic::error(
                    Code::InvalidValue,
                    Some(Span::file(w.file.to_string())),
                    format!(
                        "workload `{}` sets `{ANN_METRICS_PATH}` but no metrics port (its profile `{}` declares no `metrics`)",
                        w.name, w.profile_name
                    ),
                )
                .with_help(format!(
                    "add the annotation `{ANN_METRICS_PORT}: <service port name>`"
                ))),
                None => Ok(None),
            };
        }
    };
    if !w.ports.iter().any(|p| p.name == port) {
        if ann_port.is_none() {
            return Ok(None);
        }
        let names: Vec<&str> = w.ports.iter().map(|p| p.name.as_str()).collect();
        let d = Diagnostic::error(
            Code::InvalidValue,
            Some(Span::file(w.file.to_string())),
            format!(
                "annotation `{ANN_METRICS_PORT}` of workload `{}` names port `{port}`, but the workload has no service port of that name",
                w.name
            ),
        );
        return Err(match did_you_mean(&port, names.iter().copied()) {
            Some(c) => d.with_help(format!("did you mean `{c}`?")),
            None if names.is_empty() => d.with_help(
                "declare the port under `service.ports`, or remove the annotation".to_string(),
            ),
            None => d.with_help(format!("service ports: {}", names.join(", "))),
        });
    }
    let path = match (ann_path, &w.profile.metrics) {
        (Some(p), _) => p.clone(),
        (None, Some(m)) => m.path.clone(),
        (None, None) => DEFAULT_METRICS_PATH.to_string(),
    };
    if !path.starts_with('/') || path.chars().any(char::is_whitespace) {
        return Err(Diagnostic::error(
            Code::InvalidValue,
            Some(Span::file(w.file.to_string())),
            format!(
                "metrics path `{path}` of workload `{}` is not an absolute URL path",
                w.name
            ),
        )
        .with_help(format!(
            "write it starting with `/`, e.g. `{ANN_METRICS_PATH}: /metrics`"
        )));
    }
    Ok(Some(Scrape { port, path }))
}

/// Whether an SLO declares any objective (a bare `runbook_url` declares none).
fn has_objectives(slo: &Option<Slo>) -> bool {
    slo.as_ref()
        .is_some_and(|s| s.availability.is_some() || s.latency.is_some())
}

impl PlaneRenderer for MonitoringPlane {
    fn plane(&self) -> Plane {
        Plane::Monitoring
    }

    fn kinds_needed(&self, _res: &EnvResolution, w: &RWorkload) -> Vec<String> {
        // Errors are reported by render_env; here an invalid annotation just needs nothing.
        match scrape_target(w) {
            Ok(Some(_)) => {
                let mut kinds = vec![SERVICE_MONITOR_KIND.to_string()];
                if has_objectives(&w.profile.slo) {
                    kinds.push(PROMETHEUS_RULE_KIND.to_string());
                }
                kinds
            }
            _ => Vec::new(),
        }
    }

    fn render_env(&self, cx: &EnvCx<'_>) -> Result<Vec<Object>, Diagnostics> {
        let mut diags = Diagnostics::new();
        let mut out = Vec::new();
        let env = cx.res.env.as_str();
        // An object whose CRD nobody installs on the cluster would only fail the sync.
        let providers = providers(cx.platform, &cx.res.cluster);
        let production = cx
            .platform
            .environments
            .get(env)
            .is_some_and(|e| e.env_type == "production");

        let (objects, d) = crate::render::par_each(&cx.res.workloads, |w| {
            if !cx.fresh(&workload_id(&w.name)) {
                return Default::default();
            }
            workload_objects(cx, w, &providers, production)
        });
        out.extend(objects);
        diags.extend(d);

        for (ns, team) in cx.res.namespaces() {
            if !cx.fresh(&namespace_id(ns)) {
                continue;
            }
            let board = dashboards::team_dashboard(cx.platform, env, team, ns);
            let mut rec = cx.recorder();
            let cm = dashboard::team_config_map(cx, ns, team, &board, &mut rec);
            let provenance = Provenance {
                source: "platform/main.ncl".into(),
                node: namespace_id(ns),
                via: "renderer:monitoring".into(),
            };
            let o = Object::manifest(&namespace_dir(env, ns), cm, Plane::Monitoring, provenance);
            out.push(cx.finish(o.with_origins(rec)));
        }
        diags.into_result(out)
    }
}

/// A workload's monitoring objects: its ServiceMonitor and SLO rules when it is scraped (and
/// the cluster has the operator), and its dashboard.
fn workload_objects(
    cx: &EnvCx<'_>,
    w: &RWorkload,
    providers: &BTreeMap<String, Option<String>>,
    production: bool,
) -> (Vec<Object>, Diagnostics) {
    let env = cx.res.env.as_str();
    let mut out = Vec::new();
    let mut diags = Diagnostics::new();
    let scrape = match scrape_target(w) {
        Ok(s) => s,
        Err(d) => return (out, d.into()),
    };
    if let Some(s) = &scrape {
        if let Some(p) = providers.get(SERVICE_MONITOR_KIND) {
            out.push(cx.finish(service_monitor(cx, w, s, p.as_deref())));
        }
        if let (Some(slo), Some(p)) = (&w.profile.slo, providers.get(PROMETHEUS_RULE_KIND))
            && has_objectives(&w.profile.slo)
        {
            match prometheus_rule(cx, production, w, slo, p.as_deref()) {
                Ok(o) => out.push(cx.finish(o)),
                Err(d) => diags.push(d),
            }
        }
    }
    let board = dashboards::workload_dashboard(cx.platform, env, w, scrape.as_ref());
    let mut rec = cx.recorder();
    let cm = dashboard::workload_config_map(cx, w, &board, &mut rec);
    out.push(cx.finish(workload_obj(env, w, cm).with_origins(rec)));
    (out, diags)
}

/// Kind → the installed component serving it, with its Helm release name when it has a chart.
fn providers(platform: &Platform, cluster: &str) -> BTreeMap<String, Option<String>> {
    let mut m = BTreeMap::new();
    for name in components_on(platform, cluster) {
        let c = &platform.components[name];
        for kind in &c.provides {
            m.entry(kind.clone())
                .or_insert_with(|| c.chart.as_ref().map(|_| name.to_string()));
        }
    }
    m
}

fn workload_obj(env: &str, w: &RWorkload, value: Value) -> Object {
    Object::manifest(
        &workload_dir(env, &w.name),
        value,
        Plane::Monitoring,
        Provenance {
            source: w.file.to_string(),
            node: workload_id(&w.name),
            via: "renderer:monitoring".into(),
        },
    )
}

/// A workload's ServiceMonitor; each part of its `spec` is recorded (when recording) where
/// it is made.
fn service_monitor(cx: &EnvCx<'_>, w: &RWorkload, s: &Scrape, release: Option<&str>) -> Object {
    let env = cx.res.env.as_str();
    let mut rec = cx.recorder();
    let rule = |r: &'static str| vec![Origin::rule(MON, r, workload_id(&w.name))];
    let labels = operator_labels(cx, w, release, &mut rec);
    let metadata = workload_metadata(
        cx,
        w,
        (w.name.clone(), || workload_origin(cx, &w.name)),
        labels,
        "a ServiceMonitor per workload that serves metrics (with the profile's labels, and the operator's `release`)",
        &mut rec,
    );
    // The Service's selector labels: exactly this workload's Service in this environment.
    let selector = json!({"matchLabels": {
        "app.kubernetes.io/name": w.name,
        "app.kubernetes.io/instance": format!("{}-{env}", w.name),
    }});
    rec.at("spec.selector", || {
        rule("the workload's Service, by its labels")
    });
    if rec.on() {
        let subject = workload_id(&w.name);
        let l = Labelled::env(cx.platform, MON, &subject, env, Some(&w.team));
        record_labels(&mut rec, "spec.selector.matchLabels", SELECTOR_KEYS, &l);
    }
    let namespaces = json!({"matchNames": [w.namespace]});
    rec.at("spec.namespaceSelector", || {
        let mut o = rule("the workload's namespace");
        o.push(platform(
            cx.platform,
            &[format!("teams.{}.namespace", w.team)],
        ));
        o
    });
    rec.at("spec.namespaceSelector.matchNames[0]", || {
        team_origins(cx, w)
    });
    let endpoints = json!([{"port": s.port, "path": s.path, "scheme": "http"}]);
    rec.at("spec.endpoints[0]", || {
        rule("plain HTTP on the metrics port")
    });
    rec.at("spec.endpoints[0].scheme", || {
        rule("plain HTTP on the metrics port")
    });
    rec.at("spec.endpoints[0].port", || {
        setting(cx, w, "metrics.port", Some(ANN_METRICS_PORT))
    });
    rec.at("spec.endpoints[0].path", || {
        setting(cx, w, "metrics.path", Some(ANN_METRICS_PATH))
    });
    // Metrics carry the same team/environment as the objects and the logs.
    let target_labels = json!(["platc.dev/team", "platc.dev/environment"]);
    for f in [
        "spec.targetLabels",
        "spec.targetLabels[0]",
        "spec.targetLabels[1]",
    ] {
        rec.at(f, || rule("series carry the team and environment labels"));
    }
    let v = json!({
        "apiVersion": API_VERSION,
        "kind": "ServiceMonitor",
        "metadata": metadata,
        "spec": {
            "selector": selector,
            "namespaceSelector": namespaces,
            "endpoints": endpoints,
            "targetLabels": target_labels,
        }
    });
    workload_obj(env, w, v).with_origins(rec)
}

fn prometheus_rule(
    cx: &EnvCx<'_>,
    production: bool,
    w: &RWorkload,
    slo: &Slo,
    release: Option<&str>,
) -> Result<Object, Diagnostic> {
    let env = cx.res.env.as_str();
    let mut rec = cx.recorder();
    let labels = operator_labels(cx, w, release, &mut rec);
    let named = || {
        let mut o = vec![Origin::rule(
            MON,
            "the workload's name, `-slo`",
            workload_id(&w.name),
        )];
        o.extend(workload_origin(cx, &w.name));
        o
    };
    let metadata = workload_metadata(
        cx,
        w,
        (format!("{}-slo", w.name), named),
        labels,
        "a PrometheusRule per scraped workload whose profile declares SLOs",
        &mut rec,
    );
    record_rule_spec(cx, w, &mut rec);
    let groups = slo::groups(cx, production, w, slo, &mut rec)?;
    let v = json!({
        "apiVersion": API_VERSION,
        "kind": "PrometheusRule",
        "metadata": metadata,
        "spec": {"groups": groups},
    });
    Ok(workload_obj(env, w, v).with_origins(rec))
}

/// A PrometheusRule's `spec` as a whole: the renderer's alerting scheme and the SLO settings
/// it reads (its groups are recorded where they are made, `slo.rs`).
fn record_rule_spec(cx: &EnvCx<'_>, w: &RWorkload, rec: &mut Recorder) {
    rec.at("spec", || {
        let mut o = vec![Origin::rule(
            MON,
            "multi-window burn-rate alerts for availability, a latency alert, recording rules per window",
            workload_id(&w.name),
        )];
        let slo = w.profile.slo.as_ref();
        if slo.is_some_and(|s| s.availability.is_some()) {
            o.extend(setting(cx, w, "slo.availability", None));
        }
        if slo.is_some_and(|s| s.latency.is_some()) {
            o.extend(setting(cx, w, "slo.latency", None));
        }
        if slo.is_some_and(|s| s.runbook_url.is_some()) {
            o.extend(setting(cx, w, "slo.runbook_url", None));
        }
        o
    });
}
