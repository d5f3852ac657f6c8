//! The integration & delivery plane: an AppProject per team, one Argo CD Application per graph
//! node that has manifests (sync wave = the node's wave), an app-of-apps root per environment,
//! and per cluster a root with the platform components.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::origins::{Origin, Recorder};
use super::resource::{instance_dir, namespace_dir, workload_dir};
use super::{Body, EnvCx, GlobalCx, Object, PlaneRenderer, Provenance};
use crate::diag::Diagnostics;
use crate::graph::{self, namespace_id, resource_id, workload_id};
use crate::model::{Cluster, Component, Plane, Platform, Team};
use crate::resolve::EnvResolution;

mod why;
mod why_global;

use why::App;

pub struct DeliveryPlane;

/// The AppProject that owns cluster-wide things (namespaces, components, roots).
pub const PLATFORM_PROJECT: &str = "platform";
const IN_CLUSTER: &str = "https://kubernetes.default.svc";

fn repo_path(platform: &Platform, p: &str) -> String {
    let prefix = platform.gitops.path.trim_matches('/');
    if prefix.is_empty() {
        p.to_string()
    } else {
        format!("{prefix}/{p}")
    }
}

struct AppSpec<'a> {
    name: String,
    project: &'a str,
    path: String,
    server: &'a str,
    namespace: &'a str,
    wave: u32,
    labels: Value,
}

/// An Application of an environment or cluster root; `subject` is the graph element its sync
/// policy is recorded for.
fn application(platform: &Platform, a: AppSpec<'_>, rec: &mut Recorder, subject: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": a.name,
            "namespace": platform.gitops.argocd_namespace,
            "labels": a.labels,
            "annotations": {"argocd.argoproj.io/sync-wave": a.wave.to_string()},
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": a.project,
            "source": {
                "repoURL": platform.gitops.repo_url,
                "targetRevision": platform.gitops.target_revision,
                "path": repo_path(platform, &a.path),
            },
            "destination": {"server": a.server, "namespace": a.namespace},
            "syncPolicy": sync_policy(false, rec, subject),
        }
    })
}

/// An Application's `syncPolicy`: the same for every Application platc renders (a component's
/// also creates its namespace), each field recorded as a rule of the renderer applied to
/// `subject`, not a setting.
fn sync_policy(create_namespace: bool, rec: &mut Recorder, subject: &str) -> Value {
    let rule = |r: &'static str| vec![Origin::rule(why::DEL, r, subject)];
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

fn labels(env: Option<&str>, team: Option<&str>) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("app.kubernetes.io/managed-by".into(), json!("platc"));
    if let Some(e) = env {
        m.insert("platc.dev/environment".into(), json!(e));
    }
    if let Some(t) = team {
        m.insert("platc.dev/team".into(), json!(t));
    }
    Value::Object(m)
}

fn delivery_obj(path: String, value: Value, source: &str, node: String) -> Object {
    Object {
        path,
        plane: Plane::Delivery,
        body: Body::Manifest(value),
        provenance: Provenance {
            source: source.into(),
            node,
            via: "renderer:delivery".into(),
        },
        origins: None,
    }
}

/// Label on a workload's Applications (one per environment) naming the workload, so a selector
/// (the developer portal's `argocd/app-selector`) finds exactly that workload's Applications.
pub const WORKLOAD_APP_LABEL: &str = "platc.dev/workload";

/// The Application name of a workload / resource / namespace node in an environment.
pub fn app_name_workload(env: &str, w: &str) -> String {
    format!("{env}-{w}")
}
pub fn app_name_resource(env: &str, name: &str) -> String {
    format!("{env}-res-{name}")
}
pub fn app_name_namespace(env: &str, ns: &str) -> String {
    format!("{env}-ns-{ns}")
}

impl PlaneRenderer for DeliveryPlane {
    fn plane(&self) -> Plane {
        Plane::Delivery
    }

    fn render_global(&self, cx: &GlobalCx<'_>) -> Result<Vec<Object>, Diagnostics> {
        let envs: Vec<&EnvResolution> = cx.envs.iter().map(|(r, _)| *r).collect();
        render_global(cx.platform, &envs, cx.record)
    }

    fn render_env(&self, cx: &EnvCx<'_>) -> Result<Vec<Object>, Diagnostics> {
        let p = cx.platform;
        let env = cx.res.env.as_str();
        let Some(cluster) = p.clusters.get(&cx.res.cluster) else {
            return Ok(Vec::new());
        };
        let server = cluster.server.as_str();
        let wave = |id: &str| cx.graph.waves.get(id).copied().unwrap_or(0);
        let mut out = Vec::new();

        for (ns, team) in &cx.res.namespaces() {
            let node = namespace_id(ns);
            if cx.fresh(&node) {
                let a = AppSpec {
                    name: app_name_namespace(env, ns),
                    project: PLATFORM_PROJECT,
                    path: namespace_dir(env, ns),
                    server,
                    namespace: ns,
                    wave: wave(&node),
                    labels: labels(Some(env), Some(team)),
                };
                out.push(node_app(cx, a, "platform/main.ncl", node, team));
            }
        }
        for w in &cx.res.workloads {
            let node = workload_id(&w.name);
            if !cx.fresh(&node) {
                continue;
            }
            let mut app_labels = labels(Some(env), Some(&w.team));
            app_labels[WORKLOAD_APP_LABEL] = json!(w.name);
            let a = AppSpec {
                name: app_name_workload(env, &w.name),
                project: &p.teams[&w.team].project,
                path: workload_dir(env, &w.name),
                server,
                namespace: &w.namespace,
                wave: wave(&node),
                labels: app_labels,
            };
            out.push(node_app(cx, a, &w.file, node, &w.team));
        }
        for i in cx.res.instances.iter().filter(|i| !i.manifests.is_empty()) {
            let node = resource_id(&i.key);
            let Some(team) = p.teams.get(&i.team).filter(|_| cx.fresh(&node)) else {
                continue;
            };
            let a = AppSpec {
                name: app_name_resource(env, &i.name),
                project: &team.project,
                path: instance_dir(env, &i.name),
                server,
                namespace: &i.namespace,
                wave: wave(&node),
                labels: labels(Some(env), Some(&i.team)),
            };
            out.push(node_app(cx, a, &i.span.file, node, &i.team));
        }
        out.push(env_root(cx));
        Ok(out)
    }
}

/// The Application of one graph node in an environment's app-of-apps.
fn node_app(cx: &EnvCx<'_>, a: AppSpec<'_>, source: &str, node: String, team: &str) -> Object {
    let path = format!("argocd/{}/apps/{}.yaml", cx.res.env, a.name);
    let mut why = why::app_origins(
        cx,
        &App {
            node: Some(&node),
            team: Some(team),
        },
    );
    let app = application(cx.platform, a, &mut why, &node);
    delivery_obj(path, app, source, node).with_origins(why)
}

/// The environment's app-of-apps root: the directory of its node Applications.
fn env_root(cx: &EnvCx<'_>) -> Object {
    let (p, env) = (cx.platform, cx.res.env.as_str());
    let mut why = why::app_origins(
        cx,
        &App {
            node: None,
            team: None,
        },
    );
    let subject = why::root_subject(env);
    let root = application(
        p,
        AppSpec {
            name: format!("{env}-root"),
            project: PLATFORM_PROJECT,
            path: format!("argocd/{env}/apps"),
            server: IN_CLUSTER,
            namespace: &p.gitops.argocd_namespace,
            wave: 0,
            labels: labels(Some(env), None),
        },
        &mut why,
        &subject,
    );
    let path = format!("argocd/{env}/root.yaml");
    delivery_obj(path, root, "platform/main.ncl", String::new()).with_origins(why)
}

/// AppProjects, and per cluster the component Applications and their root.
fn render_global(
    p: &Platform,
    envs: &[&EnvResolution],
    record: bool,
) -> Result<Vec<Object>, Diagnostics> {
    let mut out = vec![platform_project(p, record)];
    for (team_name, team) in &p.teams {
        out.push(team_project(p, record, team_name, team));
    }
    let used_clusters: BTreeSet<&str> = envs.iter().map(|e| e.cluster.as_str()).collect();
    for cluster_name in used_clusters {
        let Some(cluster) = p.clusters.get(cluster_name) else {
            continue;
        };
        cluster_apps(p, record, cluster_name, cluster, &mut out)?;
    }
    Ok(out)
}

/// The platform's AppProject: the GitOps repository and every component's chart repository.
fn platform_project(p: &Platform, record: bool) -> Object {
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
    let platform_project = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": PLATFORM_PROJECT, "namespace": p.gitops.argocd_namespace, "labels": labels(None, None)},
        "spec": {
            "description": "Platform components, namespaces and the app-of-apps roots (managed by platc)",
            "sourceRepos": source_repos,
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        }
    });
    let why = why::project_origins(p, record, None, &platform_project["spec"]);
    delivery_obj(
        format!("argocd/projects/{PLATFORM_PROJECT}.yaml"),
        platform_project,
        "platform/main.ncl",
        String::new(),
    )
    .with_origins(why)
}

/// A team's AppProject: its namespace in every environment, and its group's role if it has one.
fn team_project(p: &Platform, record: bool, team_name: &str, team: &Team) -> Object {
    let mut destinations = Vec::new();
    for (env_name, env) in &p.environments {
        if let Some(c) = p.clusters.get(&env.cluster) {
            destinations.push(
                json!({"server": c.server, "namespace": format!("{}-{env_name}", team.namespace)}),
            );
        }
    }
    destinations.sort_by_key(|d| d.to_string());
    let mut spec = json!({
        "description": team.description.clone().unwrap_or_else(|| format!("Workloads of team {team_name} (managed by platc)")),
        "sourceRepos": [p.gitops.repo_url],
        "destinations": destinations,
        // Teams deploy namespaced objects only; namespaces come from the platform project.
        "clusterResourceWhitelist": [],
    });
    if let Some(group) = &team.group {
        spec["roles"] = json!([{
            "name": "developers",
            "description": format!("Members of {group} may sync and inspect the team's applications"),
            "groups": [group],
            "policies": [
                format!("p, proj:{}:developers, applications, get, {}/*, allow", team.project, team.project),
                format!("p, proj:{}:developers, applications, sync, {}/*, allow", team.project, team.project),
            ],
        }]);
    }
    let proj = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": team.project, "namespace": p.gitops.argocd_namespace, "labels": labels(None, Some(team_name))},
        "spec": spec,
    });
    let why = why::project_origins(p, record, Some(team_name), &proj["spec"]);
    delivery_obj(
        format!("argocd/projects/{}.yaml", team.project),
        proj,
        "platform/main.ncl",
        String::new(),
    )
    .with_origins(why)
}

/// A cluster's component Applications (waves from the component graph), then its root.
fn cluster_apps(
    p: &Platform,
    record: bool,
    cluster_name: &str,
    cluster: &Cluster,
    out: &mut Vec<Object>,
) -> Result<(), Diagnostics> {
    let waves = graph::component_waves(p, cluster_name)?;
    let dir = format!("argocd/clusters/{cluster_name}/apps");
    for comp_name in graph::components_on(p, cluster_name) {
        out.push(component_app(
            p,
            record,
            cluster_name,
            cluster,
            &dir,
            comp_name,
            &waves,
        ));
    }
    let mut why = why::cluster_root_origins(p, record, cluster_name);
    let root = application(
        p,
        AppSpec {
            name: format!("{cluster_name}-platform"),
            project: PLATFORM_PROJECT,
            path: dir,
            server: IN_CLUSTER,
            namespace: &p.gitops.argocd_namespace,
            wave: 0,
            labels: json!({"app.kubernetes.io/managed-by": "platc", "platc.dev/cluster": cluster_name}),
        },
        &mut why,
        &why::cluster_subject(cluster_name),
    );
    out.push(
        delivery_obj(
            format!("argocd/clusters/{cluster_name}/root.yaml"),
            root,
            "platform/main.ncl",
            String::new(),
        )
        .with_origins(why),
    );
    Ok(())
}

/// One component's Application in its cluster's root.
fn component_app(
    p: &Platform,
    record: bool,
    cluster_name: &str,
    cluster: &Cluster,
    dir: &str,
    comp_name: &str,
    waves: &BTreeMap<String, u32>,
) -> Object {
    let c = &p.components[comp_name];
    let name = format!("{cluster_name}-{comp_name}");
    let mut why = why::component_app_origins(p, record, cluster_name, comp_name, waves);
    let sync = sync_policy(true, &mut why, &graph::component_id(comp_name));
    let app = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": p.gitops.argocd_namespace,
            "labels": {"app.kubernetes.io/managed-by": "platc", "platc.dev/cluster": cluster_name, "platc.dev/plane": c.plane.as_str()},
            "annotations": {"argocd.argoproj.io/sync-wave": waves.get(comp_name).copied().unwrap_or(0).to_string()},
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": PLATFORM_PROJECT,
            "source": component_source(p, comp_name, c),
            "destination": {"server": cluster.server, "namespace": c.namespace},
            "syncPolicy": sync,
        }
    });
    delivery_obj(
        format!("{dir}/{comp_name}.yaml"),
        app,
        "platform/main.ncl",
        graph::component_id(comp_name),
    )
    .with_origins(why)
}

/// A component's source: its Helm chart, else its directory in the GitOps repository.
fn component_source(p: &Platform, comp_name: &str, c: &Component) -> Value {
    match &c.chart {
        Some(ch) => {
            let mut s =
                json!({"repoURL": ch.repo_url, "chart": ch.name, "targetRevision": ch.version});
            if ch.values.as_object().is_some_and(|m| !m.is_empty()) {
                s["helm"] = json!({"releaseName": comp_name, "valuesObject": ch.values});
            } else {
                s["helm"] = json!({"releaseName": comp_name});
            }
            s
        }
        None => json!({
            "repoURL": p.gitops.repo_url,
            "targetRevision": p.gitops.target_revision,
            "path": repo_path(p, &format!("components/{comp_name}")),
        }),
    }
}
