use clap::Args;

use super::{EXIT_INPUT, EXIT_OK, output};

#[derive(Args)]
pub struct BenchArgs {
    /// Number of synthetic workloads (each in every environment of the reference platform).
    #[arg(long, default_value_t = 1000)]
    workloads: usize,
    /// Repetitions; figures are medians.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Only write the synthetic workspace into DIR (to profile `platc build -C DIR` by hand).
    #[arg(long, value_name = "DIR")]
    write_workspace: Option<std::path::PathBuf>,
}

pub fn run(a: BenchArgs) -> i32 {
    if let Some(dir) = &a.write_workspace {
        return match platc::bench::write_workspace(dir, a.workloads) {
            Ok(()) => {
                println!(
                    "wrote {} workloads under {}",
                    a.workloads,
                    dir.join("examples/bench").display()
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
    let dir = std::env::temp_dir().join(format!("platc-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return EXIT_INPUT;
    }
    let result = platc::bench::run(&dir, a.workloads, a.runs, threads);
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(r) => {
            println!(
                "platc bench: {} workloads, {} objects, {} files; {} runs, {threads} threads, {cores} cores",
                r.workloads, r.objects, r.files, a.runs
            );
            for f in &r.figures {
                let runs: Vec<String> = f.runs.iter().map(|x| format!("{x:.0}")).collect();
                println!(
                    "  {:<50} median {:>8.1} ms   (runs: {})",
                    f.name,
                    f.median(),
                    runs.join(", ")
                );
            }
            if let Some(mb) = r.peak_rss_mb {
                println!("  {:<50} {mb:>8.1} MB", "peak resident memory");
            }
            EXIT_OK
        }
        Err(d) => {
            output::print_diagnostics(&d);
            EXIT_INPUT
        }
    }
}
