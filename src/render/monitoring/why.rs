//! What the monitoring plane's objects are made from, recorded when asked: the scrape port and
//! path from the workload's annotations or its profile's `metrics`, the alerts from the
//! profile's `slo`, the rest by the renderer's rules for the workload.

use super::super::origins::{Origin, Recorder, platform, profile_setting, workload_origin};
use super::{ANN_METRICS_PATH, ANN_METRICS_PORT};
use crate::graph::{namespace_id, workload_id};
use crate::render::EnvCx;
use crate::resolve::RWorkload;

const MON: &str = "monitoring";

/// A profile setting, and platc's own default when no layer wrote it.
fn setting(cx: &EnvCx<'_>, w: &RWorkload, path: &str, ann: Option<&str>) -> Vec<Origin> {
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

/// `apiVersion`, `kind`, `metadata` of an object made per workload.
fn frame(cx: &EnvCx<'_>, rec: &mut Recorder, w: &RWorkload, rule: &'static str) {
    for f in ["apiVersion", "kind", "metadata"] {
        rec.at(f, || {
            let mut o = vec![Origin::rule(MON, rule, workload_id(&w.name))];
            o.extend(workload_origin(cx, &w.name));
            o
        });
    }
}

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
    let rule = |r: &'static str| vec![Origin::rule(MON, r, workload_id(&w.name))];
    rec.at("spec.selector", || {
        rule("the workload's Service, by its labels")
    });
    rec.at("spec.namespaceSelector", || {
        let mut o = rule("the workload's namespace");
        o.push(platform(
            cx.platform,
            &[format!("teams.{}.namespace", w.team)],
        ));
        o
    });
    rec.at("spec.targetLabels", || {
        rule("series carry the team and environment labels")
    });
    rec.at("spec.endpoints[0]", || {
        rule("plain HTTP on the metrics port")
    });
    rec.at("spec.endpoints[0].port", || {
        setting(cx, w, "metrics.port", Some(ANN_METRICS_PORT))
    });
    rec.at("spec.endpoints[0].path", || {
        setting(cx, w, "metrics.path", Some(ANN_METRICS_PATH))
    });
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
    rec.at("data", || {
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
    });
    rec
}

pub(super) fn team_dashboard(cx: &EnvCx<'_>, ns: &str, team: &str) -> Recorder {
    let mut rec = cx.recorder();
    for f in ["apiVersion", "kind", "metadata", "data"] {
        rec.at(f, || {
            vec![
                Origin::rule(
                    MON,
                    "a constant-size overview dashboard per team and environment",
                    namespace_id(ns),
                ),
                platform(
                    cx.platform,
                    &[format!("teams.{team}.namespace"), format!("teams.{team}")],
                ),
            ]
        });
    }
    rec
}
