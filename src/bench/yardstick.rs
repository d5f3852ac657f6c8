//! The yardstick of the per-object target: a Helm chart rendering, from the same synthetic
//! workloads, the objects a hand-written chart would (six per workload and environment, see
//! `yardstick.yaml`), timed with `helm template` on the same machine when `helm` is installed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

use super::{Need, ms, synthetic};

/// Objects the chart renders per workload and environment.
pub const OBJECTS_PER_WORKLOAD: usize = 6;

/// The environments of the reference platform, with what differs between them.
const ENVIRONMENTS: [(&str, u32, u32, &str, &str); 3] = [
    ("dev", 1, 2, "50m", "128Mi"),
    ("staging", 2, 4, "100m", "256Mi"),
    ("prod", 3, 10, "250m", "512Mi"),
];

/// Objects `helm template` renders for `n` workloads.
pub fn objects(n: usize) -> usize {
    n * ENVIRONMENTS.len() * OBJECTS_PER_WORKLOAD
}

/// Writes the chart for `n` workloads into `<dir>/helm-yardstick`, returning that directory.
pub fn write_chart(dir: &Path, n: usize) -> std::io::Result<PathBuf> {
    let chart = dir.join("helm-yardstick");
    std::fs::create_dir_all(chart.join("templates"))?;
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: yardstick\nversion: 0.1.0\ndescription: The per-object yardstick of platc bench.\n",
    )?;
    std::fs::write(
        chart.join("templates/workloads.yaml"),
        include_str!("yardstick.yaml"),
    )?;
    // JSON is YAML: Helm reads it as values. Compact, since Helm refuses chart files over
    // 5 MiB (10,000 workloads pretty-printed were 5.6 MB).
    let values = serde_json::to_string(&values(n)).map_err(std::io::Error::other)?;
    std::fs::write(chart.join("values.yaml"), values)?;
    Ok(chart)
}

/// The chart's values: what the synthetic Score workloads say, resolved as the reference
/// platform would (plain variables as text, credentials as secret references, the service
/// calls both ways for the network policies).
fn values(n: usize) -> Value {
    let mut callers: Vec<Vec<String>> = vec![Vec::new(); n];
    let workloads: Vec<Value> = (0..n)
        .map(|i| {
            let w = synthetic(i);
            let name = format!("w{i:05}");
            let mut env = vec![json!({"name": "NAME", "value": name})];
            let mut secrets = Vec::new();
            match w.need {
                Need::Postgres => {
                    env.push(json!({"name": "DB_HOST", "value": format!("{name}-db")}));
                    secrets.push(json!({"name": "DB_PASSWORD", "secret": format!("{name}-db"), "key": "password"}));
                }
                Need::Redis { group } => env.push(json!({
                    "name": "CACHE",
                    "value": format!("redis://cache-{}-{group}:6379", w.team),
                })),
                Need::PublicRoute => env.push(json!({
                    "name": "PUBLIC_URL",
                    "value": format!("https://{name}.example.com"),
                })),
                Need::Nothing => {}
            }
            let mut callees = Vec::new();
            for &(d, j) in &w.upstreams {
                env.push(json!({"name": format!("UPSTREAM_{d}"), "value": format!("http://w{j:05}:80")}));
                callees.push(format!("w{j:05}"));
                callers[j].push(name.clone());
            }
            json!({
                "name": name,
                "team": w.team,
                "image": format!("ghcr.io/acme/{name}:1.0.0"),
                "env": env,
                "secrets": secrets,
                "callees": callees,
            })
        })
        .collect();
    let workloads: Vec<Value> = workloads
        .into_iter()
        .zip(callers)
        .map(|(mut w, c)| {
            w["callers"] = json!(c);
            w
        })
        .collect();
    let environments: Vec<Value> = ENVIRONMENTS
        .iter()
        .map(|(name, replicas, max, cpu, memory)| {
            json!({"name": name, "replicas": replicas, "max_replicas": max, "cpu": cpu, "memory": memory})
        })
        .collect();
    json!({"environments": environments, "workloads": workloads})
}

/// Whether `helm` runs here.
pub fn helm_available() -> bool {
    Command::new("helm")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Milliseconds of one `helm template` of `chart`, the whole process, its output read and
/// dropped; helm's own message when it fails.
pub fn time_helm_template(chart: &Path) -> Result<f64, String> {
    let t = Instant::now();
    let out = Command::new("helm")
        .arg("template")
        .arg("yardstick")
        .arg(chart)
        .output()
        .map_err(|e| e.to_string())?;
    let elapsed = ms(t);
    if out.status.success() {
        Ok(elapsed)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_synthetic_workloads() {
        let v = values(12);
        let ws = v["workloads"].as_array().unwrap();
        assert_eq!(ws.len(), 12);
        // w00007 calls w00004 and w00001 (i % 4 == 3, the third one would be negative).
        assert_eq!(ws[7]["callees"], json!(["w00004", "w00001"]));
        assert_eq!(ws[4]["callers"], json!(["w00007", "w00010"]));
        assert_eq!(ws[0]["secrets"][0]["key"], "password");
        assert_eq!(objects(12), 216);
    }
}
