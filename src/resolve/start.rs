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
use crate::model::{self, Workload};

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
    let mut out: Vec<RContainer> = order.iter().filter_map(|n| by_name.remove(*n)).collect();
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
            if strength(start) > strength(e.0) {
                *e = (start, ready.span.clone());
            }
        }
    }
    out
}

fn strength(s: Start) -> u8 {
    match s {
        Start::Main => 0,
        Start::Sidecar => 1,
        Start::SidecarHealthy => 2,
        Start::Init => 3,
    }
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

/// The init containers in the order they must start (each after those it waits for, ties by
/// name); `None` after reporting a cycle.
fn init_order<'a>(
    w: &'a Workload,
    required: &BTreeMap<&'a str, (Start, Span)>,
    diags: &mut Diagnostics,
) -> Option<Vec<&'a str>> {
    // Init container → the init containers that must start before it (those naming it).
    let waits: BTreeMap<&str, BTreeSet<&str>> = required
        .keys()
        .map(|name| {
            let deps = required
                .keys()
                .copied()
                .filter(|other| {
                    w.containers
                        .get(*other)
                        .is_some_and(|c| c.before.contains_key(*name))
                })
                .collect();
            (*name, deps)
        })
        .collect();
    let mut order: Vec<&str> = Vec::new();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    while order.len() < waits.len() {
        let next = waits
            .iter()
            .find(|(n, deps)| !placed.contains(*n) && deps.iter().all(|d| placed.contains(d)))
            .map(|(n, _)| *n);
        let Some(n) = next else {
            let stuck: Vec<&str> = waits
                .keys()
                .copied()
                .filter(|n| !placed.contains(n))
                .collect();
            let first: Option<&model::Container> = stuck.first().and_then(|n| w.containers.get(*n));
            let at = first
                .and_then(|c| c.before.values().next())
                .map(|r| r.span.clone())
                .unwrap_or_else(|| w.name.span.clone());
            diags.push(
                Diagnostic::at(
                    Code::InvalidValue,
                    &at,
                    format!("containers {} wait for each other to start", stuck.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
                )
                .with_help("break the cycle: one of them must start first, without `before` naming the others"),
            );
            return None;
        };
        placed.insert(n);
        order.push(n);
    }
    Some(order)
}
