//! Where a rendered file belongs, read from its path alone: its environment and its app.

use super::Files;

/// Keeps only the files of the given environments (`envs/<e>/`, `argocd/<e>/`): with `--env`,
/// the platform-wide files depend on which environments were compiled and would all differ.
pub fn only_envs(files: &mut Files, envs: &[String]) {
    if envs.is_empty() {
        return;
    }
    files.retain(|p, _| env_of_path(p).is_some_and(|e| envs.iter().any(|x| x == e)));
}

/// `envs/<env>/…` and `argocd/<env>/…` (but not `argocd/projects`, `argocd/clusters`).
pub(super) fn env_of_path(path: &str) -> Option<&str> {
    let mut parts = path.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("envs"), Some(e), Some(_)) => Some(e),
        (Some("argocd"), Some(e), Some(_)) if e != "projects" && e != "clusters" => Some(e),
        _ => None,
    }
}

/// The application a file belongs to: the workload, resource instance or namespace directory
/// under `envs/<env>/`, or the node an Application in `argocd/<env>/apps/` deploys.
pub(super) fn app_of_path(path: &str) -> Option<&str> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["envs", _, "_resources" | "_namespaces", name, _, ..] => Some(name),
        ["envs", _, app, _, ..] => Some(app),
        ["argocd", env, "apps", file] => {
            let stem = file.strip_suffix(".yaml").unwrap_or(file);
            let stem = stem
                .strip_prefix(env)
                .and_then(|s| s.strip_prefix('-'))
                .unwrap_or(stem);
            Some(
                stem.strip_prefix("res-")
                    .or_else(|| stem.strip_prefix("ns-"))
                    .unwrap_or(stem),
            )
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::test_support::files;

    #[test]
    fn apps_come_from_the_layout() {
        assert_eq!(
            app_of_path("envs/dev/cart/deployment-cart.yaml"),
            Some("cart")
        );
        assert_eq!(
            app_of_path("envs/dev/_resources/cart-cache/service-cart-cache.yaml"),
            Some("cart-cache")
        );
        assert_eq!(
            app_of_path("envs/dev/_namespaces/payments-dev/namespace-payments-dev.yaml"),
            Some("payments-dev")
        );
        assert_eq!(app_of_path("argocd/dev/apps/dev-cart.yaml"), Some("cart"));
        assert_eq!(
            app_of_path("argocd/dev/apps/dev-res-cart-cache.yaml"),
            Some("cart-cache")
        );
        assert_eq!(app_of_path("argocd/dev/root.yaml"), None);
        assert_eq!(app_of_path("catalog/storefront/component-cart.yaml"), None);
    }

    #[test]
    fn only_envs_keeps_environment_files() {
        let mut f = files(&[
            ("envs/dev/a/x.yaml", ""),
            ("envs/prod/a/x.yaml", ""),
            ("argocd/dev/root.yaml", ""),
            ("argocd/projects/p.yaml", ""),
            ("README.md", ""),
        ]);
        only_envs(&mut f, &["dev".into()]);
        assert_eq!(
            f.keys().collect::<Vec<_>>(),
            vec!["argocd/dev/root.yaml", "envs/dev/a/x.yaml"]
        );
    }
}
