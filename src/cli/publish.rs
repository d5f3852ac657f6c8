//! platc publish: render the workspace and commit the tree to a branch of a GitOps repository.
use clap::Args;
use platc::publish::{self, Identity, Outcome};

use super::{EXIT_INPUT, EXIT_OK, Workspace, output};

#[derive(Args)]
#[command(
    after_help = "Examples:\n  platc publish --repo git@github.com:acme/gitops.git\n  platc publish --repo ../gitops.git --branch envs --path clusters/prod --source-commit \"$GITHUB_SHA\"\n  platc publish --repo ../gitops.git --dry-run     make the commit, print it, do not push\n\nOnly files platc owns (listed in .platc/index.json of the branch) are replaced or pruned.\nA rendering identical to the branch makes no commit. Pushes are never forced: when the\nbranch moved, the tree is applied again on the new tip (at most --max-retries times)."
)]
pub struct PublishArgs {
    #[command(flatten)]
    pub(super) ws: Workspace,
    /// The GitOps repository: a local path (bare or not) or a URL git can push to.
    #[arg(long, value_name = "URL|PATH")]
    repo: String,
    /// The branch to commit to; created as an orphan branch when missing.
    #[arg(long, value_name = "BRANCH", default_value = "main")]
    branch: String,
    /// Directory of the repository that holds the tree (default: its root).
    #[arg(long, value_name = "SUBDIR")]
    path: Option<String>,
    /// The source commit (default: HEAD of the workspace's Git repository, if any).
    #[arg(long, value_name = "SHA")]
    source_commit: Option<String>,
    /// The source repository URL recorded in the commit (default: the workspace's `origin`).
    #[arg(long, value_name = "URL")]
    source_repo: Option<String>,
    /// Author and committer, "Name <email>" (default: from git config / GIT_AUTHOR_* variables).
    #[arg(long, value_name = "NAME <EMAIL>")]
    author: Option<String>,
    /// Attempts after a push rejected because the branch moved.
    #[arg(long, value_name = "N", default_value_t = 5)]
    max_retries: u32,
    /// Make the commit in a scratch clone and print it, without pushing.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(a: PublishArgs) -> i32 {
    match publish_cmd(&a) {
        Ok(code) => code,
        Err(d) => {
            output::print_diagnostics(&d);
            EXIT_INPUT
        }
    }
}

fn publish_cmd(a: &PublishArgs) -> Result<i32, platc::diag::Diagnostics> {
    let ws = &a.ws.dir;
    if !platc::load::has_own_platform(ws) {
        let help = a.ws.enclosing_hint().unwrap_or_else(|| {
            "run in the workspace (the directory holding platform/main.ncl), or name it with -C DIR"
                .to_string()
        });
        return Err(platc::diag::Diagnostic::error(
            platc::diag::Code::Io,
            None,
            format!(
                "`{}` has no platform/main.ncl: publish commits your platform's tree, never the embedded reference platform's",
                ws.display()
            ),
        )
        .with_help(help)
        .into());
    }
    let (author, committer) = identities(a)?;
    let source = publish::detect_source(ws, a.source_commit.as_deref(), a.source_repo.as_deref())?;
    let comp = platc::pipeline::compile(
        ws,
        &platc::pipeline::Options {
            bytes_only: true,
            free_models: true,
            ..a.ws.options(None)
        },
    )?;
    let tree = comp.tree();
    let mut command = String::from("platc build");
    for e in &a.ws.envs {
        command.push_str(" --env ");
        command.push_str(e);
    }
    let opts = publish::Options {
        repo: a.repo.clone(),
        branch: a.branch.clone(),
        path: a.path.clone(),
        source,
        author,
        committer,
        max_retries: a.max_retries,
        dry_run: a.dry_run,
        platc_version: env!("CARGO_PKG_VERSION").to_string(),
        commands: vec![command],
    };
    let report = publish::publish(&tree, &opts)?;
    print_report(a, &report);
    Ok(EXIT_OK)
}

/// Author and committer: `--author` for both, else Git's configuration of the workspace.
fn identities(a: &PublishArgs) -> Result<(Identity, Identity), platc::diag::Diagnostics> {
    let Some(s) = &a.author else {
        return Ok(publish::git_identities(&a.ws.dir)?);
    };
    let id = Identity::parse(s).ok_or_else(|| {
        platc::diag::Diagnostics::from(
            platc::diag::Diagnostic::error(
                platc::diag::Code::InvalidValue,
                None,
                format!("--author `{s}` is not `Name <email>`"),
            )
            .with_help("for example --author \"platc bot <platc@example.com>\""),
        )
    })?;
    Ok((id.clone(), id))
}

/// The outcome in one line (a dry run: and the commit message, indented).
fn print_report(a: &PublishArgs, report: &publish::Report) {
    let target = format!(
        "branch `{}` of {}{}",
        a.branch,
        publish::redact_url(&a.repo),
        match &a.path {
            Some(p) => format!(" (under {p})"),
            None => String::new(),
        }
    );
    let short = |c: &Option<String>| {
        c.as_deref()
            .map(|c| c.chars().take(12).collect::<String>())
            .unwrap_or_else(|| "(none)".into())
    };
    let retries = match report.retries {
        0 => String::new(),
        1 => ", after 1 retry".into(),
        n => format!(", after {n} retries"),
    };
    if report.outcome == Outcome::Unchanged {
        println!(
            "nothing changed: {target} at {} already has this rendering; no commit made{retries}",
            short(&report.commit)
        );
        return;
    }
    let count = |k| report.changes.iter().filter(|c| c.kind == k).count();
    let summary = format!(
        "{} added, {} changed, {} removed",
        count(publish::ChangeKind::Added),
        count(publish::ChangeKind::Changed),
        count(publish::ChangeKind::Removed)
    );
    if report.outcome == Outcome::DryRun {
        println!(
            "dry run: would push {} to {target} on top of {} ({summary}); nothing pushed",
            short(&report.commit),
            short(&report.parent)
        );
        if let Some(m) = &report.message {
            println!();
            for line in m.lines() {
                println!("    {line}");
            }
        }
    } else {
        println!(
            "published {} to {target} ({summary}{retries})",
            short(&report.commit)
        );
    }
}
