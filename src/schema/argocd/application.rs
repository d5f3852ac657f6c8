//! An `Application`'s spec and its sources (Helm, Kustomize, directory, plugin), which an
//! ApplicationSet's template shares.

use serde_json::{Value, json};

use super::build::{
    array_of, boolean, integer, name_value, object, open, reference, string, string_map, strings,
};

/// `source.helm`.
pub(super) fn helm() -> Value {
    object(
        &[
            ("apiVersions", strings()),
            (
                "fileParameters",
                array_of(object(&[("name", string()), ("path", string())], &[])),
            ),
            ("ignoreMissingValueFiles", boolean()),
            ("kubeVersion", string()),
            ("namespace", string()),
            (
                "parameters",
                array_of(object(
                    &[
                        ("forceString", boolean()),
                        ("name", string()),
                        ("value", string()),
                    ],
                    &[],
                )),
            ),
            ("passCredentials", boolean()),
            ("releaseName", string()),
            ("skipCrds", boolean()),
            ("skipSchemaValidation", boolean()),
            ("skipTests", boolean()),
            ("valueFiles", strings()),
            ("values", string()),
            ("valuesObject", open()),
            ("version", string()),
        ],
        &[],
    )
}

/// `source.kustomize`.
pub(super) fn kustomize() -> Value {
    object(
        &[
            ("apiVersions", strings()),
            ("commonAnnotations", string_map()),
            ("commonAnnotationsEnvsubst", boolean()),
            ("commonLabels", string_map()),
            ("components", strings()),
            ("forceCommonAnnotations", boolean()),
            ("forceCommonLabels", boolean()),
            ("ignoreMissingComponents", boolean()),
            ("images", strings()),
            ("kubeVersion", string()),
            ("labelIncludeTemplates", boolean()),
            ("labelWithoutSelector", boolean()),
            ("namePrefix", string()),
            ("nameSuffix", string()),
            ("namespace", string()),
            (
                "patches",
                array_of(object(
                    &[
                        (
                            "options",
                            json!({"type": "object", "additionalProperties": {"type": "boolean"}}),
                        ),
                        ("patch", string()),
                        ("path", string()),
                        (
                            "target",
                            object(
                                &[
                                    ("annotationSelector", string()),
                                    ("group", string()),
                                    ("kind", string()),
                                    ("labelSelector", string()),
                                    ("name", string()),
                                    ("namespace", string()),
                                    ("version", string()),
                                ],
                                &[],
                            ),
                        ),
                    ],
                    &[],
                )),
            ),
            (
                "replicas",
                array_of(object(
                    &[
                        ("count", json!({"type": ["integer", "string"]})),
                        ("name", string()),
                    ],
                    &["count", "name"],
                )),
            ),
            ("version", string()),
        ],
        &[],
    )
}

/// `source.directory`, with its Jsonnet variables.
pub(super) fn directory() -> Value {
    let jsonnet_var = name_value(&[("code", boolean())]);
    object(
        &[
            ("disableExtensionFilter", boolean()),
            ("exclude", string()),
            ("include", string()),
            (
                "jsonnet",
                object(
                    &[
                        ("extVars", array_of(jsonnet_var.clone())),
                        ("libs", strings()),
                        ("tlas", array_of(jsonnet_var)),
                    ],
                    &[],
                ),
            ),
            ("recurse", boolean()),
        ],
        &[],
    )
}

/// `source.plugin`.
pub(super) fn plugin() -> Value {
    object(
        &[
            ("env", array_of(name_value(&[]))),
            ("name", string()),
            (
                "parameters",
                array_of(object(
                    &[
                        ("array", strings()),
                        ("map", string_map()),
                        ("name", string()),
                        ("string", string()),
                    ],
                    &[],
                )),
            ),
        ],
        &[],
    )
}

/// One `source` (or an item of `sources`).
pub(super) fn source() -> Value {
    object(
        &[
            ("chart", string()),
            ("directory", reference("Directory")),
            ("helm", reference("Helm")),
            ("kustomize", reference("Kustomize")),
            ("name", string()),
            ("path", string()),
            ("plugin", reference("Plugin")),
            ("ref", string()),
            ("repoURL", string()),
            ("tagPrefix", string()),
            ("targetRevision", string()),
        ],
        &["repoURL"],
    )
}

/// `spec.sourceHydrator`.
pub(super) fn hydrator() -> Value {
    object(
        &[
            (
                "drySource",
                object(
                    &[
                        ("directory", reference("Directory")),
                        ("helm", reference("Helm")),
                        ("kustomize", reference("Kustomize")),
                        ("path", string()),
                        ("plugin", reference("Plugin")),
                        ("repoURL", string()),
                        ("targetRevision", string()),
                    ],
                    &["path", "repoURL", "targetRevision"],
                ),
            ),
            (
                "hydrateTo",
                object(&[("targetBranch", string())], &["targetBranch"]),
            ),
            (
                "syncSource",
                object(
                    &[
                        ("path", string()),
                        ("repoURL", string()),
                        ("targetBranch", string()),
                    ],
                    &["path", "targetBranch"],
                ),
            ),
        ],
        &["drySource", "syncSource"],
    )
}

/// `spec.syncPolicy`.
pub(super) fn sync_policy() -> Value {
    object(
        &[
            (
                "automated",
                object(
                    &[
                        ("allowEmpty", boolean()),
                        ("enabled", boolean()),
                        ("prune", boolean()),
                        ("selfHeal", boolean()),
                    ],
                    &[],
                ),
            ),
            (
                "managedNamespaceMetadata",
                object(
                    &[("annotations", string_map()), ("labels", string_map())],
                    &[],
                ),
            ),
            (
                "retry",
                object(
                    &[
                        (
                            "backoff",
                            object(
                                &[
                                    ("duration", string()),
                                    ("factor", integer()),
                                    ("maxDuration", string()),
                                ],
                                &[],
                            ),
                        ),
                        ("limit", integer()),
                        ("refresh", boolean()),
                    ],
                    &[],
                ),
            ),
            ("syncOptions", strings()),
        ],
        &[],
    )
}

/// `spec`: where the application comes from, where it goes, how it syncs.
pub(super) fn spec() -> Value {
    object(
        &[
            (
                "destination",
                object(
                    &[
                        ("name", string()),
                        ("namespace", string()),
                        ("server", string()),
                    ],
                    &[],
                ),
            ),
            (
                "ignoreDifferences",
                array_of(object(
                    &[
                        ("group", string()),
                        ("jqPathExpressions", strings()),
                        ("jsonPointers", strings()),
                        ("kind", string()),
                        ("managedFieldsManagers", strings()),
                        ("name", string()),
                        ("namespace", string()),
                    ],
                    &["kind"],
                )),
            ),
            ("info", array_of(name_value(&[]))),
            ("project", string()),
            ("revisionHistoryLimit", integer()),
            ("source", reference("ApplicationSource")),
            ("sourceHydrator", hydrator()),
            ("sources", array_of(reference("ApplicationSource"))),
            ("syncPolicy", sync_policy()),
        ],
        &["destination", "project"],
    )
}
