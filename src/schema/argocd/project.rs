//! An `AppProject`'s spec: sources, destinations, resource allow and deny lists, roles, sync
//! windows.

use serde_json::Value;

use super::build::*;

pub(super) fn spec() -> Value {
    let group_kind = object(
        &[("group", string()), ("kind", string())],
        &["group", "kind"],
    );
    let cluster_group_kind = object(
        &[("group", string()), ("kind", string()), ("name", string())],
        &["group", "kind"],
    );
    object(
        &[
            (
                "clusterResourceBlacklist",
                array_of(cluster_group_kind.clone()),
            ),
            ("clusterResourceWhitelist", array_of(cluster_group_kind)),
            ("description", string()),
            (
                "destinationServiceAccounts",
                array_of(destination_service_account()),
            ),
            ("destinations", array_of(destination())),
            ("namespaceResourceBlacklist", array_of(group_kind.clone())),
            ("namespaceResourceWhitelist", array_of(group_kind)),
            ("orphanedResources", orphaned_resources()),
            ("permitOnlyProjectScopedClusters", boolean()),
            ("roles", array_of(role())),
            (
                "signatureKeys",
                array_of(object(&[("keyID", string())], &["keyID"])),
            ),
            // Newer than most of the spec and nested deeply; Argo CD validates it itself.
            ("sourceIntegrity", open()),
            ("sourceNamespaces", strings()),
            ("sourceRepos", strings()),
            ("syncWindows", array_of(sync_window())),
        ],
        &[],
    )
}

/// An item of `destinationServiceAccounts`.
fn destination_service_account() -> Value {
    object(
        &[
            ("defaultServiceAccount", string()),
            ("namespace", string()),
            ("server", string()),
        ],
        &["defaultServiceAccount", "server"],
    )
}

/// An item of `destinations`.
fn destination() -> Value {
    object(
        &[
            ("name", string()),
            ("namespace", string()),
            ("server", string()),
        ],
        &[],
    )
}

/// `orphanedResources`.
fn orphaned_resources() -> Value {
    object(
        &[
            (
                "ignore",
                array_of(object(
                    &[("group", string()), ("kind", string()), ("name", string())],
                    &[],
                )),
            ),
            ("warn", boolean()),
        ],
        &[],
    )
}

/// An item of `roles`.
fn role() -> Value {
    object(
        &[
            ("description", string()),
            ("groups", strings()),
            (
                "jwtTokens",
                array_of(object(
                    &[("exp", integer()), ("iat", integer()), ("id", string())],
                    &["iat"],
                )),
            ),
            ("name", string()),
            ("policies", strings()),
        ],
        &["name"],
    )
}

/// An item of `syncWindows`.
fn sync_window() -> Value {
    object(
        &[
            ("andOperator", boolean()),
            ("applications", strings()),
            ("clusters", strings()),
            ("description", string()),
            ("duration", string()),
            ("kind", string()),
            ("manualSync", boolean()),
            ("namespaces", strings()),
            ("schedule", string()),
            ("syncOverrun", boolean()),
            ("timeZone", string()),
        ],
        &[],
    )
}
