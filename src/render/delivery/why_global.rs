//! The fields of the delivery plane's global objects that the whole-object records in `why.rs`
//! do not name one by one: an AppProject's identity, repositories, destinations and role, a
//! component Application's chart, a cluster root's. Recording only.

use serde_json::Value;

use super::super::origins::{Labelled, Origin, Recorder, platform, record_labels};
use super::why::DEL;
use crate::model::Platform;

/// An AppProject's name, namespace, labels and the leaves of its spec (`spec` is what the
/// renderer made).
pub(super) fn project(rec: &mut Recorder, p: &Platform, team: Option<&str>, spec: &Value) {
    let subject = match team {
        Some(t) => format!("team {t}"),
        None => "the platform".to_string(),
    };
    let rule = |r: &'static str| Origin::rule(DEL, r, subject.clone());
    rec.at("metadata.name", || match team {
        Some(t) => vec![platform(
            p,
            &[format!("teams.{t}.project"), format!("teams.{t}")],
        )],
        None => vec![rule("the platform's project is `platform`")],
    });
    rec.at("metadata.namespace", || {
        vec![platform(
            p,
            &["gitops.argocd_namespace".into(), "gitops".into()],
        )]
    });
    let l = Labelled {
        platform: p,
        renderer: DEL,
        subject: &subject,
        env: None,
        team,
        cluster: None,
    };
    let keys = ["app.kubernetes.io/managed-by", "platc.dev/team"];
    record_labels(rec, "metadata.labels", keys, &l);
    let repos = spec["sourceRepos"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (ix, repo) in repos.iter().enumerate() {
        let repo = repo.as_str().unwrap_or_default();
        let mut paths: Vec<String> = p
            .components
            .iter()
            .filter(|(_, c)| c.chart.as_ref().is_some_and(|ch| ch.repo_url == repo))
            .map(|(n, _)| format!("components.{n}.chart.repo_url"))
            .collect();
        if ix == 0 || paths.is_empty() {
            paths = vec!["gitops.repo_url".into(), "gitops".into()];
        }
        rec.record(
            || format!("spec.sourceRepos[{ix}]"),
            || vec![platform(p, &paths)],
        );
    }
    let anywhere = || vec![rule("the platform deploys anywhere, any kind")];
    for f in ["group", "kind"] {
        rec.record(|| format!("spec.clusterResourceWhitelist[0].{f}"), anywhere);
    }
    let Some(t) = team else {
        for f in ["server", "namespace"] {
            rec.record(|| format!("spec.destinations[0].{f}"), anywhere);
        }
        return;
    };
    destinations(rec, p, t, spec);
    role(rec, p, t);
}

/// A team project's destinations: each environment's cluster and the team's namespace there.
fn destinations(rec: &mut Recorder, p: &Platform, t: &str, spec: &Value) {
    let ds = spec["destinations"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (ix, d) in ds.iter().enumerate() {
        let server = d["server"].as_str().unwrap_or_default();
        let clusters: Vec<String> = p
            .clusters
            .iter()
            .filter(|(_, c)| c.server == server)
            .map(|(n, _)| format!("clusters.{n}.server"))
            .collect();
        rec.record(
            || format!("spec.destinations[{ix}].server"),
            || vec![platform(p, &clusters)],
        );
        rec.record(
            || format!("spec.destinations[{ix}].namespace"),
            || {
                vec![
                    platform(p, &[format!("teams.{t}.namespace"), format!("teams.{t}")]),
                    Origin::rule(
                        "resolve",
                        "a team's namespace in an environment is `<team namespace>-<environment>`",
                        format!("team {t}"),
                    ),
                ]
            },
        );
    }
}

/// A team project's role for its group: the group may get and sync the project's apps.
fn role(rec: &mut Recorder, p: &Platform, t: &str) {
    let group = || platform(p, &[format!("teams.{t}.group")]);
    let rule = |r: &'static str| Origin::rule(DEL, r, format!("team {t}"));
    let role = "spec.roles[name=developers]";
    rec.record(
        || format!("{role}.name"),
        || vec![rule("a team's group is the project's `developers` role")],
    );
    rec.record(
        || format!("{role}.description"),
        || vec![rule("the role's description names the group"), group()],
    );
    rec.record(|| format!("{role}.groups[0]"), || vec![group()]);
    for ix in 0..2 {
        rec.record(
            || format!("{role}.policies[{ix}]"),
            || {
                vec![
                    rule("the developers may get and sync the project's applications"),
                    platform(p, &[format!("teams.{t}.project"), format!("teams.{t}")]),
                ]
            },
        );
    }
}

/// A component Application's name, labels, finalizer, sync policy and chart or directory.
pub(super) fn component(rec: &mut Recorder, p: &Platform, cluster: &str, comp: &str) {
    let id = crate::graph::component_id(comp);
    let rule = |r: &'static str| Origin::rule(DEL, r, id.clone());
    let c = format!("components.{comp}");
    rec.at("metadata.name", || {
        vec![
            rule("a component's Application is named `<cluster>-<component>`"),
            platform(p, std::slice::from_ref(&c)),
        ]
    });
    rec.at("metadata.finalizers[0]", || {
        vec![rule("pruned objects of an Application are finalised")]
    });
    cluster_labels(rec, p, cluster, &id);
    let chart = p.components.get(comp).and_then(|x| x.chart.as_ref());
    let at = |f: &str| vec![platform(p, &[format!("{c}.{f}"), c.clone()])];
    if chart.is_some() {
        rec.at("spec.source.repoURL", || at("chart.repo_url"));
        rec.at("spec.source.chart", || at("chart.name"));
        rec.at("spec.source.targetRevision", || at("chart.version"));
        rec.at("spec.source.helm.releaseName", || {
            vec![
                rule("a component's Helm release is named after it"),
                platform(p, std::slice::from_ref(&c)),
            ]
        });
        rec.at("spec.source.helm.valuesObject", || at("chart.values"));
        // The chart's values are copied as written: each leaf is its own setting.
        let values = chart
            .map(|ch| &ch.values)
            .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()));
        if let Some(v) = values {
            let written = format!("{c}.chart.values");
            rec.spread("spec.source.helm.valuesObject", v, |rel| {
                vec![platform(p, &[format!("{written}.{rel}"), written.clone()])]
            });
        }
    } else {
        let gitops = |f: &str| vec![platform(p, &[format!("gitops.{f}"), "gitops".into()])];
        rec.at("spec.source.repoURL", || gitops("repo_url"));
        rec.at("spec.source.targetRevision", || gitops("target_revision"));
        rec.at("spec.source.path", || {
            let mut o = vec![rule(
                "a component without a chart is its directory `components/<name>`",
            )];
            o.extend(gitops("path"));
            o
        });
    }
}

/// The labels platc gives a cluster's Applications.
fn cluster_labels(rec: &mut Recorder, p: &Platform, cluster: &str, subject: &str) {
    let l = Labelled {
        platform: p,
        renderer: DEL,
        subject,
        env: None,
        team: None,
        cluster: Some(cluster),
    };
    let keys = ["app.kubernetes.io/managed-by", "platc.dev/cluster"];
    record_labels(rec, "metadata.labels", keys, &l);
}

/// A cluster root's fields: its name, namespace, labels, wave and the directory it syncs.
pub(super) fn cluster_root(rec: &mut Recorder, p: &Platform, cluster: &str) {
    let subject = super::why::cluster_subject(cluster);
    let rule = |r: &'static str| vec![Origin::rule(DEL, r, subject.clone())];
    let gitops = |f: &str| vec![platform(p, &[format!("gitops.{f}"), "gitops".into()])];
    rec.at("metadata.name", || {
        let mut o = rule("a cluster's root is named `<cluster>-platform`");
        o.push(platform(p, &[format!("clusters.{cluster}")]));
        o
    });
    rec.at("metadata.namespace", || gitops("argocd_namespace"));
    rec.at("metadata.finalizers[0]", || {
        rule("pruned objects of an Application are finalised")
    });
    rec.at(super::why::WAVE_PATH, || {
        rule("a cluster's root is synced first: wave 0")
    });
    cluster_labels(rec, p, cluster, &subject);
    rec.at("spec.project", || {
        rule("roots belong to the platform project")
    });
    rec.at("spec.source.targetRevision", || gitops("target_revision"));
    rec.at("spec.source.path", || {
        let mut o = rule("the directory of the cluster's component Applications");
        o.extend(gitops("path"));
        o
    });
    for f in ["spec.destination.server", "spec.destination.namespace"] {
        rec.at(f, || {
            let mut o = rule("the root runs where Argo CD runs: the in-cluster API server");
            o.extend(gitops("argocd_namespace"));
            o
        });
    }
}
