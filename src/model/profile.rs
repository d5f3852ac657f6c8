//! A golden-path profile after merging (profile ⊕ environment overrides ⊕ workload choices).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A profile after merging: the golden-path settings one workload gets in one environment.
#[derive(Debug, Clone, PartialEq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub kind: WorkloadKind,
    #[serde(default = "one")]
    pub replicas: u32,
    /// Cron schedule, for `kind = 'cronjob`.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Default container resources when the workload sets none.
    #[serde(default)]
    pub resources: ResourceDefaults,
    #[serde(default)]
    pub hpa: Option<Hpa>,
    #[serde(default)]
    pub pdb: Option<Pdb>,
    /// Default HTTP probe path for containers that declare no probe but whose workload has a port.
    #[serde(default)]
    pub probe_path: Option<String>,
    #[serde(default)]
    pub metrics: Option<Metrics>,
    /// Service-level objectives; the monitoring plane turns them into alerting rules.
    #[serde(default)]
    pub slo: Option<Slo>,
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Hash, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    Deployment,
    Cronjob,
}

impl WorkloadKind {
    /// The name platform policies and dashboards show, as the platform writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployment",
            WorkloadKind::Cronjob => "cronjob",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Hash, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceDefaults {
    #[serde(default)]
    pub requests: Quantities,
    #[serde(default)]
    pub limits: Quantities,
}

#[derive(Debug, Clone, PartialEq, Hash, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Quantities {
    #[serde(default)]
    pub cpu: Option<String>,
    #[serde(default)]
    pub memory: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hpa {
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub target_cpu_utilization: u32,
}

#[derive(Debug, Clone, PartialEq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pdb {
    /// Either a count or a percentage such as `"50%"`.
    pub min_available: Value,
}

#[derive(Debug, Clone, PartialEq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    pub port: String,
    #[serde(default = "metrics_path")]
    pub path: String,
}

fn metrics_path() -> String {
    "/metrics".into()
}

/// Objectives over the conventional HTTP metrics (`http_requests_total` with a `code` label,
/// `http_request_duration_seconds` histogram) of a scraped workload, for a 30-day window.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Percentage of requests that must not fail with a 5xx, e.g. `99.9`.
    #[serde(default)]
    pub availability: Option<f64>,
    #[serde(default)]
    pub latency: Option<LatencySlo>,
    /// Runbook link of every alert; `{alert}`, `{workload}`, `{team}` and `{environment}` are
    /// replaced.
    #[serde(default)]
    pub runbook_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySlo {
    /// Percentile of requests that must be faster than `threshold_ms`, e.g. `99`.
    #[serde(default = "p99")]
    pub percentile: f64,
    pub threshold_ms: u32,
}

fn p99() -> f64 {
    99.0
}

// By hand for the `f64`s: the render memo hashes resolved workloads (`memo::node_keys`), and a
// number's bits tell apart exactly the values its `Debug` form did.
impl std::hash::Hash for Slo {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Destructured: a field added later cannot be left out of the memo's keys.
        let Slo {
            availability,
            latency,
            runbook_url,
        } = self;
        availability.map(f64::to_bits).hash(state);
        latency.hash(state);
        runbook_url.hash(state);
    }
}

impl std::hash::Hash for LatencySlo {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let LatencySlo {
            percentile,
            threshold_ms,
        } = self;
        percentile.to_bits().hash(state);
        threshold_ms.hash(state);
    }
}

#[derive(Debug, Clone, PartialEq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    #[serde(default = "yes")]
    pub run_as_non_root: bool,
    #[serde(default = "yes")]
    pub read_only_root_filesystem: bool,
    #[serde(default)]
    pub run_as_user: Option<u32>,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            run_as_non_root: true,
            read_only_root_filesystem: true,
            run_as_user: None,
        }
    }
}

pub(super) fn yes() -> bool {
    true
}
