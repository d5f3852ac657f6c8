//! What each field of a workload's SLO PrometheusRule is made from, recorded when asked: the
//! recording rules' windows and the burn-rate table (`BURNS`, `WINDOWS`) as the renderer's
//! rules applied to the workload, each threshold from the SLO setting of the profile layer
//! that gives it, the severity from the environment's type, the runbook from its setting.

use super::why::{MON, setting};
use super::{BURNS, WINDOWS};
use crate::graph::workload_id;
use crate::render::EnvCx;
use crate::render::origins::{Origin, Recorder, platform, profile_layers, workload_origin};
use crate::resolve::RWorkload;

/// One group's rules being recorded: `spec.groups[<g>]`.
struct Group<'a, 'c> {
    cx: &'a EnvCx<'c>,
    w: &'a RWorkload,
    at: String,
}

impl Group<'_, '_> {
    fn rule(&self, r: &'static str) -> Origin {
        Origin::rule(MON, r, workload_id(&self.w.name))
    }

    /// SLO setting `s` (`slo.availability`): the profile layer that gives it with its value and
    /// those it replaced, else where the setting is, else platc's default.
    fn slo(&self, s: &str) -> Vec<Origin> {
        let segs: Vec<&str> = s.split('.').collect();
        let mut o = profile_layers(self.cx, self.w, &segs);
        if !o.first().is_some_and(Origin::is_located) {
            o.extend(setting(self.cx, self.w, s, None));
        }
        o
    }

    /// The group's name: the workload's, and the objective's suffix.
    fn name(&self, rec: &mut Recorder) {
        let mut o =
            vec![self.rule("a group per objective: `<workload>.slo.<rules|availability|latency>`")];
        o.extend(workload_origin(self.cx, &self.w.name));
        rec.record(|| format!("{}.name", self.at), || o);
    }

    /// Rule `r`'s `labels`: team, environment, workload, objective, and a severity for alerts.
    fn labels(&self, rec: &mut Recorder, r: &str, severity: Option<Vec<Origin>>) {
        let (cx, w) = (self.cx, self.w);
        let p = cx.platform;
        let at = format!("{r}.labels");
        rec.record(
            || format!("{at}.team"),
            || {
                vec![
                    self.rule("an SLO rule's series carry the workload's team"),
                    platform(p, &[format!("teams.{}", w.team)]),
                ]
            },
        );
        rec.record(
            || format!("{at}.environment"),
            || {
                vec![
                    self.rule("an SLO rule's series carry the environment"),
                    platform(p, &[format!("environments.{}", cx.res.env)]),
                ]
            },
        );
        rec.record(
            || format!("{at}.workload"),
            || {
                let mut o = vec![self.rule("an SLO rule's series carry the workload")];
                o.extend(workload_origin(cx, &w.name));
                o
            },
        );
        rec.record(
            || format!("{at}.slo"),
            || vec![self.rule("an SLO rule names the objective it serves")],
        );
        if let Some(s) = severity {
            rec.record(|| format!("{at}.severity"), || s);
        }
    }

    /// An alert's `annotations`: summary and description from the renderer's text with the
    /// objective's settings in it, the runbook from its URL template.
    fn annotations(&self, rec: &mut Recorder, r: &str, objective: &[&str]) {
        let w = self.w;
        let with = |r: &'static str| {
            let mut o = vec![self.rule(r)];
            for s in objective {
                o.extend(self.slo(s));
            }
            o
        };
        rec.record(
            || format!("{r}.annotations.summary"),
            || with("an alert's summary names the workload, the environment and the objective"),
        );
        rec.record(
            || format!("{r}.annotations.description"),
            || with("an alert's description explains the objective and its window"),
        );
        if w.profile
            .slo
            .as_ref()
            .is_some_and(|s| s.runbook_url.is_some())
        {
            rec.record(
                || format!("{r}.annotations.runbook_url"),
                || {
                    let mut o = self.slo("slo.runbook_url");
                    o.push(self.rule(
                        "the runbook URL with `{alert}`, `{workload}`, `{team}`, `{environment}` filled in",
                    ));
                    o
                },
            );
        }
    }

    /// The error ratio recorded per window of `WINDOWS`.
    fn records(&self, rec: &mut Recorder) {
        self.name(rec);
        for ix in 0..WINDOWS.len() {
            let r = format!("{}.rules[{ix}]", self.at);
            let window = || {
                vec![self.rule(
                    "the 5xx ratio of the workload's requests recorded per window: 5m, 30m, 1h, 6h, 3d",
                )]
            };
            rec.record(|| format!("{r}.record"), window);
            rec.record(|| format!("{r}.expr"), window);
            self.labels(rec, &r, None);
        }
    }

    /// One alert per row of the burn-rate table `BURNS`.
    fn burn_alerts(&self, rec: &mut Recorder) {
        let cx = self.cx;
        self.name(rec);
        for (ix, b) in BURNS.iter().enumerate() {
            let r = format!("{}.rules[{ix}]", self.at);
            let table = || {
                self.rule(
                    "the SRE workbook's multi-window burn rates of a 30-day budget: 14.4x over 1h and 5m, 6x over 6h and 30m, 1x over 3d and 6h",
                )
            };
            rec.record(|| format!("{r}.alert"), || vec![table()]);
            rec.record(|| format!("{r}.for"), || vec![table()]);
            rec.record(
                || format!("{r}.expr"),
                || {
                    let mut o = vec![
                        table(),
                        self.rule("the threshold is the burn rate times the error budget, 100 % minus the objective"),
                    ];
                    o.extend(self.slo("slo.availability"));
                    o
                },
            );
            let severity = if b.page {
                vec![
                    self.rule("fast and slow burns page (`critical`) in production environments, else warn"),
                    platform(cx.platform, &[format!("environments.{}.type", cx.res.env), format!("environments.{}", cx.res.env)]),
                ]
            } else {
                vec![self.rule("a long burn only warns")]
            };
            self.labels(rec, &r, Some(severity));
            self.annotations(rec, &r, &["slo.availability"]);
        }
    }

    /// The latency alert: the percentile and threshold settings in its expression.
    fn latency(&self, rec: &mut Recorder) {
        self.name(rec);
        let r = format!("{}.rules[0]", self.at);
        let alert = || {
            vec![self.rule(
                "one latency alert, `LatencyObjectiveMissed`, after 10 minutes over 5m windows",
            )]
        };
        rec.record(|| format!("{r}.alert"), alert);
        rec.record(|| format!("{r}.for"), alert);
        rec.record(
            || format!("{r}.expr"),
            || {
                let mut o = alert();
                o.extend(self.slo("slo.latency.percentile"));
                o.extend(self.slo("slo.latency.threshold_ms"));
                o
            },
        );
        let severity = vec![self.rule("a latency miss warns")];
        self.labels(rec, &r, Some(severity));
        let objective = ["slo.latency.percentile", "slo.latency.threshold_ms"];
        self.annotations(rec, &r, &objective);
    }
}

/// Every field of `spec.groups`, as the renderer makes the groups: the recording rules and the
/// burn-rate alerts when the SLO sets `availability`, the latency alert when it sets `latency`.
pub(super) fn groups(cx: &EnvCx<'_>, w: &RWorkload, rec: &mut Recorder) {
    let Some(slo) = &w.profile.slo else {
        return;
    };
    // Groups have a `name`, which is how a field path selects them.
    let group = |suffix: &str| Group {
        cx,
        w,
        at: crate::fieldpath::item("spec.groups", &format!("{}.slo.{suffix}", w.name)),
    };
    if slo.availability.is_some() {
        group("rules").records(rec);
        group("availability").burn_alerts(rec);
    }
    if slo.latency.is_some() {
        group("latency").latency(rec);
    }
}
