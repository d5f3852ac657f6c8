//! The evaluated platform's JSON into `model::Platform`.

use serde::Deserialize;

use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use crate::model::Platform;

/// Convert the exported JSON into the model, naming the field path of any mismatch.
pub(super) fn to_platform(json: serde_json::Value) -> Result<Platform, Diagnostics> {
    Platform::deserialize(&json).map_err(|e| {
        Diagnostics::from(
            Diagnostic::error(
                Code::WrongType,
                Some(Span::file("platform/main.ncl")),
                format!("the platform does not have the shape platc expects at `{}`: {e}", locate_mismatch(&json)),
            )
            .with_help("the stdlib `Platform` contract should have caught this; check the field named above"),
        )
    })
}

/// The first section entry that fails to convert on its own (`environments.prod`,
/// `provisioners[3]`), so a conversion error names where to look.
pub(super) fn locate_mismatch(json: &serde_json::Value) -> String {
    use crate::model::{Cluster, Component, Environment, GitOps, Policy, Provisioner, Team};
    fn fails<T: for<'de> Deserialize<'de>>(v: &serde_json::Value) -> bool {
        T::deserialize(v).is_err()
    }
    fn in_map(
        json: &serde_json::Value,
        section: &str,
        fails: fn(&serde_json::Value) -> bool,
    ) -> Option<String> {
        let map = json.get(section)?.as_object()?;
        map.iter()
            .find(|(_, item)| fails(item))
            .map(|(k, _)| format!("{section}.{k}"))
    }
    fn in_array(
        json: &serde_json::Value,
        section: &str,
        fails: fn(&serde_json::Value) -> bool,
    ) -> Option<String> {
        let items = json.get(section)?.as_array()?;
        items
            .iter()
            .position(fails)
            .map(|i| format!("{section}[{i}]"))
    }
    if json.get("gitops").is_some_and(fails::<GitOps>) {
        return "gitops".into();
    }
    in_map(json, "clusters", fails::<Cluster>)
        .or_else(|| in_map(json, "environments", fails::<Environment>))
        .or_else(|| in_map(json, "teams", fails::<Team>))
        .or_else(|| in_map(json, "components", fails::<Component>))
        .or_else(|| in_array(json, "provisioners", fails::<Provisioner>))
        .or_else(|| in_array(json, "policies", fails::<Policy>))
        .unwrap_or_else(|| ".".into())
}
