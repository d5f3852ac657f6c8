use clap::Args;

use super::{EXIT_FINDINGS, EXIT_OK, Workspace, output};

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    ws: Workspace,
    /// Output format of the findings.
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    format: String,
}

pub fn run(a: CheckArgs) -> i32 {
    let result = platc::pipeline::compile(&a.ws.dir, &a.ws.options(None));
    let diags = match &result {
        Ok(_) => platc::diag::Diagnostics::new(),
        Err(d) => d.clone(),
    };
    if a.format == "json" {
        let v = serde_json::json!({"ok": result.is_ok(), "diagnostics": diags.0});
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else if let Ok(c) = &result {
        let objects = c.objects().count();
        println!(
            "ok: {} workloads, {} environments, {objects} objects",
            c.workloads.len(),
            c.envs.len()
        );
    } else {
        output::print_diagnostics(&diags);
    }
    if result.is_ok() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    }
}
