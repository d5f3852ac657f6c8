//! An `ApplicationSet`'s spec: its generators (nested ones by reference) and the template.

use serde_json::{Value, json};

use super::build::*;

/// One generator: exactly the generator kinds Argo CD knows. The commonly written ones (`list`,
/// `clusters`, `git`, `matrix`, `merge`) are checked field by field; the SCM-, pull-request-,
/// decision- and plugin-based ones are open. Generator `template`s are partial Application
/// templates and stay open too.
pub(super) fn generator() -> Value {
    let nested = array_of(reference("Generator"));
    let path_exclude = array_of(object(
        &[("exclude", boolean()), ("path", string())],
        &["path"],
    ));
    object(
        &[
            ("clusterDecisionResource", open()),
            (
                "clusters",
                object(
                    &[
                        ("flatList", boolean()),
                        ("selector", reference("LabelSelector")),
                        ("template", open()),
                        ("values", string_map()),
                    ],
                    &[],
                ),
            ),
            (
                "git",
                object(
                    &[
                        ("directories", path_exclude.clone()),
                        ("files", path_exclude),
                        ("pathParamPrefix", string()),
                        ("repoURL", string()),
                        ("requeueAfterSeconds", integer()),
                        ("revision", string()),
                        ("template", open()),
                        ("values", string_map()),
                    ],
                    &["repoURL", "revision"],
                ),
            ),
            (
                "list",
                object(
                    &[
                        ("elements", json!({"type": "array"})),
                        ("elementsYaml", string()),
                        ("template", open()),
                    ],
                    &[],
                ),
            ),
            (
                "matrix",
                object(
                    &[("generators", nested.clone()), ("template", open())],
                    &["generators"],
                ),
            ),
            (
                "merge",
                object(
                    &[
                        ("generators", nested),
                        ("mergeKeys", strings()),
                        ("template", open()),
                    ],
                    &["generators", "mergeKeys"],
                ),
            ),
            ("plugin", open()),
            ("pullRequest", open()),
            ("scmProvider", open()),
            ("selector", reference("LabelSelector")),
        ],
        &[],
    )
}

pub(super) fn label_selector() -> Value {
    object(
        &[
            (
                "matchExpressions",
                array_of(object(
                    &[
                        ("key", string()),
                        ("operator", string()),
                        ("values", strings()),
                    ],
                    &["key", "operator"],
                )),
            ),
            ("matchLabels", string_map()),
        ],
        &[],
    )
}

pub(super) fn spec() -> Value {
    object(
        &[
            ("applyNestedSelectors", boolean()),
            ("generators", array_of(reference("Generator"))),
            ("goTemplate", boolean()),
            ("goTemplateOptions", strings()),
            (
                "ignoreApplicationDifferences",
                array_of(object(
                    &[
                        ("jqPathExpressions", strings()),
                        ("jsonPointers", strings()),
                        ("name", string()),
                    ],
                    &[],
                )),
            ),
            (
                "preservedFields",
                object(&[("annotations", strings()), ("labels", strings())], &[]),
            ),
            ("strategy", strategy()),
            (
                "syncPolicy",
                object(
                    &[
                        (
                            "applicationsSync",
                            json!({"enum": ["create-only", "create-update", "create-delete", "sync"]}),
                        ),
                        ("preserveResourcesOnDeletion", boolean()),
                    ],
                    &[],
                ),
            ),
            ("template", template()),
            ("templatePatch", string()),
        ],
        &["generators", "template"],
    )
}

/// `strategy`: the order in which generated Applications are synced or deleted.
fn strategy() -> Value {
    let step = object(
        &[
            (
                "matchExpressions",
                array_of(object(
                    &[
                        ("key", string()),
                        ("operator", string()),
                        ("values", strings()),
                    ],
                    &[],
                )),
            ),
            ("maxUpdate", json!({"type": ["integer", "string"]})),
        ],
        &[],
    );
    object(
        &[
            ("deletionOrder", string()),
            ("rollingSync", object(&[("steps", array_of(step))], &[])),
            ("type", string()),
        ],
        &[],
    )
}

/// `template`: each generated Application's metadata and spec.
fn template() -> Value {
    object(
        &[
            (
                "metadata",
                object(
                    &[
                        ("annotations", string_map()),
                        ("finalizers", strings()),
                        ("labels", string_map()),
                        ("name", string()),
                        ("namespace", string()),
                    ],
                    &[],
                ),
            ),
            ("spec", reference("ApplicationSpec")),
        ],
        &["metadata", "spec"],
    )
}
