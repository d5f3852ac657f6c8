//! The integration & delivery plane: an AppProject per team, one Argo CD Application per graph
//! node that has manifests (sync wave = the node's wave), an app-of-apps root per environment,
//! and per cluster a root with the platform components.

use std::collections::BTreeSet;

use super::resource::{instance_dir, namespace_dir, workload_dir};
use super::{Body, EnvCx, GlobalCx, Object, PlaneRenderer, Provenance};
use crate::diag::Diagnostics;
use crate::graph::{namespace_id, resource_id, workload_id};
use crate::model::{Plane, Platform};
use crate::resolve::EnvResolution;
use serde_json::Value;

mod application;
mod components;
mod projects;

use application::{AppSpec, Deploys};

pub struct DeliveryPlane;

/// The AppProject that owns cluster-wide things (namespaces, components, roots).
pub const PLATFORM_PROJECT: &str = "platform";

pub(super) fn delivery_obj(path: String, value: Value, source: &str, node: String) -> Object {
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
        let env = cx.res.env.as_str();
        if !cx.platform.clusters.contains_key(&cx.res.cluster) {
            return Ok(Vec::new());
        }
        let wave = |id: &str| cx.graph.waves.get(id).copied().unwrap_or(0);
        let mut out = Vec::new();

        for (ns, team) in &cx.res.namespaces() {
            let node = namespace_id(ns);
            if cx.fresh(&node) {
                let a = AppSpec {
                    name: app_name_namespace(env, ns),
                    project: PLATFORM_PROJECT,
                    path: namespace_dir(env, ns),
                    namespace: ns,
                    wave: wave(&node),
                };
                out.push(node_app(cx, a, "platform/main.ncl", &node, team, None));
            }
        }
        for w in &cx.res.workloads {
            let node = workload_id(&w.name);
            if !cx.fresh(&node) {
                continue;
            }
            let a = AppSpec {
                name: app_name_workload(env, &w.name),
                project: &cx.platform.teams[&w.team].project,
                path: workload_dir(env, &w.name),
                namespace: &w.namespace,
                wave: wave(&node),
            };
            out.push(node_app(cx, a, &w.file, &node, &w.team, Some(&w.name)));
        }
        for i in cx.res.instances.iter().filter(|i| !i.manifests.is_empty()) {
            let node = resource_id(&i.key);
            let Some(team) = cx.platform.teams.get(&i.team).filter(|_| cx.fresh(&node)) else {
                continue;
            };
            let a = AppSpec {
                name: app_name_resource(env, &i.name),
                project: &team.project,
                path: instance_dir(env, &i.name),
                namespace: &i.namespace,
                wave: wave(&node),
            };
            out.push(node_app(cx, a, &i.span.file, &node, &i.team, None));
        }
        out.push(env_root(cx));
        Ok(out)
    }
}

/// The Application of one graph node in an environment's app-of-apps.
fn node_app(
    cx: &EnvCx<'_>,
    a: AppSpec<'_>,
    source: &str,
    node: &str,
    team: &str,
    workload: Option<&str>,
) -> Object {
    let path = format!("argocd/{}/apps/{}.yaml", cx.res.env, a.name);
    let mut rec = cx.recorder();
    let d = Deploys::Node {
        cx,
        node,
        team,
        workload,
    };
    let app = application::application(cx.platform, a, d, &mut rec);
    delivery_obj(path, app, source, node.to_string()).with_origins(rec)
}

/// The environment's app-of-apps root: the directory of its node Applications.
fn env_root(cx: &EnvCx<'_>) -> Object {
    let (p, env) = (cx.platform, cx.res.env.as_str());
    let mut rec = cx.recorder();
    let a = AppSpec {
        name: format!("{env}-root"),
        project: PLATFORM_PROJECT,
        path: format!("argocd/{env}/apps"),
        namespace: &p.gitops.argocd_namespace,
        wave: 0,
    };
    let root = application::application(p, a, Deploys::EnvRoot(cx), &mut rec);
    let path = format!("argocd/{env}/root.yaml");
    delivery_obj(path, root, "platform/main.ncl", String::new()).with_origins(rec)
}

/// AppProjects, and per cluster the component Applications and their root.
fn render_global(
    p: &Platform,
    envs: &[&EnvResolution],
    record: bool,
) -> Result<Vec<Object>, Diagnostics> {
    let mut out = vec![projects::platform_project(p, record)];
    for (team_name, team) in &p.teams {
        out.push(projects::team_project(p, record, team_name, team));
    }
    let used_clusters: BTreeSet<&str> = envs.iter().map(|e| e.cluster.as_str()).collect();
    for cluster_name in used_clusters {
        let Some(cluster) = p.clusters.get(cluster_name) else {
            continue;
        };
        components::cluster_apps(p, record, cluster_name, cluster, &mut out)?;
    }
    Ok(out)
}
