//! What an environment's Application is made from, recorded field by field when asked: its
//! sync wave from the ordering edges that force it, its source from the platform's `gitops`
//! settings, its destination from the cluster and the node's namespace.

use std::collections::BTreeMap;

use petgraph::Direction;

use super::super::origins::{Labelled, Origin, Recorder, edge_origins, platform, record_labels};
use crate::graph::{EdgeKind, component_id};
use crate::model::Platform;
use crate::render::EnvCx;

pub(super) const DEL: &str = "delivery";
pub(super) const WAVE_PATH: &str = "metadata.annotations[\"argocd.argoproj.io/sync-wave\"]";

/// The Application being recorded: the graph node it deploys (`None` for the environment's
/// root) and the team whose project it is in (`None`: the platform project).
pub(super) struct App<'a> {
    pub node: Option<&'a str>,
    pub team: Option<&'a str>,
}

/// The origins of every field of an environment Application.
pub(super) fn app_origins(cx: &EnvCx<'_>, app: &App<'_>) -> Recorder {
    let mut rec = cx.recorder();
    if !rec.on() {
        return rec;
    }
    let env = &cx.res.env;
    let p = cx.platform;
    let target = || match app.node {
        Some(n) => n.to_string(),
        None => root_subject(env),
    };
    let rule = |r: &'static str| Origin::rule(DEL, r, target());
    let setting = |s: &str| platform(p, &[s.to_string(), "gitops".to_string()]);
    for f in [
        "apiVersion",
        "kind",
        "metadata.name",
        "metadata.finalizers",
        "metadata.finalizers[0]",
    ] {
        rec.at(f, || {
            vec![rule(
                "one Application per graph node with manifests, named after the environment and the node; pruned objects are finalised",
            )]
        });
    }
    rec.at("metadata.namespace", || {
        vec![setting("gitops.argocd_namespace")]
    });
    rec.at("metadata.labels", || {
        vec![rule("environment, team and workload labels, for selectors")]
    });
    rec.at("spec.syncPolicy", || {
        vec![rule(
            "automated sync with prune and self-heal, server-side apply, prune last, bounded retries",
        )]
    });
    // `spec.syncPolicy`'s fields are recorded where they are made (`super::sync_policy`).
    app_labels(&mut rec, p, env, app, &target());
    rec.at("spec.source.repoURL", || vec![setting("gitops.repo_url")]);
    rec.at("spec.source.targetRevision", || {
        vec![setting("gitops.target_revision")]
    });
    rec.at("spec.source.path", || {
        vec![
            rule("the node's directory of the rendered tree"),
            setting("gitops.path"),
        ]
    });
    rec.at("spec.destination.server", || match app.node {
        Some(_) => vec![platform(
            p,
            &[format!("clusters.{}.server", cx.res.cluster)],
        )],
        None => vec![rule(
            "the root runs where Argo CD runs: the in-cluster API server",
        )],
    });
    rec.at("spec.destination.namespace", || {
        let mut o = vec![rule("the namespace of the node's objects")];
        if let Some(t) = app.team {
            o.push(platform(p, &[format!("teams.{t}.namespace")]));
        }
        o
    });
    rec.at("spec.project", || match app.team {
        Some(t) if app.node.is_some_and(|n| !n.starts_with("namespace:")) => {
            vec![platform(
                p,
                &[format!("teams.{t}.project"), format!("teams.{t}")],
            )]
        }
        _ => vec![rule("namespaces and roots belong to the platform project")],
    });
    rec.at(WAVE_PATH, || wave_origins(cx, app.node));
    rec
}

/// An environment Application's labels: platc's, its environment, its node's team and
/// workload.
fn app_labels(rec: &mut Recorder, p: &Platform, env: &str, app: &App<'_>, subject: &str) {
    let l = Labelled {
        platform: p,
        renderer: DEL,
        subject,
        env: Some(env),
        team: app.team,
        cluster: None,
    };
    let keys = [
        "app.kubernetes.io/managed-by",
        "platc.dev/environment",
        "platc.dev/team",
        super::WORKLOAD_APP_LABEL,
    ];
    record_labels(rec, "metadata.labels", keys, &l);
}

/// What an environment's root Application's records name as the element a rule applies to.
pub(super) fn root_subject(env: &str) -> String {
    format!("the graph of environment {env}")
}

/// What a cluster's root Application's records name as the element a rule applies to.
pub(super) fn cluster_subject(cluster: &str) -> String {
    format!("cluster {cluster}")
}

/// A node's sync wave: one more than the highest wave of its ordering predecessors. The cause
/// is every edge from a predecessor at `wave - 1`, each with what created it, and then, back to
/// wave 0, the edges of one such longest path (the first predecessor by id at each step).
fn wave_origins(cx: &EnvCx<'_>, node: Option<&str>) -> Vec<Origin> {
    let Some(node) = node else {
        return vec![Origin::rule(
            DEL,
            "the environment's root is synced first: wave 0",
            format!("the graph of environment {}", cx.res.env),
        )];
    };
    let mut out = vec![Origin::rule(
        DEL,
        "the node's sync wave: one more than the highest wave of its ordering predecessors (0 without any)",
        node,
    )];
    let mut at = node.to_string();
    let mut first = true;
    while let Some(wave) = cx.graph.waves.get(&at).copied().filter(|w| *w > 0) {
        let preds: Vec<String> = cx
            .graph
            .neighbours(&at, EdgeKind::Ordering, Direction::Incoming)
            .into_iter()
            .filter(|p| cx.graph.waves.get(&p.id).copied() == Some(wave - 1))
            .map(|p| p.id.clone())
            .collect();
        let Some(next) = preds.first().cloned() else {
            break;
        };
        let forcing = if first { &preds[..] } else { &preds[..1] };
        for p in forcing {
            out.extend(edge_origins(cx, p, &at, EdgeKind::Ordering));
        }
        first = false;
        at = next;
    }
    out
}

/// The origins of an AppProject's fields: a team's (`Some`) or the platform's.
pub(super) fn project_origins(
    p: &Platform,
    record: bool,
    team: Option<&str>,
    spec: &serde_json::Value,
) -> Recorder {
    let mut rec = Recorder::new(record);
    if !rec.on() {
        return rec;
    }
    super::why_global::project(&mut rec, p, team, spec);
    let (target, identity) = match team {
        Some(t) => (format!("team {t}"), format!("teams.{t}.project")),
        None => ("the platform".to_string(), "gitops.argocd_namespace".into()),
    };
    let rule = |r: &'static str| Origin::rule(DEL, r, target.clone());
    let at = |paths: &[String]| platform(p, paths);
    for f in ["apiVersion", "kind", "metadata"] {
        rec.at(f, || {
            vec![
                rule("an AppProject per team, and the platform's for namespaces, components and roots"),
                at(&[identity.clone(), "gitops".into()]),
            ]
        });
    }
    rec.at("spec.description", || match team {
        Some(t) => vec![at(&[
            format!("teams.{t}.description"),
            format!("teams.{t}"),
        ])],
        None => vec![rule("the platform project's description")],
    });
    rec.at("spec.sourceRepos", || {
        vec![
            rule("the GitOps repository, and for the platform the components' chart repositories"),
            at(&["gitops.repo_url".into(), "gitops".into()]),
        ]
    });
    rec.at("spec.destinations", || match team {
        Some(t) => vec![
            rule("the team's namespace in every environment, on the environment's cluster"),
            at(&[format!("teams.{t}.namespace"), format!("teams.{t}")]),
        ],
        None => vec![rule("the platform deploys anywhere")],
    });
    rec.at("spec.clusterResourceWhitelist", || {
        vec![rule(
            "teams deploy namespaced objects only; the platform anything",
        )]
    });
    if let Some(t) = team {
        rec.at("spec.roles", || vec![at(&[format!("teams.{t}.group")])]);
    }
    rec
}

/// The origins of a component's Application on a cluster.
pub(super) fn component_app_origins(
    p: &Platform,
    record: bool,
    cluster: &str,
    comp: &str,
    waves: &BTreeMap<String, u32>,
) -> Recorder {
    let mut rec = Recorder::new(record);
    if !rec.on() {
        return rec;
    }
    super::why_global::component(&mut rec, p, cluster, comp);
    let id = component_id(comp);
    let rule = |r: &'static str| Origin::rule(DEL, r, id.clone());
    let at = |paths: &[String]| platform(p, paths);
    let c = format!("components.{comp}");
    for f in [
        "apiVersion",
        "kind",
        "metadata",
        "spec.project",
        "spec.syncPolicy",
    ] {
        rec.at(f, || {
            vec![
                rule("an Application per component installed on the cluster, in the platform project"),
                at(std::slice::from_ref(&c)),
            ]
        });
    }
    rec.at("metadata.namespace", || {
        vec![at(&["gitops.argocd_namespace".into(), "gitops".into()])]
    });
    rec.at(WAVE_PATH, || {
        let mut o = vec![rule(
            "the component's wave on its cluster: one more than the highest of the components it requires",
        )];
        let wave = waves.get(comp).copied().unwrap_or(0);
        let required = &p.components[comp].requires;
        if required.iter().any(|r| waves.get(r).copied() == Some(wave.wrapping_sub(1))) {
            o.push(at(&[format!("{c}.requires")]));
        }
        o
    });
    rec.at("spec.source", || {
        vec![at(&[
            format!("{c}.chart"),
            "gitops.repo_url".into(),
            c.clone(),
        ])]
    });
    rec.at("spec.destination.server", || {
        vec![at(&[
            format!("clusters.{cluster}.server"),
            format!("clusters.{cluster}"),
        ])]
    });
    rec.at("spec.destination.namespace", || {
        vec![at(&[format!("{c}.namespace"), c.clone()])]
    });
    rec
}

/// The origins of a cluster's root Application (the app-of-apps of its components).
pub(super) fn cluster_root_origins(p: &Platform, record: bool, cluster: &str) -> Recorder {
    let mut rec = Recorder::new(record);
    if !rec.on() {
        return rec;
    }
    super::why_global::cluster_root(&mut rec, p, cluster);
    rec.at("metadata", || {
        vec![
            Origin::rule(
                DEL,
                "a root Application per cluster, for its components",
                cluster_subject(cluster),
            ),
            platform(p, &[format!("clusters.{cluster}")]),
        ]
    });
    for f in ["apiVersion", "kind", "spec"] {
        rec.at(f, || {
            vec![Origin::rule(
                DEL,
                "the root syncs the cluster's component Applications, from the in-cluster Argo CD",
                cluster_subject(cluster),
            )]
        });
    }
    rec.at("spec.source.repoURL", || {
        vec![platform(p, &["gitops.repo_url".into(), "gitops".into()])]
    });
    rec
}
