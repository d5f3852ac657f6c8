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
    let meta = platc::emit::IndexMeta {
        platc_version: env!("CARGO_PKG_VERSION").to_string(),
        source_commit: None,
    };
    match platc::build::build(&a.ws.dir, &out, &a.ws.options(Some(out.clone())), &meta) {
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
            println!(
                "wrote {} ({} files: {} written, {} unchanged, {} removed){how}",
                out.display(),
                r.files,
                r.emit.written.len(),
                r.emit.unchanged.len(),
                r.emit.removed.len(),
            );
            EXIT_OK
        }
        Err(d) => {
            output::print_diagnostics(&d);
            EXIT_INPUT
        }
    }
}
