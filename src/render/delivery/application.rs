//! An Argo CD Application of an environment (a graph node's, or the environment's root) or a
//! cluster's root, each field recorded beside the value it is given: the platform's `gitops`
//! setting, the cluster, the team, the ordering edges that force the sync wave, or the
//! renderer's rule and the graph element it was applied to.

use petgraph::Direction;
use serde_json::{Value, json};

use super::super::origins::{Labelled, Origin, Recorder, edge_origins, platform, record_labels};
use crate::graph::EdgeKind;
use crate::model::Platform;
use crate::render::EnvCx;

pub(super) const DEL: &str = "delivery";
pub(super) const WAVE_PATH: &str = "metadata.annotations[\"argocd.argoproj.io/sync-wave\"]";
/// Where an environment's and a cluster's roots run: Argo CD's own cluster.
const IN_CLUSTER: &str = "https://kubernetes.default.svc";

/// What an Application deploys, which decides where its fields come from.
#[derive(Clone, Copy)]
pub(super) enum Deploys<'a> {
    /// A graph node of an environment, in its team's project (a namespace: the platform's).
    Node {
        cx: &'a EnvCx<'a>,
        node: &'a str,
        team: &'a str,
        /// The workload a workload node's Application is labelled with, for the portal.
        workload: Option<&'a str>,
    },
    /// An environment's root: the directory of its node Applications.
    EnvRoot(&'a EnvCx<'a>),
    /// A cluster's root: the directory of its component Applications.
    ClusterRoot(&'a str),
}

impl Deploys<'_> {
    /// The graph element the renderer's rules are applied to.
    fn subject(&self) -> String {
        match self {
            Deploys::Node { node, .. } => node.to_string(),
            Deploys::EnvRoot(cx) => root_subject(&cx.res.env),
            Deploys::ClusterRoot(c) => cluster_subject(c),
        }
    }
}

/// An Application's own parts; the rest follows from what it deploys.
pub(super) struct AppSpec<'a> {
    pub name: String,
    pub project: &'a str,
    pub path: String,
    pub namespace: &'a str,
    pub wave: u32,
}

/// What an environment's root Application's records name as the element a rule applies to.
pub(super) fn root_subject(env: &str) -> String {
    format!("the graph of environment {env}")
}

/// What a cluster's root Application's records name as the element a rule applies to.
pub(super) fn cluster_subject(cluster: &str) -> String {
    format!("cluster {cluster}")
}

/// The repository path of `p` below the platform's `gitops.path`.
pub(super) fn repo_path(platform: &Platform, p: &str) -> String {
    let prefix = platform.gitops.path.trim_matches('/');
    if prefix.is_empty() {
        p.to_string()
    } else {
        format!("{prefix}/{p}")
    }
}

/// A `gitops` setting's origin.
pub(super) fn gitops(p: &Platform, field: &str) -> Origin {
    platform(p, &[format!("gitops.{field}"), "gitops".into()])
}

/// An environment Application (`Deploys::Node` or `EnvRoot`) or a cluster's root.
pub(super) fn application(
    p: &Platform,
    a: AppSpec<'_>,
    d: Deploys<'_>,
    rec: &mut Recorder,
) -> Value {
    let subject = rec.path(|| d.subject());
    let rule = |r: &'static str| vec![Origin::rule(DEL, r, subject.clone())];
    let in_env = !matches!(d, Deploys::ClusterRoot(_));
    if in_env {
        for f in [
            "apiVersion",
            "kind",
            "metadata.name",
            "metadata.finalizers",
            "metadata.finalizers[0]",
        ] {
            rec.at(f, || {
                rule("one Application per graph node with manifests, named after the environment and the node; pruned objects are finalised")
            });
        }
        rec.at("metadata.namespace", || vec![gitops(p, "argocd_namespace")]);
        rec.at("spec.syncPolicy", || {
            rule("automated sync with prune and self-heal, server-side apply, prune last, bounded retries")
        });
    } else {
        let cluster = || platform(p, &[format!("clusters.{}", d.subject_cluster())]);
        for f in ["apiVersion", "kind", "spec"] {
            rec.at(f, || {
                rule("the root syncs the cluster's component Applications, from the in-cluster Argo CD")
            });
        }
        rec.at("metadata", || {
            let mut o = rule("a root Application per cluster, for its components");
            o.push(cluster());
            o
        });
        rec.at("metadata.name", || {
            let mut o = rule("a cluster's root is named `<cluster>-platform`");
            o.push(cluster());
            o
        });
        rec.at("metadata.namespace", || vec![gitops(p, "argocd_namespace")]);
        rec.at("metadata.finalizers[0]", || {
            rule("pruned objects of an Application are finalised")
        });
    }
    let labels = labels(p, d, &subject, rec);
    rec.at(WAVE_PATH, || wave_origins(d));
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": a.name,
            "namespace": p.gitops.argocd_namespace,
            "labels": labels,
            "annotations": {"argocd.argoproj.io/sync-wave": a.wave.to_string()},
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": project(a.project, d, &subject, rec),
            "source": source(p, a.path, d, &subject, rec),
            "destination": destination(p, a.namespace, d, &subject, rec),
            "syncPolicy": sync_policy(false, rec, &subject),
        }
    })
}

impl Deploys<'_> {
    fn subject_cluster(&self) -> &str {
        match self {
            Deploys::ClusterRoot(c) => c,
            Deploys::Node { cx, .. } | Deploys::EnvRoot(cx) => &cx.res.cluster,
        }
    }

    fn team(&self) -> Option<&str> {
        match self {
            Deploys::Node { team, .. } => Some(team),
            _ => None,
        }
    }
}

/// platc's labels, the environment's, the node's team's and, for a workload's Applications,
/// the workload's (for the portal's selector); a cluster root's name its cluster.
fn labels(p: &Platform, d: Deploys<'_>, subject: &str, rec: &mut Recorder) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("app.kubernetes.io/managed-by".into(), json!("platc"));
    let (env, cluster) = match d {
        Deploys::Node { cx, .. } | Deploys::EnvRoot(cx) => (Some(cx.res.env.as_str()), None),
        Deploys::ClusterRoot(c) => (None, Some(c)),
    };
    if let Some(e) = env {
        m.insert("platc.dev/environment".into(), json!(e));
        rec.at("metadata.labels", || {
            vec![Origin::rule(
                DEL,
                "environment, team and workload labels, for selectors",
                subject,
            )]
        });
    }
    if let Some(t) = d.team() {
        m.insert("platc.dev/team".into(), json!(t));
    }
    if let Deploys::Node {
        workload: Some(w), ..
    } = d
    {
        m.insert(super::WORKLOAD_APP_LABEL.into(), json!(w));
    }
    if let Some(c) = cluster {
        m.insert("platc.dev/cluster".into(), json!(c));
    }
    let l = Labelled {
        platform: p,
        renderer: DEL,
        subject,
        env,
        team: d.team(),
        cluster,
    };
    record_labels(rec, "metadata.labels", m.keys().map(String::as_str), &l);
    Value::Object(m)
}

/// The Application's project: a node's team's, else (namespaces, roots) the platform's.
fn project<'a>(project: &'a str, d: Deploys<'_>, subject: &str, rec: &mut Recorder) -> &'a str {
    let p = match d {
        Deploys::Node { cx, .. } | Deploys::EnvRoot(cx) => cx.platform,
        Deploys::ClusterRoot(_) => {
            rec.at("spec.project", || {
                vec![Origin::rule(
                    DEL,
                    "roots belong to the platform project",
                    subject,
                )]
            });
            return project;
        }
    };
    rec.at("spec.project", || match d {
        Deploys::Node { node, team, .. } if !node.starts_with("namespace:") => {
            vec![platform(
                p,
                &[format!("teams.{team}.project"), format!("teams.{team}")],
            )]
        }
        _ => vec![Origin::rule(
            DEL,
            "namespaces and roots belong to the platform project",
            subject,
        )],
    });
    project
}

/// The GitOps repository at its target revision, in the directory the Application syncs.
fn source(p: &Platform, path: String, d: Deploys<'_>, subject: &str, rec: &mut Recorder) -> Value {
    rec.at("spec.source.repoURL", || vec![gitops(p, "repo_url")]);
    rec.at("spec.source.targetRevision", || {
        vec![gitops(p, "target_revision")]
    });
    rec.at("spec.source.path", || {
        let rule = match d {
            Deploys::ClusterRoot(_) => "the directory of the cluster's component Applications",
            _ => "the node's directory of the rendered tree",
        };
        vec![Origin::rule(DEL, rule, subject), gitops(p, "path")]
    });
    json!({
        "repoURL": p.gitops.repo_url,
        "targetRevision": p.gitops.target_revision,
        "path": repo_path(p, &path),
    })
}

/// Where the Application deploys: a node's cluster and namespace; a root where Argo CD runs.
fn destination(
    p: &Platform,
    namespace: &str,
    d: Deploys<'_>,
    subject: &str,
    rec: &mut Recorder,
) -> Value {
    let in_cluster = "the root runs where Argo CD runs: the in-cluster API server";
    match d {
        Deploys::Node { cx, team, .. } => {
            rec.at("spec.destination.server", || {
                vec![platform(
                    p,
                    &[format!("clusters.{}.server", cx.res.cluster)],
                )]
            });
            rec.at("spec.destination.namespace", || {
                vec![
                    Origin::rule(DEL, "the namespace of the node's objects", subject),
                    platform(p, &[format!("teams.{team}.namespace")]),
                ]
            });
        }
        Deploys::EnvRoot(_) => {
            rec.at("spec.destination.server", || {
                vec![Origin::rule(DEL, in_cluster, subject)]
            });
            rec.at("spec.destination.namespace", || {
                vec![Origin::rule(
                    DEL,
                    "the namespace of the node's objects",
                    subject,
                )]
            });
        }
        Deploys::ClusterRoot(_) => {
            for f in ["spec.destination.server", "spec.destination.namespace"] {
                rec.at(f, || {
                    vec![
                        Origin::rule(DEL, in_cluster, subject),
                        gitops(p, "argocd_namespace"),
                    ]
                });
            }
        }
    }
    let server = match d {
        Deploys::Node { cx, .. } => p.clusters.get(&cx.res.cluster).map_or("", |c| &c.server),
        _ => IN_CLUSTER,
    };
    json!({"server": server, "namespace": namespace})
}

/// An Application's `syncPolicy`: the same for every Application platc renders (a component's
/// also creates its namespace), each field recorded as a rule of the renderer applied to
/// `subject`, not a setting.
pub(super) fn sync_policy(create_namespace: bool, rec: &mut Recorder, subject: &str) -> Value {
    let rule = |r: &'static str| vec![Origin::rule(DEL, r, subject)];
    let at = |f: &str| format!("spec.syncPolicy.{f}");
    let automated = json!({"prune": true, "selfHeal": true});
    rec.record(
        || at("automated.prune"),
        || rule("objects removed from the rendered tree are pruned"),
    );
    rec.record(
        || at("automated.selfHeal"),
        || rule("drift in the cluster is reverted to the rendered tree"),
    );
    let mut opts = vec!["ServerSideApply=true", "PruneLast=true"];
    rec.record(
        || at("syncOptions[0]"),
        || rule("objects are applied server-side"),
    );
    rec.record(
        || at("syncOptions[1]"),
        || rule("pruning waits until everything else is synced"),
    );
    if create_namespace {
        opts.push("CreateNamespace=true");
        rec.record(
            || at("syncOptions[2]"),
            || rule("a component's sync creates its namespace"),
        );
    }
    let retry =
        json!({"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}});
    for f in [
        "retry.limit",
        "retry.backoff.duration",
        "retry.backoff.factor",
        "retry.backoff.maxDuration",
    ] {
        rec.record(
            || at(f),
            || rule("a failed sync is retried 5 times, backing off from 10s, doubling, up to 5m"),
        );
    }
    json!({"automated": automated, "syncOptions": opts, "retry": retry})
}

/// A sync wave's cause. A node's is one more than the highest wave of its ordering
/// predecessors: every edge from a predecessor at `wave - 1`, each with what created it, and
/// then, back to wave 0, the edges of one such longest path (the first predecessor by id at
/// each step). Roots are synced first.
fn wave_origins(d: Deploys<'_>) -> Vec<Origin> {
    let (cx, node) = match d {
        Deploys::Node { cx, node, .. } => (cx, node),
        Deploys::EnvRoot(cx) => {
            return vec![Origin::rule(
                DEL,
                "the environment's root is synced first: wave 0",
                root_subject(&cx.res.env),
            )];
        }
        Deploys::ClusterRoot(c) => {
            return vec![Origin::rule(
                DEL,
                "a cluster's root is synced first: wave 0",
                cluster_subject(c),
            )];
        }
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
