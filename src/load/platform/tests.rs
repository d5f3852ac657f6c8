//! Loading whole platforms (the repository's, the embedded one, small ones written by the tests);
//! and the helpers the parts' unit tests share.

use std::path::PathBuf;

use serde_json::json;

use super::embedded::{EMBEDDED_NICKEL, EMBEDDED_TEMPLATES};
use super::workspace::slash_path;
use super::{load_embedded_platform, load_platform};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::Platform;

pub(super) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A workspace with `platform/main.ncl` and any extra files.
pub(super) fn workspace(main: &str, extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write("platform/main.ncl", main);
    for (rel, text) in extra {
        write(rel, text);
    }
    dir
}

/// A small valid platform; `{PROFILE}`, `{ENV}` and `{EXTRA}` are replaced by the test.
const MINIMAL: &str = r#"let platc = import "platc.ncl" in
{
  name = "acme",
  gitops = { repo_url = "https://git.example.com/gitops.git" },
  clusters = { main = { server = "https://k8s", domain = "example.com" } },
  environments = {
    dev = { type = "development", cluster = "{ENV}" },
  },
  teams = { t = { owners = ["a@example.com"], namespace = "t", project = "t" } },
  profiles = {
    web = { kind = 'deployment, {PROFILE} },
  },
  default_profile = "web",
  provisioners = [],{EXTRA}
} | platc.Platform
"#;

pub(super) fn minimal(profile: &str, env_cluster: &str, extra: &str) -> String {
    MINIMAL
        .replace("{PROFILE}", profile)
        .replace("{ENV}", env_cluster)
        .replace("{EXTRA}", extra)
}

pub(super) fn only(diags: &Diagnostics) -> &Diagnostic {
    assert_eq!(diags.0.len(), 1, "expected one diagnostic, got: {diags}");
    &diags.0[0]
}

fn check_reference(p: &Platform) {
    assert_eq!(p.name, "acme");
    assert_eq!(
        p.environments.keys().collect::<Vec<_>>(),
        ["dev", "prod", "staging"]
    );
    assert_eq!(p.environments["prod"].env_type, "production");
    assert_eq!(p.environments["prod"].cluster, "prod");
    assert_eq!(p.environments["prod"].pod_security, "restricted");
    assert_eq!(p.environments["staging"].order, 1);
    assert_eq!(p.environments["dev"].pod_security, "baseline");
    assert_eq!(
        p.clusters["prod"].routes,
        crate::model::RouteKind::Httproute
    );
    assert_eq!(
        p.clusters["nonprod"].ingress_class.as_deref(),
        Some("nginx")
    );
    assert_eq!(
        p.teams.keys().collect::<Vec<_>>(),
        ["apps", "data", "payments", "storefront"]
    );
    assert_eq!(p.default_profile, "web");
    assert_eq!(p.profiles["web"]["probe_path"], json!("/healthz"));
    assert_eq!(p.profiles["cron"]["kind"], json!("cronjob"));
    assert_eq!(
        p.gitops.repo_url,
        "https://git.example.com/platform/gitops.git"
    );
    assert_eq!(p.gitops.argocd_namespace, "argocd");
    let mut types: Vec<&str> = p
        .provisioners
        .iter()
        .map(|p| p.resource_type.as_str())
        .collect();
    types.sort_unstable();
    types.dedup();
    assert_eq!(
        types,
        [
            "amqp",
            "dns",
            "endpoint",
            "kafka-topic",
            "mongodb",
            "mssql",
            "mysql",
            "postgres",
            "redis",
            "route",
            "s3",
            "volume"
        ]
    );
    let pg: Vec<_> = p
        .provisioners
        .iter()
        .filter(|p| p.resource_type == "postgres")
        .collect();
    assert_eq!(pg[0].env_types, ["development", "staging"]);
    assert_eq!(pg[0].defaults["instances"], json!(1));
    assert_eq!(pg[1].env_types, ["production"]);
    assert_eq!(pg[1].defaults["instances"], json!(3));
    assert_eq!(pg[1].requires, ["cloudnative-pg"]);
    assert_eq!(
        pg[1].secret_outputs["password"].secret,
        "{{ resource.name }}-app"
    );
    for c in [
        "cloudnative-pg",
        "external-secrets",
        "prometheus-operator",
        "strimzi",
        "rabbitmq-operator",
        "ingress-nginx",
        "envoy-gateway",
        "crossplane",
        "argocd",
        "backstage",
        "cert-manager",
    ] {
        assert!(p.components.contains_key(c), "component {c} missing");
    }
    assert_eq!(p.components["ingress-nginx"].clusters, ["nonprod"]);
    assert_eq!(p.components["argocd"].plane, crate::model::Plane::Delivery);
    assert!(
        p.templates
            .contains_key("platc/postgres/cnpg-cluster.yaml.j2")
    );
    assert!(p.templates.contains_key("templates/object-storage.yaml.j2"));
}

#[test]
fn reference_platform_loads_from_the_repo() {
    let p = load_platform(&repo_root()).unwrap_or_else(|d| panic!("{d}"));
    check_reference(&p);
    assert!(p.sources.contains(&"platform/main.ncl".to_string()));
    assert!(
        p.sources
            .contains(&"platform/provisioners/data.ncl".to_string())
    );
    assert!(p.sources.contains(&"<stdlib>/platc.ncl".to_string()));
    let mut sorted = p.sources.clone();
    sorted.sort();
    assert_eq!(p.sources, sorted);
}

#[test]
fn reference_platform_loads_embedded_and_equals_the_repo_one() {
    let embedded = load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
    check_reference(&embedded);
    let disk = load_platform(&repo_root()).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(embedded, disk);
    // Every Nickel file in platform/ is compiled in (a new file must be added to the list).
    let mut on_disk: Vec<String> = walkdir::WalkDir::new(repo_root().join("platform"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            e.path()
                .extension()
                .is_some_and(|x| x == "ncl" || x == "j2")
        })
        .map(|e| slash_path(e.path().strip_prefix(repo_root()).expect("in repo")))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = EMBEDDED_NICKEL
        .iter()
        .chain(EMBEDDED_TEMPLATES)
        .map(|(n, _)| (*n).to_string())
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn minimal_platform_gets_contract_defaults() {
    let ws = workspace(&minimal("replicas = 2", "main", ""), &[]);
    let p = load_platform(ws.path()).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(p.workloads, crate::model::default_globs());
    assert_eq!(p.gitops.target_revision, "main");
    assert_eq!(p.environments["dev"].pod_security, "baseline");
    assert_eq!(p.environments["dev"].overrides, json!({}));
    assert_eq!(p.clusters["main"].routes, crate::model::RouteKind::Ingress);
    // Profiles stay partial: no defaults are filled in that would win over a profile later.
    assert_eq!(
        p.profiles["web"],
        json!({"kind": "deployment", "replicas": 2})
    );
    assert_eq!(p.sources, ["<stdlib>/platc.ncl", "platform/main.ncl"]);
}

#[test]
fn missing_main_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = load_platform(dir.path()).expect_err("must fail");
    assert_eq!(only(&err).code, Code::Io);
}
