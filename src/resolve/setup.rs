//! Workload set-up for one environment: each workload's team, namespace and profile (the
//! platform's profile with the environment's overrides merged in), and where each profile
//! setting came from.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::Value;

use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use crate::model::{self, Platform, Profile, Workload};

/// Who a workload belongs to and which golden path it gets in one environment.
pub(super) struct Skeleton {
    pub(super) team: String,
    pub(super) namespace: String,
    pub(super) profile_name: String,
    pub(super) profile: Arc<Profile>,
    pub(super) provenance: Arc<BTreeMap<String, String>>,
}

/// A profile with the environment's overrides merged in, and where each setting came from:
/// the same for every workload of that profile in the environment, so made once and shared.
type Merged = Result<Shared, Diagnostic>;
type Shared = (Arc<Profile>, Arc<BTreeMap<String, String>>);

/// Every workload's skeleton by name, set up in parallel. A workload whose set-up fails has
/// none: its error is in `diags`, and the phases after skip it.
pub(super) fn skeletons(
    platform: &Platform,
    env_name: &str,
    env: &model::Environment,
    workloads: &[Workload],
    diags: &mut Diagnostics,
) -> BTreeMap<String, Skeleton> {
    let mut skeletons = BTreeMap::new();
    let owners: Vec<Result<(String, String), Diagnostic>> = workloads
        .par_iter()
        .map(|w| {
            let team = crate::ownership::team_of(platform, w)?.name;
            let profile_name = crate::ownership::profile_of(platform, w)?.name;
            Ok((team, profile_name))
        })
        .collect();
    let mut merged: BTreeMap<String, Merged> = BTreeMap::new();
    for (w, owner) in workloads.iter().zip(owners) {
        let setup = owner.and_then(|(team, profile_name)| {
            let (profile, provenance) = merged
                .entry(profile_name.clone())
                .or_insert_with(|| merge_profile(platform, env_name, env, &profile_name))
                .clone()?;
            let namespace = format!("{}-{env_name}", platform.teams[&team].namespace);
            Ok(Skeleton {
                team,
                namespace,
                profile_name,
                profile,
                provenance,
            })
        });
        match setup {
            Ok(s) => {
                skeletons.insert(w.name.value.clone(), s);
            }
            Err(d) => diags.push(d),
        }
    }
    skeletons
}

/// `profile_name` with the environment's overrides, then its `profile_overrides`, merged in.
fn merge_profile(
    platform: &Platform,
    env_name: &str,
    env: &model::Environment,
    profile_name: &str,
) -> Merged {
    let Some(base) = platform.profiles.get(profile_name) else {
        return Err(Diagnostic::error(
            Code::Internal,
            Some(Span::file("platform/main.ncl")),
            format!("profile `{profile_name}` vanished after the platform was checked"),
        ));
    };
    let mut provenance = BTreeMap::new();
    record_provenance(
        &mut provenance,
        "",
        base,
        &format!("profile {profile_name}"),
    );
    record_provenance(
        &mut provenance,
        "",
        &env.overrides,
        &format!("environment {env_name} overrides"),
    );
    let mut merged = deep_merge(base.clone(), env.overrides.clone());
    if let Some(po) = env.profile_overrides.get(profile_name) {
        record_provenance(
            &mut provenance,
            "",
            po,
            &format!("environment {env_name} profile_overrides.{profile_name}"),
        );
        merged = deep_merge(merged, po.clone());
    }
    let profile: Profile = serde_json::from_value(merged).map_err(|e| {
        Diagnostic::error(
            Code::InvalidValue,
            Some(Span::file("platform/main.ncl")),
            format!("profile `{profile_name}` in environment `{env_name}` is invalid after applying overrides: {e}"),
        )
    })?;
    Ok((Arc::new(profile), Arc::new(provenance)))
}

fn record_provenance(out: &mut BTreeMap<String, String>, prefix: &str, v: &Value, origin: &str) {
    if let Value::Object(m) = v {
        for (k, v) in m {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                Value::Object(_) => record_provenance(out, &path, v, origin),
                _ => {
                    out.insert(path, origin.to_string());
                }
            }
        }
    }
}

/// Objects merge key by key; anything else in `over` replaces `base`.
pub fn deep_merge(base: Value, over: Value) -> Value {
    match (base, over) {
        (Value::Object(mut b), Value::Object(o)) => {
            for (k, v) in o {
                let merged = match b.remove(&k) {
                    Some(bv) => deep_merge(bv, v),
                    None => v,
                };
                b.insert(k, merged);
            }
            Value::Object(b)
        }
        (b, Value::Null) => b,
        (_, o) => o,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn deep_merge_overrides_leaves_and_keeps_siblings() {
        let a =
            json!({"replicas": 1, "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}});
        let b = json!({"replicas": 3, "resources": {"requests": {"cpu": "500m"}}});
        assert_eq!(
            deep_merge(a, b),
            json!({"replicas": 3, "resources": {"requests": {"cpu": "500m", "memory": "128Mi"}}})
        );
    }
}
