//! The catalog's entities: a Group and a System per team, a User per owner, a Component (with
//! its APIs) per workload, one Resource per provisioned instance across environments, and the
//! Location that lists them all.

use std::collections::BTreeSet;

use rayon::prelude::*;
use serde_json::{Map, Value, json};

use super::apis::api_entities;
use super::names::tag;
use super::names::{Names, entity_name};
use super::why::{Why, off};
use super::{API_VERSION, CATALOG_DIR, LOCATION_PATH, Owners, Seen, VIA};
use crate::graph::workload_id;
use crate::model::{Plane, Platform, Team, WorkloadKind};
use crate::render::delivery::WORKLOAD_APP_LABEL;
use crate::render::{Body, Object, Provenance};
use crate::resolve::{EnvResolution, Instance, RWorkload};

const USERS_DIR: &str = "catalog/_users";
const PLATFORM_SOURCE: &str = "platform/main.ncl";

fn prov(source: &str, node: String) -> Provenance {
    Provenance {
        source: source.to_string(),
        node,
        via: VIA.into(),
    }
}

fn manifest(dir: &str, value: Value, provenance: Provenance) -> Object {
    Object::manifest(dir, value, Plane::DeveloperControl, provenance)
}

/// `component` for workloads: `service` when it exposes ports, `cronjob` for scheduled jobs,
/// `worker` for the rest.
pub fn component_type(w: &RWorkload) -> &'static str {
    match w.profile.kind {
        WorkloadKind::Cronjob => "cronjob",
        WorkloadKind::Deployment if !w.ports.is_empty() => "service",
        WorkloadKind::Deployment => "worker",
    }
}

fn is_production(platform: &Platform, env: &str) -> bool {
    platform
        .environments
        .get(env)
        .is_some_and(|e| e.env_type == "production")
}

fn env_list<T>(seen: &[(&EnvResolution, &T)]) -> String {
    seen.iter()
        .map(|(r, _)| r.env.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// `value` when every environment agrees, else `env=value` pairs.
fn per_env<T>(seen: &[(&EnvResolution, &T)], f: impl Fn(&T) -> String) -> String {
    let values: BTreeSet<String> = seen.iter().map(|(_, t)| f(t)).collect();
    if values.len() == 1 {
        values.into_iter().next().unwrap_or_default()
    } else {
        seen.iter()
            .map(|(r, t)| format!("{}={}", r.env, f(t)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

pub(super) fn env_tags<T>(seen: &[(&EnvResolution, &T)]) -> Vec<String> {
    let tags: BTreeSet<String> = seen.iter().filter_map(|(r, _)| tag(&r.env)).collect();
    tags.into_iter().collect()
}

/// Optional relation lists are left out when empty: shorter files, same catalog.
fn drop_empty_lists(spec: &mut Value) {
    if let Value::Object(m) = spec {
        m.retain(|_, v| v.as_array().is_none_or(|a| !a.is_empty()));
    }
}

// ---------------------------------------------------------------------------------------------
// Teams and users
// ---------------------------------------------------------------------------------------------

/// The strings of list `field` of an entity's spec (its relations).
fn list(spec: &Value, field: &str) -> Vec<String> {
    spec.get(field)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A Group and a System per team, in team order.
pub(super) fn team_entities(
    platform: &Platform,
    names: &Names,
    why: Option<&Why<'_>>,
) -> Vec<Object> {
    let mut out = Vec::new();
    for (team, t) in &platform.teams {
        let dir = names.team_dir(team);
        let g = group(names, team, t);
        let rec = why.map_or_else(off, |y| y.group(team, &list(&g["spec"], "members"), &g));
        out.push(manifest(&dir, g, prov(PLATFORM_SOURCE, String::new())).with_origins(rec));
        let sys = system(names, team);
        let rec = why.map_or_else(off, |y| y.system(team, &sys));
        out.push(manifest(&dir, sys, prov(PLATFORM_SOURCE, String::new())).with_origins(rec));
    }
    out
}

fn group(names: &Names, team: &str, t: &Team) -> Value {
    let mut annotations = Map::new();
    annotations.insert("platc.dev/team".into(), json!(team));
    annotations.insert("platc.dev/argocd-project".into(), json!(t.project));
    if let Some(g) = &t.group {
        annotations.insert("platc.dev/idp-group".into(), json!(g));
    }
    let members: Vec<String> = t
        .owners
        .iter()
        .filter_map(|o| names.user(o))
        .map(|n| format!("user:default/{n}"))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let description = t
        .description
        .clone()
        .unwrap_or_else(|| format!("Team {team}."));
    json!({
        "apiVersion": API_VERSION,
        "kind": "Group",
        "metadata": {"name": names.team(team), "description": description, "annotations": annotations},
        "spec": {
            "type": "team",
            "profile": {"displayName": team},
            "children": [],
            "members": members,
        },
    })
}

fn system(names: &Names, team: &str) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "System",
        "metadata": {
            "name": names.team(team),
            "description": format!("Workloads, APIs and resources of team {team} (rendered by platc)."),
            "annotations": {"platc.dev/team": team},
        },
        "spec": {"owner": names.group(team)},
    })
}

/// A User per owner, in owner order.
pub(super) fn user_entities(owners: &Owners, names: &Names, why: Option<&Why<'_>>) -> Vec<Object> {
    let mut out = Vec::new();
    for (email, teams) in owners.values() {
        let Some(un) = names.user(email) else {
            continue;
        };
        let member_of: Vec<String> = teams.iter().map(|t| names.group(t)).collect();
        let user = json!({
            "apiVersion": API_VERSION,
            "kind": "User",
            "metadata": {"name": un},
            "spec": {"profile": {"email": email}, "memberOf": member_of},
        });
        let rec = why.map_or_else(off, |y| y.user(teams, &member_of, &user));
        out.push(manifest(USERS_DIR, user, prov(PLATFORM_SOURCE, String::new())).with_origins(rec));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------------------------

/// Each workload's Component and APIs, rendered in parallel and kept in workload order.
pub(super) fn workload_entities(
    platform: &Platform,
    names: &Names,
    workloads: &Seen<'_, RWorkload>,
    why: Option<&Why<'_>>,
) -> Vec<Object> {
    let per_workload: Vec<Vec<Object>> = workloads
        .par_iter()
        .filter_map(|(wname, seen)| {
            let (_, first) = seen.first()?;
            let cn = names.component_name(wname)?;
            Some(component_and_apis(platform, names, cn, first, seen, why))
        })
        .collect();
    per_workload.into_iter().flatten().collect()
}

fn component_and_apis(
    platform: &Platform,
    names: &Names,
    cn: &str,
    w: &RWorkload,
    seen: &[(&EnvResolution, &RWorkload)],
    why: Option<&Why<'_>>,
) -> Vec<Object> {
    let lifecycle = if seen.iter().any(|(r, _)| is_production(platform, &r.env)) {
        "production"
    } else {
        "experimental"
    };
    let dir = names.team_dir(&w.team);
    let provenance = || prov(&w.file, workload_id(&w.name));
    let c = component(names, cn, w, seen, lifecycle);
    let rec = why.map_or_else(off, |y| y.component(names, w, seen, &c));
    let mut out = vec![manifest(&dir, c, provenance()).with_origins(rec)];
    for (port, api) in api_entities(names, w, seen, lifecycle) {
        let rec = why.map_or_else(off, |y| y.api(w, port, &api));
        out.push(manifest(&dir, api, provenance()).with_origins(rec));
    }
    out
}

fn component(
    names: &Names,
    cn: &str,
    w: &RWorkload,
    seen: &[(&EnvResolution, &RWorkload)],
    lifecycle: &str,
) -> Value {
    let mut depends: BTreeSet<String> = BTreeSet::new();
    let mut consumes: BTreeSet<String> = BTreeSet::new();
    for (_, rw) in seen {
        depends.extend(rw.uses.values().filter_map(|k| names.resource(k)));
        for callee in &rw.calls {
            depends.extend(names.component(callee));
            consumes.extend(names.apis_of(callee));
        }
    }
    let mut component = json!({
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": {
            "name": cn,
            "description": format!("Workload {} of team {} (profile {}), deployed by platc to {}.", w.name, w.team, w.profile_name, env_list(seen).replace(',', ", ")),
            "annotations": component_annotations(w, seen),
            "tags": env_tags(seen),
        },
        "spec": {
            "type": component_type(w),
            "lifecycle": lifecycle,
            "owner": names.group(&w.team),
            "system": names.system(&w.team),
            "dependsOn": depends,
            "providesApis": names.apis_of(&w.name),
            "consumesApis": consumes,
        },
    });
    drop_empty_lists(&mut component["spec"]);
    component
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

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

/// One Resource per instance key, rendered in parallel and kept in key order.
pub(super) fn resource_entities(
    platform: &Platform,
    names: &Names,
    instances: &Seen<'_, Instance>,
    why: Option<&Why<'_>>,
) -> Vec<Object> {
    instances
        .par_iter()
        .filter_map(|(key, seen)| {
            let (_, first) = seen.first()?;
            let rn = names.resource_name(key)?;
            let r = resource_entity(platform, names, rn, seen);
            let rec = why.map_or_else(off, |y| {
                y.resource(names, seen, &list(&r["spec"], "dependsOn"), &r)
            });
            Some(
                manifest(
                    &names.team_dir(&first.team),
                    r,
                    prov(&first.span.file, String::new()),
                )
                .with_origins(rec),
            )
        })
        .collect()
}

fn resource_entity(
    platform: &Platform,
    names: &Names,
    rn: &str,
    seen: &[(&EnvResolution, &Instance)],
) -> Value {
    let Some((_, first)) = seen.first() else {
        return Value::Null;
    };
    let mut depends: BTreeSet<String> = BTreeSet::new();
    let mut requires: BTreeSet<&str> = BTreeSet::new();
    let mut consumers: BTreeSet<&str> = BTreeSet::new();
    for (_, i) in seen {
        depends.extend(i.needs.iter().filter_map(|k| names.resource(k)));
        requires.extend(i.requires.iter().map(String::as_str));
        consumers.extend(i.consumers.iter().map(String::as_str));
    }
    let sharing = if first.id.is_some() {
        "shared"
    } else {
        "private"
    };
    let mut resource = json!({
        "apiVersion": API_VERSION,
        "kind": "Resource",
        "metadata": {
            "name": rn,
            "description": format!(
                "{} {} ({sharing}, used by {}).{}",
                first.resource_type,
                first.name,
                consumers.into_iter().collect::<Vec<_>>().join(", "),
                provisioner_note(platform, seen),
            ),
            "annotations": resource_annotations(seen, requires),
            "tags": env_tags(seen),
        },
        "spec": {
            "type": first.resource_type,
            "owner": names.group(&first.team),
            "system": names.system(&first.team),
            "dependsOn": depends,
        },
    });
    drop_empty_lists(&mut resource["spec"]);
    resource
}

fn resource_annotations(
    seen: &[(&EnvResolution, &Instance)],
    requires: BTreeSet<&str>,
) -> Map<String, Value> {
    let mut annotations = Map::new();
    if let Some((_, first)) = seen.first() {
        annotations.insert("platc.dev/instance".into(), json!(first.key));
        annotations.insert("platc.dev/class".into(), json!(first.class));
    }
    annotations.insert("platc.dev/environments".into(), json!(env_list(seen)));
    annotations.insert(
        "platc.dev/namespaces".into(),
        json!(per_env(seen, |i| i.namespace.clone())),
    );
    annotations.insert(
        "platc.dev/provisioner".into(),
        json!(per_env(seen, |i| i.provisioner.clone())),
    );
    if !requires.is_empty() {
        annotations.insert(
            "platc.dev/requires".into(),
            json!(requires.into_iter().collect::<Vec<_>>().join(",")),
        );
    }
    annotations
}

/// ` <description>` of the provisioner, when every environment uses the same one: its
/// description would mislead for environments that use another.
fn provisioner_note(platform: &Platform, seen: &[(&EnvResolution, &Instance)]) -> String {
    let Some((_, first)) = seen.first() else {
        return String::new();
    };
    let same_provisioner = seen.iter().all(|(_, i)| i.provisioner == first.provisioner);
    platform
        .provisioners
        .iter()
        .find(|p| same_provisioner && p.name == first.provisioner)
        .and_then(|p| p.description.clone())
        .map(|d| format!(" {d}"))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Location
// ---------------------------------------------------------------------------------------------

/// The Location listing every entity file in `entities`, to import the catalog from one URL.
pub(super) fn location(platform: &Platform, entities: &[Object], why: Option<&Why<'_>>) -> Object {
    let mut targets: Vec<String> = entities
        .iter()
        .filter_map(|o| o.path.strip_prefix(&format!("{CATALOG_DIR}/")))
        .map(|p| format!("./{p}"))
        .collect();
    targets.sort();
    let location = json!({
        "apiVersion": API_VERSION,
        "kind": "Location",
        "metadata": {
            "name": entity_name(&format!("{}-platc-catalog", platform.name)),
            "description": format!("Every entity platc renders for platform {}: register this file to import them all.", platform.name),
        },
        "spec": {"targets": targets},
    });
    let origins = why.and_then(|y| y.location(&location).finish());
    Object {
        path: LOCATION_PATH.into(),
        plane: Plane::DeveloperControl,
        body: Body::Manifest(location),
        provenance: prov(PLATFORM_SOURCE, String::new()),
        origins,
    }
}
