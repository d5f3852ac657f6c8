//! `platc explain`, through the real binary, on the reference workspace.

mod common;

use common::*;
use serde_json::Value;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// `platc explain` in the repository's workspace: (exit code, stdout, stderr).
fn explain(args: &[&str]) -> (i32, String, String) {
    let root = repo();
    let mut all = vec!["explain", "-C", root.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = platc(&all);
    (o.status.code().unwrap_or(-1), s(&o.stdout), s(&o.stderr))
}

fn explain_json(target: &str) -> Value {
    let (code, out, err) = explain(&["--format", "json", target]);
    assert_eq!(code, 0, "{err}{out}");
    serde_json::from_str(&out).expect("explain json")
}

/// The 1-based line of the first line of `file` (in the repository) containing `needle`.
fn line_of(file: &str, needle: &str) -> u64 {
    let text = std::fs::read_to_string(repo().join(file)).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i as u64 + 1)
        .unwrap_or_else(|| panic!("`{needle}` not in {file}"))
}

/// Line and column of the value in the first `<field> = <value>` line containing `needle`: where
/// the Nickel evaluator says the value was written.
fn value_at(file: &str, needle: &str) -> (u64, u64) {
    let text = std::fs::read_to_string(repo().join(file)).unwrap();
    let (i, l) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in {file}"));
    let eq = l.find(needle).unwrap() + needle.find("= ").unwrap() + 2;
    (i as u64 + 1, l[..eq].chars().count() as u64 + 1)
}

#[test]
fn a_file_names_its_workload_node_renderer_and_graph_edges() {
    let (code, out, err) = explain(&["envs/prod/checkout/deployment-checkout.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("object       Deployment storefront-prod/checkout (apps/v1)"),
        "{out}"
    );
    assert!(
        out.contains(
            "caused by    workload `checkout` at examples/storefront/checkout/score.yaml:5:9"
        ),
        "{out}"
    );
    assert!(out.contains("produced by  renderer:resource"), "{out}");
    assert!(
        out.contains("graph node   workload:checkout (workload on the resource plane, sync wave 3) in environment prod"),
        "{out}"
    );
    // The database it uses and its namespace must exist first; cart and payments-api are called.
    assert!(
        out.contains("resource:postgres/default/orders-db (wave 2)")
            && out.contains("namespace:storefront-prod (wave 0)"),
        "{out}"
    );
    assert!(
        out.contains("talks to:          workload:cart (wave 2), workload:payments-api (wave 3)"),
        "{out}"
    );
    assert!(out.contains("workload:web (wave 3)"), "{out}");
}

#[test]
fn an_object_is_found_by_kind_namespace_and_name() {
    let v = explain_json("Deployment/storefront-prod/checkout");
    assert_eq!(v["path"], "envs/prod/checkout/deployment-checkout.yaml");
    assert_eq!(v["environment"], "prod");
    assert_eq!(v["node"], "workload:checkout");
    assert_eq!(v["via"], "renderer:resource");
    assert_eq!(v["plane"], "resource");
    // Cluster-scoped objects are `Kind/name`; the kind is case-insensitive.
    let ns = explain_json("namespace/storefront-prod");
    assert_eq!(
        ns["path"],
        "envs/prod/_namespaces/storefront-prod/namespace-storefront-prod.yaml"
    );
    assert_eq!(ns["cause"], "the namespace of team `storefront`");
    assert_eq!(ns["source"]["file"], "platform/teams.ncl");
    assert_eq!(ns["source"]["how"], "span");
    // A template-rendered resource names its template, provisioner and requesting workload.
    let db = explain_json("Cluster/storefront-prod/orders-db");
    assert_eq!(
        db["via"],
        "template:platc/postgres/cnpg-cluster.yaml.j2 via provisioner:postgres-ha"
    );
    assert_eq!(
        db["source"]["file"],
        "examples/storefront/checkout/score.yaml"
    );
    assert_eq!(db["graph"][0]["id"], "resource:postgres/default/orders-db");
    let needs: Vec<&str> = db["graph"][0]["required_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(needs, ["workload:checkout", "workload:orders"]);
}

#[test]
fn an_environment_override_names_the_profile_default_it_replaced() {
    // orders is a worker: profile worker says 1 replica, production overrides it to 2.
    let (code, out, err) = explain(&["Deployment/storefront-prod/orders#spec.replicas"]);
    assert_eq!(code, 0, "{err}");
    // Both values where the Nickel evaluator says they were written (no text search).
    let (env_line, env_col) = value_at("platform/environments.ncl", "replicas = 2");
    let (prof_line, prof_col) = value_at("platform/profiles.ncl", "replicas = 1");
    let expected = format!(
        "field spec.replicas = 2\n  sets      environment prod overrides = 2\n            at platform/environments.ncl:{env_line}:{env_col}\n  replaced  profile worker = 1\n            at platform/profiles.ncl:{prof_line}:{prof_col}\n"
    );
    assert!(out.contains(&expected), "{out}\nexpected:\n{expected}");

    // dev keeps web services cheap: its override replaces the web profile's 2.
    let v = explain_json("envs/dev/web/deployment-web.yaml#spec.replicas");
    let layers = v["field"]["layers"].as_array().unwrap();
    assert_eq!(v["field"]["value"], 1);
    assert_eq!(layers.len(), 2, "{layers:?}");
    assert_eq!(layers[0]["role"], "sets");
    assert_eq!(layers[0]["origin"], "environment dev overrides");
    assert_eq!(layers[0]["value"], 1);
    assert_eq!(layers[1]["role"], "replaced");
    assert_eq!(layers[1]["origin"], "profile web");
    assert_eq!(layers[1]["value"], 2);

    // An HPA field of a web workload in prod comes from profile_overrides.web alone.
    let h = explain_json("HorizontalPodAutoscaler/storefront-prod/web#spec.maxReplicas");
    let l = &h["field"]["layers"][0];
    assert_eq!(l["origin"], "environment prod profile_overrides.web");
    assert_eq!(l["value"], 10);
    assert_eq!(
        l["location"]["line"],
        line_of("platform/environments.ncl", "max_replicas = 10")
    );
}

#[test]
fn a_web_deployment_in_prod_has_no_replicas_and_says_why() {
    let (code, _, err) = explain(&["Deployment/storefront-prod/web#spec.replicas"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("error: `spec` has no field `replicas`"),
        "{err}"
    );
    assert!(
        err.contains("explain `HorizontalPodAutoscaler/storefront-prod/web#spec.minReplicas`"),
        "{err}"
    );
}

#[test]
fn an_image_points_at_its_score_value() {
    let target =
        "Deployment/storefront-prod/checkout#spec.template.spec.containers[checkout].image";
    let (code, out, err) = explain(&[target]);
    assert_eq!(code, 0, "{err}");
    let line = line_of(
        "examples/storefront/checkout/score.yaml",
        "image: ghcr.io/acme/checkout:1.4.2",
    );
    assert!(
        out.contains(&format!(
            "  sets      examples/storefront/checkout/score.yaml (containers.checkout.image) = \"ghcr.io/acme/checkout:1.4.2\"\n            at examples/storefront/checkout/score.yaml:{line}:12\n"
        )),
        "{out}"
    );
}

#[test]
fn an_env_var_names_the_resource_instance_and_its_provisioner_output() {
    let v = explain_json(
        "Deployment/storefront-prod/checkout#spec.template.spec.containers[checkout].env[DB_HOST].value",
    );
    let f = &v["field"];
    // Printed the way `platc diff` prints field paths.
    assert_eq!(
        f["path"],
        "spec.template.spec.containers[name=checkout].env[name=DB_HOST].value"
    );
    assert_eq!(f["value"], "orders-db-rw.storefront-prod.svc.cluster.local");
    let layers = f["layers"].as_array().unwrap();
    assert_eq!(layers[0]["layer"], "workload");
    assert_eq!(layers[0]["value"], "${resources.db.host}");
    assert_eq!(
        layers[0]["location"]["line"],
        line_of("examples/storefront/checkout/score.yaml", "DB_HOST:")
    );
    assert_eq!(layers[1]["role"], "feeds");
    assert_eq!(layers[1]["layer"], "provisioner");
    assert_eq!(
        layers[1]["origin"],
        "${resources.db.host}: resource `db` → instance `orders-db` (postgres/default/orders-db) of provisioner `postgres-ha`"
    );
    assert_eq!(
        layers[1]["value"],
        "orders-db-rw.storefront-prod.svc.cluster.local"
    );
    assert!(
        layers[1]["note"]
            .as_str()
            .unwrap()
            .starts_with("output `host` = template `{{ resource.name }}-rw."),
        "{}",
        layers[1]["note"]
    );
    assert_eq!(
        layers[1]["location"]["file"],
        "platform/provisioners/data.ncl"
    );

    // A secret output stays a reference, in the explanation too.
    let p = explain_json(
        "Deployment/storefront-prod/checkout#spec.template.spec.containers[checkout].env[DB_PASSWORD]",
    );
    let sec = &p["field"]["layers"][1];
    assert_eq!(
        sec["value"],
        serde_json::json!({"secretKeyRef": {"name": "orders-db-app", "key": "password"}})
    );
}

#[test]
fn container_resources_fall_back_to_the_profile_and_its_prod_override() {
    let ws = workspace_with(&[(
        "examples/shop/api/score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\n  annotations:\n    platc.dev/team: storefront\nservice:\n  ports:\n    http:\n      port: 80\n      targetPort: 8080\ncontainers:\n  api:\n    image: ghcr.io/acme/api:1.0.0\n    resources:\n      limits:\n        cpu: 500m\n",
    )]);
    let dir = ws.path().to_str().unwrap();
    let o = platc(&[
        "explain",
        "-C",
        dir,
        "--format",
        "json",
        "Deployment/storefront-prod/api#spec.template.spec.containers[api].resources.limits.memory",
    ]);
    assert!(o.status.success(), "{}", s(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &v["field"];
    assert_eq!(f["value"], "512Mi");
    assert_eq!(
        f["layers"][0]["origin"],
        "environment prod profile_overrides.web"
    );
    assert_eq!(f["layers"][0]["role"], "sets");
    assert_eq!(f["layers"][1]["origin"], "profile web");
    assert_eq!(f["layers"][1]["value"], "256Mi");
    assert_eq!(f["layers"][1]["role"], "replaced");
    assert_eq!(
        f["notes"][0],
        "container `api` sets no resources.limits.memory, so the profile's applies"
    );
    // The limit it does set is the workload's, with the profile's unused default below it.
    let o = platc(&[
        "explain",
        "-C",
        dir,
        "--format",
        "json",
        "Deployment/storefront-prod/api#spec.template.spec.containers[api].resources.limits.cpu",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["field"]["layers"][0]["layer"], "workload");
    assert_eq!(v["field"]["layers"][0]["location"]["line"], 16);
    assert_eq!(v["field"]["layers"][0]["location"]["col"], 14);
}

#[test]
fn json_has_the_documented_structure() {
    let v = explain_json("envs/prod/orders/deployment-orders.yaml#spec.replicas");
    for key in [
        "target",
        "path",
        "environment",
        "object",
        "plane",
        "cause",
        "source",
        "via",
        "node",
        "graph",
        "field",
    ] {
        assert!(v.get(key).is_some(), "missing `{key}` in {v}");
    }
    assert_eq!(
        v["target"],
        "envs/prod/orders/deployment-orders.yaml#spec.replicas"
    );
    assert_eq!(v["object"]["kind"], "Deployment");
    assert_eq!(v["object"]["namespace"], "storefront-prod");
    assert_eq!(v["source"]["how"], "span");
    let g = &v["graph"][0];
    assert_eq!(g["environment"], "prod");
    assert_eq!(g["wave"], 3);
    assert!(g["requires"].is_array() && g["calls"].is_array());
    let l = &v["field"]["layers"][0];
    for key in ["role", "layer", "origin", "value", "location", "note"] {
        assert!(l.get(key).is_some(), "missing `{key}` in layer {l}");
    }
    assert_eq!(l["location"]["how"], "span");
}

#[test]
fn unknown_targets_suggest_the_closest_and_exit_2() {
    let (code, out, err) = explain(&["envs/prod/checkout/deployment-chekout.yaml"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("error: no rendered file `envs/prod/checkout/deployment-chekout.yaml`"),
        "{err}"
    );
    assert!(
        err.contains("help: did you mean `envs/prod/checkout/deployment-checkout.yaml`?"),
        "{err}"
    );
    let (code, _, err) = explain(&["Deployment/storefront-prod/chekout"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("help: did you mean `Deployment/storefront-prod/checkout`?"),
        "{err}"
    );
    let (code, _, err) =
        explain(&["Deployment/storefront-prod/checkout#spec.template.spec.containers[chekout]"]);
    assert_eq!(code, 2);
    assert!(err.contains("has no item `chekout`"), "{err}");
    assert!(err.contains("did you mean `[checkout]`?"), "{err}");
    // The same object in several environments: ask for one, and --env picks it.
    let (code, _, err) = explain(&["Deployment/checkout"]);
    assert_eq!(code, 2);
    assert!(err.contains("names 3 rendered objects"), "{err}");
    let (code, out, err) = explain(&["--env", "staging", "Deployment/checkout"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("envs/staging/checkout/deployment-checkout.yaml\n"),
        "{out}"
    );
}

#[test]
fn explain_never_reads_the_output_directory() {
    // A stale file in out/ is not a target: explain answers from a fresh compilation.
    let ws = workspace_with(&[]);
    let stale = ws.path().join("out/envs/prod/gone/deployment-gone.yaml");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, "kind: Deployment\n").unwrap();
    let o = platc(&[
        "explain",
        "-C",
        ws.path().to_str().unwrap(),
        "envs/prod/gone/deployment-gone.yaml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        s(&o.stderr).contains("no rendered file"),
        "{}",
        s(&o.stderr)
    );
}

#[test]
fn a_namespace_names_how_the_team_was_chosen() {
    // storefront's files carry no team annotation: the team's `paths` claim them.
    let v = explain_json("Deployment/storefront-prod/orders#metadata.namespace");
    let layers = v["field"]["layers"].as_array().unwrap();
    let claim = layers
        .iter()
        .find(|l| l["origin"] == "platform teams.storefront.paths")
        .unwrap_or_else(|| panic!("no path-claim layer: {layers:?}"));
    assert_eq!(claim["value"], "storefront");
    assert_eq!(
        claim["location"]["line"],
        line_of("platform/teams.ncl", "paths = [\"examples/storefront/\"]")
    );
    // payments' files still name their team: the annotation is what decided.
    let v = explain_json("Deployment/payments-prod/ledger#metadata.namespace");
    let layers = v["field"]["layers"].as_array().unwrap();
    assert!(
        layers.iter().any(|l| l["origin"]
            .as_str()
            .is_some_and(|o| o.ends_with("(annotation platc.dev/team)"))),
        "{layers:?}"
    );
}

#[test]
fn explain_reads_the_manifest_layout_the_same_way() {
    let target = "HorizontalPodAutoscaler/storefront-prod/web#spec.maxReplicas";
    let files = explain_json(target);
    let (code, out, err) = explain(&["--layout", "manifest", "--format", "json", target]);
    assert_eq!(code, 0, "{err}");
    let manifest: Value = serde_json::from_str(&out).unwrap();
    // Only the file differs: the object's directory's manifest.yaml.
    assert_eq!(manifest["path"], "envs/prod/web/manifest.yaml");
    assert_eq!(manifest["field"], files["field"]);
    assert_eq!(manifest["object"], files["object"]);
    assert_eq!(manifest["graph"], files["graph"]);

    // A manifest.yaml with one object explains it; one with several names them.
    let (code, out, err) = explain(&[
        "--layout",
        "manifest",
        "envs/prod/_resources/analytics-api-data/manifest.yaml",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("envs/prod/_resources/analytics-api-data/manifest.yaml"),
        "{out}"
    );
    let (code, _, err) = explain(&["--layout", "manifest", "envs/prod/web/manifest.yaml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`envs/prod/web/manifest.yaml` holds 9 objects"),
        "{err}"
    );
    assert!(
        err.contains("note: Deployment/storefront-prod/web"),
        "{err}"
    );
}

#[test]
fn a_network_policy_rule_names_its_graph_edge_and_the_score_request_behind_it() {
    let all = explain_json("NetworkPolicy/storefront-prod/orders#spec.egress");
    let rules = all["field"]["value"].as_array().expect("egress rules");
    let db = rules
        .iter()
        .position(|r| r["ports"][0]["port"] == 5432)
        .expect("egress to postgres");
    let line = line_of("examples/storefront/orders/score.yaml", "  db:");
    // The whole list: each rule's causes, labelled with the rule's field.
    let layers = all["field"]["layers"].as_array().expect("layers");
    let rule = format!("spec.egress[{db}]");
    let of_rule: Vec<&Value> = layers.iter().filter(|l| l["field"] == rule).collect();
    assert_eq!(
        of_rule[0]["origin"],
        "edge resource:postgres/default/orders-db → workload:orders (ordering)"
    );
    assert_eq!(of_rule[0]["layer"], "edge");
    assert_eq!(of_rule[1]["location"]["line"], line);
    assert_eq!(of_rule[1]["location"]["how"], "span");

    let (code, out, err) = explain(&[&format!("NetworkPolicy/storefront-prod/orders#{rule}")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "  sets      edge resource:postgres/default/orders-db → workload:orders (ordering)\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "            at examples/storefront/orders/score.yaml:{line}:3\n"
        )),
        "{out}"
    );
    // The port and the pods come from the provisioner's settings, located in the platform.
    assert!(
        out.contains(&format!("  sets      [{rule}.to] platform provisioners[")),
        "{out}"
    );
    assert!(out.contains("at platform/provisioners/data.ncl:"), "{out}");
    assert!(!out.contains("can only name the renderer"), "{out}");
}

#[test]
fn a_provisioned_field_names_its_template_line_and_the_param_behind_it() {
    let v = explain_json("Cluster/storefront-prod/orders-db#spec.storage.size");
    let layers = v["field"]["layers"].as_array().expect("layers");
    assert_eq!(layers[0]["role"], "sets");
    assert_eq!(layers[0]["layer"], "template");
    // Known from rendering the template, not found by a search of its text.
    assert_eq!(layers[0]["location"]["how"], "span");
    assert_eq!(
        layers[0]["location"]["file"],
        "<stdlib>/templates/postgres/cnpg-cluster.yaml.j2"
    );
    let line = line_of("stdlib/templates/postgres/cnpg-cluster.yaml.j2", "size:");
    assert_eq!(layers[0]["location"]["line"], line);
    assert_eq!(layers[1]["role"], "feeds");
    assert_eq!(layers[1]["origin"], "provisioner postgres-ha defaults");
    assert_eq!(layers[1]["value"], v["field"]["value"]);
    assert_eq!(
        layers[1]["location"]["file"],
        "platform/provisioners/data.ncl"
    );
}

#[test]
fn a_catalog_relation_names_its_graph_edge_and_the_score_link_behind_it() {
    let (code, out, err) = explain(&["Component/payments-api#spec.consumesApis"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("edge workload:payments-api → workload:ledger (communication)"),
        "{out}"
    );
    // The request under `resources:` (the file mentions `ledger:` earlier, in a file's content).
    let text = std::fs::read_to_string(repo().join("examples/payments/payments-api/score.yaml"))
        .expect("score file");
    let line = text
        .lines()
        .position(|l| l == "  ledger:")
        .expect("resources.ledger")
        + 1;
    assert!(
        out.contains(&format!(
            "at examples/payments/payments-api/score.yaml:{line}:3"
        )),
        "{out}"
    );
    assert!(!out.contains("can only name the renderer"), "{out}");
}

#[test]
fn an_slo_threshold_a_label_and_a_sync_option_name_their_exact_cause() {
    // The burn-rate threshold: the renderer's table, then the layer that gives the objective
    // (prod's override of the web profile) and the profile's value it replaced.
    let v = explain_json(
        "PrometheusRule/payments-prod/ledger-slo#spec.groups[name=ledger.slo.availability].rules[0].expr",
    );
    let layers = v["field"]["layers"].as_array().expect("layers");
    // Recorded at the field itself, not an ancestor.
    assert!(layers.iter().all(|l| l["field"].is_null()), "{layers:?}");
    assert_eq!(layers[0]["layer"], "renderer");
    assert!(
        layers[0]["note"]
            .as_str()
            .is_some_and(|n| n.contains("14.4x over 1h and 5m"))
    );
    let set = layers
        .iter()
        .find(|l| l["origin"] == "environment prod profile_overrides.web")
        .expect("the override layer");
    assert_eq!(set["value"], 99.9);
    assert_eq!(
        set["location"]["line"],
        line_of("platform/environments.ncl", "availability = 99.9")
    );
    let replaced = layers
        .iter()
        .find(|l| l["role"] == "replaced")
        .expect("the profile's value");
    assert_eq!(replaced["origin"], "profile web");
    assert_eq!(replaced["value"], 99.5);

    // A label: the rule of platc's team label and the team's setting.
    let v = explain_json("Deployment/storefront-prod/orders#metadata.labels[\"platc.dev/team\"]");
    let layers = v["field"]["layers"].as_array().expect("layers");
    assert!(layers.iter().all(|l| l["field"].is_null()), "{layers:?}");
    assert_eq!(layers[1]["origin"], "platform teams.storefront");
    assert_eq!(layers[1]["location"]["file"], "platform/teams.ncl");

    // A sync option: the delivery renderer's rule, applied to the Application's node.
    let v = explain_json("argocd/prod/apps/prod-orders.yaml#spec.syncPolicy.syncOptions[0]");
    let layers = v["field"]["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1, "{layers:?}");
    assert_eq!(
        layers[0]["origin"],
        "renderer:delivery rule, applied to workload:orders"
    );
}

/// A workload's own file named as the target (what its author tries first) answers with the
/// rendered files that come from it, manifests first (it said only "no rendered file").
#[test]
fn a_source_file_lists_what_it_renders() {
    let (code, out, err) = explain(&["examples/storefront/web/score.yaml"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("`examples/storefront/web/score.yaml` is a source file, not a rendered one: 61 rendered files come from it"),
        "{err}"
    );
    let first = err.lines().nth(1).unwrap_or_default();
    assert!(first.starts_with("  note: envs/dev/"), "{err}");
    assert!(err.contains("  note: and 49 more"), "{err}");
    // The listed file is one explain takes.
    let listed = first.trim_start_matches("  note: ");
    let (code, out, err) = explain(&[listed]);
    assert_eq!(code, 0, "{listed}: {out}{err}");
}
