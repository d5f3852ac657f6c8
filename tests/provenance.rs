//! Field-level provenance: every leaf field of every object of the planes that record it has,
//! at its exact path, at least one origin naming a file and line, or a renderer's rule and the
//! graph element it was applied to. And an ordinary compilation records nothing.

mod common;

use std::collections::BTreeSet;

use common::*;
use platc::model::Plane;
use platc::pipeline::{Compilation, Options, compile};
use platc::render::Object;
use platc::render::origins::{Origins, is_within, leaves};

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

/// Subtrees where one record legitimately answers for every leaf below it, by kind and path:
/// none today. An entry needs a reason (a value copied verbatim from one Score field or one
/// template line, say), and the walk fails on an entry nothing uses, so the list cannot rot.
const COVERED_BELOW: &[Covered] = &[];

/// An allow-list entry: below `subtree` of objects of `kind`, the record at `subtree` answers.
struct Covered {
    kind: &'static str,
    subtree: &'static str,
    #[allow(dead_code)]
    why: &'static str,
}

/// The allow-list entry that covers `leaf` of an object of `kind`, with a located record at the
/// entry's subtree itself.
fn covered<'a>(
    allow: &'a [Covered],
    record: &Origins,
    kind: &str,
    leaf: &str,
) -> Option<&'a Covered> {
    allow.iter().find(|c| {
        c.kind == kind
            && is_within(leaf, c.subtree)
            && record
                .0
                .get(c.subtree)
                .is_some_and(|o| o.iter().any(|x| x.is_located()))
    })
}

/// The leaf fields of `o` without a located origin recorded at their exact path (or covered
/// by an entry of `allow`, whose index is added to `used`), as `<path>#<field>`.
fn unexplained_with(o: &Object, allow: &[Covered], used: &mut BTreeSet<usize>) -> Vec<String> {
    let Some(value) = o.value() else {
        return Vec::new();
    };
    let Some(record) = &o.origins else {
        return vec![format!("{}: no record at all", o.path)];
    };
    let kind = value["kind"].as_str().unwrap_or_default();
    leaves(value)
        .into_iter()
        .filter(|leaf| {
            if record
                .0
                .get(leaf)
                .is_some_and(|origins| origins.iter().any(|x| x.is_located()))
            {
                return false;
            }
            match covered(allow, record, kind, leaf) {
                Some(c) => {
                    used.extend(allow.iter().position(|x| std::ptr::eq(x, c)));
                    false
                }
                None => true,
            }
        })
        .map(|leaf| format!("{}#{leaf}", o.path))
        .collect()
}

/// [`unexplained_with`] the allow-list.
fn unexplained(o: &Object) -> Vec<String> {
    unexplained_with(o, COVERED_BELOW, &mut BTreeSet::new())
}

/// The allow-list's entries no leaf of `objects` used.
fn unused<'a>(objects: &[&Object], allow: &'a [Covered]) -> Vec<&'a str> {
    let mut used = BTreeSet::new();
    for o in objects {
        unexplained_with(o, allow, &mut used);
    }
    allow
        .iter()
        .enumerate()
        .filter(|(i, _)| !used.contains(i))
        .map(|(_, c)| c.subtree)
        .collect()
}

fn recorded_objects(c: &Compilation) -> Vec<&Object> {
    c.objects()
        .filter(|o| RECORDING.contains(&o.plane) && o.value().is_some())
        .collect()
}

/// Fails naming the leaves of `objects` without a located origin at their exact path.
fn assert_explained(objects: &[&Object]) {
    let missing: Vec<String> = objects.iter().flat_map(|o| unexplained(o)).collect();
    assert!(
        missing.is_empty(),
        "{} fields without a located origin at their exact path, e.g.:\n{}",
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
fn every_field_of_the_recording_planes_names_its_origin() {
    let c = examples(true);
    let objects = recorded_objects(&c);
    for plane in RECORDING {
        assert!(
            objects.iter().filter(|o| o.plane == plane).count() > 10,
            "the examples render {plane:?} objects"
        );
    }
    assert_explained(&objects);
    let stale = unused(&objects, COVERED_BELOW);
    assert!(
        stale.is_empty(),
        "allow-list entries nothing uses: {stale:?}"
    );
}

/// The secrets corpus (`tests/secrets`): every resource type's secret outputs used whole, as
/// hidden variables inside longer strings, in command and args, and a volume source; cases
/// the examples do not have.
#[test]
fn every_field_of_the_secrets_corpus_names_its_origin() {
    let (_dir, ws) = secrets_workspace(None);
    let opts = Options {
        record_origins: true,
        ..Options::default()
    };
    let c = compile(&ws, &opts).unwrap_or_else(|d| panic!("the secrets corpus compiles: {d:?}"));
    let objects = recorded_objects(&c);
    let hidden = objects.iter().any(|o| {
        o.origins
            .as_ref()
            .is_some_and(|r| r.0.keys().any(|k| k.contains("env[name=PLATC_SECRET_")))
    });
    assert!(hidden, "the corpus has hidden variables");
    assert_explained(&objects);
}

#[test]
fn an_allow_list_entry_nothing_uses_is_reported() {
    let c = examples(true);
    let objects = recorded_objects(&c);
    let allow = [
        Covered {
            kind: "NetworkPolicy",
            subtree: "spec.egress[0]",
            why: "a test entry: orders' DNS rule, which has exact records below it",
        },
        Covered {
            kind: "Deployment",
            subtree: "spec.nothing",
            why: "a test entry no object has",
        },
    ];
    // Leaves with exact records do not use an entry: both are unused.
    assert_eq!(unused(&objects, &allow), ["spec.egress[0]", "spec.nothing"]);
    // An entry covers a leaf whose own record is gone.
    let policy = objects
        .iter()
        .find(|o| o.path == "envs/prod/orders/networkpolicy-orders.yaml")
        .expect("orders' policy");
    let mut damaged = (*policy).clone();
    if let Some(r) = &mut damaged.origins {
        r.0.remove("spec.egress[0].ports[0].port");
    }
    assert_eq!(unused(&[&damaged], &allow), ["spec.nothing"]);
}

#[test]
fn the_walk_fails_when_a_recording_is_dropped() {
    let c = examples(true);
    let policy = recorded_objects(&c)
        .into_iter()
        .find(|o| o.path == "envs/prod/orders/networkpolicy-orders.yaml")
        .expect("orders' policy");
    assert!(unexplained(policy).is_empty());
    // As if the renderer had not recorded its DNS rule's port: the rule's own record above
    // it does not answer for it.
    let mut damaged = policy.clone();
    if let Some(r) = &mut damaged.origins {
        r.0.remove("spec.egress[0].ports[0].port");
        assert!(r.0.contains_key("spec.egress[0]"));
    }
    assert_eq!(
        unexplained(&damaged),
        vec!["envs/prod/orders/networkpolicy-orders.yaml#spec.egress[0].ports[0].port".to_string()]
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
    // As if `finish` had not recorded the plane label it sets.
    let mut damaged = deployment.clone();
    let label = "metadata.labels[\"platc.dev/plane\"]";
    if let Some(r) = &mut damaged.origins {
        assert!(r.0.remove(label).is_some());
    }
    assert_eq!(
        unexplained(&damaged),
        vec![format!("envs/prod/orders/deployment-orders.yaml#{label}")]
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
