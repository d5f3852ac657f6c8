//! A Component per workload, with its APIs, each field recorded beside its value: its
//! relations (`dependsOn`, `consumesApis`, `providesApis`) by the graph edges of every
//! environment and the Score line behind each, from the first environment (in promotion order)
//! that has it.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde_json::{Map, Value, json};

use super::API_VERSION;
use super::apis::api_entities;
use super::entity::{CAT, Cat, Made, drop_empty_lists, env_list, is_production, per_env, prov};
use super::names::Names;
use super::{Seen, component_type};
use crate::graph::{EdgeKind, resource_id, workload_id};
use crate::render::Object;
use crate::render::delivery::WORKLOAD_APP_LABEL;
use crate::render::origins::{Origin, platform, service_links};
use crate::resolve::{EnvResolution, RWorkload};

/// Each workload's Component and APIs, rendered in parallel and kept in workload order.
pub(super) fn workload_entities(
    cx: Cat<'_>,
    names: &Names,
    workloads: &Seen<'_, RWorkload>,
) -> Vec<Object> {
    let per_workload: Vec<Vec<Object>> = workloads
        .par_iter()
        .filter_map(|(wname, seen)| {
            let (_, first) = seen.first()?;
            let cn = names.component_name(wname)?;
            Some(component_and_apis(cx, names, cn, first, seen))
        })
        .collect();
    per_workload.into_iter().flatten().collect()
}

fn component_and_apis(
    cx: Cat<'_>,
    names: &Names,
    cn: &str,
    w: &RWorkload,
    seen: &[(&EnvResolution, &RWorkload)],
) -> Vec<Object> {
    let lifecycle = if seen.iter().any(|(r, _)| is_production(cx.platform, &r.env)) {
        "production"
    } else {
        "experimental"
    };
    let dir = names.team_dir(&w.team);
    let provenance = || prov(&w.file, workload_id(&w.name));
    let (m, c) = component(cx, names, cn, w, seen, lifecycle);
    let mut out = vec![m.object(&dir, c, provenance())];
    for (m, api) in api_entities(cx, names, w, seen, lifecycle) {
        out.push(m.object(&dir, api, provenance()));
    }
    out
}

fn component(
    cx: Cat<'_>,
    names: &Names,
    cn: &str,
    w: &RWorkload,
    seen: &[(&EnvResolution, &RWorkload)],
    lifecycle: &str,
) -> (Made, Value) {
    let id = workload_id(&w.name);
    let mut m = Made::new(
        cx,
        || id.clone(),
        || {
            let mut made = vec![Origin::rule(CAT, "a Component per workload", id.clone())];
            made.extend(cx.workload(&w.name));
            made
        },
    );
    let description = format!(
        "Workload {} of team {} (profile {}), deployed by platc to {}.",
        w.name,
        w.team,
        w.profile_name,
        env_list(seen).replace(',', ", ")
    );
    let mut meta = m.identity(cn, Some(description));
    m.annotations(&mut meta, component_annotations(w, seen));
    m.tags(&mut meta, seen);
    let spec = component_spec(cx, names, w, seen, lifecycle, &mut m);
    let value = json!({
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": meta,
        "spec": spec,
    });
    (m, value)
}

/// A Component's spec: its type and lifecycle, its team, and its relations.
fn component_spec(
    cx: Cat<'_>,
    names: &Names,
    w: &RWorkload,
    seen: &[(&EnvResolution, &RWorkload)],
    lifecycle: &str,
    m: &mut Made,
) -> Value {
    let subject = m.subject().to_string();
    m.rec.at("spec.type", || {
        vec![
            Origin::rule(
                CAT,
                "a Component's type: cronjob, else service with ports, else worker",
                subject.clone(),
            ),
            platform(
                cx.platform,
                &[
                    format!("profiles.{}.kind", w.profile_name),
                    format!("profiles.{}", w.profile_name),
                ],
            ),
        ]
    });
    let made = m.made();
    m.rec.at("spec", || made);
    m.rec.at("spec.lifecycle", || {
        vec![Origin::rule(
            CAT,
            "production when an environment of type production runs it, else experimental",
            subject.clone(),
        )]
    });
    m.rec.at("spec.owner", || vec![cx.team(&w.team)]);
    m.rec.at("spec.system", || vec![cx.team(&w.team)]);
    let mut depends: BTreeSet<String> = BTreeSet::new();
    let mut consumes: BTreeSet<String> = BTreeSet::new();
    for (_, rw) in seen {
        depends.extend(rw.uses.values().filter_map(|k| names.resource(k)));
        for callee in rw.calls() {
            depends.extend(names.component(callee));
            consumes.extend(names.apis_of(callee));
        }
    }
    let causes = std::cell::OnceCell::new();
    let causes = || {
        causes
            .get_or_init(|| uses_and_calls(cx, names, w, seen))
            .clone()
    };
    let depends = m.relation("spec.dependsOn", depends.into_iter().collect(), || {
        causes().0
    });
    let consumes = m.relation("spec.consumesApis", consumes.into_iter().collect(), || {
        causes().1
    });
    let provides = m.relation("spec.providesApis", names.apis_of(&w.name), || {
        names
            .api_ports_of(&w.name)
            .into_iter()
            .map(|(port, api)| (api, port_origins(cx, w, port)))
            .collect()
    });
    let mut spec = json!({
        "type": component_type(w),
        "lifecycle": lifecycle,
        "owner": names.group(&w.team),
        "system": names.system(&w.team),
        "dependsOn": depends,
        "providesApis": provides,
        "consumesApis": consumes,
    });
    drop_empty_lists(&mut spec);
    spec
}

fn component_annotations(
    w: &RWorkload,
    seen: &[(&EnvResolution, &RWorkload)],
) -> Map<String, Value> {
    let mut annotations = Map::new();
    annotations.insert(
        "argocd/app-selector".into(),
        json!(format!(
            "app.kubernetes.io/managed-by=platc,{WORKLOAD_APP_LABEL}={}",
            w.name
        )),
    );
    annotations.insert(
        "backstage.io/kubernetes-label-selector".into(),
        json!(format!(
            "app.kubernetes.io/managed-by=platc,app.kubernetes.io/name={}",
            w.name
        )),
    );
    annotations.insert("platc.dev/source".into(), json!(w.file.to_string()));
    annotations.insert("platc.dev/environments".into(), json!(env_list(seen)));
    annotations.insert(
        "platc.dev/namespaces".into(),
        json!(per_env(seen, |rw| rw.namespace.clone())),
    );
    annotations.insert(
        "platc.dev/profile".into(),
        json!(per_env(seen, |rw| rw.profile_name.clone())),
    );
    annotations
}

/// Relation item → its causes.
type Causes = BTreeMap<String, Vec<Origin>>;

/// The causes of a Component's `dependsOn` and `consumesApis` items: the ordering edge from
/// each resource it uses and the communication edge to each workload it calls, with the Score
/// request or `service` link behind it.
fn uses_and_calls(
    cx: Cat<'_>,
    names: &Names,
    w: &RWorkload,
    seen: &[(&EnvResolution, &RWorkload)],
) -> (Causes, Causes) {
    let (mut depends, mut consumes) = (BTreeMap::new(), BTreeMap::new());
    let score = cx.sources.and_then(|s| s.score(&w.name));
    for (_, rw) in seen {
        for (rkey, ikey) in &rw.uses {
            let Some(n) = names.resource(ikey) else {
                continue;
            };
            depends.entry(n).or_insert_with(|| {
                let mut o = vec![Origin::Edge {
                    from: resource_id(ikey),
                    to: workload_id(&w.name),
                    kind: EdgeKind::Ordering,
                }];
                o.extend(score.and_then(|s| s.resources.get(rkey)).map(|r| {
                    Origin::score(
                        format!("resources.{rkey} of workload {}", w.name),
                        &r.key.span,
                    )
                }));
                o
            });
        }
        for callee in rw.calls() {
            let call = || {
                let mut o = vec![Origin::Edge {
                    from: workload_id(&w.name),
                    to: workload_id(callee),
                    kind: EdgeKind::Communication,
                }];
                o.extend(
                    cx.sources
                        .into_iter()
                        .flat_map(|s| service_links(s, &w.name, callee)),
                );
                o
            };
            if let Some(c) = names.component(callee) {
                depends.entry(c).or_insert_with(call);
            }
            for api in names.apis_of(callee) {
                consumes.entry(api).or_insert_with(call);
            }
        }
    }
    (depends, consumes)
}

/// A service port of the workload, where its Score file writes it: what its API is made for.
pub(super) fn port_origins(cx: Cat<'_>, w: &RWorkload, port: &str) -> Vec<Origin> {
    let mut o = vec![Origin::rule(
        CAT,
        "an API per service port",
        workload_id(&w.name),
    )];
    let sp = cx
        .sources
        .and_then(|s| s.score(&w.name))
        .and_then(|s| s.service.as_ref())
        .and_then(|s| s.ports.get(port));
    o.extend(sp.map(|p| Origin::score(format!("service.ports.{port}"), &p.name.span)));
    o
}
