//! The yardstick of the per-object target (`platc bench`, `src/bench/yardstick.rs`): the Helm
//! chart written beside the synthetic workspace renders six valid objects per workload and
//! environment, so that timing `helm template` on it compares like with like.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{judge_missing, platc, validate_tree};

#[test]
fn the_yardstick_chart_renders_six_valid_objects_per_workload_and_environment() {
    let ws = tempfile::tempdir().unwrap();
    let o = platc(&[
        "bench",
        "--workloads",
        "12",
        "--write-workspace",
        ws.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = ws.path().join("rendered");
    let Ok(helm) = Command::new("helm")
        .arg("template")
        .arg("yardstick")
        .arg(ws.path().join("helm-yardstick"))
        .arg("--output-dir")
        .arg(&out)
        .output()
    else {
        judge_missing("helm is not installed");
        return;
    };
    assert!(
        helm.status.success(),
        "{}",
        String::from_utf8_lossy(&helm.stderr)
    );
    let text = std::fs::read_to_string(out.join("yardstick/templates/workloads.yaml")).unwrap();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for line in text.lines() {
        if let Some(kind) = line.strip_prefix("kind: ") {
            *kinds.entry(kind).or_default() += 1;
        }
    }
    let per_kind = 12 * 3;
    let expected: BTreeMap<&str, usize> = [
        "Deployment",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]
    .into_iter()
    .map(|k| (k, per_kind))
    .collect();
    assert_eq!(kinds, expected);
    if let Some(summary) = validate_tree(&out) {
        assert!(summary.contains("0 failures"), "{summary}");
    }
}
