//! Argo CD AppProjects: the platform's (namespaces, components, roots: anything, anywhere) and
//! one per team (its namespace in every environment, namespaced kinds only, its group's role),
//! each field recorded beside the value it is given.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::super::origins::{Labelled, Origin, Recorder, platform, record_labels};
use super::application::{DEL, gitops};
use super::{PLATFORM_PROJECT, delivery_obj};
use crate::model::{Platform, Team};
use crate::render::Object;

/// The platform's AppProject: the GitOps repository and every component's chart repository.
pub(super) fn platform_project(p: &Platform, record: bool) -> Object {
    let mut rec = Recorder::new(record);
    let subject = "the platform";
    let rule = |r: &'static str| vec![Origin::rule(DEL, r, subject)];
    rec.at("spec.description", || {
        rule("the platform project's description")
    });
    let mut chart_repos: BTreeSet<&str> = BTreeSet::new();
    for c in p.components.values() {
        if let Some(ch) = &c.chart {
            chart_repos.insert(&ch.repo_url);
        }
    }
    let mut source_repos: Vec<&str> = vec![p.gitops.repo_url.as_str()];
    source_repos.extend(
        chart_repos
            .iter()
            .copied()
            .filter(|r| *r != p.gitops.repo_url),
    );
    for (ix, repo) in source_repos.iter().enumerate().skip(1) {
        rec.record(
            || format!("spec.sourceRepos[{ix}]"),
            || {
                let charts: Vec<String> = p
                    .components
                    .iter()
                    .filter(|(_, c)| c.chart.as_ref().is_some_and(|ch| ch.repo_url == *repo))
                    .map(|(n, _)| format!("components.{n}.chart.repo_url"))
                    .collect();
                vec![platform(p, &charts)]
            },
        );
    }
    rec.at("spec.destinations", || {
        rule("the platform deploys anywhere")
    });
    let anywhere = || rule("the platform deploys anywhere, any kind");
    for f in ["server", "namespace"] {
        rec.record(|| format!("spec.destinations[0].{f}"), anywhere);
    }
    for f in ["group", "kind"] {
        rec.record(|| format!("spec.clusterResourceWhitelist[0].{f}"), anywhere);
    }
    let spec = json!({
        "description": "Platform components, namespaces and the app-of-apps roots (managed by platc)",
        "sourceRepos": source_repos,
        "destinations": [{"server": "*", "namespace": "*"}],
        "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
    });
    project(p, None, PLATFORM_PROJECT, spec, rec)
}

/// A team's AppProject: its namespace in every environment, and its group's role if it has one.
pub(super) fn team_project(p: &Platform, record: bool, team_name: &str, team: &Team) -> Object {
    let mut rec = Recorder::new(record);
    let t = team_name;
    let setting = |s: &str| platform(p, &[format!("teams.{t}.{s}"), format!("teams.{t}")]);
    let rule = |r: &'static str| Origin::rule(DEL, r, format!("team {t}"));
    rec.at("spec.description", || vec![setting("description")]);
    rec.at("spec.destinations", || {
        vec![
            rule("the team's namespace in every environment, on the environment's cluster"),
            setting("namespace"),
        ]
    });
    let mut destinations = Vec::new();
    for (env_name, env) in &p.environments {
        if let Some(c) = p.clusters.get(&env.cluster) {
            destinations.push(
                json!({"server": c.server, "namespace": format!("{}-{env_name}", team.namespace)}),
            );
        }
    }
    destinations.sort_by_key(|d| d.to_string());
    for (ix, d) in destinations.iter().enumerate() {
        let server = d["server"].as_str().unwrap_or_default();
        rec.record(
            || format!("spec.destinations[{ix}].server"),
            || {
                let clusters: Vec<String> = p
                    .clusters
                    .iter()
                    .filter(|(_, c)| c.server == server)
                    .map(|(n, _)| format!("clusters.{n}.server"))
                    .collect();
                vec![platform(p, &clusters)]
            },
        );
        rec.record(
            || format!("spec.destinations[{ix}].namespace"),
            || {
                vec![
                    setting("namespace"),
                    Origin::rule(
                        "resolve",
                        "a team's namespace in an environment is `<team namespace>-<environment>`",
                        format!("team {t}"),
                    ),
                ]
            },
        );
    }
    let mut spec = json!({
        "description": team.description.clone().unwrap_or_else(|| format!("Workloads of team {team_name} (managed by platc)")),
        "sourceRepos": [p.gitops.repo_url],
        "destinations": destinations,
        // Teams deploy namespaced objects only; namespaces come from the platform project.
        "clusterResourceWhitelist": [],
    });
    if let Some(group) = &team.group {
        spec["roles"] = json!([role(p, t, &team.project, group, &mut rec)]);
    }
    project(p, Some(team_name), &team.project, spec, rec)
}

/// A team project's role for its group: the group may get and sync the project's apps.
fn role(p: &Platform, t: &str, project: &str, group: &str, rec: &mut Recorder) -> Value {
    let group_setting = || platform(p, &[format!("teams.{t}.group")]);
    let rule = |r: &'static str| Origin::rule(DEL, r, format!("team {t}"));
    rec.at("spec.roles", || vec![group_setting()]);
    let role = "spec.roles[name=developers]";
    rec.record(
        || format!("{role}.name"),
        || vec![rule("a team's group is the project's `developers` role")],
    );
    rec.record(
        || format!("{role}.description"),
        || {
            vec![
                rule("the role's description names the group"),
                group_setting(),
            ]
        },
    );
    rec.record(|| format!("{role}.groups[0]"), || vec![group_setting()]);
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
    json!({
        "name": "developers",
        "description": format!("Members of {group} may sync and inspect the team's applications"),
        "groups": [group],
        "policies": [
            format!("p, proj:{project}:developers, applications, get, {project}/*, allow"),
            format!("p, proj:{project}:developers, applications, sync, {project}/*, allow"),
        ],
    })
}

/// The AppProject around `spec`: a team's (`Some`) or the platform's; what is the same for
/// both recorded here.
fn project(p: &Platform, team: Option<&str>, name: &str, spec: Value, mut rec: Recorder) -> Object {
    let (subject, identity) = match team {
        Some(t) => (format!("team {t}"), format!("teams.{t}.project")),
        None => ("the platform".to_string(), "gitops.argocd_namespace".into()),
    };
    let rule = |r: &'static str| Origin::rule(DEL, r, subject.clone());
    for f in ["apiVersion", "kind", "metadata"] {
        rec.at(f, || {
            vec![
                rule("an AppProject per team, and the platform's for namespaces, components and roots"),
                platform(p, &[identity.clone(), "gitops".into()]),
            ]
        });
    }
    rec.at("metadata.name", || match team {
        Some(t) => vec![platform(
            p,
            &[format!("teams.{t}.project"), format!("teams.{t}")],
        )],
        None => vec![rule("the platform's project is `platform`")],
    });
    rec.at("metadata.namespace", || vec![gitops(p, "argocd_namespace")]);
    rec.at("spec.sourceRepos", || {
        vec![
            rule("the GitOps repository, and for the platform the components' chart repositories"),
            gitops(p, "repo_url"),
        ]
    });
    rec.at("spec.sourceRepos[0]", || vec![gitops(p, "repo_url")]);
    rec.at("spec.clusterResourceWhitelist", || {
        vec![rule(
            "teams deploy namespaced objects only; the platform anything",
        )]
    });
    let mut labels = serde_json::Map::new();
    labels.insert("app.kubernetes.io/managed-by".into(), json!("platc"));
    if let Some(t) = team {
        labels.insert("platc.dev/team".into(), json!(t));
    }
    let l = Labelled {
        platform: p,
        renderer: DEL,
        subject: &subject,
        env: None,
        team,
        cluster: None,
    };
    record_labels(
        &mut rec,
        "metadata.labels",
        labels.keys().map(String::as_str),
        &l,
    );
    let proj = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": p.gitops.argocd_namespace, "labels": labels},
        "spec": spec,
    });
    delivery_obj(
        format!("argocd/projects/{name}.yaml"),
        proj,
        "platform/main.ncl",
        String::new(),
    )
    .with_origins(rec)
}
