use clap::Args;

use super::{EXIT_INPUT, EXIT_OK, Workspace, output};

#[derive(Args)]
pub struct SchemaArgs {
    #[command(flatten)]
    pub(super) ws: Workspace,
}

pub fn run(a: SchemaArgs) -> i32 {
    match platc::load::platform_of(&a.ws.dir) {
        Ok(platform) => {
            let schema = platc::workload_schema::workload_schema(&platform);
            let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
            text.push('\n');
            print!("{text}");
            EXIT_OK
        }
        Err(d) => {
            output::print_diagnostics(&d);
            EXIT_INPUT
        }
    }
}
