//! The developer-control plane end to end: the Backstage catalog rendered for the examples is
//! closed (every relation names an entity that exists), complete (a Component per workload, an
//! API per service port, a Location listing every file), its selectors find the right objects,
//! and every app directory of every environment has a README whose Mermaid chart names the
//! workload's neighbours in `platc graph --format json`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

struct Rendered {
    _dir: tempfile::TempDir,
    /// Path → parsed YAML (only `.yaml` files) or text.
    yaml: BTreeMap<String, Value>,
    text: BTreeMap<String, String>,
    graph: Value,
}

fn rendered() -> &'static Rendered {
    static R: OnceLock<Rendered> = OnceLock::new();
    R.get_or_init(|| {
        let Examples {
            _dir: dir,
            out,
            graph,
        } = render_examples();
        let mut yaml = BTreeMap::new();
        let mut text = BTreeMap::new();
        for (path, bytes) in read_tree(&out) {
            let t = String::from_utf8(bytes).unwrap();
            if path.ends_with(".yaml") {
                let node = platc::yaml::read::parse(&path, &t)
                    .unwrap_or_else(|d| panic!("{path} is not YAML: {d:?}"));
                yaml.insert(path.clone(), node.to_json());
            }
            text.insert(path, t);
        }
        Rendered {
            _dir: dir,
            yaml,
            text,
            graph,
        }
    })
}

/// `kind:default/name` → (file, entity), for every file under `catalog/`.
fn entities(r: &Rendered) -> BTreeMap<String, (&str, &Value)> {
    let mut out = BTreeMap::new();
    for (path, v) in r.yaml.range("catalog/".to_string()..) {
        if !path.starts_with("catalog/") {
            break;
        }
        assert_eq!(v["apiVersion"], "backstage.io/v1alpha1", "{path}");
        let kind = v["kind"].as_str().unwrap().to_ascii_lowercase();
        let name = v["metadata"]["name"].as_str().unwrap();
        let r = format!("{kind}:default/{name}");
        assert!(
            out.insert(r.clone(), (path.as_str(), v)).is_none(),
            "{r} twice"
        );
    }
    out
}

fn of_kind<'a>(
    ents: &'a BTreeMap<String, (&'a str, &'a Value)>,
    kind: &str,
) -> impl Iterator<Item = (&'a String, &'a Value)> {
    let prefix = format!("{kind}:");
    ents.iter()
        .filter(move |(r, _)| r.starts_with(&prefix))
        .map(|(r, (_, v))| (r, *v))
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn valid_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
}

/// Environments of the graph JSON: name → (workload names, edges).
fn graph_envs(r: &Rendered) -> Vec<(&str, &Value)> {
    r.graph["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["environment"].as_str().unwrap(), e))
        .collect()
}

fn workloads_of(env: &Value) -> BTreeSet<&str> {
    env["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "workload")
        .map(|n| n["name"].as_str().unwrap())
        .collect()
}

#[test]
fn every_relation_names_an_entity_of_the_catalog() {
    let r = rendered();
    let ents = entities(r);
    assert!(ents.len() > 20, "{}", ents.len());
    let mut checked = 0;
    for (re, (path, v)) in &ents {
        let name = v["metadata"]["name"].as_str().unwrap();
        assert!(valid_name(name), "{path}: invalid entity name `{name}`");
        let spec = &v["spec"];
        let mut targets: Vec<&str> = Vec::new();
        for f in ["owner", "system", "parent"] {
            targets.extend(spec[f].as_str());
        }
        for f in [
            "dependsOn",
            "dependencyOf",
            "providesApis",
            "consumesApis",
            "members",
            "memberOf",
            "children",
        ] {
            targets.extend(strs(&spec[f]));
        }
        for t in targets {
            assert!(
                ents.contains_key(t),
                "{re} ({path}) names `{t}`, which is not in the catalog"
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} relations checked");
    for (re, v) in of_kind(&ents, "component")
        .chain(of_kind(&ents, "api"))
        .chain(of_kind(&ents, "resource"))
    {
        let team = v["spec"]["owner"].as_str().unwrap();
        assert!(team.starts_with("group:default/"), "{re}: owner {team}");
        assert_eq!(
            v["spec"]["system"].as_str().unwrap(),
            team.replace("group:", "system:"),
            "{re}: a team's things belong to the team's system"
        );
    }
    for (re, v) in of_kind(&ents, "system") {
        assert_eq!(
            v["spec"]["owner"].as_str().unwrap(),
            re.replace("system:", "group:")
        );
    }
}

#[test]
fn one_component_per_workload_and_one_api_per_service_port() {
    let r = rendered();
    let ents = entities(r);
    let workloads: BTreeSet<&str> = graph_envs(r)
        .iter()
        .flat_map(|(_, e)| workloads_of(e))
        .collect();
    let components: BTreeSet<&str> = of_kind(&ents, "component")
        .map(|(_, v)| v["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(components, workloads);

    // Service ports as the resource plane rendered them, in any environment.
    let mut ports: BTreeSet<(String, String)> = BTreeSet::new();
    for (path, v) in &r.yaml {
        // Workload directories only: provisioned resources (a redis) have Services too.
        let in_app_dir = path.split('/').nth(2).is_some_and(|d| !d.starts_with('_'));
        if path.starts_with("envs/") && in_app_dir && v["kind"] == "Service" {
            let w = v["metadata"]["labels"]["app.kubernetes.io/name"]
                .as_str()
                .unwrap();
            for p in v["spec"]["ports"].as_array().unwrap() {
                ports.insert((w.to_string(), p["name"].as_str().unwrap().to_string()));
            }
        }
    }
    assert!(ports.contains(&("payments-api".into(), "grpc".into())));
    let mut apis: BTreeSet<(String, String)> = BTreeSet::new();
    for (re, v) in of_kind(&ents, "api") {
        let port = v["metadata"]["annotations"]["platc.dev/port"]
            .as_str()
            .unwrap();
        let providers: Vec<&str> = of_kind(&ents, "component")
            .filter(|(_, c)| strs(&c["spec"]["providesApis"]).contains(&re.as_str()))
            .map(|(_, c)| c["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(providers.len(), 1, "{re} is provided by {providers:?}");
        assert!(
            apis.insert((providers[0].to_string(), port.to_string())),
            "two APIs for one port: {re}"
        );
        let def = v["spec"]["definition"].as_str().unwrap();
        match v["spec"]["type"].as_str().unwrap() {
            "openapi" => {
                let d = platc::yaml::read::parse("definition", def)
                    .unwrap()
                    .to_json();
                assert_eq!(d["openapi"], "3.0.3", "{re}");
                assert!(
                    d["servers"].as_array().is_some_and(|s| !s.is_empty()),
                    "{re}"
                );
            }
            "grpc" => assert!(def.contains("syntax = \"proto3\";"), "{re}: {def}"),
            "other" => assert!(!def.is_empty()),
            t => panic!("{re}: unexpected API type {t}"),
        }
    }
    assert_eq!(apis, ports);
}

#[test]
fn components_say_what_they_use_and_call() {
    let r = rendered();
    let ents = entities(r);
    let c = |n: &str| ents[&format!("component:default/{n}")].1;
    let pa = c("payments-api");
    assert_eq!(pa["spec"]["type"], "service");
    assert_eq!(pa["spec"]["lifecycle"], "production");
    let deps = strs(&pa["spec"]["dependsOn"]);
    for d in [
        "component:default/fraud",
        "component:default/ledger",
        "resource:default/payments-db",
        "resource:default/payment-events",
    ] {
        assert!(deps.contains(&d), "{deps:?} lacks {d}");
    }
    assert_eq!(
        strs(&pa["spec"]["consumesApis"]),
        ["api:default/fraud-http", "api:default/ledger-http"]
    );
    assert_eq!(c("reconcile")["spec"]["type"], "cronjob");
    // The README shows the schedule the CronJob really has.
    let cron = &r.yaml["envs/dev/reconcile/cronjob-reconcile.yaml"]["spec"]["schedule"];
    let readme = &r.text["envs/dev/reconcile/README.md"];
    assert!(
        readme.contains(&format!("(CronJob, schedule `{}`)", cron.as_str().unwrap())),
        "{readme}"
    );
    // The graph's communication edges are exactly the components' `component:` dependencies.
    let mut calls_graph: BTreeSet<(String, String)> = BTreeSet::new();
    for (_, e) in graph_envs(r) {
        for edge in e["edges"].as_array().unwrap() {
            if edge["kind"] == "communication" {
                let f = edge["from"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("workload:");
                let t = edge["to"].as_str().unwrap().trim_start_matches("workload:");
                calls_graph.insert((f.into(), t.into()));
            }
        }
    }
    let mut calls_catalog: BTreeSet<(String, String)> = BTreeSet::new();
    for (_, v) in of_kind(&ents, "component") {
        let from = v["metadata"]["name"].as_str().unwrap();
        for d in strs(&v["spec"]["dependsOn"]) {
            if let Some(to) = d.strip_prefix("component:default/") {
                calls_catalog.insert((from.into(), to.into()));
            }
        }
    }
    assert_eq!(calls_catalog, calls_graph);
    // Every resource is somebody's dependency.
    let used: BTreeSet<&str> = of_kind(&ents, "component")
        .flat_map(|(_, v)| strs(&v["spec"]["dependsOn"]))
        .collect();
    for (re, _) in of_kind(&ents, "resource") {
        assert!(used.contains(re.as_str()), "{re} is used by nobody");
    }
}

fn selector_matches(selector: &str, labels: &Value) -> bool {
    selector.split(',').all(|kv| {
        let (k, v) = kv.split_once('=').unwrap();
        labels[k].as_str() == Some(v)
    })
}

#[test]
fn selectors_find_exactly_the_workloads_applications_and_pods_owners() {
    let r = rendered();
    let ents = entities(r);
    let envs = graph_envs(r);
    for (re, v) in of_kind(&ents, "component") {
        let w = v["metadata"]["name"].as_str().unwrap();
        let ann = &v["metadata"]["annotations"];
        let argo = ann["argocd/app-selector"].as_str().unwrap();
        let apps: BTreeSet<&str> = r
            .yaml
            .iter()
            .filter(|(p, o)| p.starts_with("argocd/") && o["kind"] == "Application")
            .filter(|(_, o)| selector_matches(argo, &o["metadata"]["labels"]))
            .map(|(_, o)| o["metadata"]["name"].as_str().unwrap())
            .collect();
        let expected: BTreeSet<String> = envs
            .iter()
            .filter(|(_, e)| workloads_of(e).contains(w))
            .map(|(env, _)| format!("{env}-{w}"))
            .collect();
        assert_eq!(
            apps,
            expected.iter().map(String::as_str).collect(),
            "{re}: {argo}"
        );
        let k8s = ann["backstage.io/kubernetes-label-selector"]
            .as_str()
            .unwrap();
        let runs: Vec<&String> = r
            .yaml
            .iter()
            .filter(|(_, o)| o["kind"] == "Deployment" || o["kind"] == "CronJob")
            .filter(|(_, o)| selector_matches(k8s, &o["metadata"]["labels"]))
            .map(|(p, _)| p)
            .collect();
        assert_eq!(runs.len(), expected.len(), "{re}: {k8s} finds {runs:?}");
        for p in runs {
            assert!(
                p.split('/').nth(2) == Some(w),
                "{re}: {k8s} finds {p}, not in the workload's directory"
            );
        }
    }
}

#[test]
fn location_lists_every_entity_file_and_nothing_else() {
    let r = rendered();
    let loc = &r.yaml["catalog/location.yaml"];
    assert_eq!(loc["kind"], "Location");
    let targets: BTreeSet<String> = strs(&loc["spec"]["targets"])
        .into_iter()
        .map(|t| {
            let rel = t.strip_prefix("./").unwrap();
            format!("catalog/{rel}")
        })
        .collect();
    let files: BTreeSet<String> = r
        .yaml
        .keys()
        .filter(|p| p.starts_with("catalog/") && *p != "catalog/location.yaml")
        .cloned()
        .collect();
    assert!(files.len() > 20);
    assert_eq!(targets, files);
    for t in &targets {
        assert!(Path::new(t).extension().is_some_and(|e| e == "yaml"));
    }
}

#[test]
fn every_app_directory_has_a_readme_naming_its_neighbours() {
    let r = rendered();
    let mut readmes = 0;
    for (env, e) in graph_envs(r) {
        let names: BTreeMap<&str, &str> = e["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["id"].as_str().unwrap(), n["name"].as_str().unwrap()))
            .collect();
        for w in workloads_of(e) {
            let path = format!("envs/{env}/{w}/README.md");
            let text = r
                .text
                .get(&path)
                .unwrap_or_else(|| panic!("missing {path}"));
            readmes += 1;
            assert!(text.starts_with(&format!("# {w}\n")), "{path}");
            assert!(
                text.contains(&format!("| Environment | `{env}` ")),
                "{path}"
            );
            let wave = e["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["id"] == format!("workload:{w}"))
                .and_then(|n| n["wave"].as_u64())
                .unwrap();
            assert!(text.contains(&format!("(sync wave {wave})")), "{path}");
            let mermaid = text
                .split("```mermaid\n")
                .nth(1)
                .and_then(|m| m.split("```").next())
                .unwrap_or_else(|| panic!("{path} has no Mermaid block"));
            assert!(mermaid.starts_with("flowchart "), "{path}");
            let id = format!("workload:{w}");
            let mut solid = 0;
            let mut dashed = 0;
            for edge in e["edges"].as_array().unwrap() {
                let (from, to) = (edge["from"].as_str().unwrap(), edge["to"].as_str().unwrap());
                let other = if from == id {
                    to
                } else if to == id {
                    from
                } else {
                    continue;
                };
                assert!(
                    mermaid.contains(&format!("\"{}<br/>", names[other])),
                    "{path}: neighbour {other} missing from\n{mermaid}"
                );
                match edge["kind"].as_str().unwrap() {
                    "ordering" => solid += 1,
                    _ => dashed += 1,
                }
            }
            assert_eq!(mermaid.matches(" -->|").count(), solid, "{path}");
            assert_eq!(mermaid.matches(" -.->|").count(), dashed, "{path}");
        }
    }
    assert!(readmes >= 3 * 13, "{readmes}");
    // No README anywhere else platc does not mean one.
    let extra: Vec<&String> = r
        .text
        .keys()
        .filter(|p| p.ends_with("README.md") && *p != "README.md")
        .filter(|p| p.split('/').count() != 4 || !p.starts_with("envs/"))
        .collect();
    assert!(extra.is_empty(), "{extra:?}");
}
