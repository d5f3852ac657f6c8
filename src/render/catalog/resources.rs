//! One Resource per provisioned instance across environments, each field recorded beside its
//! value: the request that made it, its `dependsOn` by the ordering edges of the instances
//! whose outputs its params use.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde_json::{Map, Value, json};

use super::entity::{CAT, Cat, Made, drop_empty_lists, env_list, per_env, prov};
use super::names::Names;
use super::{API_VERSION, Seen};
use crate::graph::{EdgeKind, resource_id};
use crate::model::Platform;
use crate::render::Object;
use crate::render::origins::Origin;
use crate::resolve::{EnvResolution, Instance};

/// One Resource per instance key, rendered in parallel and kept in key order.
pub(super) fn resource_entities(
    cx: Cat<'_>,
    names: &Names,
    instances: &Seen<'_, Instance>,
) -> Vec<Object> {
    instances
        .par_iter()
        .filter_map(|(key, seen)| {
            let (_, first) = seen.first()?;
            let rn = names.resource_name(key)?;
            let (m, r) = resource_entity(cx, names, rn, first, seen);
            let dir = names.team_dir(&first.team);
            Some(m.object(&dir, r, prov(&first.span.file, String::new())))
        })
        .collect()
}

fn resource_entity(
    cx: Cat<'_>,
    names: &Names,
    rn: &str,
    first: &Instance,
    seen: &[(&EnvResolution, &Instance)],
) -> (Made, Value) {
    let id = resource_id(&first.key);
    let mut m = Made::new(
        cx,
        || id.clone(),
        || {
            vec![
                Origin::rule(
                    CAT,
                    "one Resource per provisioned instance across environments",
                    id.clone(),
                ),
                Origin::score(
                    format!("the request of resource {}", first.name),
                    &first.span,
                ),
            ]
        },
    );
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
    let description = format!(
        "{} {} ({sharing}, used by {}).{}",
        first.resource_type,
        first.name,
        consumers.into_iter().collect::<Vec<_>>().join(", "),
        provisioner_note(cx.platform, first, seen),
    );
    let mut meta = m.identity(rn, Some(description));
    m.annotations(&mut meta, resource_annotations(first, seen, requires));
    m.tags(&mut meta, seen);
    let made = m.made();
    m.rec.at("spec.type", || made.clone());
    m.rec.at("spec", || made);
    m.rec.at("spec.owner", || vec![cx.team(&first.team)]);
    m.rec.at("spec.system", || vec![cx.team(&first.team)]);
    let depends = m.relation("spec.dependsOn", depends.into_iter().collect(), || {
        needs(names, seen)
    });
    let mut spec = json!({
        "type": first.resource_type,
        "owner": names.group(&first.team),
        "system": names.system(&first.team),
        "dependsOn": depends,
    });
    drop_empty_lists(&mut spec);
    let value = json!({
        "apiVersion": API_VERSION,
        "kind": "Resource",
        "metadata": meta,
        "spec": spec,
    });
    (m, value)
}

/// The causes of a Resource's `dependsOn` items: the ordering edge from each instance whose
/// outputs its params use, with the request behind it.
fn needs(names: &Names, seen: &[(&EnvResolution, &Instance)]) -> BTreeMap<String, Vec<Origin>> {
    let mut causes: BTreeMap<String, Vec<Origin>> = BTreeMap::new();
    for (_, i) in seen {
        for k in &i.needs {
            let Some(n) = names.resource(k) else { continue };
            causes.entry(n).or_insert_with(|| {
                vec![
                    Origin::Edge {
                        from: resource_id(k),
                        to: resource_id(&i.key),
                        kind: EdgeKind::Ordering,
                    },
                    Origin::score(format!("the request of resource {}", i.name), &i.span),
                    Origin::rule(
                        "resolve",
                        "a resource whose params use another's outputs is provisioned after it",
                        format!("{} → {}", resource_id(k), resource_id(&i.key)),
                    ),
                ]
            });
        }
    }
    causes
}

fn resource_annotations(
    first: &Instance,
    seen: &[(&EnvResolution, &Instance)],
    requires: BTreeSet<&str>,
) -> Map<String, Value> {
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
    annotations
}

/// ` <description>` of the provisioner, when every environment uses the same one: its
/// description would mislead for environments that use another.
fn provisioner_note(
    platform: &Platform,
    first: &Instance,
    seen: &[(&EnvResolution, &Instance)],
) -> String {
    let same_provisioner = seen.iter().all(|(_, i)| i.provisioner == first.provisioner);
    platform
        .provisioners
        .iter()
        .find(|p| same_provisioner && p.name == first.provisioner)
        .and_then(|p| p.description.clone())
        .map(|d| format!(" {d}"))
        .unwrap_or_default()
}
