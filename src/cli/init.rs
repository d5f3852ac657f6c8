use std::path::PathBuf;

use clap::Args;

use super::{EXIT_INPUT, EXIT_OK, output};

#[derive(Args)]
pub struct InitArgs {
    /// Directory of the new workspace (created if missing).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The GitOps repository the rendered tree is published to (what the Argo CD Applications
    /// sync); default: a placeholder to edit in platform/main.ncl.
    #[arg(long, value_name = "URL")]
    repo: Option<String>,
}

pub fn run(a: InitArgs) -> i32 {
    match platc::init::init(&a.dir, a.repo.as_deref()) {
        Ok(files) => {
            for f in &files {
                output::detail(&format!("  created {}", f.display()));
            }
            output::info(&format!(
                "created a platc workspace in {} ({} files: the platform in platform/, one workload in workloads/hello/)",
                a.dir.display(),
                files.len()
            ));
            let cd = if a.dir == std::path::Path::new(".") {
                String::new()
            } else {
                format!(" -C {}", a.dir.display())
            };
            output::info(&format!(
                "next: platc build{cd}   (then look at out/, and `platc explain` any file in it)"
            ));
            EXIT_OK
        }
        Err(d) => {
            output::print_diagnostics(&d);
            EXIT_INPUT
        }
    }
}
