use clap::Args;

use super::{EXIT_INPUT, EXIT_OK, output};

#[derive(Args)]
pub struct BenchArgs {
    /// Numbers of synthetic workloads, comma-separated (each in every environment of the
    /// reference platform), e.g. `100,1000,10000`.
    #[arg(long, default_value = "1000", value_delimiter = ',')]
    workloads: Vec<usize>,
    /// Repetitions; figures are medians.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Only write the synthetic workspace into DIR (to profile `platc build -C DIR` by hand).
    #[arg(long, value_name = "DIR")]
    write_workspace: Option<std::path::PathBuf>,
    /// Layouts to measure, comma-separated (`files`, `manifest`).
    #[arg(long, default_value = "files,manifest", value_delimiter = ',', value_parser = super::parse_layout)]
    layouts: Vec<platc::model::Layout>,
    /// Scratch directory (default: /dev/shm when it exists, so the disk's noise stays out).
    #[arg(long, value_name = "DIR")]
    scratch: Option<std::path::PathBuf>,
}

pub fn run(a: BenchArgs) -> i32 {
    if let Some(dir) = &a.write_workspace {
        let n = a.workloads.first().copied().unwrap_or(1000);
        let written = platc::bench::write_workspace(dir, n)
            .and_then(|()| platc::bench::yardstick::write_chart(dir, n));
        return match written {
            Ok(chart) => {
                println!(
                    "wrote {n} workloads under {} and their yardstick Helm chart in {}",
                    dir.join("examples").display(),
                    chart.display()
                );
                EXIT_OK
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", dir.display());
                EXIT_INPUT
            }
        };
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads = a.threads.unwrap_or(cores);
    let base = a.scratch.clone().unwrap_or_else(|| {
        let shm = std::path::Path::new("/dev/shm");
        if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        }
    });
    let exe = std::env::current_exe().ok();
    let mut sizes = a.workloads.clone();
    sizes.sort_unstable();
    println!(
        "platc bench: {} runs per size (medians), {threads} threads, {cores} cores, scratch {}",
        a.runs,
        base.display()
    );
    let scratch = |n: usize| base.join(format!("platc-bench-{}-{n}", std::process::id()));
    // Peak memory first, while this process is small (see bench::peak_rss_mb).
    let mut rss = std::collections::BTreeMap::new();
    for &n in &sizes {
        for &layout in &a.layouts {
            let dir = scratch(n);
            let mb = exe
                .as_deref()
                .and_then(|exe| platc::bench::peak_rss_mb(exe, &dir, n, Some(layout)));
            let _ = std::fs::remove_dir_all(&dir);
            rss.insert((n, layout.name()), mb);
        }
    }
    for &n in &sizes {
        for &layout in &a.layouts {
            let dir = scratch(n);
            if let Err(e) = std::fs::create_dir_all(&dir) {
                eprintln!("error: cannot create {}: {e}", dir.display());
                return EXIT_INPUT;
            }
            let result = platc::bench::run(&dir, n, a.runs, threads, Some(layout));
            let _ = std::fs::remove_dir_all(&dir);
            match result {
                Ok(r) => print_report(&r, layout, rss.get(&(n, layout.name())).copied().flatten()),
                Err(d) => {
                    output::print_diagnostics(&d);
                    return EXIT_INPUT;
                }
            }
        }
    }
    EXIT_OK
}

fn print_report(r: &platc::bench::Report, layout: platc::model::Layout, rss: Option<f64>) {
    println!(
        "\n{} workloads, layout {}: {} objects in {} files, {:.1} MB",
        r.workloads,
        layout.name(),
        r.objects,
        r.files,
        r.bytes as f64 / 1e6
    );
    for f in &r.figures {
        let runs: Vec<String> = f.runs.iter().map(|x| format!("{x:.0}")).collect();
        println!(
            "  {:<44} median {:>8.1} ms   (runs: {})",
            f.name,
            f.median(),
            runs.join(", ")
        );
    }
    if let Some(cold) = r.figures.first() {
        println!(
            "  {:<44} {:>15.1} µs",
            "per object, cold build",
            cold.median() * 1000.0 / r.objects.max(1) as f64
        );
    }
    let cold_call = r
        .figures
        .iter()
        .find(|f| f.name.starts_with("cold `platc build`"));
    if let (Some((helm, objects)), Some(cold_call)) = (&r.helm_template, cold_call) {
        let ours = cold_call.median() * 1000.0 / r.objects.max(1) as f64;
        let theirs = helm.median() * 1000.0 / (*objects).max(1) as f64;
        let runs: Vec<String> = helm.runs.iter().map(|x| format!("{x:.0}")).collect();
        println!(
            "  {:<44} median {:>8.1} ms   (runs: {}; {objects} objects)",
            helm.name,
            helm.median(),
            runs.join(", ")
        );
        println!(
            "  {:<44} {:>15.1} µs: platc's per object (one call) is {:.2}x faster",
            "per object, `helm template`",
            theirs,
            theirs / ours.max(f64::MIN_POSITIVE)
        );
    }
    println!(
        "  {:<44} {:>12} files",
        "written by the one-workload rebuild", r.written_by_one_change
    );
    println!(
        "  {:<44} {:>12} of {} graph nodes",
        "rendered by the one-workload rebuild", r.nodes_by_one_change.0, r.nodes_by_one_change.1
    );
    // ru_maxrss is in KiB: the figure is MiB (1 MiB = 1.049 MB).
    if let Some(mib) = rss {
        println!(
            "  {:<44} {mib:>12.1} MiB ({:.1} MB)",
            "peak memory of a `platc build` process",
            mib * 1.048_576
        );
    }
}
