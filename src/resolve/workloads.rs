//! Workload resolution, once every instance's outputs are known: each workload's containers,
//! service ports, the instances it uses and the workloads it calls. Workloads resolve in
//! parallel; each reads only its own requests and the environment's state.

use rayon::prelude::*;

use super::containers::resolve_container;
use super::scope::View;
use super::setup::Skeleton;
use super::{EnvState, RPort, RWorkload};
use crate::diag::Diagnostics;
use crate::model::{self, Workload};

/// The workloads whose set-up succeeded, sorted by name; every workload's errors go to `diags`.
pub(super) fn resolve_all(
    st: &EnvState<'_>,
    workloads: &[Workload],
    diags: &mut Diagnostics,
) -> Vec<RWorkload> {
    let resolved: Vec<(Option<RWorkload>, Diagnostics)> = workloads
        .par_iter()
        .map(|w| resolve_workload(st, w))
        .collect();
    let mut rworkloads = Vec::with_capacity(resolved.len());
    for (rw, ds) in resolved {
        rworkloads.extend(rw);
        diags.extend(ds);
    }
    rworkloads.sort_by(|a, b| a.name.cmp(&b.name));
    rworkloads
}

fn resolve_workload(st: &EnvState<'_>, w: &Workload) -> (Option<RWorkload>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let Some(Skeleton {
        team,
        namespace,
        profile_name,
        profile,
        provenance,
    }) = st.skeletons.get(&w.name.value)
    else {
        return (None, diags);
    };
    let view = View::of(st, w);
    let scope = view.scope(w);
    let mut containers = Vec::new();
    for c in w.containers.values() {
        match resolve_container(c, &scope, profile) {
            Ok(rc) => containers.push(rc),
            Err(ds) => diags.extend(ds),
        }
    }
    let containers = super::start::start_order(w, containers, &mut diags);
    let rw = RWorkload {
        name: w.name.value.clone(),
        file: w.file.clone(),
        team: team.clone(),
        namespace: namespace.clone(),
        profile_name: profile_name.clone(),
        profile: profile.clone(),
        containers,
        ports: w.service.as_ref().map(rports).unwrap_or_default(),
        uses: st.uses.get(&w.name.value).cloned().unwrap_or_default(),
        links: st
            .calls
            .get(&w.name.value)
            .map(|m| {
                m.iter()
                    .map(|(k, c)| (k.clone(), c.target.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        annotations: w
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect(),
        provenance: provenance.clone(),
    };
    (Some(rw), diags)
}

/// A workload's service ports, sorted by name; the target port defaults to the port, the
/// protocol to TCP.
pub(super) fn rports(s: &model::Service) -> Vec<RPort> {
    s.ports
        .values()
        .map(|p| RPort {
            name: p.name.value.clone(),
            port: p.port.value,
            target_port: p
                .target_port
                .as_ref()
                .map(|t| t.value)
                .unwrap_or(p.port.value),
            protocol: p
                .protocol
                .as_ref()
                .map(|x| x.value.clone())
                .unwrap_or_else(|| "TCP".into()),
        })
        .collect()
}
