use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::model::Plane;

fn object(value: Value) -> Object {
    Object::manifest(
        "envs/dev/app",
        value,
        Plane::Resource,
        Provenance {
            source: "examples/app/score.yaml".into(),
            node: "workload:app".into(),
            via: "renderer:resource".into(),
        },
    )
}

fn failures(v: &mut Validators, value: Value) -> Vec<Failure> {
    v.check_object(&object(value), Some("dev"))
        .expect("the kind has a schema")
}

fn none() -> Validators {
    Validators::new(&BTreeMap::new()).unwrap()
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "app",
            "namespace": "shop-dev",
            "labels": {"app.kubernetes.io/name": "app", "platc.dev/x": "y"},
            "annotations": {"anything/goes": "here"},
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "app"}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "app"}},
                "spec": {"containers": [{
                    "name": "main",
                    "image": "ghcr.io/acme/app:1.0",
                    "ports": [{"containerPort": 8080, "name": "http"}],
                    "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"cpu": 0.5, "memory": "1Gi"}},
                    "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
                }]},
            },
        },
    })
}

#[test]
fn every_built_in_schema_compiles() {
    let mut v = none();
    for (api, kind) in kubernetes::KINDS {
        let s = kubernetes::schema(api, kind).unwrap();
        compile(&s).unwrap_or_else(|e| panic!("{api}/{kind}: {e}"));
        assert!(v.knows(api, kind));
    }
    let meta = kubernetes::object_meta();
    for kind in argocd::KINDS {
        let s = argocd::schema(kind, &meta).unwrap();
        compile(&s).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(v.knows(argocd::API_VERSION, kind));
    }
    assert!(!v.knows("monitoring.coreos.com/v1", "ServiceMonitor"));
    assert!(
        v.check_object(
            &object(json!({"apiVersion": "x/v1", "kind": "Y", "metadata": {"name": "a"}})),
            None
        )
        .is_none()
    );
}

#[test]
fn a_valid_deployment_passes_with_maps_int_or_string_and_quantities() {
    assert_eq!(failures(&mut none(), deployment()), vec![]);
}

#[test]
fn a_misspelled_field_is_named_with_its_path_and_the_right_name() {
    let mut d = deployment();
    let spec = d["spec"].as_object_mut().unwrap();
    let replicas = spec.remove("replicas").unwrap();
    spec.insert("replcas".into(), replicas);
    let f = failures(&mut none(), d);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].field, "spec.replcas");
    assert_eq!(f[0].message, "unknown field `replcas`");
    assert_eq!(f[0].suggestion.as_deref(), Some("replicas"));
    assert!(f[0].expected.contains("`replicas`"), "{}", f[0].expected);
    assert_eq!(f[0].object.to_string(), "Deployment/shop-dev/app");
    assert_eq!(f[0].object.file, "envs/dev/app/deployment-app.yaml");
    assert_eq!(f[0].schema, SchemaSource::Kubernetes);
    assert_eq!(f[0].environment.as_deref(), Some("dev"));
}

#[test]
fn wrong_types_and_bad_quantities_are_caught() {
    let mut v = none();
    let svc = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "app", "namespace": "shop-dev"},
        "spec": {"ports": [{"name": "http", "port": "80", "targetPort": "http"}], "selector": {"app": "app"}},
    });
    let f = failures(&mut v, svc);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].field, "spec.ports[name=http].port");
    assert_eq!(f[0].message, "a string \"80\" is not allowed here");
    assert_eq!(f[0].expected, "an integer");

    let mut d = deployment();
    d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = json!("1 GB");
    d["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = json!(true);
    let f = failures(&mut v, d);
    let fields: Vec<&str> = f.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "spec.strategy.rollingUpdate.maxSurge",
            "spec.template.spec.containers[name=main].resources.limits.memory",
        ]
    );
    assert_eq!(f[0].expected, "an integer or a string");
    assert!(
        f[1].message.contains("not a Kubernetes quantity"),
        "{}",
        f[1].message
    );
}

#[test]
fn unknown_fields_in_metadata_and_missing_required_ones_are_errors() {
    let mut d = deployment();
    d["metadata"]["label"] = json!({"a": "b"});
    d["spec"].as_object_mut().unwrap().remove("selector");
    let f = failures(&mut none(), d);
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.field.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("metadata.label", "unknown field `label`"),
            ("spec", "required field `selector` is missing"),
        ]
    );
    assert_eq!(f[0].suggestion.as_deref(), Some("labels"));
}

fn application() -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": "dev-cart", "namespace": "argocd",
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
            "annotations": {"argocd.argoproj.io/sync-wave": "2"},
        },
        "spec": {
            "project": "shop",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop-dev"},
            "source": {
                "repoURL": "https://git.example.com/gitops.git", "path": "envs/dev/cart",
                "targetRevision": "main",
                "helm": {"releaseName": "x", "valuesObject": {"free": {"form": [1, 2]}}},
            },
            "syncPolicy": {
                "automated": {"prune": true, "selfHeal": true},
                "syncOptions": ["ServerSideApply=true"],
                "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}},
            },
        },
    })
}

#[test]
fn argo_cd_applications_are_strict_where_platc_writes() {
    let mut v = none();
    assert_eq!(failures(&mut v, application()), vec![]);

    let mut a = application();
    a["spec"]["syncPolicy"]["automated"] = json!({"prune": true, "selfheal": true});
    a["spec"]["source"]["targetRevision"] = json!(3);
    let f = failures(&mut v, a);
    let got: Vec<(&str, &str, Option<&str>)> = f
        .iter()
        .map(|f| {
            (
                f.field.as_str(),
                f.message.as_str(),
                f.suggestion.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "spec.source.targetRevision",
                "an integer 3 is not allowed here",
                None
            ),
            (
                "spec.syncPolicy.automated.selfheal",
                "unknown field `selfheal`",
                Some("selfHeal")
            ),
        ]
    );
    assert_eq!(f[0].schema, SchemaSource::ArgoCd);
    assert_eq!(f[0].object.to_string(), "Application/argocd/dev-cart");

    let mut a = application();
    a["spec"].as_object_mut().unwrap().remove("project");
    a["metadata"]["finalizer"] = json!([]);
    let f = failures(&mut v, a);
    let fields: Vec<&str> = f.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, vec!["metadata.finalizer", "spec"]);
    assert_eq!(f[0].suggestion.as_deref(), Some("finalizers"));
}

#[test]
fn app_projects_and_application_sets_validate() {
    let mut v = none();
    let project = json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": "shop", "namespace": "argocd"},
        "spec": {
            "description": "d",
            "sourceRepos": ["https://git.example.com/gitops.git"],
            "destinations": [{"server": "*", "namespace": "shop-*"}],
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
            "roles": [{"name": "dev", "groups": ["shop"], "policies": ["p, proj:shop:dev, applications, get, shop/*, allow"]}],
        },
    });
    assert_eq!(failures(&mut v, project.clone()), vec![]);
    let mut bad = project;
    bad["spec"]["roles"][0]["group"] = json!(["x"]);
    let f = failures(&mut v, bad);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].field, "spec.roles[name=dev].group");
    assert_eq!(f[0].suggestion.as_deref(), Some("groups"));

    let set = json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
        "metadata": {"name": "envs", "namespace": "argocd"},
        "spec": {
            "goTemplate": true,
            "generators": [{"matrix": {"generators": [
                {"list": {"elements": [{"env": "dev"}, {"env": "prod"}]}},
                {"git": {"repoURL": "https://git.example.com/gitops.git", "revision": "main", "directories": [{"path": "envs/*"}]}},
            ]}}],
            "template": {
                "metadata": {"name": "{{.env}}-{{.path.basename}}"},
                "spec": {
                    "project": "shop",
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "{{.env}}"},
                    "source": {"repoURL": "https://git.example.com/gitops.git", "path": "{{.path.path}}", "targetRevision": "main"},
                },
            },
        },
    });
    assert_eq!(failures(&mut v, set.clone()), vec![]);
    let mut bad = set;
    bad["spec"]["generators"][0]["matrix"]["generators"][1]["git"]["directory"] = json!([]);
    let f = failures(&mut v, bad);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(
        f[0].field,
        "spec.generators[0].matrix.generators[1].git.directory"
    );
    assert_eq!(f[0].suggestion.as_deref(), Some("directories"));
}

#[test]
fn platform_schemas_check_their_kind_and_replace_built_in_ones() {
    let mut schemas = BTreeMap::new();
    schemas.insert(
        "platform.example.com/v1alpha1/Bucket".to_string(),
        json!({
            "type": "object",
            "properties": {
                "apiVersion": {}, "kind": {}, "metadata": {"type": "object"},
                "spec": {"type": "object", "additionalProperties": false, "required": ["region"],
                         "properties": {"region": {"enum": ["eu-west-1", "us-east-1"]}}},
            },
        }),
    );
    let mut v = Validators::new(&schemas).unwrap();
    assert!(v.knows("platform.example.com/v1alpha1", "Bucket"));
    let bucket = |spec: Value| json!({"apiVersion": "platform.example.com/v1alpha1", "kind": "Bucket", "metadata": {"name": "b"}, "spec": spec});
    assert_eq!(
        failures(&mut v, bucket(json!({"region": "eu-west-1"}))),
        vec![]
    );
    let f = failures(&mut v, bucket(json!({"region": "mars", "regoin": "x"})));
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.field.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("spec.region", "\"mars\" is not an allowed value"),
            ("spec.regoin", "unknown field `regoin`"),
        ]
    );
    assert_eq!(f[0].expected, "one of \"eu-west-1\", \"us-east-1\"");
    assert_eq!(f[1].suggestion.as_deref(), Some("region"));
    assert_eq!(
        f[0].schema,
        SchemaSource::Platform("platform.example.com/v1alpha1/Bucket".into())
    );
}

#[test]
fn broken_platform_schemas_are_configuration_errors() {
    let mut schemas = BTreeMap::new();
    schemas.insert("Bucket".to_string(), json!({}));
    schemas.insert("x.io/v1/Thing".to_string(), json!({"type": 12}));
    let d = Validators::new(&schemas).err().expect("errors");
    let messages: Vec<&str> = d.0.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[0].contains("`Bucket` does not name a kind"),
        "{}",
        messages[0]
    );
    assert!(
        messages[1].contains("`x.io/v1/Thing` is not a valid JSON Schema"),
        "{}",
        messages[1]
    );
}
