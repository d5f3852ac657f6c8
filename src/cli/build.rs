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
}

pub fn run(a: BuildArgs) -> i32 {
    let out = a.out.clone().unwrap_or_else(|| a.ws.dir.join("out"));
    let comp = match platc::pipeline::compile(
        &a.ws.dir,
        &platc::pipeline::Options {
            bytes_only: true,
            ..a.ws.options(Some(out.clone()))
        },
    ) {
        Ok(c) => c,
        Err(d) => {
            output::print_diagnostics(&d);
            return EXIT_INPUT;
        }
    };
    let tree = comp.tree();
    let meta = platc::emit::IndexMeta {
        platc_version: env!("CARGO_PKG_VERSION").to_string(),
        source_commit: None,
    };
    match platc::emit::emit(&out, &tree, &meta) {
        Ok(report) => {
            println!(
                "wrote {} ({} files: {} written, {} unchanged, {} removed)",
                out.display(),
                tree.files.len(),
                report.written.len(),
                report.unchanged.len(),
                report.removed.len()
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_INPUT
        }
    }
}
