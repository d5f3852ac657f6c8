//! A workload's SLO rules (`spec.groups` of its PrometheusRule): the 5xx ratio recorded per
//! window, the SRE workbook's multi-window burn-rate alerts for `availability`, one alert for
//! `latency`. Each field's origins are recorded where the field is made (when recording): the
//! windows and the burn-rate table as the renderer's rules applied to the workload, each
//! threshold from the profile layer that gives the SLO setting (and those it replaced), the
//! severity from the environment's type, the runbook from its URL setting.

use serde_json::{Map, Value, json};

use super::frame::{MON, setting};
use crate::diag::{Code, Diagnostic, Span};
use crate::graph::workload_id;
use crate::model::{LatencySlo, Slo};
use crate::render::EnvCx;
use crate::render::origins::{Origin, Recorder, platform, profile_layers, workload_origin};
use crate::resolve::RWorkload;

/// `n / 10^scale` written exactly (`decimal(144, 4)` = `0.0144`): thresholds in rules must not
/// carry float noise such as `0.014400000000000001`.
pub(in crate::render) fn decimal(n: u64, scale: u32) -> String {
    let p = 10u64.pow(scale);
    let (int, frac) = (n / p, n % p);
    if frac == 0 {
        return int.to_string();
    }
    let digits = format!("{frac:0width$}", width = scale as usize);
    format!("{int}.{}", digits.trim_end_matches('0'))
}

/// A percentage in units of 10⁻⁶ of a ratio (`99.9` → 999000), when it is in (0, 100).
pub(in crate::render) fn percent_micros(v: f64) -> Option<u64> {
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

/// `spec.groups` of the workload's PrometheusRule, each field recorded in `rec`.
pub(super) fn groups(
    cx: &EnvCx<'_>,
    production: bool,
    w: &RWorkload,
    slo: &Slo,
    rec: &mut Recorder,
) -> Result<Vec<Value>, Diagnostic> {
    let rules = SloRules {
        cx,
        env: &cx.res.env,
        production,
        w,
        slo,
        sel: format!("namespace=\"{}\", service=\"{}\"", w.namespace, w.name),
    };
    let mut groups = Vec::new();
    if let Some(a) = slo.availability {
        groups.extend(rules.availability_groups(a, rec)?);
    }
    if let Some(l) = &slo.latency {
        groups.push(rules.latency_group(l, rec)?);
    }
    Ok(groups)
}

/// What every rule of one workload's PrometheusRule shares.
struct SloRules<'a, 'c> {
    cx: &'a EnvCx<'c>,
    env: &'a str,
    production: bool,
    w: &'a RWorkload,
    slo: &'a Slo,
    /// The PromQL label selector of the workload's series.
    sel: String,
}

/// A group's name and its field path (groups are selected by name).
struct Group {
    name: String,
    at: String,
}

impl SloRules<'_, '_> {
    fn rule(&self, r: &'static str) -> Origin {
        Origin::rule(MON, r, workload_id(&self.w.name))
    }

    /// SLO setting `s` (`slo.availability`): the profile layer that gives it with its value and
    /// those it replaced, else where the setting is, else platc's default.
    fn setting(&self, s: &str) -> Vec<Origin> {
        let segs: Vec<&str> = s.split('.').collect();
        let mut o = profile_layers(self.cx, self.w, &segs);
        if !o.first().is_some_and(Origin::is_located) {
            o.extend(setting(self.cx, self.w, s, None));
        }
        o
    }

    /// A group named after the workload and the objective (`<workload>.slo.<suffix>`).
    fn group(&self, suffix: &str, rec: &mut Recorder) -> Group {
        let name = format!("{}.slo.{suffix}", self.w.name);
        let at = rec.path(|| crate::fieldpath::item("spec.groups", &name));
        rec.record(
            || format!("{at}.name"),
            || {
                let mut o =
                    vec![self.rule(
                        "a group per objective: `<workload>.slo.<rules|availability|latency>`",
                    )];
                o.extend(workload_origin(self.cx, &self.w.name));
                o
            },
        );
        Group { name, at }
    }

    /// Rule `r`'s labels: team, environment, workload, objective, and a severity for alerts
    /// (recorded by the caller, which knows why).
    fn rule_labels(
        &self,
        rec: &mut Recorder,
        r: &str,
        severity: Option<&str>,
        kind: &str,
    ) -> Value {
        let (cx, w) = (self.cx, self.w);
        let p = cx.platform;
        let mut m = Map::new();
        m.insert("team".into(), json!(w.team));
        rec.record(
            || format!("{r}.labels.team"),
            || {
                vec![
                    self.rule("an SLO rule's series carry the workload's team"),
                    platform(p, &[format!("teams.{}", w.team)]),
                ]
            },
        );
        m.insert("environment".into(), json!(self.env));
        rec.record(
            || format!("{r}.labels.environment"),
            || {
                vec![
                    self.rule("an SLO rule's series carry the environment"),
                    platform(p, &[format!("environments.{}", self.env)]),
                ]
            },
        );
        m.insert("workload".into(), json!(w.name));
        rec.record(
            || format!("{r}.labels.workload"),
            || {
                let mut o = vec![self.rule("an SLO rule's series carry the workload")];
                o.extend(workload_origin(cx, &w.name));
                o
            },
        );
        m.insert("slo".into(), json!(kind));
        rec.record(
            || format!("{r}.labels.slo"),
            || vec![self.rule("an SLO rule names the objective it serves")],
        );
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

    /// An alert's annotations: summary and description from the renderer's text with the
    /// objective's settings (`objective`) in it, the runbook from its URL template.
    fn annotations(
        &self,
        rec: &mut Recorder,
        r: &str,
        alert: &str,
        [summary, description]: [String; 2],
        objective: &[&str],
    ) -> Value {
        let with = |rule: &'static str| {
            let mut o = vec![self.rule(rule)];
            for s in objective {
                o.extend(self.setting(s));
            }
            o
        };
        let mut m = Map::new();
        m.insert("summary".into(), json!(summary));
        rec.record(
            || format!("{r}.annotations.summary"),
            || with("an alert's summary names the workload, the environment and the objective"),
        );
        m.insert("description".into(), json!(description));
        rec.record(
            || format!("{r}.annotations.description"),
            || with("an alert's description explains the objective and its window"),
        );
        if let Some(u) = self.runbook(alert) {
            m.insert("runbook_url".into(), json!(u));
            rec.record(
                || format!("{r}.annotations.runbook_url"),
                || {
                    let mut o = self.setting("slo.runbook_url");
                    o.push(self.rule(
                        "the runbook URL with `{alert}`, `{workload}`, `{team}`, `{environment}` filled in",
                    ));
                    o
                },
            );
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
    fn availability_groups(&self, a: f64, rec: &mut Recorder) -> Result<[Value; 2], Diagnostic> {
        let objective = percent_micros(a).ok_or_else(|| {
            self.invalid(
                "availability",
                format!("is {a}, expected a percentage strictly between 0 and 100"),
            )
            .with_help("write the objective as a percentage, e.g. `availability = 99.9`")
        })?;
        let budget = 1_000_000 - objective;
        let g = self.group("rules", rec);
        let records: Vec<Value> = WINDOWS
            .iter()
            .enumerate()
            .map(|(ix, win)| self.window_record(rec, &g, ix, win))
            .collect();
        let objective_text = decimal(objective, 4);
        let a = self.group("availability", rec);
        let alerts: Vec<Value> = BURNS
            .iter()
            .enumerate()
            .map(|(ix, b)| self.burn_alert(rec, &a, ix, b, budget, &objective_text))
            .collect();
        Ok([
            json!({"name": g.name, "rules": records}),
            json!({"name": a.name, "rules": alerts}),
        ])
    }

    /// The 5xx ratio of the workload's requests over one window.
    fn window_record(&self, rec: &mut Recorder, g: &Group, ix: usize, win: &str) -> Value {
        let sel = &self.sel;
        let r = rec.path(|| format!("{}.rules[{ix}]", g.at));
        let window = || {
            vec![self.rule(
                "the 5xx ratio of the workload's requests recorded per window: 5m, 30m, 1h, 6h, 3d",
            )]
        };
        rec.record(|| format!("{r}.record"), window);
        rec.record(|| format!("{r}.expr"), window);
        json!({
            "record": error_ratio_record(win),
            "expr": format!(
                "sum by (namespace, service) (rate(http_requests_total{{{sel}, code=~\"5..\"}}[{win}])) / sum by (namespace, service) (rate(http_requests_total{{{sel}}}[{win}]))"
            ),
            "labels": self.rule_labels(rec, &r, None, "availability"),
        })
    }

    /// One multi-window burn-rate alert: both windows above `factor` × the error budget.
    fn burn_alert(
        &self,
        rec: &mut Recorder,
        g: &Group,
        ix: usize,
        b: &Burn,
        budget: u64,
        objective_text: &str,
    ) -> Value {
        let (w, env, sel) = (self.w, self.env, &self.sel);
        let r = rec.path(|| format!("{}.rules[{ix}]", g.at));
        let table = || {
            self.rule(
                "the SRE workbook's multi-window burn rates of a 30-day budget: 14.4x over 1h and 5m, 6x over 6h and 30m, 1x over 3d and 6h",
            )
        };
        rec.record(|| format!("{r}.alert"), || vec![table()]);
        rec.record(|| format!("{r}.for"), || vec![table()]);
        let threshold = decimal(b.factor_tenths * budget, 7);
        rec.record(
            || format!("{r}.expr"),
            || {
                let mut o = vec![
                    table(),
                    self.rule("the threshold is the burn rate times the error budget, 100 % minus the objective"),
                ];
                o.extend(self.setting("slo.availability"));
                o
            },
        );
        let factor = decimal(b.factor_tenths, 1);
        let severity = if b.page && self.production {
            "critical"
        } else {
            "warning"
        };
        rec.record(
            || format!("{r}.labels.severity"),
            || match b.page {
                true => vec![
                    self.rule("fast and slow burns page (`critical`) in production environments, else warn"),
                    platform(self.cx.platform, &[format!("environments.{env}.type"), format!("environments.{env}")]),
                ],
                false => vec![self.rule("a long burn only warns")],
            },
        );
        json!({
            "alert": b.alert,
            "expr": format!(
                "{long}{{{sel}}} > {threshold} and {short}{{{sel}}} > {threshold}",
                long = error_ratio_record(b.long),
                short = error_ratio_record(b.short),
            ),
            "for": b.for_,
            "labels": self.rule_labels(rec, &r, Some(severity), "availability"),
            "annotations": self.annotations(
                rec,
                &r,
                b.alert,
                [
                    format!("{} ({env}) is burning its error budget at {factor}x the sustainable rate", w.name),
                    format!(
                        "{{{{ $value | humanizePercentage }}}} of requests to {} in {env} failed with a 5xx over the last {} (and {}); at this rate the 30-day error budget of the {objective_text}% availability objective is gone in {}.",
                        w.name, b.long, b.short, b.exhausted_in
                    ),
                ],
                &["slo.availability"],
            ),
        })
    }

    fn latency_group(&self, l: &LatencySlo, rec: &mut Recorder) -> Result<Value, Diagnostic> {
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
        let g = self.group("latency", rec);
        let r = rec.path(|| format!("{}.rules[0]", g.at));
        let rule = || {
            vec![self.rule(
                "one latency alert, `LatencyObjectiveMissed`, after 10 minutes over 5m windows",
            )]
        };
        rec.record(|| format!("{r}.alert"), rule);
        rec.record(|| format!("{r}.for"), rule);
        let objective = ["slo.latency.percentile", "slo.latency.threshold_ms"];
        rec.record(
            || format!("{r}.expr"),
            || {
                let mut o = rule();
                o.extend(objective.iter().flat_map(|s| self.setting(s)));
                o
            },
        );
        rec.record(
            || format!("{r}.labels.severity"),
            || vec![self.rule("a latency miss warns")],
        );
        Ok(json!({"name": g.name, "rules": [{
            "alert": alert,
            "expr": format!(
                "histogram_quantile({quantile}, sum by (namespace, service, le) (rate(http_request_duration_seconds_bucket{{{sel}}}[5m]))) > {seconds}"
            ),
            "for": "10m",
            "labels": self.rule_labels(rec, &r, Some("warning"), "latency"),
            "annotations": self.annotations(
                rec,
                &r,
                alert,
                [
                    format!("{} ({env}) p{percentile} latency is above {} ms", w.name, l.threshold_ms),
                    format!(
                        "The {percentile}th percentile of request latency of {} in {env} has been {{{{ $value | humanizeDuration }}}} for 10 minutes; the objective is {} ms.",
                        w.name, l.threshold_ms
                    ),
                ],
                &objective,
            ),
        }]}))
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
