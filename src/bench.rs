//! Benchmarks of the whole pipeline on a synthetic workspace (the embedded reference platform
//! plus `n` generated workloads), for the performance targets of DESIGN.md. Timings are
//! measured here and returned; the CLI prints them.

use std::path::Path;
use std::time::Instant;

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::emit::{self, IndexMeta};
use crate::pipeline::{self, Options};

#[derive(Debug, Clone)]
pub struct Figure {
    pub name: &'static str,
    /// Milliseconds of each run.
    pub runs: Vec<f64>,
}

impl Figure {
    pub fn median(&self) -> f64 {
        let mut v = self.runs.clone();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => 0.0,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub workloads: usize,
    pub objects: usize,
    pub files: usize,
    pub figures: Vec<Figure>,
    /// Peak resident memory of this process, when the OS tells.
    pub peak_rss_mb: Option<f64>,
}

const TEAMS: [&str; 3] = ["payments", "storefront", "data"];

/// One synthetic Score workload: a web service with a private postgres, a redis shared by ten
/// workloads, and a call to the previous workload (a chain of service dependencies).
fn workload_yaml(i: usize, image_tag: &str) -> String {
    let team = TEAMS[i % TEAMS.len()];
    let mut s = format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: w{i:05}\n  annotations:\n    platc.dev/team: {team}\ncontainers:\n  main:\n    image: ghcr.io/acme/w{i:05}:{image_tag}\n    variables:\n      DB_HOST: ${{resources.db.host}}\n      DB_PASSWORD: ${{resources.db.password}}\n      CACHE_HOST: ${{resources.cache.host}}\n      NAME: ${{metadata.name}}\n"
    );
    if i >= TEAMS.len() {
        s.push_str("      UPSTREAM: ${resources.upstream.url}\n");
    }
    s.push_str("service:\n  ports:\n    http:\n      port: 80\n      targetPort: 8080\nresources:\n  db:\n    type: postgres\n");
    s.push_str(&format!(
        "  cache:\n    type: redis\n    id: cache-{team}-{}\n",
        i / 30
    ));
    // The previous workload of the same team: a chain of service dependencies per team.
    if i >= TEAMS.len() {
        s.push_str(&format!(
            "  upstream:\n    type: service\n    params:\n      workload: w{:05}\n",
            i - TEAMS.len()
        ));
    }
    s
}

/// Writes `n` workloads under `<dir>/examples/bench/`.
pub fn write_workspace(dir: &Path, n: usize) -> std::io::Result<()> {
    for i in 0..n {
        let p = dir.join(format!("examples/bench/w{i:05}/score.yaml"));
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(p, workload_yaml(i, "1.0.0"))?;
    }
    Ok(())
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// Runs the benchmark `runs` times in the scratch directory `dir` (which must be empty).
pub fn run(dir: &Path, n: usize, runs: usize, threads: usize) -> Result<Report, Diagnostics> {
    let io = |e: std::io::Error| {
        Diagnostics::from(Diagnostic::error(
            Code::Io,
            None,
            format!("benchmark workspace: {e}"),
        ))
    };
    write_workspace(dir, n).map_err(io)?;
    let out = dir.join("out");
    let opts = Options {
        envs: Vec::new(),
        threads,
        out_dir: Some(out.clone()),
    };
    let meta = IndexMeta {
        platc_version: env!("CARGO_PKG_VERSION").to_string(),
        source_commit: None,
    };
    let emit_err = |e: emit::EmitError| Diagnostics::from(e);

    let mut cold_compile = Figure {
        name: "compile (load+resolve+graph+render+yaml), cold",
        runs: Vec::new(),
    };
    let mut cold_build = Figure {
        name: "build into an empty output dir",
        runs: Vec::new(),
    };
    let mut noop = Figure {
        name: "rebuild, nothing changed",
        runs: Vec::new(),
    };
    let mut one = Figure {
        name: "rebuild, one workload changed",
        runs: Vec::new(),
    };
    let (mut objects, mut files) = (0, 0);
    for r in 0..runs.max(1) {
        if out.exists() {
            std::fs::remove_dir_all(&out).map_err(io)?;
        }
        let t = Instant::now();
        let comp = pipeline::compile(dir, &opts)?;
        let tree = comp.tree();
        cold_compile.runs.push(ms(t));
        objects = comp.objects().count();
        files = tree.files.len();
        drop(comp);

        let t = Instant::now();
        let comp = pipeline::compile(dir, &opts)?;
        emit::emit(&out, &comp.tree(), &meta).map_err(emit_err)?;
        cold_build.runs.push(ms(t));

        let t = Instant::now();
        let comp = pipeline::compile(dir, &opts)?;
        emit::emit(&out, &comp.tree(), &meta).map_err(emit_err)?;
        noop.runs.push(ms(t));

        let changed = dir.join("examples/bench/w00000/score.yaml");
        std::fs::write(&changed, workload_yaml(0, &format!("1.0.{}", r + 1))).map_err(io)?;
        let t = Instant::now();
        let comp = pipeline::compile(dir, &opts)?;
        emit::emit(&out, &comp.tree(), &meta).map_err(emit_err)?;
        one.runs.push(ms(t));
    }
    Ok(Report {
        workloads: n,
        objects,
        files,
        figures: vec![cold_compile, cold_build, noop, one],
        peak_rss_mb: peak_rss_mb(),
    })
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_workloads_compile() {
        let dir = tempfile::tempdir().unwrap();
        write_workspace(dir.path(), 12).unwrap();
        let comp = pipeline::compile(dir.path(), &Options::default()).unwrap();
        assert_eq!(comp.workloads.len(), 12);
        // Shared redis: one instance per team and group of thirty workloads.
        let dev = &comp.envs[0].resolution;
        assert_eq!(
            dev.instances
                .iter()
                .filter(|i| i.resource_type == "redis")
                .count(),
            3
        );
        assert!(dev.workloads.iter().any(|w| !w.calls.is_empty()));
    }

    #[test]
    fn median_of_odd_and_even_runs() {
        let f = Figure {
            name: "x",
            runs: vec![3.0, 1.0, 2.0],
        };
        assert_eq!(f.median(), 2.0);
        let f = Figure {
            name: "x",
            runs: vec![4.0, 1.0, 2.0, 3.0],
        };
        assert_eq!(f.median(), 2.5);
    }
}
