//! platc diff: a fresh rendering compared with a directory, another Git revision or a published
//! branch, as a unified diff, a pull-request comment or JSON.
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{ArgGroup, Args};
use platc::diag::Diagnostics;
use platc::diff::{self, MarkdownOptions};

use super::{EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, Workspace, output};

#[derive(Args)]
#[command(
    group(ArgGroup::new("source").required(true).args(["against", "base", "repo"])),
    after_help = "Examples:\n  platc diff --base origin/main --format markdown > preview.md\n  platc diff --against ../gitops/clusters/acme --exit-code\n  platc diff --repo https://github.com/acme/gitops --branch main --path clusters/acme\n\nExit codes: 0 ok (with --exit-code: no changes), 1 changes (with --exit-code), 2 usage or input error."
)]
pub struct DiffArgs {
    #[command(flatten)]
    ws: Workspace,
    /// Compare with a directory holding a rendered tree (`.platc/` and `.git/` are skipped).
    #[arg(long, value_name = "DIR")]
    against: Option<PathBuf>,
    /// Compare with the rendering of this workspace at a Git revision (read from Git; the
    /// working tree and index are not touched).
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// Compare with the tree published in a GitOps repository (URL or local path).
    #[arg(long, value_name = "URL|PATH")]
    repo: Option<String>,
    /// Branch of `--repo` (default: the repository's default branch).
    #[arg(long, value_name = "BRANCH", requires = "repo")]
    branch: Option<String>,
    /// Directory of the tree inside `--repo` (default: its root).
    #[arg(long = "path", value_name = "SUBDIR", requires = "repo")]
    subdir: Option<String>,
    /// Output format: a unified diff, a pull-request comment, or JSON.
    #[arg(long, value_parser = ["text", "markdown", "json"], default_value = "text")]
    format: String,
    /// Exit with 1 when something changed, 0 when nothing did.
    #[arg(long)]
    exit_code: bool,
}

/// A closed pipe (`platc diff | head`) is not an error worth a panic.
fn write_out(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes()).and_then(|()| out.flush());
}

fn fail(d: &Diagnostics) -> i32 {
    output::print_diagnostics(d);
    EXIT_INPUT
}

pub fn run(a: DiffArgs) -> i32 {
    // Diff reads files (the tree), paths and planes, never the objects' values.
    let opts = platc::pipeline::Options {
        bytes_only: true,
        ..a.ws.options(None)
    };
    let fresh = match diff::compile_head(&a.ws.dir, &opts) {
        Ok(c) => c,
        Err(d) => return fail(&d),
    };
    let mut new_files = fresh.tree().files;

    // The old compilation is kept alive for the graph of removed nodes.
    let mut old_comp = None;
    let (old_files, against) = if let Some(rev) = &a.base {
        match diff::render_base(&a.ws.dir, rev, &opts, &fresh, None) {
            Ok(base) => {
                let short: String = base.commit.chars().take(12).collect();
                old_comp = Some(base.compilation);
                (base.files, format!("`{rev}` ({short})"))
            }
            Err(diff::BaseError::Checkout(d)) => return fail(&d),
            Err(diff::BaseError::Compile { commit, diags }) => {
                eprintln!(
                    "error: the workspace does not compile at `{rev}` ({commit}), so there is nothing to compare with:"
                );
                return fail(&diags);
            }
        }
    } else if let Some(dir) = &a.against {
        match diff::read_tree(dir) {
            Ok(f) => (f, format!("`{}`", dir.display())),
            Err(d) => return fail(&d),
        }
    } else if let Some(url) = &a.repo {
        match diff::fetch_published(url, a.branch.as_deref(), a.subdir.as_deref()) {
            Ok(f) => {
                let mut what = format!("`{url}`");
                if let Some(b) = &a.branch {
                    what.push_str(&format!(" branch `{b}`"));
                }
                if let Some(p) = &a.subdir {
                    what.push_str(&format!(" path `{p}`"));
                }
                (f, what)
            }
            Err(d) => return fail(&d),
        }
    } else {
        // clap requires one of the three.
        return EXIT_INPUT;
    };
    let mut old_files = old_files;
    diff::only_envs(&mut old_files, &a.ws.envs);
    diff::only_envs(&mut new_files, &a.ws.envs);

    let mut d = diff::diff_trees(&old_files, &new_files);
    d.fill_planes(&fresh);
    if let Some(old) = &old_comp {
        d.fill_planes(old);
    }
    match a.format.as_str() {
        "json" => {
            let mut j = serde_json::to_string_pretty(&diff::to_json(&d)).unwrap_or_default();
            j.push('\n');
            write_out(&j);
        }
        "markdown" => {
            let graphs = diff::affected(&d, &fresh, old_comp.as_ref());
            write_out(&diff::to_markdown(
                &d,
                &MarkdownOptions {
                    against,
                    budget: diff::MARKDOWN_BUDGET,
                    graphs,
                },
            ));
        }
        _ => {
            let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal();
            write_out(&diff::to_text(&d, colour));
        }
    }
    if a.exit_code && !d.is_empty() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}
