//! Score's container start order (`containers.<x>.before.<y>.ready`): container `x` starts
//! before `y`, and `y` starts once `x` is `started`, `healthy` or `complete` (score-spec/spec#104,
//! as score-compose and score-k8s read it). In Kubernetes terms `x` becomes an init container:
//! one that runs to completion (`complete`), or a native sidecar (`restartPolicy: Always`) that
//! keeps running once started, whose readiness probe becomes its startup probe when it must be
//! `healthy`. Containers without `before` are the pod's main containers; every init container
//! starts before all of them. A container's strongest `ready` decides its kind (`complete`, then
//! `healthy`, then `started`).

use std::collections::{BTreeMap, BTreeSet};

use super::{RContainer, Start};
use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use crate::model::Workload;

/// `containers` (resolved from `w`'s, in the same order) with each one's [`Start`] set, init
/// containers first in the order they must start, then the main containers as they were.
pub(super) fn start_order(
    w: &Workload,
    mut containers: Vec<RContainer>,
    diags: &mut Diagnostics,
) -> Vec<RContainer> {
    let required = requirements(w);
    if required.is_empty() {
        return containers;
    }
    for c in &mut containers {
        if let Some((start, _)) = required.get(c.name.as_str()) {
            c.start = *start;
        }
    }
    check(w, &containers, &required, diags);
    let Some(order) = init_order(w, &required, diags) else {
        return containers;
    };
    let mut by_name: BTreeMap<String, RContainer> = BTreeMap::new();
    let mut main = Vec::new();
    for c in containers {
        if c.start == Start::Main {
            main.push(c);
        } else {
            by_name.insert(c.name.clone(), c);
        }
    }
    let mut out: Vec<RContainer> = order.iter().filter_map(|n| by_name.remove(n)).collect();
    out.extend(main);
    out
}

/// Container name → the strongest state it must reach before the containers it names, and
/// where that is written; containers without `before` are not in it.
fn requirements(w: &Workload) -> BTreeMap<&str, (Start, Span)> {
    let mut out: BTreeMap<&str, (Start, Span)> = BTreeMap::new();
    for (name, c) in &w.containers {
        for ready in c.before.values() {
            let start = match ready.value.as_str() {
                "complete" => Start::Init,
                "healthy" => Start::SidecarHealthy,
                _ => Start::Sidecar,
            };
            let e = out
                .entry(name.as_str())
                .or_insert((start, ready.span.clone()));
            if start > e.0 {
                *e = (start, ready.span.clone());
            }
        }
    }
    out
}

/// What Kubernetes refuses of init containers, and a pod without a main container.
fn check(
    w: &Workload,
    containers: &[RContainer],
    required: &BTreeMap<&str, (Start, Span)>,
    diags: &mut Diagnostics,
) {
    for c in containers {
        let Some((_, at)) = required.get(c.name.as_str()) else {
            continue;
        };
        let probes = c.liveness.is_some() || c.readiness.is_some();
        if c.start == Start::Init && probes {
            diags.push(
                Diagnostic::at(
                    Code::InvalidValue,
                    at,
                    format!("container `{}` must be `complete` before the next starts, but it has probes", c.name),
                )
                .with_note("it becomes an init container that runs to completion, and Kubernetes allows no probes on those")
                .with_help(format!("remove the probes of `{}`, or make it `ready: started` or `healthy` (a sidecar that keeps running)", c.name)),
            );
        }
        if c.start == Start::SidecarHealthy && c.readiness.is_none() {
            diags.push(
                Diagnostic::at(
                    Code::InvalidValue,
                    at,
                    format!("container `{}` must be `healthy` before the next starts, but it has no readinessProbe", c.name),
                )
                .with_note("its readiness probe becomes the startup probe Kubernetes waits for")
                .with_help(format!("give `{}` a readinessProbe, or make it `ready: started`", c.name)),
            );
        }
    }
    if containers.iter().all(|c| c.start != Start::Main) {
        let at = w
            .containers
            .values()
            .next()
            .map(|c| c.name.span.clone())
            .unwrap_or_else(|| w.name.span.clone());
        diags.push(
            Diagnostic::at(
                Code::InvalidValue,
                &at,
                "every container has `before`: the pod has no main container",
            )
            .with_help("the containers without `before` are the ones the others start before; leave `before` out of at least one"),
        );
    }
}

/// The init containers in the order they must start (each after those naming it in their
/// `before`, ties by name: `order::topo_order`, as provisioning is ordered); `None` after
/// reporting a cycle.
fn init_order(
    w: &Workload,
    required: &BTreeMap<&str, (Start, Span)>,
    diags: &mut Diagnostics,
) -> Option<Vec<String>> {
    let needs: BTreeMap<String, BTreeSet<String>> = required
        .keys()
        .map(|name| {
            let before_it = required
                .keys()
                .filter(|other| {
                    w.containers
                        .get(**other)
                        .is_some_and(|c| c.before.contains_key(*name))
                })
                .map(|other| other.to_string())
                .collect();
            (name.to_string(), before_it)
        })
        .collect();
    let cycle = match super::order::topo_order(&needs) {
        Ok(order) => return Some(order),
        Err(cycle) => cycle,
    };
    // The cycle comes closed (`a, b, a`): each member once.
    let members = &cycle[..cycle.len().saturating_sub(1)];
    let at = members
        .first()
        .and_then(|n| w.containers.get(n))
        .and_then(|c| c.before.values().next())
        .map(|r| r.span.clone())
        .unwrap_or_else(|| w.name.span.clone());
    let names: Vec<String> = members.iter().map(|n| format!("`{n}`")).collect();
    diags.push(
        Diagnostic::at(
            Code::InvalidValue,
            &at,
            format!(
                "containers {} wait for each other to start",
                names.join(", ")
            ),
        )
        .with_help(
            "break the cycle: one of them must start first, without `before` naming the others",
        ),
    );
    None
}
