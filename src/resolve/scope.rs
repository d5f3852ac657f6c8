//! What a workload's placeholders can see at a point of resolution: the outputs of its
//! provisioned resources (those provisioned so far), the workloads it calls, and which of its
//! requests already failed.

use std::collections::{BTreeMap, BTreeSet};

use super::EnvState;
use super::placeholders::{Output, Scope};
use crate::model::Workload;

/// Requests that already failed with their own error. A placeholder naming one must not add a
/// second error that contradicts the first ("declares no resource `db`" after "no provisioner
/// for `db`"): it resolves to nothing, and the environment fails with the real error anyway.
#[derive(Default)]
pub(super) struct Failures {
    /// (workload, resource key)
    pub(super) requests: BTreeSet<(String, String)>,
    /// Instance keys (a shared instance fails for all its consumers).
    pub(super) instances: BTreeSet<String>,
}

impl Failures {
    fn keys_of(
        &self,
        w: &Workload,
        uses: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Vec<String> {
        let wname = &w.name.value;
        w.resources
            .keys()
            .filter(|k| {
                self.requests.contains(&(wname.clone(), (*k).clone()))
                    || uses
                        .get(wname)
                        .and_then(|u| u.get(*k))
                        .is_some_and(|ikey| self.instances.contains(ikey))
            })
            .cloned()
            .collect()
    }
}

/// The data a workload's `Scope` borrows.
pub(super) struct View {
    resources: BTreeMap<String, (String, BTreeMap<String, Output>)>,
    declared: Vec<String>,
    failed: Vec<String>,
}

impl View {
    pub(super) fn of(st: &EnvState<'_>, w: &Workload) -> View {
        View {
            resources: visible_resources(st, w),
            declared: w.resources.keys().cloned().collect(),
            failed: st.failed.keys_of(w, &st.uses),
        }
    }

    pub(super) fn scope<'a>(&'a self, w: &'a Workload) -> Scope<'a> {
        Scope {
            workload: &w.name.value,
            metadata: &w.metadata,
            resources: &self.resources,
            declared: &self.declared,
            failed: &self.failed,
        }
    }
}

/// The outputs a workload's placeholders can see: its provisioned resources and the workloads
/// it calls (`name`, `host` and `hostname` are the target's cluster DNS name; `port` and `url`
/// use the chosen service port).
fn visible_resources(
    st: &EnvState<'_>,
    w: &Workload,
) -> BTreeMap<String, (String, BTreeMap<String, Output>)> {
    let mut m = BTreeMap::new();
    if let Some(u) = st.uses.get(&w.name.value) {
        for (key, ikey) in u {
            if let Some(outs) = st.outputs.get(ikey) {
                let itself = match outs.get("source") {
                    Some(Output::Plain(s)) => s.clone(),
                    _ => st.names.get(ikey).cloned().unwrap_or_default(),
                };
                m.insert(key.clone(), (itself, outs.clone()));
            }
        }
    }
    if let Some(c) = st.calls.get(&w.name.value) {
        for (key, call) in c {
            if let Some(sk) = st.skeletons.get(&call.target) {
                m.insert(key.clone(), call.outputs(&sk.namespace));
            }
        }
    }
    m
}
