//! Our own schemas of Argo CD's `Application`, `ApplicationSet` and `AppProject`
//! (`argoproj.io/v1alpha1`), written from the field names and types Argo CD 3.x accepts. They
//! are strict where platc writes (an unknown field in `spec`, `source`, `syncPolicy`, a project
//! role... is an error) and open only where Argo CD itself keeps arbitrary data: Helm
//! `valuesObject`, an ApplicationSet's list elements and generator templates, `status` and
//! `operation`. Metadata is Kubernetes' `ObjectMeta`.

use serde_json::{Map, Value, json};

pub const API_VERSION: &str = "argoproj.io/v1alpha1";
pub const KINDS: &[&str] = &["AppProject", "Application", "ApplicationSet"];

fn string() -> Value {
    json!({"type": "string"})
}
fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}
fn boolean() -> Value {
    json!({"type": "boolean"})
}
fn integer() -> Value {
    json!({"type": "integer"})
}
fn string_map() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}})
}
/// Data Argo CD keeps as it is.
fn open() -> Value {
    json!({"type": "object"})
}
fn array_of(items: Value) -> Value {
    json!({"type": "array", "items": items})
}
fn reference(def: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{def}") })
}

/// A strict object: `props` are its fields, `required` the ones it must have.
fn object(props: &[(&str, Value)], required: &[&str]) -> Value {
    let properties: Map<String, Value> = props
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let mut o = json!({"type": "object", "properties": properties, "additionalProperties": false});
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}

fn name_value(extra: &[(&str, Value)]) -> Value {
    let mut props = vec![("name", string()), ("value", string())];
    props.extend(extra.iter().cloned());
    object(&props, &["name", "value"])
}

/// The definitions shared by the three kinds.
fn defs() -> Map<String, Value> {
    let mut d = Map::new();
    let helm = object(
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
    );
    let kustomize = object(
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
    );
    let jsonnet_var = name_value(&[("code", boolean())]);
    let directory = object(
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
    );
    let plugin = object(
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
    );
    let source = object(
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
    );
    let hydrator = object(
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
    );
    let sync_policy = object(
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
    );
    let spec = object(
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
            ("sourceHydrator", hydrator),
            ("sources", array_of(reference("ApplicationSource"))),
            ("syncPolicy", sync_policy),
        ],
        &["destination", "project"],
    );
    d.insert("Helm".into(), helm);
    d.insert("Kustomize".into(), kustomize);
    d.insert("Directory".into(), directory);
    d.insert("Plugin".into(), plugin);
    d.insert("ApplicationSource".into(), source);
    d.insert("ApplicationSpec".into(), spec);
    d
}

fn project_spec() -> Value {
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
                array_of(object(
                    &[
                        ("defaultServiceAccount", string()),
                        ("namespace", string()),
                        ("server", string()),
                    ],
                    &["defaultServiceAccount", "server"],
                )),
            ),
            (
                "destinations",
                array_of(object(
                    &[
                        ("name", string()),
                        ("namespace", string()),
                        ("server", string()),
                    ],
                    &[],
                )),
            ),
            ("namespaceResourceBlacklist", array_of(group_kind.clone())),
            ("namespaceResourceWhitelist", array_of(group_kind)),
            (
                "orphanedResources",
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
                ),
            ),
            ("permitOnlyProjectScopedClusters", boolean()),
            (
                "roles",
                array_of(object(
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
                )),
            ),
            (
                "signatureKeys",
                array_of(object(&[("keyID", string())], &["keyID"])),
            ),
            // Newer than most of the spec and nested deeply; Argo CD validates it itself.
            ("sourceIntegrity", open()),
            ("sourceNamespaces", strings()),
            ("sourceRepos", strings()),
            (
                "syncWindows",
                array_of(object(
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
                )),
            ),
        ],
        &[],
    )
}

/// One generator: exactly the generator kinds Argo CD knows. The commonly written ones (`list`,
/// `clusters`, `git`, `matrix`, `merge`) are checked field by field; the SCM-, pull-request-,
/// decision- and plugin-based ones are open. Generator `template`s are partial Application
/// templates and stay open too.
fn generator() -> Value {
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

fn label_selector() -> Value {
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

fn application_set_spec() -> Value {
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
            (
                "strategy",
                object(
                    &[
                        ("deletionOrder", string()),
                        (
                            "rollingSync",
                            object(
                                &[(
                                    "steps",
                                    array_of(object(
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
                                    )),
                                )],
                                &[],
                            ),
                        ),
                        ("type", string()),
                    ],
                    &[],
                ),
            ),
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
            (
                "template",
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
                ),
            ),
            ("templatePatch", string()),
        ],
        &["generators", "template"],
    )
}

/// The schema of one Argo CD kind; `object_meta` is the (strict) schema of `ObjectMeta` whose
/// `$defs` are lifted to the root. `None` for other kinds.
pub fn schema(kind: &str, object_meta: &Value) -> Option<Value> {
    let spec = match kind {
        "Application" => reference("ApplicationSpec"),
        "ApplicationSet" => application_set_spec(),
        "AppProject" => project_spec(),
        _ => return None,
    };
    let mut defs = defs();
    defs.insert("Generator".into(), generator());
    defs.insert("LabelSelector".into(), label_selector());
    let mut meta = object_meta.clone();
    if let Some(m) = meta.as_object_mut() {
        m.remove("$schema");
        if let Some(Value::Object(inner)) = m.remove("$defs") {
            defs.extend(inner);
        }
    }
    defs.insert("ObjectMeta".into(), meta);
    let mut s = object(
        &[
            ("apiVersion", json!({"const": API_VERSION})),
            ("kind", json!({"const": kind})),
            ("metadata", reference("ObjectMeta")),
            ("operation", open()),
            ("spec", spec),
            ("status", open()),
        ],
        &["apiVersion", "kind", "metadata", "spec"],
    );
    s["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    s["$defs"] = Value::Object(defs);
    Some(s)
}
