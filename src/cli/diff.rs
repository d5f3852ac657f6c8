//! platc diff: a fresh rendering compared with a directory, another Git revision or a published
//! branch, as a unified diff, a pull-request comment or JSON.
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{ArgGroup, Args};
use platc::diag::Diagnostics;
use platc::diff::{self, Diff, Files, MarkdownOptions};
use platc::pipeline::{Compilation, Options};

use super::{EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, Workspace, output};

#[derive(Args)]
#[command(
    group(ArgGroup::new("source").required(true).args(["against", "base", "repo"])),
    after_help = "Examples:\n  platc diff --base origin/main --format markdown > preview.md\n  platc diff --against ../gitops/clusters/acme --exit-code\n  platc diff --repo https://github.com/acme/gitops --branch main --path clusters/acme\n\nExit codes: 0 ok (with --exit-code: no changes), 1 changes (with --exit-code), 2 usage or input error."
)]
pub struct DiffArgs {
    #[command(flatten)]
    pub(super) ws: Workspace,
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
    let Old {
        mut files,
        against,
        compilation: old_comp,
    } = match old_side(&a, &opts, &fresh) {
        Ok(old) => old,
        Err(code) => return code,
    };
    diff::only_envs(&mut files, &a.ws.envs);
    diff::only_envs(&mut new_files, &a.ws.envs);

    let mut d = diff::diff_trees(&files, &new_files);
    d.fill_planes(&fresh);
    if let Some(old) = &old_comp {
        d.fill_planes(old);
    }
    print_diff(&a.format, &d, &fresh, old_comp.as_ref(), against);
    if a.exit_code && !d.is_empty() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// The side compared with, and how the report names it.
struct Old {
    files: Files,
    against: String,
    /// A `--base` rendering, kept for the graph of removed nodes.
    compilation: Option<Compilation>,
}

/// The tree of `--base`, `--against` or `--repo`; an error is printed and its exit code returned.
fn old_side(a: &DiffArgs, opts: &Options, fresh: &Compilation) -> Result<Old, i32> {
    if let Some(rev) = &a.base {
        match diff::render_base(&a.ws.dir, rev, opts, fresh, None) {
            Ok(base) => {
                let short: String = base.commit.chars().take(12).collect();
                Ok(Old {
                    files: base.files,
                    against: format!("`{rev}` ({short})"),
                    compilation: Some(base.compilation),
                })
            }
            Err(diff::BaseError::Checkout(d)) => Err(fail(&d)),
            Err(diff::BaseError::Compile { commit, diags }) => {
                eprintln!(
                    "error: the workspace does not compile at `{rev}` ({commit}), so there is nothing to compare with:"
                );
                Err(fail(&diags))
            }
        }
    } else if let Some(dir) = &a.against {
        let files = diff::read_tree(dir).map_err(|d| fail(&d))?;
        Ok(Old {
            files,
            against: format!("`{}`", dir.display()),
            compilation: None,
        })
    } else if let Some(url) = &a.repo {
        let files = diff::fetch_published(url, a.branch.as_deref(), a.subdir.as_deref())
            .map_err(|d| fail(&d))?;
        let mut against = format!("`{url}`");
        if let Some(b) = &a.branch {
            against.push_str(&format!(" branch `{b}`"));
        }
        if let Some(p) = &a.subdir {
            against.push_str(&format!(" path `{p}`"));
        }
        Ok(Old {
            files,
            against,
            compilation: None,
        })
    } else {
        // clap requires one of the three.
        Err(EXIT_INPUT)
    }
}

fn print_diff(
    format: &str,
    d: &Diff,
    fresh: &Compilation,
    old_comp: Option<&Compilation>,
    against: String,
) {
    match format {
        "json" => {
            let mut j = serde_json::to_string_pretty(&diff::to_json(d)).unwrap_or_default();
            j.push('\n');
            write_out(&j);
        }
        "markdown" => {
            let graphs = diff::affected(d, fresh, old_comp);
            write_out(&diff::to_markdown(
                d,
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
            write_out(&diff::to_text(d, colour));
        }
    }
}
