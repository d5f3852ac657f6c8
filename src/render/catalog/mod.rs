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

mod apis;
mod component;
mod entity;
mod names;
mod readme;
mod resources;
mod teams;

use std::collections::{BTreeMap, BTreeSet};

use super::resource::workload_dir;
use super::{Body, EnvCx, GlobalCx, Object, PlaneRenderer, Provenance};
use crate::diag::Diagnostics;
use crate::graph::{EnvGraph, workload_id};
use crate::model::{Plane, Platform, WorkloadKind};
use crate::render::origins::{Origin, platform};
use crate::resolve::{EnvResolution, Instance, RWorkload};
use serde_json::json;

pub use apis::{ApiType, api_definition};
pub use names::{entity_name, is_valid_entity_name};
pub use readme::neighbourhood_mermaid;

pub struct DeveloperControlPlane;

pub const API_VERSION: &str = "backstage.io/v1alpha1";
pub const CATALOG_DIR: &str = "catalog";
/// The one file to register in Backstage.
pub const LOCATION_PATH: &str = "catalog/location.yaml";
const VIA: &str = "renderer:developer-control";

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
                body: Body::Text(readme::readme(cx, w)),
                provenance: Provenance {
                    source: w.file.to_string(),
                    node: workload_id(&w.name),
                    via: VIA.into(),
                },
                origins: None,
            })
            .collect())
    }

    fn render_global(&self, cx: &GlobalCx<'_>) -> Result<Vec<Object>, Diagnostics> {
        let cat = entity::Cat {
            platform: cx.platform,
            sources: cx.sources,
        };
        Ok(catalog(cat, &cx.envs))
    }
}

/// A workload or instance, seen in each environment that has it (promotion order).
type Seen<'a, T> = BTreeMap<String, Vec<(&'a EnvResolution, &'a T)>>;

/// Owner key ([`names::user_key`]) → the first spelling of the e-mail (for the profile) and the
/// owner's teams.
type Owners = BTreeMap<String, (String, BTreeSet<String>)>;

fn catalog(cx: entity::Cat<'_>, envs: &[(&EnvResolution, &EnvGraph)]) -> Vec<Object> {
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
    let owners = owners(cx.platform);
    let names = names::Names::allocate(cx.platform, &owners, &workloads, &instances);

    let mut out = teams::team_entities(cx, &names);
    out.extend(teams::user_entities(cx, &owners, &names));
    out.extend(component::workload_entities(cx, &names, &workloads));
    out.extend(resources::resource_entities(cx, &names, &instances));
    let location = location(cx, &out);
    out.push(location);
    out
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

/// The Location listing every entity file in `entities`, to import the catalog from one URL.
fn location(cx: entity::Cat<'_>, entities: &[Object]) -> Object {
    let p = cx.platform;
    let subject = "the catalog";
    let mut m = entity::Made::new(
        cx,
        || subject.to_string(),
        || {
            vec![
                Origin::rule(
                    entity::CAT,
                    "a Location listing every entity file of the catalog",
                    subject,
                ),
                platform(p, &["name".into()]),
            ]
        },
    );
    let description = format!(
        "Every entity platc renders for platform {}: register this file to import them all.",
        p.name
    );
    let meta = m.identity(
        &entity_name(&format!("{}-platc-catalog", p.name)),
        Some(description),
    );
    let made = m.made();
    m.rec.at("spec", || made);
    let mut targets: Vec<String> = entities
        .iter()
        .filter_map(|o| o.path.strip_prefix(&format!("{CATALOG_DIR}/")))
        .map(|p| format!("./{p}"))
        .collect();
    targets.sort();
    for ix in 0..targets.len() {
        m.rec.record(
            || crate::fieldpath::index("spec.targets", ix),
            || {
                vec![Origin::rule(
                    entity::CAT,
                    "each entity file of the catalog, by its path below the catalog",
                    subject,
                )]
            },
        );
    }
    let location = json!({
        "apiVersion": API_VERSION,
        "kind": "Location",
        "metadata": meta,
        "spec": {"targets": targets},
    });
    Object {
        path: LOCATION_PATH.into(),
        plane: Plane::DeveloperControl,
        body: Body::Manifest(location),
        provenance: entity::prov("platform/main.ncl", String::new()),
        origins: m.rec.finish(),
    }
}

fn owners(platform: &Platform) -> Owners {
    let mut owners = Owners::new();
    for (team, t) in &platform.teams {
        for o in &t.owners {
            owners
                .entry(names::user_key(o))
                .or_insert_with(|| (o.trim().to_string(), BTreeSet::new()))
                .1
                .insert(team.clone());
        }
    }
    owners
}

/// The examples' compilation, for the tests of every part of the catalog.
#[cfg(test)]
fn examples() -> crate::pipeline::Compilation {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    match crate::pipeline::compile(root, &crate::pipeline::Options::default()) {
        Ok(c) => c,
        Err(d) => panic!("the examples compile: {d:?}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::pipeline::{Compilation, Options, compile};

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
}
