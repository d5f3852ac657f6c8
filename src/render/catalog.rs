//! The developer-control plane: the Backstage catalog of the whole platform (once, from every
//! environment's resolution and graph) and a README beside each app's manifests.
//!
//! Catalog layout and naming (all entities in Backstage namespace `default`):
//!
//! - per team `<t>`, in `catalog/<t>/`: `Group` `<t>` (type `team`, members = its owners) and
//!   `System` `<t>` owned by `group:default/<t>`;
//! - per owner e-mail, in `catalog/_users/`: a `User` named after the e-mail's local part (the
//!   whole address with `@` → `-` when two addresses share a local part), `spec.profile.email`
//!   set, so both of Backstage's e-mail sign-in resolvers find it;
//! - per workload: a `Component` named after it, in its team's directory;
//! - per service port: an `API` `<workload>-<port>` provided by that Component;
//! - per provisioned instance: **one** `Resource` across environments, keyed by the instance key
//!   (`type/class/id`) and named after the instance's name in the first environment (in promotion
//!   order) that has it; the environments, namespaces and provisioners are in annotations;
//! - `catalog/location.yaml`: a `Location` listing every entity file, to import the catalog from
//!   one URL.
//!
//! Names are lower-cased and reduced to Backstage's `[a-z0-9]` plus `-_.` inside, at most 63
//! characters; when two things would get one name, the later (by key) gets a fallback or a hash
//! of its key, so names never depend on directory order.
//!
//! `backstage.io/source-location` is left to Backstage (it sets it to where it read the entity):
//! the workload files live in the platform's source repository, whose URL the platform does not
//! declare (`gitops.repo_url` is the rendered tree's). The workspace-relative path of the file is
//! in `platc.dev/source` instead.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use petgraph::Direction;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::delivery::{WORKLOAD_APP_LABEL, app_name_workload};
use super::resource::workload_dir;
use super::{Body, EnvCx, GlobalCx, Object, PlaneRenderer, Provenance};
use crate::diag::Diagnostics;
use crate::graph::{EdgeKind, EnvGraph, GNode, NodeKind, workload_id};
use crate::model::{Plane, Platform, WorkloadKind};
use crate::resolve::{EnvResolution, Instance, RPort, RWorkload};

pub struct DeveloperControlPlane;

pub const API_VERSION: &str = "backstage.io/v1alpha1";
pub const CATALOG_DIR: &str = "catalog";
/// The one file to register in Backstage.
pub const LOCATION_PATH: &str = "catalog/location.yaml";
const USERS_DIR: &str = "catalog/_users";
const VIA: &str = "renderer:developer-control";
const PLATFORM_SOURCE: &str = "platform/main.ncl";
const MAX_NAME: usize = 63;

impl PlaneRenderer for DeveloperControlPlane {
    fn plane(&self) -> Plane {
        Plane::DeveloperControl
    }

    fn render_env(&self, cx: &EnvCx<'_>) -> Result<Vec<Object>, Diagnostics> {
        Ok(cx
            .res
            .workloads
            .iter()
            .filter(|w| cx.fresh(&workload_id(&w.name)))
            .map(|w| Object {
                // Argo CD's directory sources read only `.yaml`, `.yml` and `.json` files, so a
                // README next to the manifests is never applied to the cluster.
                path: format!("{}/README.md", workload_dir(&cx.res.env, &w.name)),
                plane: Plane::DeveloperControl,
                body: Body::Text(readme(cx, w)),
                provenance: Provenance {
                    source: w.file.to_string(),
                    node: workload_id(&w.name),
                    via: VIA.into(),
                },
            })
            .collect())
    }

    fn render_global(&self, cx: &GlobalCx<'_>) -> Result<Vec<Object>, Diagnostics> {
        Ok(catalog(cx.platform, &cx.envs))
    }
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// Backstage's rule for `metadata.name`: 1–63 characters, `[A-Za-z0-9]` at both ends and
/// `[-A-Za-z0-9_.]` between.
pub fn is_valid_entity_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn hex8(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// A valid, lower-case entity name for `raw`. Lower case because Backstage compares names
/// case-insensitively: two names differing in case would clash there but not here.
pub fn entity_name(raw: &str) -> String {
    let mapped: String = raw
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        return format!("x-{}", hex8(raw));
    }
    if trimmed.len() <= MAX_NAME {
        return trimmed.to_string();
    }
    with_hash(trimmed, raw)
}

/// `base` shortened so that `-<8 hex of key>` fits in 63 characters.
fn with_hash(base: &str, key: &str) -> String {
    let keep = MAX_NAME - 9;
    let cut: String = base.chars().take(keep).collect();
    let cut = cut.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    format!("{cut}-{}", hex8(key))
}

/// Distinct names for keys: a key whose preferred name nobody else prefers gets it; the others,
/// in key order, get their fallback, or the preferred name with a hash of the key.
fn allocate(wanted: &BTreeMap<String, (String, Option<String>)>) -> BTreeMap<String, String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (pref, _) in wanted.values() {
        *count.entry(pref.as_str()).or_default() += 1;
    }
    let mut out = BTreeMap::new();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for (key, (pref, _)) in wanted {
        if count[pref.as_str()] == 1 {
            out.insert(key.clone(), pref.clone());
            taken.insert(pref.clone());
        }
    }
    for (key, (pref, fallback)) in wanted {
        if out.contains_key(key) {
            continue;
        }
        let mut candidates: Vec<String> = fallback.iter().cloned().collect();
        candidates.push(with_hash(pref, key));
        for n in 1.. {
            candidates.push(with_hash(pref, &format!("{key}#{n}")));
            if let Some(c) = candidates.iter().find(|c| !taken.contains(*c)) {
                taken.insert(c.clone());
                out.insert(key.clone(), c.clone());
                break;
            }
        }
    }
    out
}

/// A Backstage tag (`[a-z0-9:+#]` words joined by `-`, at most 63), or none.
fn tag(raw: &str) -> Option<String> {
    let mapped: String = raw
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, ':' | '+' | '#') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let words: Vec<&str> = mapped.split('-').filter(|w| !w.is_empty()).collect();
    let t = words.join("-");
    (!t.is_empty() && t.len() <= MAX_NAME).then_some(t)
}

// ---------------------------------------------------------------------------------------------
// Catalog
// ---------------------------------------------------------------------------------------------

/// How an API is described in Backstage, from the port's name and protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiType {
    OpenApi,
    Grpc,
    Other,
}

impl ApiType {
    pub fn of(port: &RPort) -> ApiType {
        let name = port.name.to_ascii_lowercase();
        let is = |p: &str| name == p || name.starts_with(&format!("{p}-"));
        if !port.protocol.eq_ignore_ascii_case("tcp") {
            ApiType::Other
        } else if is("grpc") {
            ApiType::Grpc
        } else if is("http") || is("https") || is("http2") {
            ApiType::OpenApi
        } else {
            ApiType::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ApiType::OpenApi => "openapi",
            ApiType::Grpc => "grpc",
            ApiType::Other => "other",
        }
    }
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

struct Names {
    teams: BTreeMap<String, String>,
    users: BTreeMap<String, String>,
    components: BTreeMap<String, String>,
    /// `(workload, port)` → name.
    apis: BTreeMap<(String, String), String>,
    /// Instance key → name.
    resources: BTreeMap<String, String>,
}

impl Names {
    fn group(&self, team: &str) -> String {
        format!("group:default/{}", self.team(team))
    }
    fn system(&self, team: &str) -> String {
        format!("system:default/{}", self.team(team))
    }
    fn team(&self, team: &str) -> String {
        self.teams
            .get(team)
            .cloned()
            .unwrap_or_else(|| entity_name(team))
    }
    fn component(&self, w: &str) -> Option<String> {
        self.components
            .get(w)
            .map(|n| format!("component:default/{n}"))
    }
    fn resource(&self, key: &str) -> Option<String> {
        self.resources
            .get(key)
            .map(|n| format!("resource:default/{n}"))
    }
    fn apis_of(&self, w: &str) -> Vec<String> {
        // The keys sort by workload first: its APIs are one range, not a scan of every API
        // (which made the catalog quadratic in workloads).
        self.apis
            .range((w.to_string(), String::new())..)
            .take_while(|((wl, _), _)| wl == w)
            .map(|(_, n)| format!("api:default/{n}"))
            .collect()
    }
}

/// A workload or instance, seen in each environment that has it (promotion order).
type Seen<'a, T> = BTreeMap<String, Vec<(&'a EnvResolution, &'a T)>>;

fn user_key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

fn catalog(platform: &Platform, envs: &[(&EnvResolution, &EnvGraph)]) -> Vec<Object> {
    let mut workloads: Seen<'_, RWorkload> = BTreeMap::new();
    let mut instances: Seen<'_, Instance> = BTreeMap::new();
    for (res, _) in envs {
        for w in &res.workloads {
            workloads.entry(w.name.clone()).or_default().push((res, w));
        }
        for i in &res.instances {
            instances.entry(i.key.clone()).or_default().push((res, i));
        }
    }

    // Owners: e-mail → teams, first spelling kept for the profile.
    let mut owners: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for (team, t) in &platform.teams {
        for o in &t.owners {
            owners
                .entry(user_key(o))
                .or_insert_with(|| (o.trim().to_string(), BTreeSet::new()))
                .1
                .insert(team.clone());
        }
    }

    let names = Names {
        teams: allocate(
            &platform
                .teams
                .keys()
                .map(|t| (t.clone(), (entity_name(t), None)))
                .collect(),
        ),
        users: allocate(
            &owners
                .keys()
                .map(|k| {
                    let local = k.split('@').next().unwrap_or(k);
                    (
                        k.clone(),
                        (entity_name(local), Some(entity_name(&k.replace('@', "-")))),
                    )
                })
                .collect(),
        ),
        components: allocate(
            &workloads
                .keys()
                .map(|w| (w.clone(), (entity_name(w), None)))
                .collect(),
        ),
        apis: {
            let mut ports: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
            for (w, seen) in &workloads {
                for (_, rw) in seen {
                    for p in &rw.ports {
                        ports
                            .entry(format!("{w}\u{0}{}", p.name))
                            .or_insert_with(|| (entity_name(&format!("{w}-{}", p.name)), None));
                    }
                }
            }
            allocate(&ports)
                .into_iter()
                .map(|(k, n)| {
                    let (w, p) = k.split_once('\u{0}').unwrap_or((k.as_str(), ""));
                    ((w.to_string(), p.to_string()), n)
                })
                .collect()
        },
        resources: allocate(
            &instances
                .iter()
                .filter_map(|(k, seen)| {
                    let (_, i) = seen.first()?;
                    Some((
                        k.clone(),
                        (
                            entity_name(&i.name),
                            Some(entity_name(&format!("{}-{}", i.name, i.resource_type))),
                        ),
                    ))
                })
                .collect(),
        ),
    };

    let mut out: Vec<Object> = Vec::new();
    let prov = |source: &str, node: String| Provenance {
        source: source.to_string(),
        node,
        via: VIA.into(),
    };
    let team_dir = |team: &str| format!("{CATALOG_DIR}/{}", names.team(team));

    for (team, t) in &platform.teams {
        let tn = names.team(team);
        let mut annotations = Map::new();
        annotations.insert("platc.dev/team".into(), json!(team));
        annotations.insert("platc.dev/argocd-project".into(), json!(t.project));
        if let Some(g) = &t.group {
            annotations.insert("platc.dev/idp-group".into(), json!(g));
        }
        let members: Vec<String> = t
            .owners
            .iter()
            .filter_map(|o| names.users.get(&user_key(o)))
            .map(|n| format!("user:default/{n}"))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let description = t
            .description
            .clone()
            .unwrap_or_else(|| format!("Team {team}."));
        let group = json!({
            "apiVersion": API_VERSION,
            "kind": "Group",
            "metadata": {"name": tn, "description": description, "annotations": annotations},
            "spec": {
                "type": "team",
                "profile": {"displayName": team},
                "children": [],
                "members": members,
            },
        });
        out.push(Object::manifest(
            &team_dir(team),
            group,
            Plane::DeveloperControl,
            prov(PLATFORM_SOURCE, String::new()),
        ));
        let system = json!({
            "apiVersion": API_VERSION,
            "kind": "System",
            "metadata": {
                "name": tn,
                "description": format!("Workloads, APIs and resources of team {team} (rendered by platc)."),
                "annotations": {"platc.dev/team": team},
            },
            "spec": {"owner": names.group(team)},
        });
        out.push(Object::manifest(
            &team_dir(team),
            system,
            Plane::DeveloperControl,
            prov(PLATFORM_SOURCE, String::new()),
        ));
    }

    for (key, (email, teams)) in &owners {
        let Some(un) = names.users.get(key) else {
            continue;
        };
        let member_of: Vec<String> = teams.iter().map(|t| names.group(t)).collect();
        let user = json!({
            "apiVersion": API_VERSION,
            "kind": "User",
            "metadata": {"name": un},
            "spec": {"profile": {"email": email}, "memberOf": member_of},
        });
        out.push(Object::manifest(
            USERS_DIR,
            user,
            Plane::DeveloperControl,
            prov(PLATFORM_SOURCE, String::new()),
        ));
    }

    // Entities of workloads and resources in parallel, collected in name order.
    use rayon::prelude::*;
    let components: Vec<Vec<Object>> = workloads
        .par_iter()
        .filter_map(|(wname, seen)| {
            let (_, first) = seen.first()?;
            let cn = names.components.get(wname)?;
            Some(component_and_apis(platform, &names, cn, first, seen))
        })
        .collect();
    out.extend(components.into_iter().flatten());
    let resources: Vec<Object> = instances
        .par_iter()
        .filter_map(|(key, seen)| {
            let (_, first) = seen.first()?;
            let rn = names.resources.get(key)?;
            Some(Object::manifest(
                &team_dir(&first.team),
                resource_entity(platform, &names, rn, seen),
                Plane::DeveloperControl,
                prov(&first.span.file, String::new()),
            ))
        })
        .collect();
    out.extend(resources);

    let mut targets: Vec<String> = out
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
    out.push(Object {
        path: LOCATION_PATH.into(),
        plane: Plane::DeveloperControl,
        body: Body::Manifest(location),
        provenance: prov(PLATFORM_SOURCE, String::new()),
    });
    out
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

fn env_tags<T>(seen: &[(&EnvResolution, &T)]) -> Vec<String> {
    let tags: BTreeSet<String> = seen.iter().filter_map(|(r, _)| tag(&r.env)).collect();
    tags.into_iter().collect()
}

fn component_and_apis(
    platform: &Platform,
    names: &Names,
    cn: &str,
    w: &RWorkload,
    seen: &[(&EnvResolution, &RWorkload)],
) -> Vec<Object> {
    let lifecycle = if seen.iter().any(|(r, _)| is_production(platform, &r.env)) {
        "production"
    } else {
        "experimental"
    };
    let mut depends: BTreeSet<String> = BTreeSet::new();
    let mut consumes: BTreeSet<String> = BTreeSet::new();
    for (_, rw) in seen {
        depends.extend(rw.uses.values().filter_map(|k| names.resource(k)));
        for callee in &rw.calls {
            depends.extend(names.component(callee));
            consumes.extend(names.apis_of(callee));
        }
    }
    let provides = names.apis_of(&w.name);
    let dir = format!("{CATALOG_DIR}/{}", names.team(&w.team));
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
    let mut component = json!({
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": {
            "name": cn,
            "description": format!("Workload {} of team {} (profile {}), deployed by platc to {}.", w.name, w.team, w.profile_name, env_list(seen).replace(',', ", ")),
            "annotations": annotations,
            "tags": env_tags(seen),
        },
        "spec": {
            "type": component_type(w),
            "lifecycle": lifecycle,
            "owner": names.group(&w.team),
            "system": names.system(&w.team),
            "dependsOn": depends,
            "providesApis": provides,
            "consumesApis": consumes,
        },
    });
    drop_empty_lists(&mut component["spec"]);
    let prov = || Provenance {
        source: w.file.to_string(),
        node: workload_id(&w.name),
        via: VIA.into(),
    };
    let mut out = vec![Object::manifest(
        &dir,
        component,
        Plane::DeveloperControl,
        prov(),
    )];
    for p in &w.ports {
        let Some(an) = names.apis.get(&(w.name.clone(), p.name.clone())) else {
            continue;
        };
        let ty = ApiType::of(p);
        let endpoints: Vec<(String, String)> = seen
            .iter()
            .map(|(r, rw)| {
                (
                    r.env.clone(),
                    format!("{}.{}.svc.cluster.local:{}", w.name, rw.namespace, p.port),
                )
            })
            .collect();
        let api = json!({
            "apiVersion": API_VERSION,
            "kind": "API",
            "metadata": {
                "name": an,
                "description": format!("Port {} of workload {} ({} → container port {}, {}).", p.name, w.name, p.port, p.target_port, p.protocol),
                "annotations": {"platc.dev/source": w.file.to_string(), "platc.dev/port": p.name},
                "tags": env_tags(seen),
            },
            "spec": {
                "type": ty.as_str(),
                "lifecycle": lifecycle,
                "owner": names.group(&w.team),
                "system": names.system(&w.team),
                "definition": api_definition(ty, &w.name, p, &endpoints),
            },
        });
        out.push(Object::manifest(&dir, api, Plane::DeveloperControl, prov()));
    }
    out
}

/// A definition that states only what platc knows: where the API listens. Paths, messages and
/// services are the workload's own business and are not invented here.
pub fn api_definition(
    ty: ApiType,
    workload: &str,
    p: &RPort,
    endpoints: &[(String, String)],
) -> String {
    match ty {
        ApiType::OpenApi => {
            let scheme = if p.name.to_ascii_lowercase().starts_with("https") {
                "https"
            } else {
                "http"
            };
            let doc = json!({
                "openapi": "3.0.3",
                "info": {
                    "title": format!("{workload} ({})", p.name),
                    "version": "unspecified",
                    "description": format!("Endpoints of port {} of workload {}, as deployed by platc. The workload does not publish its operations to platc, so none are listed.", p.name, workload),
                },
                "servers": endpoints.iter().map(|(env, hp)| json!({"url": format!("{scheme}://{hp}"), "description": env})).collect::<Vec<_>>(),
                "paths": {},
            });
            crate::yaml::write::to_yaml(&doc)
        }
        ApiType::Grpc => {
            let mut s = format!(
                "// gRPC API on port {} of workload {}. platc knows its endpoints, not its\n// protobuf services:\n",
                p.name, workload
            );
            for (env, hp) in endpoints {
                let _ = writeln!(s, "//   {env}: {hp}");
            }
            s.push_str("syntax = \"proto3\";\n");
            s
        }
        ApiType::Other => {
            let mut s = format!(
                "Port {} ({}) of workload {}, forwarded to container port {}.\nEndpoints:\n",
                p.name, p.protocol, workload, p.target_port
            );
            for (env, hp) in endpoints {
                let _ = writeln!(s, "- {env}: {hp}");
            }
            s
        }
    }
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
    let mut annotations = Map::new();
    annotations.insert("platc.dev/instance".into(), json!(first.key));
    annotations.insert("platc.dev/class".into(), json!(first.class));
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
    // A provisioner's description would mislead for environments that use another one.
    let same_provisioner = seen.iter().all(|(_, i)| i.provisioner == first.provisioner);
    let provisioner_note = platform
        .provisioners
        .iter()
        .find(|p| same_provisioner && p.name == first.provisioner)
        .and_then(|p| p.description.clone())
        .map(|d| format!(" {d}"))
        .unwrap_or_default();
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
                "{} {} ({sharing}, used by {}).{provisioner_note}",
                first.resource_type,
                first.name,
                consumers.into_iter().collect::<Vec<_>>().join(", ")
            ),
            "annotations": annotations,
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

/// Optional relation lists are left out when empty: shorter files, same catalog.
fn drop_empty_lists(spec: &mut Value) {
    if let Value::Object(m) = spec {
        m.retain(|_, v| v.as_array().is_none_or(|a| !a.is_empty()));
    }
}

// ---------------------------------------------------------------------------------------------
// README per app
// ---------------------------------------------------------------------------------------------

/// Text for a Mermaid quoted label.
fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

/// A Mermaid flowchart of `center` and every node one edge away (either direction, either
/// kind): ordering edges solid, communication edges dashed. `detail` gives the second label line.
pub fn neighbourhood_mermaid(
    graph: &EnvGraph,
    center: &str,
    detail: &dyn Fn(&GNode) -> String,
) -> String {
    let mut nodes: BTreeMap<&str, &GNode> = BTreeMap::new();
    let mut edges: BTreeSet<(&str, &str, EdgeKind)> = BTreeSet::new();
    if let Some(&i) = graph.index.get(center) {
        nodes.insert(center, &graph.graph[i]);
    }
    for kind in [EdgeKind::Ordering, EdgeKind::Communication] {
        for n in graph.neighbours(center, kind, Direction::Incoming) {
            nodes.insert(&n.id, n);
            edges.insert((&n.id, center, kind));
        }
        for n in graph.neighbours(center, kind, Direction::Outgoing) {
            nodes.insert(&n.id, n);
            edges.insert((center, &n.id, kind));
        }
    }
    // The centre is n0 so the chart reads the same whatever the neighbours' names.
    let mut ids: BTreeMap<&str, String> = BTreeMap::new();
    ids.insert(center, "n0".into());
    for id in nodes.keys().filter(|id| **id != center) {
        let n = ids.len();
        ids.insert(id, format!("n{n}"));
    }
    let mut s = String::from("flowchart LR\n");
    let centre_first = nodes
        .get_key_value(center)
        .into_iter()
        .chain(nodes.iter().filter(|(id, _)| **id != center));
    for (id, n) in centre_first {
        let (open, close) = n.kind.mermaid_shape();
        let _ = writeln!(
            s,
            "  {}{open}\"{}<br/>{}\"{close}",
            ids[id],
            mermaid_text(&n.name),
            mermaid_text(&detail(n))
        );
    }
    for (a, b, k) in &edges {
        let arrow = match k {
            EdgeKind::Ordering => "-->|before|",
            EdgeKind::Communication => "-.->|calls|",
        };
        let _ = writeln!(s, "  {} {arrow} {}", ids[a], ids[b]);
    }
    if nodes.contains_key(center) {
        s.push_str("  style n0 stroke-width:3px\n");
    }
    s
}

fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'"))
}

fn readme(cx: &EnvCx<'_>, w: &RWorkload) -> String {
    let p = cx.platform;
    let env = &cx.res.env;
    let id = workload_id(&w.name);
    let env_type = p
        .environments
        .get(env)
        .map(|e| e.env_type.as_str())
        .unwrap_or("");
    let owners = p
        .teams
        .get(&w.team)
        .map(|t| t.owners.join(", "))
        .unwrap_or_default();
    let wave = cx.graph.waves.get(&id).copied().unwrap_or(0);

    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", w.name);
    let _ = writeln!(
        s,
        "Generated by platc from {}. Do not edit: change the workload spec or the platform and run `platc build`.\n",
        code(&w.file)
    );
    let kind = match w.profile.kind {
        WorkloadKind::Deployment => format!("Deployment, {} replica(s)", w.profile.replicas),
        // The same precedence as the resource plane's CronJob: annotation, profile, hourly.
        WorkloadKind::Cronjob => format!(
            "CronJob, schedule {}",
            code(
                w.annotations
                    .get("platc.dev/schedule")
                    .map(String::as_str)
                    .or(w.profile.schedule.as_deref())
                    .unwrap_or("0 * * * *")
            )
        ),
    };
    s.push_str("| | |\n|---|---|\n");
    let _ = writeln!(s, "| Workload | {} |", code(&w.name));
    let _ = writeln!(s, "| Profile | {} ({kind}) |", code(&w.profile_name));
    let _ = writeln!(s, "| Team | {} (owners: {owners}) |", code(&w.team));
    let _ = writeln!(
        s,
        "| Environment | {} ({env_type}, cluster {}) |",
        code(env),
        code(&cx.res.cluster)
    );
    let _ = writeln!(s, "| Namespace | {} |", code(&w.namespace));
    let _ = writeln!(
        s,
        "| Argo CD Application | {} (sync wave {wave}) |",
        code(&app_name_workload(env, &w.name))
    );
    for c in &w.containers {
        let _ = writeln!(s, "| Image ({}) | {} |", c.name, code(&c.image));
    }
    for port in &w.ports {
        let _ = writeln!(
            s,
            "| Port {} | {} → {} ({}) |",
            port.name, port.port, port.target_port, port.protocol
        );
    }

    s.push_str("\n## Depends on\n\n### Resources\n\n");
    if w.uses.is_empty() {
        s.push_str("None.\n");
    } else {
        s.push_str("| key | resource | type | class | provisioner | namespace | shared with |\n|---|---|---|---|---|---|---|\n");
        for (key, ikey) in &w.uses {
            let Some(i) = cx.res.instance(ikey) else {
                continue;
            };
            let others: Vec<&str> = i
                .consumers
                .iter()
                .map(String::as_str)
                .filter(|c| *c != w.name)
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                code(key),
                code(&i.name),
                i.resource_type,
                i.class,
                code(&i.provisioner),
                code(&i.namespace),
                if others.is_empty() {
                    "—".to_string()
                } else {
                    others.join(", ")
                }
            );
        }
    }
    s.push_str("\n### Services it calls\n\n");
    if w.calls.is_empty() {
        s.push_str("None.\n");
    } else {
        for callee in &w.calls {
            match cx.res.workload(callee) {
                Some(c) => {
                    let ports: Vec<String> = c
                        .ports
                        .iter()
                        .map(|p| format!("{} {}", p.name, p.port))
                        .collect();
                    let _ = writeln!(
                        s,
                        "- {} (team {}, `{}.{}.svc.cluster.local`, ports: {})",
                        code(callee),
                        c.team,
                        callee,
                        c.namespace,
                        ports.join(", ")
                    );
                }
                None => {
                    let _ = writeln!(s, "- {}", code(callee));
                }
            }
        }
    }
    s.push_str("\n### Called by\n\n");
    // From the graph's communication edges: scanning every workload's calls would make the
    // READMEs quadratic in workloads.
    let callers: Vec<&RWorkload> = cx
        .graph
        .neighbours(&id, EdgeKind::Communication, Direction::Incoming)
        .into_iter()
        .filter(|n| n.kind == NodeKind::Workload)
        .filter_map(|n| cx.res.workload(&n.name))
        .collect();
    if callers.is_empty() {
        s.push_str("Nobody in this environment.\n");
    } else {
        for c in callers {
            let _ = writeln!(s, "- {} (team {})", code(&c.name), c.team);
        }
    }
    let operators: Vec<&GNode> = cx
        .graph
        .neighbours(&id, EdgeKind::Ordering, Direction::Incoming)
        .into_iter()
        .filter(|n| n.kind == NodeKind::Component)
        .collect();
    if !operators.is_empty() {
        s.push_str("\n### Platform components it syncs after\n\n");
        for n in operators {
            let _ = writeln!(s, "- {}", code(&n.name));
        }
    }

    let _ = writeln!(
        s,
        "\n## Neighbourhood in the `{env}` graph\n\nSolid arrows: must exist before (sync order). Dashed arrows: calls over the network.\n"
    );
    let detail = |n: &GNode| match n.kind {
        NodeKind::Resource => crate::graph::resource_key(&n.id)
            .and_then(|key| cx.res.instance(key))
            .map(|i| i.resource_type.clone())
            .unwrap_or_else(|| "resource".into()),
        NodeKind::Workload => "workload".into(),
        NodeKind::Component => "component".into(),
        NodeKind::Namespace => "namespace".into(),
    };
    s.push_str("```mermaid\n");
    s.push_str(&neighbourhood_mermaid(cx.graph, &id, &detail));
    s.push_str("```\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Compilation, Options, compile};

    fn examples() -> Compilation {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        match compile(root, &Options::default()) {
            Ok(c) => c,
            Err(d) => panic!("the examples compile: {d:?}"),
        }
    }

    fn port(name: &str, protocol: &str) -> RPort {
        RPort {
            name: name.into(),
            port: 80,
            target_port: 8080,
            protocol: protocol.into(),
        }
    }

    #[test]
    fn entity_names_follow_backstage_rules() {
        assert_eq!(entity_name("payments-api"), "payments-api");
        assert_eq!(entity_name("Orders_DB.main"), "orders_db.main");
        assert_eq!(entity_name("alice@example.com"), "alice-example.com");
        assert_eq!(entity_name("--x--"), "x");
        assert!(entity_name("").starts_with("x-"));
        let long = "a".repeat(100);
        let n = entity_name(&long);
        assert_eq!(n.len(), 63);
        assert!(is_valid_entity_name(&n), "{n}");
        assert_ne!(entity_name(&"a".repeat(101)), n);
        for raw in ["ünïcödé", "a b c", "_x_", "x.", "--", "a/b:c"] {
            let n = entity_name(raw);
            assert!(is_valid_entity_name(&n), "{raw} → {n}");
        }
        assert!(!is_valid_entity_name("a@b"));
        assert!(!is_valid_entity_name("-a"));
        assert!(!is_valid_entity_name(&"a".repeat(64)));
    }

    #[test]
    fn clashing_names_get_fallbacks_then_hashes() {
        let wanted: BTreeMap<String, (String, Option<String>)> = [
            ("a@x.com", ("a", Some("a-x.com"))),
            ("a@y.com", ("a", Some("a-y.com"))),
            ("b@x.com", ("b", Some("b-x.com"))),
            ("k1", ("same", None)),
            ("k2", ("same", None)),
        ]
        .into_iter()
        .map(|(k, (p, f))| (k.to_string(), (p.to_string(), f.map(str::to_string))))
        .collect();
        let got = allocate(&wanted);
        assert_eq!(got["a@x.com"], "a-x.com");
        assert_eq!(got["a@y.com"], "a-y.com");
        assert_eq!(got["b@x.com"], "b");
        assert_eq!(got["k1"], format!("same-{}", hex8("k1")));
        assert_eq!(got["k2"], format!("same-{}", hex8("k2")));
        let distinct: BTreeSet<&String> = got.values().collect();
        assert_eq!(distinct.len(), got.len());
    }

    #[test]
    fn api_types_come_from_port_name_and_protocol() {
        assert_eq!(ApiType::of(&port("http", "TCP")), ApiType::OpenApi);
        assert_eq!(ApiType::of(&port("http-admin", "TCP")), ApiType::OpenApi);
        assert_eq!(ApiType::of(&port("grpc", "TCP")), ApiType::Grpc);
        assert_eq!(ApiType::of(&port("grpcweb", "TCP")), ApiType::Other);
        assert_eq!(ApiType::of(&port("http", "UDP")), ApiType::Other);
        assert_eq!(ApiType::of(&port("amqp", "TCP")), ApiType::Other);
    }

    #[test]
    fn definitions_state_endpoints_only() {
        let eps = vec![
            (
                "dev".to_string(),
                "a.t-dev.svc.cluster.local:80".to_string(),
            ),
            (
                "prod".to_string(),
                "a.t-prod.svc.cluster.local:80".to_string(),
            ),
        ];
        let d = api_definition(ApiType::OpenApi, "a", &port("http", "TCP"), &eps);
        let v = crate::yaml::read::parse("def.yaml", &d).unwrap().to_json();
        assert_eq!(v["openapi"], "3.0.3");
        assert_eq!(v["paths"], json!({}));
        assert_eq!(
            v["servers"][1]["url"],
            "http://a.t-prod.svc.cluster.local:80"
        );
        assert_eq!(v["servers"][1]["description"], "prod");
        let g = api_definition(ApiType::Grpc, "a", &port("grpc", "TCP"), &eps);
        assert!(g.ends_with("syntax = \"proto3\";\n"), "{g}");
        assert!(g.contains("//   dev: a.t-dev.svc.cluster.local:80"), "{g}");
        assert!(!g.contains("service "), "no invented gRPC services: {g}");
    }

    #[test]
    fn tags_are_valid_or_absent() {
        assert_eq!(tag("prod").as_deref(), Some("prod"));
        assert_eq!(tag("Pre_Prod").as_deref(), Some("pre-prod"));
        assert_eq!(tag("--"), None);
    }

    fn entities(c: &Compilation) -> BTreeMap<String, &Value> {
        c.global
            .iter()
            .filter(|o| o.plane == Plane::DeveloperControl)
            .filter_map(|o| {
                let v = o.value()?;
                let kind = v["kind"].as_str()?.to_ascii_lowercase();
                let name = v["metadata"]["name"].as_str()?;
                Some((format!("{kind}:default/{name}"), v))
            })
            .collect()
    }

    #[test]
    fn example_catalog_is_closed_and_complete() {
        let c = examples();
        let ents = entities(&c);
        for (r, v) in &ents {
            let name = v["metadata"]["name"].as_str().unwrap();
            assert!(is_valid_entity_name(name), "{r}");
            let spec = &v["spec"];
            let mut refs: Vec<&str> = Vec::new();
            for f in ["owner", "system"] {
                refs.extend(spec[f].as_str());
            }
            for f in [
                "dependsOn",
                "providesApis",
                "consumesApis",
                "members",
                "memberOf",
            ] {
                refs.extend(
                    spec[f]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str),
                );
            }
            for t in refs {
                assert!(ents.contains_key(t), "{r} refers to missing {t}");
            }
        }
        let pa = ents["component:default/payments-api"];
        assert_eq!(pa["spec"]["type"], "service");
        assert_eq!(pa["spec"]["lifecycle"], "production");
        assert_eq!(pa["spec"]["owner"], "group:default/payments");
        assert_eq!(pa["spec"]["system"], "system:default/payments");
        assert_eq!(
            pa["spec"]["providesApis"],
            json!([
                "api:default/payments-api-grpc",
                "api:default/payments-api-http"
            ])
        );
        assert_eq!(
            pa["spec"]["consumesApis"],
            json!(["api:default/fraud-http", "api:default/ledger-http"])
        );
        let deps = pa["spec"]["dependsOn"].as_array().unwrap();
        assert!(
            deps.contains(&json!("resource:default/payments-db")),
            "{deps:?}"
        );
        assert!(
            deps.contains(&json!("component:default/ledger")),
            "{deps:?}"
        );
        assert_eq!(
            pa["metadata"]["annotations"]["argocd/app-selector"],
            "app.kubernetes.io/managed-by=platc,platc.dev/workload=payments-api"
        );
        assert_eq!(
            ents["component:default/reconcile"]["spec"]["type"],
            "cronjob"
        );
        assert_eq!(
            ents["api:default/payments-api-grpc"]["spec"]["type"],
            "grpc"
        );
        assert_eq!(
            ents["api:default/payments-api-http"]["spec"]["type"],
            "openapi"
        );
        let db = ents["resource:default/payments-db"];
        assert_eq!(db["spec"]["type"], "postgres");
        assert_eq!(
            db["metadata"]["annotations"]["platc.dev/environments"],
            "dev,staging,prod"
        );
        let group = ents["group:default/payments"];
        assert_eq!(
            group["spec"]["members"],
            json!(["user:default/alice", "user:default/bob"])
        );
    }

    #[test]
    fn lifecycle_is_experimental_without_production() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let opts = Options {
            envs: vec!["dev".into()],
            ..Options::default()
        };
        let c = compile(root, &opts).unwrap_or_else(|d| panic!("{d:?}"));
        let ents = entities(&c);
        assert_eq!(
            ents["component:default/payments-api"]["spec"]["lifecycle"],
            "experimental"
        );
    }

    #[test]
    fn readme_describes_the_app_and_its_neighbours() {
        let c = examples();
        let prod = c.envs.iter().find(|e| e.resolution.env == "prod").unwrap();
        let o = prod
            .objects
            .iter()
            .find(|o| o.path == "envs/prod/payments-api/README.md")
            .unwrap();
        let Body::Text(t) = &o.body else {
            panic!("README is text")
        };
        assert!(t.starts_with("# payments-api\n"), "{t}");
        assert!(t.contains("| Namespace | `payments-prod` |"), "{t}");
        assert!(
            t.contains("| Image (api) | `ghcr.io/acme/payments-api:2.8.0` |"),
            "{t}"
        );
        let wave = prod.graph.waves["workload:payments-api"];
        assert!(t.contains(&format!("(sync wave {wave})")), "{t}");
        assert!(t.contains("- `fraud` (team payments"), "{t}");
        let mermaid = t.split("```mermaid\n").nth(1).unwrap();
        assert!(
            mermaid.starts_with("flowchart LR\n  n0[\"payments-api<br/>workload\"]\n"),
            "{mermaid}"
        );
        assert!(
            mermaid.contains("[(\"payments-db<br/>postgres\")]"),
            "{mermaid}"
        );
        // Calls are dashed, ordering solid.
        assert!(mermaid.contains("n0 -.->|calls| "), "{mermaid}");
        assert!(mermaid.contains("-->|before| n0"), "{mermaid}");
    }
}
