//! What the monitoring plane's objects are made from, recorded when asked: the scrape port and
//! path from the workload's annotations or its profile's `metrics`, the alerts from the
//! profile's `slo`, the rest by the renderer's rules for the workload.

use super::super::origins::{
    Labelled, Origin, Recorder, platform, profile_setting, record_labels, team_origins,
    workload_origin,
};
use crate::graph::{components_on, namespace_id, workload_id};
use crate::render::{EnvCx, WORKLOAD_LABEL_KEYS};
use crate::resolve::RWorkload;

pub(super) const MON: &str = "monitoring";

/// A profile setting, and platc's own default when no layer wrote it.
pub(super) fn setting(cx: &EnvCx<'_>, w: &RWorkload, path: &str, ann: Option<&str>) -> Vec<Origin> {
    let o = profile_setting(cx, w, path, ann);
    let located = o.is_located();
    let mut out = vec![o];
    if !located {
        out.push(Origin::rule(
            MON,
            "platc's default where no profile layer sets it",
            workload_id(&w.name),
        ));
    }
    out
}

/// `apiVersion`, `kind`, `metadata` of an object made per workload, and its name, namespace
/// and labels (platc's, then the profile's).
fn frame(cx: &EnvCx<'_>, rec: &mut Recorder, w: &RWorkload, rule: &'static str) {
    for f in ["apiVersion", "kind", "metadata"] {
        rec.at(f, || {
            let mut o = vec![Origin::rule(MON, rule, workload_id(&w.name))];
            o.extend(workload_origin(cx, &w.name));
            o
        });
    }
    rec.at("metadata.namespace", || team_origins(cx, w));
    let subject = workload_id(&w.name);
    let l = Labelled::env(cx.platform, MON, &subject, &cx.res.env, Some(&w.team));
    record_labels(rec, "metadata.labels", WORKLOAD_LABEL_KEYS, &l);
}

/// The labels of a ServiceMonitor or PrometheusRule beyond platc's: the profile's, and
/// `release`, the Helm release of the operator serving the kind.
fn operator_labels(cx: &EnvCx<'_>, rec: &mut Recorder, w: &RWorkload, kind: &str) {
    for k in w.profile.labels.keys() {
        rec.record(
            || crate::fieldpath::key("metadata.labels", k),
            || setting(cx, w, &format!("labels.{k}"), None),
        );
    }
    let p = cx.platform;
    let provider = components_on(p, &cx.res.cluster).into_iter().find(|c| {
        p.components
            .get(*c)
            .is_some_and(|c| c.provides.iter().any(|x| x == kind))
    });
    rec.at("metadata.labels.release", || {
        let mut o = vec![Origin::rule(
            MON,
            "the operator's Helm release, which its default selectors match",
            workload_id(&w.name),
        )];
        o.extend(provider.map(|c| {
            platform(
                p,
                &[format!("components.{c}.chart"), format!("components.{c}")],
            )
        }));
        o
    });
}

/// A ServiceMonitor's frame, name and labels; its `spec` is recorded where it is made.
pub(super) fn service_monitor(cx: &EnvCx<'_>, w: &RWorkload) -> Recorder {
    let mut rec = cx.recorder();
    if !rec.on() {
        return rec;
    }
    frame(
        cx,
        &mut rec,
        w,
        "a ServiceMonitor per workload that serves metrics (with the profile's labels, and the operator's `release`)",
    );
    rec.at("metadata.name", || workload_origin(cx, &w.name));
    operator_labels(cx, &mut rec, w, super::SERVICE_MONITOR_KIND);
    rec
}

pub(super) fn prometheus_rule(cx: &EnvCx<'_>, w: &RWorkload) -> Recorder {
    let mut rec = cx.recorder();
    if !rec.on() {
        return rec;
    }
    frame(
        cx,
        &mut rec,
        w,
        "a PrometheusRule per scraped workload whose profile declares SLOs",
    );
    rec.at("metadata.name", || {
        let mut o = vec![Origin::rule(
            MON,
            "the workload's name, `-slo`",
            workload_id(&w.name),
        )];
        o.extend(workload_origin(cx, &w.name));
        o
    });
    operator_labels(cx, &mut rec, w, super::PROMETHEUS_RULE_KIND);
    // `spec.groups` is recorded where the groups are made (`slo.rs`).
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
    rec
}

pub(super) fn workload_dashboard(cx: &EnvCx<'_>, w: &RWorkload) -> Recorder {
    let mut rec = cx.recorder();
    if !rec.on() {
        return rec;
    }
    frame(
        cx,
        &mut rec,
        w,
        "a Grafana dashboard ConfigMap per workload",
    );
    let name = format!("{}-dashboard", w.name);
    let named = || {
        let mut o = vec![Origin::rule(
            MON,
            "a workload's dashboard is named after it, `-dashboard`",
            workload_id(&w.name),
        )];
        o.extend(workload_origin(cx, &w.name));
        o
    };
    let data = || {
        let mut o = vec![Origin::rule(
            MON,
            "the workload's panels (by its profile's kind), its SLO thresholds",
            workload_id(&w.name),
        )];
        o.push(platform(
            cx.platform,
            &[
                format!("profiles.{}.kind", w.profile_name),
                format!("profiles.{}", w.profile_name),
            ],
        ));
        if w.profile.slo.is_some() {
            o.extend(setting(cx, w, "slo", None));
        }
        o
    };
    let d = Dashboard {
        subject: workload_id(&w.name),
        name: &name,
        team: &w.team,
    };
    d.record(cx, &mut rec, named, data);
    rec
}

/// A dashboard ConfigMap being recorded: the graph element it is made for, its name, the team
/// whose folder it is in.
struct Dashboard<'a> {
    subject: String,
    name: &'a str,
    team: &'a str,
}

impl Dashboard<'_> {
    /// Its name, labels of the Grafana sidecar, folder, and its one data key, the dashboard's
    /// JSON (`named` and `data` give their causes).
    fn record(
        &self,
        cx: &EnvCx<'_>,
        rec: &mut Recorder,
        named: impl Fn() -> Vec<Origin>,
        data: impl Fn() -> Vec<Origin>,
    ) {
        let p = cx.platform;
        let rule = |r: &'static str| vec![Origin::rule(MON, r, self.subject.clone())];
        rec.at("metadata.name", &named);
        rec.at("metadata.labels[\"app.kubernetes.io/component\"]", || {
            rule("a dashboard ConfigMap's component is `dashboard`")
        });
        rec.at("metadata.labels.grafana_dashboard", || {
            rule("Grafana's sidecar loads the ConfigMaps labelled `grafana_dashboard`")
        });
        rec.at("metadata.annotations.grafana_folder", || {
            let mut o = rule("a team's dashboards are in the team's folder");
            o.push(platform(p, &[format!("teams.{}", self.team)]));
            o
        });
        rec.at("data", &data);
        let file = format!("{}-{}.json", self.name, cx.res.env);
        rec.record(|| crate::fieldpath::key("data", &file), &data);
    }
}

pub(super) fn team_dashboard(cx: &EnvCx<'_>, ns: &str, team: &str) -> Recorder {
    let mut rec = cx.recorder();
    if !rec.on() {
        return rec;
    }
    let p = cx.platform;
    let made = || {
        vec![
            Origin::rule(
                MON,
                "a constant-size overview dashboard per team and environment",
                namespace_id(ns),
            ),
            platform(
                p,
                &[format!("teams.{team}.namespace"), format!("teams.{team}")],
            ),
        ]
    };
    for f in ["apiVersion", "kind", "metadata", "metadata.namespace"] {
        rec.at(f, made);
    }
    let subject = namespace_id(ns);
    let l = Labelled::env(p, MON, &subject, &cx.res.env, Some(team));
    record_labels(&mut rec, "metadata.labels", WORKLOAD_LABEL_KEYS, &l);
    let name = format!("{team}-team-dashboard");
    let named = || {
        vec![
            Origin::rule(
                MON,
                "a team's overview is named `<team>-team-dashboard`",
                namespace_id(ns),
            ),
            platform(p, &[format!("teams.{team}")]),
        ]
    };
    let d = Dashboard {
        subject,
        name: &name,
        team,
    };
    d.record(cx, &mut rec, named, made);
    rec
}
