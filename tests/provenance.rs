//! Field-level provenance: every leaf field of every object of the planes that record it has
//! at least one origin naming a file and line, or a renderer's rule and the graph element it
//! was applied to. And an ordinary compilation records nothing.

mod common;

use common::*;
use platc::model::Plane;
use platc::pipeline::{Compilation, Options, compile};
use platc::render::Object;
use platc::render::origins::leaves;

/// Every plane: each renderer records field origins.
const RECORDING: [Plane; 5] = [
    Plane::DeveloperControl,
    Plane::Security,
    Plane::Delivery,
    Plane::Monitoring,
    Plane::Resource,
];

fn examples(record: bool) -> Compilation {
    let opts = Options {
        record_origins: record,
        ..Options::default()
    };
    match compile(&repo(), &opts) {
        Ok(c) => c,
        Err(d) => panic!("the examples compile: {d:?}"),
    }
}

/// The leaf fields of `o` that no located origin explains (`<path>#<field>`).
fn unexplained(o: &Object) -> Vec<String> {
    let Some(value) = o.value() else {
        return Vec::new();
    };
    let Some(record) = &o.origins else {
        return vec![format!("{}: no record at all", o.path)];
    };
    leaves(value)
        .into_iter()
        .filter(|leaf| {
            !record
                .of(leaf)
                .is_some_and(|(_, origins)| origins.iter().any(|x| x.is_located()))
        })
        .map(|leaf| format!("{}#{leaf}", o.path))
        .collect()
}

fn recorded_objects(c: &Compilation) -> Vec<&Object> {
    c.objects()
        .filter(|o| RECORDING.contains(&o.plane) && o.value().is_some())
        .collect()
}

#[test]
fn every_field_of_the_recording_planes_names_its_origin() {
    let c = examples(true);
    let objects = recorded_objects(&c);
    for plane in RECORDING {
        assert!(
            objects.iter().filter(|o| o.plane == plane).count() > 10,
            "the examples render {plane:?} objects"
        );
    }
    let missing: Vec<String> = objects.iter().flat_map(|o| unexplained(o)).collect();
    assert!(
        missing.is_empty(),
        "{} fields without a located origin, e.g.:\n{}",
        missing.len(),
        missing
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_walk_fails_when_a_recording_is_dropped() {
    let c = examples(true);
    let policy = recorded_objects(&c)
        .into_iter()
        .find(|o| o.path == "envs/prod/orders/networkpolicy-orders.yaml")
        .expect("orders' policy");
    assert!(unexplained(policy).is_empty());
    // As if the renderer had not recorded its DNS rule.
    let mut damaged = policy.clone();
    if let Some(r) = &mut damaged.origins {
        r.0.remove("spec.egress[0]");
    }
    let missing = unexplained(&damaged);
    assert!(
        missing.contains(
            &"envs/prod/orders/networkpolicy-orders.yaml#spec.egress[0].ports[0].port".to_string()
        ),
        "{missing:?}"
    );
    // As if the resource plane had not recorded where the replica count comes from.
    let deployment = recorded_objects(&c)
        .into_iter()
        .find(|o| o.path == "envs/prod/orders/deployment-orders.yaml")
        .expect("orders' Deployment");
    assert!(unexplained(deployment).is_empty());
    let mut damaged = deployment.clone();
    if let Some(r) = &mut damaged.origins {
        r.0.remove("spec.replicas");
    }
    assert_eq!(
        unexplained(&damaged),
        vec!["envs/prod/orders/deployment-orders.yaml#spec.replicas".to_string()]
    );
}

#[test]
fn a_build_records_nothing() {
    let c = examples(false);
    assert!(c.objects().all(|o| o.origins.is_none()));
}

#[test]
fn a_network_policy_rule_names_its_edge_and_score_request() {
    let c = examples(true);
    let policy = recorded_objects(&c)
        .into_iter()
        .find(|o| o.path == "envs/prod/orders/networkpolicy-orders.yaml")
        .expect("orders' policy");
    let record = policy.origins.as_ref().expect("recorded");
    let value = policy.value().expect("a manifest");
    let rules = value["spec"]["egress"].as_array().expect("egress");
    let db = rules
        .iter()
        .position(|r| r["ports"][0]["port"] == 5432)
        .expect("egress to postgres");
    let (at, origins) = record.of(&format!("spec.egress[{db}]")).expect("recorded");
    assert_eq!(at, format!("spec.egress[{db}]"));
    let json = serde_json::to_value(origins).expect("json");
    assert_eq!(json[0]["origin"], "edge");
    assert_eq!(json[0]["from"], "resource:postgres/default/orders-db");
    assert_eq!(json[0]["to"], "workload:orders");
    assert_eq!(json[1]["origin"], "score");
    assert_eq!(
        json[1]["at"]["file"],
        "examples/storefront/orders/score.yaml"
    );
    let line = std::fs::read_to_string(repo().join("examples/storefront/orders/score.yaml"))
        .expect("score file")
        .lines()
        .position(|l| l.trim() == "db:")
        .expect("resources.db")
        + 1;
    assert_eq!(json[1]["at"]["line"], line);
}

#[test]
fn a_provisioned_manifest_field_names_its_template_line_and_the_param_it_read() {
    let c = examples(true);
    let db = c
        .objects()
        .find(|o| o.path == "envs/prod/_resources/orders-db/cluster-orders-db.yaml")
        .expect("orders' database");
    let record = db.origins.as_ref().expect("recorded");
    let (at, origins) = record.of("spec.storage.size").expect("recorded");
    assert_eq!(at, "spec.storage.size");
    let json = serde_json::to_value(origins).expect("json");
    assert_eq!(json[0]["origin"], "template");
    // From the marked rendering, not a search of the text.
    assert_eq!(json[0]["how"], "rendered");
    let text = platc::stdlib::TEMPLATES
        .iter()
        .find(|(n, _)| *n == "platc/postgres/cnpg-cluster.yaml.j2")
        .map(|(_, s)| *s)
        .expect("the stdlib template");
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with("size:"))
        .expect("size")
        + 1;
    assert_eq!(json[0]["at"]["line"], line);
    // The param that line reads: the provisioner's default, located in the platform.
    assert_eq!(json[1]["origin"], "layer");
    assert_eq!(json[1]["value"], "20Gi");
    assert_eq!(json[1]["at"]["file"], "platform/provisioners/data.ncl");
}

#[test]
fn every_template_line_of_the_examples_is_known_from_rendering() {
    let c = examples(true);
    let searched: Vec<String> = c
        .objects()
        .filter_map(|o| Some((o, o.origins.as_ref()?)))
        .flat_map(|(o, r)| {
            r.0.iter()
                .filter(|(_, chain)| {
                    chain
                        .iter()
                        .any(|x| serde_json::to_value(x).is_ok_and(|v| v["how"] == "key-search"))
                })
                .map(move |(f, _)| format!("{}#{f}", o.path))
        })
        .collect();
    assert!(searched.is_empty(), "{searched:?}");
}

#[test]
fn a_catalog_relation_names_its_graph_edge_and_score_link() {
    let c = examples(true);
    let component = c
        .objects()
        .find(|o| {
            o.value().is_some_and(|v| {
                v["kind"] == "Component" && v["metadata"]["name"] == "payments-api"
            })
        })
        .expect("payments-api's Component");
    let value = component.value().expect("a manifest");
    let deps = value["spec"]["dependsOn"].as_array().expect("dependsOn");
    let ledger = deps
        .iter()
        .position(|d| d == "component:default/ledger")
        .expect("depends on ledger");
    let record = component.origins.as_ref().expect("recorded");
    let field = format!("spec.dependsOn[{ledger}]");
    let (at, origins) = record.of(&field).expect("recorded");
    assert_eq!(at, field);
    let json = serde_json::to_value(origins).expect("json");
    assert_eq!(json[0]["origin"], "edge");
    assert_eq!(json[0]["from"], "workload:payments-api");
    assert_eq!(json[0]["to"], "workload:ledger");
    assert_eq!(json[1]["origin"], "score");
    assert_eq!(
        json[1]["at"]["file"],
        "examples/payments/payments-api/score.yaml"
    );
}

#[test]
fn recording_changes_no_byte_of_the_rendering() {
    let (on, off) = (examples(true), examples(false));
    let files = |c: &Compilation| -> Vec<(String, Vec<u8>)> {
        c.objects().map(|o| (o.path.clone(), o.bytes())).collect()
    };
    assert_eq!(files(&on), files(&off));
}
