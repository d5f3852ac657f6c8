//! Grafana dashboard ConfigMaps: one per workload, one overview per team and environment (the
//! boards themselves are `render/dashboards.rs`'s), each field recorded beside its value.

use serde_json::{Map, Value, json};

use super::super::origins::{Origin, Recorder, platform, workload_origin};
use super::frame::{MON, platc_labels, setting, workload_metadata};
use crate::graph::{namespace_id, workload_id};
use crate::render::EnvCx;
use crate::render::dashboards::DASHBOARD_LABEL;
use crate::resolve::RWorkload;

/// A workload's dashboard ConfigMap, for `board`.
pub(super) fn workload_config_map(
    cx: &EnvCx<'_>,
    w: &RWorkload,
    board: &Value,
    rec: &mut Recorder,
) -> Value {
    let name = format!("{}-dashboard", w.name);
    let subject = workload_id(&w.name);
    let labels = platc_labels(cx, &subject, &w.team, &w.name, rec);
    let named = || {
        let mut o = vec![Origin::rule(
            MON,
            "a workload's dashboard is named after it, `-dashboard`",
            subject.clone(),
        )];
        o.extend(workload_origin(cx, &w.name));
        o
    };
    let rule = "a Grafana dashboard ConfigMap per workload";
    let metadata = workload_metadata(cx, w, (name.clone(), named), labels, rule, rec);
    let data = || {
        let mut o = vec![Origin::rule(
            MON,
            "the workload's panels (by its profile's kind), its SLO thresholds",
            subject.clone(),
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
        subject: &subject,
        name: &name,
        team: &w.team,
    };
    d.config_map(cx, metadata, board, data, rec)
}

/// A team's overview ConfigMap in its namespace `ns`, for `board`.
pub(super) fn team_config_map(
    cx: &EnvCx<'_>,
    ns: &str,
    team: &str,
    board: &Value,
    rec: &mut Recorder,
) -> Value {
    let p = cx.platform;
    let subject = namespace_id(ns);
    let made = || {
        vec![
            Origin::rule(
                MON,
                "a constant-size overview dashboard per team and environment",
                subject.clone(),
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
    // `-team-` keeps it apart from a workload named like its team.
    let name = format!("{team}-team-dashboard");
    rec.at("metadata.name", || {
        vec![
            Origin::rule(
                MON,
                "a team's overview is named `<team>-team-dashboard`",
                subject.clone(),
            ),
            platform(p, &[format!("teams.{team}")]),
        ]
    });
    let labels = platc_labels(cx, &subject, team, &name, rec);
    let metadata = json!({"name": name, "namespace": ns, "labels": labels});
    let d = Dashboard {
        subject: &subject,
        name: &name,
        team,
    };
    d.config_map(cx, metadata, board, made, rec)
}

/// A dashboard ConfigMap being made: the graph element it is made for, its name, the team
/// whose folder it is in.
struct Dashboard<'a> {
    subject: &'a str,
    name: &'a str,
    team: &'a str,
}

impl Dashboard<'_> {
    /// The ConfigMap the sidecar loads `board` from, into the team's folder, around `metadata`;
    /// its one data key, unique in the folder, is `<name>-<environment>.json` (`data` gives the
    /// board's cause).
    fn config_map(
        &self,
        cx: &EnvCx<'_>,
        mut metadata: Value,
        board: &Value,
        data: impl Fn() -> Vec<Origin>,
        rec: &mut Recorder,
    ) -> Value {
        let rule = |r: &'static str| vec![Origin::rule(MON, r, self.subject)];
        let labels = metadata["labels"].as_object_mut();
        if let Some(labels) = labels {
            labels.insert("app.kubernetes.io/component".into(), json!("dashboard"));
            labels.insert(DASHBOARD_LABEL.into(), json!("1"));
        }
        rec.at("metadata.labels[\"app.kubernetes.io/component\"]", || {
            rule("a dashboard ConfigMap's component is `dashboard`")
        });
        rec.at("metadata.labels.grafana_dashboard", || {
            rule("Grafana's sidecar loads the ConfigMaps labelled `grafana_dashboard`")
        });
        metadata["annotations"] = json!({"grafana_folder": self.team});
        rec.at("metadata.annotations.grafana_folder", || {
            let mut o = rule("a team's dashboards are in the team's folder");
            o.push(platform(cx.platform, &[format!("teams.{}", self.team)]));
            o
        });
        // serde_json's map is sorted by key, so the text is canonical.
        let text = serde_json::to_string_pretty(board).unwrap_or_default() + "\n";
        let file = format!("{}-{}.json", self.name, cx.res.env);
        rec.at("data", &data);
        rec.record(|| crate::fieldpath::key("data", &file), &data);
        let mut d = Map::new();
        d.insert(file, json!(text));
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata,
            "data": d,
        })
    }
}
