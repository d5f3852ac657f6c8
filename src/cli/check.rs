use clap::Args;

use platc::policy::{self, Report, report};

use super::{EXIT_FINDINGS, EXIT_OK, Workspace, output};

#[derive(Args)]
#[command(
    after_help = "Examples:\n  platc check                    every error and policy finding, for people\n  platc check --format sarif > platc.sarif   for GitHub code scanning\n  platc check --format markdown  a pull-request comment\n\nA workload waives a policy with the annotation `platc.dev/waive.<policy>: \"<reason>\"`.\nExit codes: 0 no errors (warnings and waived findings allowed), 1 errors or findings of severity error."
)]
pub struct CheckArgs {
    #[command(flatten)]
    pub(super) ws: Workspace,
    /// Output format of the findings.
    #[arg(long, value_parser = ["text", "json", "sarif", "markdown"], default_value = "text")]
    format: String,
}

/// Load, run `team-exists`, compile what can be compiled, run the other policies.
pub fn run(a: CheckArgs) -> i32 {
    let policy::Checked {
        counts,
        report,
        diags,
    } = policy::check_workspace(&a.ws.dir, &a.ws.options(None));
    match a.format.as_str() {
        "json" => println!("{}", report::json(&report, &diags)),
        "sarif" => println!("{}", report::sarif(&report, &diags)),
        "markdown" => print!("{}", report::markdown(&report, &diags)),
        _ => {
            print_findings(&report);
            output::print_diagnostics(&diags);
            if let Some(line) = report::schema_coverage(&report) {
                output::note(&format!("note: {line}"));
            }
            match counts {
                Some((w, e, o)) if diags.is_empty() && !report.has_errors() => {
                    output::info(&format!(
                        "ok: {w} workloads, {e} environments, {o} objects; {}",
                        report::summary(&report)
                    ))
                }
                _ if !report.findings.is_empty() => {
                    eprintln!("{}", report::summary(&report))
                }
                _ => {}
            }
        }
    }
    if diags.has_errors() || report.has_errors() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// Findings as text on stderr, beside the compiler's diagnostics; colour as `output` does.
fn print_findings(r: &Report) {
    let text = report::text(r);
    if !output::colour() {
        eprint!("{text}");
        return;
    }
    for line in text.lines() {
        let line = if line.starts_with(' ') {
            line.to_string()
        } else {
            line.replacen(": error[", ": \x1b[1;31merror\x1b[0m[", 1)
                .replacen(": warning[", ": \x1b[1;33mwarning\x1b[0m[", 1)
                .replacen(": waived[", ": \x1b[2mwaived\x1b[0m[", 1)
        };
        eprintln!("{line}");
    }
}
