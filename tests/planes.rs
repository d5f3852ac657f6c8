//! The planes agree with the graph: every object served by an operator (ServiceMonitor,
//! ExternalSecret, CloudNativePG Cluster) syncs in a later wave than that operator's node.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;

fn yaml(bytes: &[u8]) -> Value {
    let text = String::from_utf8_lossy(bytes);
    platc::yaml::read::parse("t", &text).unwrap().to_json()
}

#[test]
fn operator_served_objects_sync_after_their_operator() {
    let ex = render_examples();
    let graphs = &ex.graph;
    let tree = read_tree(&ex.out);

    let served = [
        (
            "monitoring.coreos.com/v1",
            "ServiceMonitor",
            "component:prometheus-operator",
        ),
        (
            "external-secrets.io/v1",
            "ExternalSecret",
            "component:external-secrets",
        ),
        (
            "postgresql.cnpg.io/v1",
            "Cluster",
            "component:cloudnative-pg",
        ),
    ];
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for graph in graphs["environments"].as_array().unwrap() {
        let env = graph["environment"].as_str().unwrap();
        let node_wave: BTreeMap<&str, u64> = graph["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["id"].as_str().unwrap(), n["wave"].as_u64().unwrap()))
            .collect();
        // Source path of each Application of this environment → its sync wave.
        let mut app_wave: BTreeMap<String, u64> = BTreeMap::new();
        for (path, bytes) in tree
            .iter()
            .filter(|(p, _)| p.starts_with(&format!("argocd/{env}/apps/")))
        {
            let app = yaml(bytes);
            let wave = app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
                .as_str()
                .unwrap_or_else(|| panic!("{path} has no sync wave"))
                .parse()
                .unwrap();
            app_wave.insert(
                app["spec"]["source"]["path"].as_str().unwrap().to_string(),
                wave,
            );
        }
        for (path, bytes) in tree
            .iter()
            .filter(|(p, _)| p.starts_with(&format!("envs/{env}/")) && p.ends_with(".yaml"))
        {
            let obj = yaml(bytes);
            for (api, kind, operator) in served {
                if obj["apiVersion"] != api || obj["kind"] != kind {
                    continue;
                }
                let dir = &path[..path.rfind('/').unwrap()];
                let wave = app_wave
                    .get(dir)
                    .unwrap_or_else(|| panic!("no Application syncs {dir}"));
                let op = node_wave
                    .get(operator)
                    .unwrap_or_else(|| panic!("{operator} is not in the {env} graph"));
                assert!(
                    wave > op,
                    "{path} syncs in wave {wave}, not after {operator} (wave {op})"
                );
                *counts.entry(kind).or_default() += 1;
            }
        }
    }
    for (_, kind, _) in served {
        assert!(
            counts.get(kind).copied().unwrap_or(0) > 0,
            "the examples render no {kind}"
        );
    }
}
