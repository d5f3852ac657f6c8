//! Benchmarks of the whole pipeline on a synthetic workspace (the embedded reference platform
//! plus `n` generated workloads), for the performance targets of DESIGN.md. Timings are
//! measured here and returned; the CLI prints them.

use std::path::Path;
use std::time::Instant;

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::emit::{self, IndexMeta};
use crate::pipeline::{self, Options};

pub mod yardstick;

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
    /// Bytes of the rendered tree.
    pub bytes: usize,
    pub figures: Vec<Figure>,
    /// `helm template` of the yardstick chart (`yardstick.rs`) on the same workloads, when helm
    /// is installed, and the objects it renders.
    pub helm_template: Option<(Figure, usize)>,
    /// Files written by the last one-workload rebuild (what a real disk pays for).
    pub written_by_one_change: usize,
    /// Graph nodes it rendered, of all (the render memo's share).
    pub nodes_by_one_change: (usize, usize),
}

const TEAMS: [&str; 3] = ["payments", "storefront", "data"];

/// The workspace-relative file of synthetic workload `i`: under its team's directory, which the
/// reference platform's `teams.*.paths` claim, so the files are plain Score.
pub fn workload_file(i: usize) -> String {
    format!("examples/{}/w{i:05}/score.yaml", TEAMS[i % TEAMS.len()])
}

/// What synthetic workload `i` needs, shaped like the platform repos the performance targets
/// are about: 30% have a private postgres, 20% a redis shared by the team's workloads in groups
/// of ten, 10% a public route with a DNS name, and each calls 0-3 earlier workloads of its
/// team. The Score file and the yardstick chart are both written from it.
struct Synthetic {
    team: &'static str,
    need: Need,
    /// (d, j): the `up{d}` service link to the earlier workload `w{j}`.
    upstreams: Vec<(usize, usize)>,
}

enum Need {
    Postgres,
    /// A redis shared by the team's workloads of this group.
    Redis {
        group: usize,
    },
    PublicRoute,
    Nothing,
}

fn synthetic(i: usize) -> Synthetic {
    let need = match i % 10 {
        0..=2 => Need::Postgres,
        3 | 4 => Need::Redis { group: i / 30 },
        5 => Need::PublicRoute,
        _ => Need::Nothing,
    };
    // Earlier workloads of the same team: a service graph with fan-in and chains.
    let upstreams = (1..=(i % 4))
        .filter_map(|d| Some((d, i.checked_sub(d * TEAMS.len())?)))
        .collect();
    Synthetic {
        team: TEAMS[i % TEAMS.len()],
        need,
        upstreams,
    }
}

/// Synthetic workload `i` as a plain Score file (see [`Synthetic`]).
pub fn workload_yaml(i: usize, image_tag: &str) -> String {
    let w = synthetic(i);
    let mut vars = String::from("      NAME: ${metadata.name}\n");
    let mut res = String::new();
    match w.need {
        Need::Postgres => {
            vars.push_str("      DB_HOST: ${resources.db.host}\n      DB_PASSWORD: ${resources.db.password}\n");
            res.push_str("  db:\n    type: postgres\n");
        }
        Need::Redis { group } => {
            vars.push_str("      CACHE: redis://${resources.cache.host}:${resources.cache.port}\n");
            res.push_str(&format!(
                "  cache:\n    type: redis\n    id: cache-{}-{group}\n",
                w.team
            ));
        }
        Need::PublicRoute => {
            vars.push_str("      PUBLIC_URL: https://${resources.dns.host}\n");
            res.push_str("  dns:\n    type: dns\n  route:\n    type: route\n    params:\n      host: ${resources.dns.host}\n      port: 80\n");
        }
        Need::Nothing => {}
    }
    for (d, j) in &w.upstreams {
        vars.push_str(&format!("      UPSTREAM_{d}: ${{resources.up{d}.url}}\n"));
        res.push_str(&format!(
            "  up{d}:\n    type: service\n    params:\n      workload: w{j:05}\n"
        ));
    }
    let mut s = format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: w{i:05}\ncontainers:\n  main:\n    image: ghcr.io/acme/w{i:05}:{image_tag}\n    variables:\n{vars}service:\n  ports:\n    http:\n      port: 80\n      targetPort: 8080\n"
    );
    if !res.is_empty() {
        s.push_str("resources:\n");
        s.push_str(&res);
    }
    s
}

/// Writes `n` workloads under `<dir>/examples/<team>/`.
pub fn write_workspace(dir: &Path, n: usize) -> std::io::Result<()> {
    for i in 0..n {
        let p = dir.join(workload_file(i));
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

/// Runs the benchmark `runs` times in the scratch directory `dir` (which must be empty): a
/// cold build stage by stage, a rebuild with nothing changed and one with one workload changed,
/// then one `platc build` process (`exe`) for its peak memory.
pub fn run(
    dir: &Path,
    n: usize,
    runs: usize,
    threads: usize,
    layout: Option<crate::model::Layout>,
) -> Result<Report, Diagnostics> {
    write_workspace(dir, n).map_err(io)?;
    let out = dir.join("out");
    let opts = Options {
        envs: Vec::new(),
        threads,
        out_dir: Some(out.clone()),
        bytes_only: true,
        layout,
        // The cold figures include the evaluation; `build` (one call) reuses it as users do.
        reuse_evaluation: false,
        // As `build` does.
        free_models: true,
        record_origins: false,
    };
    let mut figs = Figures::default();
    let (mut size, mut change) = ((0, 0, 0), (0, (0, 0)));
    for r in 0..runs.max(1) {
        for stale in [out.clone(), dir.join(".platc")] {
            if stale.exists() {
                std::fs::remove_dir_all(&stale).map_err(io)?;
            }
        }
        size = cold_stages(dir, &out, &opts, &mut figs)?;
        change = rebuilds(dir, &out, &opts, r, &mut figs)?;
        let t = Instant::now();
        let checked = crate::policy::check_workspace(dir, &opts);
        figs.check.runs.push(ms(t));
        if checked.counts.is_none() {
            return Err(checked.diags);
        }
        figs.diff.runs.push(time_diff(dir, &opts, r)?);
    }
    let (objects, files, bytes) = size;
    let helm_template = time_yardstick(dir, n, runs)?;
    let f = figs;
    Ok(Report {
        workloads: n,
        objects,
        files,
        bytes,
        figures: vec![
            f.cold,
            f.load,
            f.compile,
            f.serialize,
            f.write,
            f.cold_cli,
            f.noop,
            f.one,
            f.check,
            f.diff,
        ],
        helm_template,
        written_by_one_change: change.0,
        nodes_by_one_change: change.1,
    })
}

/// `runs` timings of `helm template` on the yardstick chart of the same `n` workloads; `None`
/// when helm is not installed.
fn time_yardstick(
    dir: &Path,
    n: usize,
    runs: usize,
) -> Result<Option<(Figure, usize)>, Diagnostics> {
    if !yardstick::helm_available() {
        return Ok(None);
    }
    let chart = yardstick::write_chart(dir, n).map_err(io)?;
    let mut figure = Figure {
        name: "`helm template` of the yardstick chart",
        runs: Vec::new(),
    };
    for _ in 0..runs.max(1) {
        let t = yardstick::time_helm_template(&chart).map_err(|e| {
            io(std::io::Error::other(format!(
                "`helm template {}` failed: {e}",
                chart.display()
            )))
        })?;
        figure.runs.push(t);
    }
    Ok(Some((figure, yardstick::objects(n))))
}

fn io(e: std::io::Error) -> Diagnostics {
    Diagnostics::from(Diagnostic::error(
        Code::Io,
        None,
        format!("benchmark workspace: {e}"),
    ))
}

fn meta() -> IndexMeta {
    IndexMeta {
        platc_version: env!("CARGO_PKG_VERSION").to_string(),
        source_commit: None,
    }
}

/// Every figure's runs so far, in the order the report prints them.
struct Figures {
    cold: Figure,
    load: Figure,
    compile: Figure,
    serialize: Figure,
    write: Figure,
    cold_cli: Figure,
    noop: Figure,
    one: Figure,
    check: Figure,
    diff: Figure,
}

impl Default for Figures {
    fn default() -> Figures {
        let figure = |name| Figure {
            name,
            runs: Vec::new(),
        };
        Figures {
            cold: figure("cold build (sum of the stages)"),
            load: figure("  load (discover, Nickel, Score)"),
            compile: figure("  resolve + graph + render"),
            serialize: figure("  canonical YAML bytes"),
            write: figure("  emit into an empty dir"),
            cold_cli: figure("cold `platc build` (one call, cache recorded)"),
            noop: figure("rebuild, nothing changed (build cache)"),
            one: figure("rebuild, one workload changed"),
            check: figure("`platc check` (policies and schemas)"),
            diff: figure("`platc diff --base` of a one-workload change"),
        }
    }
}

/// A cold build into an empty `out`, stage by stage; the output's objects, files and bytes.
fn cold_stages(
    dir: &Path,
    out: &Path,
    opts: &Options,
    figs: &mut Figures,
) -> Result<(usize, usize, usize), Diagnostics> {
    let t0 = Instant::now();
    let (platform, workloads) = pipeline::load(dir, opts)?;
    figs.load.runs.push(ms(t0));
    let t = Instant::now();
    let comp = pipeline::compile_loaded(platform, workloads, opts)?;
    figs.compile.runs.push(ms(t));
    let objects = comp.objects().count();
    let t = Instant::now();
    let tree = comp.into_tree();
    figs.serialize.runs.push(ms(t));
    let t = Instant::now();
    emit::emit(out, &tree, &meta())?;
    figs.write.runs.push(ms(t));
    figs.cold.runs.push(ms(t0));
    let bytes = tree.files.values().map(Vec::len).sum();
    Ok((objects, tree.files.len(), bytes))
}

/// `platc build` as users run it: cold into a new directory (what the stages cost plus
/// recording the build cache and the render memo), then into `out` with nothing changed and
/// with one workload changed (run `r` gives it a new image). Files written and nodes rendered
/// (of all) by the one change.
fn rebuilds(
    dir: &Path,
    out: &Path,
    opts: &Options,
    r: usize,
    figs: &mut Figures,
) -> Result<(usize, (usize, usize)), Diagnostics> {
    let meta = meta();
    let cold_out = dir.join("out-cold");
    let t = Instant::now();
    crate::build::build(dir, &cold_out, opts, &meta)?;
    figs.cold_cli.runs.push(ms(t));
    std::fs::remove_dir_all(&cold_out).map_err(io)?;
    crate::build::build(dir, out, opts, &meta)?;

    let t = Instant::now();
    crate::build::build(dir, out, opts, &meta)?;
    figs.noop.runs.push(ms(t));

    std::fs::write(
        dir.join(workload_file(0)),
        workload_yaml(0, &format!("1.0.{}", r + 1)),
    )
    .map_err(io)?;
    let t = Instant::now();
    let report = crate::build::build(dir, out, opts, &meta)?;
    figs.one.runs.push(ms(t));
    let written = report.emit.written.len() + report.emit.removed.len();
    Ok((written, (report.nodes_rendered, report.nodes_total)))
}

/// `platc diff --base HEAD` after one workload changed since HEAD, as the CLI does it: the head
/// compiled, the base unpacked (in the scratch directory, so the disk stays out) and rendered
/// reusing the head's unchanged nodes, the trees compared. Untimed: committing the workspace.
fn time_diff(dir: &Path, opts: &Options, run: usize) -> Result<f64, Diagnostics> {
    let git = |args: &[&str]| -> Result<(), Diagnostics> {
        let ok = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@platc",
                "-c",
            ])
            .arg("commit.gpgsign=false")
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            Ok(())
        } else {
            Err(Diagnostic::error(
                Code::Io,
                None,
                format!("bench: `git {}` failed", args.join(" ")),
            )
            .into())
        }
    };
    if !dir.join(".git").exists() {
        git(&["init", "-q"])?;
    }
    git(&["add", "-A", "examples", "platform"]).or_else(|_| git(&["add", "-A", "examples"]))?;
    git(&["commit", "-q", "--allow-empty", "-m", "base"])?;
    std::fs::write(
        dir.join(workload_file(1)),
        workload_yaml(1, &format!("2.0.{run}")),
    )
    .map_err(|e| Diagnostics::from(Diagnostic::error(Code::Io, None, e.to_string())))?;
    let t = Instant::now();
    let head = crate::diff::compile_head(dir, opts)?;
    let scratch = dir.parent().unwrap_or(dir);
    let base = match crate::diff::render_base(dir, "HEAD", opts, &head, Some(scratch)) {
        Ok(b) => b,
        Err(crate::diff::BaseError::Checkout(d)) => return Err(d),
        Err(crate::diff::BaseError::Compile { diags, .. }) => return Err(diags),
    };
    let d = crate::diff::diff_trees(&base.files, &head.tree().files);
    let took = ms(t);
    if d.is_empty() {
        return Err(
            Diagnostic::error(Code::Internal, None, "bench: the diff found no change").into(),
        );
    }
    Ok(took)
}

/// Peak resident memory of one `platc build` process (`exe`) of a fresh synthetic workspace of
/// `n` workloads in `dir`, from that child's own resource usage. Call it before this process
/// grows: a spawned child shares its parent's memory until it executes, and Linux counts that in
/// the child's peak.
pub fn peak_rss_mb(
    exe: &Path,
    dir: &Path,
    n: usize,
    layout: Option<crate::model::Layout>,
) -> Option<f64> {
    write_workspace(dir, n).ok()?;
    child_peak_rss_mb(exe, dir, layout)
}

#[cfg(unix)]
fn child_peak_rss_mb(exe: &Path, dir: &Path, layout: Option<crate::model::Layout>) -> Option<f64> {
    let out = dir.join("out-rss");
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["build", "-C"]).arg(dir).arg("--out").arg(&out);
    if let Some(l) = layout {
        cmd.args(["--layout", l.name()]);
    }
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let pid = libc::pid_t::try_from(child.id()).ok()?;
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: wait4 reaps our own child and fills the rusage it is given.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()) };
    let _ = std::fs::remove_dir_all(&out);
    if rc != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return None;
    }
    // SAFETY: wait4 succeeded, so the struct was filled.
    let kb = unsafe { usage.assume_init() }.ru_maxrss as f64;
    Some(kb / 1024.0)
}

#[cfg(not(unix))]
fn child_peak_rss_mb(
    _exe: &Path,
    _dir: &Path,
    _layout: Option<crate::model::Layout>,
) -> Option<f64> {
    None
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
        let dev = &comp.envs[0].resolution;
        let count = |t: &str| {
            dev.instances
                .iter()
                .filter(|i| i.resource_type == t)
                .count()
        };
        // 30% postgres, redis shared by a team's group, 10% route + dns.
        assert_eq!(
            (count("postgres"), count("redis"), count("route")),
            (5, 2, 1)
        );
        assert_eq!(count("dns"), 1);
        // Teams come from the directories the reference platform's teams claim.
        assert!(
            dev.workloads
                .iter()
                .all(|w| w.namespace == format!("{}-dev", w.team))
        );
        let calls: usize = dev.workloads.iter().map(|w| w.calls().len()).sum();
        assert_eq!(
            calls, 12,
            "0-3 calls each, to earlier workloads of the team"
        );
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
