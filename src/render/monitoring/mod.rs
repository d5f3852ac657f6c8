//! The monitoring plane, per environment: a ServiceMonitor for every workload that serves
//! metrics, a PrometheusRule (multi-window burn-rate and latency alerts) for every scraped
//! workload whose profile declares SLOs, and Grafana dashboards (`dashboards.rs`): one per
//! workload, one overview per team.
//!
//! Metrics follow the usual HTTP conventions (`http_requests_total` with a `code` label, the
//! `http_request_duration_seconds` histogram); Prometheus adds `namespace` and `service` to every
//! scraped series, which is how rules and panels select one workload.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::resource::{namespace_dir, workload_dir};
use super::{EnvCx, Object, PlaneRenderer, Provenance, dashboards, workload_labels};
use crate::diag::{Code, Diagnostic, Diagnostics, Span, did_you_mean};
use crate::graph::{components_on, namespace_id, workload_id};
use crate::model::{LatencySlo, Plane, Platform, Slo};
use crate::resolve::{EnvResolution, RWorkload};

mod why;
mod why_slo;

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
            // `-team-` keeps it apart from a workload named like its team.
            let name = format!("{team}-team-dashboard");
            let labels = workload_labels(cx.platform, env, team, &name);
            let board = dashboards::team_dashboard(cx.platform, env, team, ns);
            out.push(
                cx.finish(
                    Object::manifest(
                        &namespace_dir(env, ns),
                        dashboards::config_map(name, ns, team, labels, env, &board),
                        Plane::Monitoring,
                        Provenance {
                            source: "platform/main.ncl".into(),
                            node: namespace_id(ns),
                            via: "renderer:monitoring".into(),
                        },
                    )
                    .with_origins(why::team_dashboard(cx, ns, team)),
                ),
            );
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
            let sm = service_monitor(cx.platform, env, w, s, p.as_deref());
            let why = why::service_monitor(cx, w);
            out.push(cx.finish(workload_obj(env, w, sm).with_origins(why)));
        }
        if let (Some(slo), Some(p)) = (&w.profile.slo, providers.get(PROMETHEUS_RULE_KIND))
            && has_objectives(&w.profile.slo)
        {
            match prometheus_rule(cx.platform, env, production, w, slo, p.as_deref()) {
                Ok(v) => out.push(
                    cx.finish(workload_obj(env, w, v).with_origins(why::prometheus_rule(cx, w))),
                ),
                Err(d) => diags.push(d),
            }
        }
    }
    let board = dashboards::workload_dashboard(cx.platform, env, w, scrape.as_ref());
    let name = format!("{}-dashboard", w.name);
    let labels = workload_labels(cx.platform, env, &w.team, &w.name);
    let cm = dashboards::config_map(name, &w.namespace, &w.team, labels, env, &board);
    let why = why::workload_dashboard(cx, w);
    out.push(cx.finish(workload_obj(env, w, cm).with_origins(why)));
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

/// The workload's labels, plus `release` so kube-prometheus-stack's default selectors (which
/// match on the Helm release of the operator) pick the object up.
fn labels(platform: &Platform, env: &str, w: &RWorkload, release: Option<&str>) -> Value {
    let mut l = workload_labels(platform, env, &w.team, &w.name);
    for (k, v) in &w.profile.labels {
        l.insert(k.clone(), json!(v));
    }
    if let Some(r) = release {
        l.insert("release".into(), json!(r));
    }
    Value::Object(l)
}

fn service_monitor(
    platform: &Platform,
    env: &str,
    w: &RWorkload,
    s: &Scrape,
    release: Option<&str>,
) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "ServiceMonitor",
        "metadata": {"name": w.name, "namespace": w.namespace, "labels": labels(platform, env, w, release)},
        "spec": {
            // The Service's selector labels: exactly this workload's Service in this environment.
            "selector": {"matchLabels": {
                "app.kubernetes.io/name": w.name,
                "app.kubernetes.io/instance": format!("{}-{env}", w.name),
            }},
            "namespaceSelector": {"matchNames": [w.namespace]},
            "endpoints": [{"port": s.port, "path": s.path, "scheme": "http"}],
            // Metrics carry the same team/environment as the objects and the logs.
            "targetLabels": ["platc.dev/team", "platc.dev/environment"],
        }
    })
}

/// `n / 10^scale` written exactly (`decimal(144, 4)` = `0.0144`): thresholds in rules must not
/// carry float noise such as `0.014400000000000001`.
pub(super) fn decimal(n: u64, scale: u32) -> String {
    let p = 10u64.pow(scale);
    let (int, frac) = (n / p, n % p);
    if frac == 0 {
        return int.to_string();
    }
    let digits = format!("{frac:0width$}", width = scale as usize);
    format!("{int}.{}", digits.trim_end_matches('0'))
}

/// A percentage in units of 10⁻⁶ of a ratio (`99.9` → 999000), when it is in (0, 100).
pub(super) fn percent_micros(v: f64) -> Option<u64> {
    if !(v > 0.0 && v < 100.0) {
        return None;
    }
    let scaled = (v * 10_000.0).round();
    (scaled > 0.0 && scaled < 1_000_000.0).then_some(scaled as u64)
}

/// One burn-rate alert of the SRE workbook's multi-window table (30-day budget): it fires when
/// the error ratio over both windows exceeds `factor` times the budget.
struct Burn {
    alert: &'static str,
    long: &'static str,
    short: &'static str,
    /// Burn-rate factor in tenths (14.4 → 144).
    factor_tenths: u64,
    for_: &'static str,
    page: bool,
    exhausted_in: &'static str,
}

const BURNS: [Burn; 3] = [
    Burn {
        alert: "AvailabilityBudgetFastBurn",
        long: "1h",
        short: "5m",
        factor_tenths: 144,
        for_: "2m",
        page: true,
        exhausted_in: "about 2 days",
    },
    Burn {
        alert: "AvailabilityBudgetSlowBurn",
        long: "6h",
        short: "30m",
        factor_tenths: 60,
        for_: "15m",
        page: true,
        exhausted_in: "5 days",
    },
    Burn {
        alert: "AvailabilityBudgetLongBurn",
        long: "3d",
        short: "6h",
        factor_tenths: 10,
        for_: "1h",
        page: false,
        exhausted_in: "30 days",
    },
];

/// Windows whose error ratio is recorded, shortest first.
const WINDOWS: [&str; 5] = ["5m", "30m", "1h", "6h", "3d"];

fn error_ratio_record(window: &str) -> String {
    format!("namespace_service:http_requests_errors:ratio_rate{window}")
}

fn prometheus_rule(
    platform: &Platform,
    env: &str,
    production: bool,
    w: &RWorkload,
    slo: &Slo,
    release: Option<&str>,
) -> Result<Value, Diagnostic> {
    let rules = SloRules {
        env,
        production,
        w,
        slo,
        sel: format!("namespace=\"{}\", service=\"{}\"", w.namespace, w.name),
    };
    let mut groups = Vec::new();
    if let Some(a) = slo.availability {
        groups.extend(rules.availability_groups(a)?);
    }
    if let Some(l) = &slo.latency {
        groups.push(rules.latency_group(l)?);
    }
    Ok(json!({
        "apiVersion": API_VERSION,
        "kind": "PrometheusRule",
        "metadata": {"name": format!("{}-slo", w.name), "namespace": w.namespace, "labels": labels(platform, env, w, release)},
        "spec": {"groups": groups},
    }))
}

/// What every rule of one workload's PrometheusRule shares.
struct SloRules<'a> {
    env: &'a str,
    production: bool,
    w: &'a RWorkload,
    slo: &'a Slo,
    /// The PromQL label selector of the workload's series.
    sel: String,
}

impl SloRules<'_> {
    fn rule_labels(&self, severity: Option<&str>, kind: &str) -> Value {
        let mut m = Map::new();
        m.insert("team".into(), json!(self.w.team));
        m.insert("environment".into(), json!(self.env));
        m.insert("workload".into(), json!(self.w.name));
        m.insert("slo".into(), json!(kind));
        if let Some(s) = severity {
            m.insert("severity".into(), json!(s));
        }
        Value::Object(m)
    }

    fn runbook(&self, alert: &str) -> Option<String> {
        self.slo.runbook_url.as_ref().map(|u| {
            u.replace("{alert}", alert)
                .replace("{workload}", &self.w.name)
                .replace("{team}", &self.w.team)
                .replace("{environment}", self.env)
        })
    }

    fn annotations(&self, alert: &str, summary: String, description: String) -> Value {
        let mut m = Map::new();
        m.insert("summary".into(), json!(summary));
        m.insert("description".into(), json!(description));
        if let Some(u) = self.runbook(alert) {
            m.insert("runbook_url".into(), json!(u));
        }
        Value::Object(m)
    }

    /// An SLO setting that cannot make a rule, named with the layer that set it.
    fn invalid(&self, field: &str, what: String) -> Diagnostic {
        let w = self.w;
        let origin = w
            .provenance
            .get(&format!("slo.{field}"))
            .cloned()
            .unwrap_or_else(|| format!("profile {}", w.profile_name));
        Diagnostic::error(
            Code::InvalidValue,
            Some(Span::file("platform/main.ncl")),
            format!(
                "`slo.{field}` of workload `{}` in environment `{}` ({origin}) {what}",
                w.name, self.env
            ),
        )
    }

    /// The error ratio recorded per window, then one alert per burn rate.
    fn availability_groups(&self, a: f64) -> Result<[Value; 2], Diagnostic> {
        let (w, sel) = (self.w, &self.sel);
        let objective = percent_micros(a).ok_or_else(|| {
            self.invalid(
                "availability",
                format!("is {a}, expected a percentage strictly between 0 and 100"),
            )
            .with_help("write the objective as a percentage, e.g. `availability = 99.9`")
        })?;
        let budget = 1_000_000 - objective;
        let records: Vec<Value> = WINDOWS
            .iter()
            .map(|win| {
                json!({
                    "record": error_ratio_record(win),
                    "expr": format!(
                        "sum by (namespace, service) (rate(http_requests_total{{{sel}, code=~\"5..\"}}[{win}])) / sum by (namespace, service) (rate(http_requests_total{{{sel}}}[{win}]))"
                    ),
                    "labels": self.rule_labels(None, "availability"),
                })
            })
            .collect();
        let objective_text = decimal(objective, 4);
        let alerts: Vec<Value> = BURNS
            .iter()
            .map(|b| self.burn_alert(b, budget, &objective_text))
            .collect();
        Ok([
            json!({"name": format!("{}.slo.rules", w.name), "rules": records}),
            json!({"name": format!("{}.slo.availability", w.name), "rules": alerts}),
        ])
    }

    /// One multi-window burn-rate alert: both windows above `factor` × the error budget.
    fn burn_alert(&self, b: &Burn, budget: u64, objective_text: &str) -> Value {
        let (w, env, sel) = (self.w, self.env, &self.sel);
        let threshold = decimal(b.factor_tenths * budget, 7);
        let factor = decimal(b.factor_tenths, 1);
        let severity = if b.page && self.production {
            "critical"
        } else {
            "warning"
        };
        json!({
            "alert": b.alert,
            "expr": format!(
                "{long}{{{sel}}} > {threshold} and {short}{{{sel}}} > {threshold}",
                long = error_ratio_record(b.long),
                short = error_ratio_record(b.short),
            ),
            "for": b.for_,
            "labels": self.rule_labels(Some(severity), "availability"),
            "annotations": self.annotations(
                b.alert,
                format!("{} ({env}) is burning its error budget at {factor}x the sustainable rate", w.name),
                format!(
                    "{{{{ $value | humanizePercentage }}}} of requests to {} in {env} failed with a 5xx over the last {} (and {}); at this rate the 30-day error budget of the {objective_text}% availability objective is gone in {}.",
                    w.name, b.long, b.short, b.exhausted_in
                ),
            ),
        })
    }

    fn latency_group(&self, l: &LatencySlo) -> Result<Value, Diagnostic> {
        let (w, env, sel) = (self.w, self.env, &self.sel);
        let q = percent_micros(l.percentile).ok_or_else(|| {
            self.invalid(
                "latency.percentile",
                format!(
                    "is {}, expected a percentage strictly between 0 and 100",
                    l.percentile
                ),
            )
            .with_help("write the percentile as a percentage, e.g. `percentile = 99`")
        })?;
        if l.threshold_ms == 0 {
            return Err(self
                .invalid("latency.threshold_ms", "is 0".into())
                .with_help(
                    "give the latency objective in milliseconds, e.g. `threshold_ms = 300`",
                ));
        }
        let quantile = decimal(q, 6);
        let seconds = decimal(u64::from(l.threshold_ms), 3);
        let percentile = decimal(q, 4);
        let alert = "LatencyObjectiveMissed";
        Ok(
            json!({"name": format!("{}.slo.latency", w.name), "rules": [{
                "alert": alert,
                "expr": format!(
                    "histogram_quantile({quantile}, sum by (namespace, service, le) (rate(http_request_duration_seconds_bucket{{{sel}}}[5m]))) > {seconds}"
                ),
                "for": "10m",
                "labels": self.rule_labels(Some("warning"), "latency"),
                "annotations": self.annotations(
                    alert,
                    format!("{} ({env}) p{percentile} latency is above {} ms", w.name, l.threshold_ms),
                    format!(
                        "The {percentile}th percentile of request latency of {} in {env} has been {{{{ $value | humanizeDuration }}}} for 10 minutes; the objective is {} ms.",
                        w.name, l.threshold_ms
                    ),
                ),
            }]}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal(144 * 1000, 7), "0.0144");
        assert_eq!(decimal(60 * 5000, 7), "0.03");
        assert_eq!(decimal(10 * 1000, 7), "0.001");
        assert_eq!(decimal(300, 3), "0.3");
        assert_eq!(decimal(1500, 3), "1.5");
        assert_eq!(decimal(2000, 3), "2");
        assert_eq!(decimal(990_000, 6), "0.99");
        assert_eq!(decimal(999_000, 4), "99.9");
    }

    #[test]
    fn percentages_scale_to_micros() {
        assert_eq!(percent_micros(99.9), Some(999_000));
        assert_eq!(percent_micros(99.5), Some(995_000));
        assert_eq!(percent_micros(99.95), Some(999_500));
        assert_eq!(percent_micros(100.0), None);
        assert_eq!(percent_micros(0.0), None);
        assert_eq!(percent_micros(f64::NAN), None);
        assert_eq!(percent_micros(99.999_999), None);
    }

    #[test]
    fn burn_thresholds_follow_the_workbook() {
        // 99.9 % → a 0.1 % budget; 14.4x, 6x and 1x of it.
        let budget = 1_000_000 - 999_000;
        let t: Vec<String> = BURNS
            .iter()
            .map(|b| decimal(b.factor_tenths * budget, 7))
            .collect();
        assert_eq!(t, ["0.0144", "0.006", "0.001"]);
    }
}
