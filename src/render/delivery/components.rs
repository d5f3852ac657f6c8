//! A cluster's platform components: one Application per component (its wave from the
//! components it requires, its source a Helm chart or a directory of the GitOps repository)
//! and the cluster's root over them, each field recorded beside the value it is given.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::origins::{Labelled, Origin, Recorder, platform, record_labels};
use super::application::{
    AppSpec, DEL, Deploys, WAVE_PATH, application, gitops, repo_path, sync_policy,
};
use super::{PLATFORM_PROJECT, delivery_obj};
use crate::diag::Diagnostics;
use crate::graph;
use crate::model::{Cluster, Component, Platform};
use crate::render::Object;

/// A cluster's component Applications (waves from the component graph), then its root.
pub(super) fn cluster_apps(
    p: &Platform,
    record: bool,
    cluster_name: &str,
    cluster: &Cluster,
    out: &mut Vec<Object>,
) -> Result<(), Diagnostics> {
    let waves = graph::component_waves(p, cluster_name)?;
    let dir = format!("argocd/clusters/{cluster_name}/apps");
    for comp_name in graph::components_on(p, cluster_name) {
        let mut rec = Recorder::new(record);
        let app = component_app(p, cluster_name, cluster, &dir, comp_name, &waves, &mut rec);
        out.push(app.with_origins(rec));
    }
    let mut rec = Recorder::new(record);
    let root = application(
        p,
        AppSpec {
            name: format!("{cluster_name}-platform"),
            project: PLATFORM_PROJECT,
            path: dir,
            namespace: &p.gitops.argocd_namespace,
            wave: 0,
        },
        Deploys::ClusterRoot(cluster_name),
        &mut rec,
    );
    out.push(
        delivery_obj(
            format!("argocd/clusters/{cluster_name}/root.yaml"),
            root,
            "platform/main.ncl",
            String::new(),
        )
        .with_origins(rec),
    );
    Ok(())
}

/// One component's Application in its cluster's root.
fn component_app(
    p: &Platform,
    cluster_name: &str,
    cluster: &Cluster,
    dir: &str,
    comp_name: &str,
    waves: &BTreeMap<String, u32>,
    rec: &mut Recorder,
) -> Object {
    let c = &p.components[comp_name];
    let id = graph::component_id(comp_name);
    let setting = format!("components.{comp_name}");
    let at = |paths: &[String]| platform(p, paths);
    let rule = |r: &'static str| Origin::rule(DEL, r, id.clone());
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
                at(std::slice::from_ref(&setting)),
            ]
        });
    }
    rec.at("spec.destination.server", || {
        vec![at(&[
            format!("clusters.{cluster_name}.server"),
            format!("clusters.{cluster_name}"),
        ])]
    });
    rec.at("spec.destination.namespace", || {
        vec![at(&[format!("{setting}.namespace"), setting.clone()])]
    });
    let app = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": component_metadata(p, cluster_name, comp_name, waves, rec),
        "spec": {
            "project": PLATFORM_PROJECT,
            "source": component_source(p, comp_name, c, rec),
            "destination": {"server": cluster.server, "namespace": c.namespace},
            "syncPolicy": sync_policy(true, rec, &id),
        }
    });
    delivery_obj(
        format!("{dir}/{comp_name}.yaml"),
        app,
        "platform/main.ncl",
        id.clone(),
    )
}

/// A component Application's name, labels and sync wave (one more than the highest of the
/// components it requires on the cluster).
fn component_metadata(
    p: &Platform,
    cluster_name: &str,
    comp_name: &str,
    waves: &BTreeMap<String, u32>,
    rec: &mut Recorder,
) -> Value {
    let c = &p.components[comp_name];
    let id = graph::component_id(comp_name);
    let setting = format!("components.{comp_name}");
    let at = |paths: &[String]| platform(p, paths);
    let rule = |r: &'static str| Origin::rule(DEL, r, id.clone());
    rec.at("metadata.name", || {
        vec![
            rule("a component's Application is named `<cluster>-<component>`"),
            at(std::slice::from_ref(&setting)),
        ]
    });
    rec.at("metadata.namespace", || vec![gitops(p, "argocd_namespace")]);
    rec.at("metadata.finalizers[0]", || {
        vec![rule("pruned objects of an Application are finalised")]
    });
    let wave = waves.get(comp_name).copied().unwrap_or(0);
    rec.at(WAVE_PATH, || {
        let mut o = vec![rule(
            "the component's wave on its cluster: one more than the highest of the components it requires",
        )];
        if c.requires.iter().any(|r| waves.get(r).copied() == Some(wave.wrapping_sub(1))) {
            o.push(at(&[format!("{setting}.requires")]));
        }
        o
    });
    let labels = json!({"app.kubernetes.io/managed-by": "platc", "platc.dev/cluster": cluster_name, "platc.dev/plane": c.plane.as_str()});
    let l = Labelled {
        platform: p,
        renderer: DEL,
        subject: &id,
        env: None,
        team: None,
        cluster: Some(cluster_name),
    };
    let keys = ["app.kubernetes.io/managed-by", "platc.dev/cluster"];
    record_labels(rec, "metadata.labels", keys, &l);
    json!({
        "name": format!("{cluster_name}-{comp_name}"),
        "namespace": p.gitops.argocd_namespace,
        "labels": labels,
        "annotations": {"argocd.argoproj.io/sync-wave": wave.to_string()},
        "finalizers": ["resources-finalizer.argocd.argoproj.io"],
    })
}

/// A component's source: its Helm chart (the chart's values copied as written, each leaf its
/// own setting), else its directory in the GitOps repository.
fn component_source(p: &Platform, comp_name: &str, c: &Component, rec: &mut Recorder) -> Value {
    let id = graph::component_id(comp_name);
    let setting = format!("components.{comp_name}");
    let rule = |r: &'static str| Origin::rule(DEL, r, id.clone());
    rec.at("spec.source", || {
        vec![platform(
            p,
            &[
                format!("{setting}.chart"),
                "gitops.repo_url".into(),
                setting.clone(),
            ],
        )]
    });
    let Some(ch) = &c.chart else {
        rec.at("spec.source.repoURL", || vec![gitops(p, "repo_url")]);
        rec.at("spec.source.targetRevision", || {
            vec![gitops(p, "target_revision")]
        });
        rec.at("spec.source.path", || {
            vec![
                rule("a component without a chart is its directory `components/<name>`"),
                gitops(p, "path"),
            ]
        });
        return json!({
            "repoURL": p.gitops.repo_url,
            "targetRevision": p.gitops.target_revision,
            "path": repo_path(p, &format!("components/{comp_name}")),
        });
    };
    let at = |f: &str| vec![platform(p, &[format!("{setting}.{f}"), setting.clone()])];
    rec.at("spec.source.repoURL", || at("chart.repo_url"));
    rec.at("spec.source.chart", || at("chart.name"));
    rec.at("spec.source.targetRevision", || at("chart.version"));
    rec.at("spec.source.helm.releaseName", || {
        vec![
            rule("a component's Helm release is named after it"),
            platform(p, std::slice::from_ref(&setting)),
        ]
    });
    let mut s = json!({"repoURL": ch.repo_url, "chart": ch.name, "targetRevision": ch.version});
    if ch.values.as_object().is_some_and(|m| !m.is_empty()) {
        rec.at("spec.source.helm.valuesObject", || at("chart.values"));
        let written = format!("{setting}.chart.values");
        rec.spread("spec.source.helm.valuesObject", &ch.values, |rel| {
            vec![platform(p, &[format!("{written}.{rel}"), written.clone()])]
        });
        s["helm"] = json!({"releaseName": comp_name, "valuesObject": ch.values});
    } else {
        s["helm"] = json!({"releaseName": comp_name});
    }
    s
}
