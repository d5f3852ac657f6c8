//! What caused a graph edge, and where a platform setting or a Score request is written: the
//! links from a rendered value back to the files a person edits. Used only while recording.

use std::collections::BTreeMap;

use super::Origin;
use crate::graph::{EdgeKind, workload_id};
use crate::model::{Platform, Workload};
use crate::render::EnvCx;
use crate::resolve::RWorkload;

/// What recording reads beyond the resolution: the Score workloads, for the spans of their
/// requests (resolution keeps names and keys, not where they were written).
pub struct Sources<'a> {
    scores: BTreeMap<&'a str, &'a Workload>,
}

impl<'a> Sources<'a> {
    pub fn new(workloads: &'a [Workload]) -> Sources<'a> {
        Sources {
            scores: workloads
                .iter()
                .map(|w| (w.name.value.as_str(), w))
                .collect(),
        }
    }

    pub fn score(&self, name: &str) -> Option<&'a Workload> {
        self.scores.get(name).copied()
    }
}

/// A platform setting, with where the evaluator says it is written: the first of `paths` it
/// kept a position for (the most precise first), else the first path without one.
pub fn platform(p: &Platform, paths: &[String]) -> Origin {
    let found = paths
        .iter()
        .find_map(|s| p.positions.0.get(s).map(|at| (s, at)));
    match found {
        Some((s, at)) => Origin::Platform {
            setting: s.clone(),
            at: Some(at.clone()),
        },
        None => Origin::Platform {
            setting: paths.first().cloned().unwrap_or_default(),
            at: None,
        },
    }
}

/// `provisioners[<i>]` of the provisioner named `name`.
pub fn provisioner_path(p: &Platform, name: &str) -> Option<String> {
    let i = p.provisioners.iter().position(|x| x.name == name)?;
    Some(format!("provisioners[{i}]"))
}

/// The workload's name as written in its Score file.
pub fn workload_origin(cx: &EnvCx<'_>, w: &str) -> Vec<Origin> {
    cx.sources()
        .and_then(|s| s.score(w))
        .map(|s| Origin::score(format!("metadata.name of workload {w}"), &s.name.span))
        .into_iter()
        .collect()
}

/// The Score requests of `w` that resolve to the instance `key`.
pub fn request_origins(cx: &EnvCx<'_>, w: &RWorkload, key: &str) -> Vec<Origin> {
    let score = cx.sources().and_then(|s| s.score(&w.name));
    w.uses
        .iter()
        .filter(|(_, k)| k.as_str() == key)
        .filter_map(|(r, _)| {
            let req = score?.resources.get(r)?;
            Some(Origin::score(
                format!("resources.{r} of workload {}", w.name),
                &req.key.span,
            ))
        })
        .collect()
}

/// The `service` / `service-port` links in `caller`'s Score file that name `callee`.
fn link_origins(cx: &EnvCx<'_>, caller: &str, callee: &str) -> Vec<Origin> {
    cx.sources()
        .map(|s| service_links(s, caller, callee))
        .unwrap_or_default()
}

/// The `service` / `service-port` links in `caller`'s Score file that name `callee`, from the
/// Score workloads.
pub fn service_links(sources: &Sources<'_>, caller: &str, callee: &str) -> Vec<Origin> {
    let Some(score) = sources.score(caller) else {
        return Vec::new();
    };
    score
        .resources
        .iter()
        .filter(|(_, r)| crate::resolve::builtin_params(&r.resource_type.value).is_some())
        .filter(|(key, r)| {
            let named = r.params.as_ref().map(|p| p.to_json()).and_then(|p| {
                p.get("workload")
                    .and_then(|v| v.as_str().map(str::to_string))
            });
            named.as_deref().unwrap_or(key) == callee
        })
        .map(|(key, r)| {
            Origin::score(
                format!("resources.{key} of workload {caller} (a service link)"),
                &r.key.span,
            )
        })
        .collect()
}

/// Why the edge `from → to` exists: the edge itself, then what created it (the Score request,
/// the platform setting, the rule).
pub fn edge_origins(cx: &EnvCx<'_>, from: &str, to: &str, kind: EdgeKind) -> Vec<Origin> {
    let mut out = vec![Origin::Edge {
        from: from.to_string(),
        to: to.to_string(),
        kind,
    }];
    let p = cx.platform;
    let split = |id: &'static str, s: &str| s.strip_prefix(id).map(str::to_string);
    let edge = format!("{from} → {to}");
    let (wf, wt) = (split("workload:", from), split("workload:", to));
    let (rf, rt) = (split("resource:", from), split("resource:", to));
    let (cf, ct) = (split("component:", from), split("component:", to));
    let nf = split("namespace:", from);
    let w_to = wt.as_deref().and_then(|w| cx.res.workload(w));
    let i_to = rt.as_deref().and_then(|k| cx.res.instance(k));
    match (kind, &wf, w_to, i_to) {
        (EdgeKind::Communication, Some(a), _, _) => {
            out.extend(link_origins(cx, a, wt.as_deref().unwrap_or_default()))
        }
        (EdgeKind::Ordering, _, Some(w), _) if rf.is_some() => {
            out.extend(request_origins(cx, w, rf.as_deref().unwrap_or_default()))
        }
        (EdgeKind::Ordering, _, Some(w), _) if nf.is_some() => {
            out.extend(workload_origin(cx, &w.name));
            out.push(platform(p, &[format!("teams.{}.namespace", w.team)]));
        }
        (EdgeKind::Ordering, _, Some(w), _) if cf.is_some() => {
            let c = cf.as_deref().unwrap_or_default();
            out.push(platform(p, &[format!("components.{c}.provides")]));
            out.push(Origin::rule(
                "graph",
                "a workload whose objects include a kind an operator serves is ordered after it",
                workload_id(&w.name),
            ));
        }
        (EdgeKind::Ordering, _, _, Some(i)) => {
            out.push(Origin::score(
                format!("the request of resource {} (instance {})", i.name, i.key),
                &i.span,
            ));
            let prov = provisioner_path(p, &i.provisioner).unwrap_or_default();
            if let Some(c) = &cf {
                out.push(platform(
                    p,
                    &[
                        format!("{prov}.requires"),
                        format!("components.{c}.provides"),
                    ],
                ));
            } else if rf.is_some() {
                out.push(Origin::rule(
                    "resolve",
                    "a resource whose params use another's outputs is provisioned after it",
                    edge,
                ));
            } else {
                out.push(Origin::rule(
                    "resolve",
                    "an instance lives in its first consumer's namespace",
                    edge,
                ));
            }
        }
        _ if ct.is_some() => {
            out.push(platform(
                p,
                &[format!("components.{}.requires", ct.unwrap_or_default())],
            ));
        }
        _ => out.push(Origin::rule(
            "graph",
            "an edge of the environment graph",
            edge,
        )),
    }
    out
}

/// A profile setting of `w` (`metrics.port`): the workload's annotation `ann` when it sets one
/// (annotations win), else the layers resolve merges, the one merged last first (an
/// environment's `profile_overrides`, its `overrides`, the profile).
pub fn profile_setting(cx: &EnvCx<'_>, w: &RWorkload, setting: &str, ann: Option<&str>) -> Origin {
    let score = cx.sources().and_then(|s| s.score(&w.name));
    if let Some((a, v)) = ann.and_then(|a| Some((a, score?.annotations.get(a)?))) {
        return Origin::score(format!("annotation {a} of workload {}", w.name), &v.span);
    }
    let (env, p) = (&cx.res.env, &w.profile_name);
    let mut paths = vec![
        format!("environments.{env}.profile_overrides.{p}.{setting}"),
        format!("environments.{env}.overrides.{setting}"),
        format!("profiles.{p}.{setting}"),
    ];
    // Where the setting's record is, when the evaluator kept no position for the value.
    if let Some((parent, _)) = setting.rsplit_once('.') {
        paths.push(format!("profiles.{p}.{parent}"));
    }
    paths.push(format!("profiles.{p}"));
    let mut o = platform(cx.platform, &paths);
    if let Origin::Platform {
        at: None,
        setting: s,
    } = &mut o
    {
        *s = format!("profiles.{p}.{setting}");
    }
    o
}
