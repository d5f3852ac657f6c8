use std::path::PathBuf;

use clap::Args;

use super::restart::{self, Why};
use super::{EXIT_INPUT, EXIT_OK, Workspace, output};

#[derive(Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub(super) ws: Workspace,
    /// Output directory (default: `out` in the workspace).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Build, then build again on every saved change of the platform or a workload (Ctrl-C
    /// stops). Only what a change touches is rendered again; a broken save prints its errors and
    /// the watch goes on.
    #[arg(long)]
    watch: bool,
    /// Set by a watch that started itself afresh (`restart.rs`): the digest of the workspace
    /// its predecessor last built.
    #[arg(
        long = "watch-resume",
        hide = true,
        value_name = "DIGEST",
        requires = "watch"
    )]
    watch_resume: Option<String>,
}

pub fn run(a: BuildArgs) -> i32 {
    let out = a.out.clone().unwrap_or_else(|| a.ws.dir.join("out"));
    if !a.watch {
        return once(&a, &out);
    }
    let mut last = platc::watch::snapshot(&a.ws.dir, &out);
    match &a.watch_resume {
        None => {
            output::note(&format!(
                "watching {} for changes (Ctrl-C stops)",
                a.ws.dir.display()
            ));
            once(&a, &out);
        }
        // A restarted watch builds at once only if the workspace moved on while it restarted.
        Some(digest) => {
            output::note(&format!("watching {} again", a.ws.dir.display()));
            if platc::watch::digest(&last) != *digest {
                once(&a, &out);
            }
        }
    }
    let mut may_restart = true;
    loop {
        if let Some(code) = restart(&last, &mut may_restart) {
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

/// Before the watch waits for the next change: an evaluation that ran out of time is still
/// running (it takes a core, and memory without bound), or the memory of many evaluations is
/// held; a new process is the only way to drop either, so the watch starts itself afresh. Only
/// if it cannot does a runaway evaluation end the watch.
fn restart(last: &platc::watch::Snapshot, may_restart: &mut bool) -> Option<i32> {
    let why = restart::needed()?;
    match why {
        Why::Memory(_) if !*may_restart => return None,
        Why::Memory(n) => output::note(&format!(
            "restarting the watch to release the memory of {n} platform evaluations (nickel-lang-core keeps part of each until the process ends)"
        )),
        Why::Runaway => output::note(
            "restarting the watch: the platform's evaluation that ran out of time is still running, and only a new process stops it",
        ),
    }
    let failed = restart::exec(&platc::watch::digest(last));
    if why != Why::Runaway {
        output::note(&format!("cannot restart the watch ({failed}); it goes on"));
        *may_restart = false;
        return None;
    }
    output::print_diagnostics(&platc::diag::Diagnostics::from(
        platc::diag::Diagnostic::error(
            platc::diag::Code::NickelError,
            Some(platc::diag::Span::file("platform/main.ncl")),
            format!("stopping the watch: the platform's evaluation that ran out of time is still running, and platc cannot restart to stop it ({failed})"),
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::super::{Cli, Command};
    use super::restart::RESUME_FLAG;

    /// The flag a restart writes is the one `build` reads.
    #[test]
    fn a_restarted_watch_reads_the_digest_it_was_given() {
        let cli = Cli::try_parse_from(["platc", "build", "--watch", RESUME_FLAG, "sha256:d"])
            .expect("the resume flag parses");
        let Command::Build(b) = cli.command else {
            panic!("not a build");
        };
        assert_eq!(b.watch_resume.as_deref(), Some("sha256:d"));
        assert!(
            Cli::try_parse_from(["platc", "build", RESUME_FLAG, "d"]).is_err(),
            "the resume flag without --watch"
        );
    }
}
