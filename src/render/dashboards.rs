//! Grafana dashboards' JSON (the ConfigMaps the dashboard sidecar loads them from are
//! `monitoring/dashboard.rs`'s): one per workload (its own panels and SLO thresholds) and one
//! overview per team and environment.
//!
//! A dashboard belongs to the graph node whose data it reads: a workload's to the workload, the
//! team overview to the namespace. The overview therefore names no workload: its panels group
//! the namespace's series by `service`, and its links list the workloads' dashboards by tag. A
//! team of any size thus gets an overview of the same few kilobytes (one row per workload would
//! pass the API server's object size limit at a few hundred workloads), and editing one
//! workload re-renders one small dashboard, not its team's.

use serde_json::{Value, json};

use super::monitoring::{Scrape, decimal, percent_micros};
use crate::model::Platform;
use crate::resolve::RWorkload;

/// The label Grafana's dashboard sidecar watches for.
pub const DASHBOARD_LABEL: &str = "grafana_dashboard";

/// Grafana's dashboard uids are at most 40 characters.
fn dashboard_uid(parts: &[&str]) -> String {
    let uid = format!("platc-{}", parts.join("-"));
    if uid.len() <= 40 {
        uid
    } else {
        format!("platc-{}", crate::resolve::short_hash(&uid))
    }
}

/// Builds panels with stable ids (their position) on a 24-column grid.
struct Panels {
    list: Vec<Value>,
    y: u32,
}

/// A time-series panel: title, unit, queries, and the objective drawn as a threshold line.
type Panel = (String, &'static str, Vec<Value>, Option<String>);

impl Panels {
    fn new() -> Panels {
        Panels {
            list: Vec::new(),
            y: 0,
        }
    }

    fn row(&mut self, title: String) {
        let id = self.list.len() + 1;
        self.list.push(json!({
            "id": id, "type": "row", "title": title, "collapsed": false, "panels": [],
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
        }));
        self.y += 1;
    }

    /// One line of equally wide time-series panels.
    fn line(&mut self, panels: Vec<Panel>) {
        let width = 24 / panels.len().max(1) as u32;
        for (i, (title, unit, targets, threshold)) in panels.into_iter().enumerate() {
            let id = self.list.len() + 1;
            let mut defaults = json!({"unit": unit});
            if let Some(t) = threshold {
                // The objective as a red line: above it, the SLO is being missed.
                let value: Value = t.parse::<f64>().map(|f| json!(f)).unwrap_or(Value::Null);
                defaults["thresholds"] = json!({"mode": "absolute", "steps": [
                    {"color": "green", "value": null},
                    {"color": "red", "value": value},
                ]});
                defaults["custom"] = json!({"thresholdsStyle": {"mode": "line"}});
            }
            // Values are moved in after `json!`, which would copy them through a serializer.
            let mut panel = json!({
                "id": id,
                "type": "timeseries",
                "title": title,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": width, "x": width * i as u32, "y": self.y},
                "fieldConfig": {"overrides": []},
            });
            panel["targets"] = Value::Array(targets);
            panel["fieldConfig"]["defaults"] = defaults;
            self.list.push(panel);
        }
        self.y += 8;
    }
}

fn target(ref_id: &str, expr: String, legend: &str) -> Value {
    json!({
        "refId": ref_id,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "expr": expr,
        "legendFormat": legend,
    })
}

/// What every platc dashboard has: the data source variable, the team's tags, and a drop-down
/// of the team's other dashboards in the environment (Grafana lists those carrying every tag).
fn board(
    uid: String,
    title: String,
    description: String,
    tags: Vec<String>,
    team_tags: &[String],
    panels: Panels,
) -> Value {
    let mut board = json!({
        "uid": uid,
        "title": title,
        "description": description,
        "tags": tags,
        "editable": false,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "timezone": "utc",
        "templating": {"list": [{
            "name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "refresh": 1,
        }]},
        "annotations": {"list": []},
        "links": [{
            "type": "dashboards", "title": "Team dashboards", "tags": team_tags,
            "asDropdown": true, "includeVars": true, "keepTime": true,
        }],
    });
    board["panels"] = Value::Array(panels.list);
    board
}

fn team_tags(team: &str, env: &str) -> Vec<String> {
    vec![
        "platc".into(),
        format!("team:{team}"),
        format!("environment:{env}"),
    ]
}

/// What an HTTP line shows: one workload's series (by status code, with its SLO objectives as
/// threshold lines), or a namespace's grouped by workload (`service`).
enum Http<'a> {
    Workload(&'a RWorkload),
    ByService,
}

/// Request rate, error ratio and p99 latency of the series `sel` selects.
fn http_line(sel: &str, of: Http<'_>) -> Vec<Panel> {
    let slo = match of {
        Http::Workload(w) => w.profile.slo.as_ref(),
        Http::ByService => None,
    };
    let by_service = matches!(of, Http::ByService);
    let sum = |expr: String| match by_service {
        true => format!("sum by (service) ({expr})"),
        false => format!("sum({expr})"),
    };
    let le = if by_service { "service, le" } else { "le" };
    let quantile = |q: &str| {
        format!(
            "histogram_quantile({q}, sum by ({le}) (rate(http_request_duration_seconds_bucket{{{sel}}}[5m])))"
        )
    };
    let legend = |own: &str| if by_service { "{{service}}" } else { own }.to_string();
    let mut latency = vec![target("A", quantile("0.99"), &legend("p99"))];
    if let Some(q) = slo
        .and_then(|s| s.latency.as_ref())
        .and_then(|l| percent_micros(l.percentile))
        .filter(|q| *q != 990_000)
    {
        latency.push(target(
            "B",
            quantile(&decimal(q, 6)),
            &format!("p{}", decimal(q, 4)),
        ));
    }
    let rate_by = if by_service { "service" } else { "code" };
    let requests = format!("rate(http_requests_total{{{sel}}}[5m])");
    let errors = format!("rate(http_requests_total{{{sel}, code=~\"5..\"}}[5m])");
    vec![
        (
            "Request rate".into(),
            "reqps",
            vec![target(
                "A",
                format!("sum by ({rate_by}) ({requests})"),
                &format!("{{{{{rate_by}}}}}"),
            )],
            None,
        ),
        (
            "Error ratio (5xx)".into(),
            "percentunit",
            vec![target(
                "A",
                format!("{} / {}", sum(errors), sum(requests)),
                &legend("errors"),
            )],
            slo.and_then(|s| s.availability)
                .and_then(percent_micros)
                .map(|a| decimal(1_000_000 - a, 6)),
        ),
        (
            "Latency p99".into(),
            "s",
            latency,
            slo.and_then(|s| s.latency.as_ref())
                .map(|l| decimal(u64::from(l.threshold_ms), 3)),
        ),
    ]
}

/// CPU and memory by pod of the pods matching `pods` (a label selector's body).
fn resource_line(pods: &str) -> Vec<Panel> {
    vec![
        (
            "CPU".into(),
            "short",
            vec![target(
                "A",
                format!("sum by (pod) (rate(container_cpu_usage_seconds_total{{{pods}}}[5m]))"),
                "{{pod}}",
            )],
            None,
        ),
        (
            "Memory (working set)".into(),
            "bytes",
            vec![target(
                "A",
                format!("sum by (pod) (container_memory_working_set_bytes{{{pods}}})"),
                "{{pod}}",
            )],
            None,
        ),
    ]
}

/// The dashboard of one workload in one environment: HTTP panels when it is scraped, CPU and
/// memory always.
pub fn workload_dashboard(
    platform: &Platform,
    env: &str,
    w: &RWorkload,
    scraped: Option<&Scrape>,
) -> Value {
    let (team, namespace) = (w.team.as_str(), w.namespace.as_str());
    let kind = w.profile.kind.as_str();
    let mut p = Panels::new();
    p.row(format!("{} ({kind})", w.name));
    if scraped.is_some() {
        let sel = format!("namespace=\"{namespace}\", service=\"{}\"", w.name);
        p.line(http_line(&sel, Http::Workload(w)));
    }
    // Pods of a Deployment are `<name>-<replicaset hash>-<suffix>`, of a CronJob
    // `<name>-<schedule time>-<suffix>`: this never matches a workload named `<name>-x`.
    let pods = format!(
        "namespace=\"{namespace}\", pod=~\"{}-[a-z0-9]+-[a-z0-9]{{5}}\", container!=\"\"",
        w.name
    );
    p.line(resource_line(&pods));
    let team_tags = team_tags(team, env);
    let mut tags = team_tags.clone();
    tags.push(format!("workload:{}", w.name));
    board(
        dashboard_uid(&["w", &w.name, env]),
        format!("{} ({env})", w.name),
        format!(
            "Workload {} of team {team} in environment {env} of platform {} (generated by platc; edit the workload, not this dashboard).",
            w.name, platform.name
        ),
        tags,
        &team_tags,
        p,
    )
}

/// The overview of one team in one environment: the namespace's series by workload (`service`)
/// and by pod, and the drop-down of the workloads' own dashboards.
pub fn team_dashboard(platform: &Platform, env: &str, team: &str, namespace: &str) -> Value {
    let ns = format!("namespace=\"{namespace}\"");
    let mut p = Panels::new();
    p.row("HTTP by workload (scraped workloads)".into());
    p.line(http_line(&ns, Http::ByService));
    p.row("Resources by pod".into());
    p.line(resource_line(&format!("{ns}, container!=\"\"")));
    let tags = team_tags(team, env);
    let mut own = tags.clone();
    own.push("overview".into());
    board(
        dashboard_uid(&["t", team, env]),
        format!("{team} ({env})"),
        format!(
            "Workloads of team {team} in environment {env} of platform {} (generated by platc; each workload has its own dashboard, under Team dashboards).",
            platform.name
        ),
        own,
        &tags,
        p,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_dashboard_uids_are_hashed() {
        assert_eq!(dashboard_uid(&["t", "data", "prod"]), "platc-t-data-prod");
        let long = dashboard_uid(&[&"t".repeat(40), "prod"]);
        assert_eq!(long.len(), "platc-".len() + 8);
        assert!(long.starts_with("platc-"));
    }
}
