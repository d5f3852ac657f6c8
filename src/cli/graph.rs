use clap::Args;

use super::{EXIT_INPUT, EXIT_OK, Workspace, output};

#[derive(Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub(super) ws: Workspace,
    /// Output format.
    #[arg(long, value_parser = ["dot", "mermaid", "json"], default_value = "dot")]
    format: String,
}

pub fn run(a: GraphArgs) -> i32 {
    let comp = match platc::pipeline::compile(&a.ws.dir, &a.ws.options(None)) {
        Ok(c) => c,
        Err(d) => {
            output::print_diagnostics(&d);
            return EXIT_INPUT;
        }
    };
    match a.format.as_str() {
        "json" => {
            let v: Vec<serde_json::Value> = comp.envs.iter().map(|e| e.graph.to_json()).collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"environments": v}))
                    .unwrap_or_default()
            );
        }
        "mermaid" => {
            for e in &comp.envs {
                println!("%% environment {}\n{}", e.graph.env, e.graph.to_mermaid());
            }
        }
        _ => {
            for e in &comp.envs {
                print!("{}", e.graph.to_dot());
            }
        }
    }
    EXIT_OK
}
