//! Why a label of platc's own vocabulary has its value: every renderer that sets one (its own
//! label map, or the slicing labels `finish` completes) applies the same rule, so the rule
//! lives here once, with the setting it reads. Used only while recording.

use super::{Origin, Recorder, platform};
use crate::model::Platform;

/// The object a label is on, as the labels' rules see it.
pub struct Labelled<'a> {
    pub platform: &'a Platform,
    /// The renderer whose rule set the label.
    pub renderer: &'static str,
    /// The graph element the object was made for (a node id, `team t`, `cluster c`).
    pub subject: &'a str,
    pub env: Option<&'a str>,
    pub team: Option<&'a str>,
    pub cluster: Option<&'a str>,
}

impl<'a> Labelled<'a> {
    /// An object of environment `env` made for `subject` by `renderer`.
    pub fn env(
        platform: &'a Platform,
        renderer: &'static str,
        subject: &'a str,
        env: &'a str,
        team: Option<&'a str>,
    ) -> Self {
        Labelled {
            platform,
            renderer,
            subject,
            env: Some(env),
            team,
            cluster: None,
        }
    }
}

/// The labels a workload's pods are selected by.
pub const SELECTOR_KEYS: [&str; 2] = ["app.kubernetes.io/name", "app.kubernetes.io/instance"];

/// The origins of label `key`, or `None` for a label outside platc's vocabulary (its renderer
/// records it itself: a profile's labels, a template's).
pub fn label_origins(l: &Labelled<'_>, key: &str) -> Option<Vec<Origin>> {
    let rule = |r: &'static str| Origin::rule(l.renderer, r, l.subject);
    let p = l.platform;
    let env = || platform(p, &[format!("environments.{}", l.env.unwrap_or_default())]);
    Some(match key {
        "app.kubernetes.io/managed-by" => {
            vec![rule("every object platc renders says platc manages it")]
        }
        "app.kubernetes.io/part-of" => vec![
            rule("every object names the platform it is part of"),
            platform(p, &["name".into()]),
        ],
        crate::render::PLANE_LABEL => {
            vec![rule("every object names the plane whose renderer made it")]
        }
        "platc.dev/environment" => vec![rule("every object of an environment names it"), env()],
        "platc.dev/team" => {
            let t = l.team.unwrap_or_default();
            vec![
                rule("every object of a team's workload, resource or namespace names the team"),
                platform(p, &[format!("teams.{t}"), "teams".into()]),
            ]
        }
        "app.kubernetes.io/name" => vec![rule(
            "an object's name label is its workload's or resource instance's name, else the object's own",
        )],
        "app.kubernetes.io/component" => {
            vec![rule("a resource instance's objects name its resource type")]
        }
        "app.kubernetes.io/instance" => vec![
            rule(
                "an object's instance label is its name label and the environment: `<name>-<environment>`",
            ),
            env(),
        ],
        crate::render::delivery::WORKLOAD_APP_LABEL => vec![rule(
            "a workload's Applications name it, so the portal's selector finds exactly them",
        )],
        "platc.dev/cluster" => vec![
            rule("a cluster's Applications name it"),
            platform(p, &[format!("clusters.{}", l.cluster.unwrap_or_default())]),
        ],
        _ => return None,
    })
}

/// Records each of `keys` under the labels map at `at` by its rule (keys outside the
/// vocabulary are left to the caller).
pub fn record_labels<'k>(
    rec: &mut Recorder,
    at: &str,
    keys: impl IntoIterator<Item = &'k str>,
    l: &Labelled<'_>,
) {
    if !rec.on() {
        return;
    }
    for k in keys {
        if let Some(o) = label_origins(l, k) {
            rec.record(|| crate::fieldpath::key(at, k), || o);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_platc_gives_a_workload_has_a_rule() {
        let p = crate::load::platform::load_embedded_platform().expect("the reference platform");
        let labels = crate::render::workload_labels(&p, "prod", "t", "w");
        let keys: Vec<&str> = labels.keys().map(String::as_str).collect();
        let mut listed = crate::render::WORKLOAD_LABEL_KEYS.to_vec();
        listed.sort_unstable();
        assert_eq!(keys, listed);
        let l = Labelled::env(&p, "resource", "workload:w", "prod", Some("t"));
        for k in keys.iter().chain(&SELECTOR_KEYS) {
            let chain = label_origins(&l, k).expect("a rule");
            assert!(chain.iter().any(Origin::is_located), "{k}");
        }
        assert!(label_origins(&l, "tier").is_none());
    }
}
