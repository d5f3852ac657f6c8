use std::path::PathBuf;

use clap::Args;

use super::{EXIT_INPUT, EXIT_OK, Workspace, output};

#[derive(Args)]
pub struct BuildArgs {
    #[command(flatten)]
    ws: Workspace,
    /// Output directory (default: `out` in the workspace).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Build, then build again on every saved change of the platform or a workload (Ctrl-C
    /// stops). Only what a change touches is rendered again; a broken save prints its errors and
    /// the watch goes on.
    #[arg(long)]
    watch: bool,
}

pub fn run(a: BuildArgs) -> i32 {
    let out = a.out.clone().unwrap_or_else(|| a.ws.dir.join("out"));
    if !a.watch {
        return once(&a, &out);
    }
    output::note(&format!(
        "watching {} for changes (Ctrl-C stops)",
        a.ws.dir.display()
    ));
    let mut last = platc::watch::snapshot(&a.ws.dir, &out);
    once(&a, &out);
    loop {
        if let Some(code) = runaway() {
            return code;
        }
        let now = platc::watch::wait_for_change(
            &a.ws.dir,
            &out,
            &last,
            std::time::Duration::from_millis(250),
        );
        let changed = platc::watch::changes(&a.ws.dir, &last, &now);
        last = now;
        let shown: Vec<&str> = changed.iter().take(5).map(String::as_str).collect();
        let more = changed.len().saturating_sub(shown.len());
        output::info(&format!(
            "changed: {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
        once(&a, &out);
    }
}

/// After a build whose platform evaluation ran out of time: that evaluation cannot be stopped
/// from inside the process and goes on taking a core (and memory, without bound), so the watch
/// ends, saying so, instead of leaving it behind.
fn runaway() -> Option<i32> {
    if platc::load::platform::evaluations_running() == 0 {
        return None;
    }
    output::print_diagnostics(&platc::diag::Diagnostics::from(
        platc::diag::Diagnostic::error(
            platc::diag::Code::NickelError,
            Some(platc::diag::Span::file("platform/main.ncl")),
            "stopping the watch: the platform's evaluation that ran out of time is still running, and platc cannot stop it while the process lives",
        )
        .with_help("fix the evaluation that does not finish, then start `platc build --watch` again"),
    ));
    Some(EXIT_INPUT)
}

/// One build and its summary line; the exit code it would have.
fn once(a: &BuildArgs, out: &std::path::Path) -> i32 {
    let meta = platc::emit::IndexMeta {
        platc_version: env!("CARGO_PKG_VERSION").to_string(),
        source_commit: None,
    };
    let progress = super::progress::Progress::start();
    let built = platc::build::build_observed(
        &a.ws.dir,
        out,
        &a.ws.options(Some(out.to_path_buf())),
        &meta,
        &|stage| progress.stage(stage),
    );
    progress.finish();
    match built {
        Ok(r) => {
            let how = if r.cached {
                "; no input changed".to_string()
            } else if r.nodes_rendered < r.nodes_total {
                format!(
                    "; rendered {} of {} nodes, the rest unchanged",
                    r.nodes_rendered, r.nodes_total
                )
            } else {
                String::new()
            };
            for (stage, took) in &r.stages {
                output::detail(&format!(
                    "  {:>8.1} ms  {stage}",
                    took.as_secs_f64() * 1000.0
                ));
            }
            for f in &r.emit.written {
                output::detail(&format!("  written {f}"));
            }
            for f in &r.emit.removed {
                output::detail(&format!("  removed {f}"));
            }
            output::info(&format!(
                "wrote {} ({} files: {} written, {} unchanged, {} removed){how}",
                out.display(),
                r.files,
                r.emit.written.len(),
                r.emit.unchanged.len(),
                r.emit.removed.len(),
            ));
            EXIT_OK
        }
        Err(d) => {
            output::print_diagnostics(&d);
            EXIT_INPUT
        }
    }
}
