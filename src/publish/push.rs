//! One attempt from fetch to push, and the push itself: a plain fast-forward push whose
//! rejection is judged by where the branch now points, never by git's wording.

use std::path::Path;

use super::commit::{Staged, checkout, commit, stage};
use super::git::{describe, git_command, redact_url, remote_tip, run, stderr_text};
use super::{Options, Outcome, PublishError, Report};
use crate::emit::Tree;

pub(super) enum Attempt {
    Done(Report),
    /// The branch moved between fetch and push.
    Raced,
}

/// Attempt `n`: the tree applied on the branch's current tip, committed and pushed.
pub(super) fn attempt(
    scratch: &Path,
    n: u32,
    repo: &str,
    sub: &str,
    tree: &Tree,
    opts: &Options,
) -> Result<Attempt, PublishError> {
    let co = checkout(scratch, n, repo, &opts.branch)?;
    let staged = stage(&co.work, sub, tree, opts)?;
    let parent = co.parent;
    if is_unchanged(&staged) && parent.is_some() {
        return Ok(Attempt::Done(Report {
            outcome: Outcome::Unchanged,
            commit: parent.clone(),
            parent,
            message: None,
            changes: staged.changes,
            retries: 0,
        }));
    }
    let (commit, message) = commit(scratch, n, &co.work, &staged, parent.as_deref(), opts)?;
    let report = |outcome| Report {
        outcome,
        commit: Some(commit.clone()),
        parent: parent.clone(),
        message: Some(message.clone()),
        changes: staged.changes.clone(),
        retries: 0,
    };
    if opts.dry_run {
        return Ok(Attempt::Done(report(Outcome::DryRun)));
    }
    match push(&co.work, repo, &opts.branch, &commit, parent.as_deref())? {
        Pushed::Landed => Ok(Attempt::Done(report(Outcome::Published))),
        Pushed::Raced => Ok(Attempt::Raced),
    }
}

fn is_unchanged(staged: &Staged) -> bool {
    staged.changes.is_empty() && !staged.ownership_changed
}

enum Pushed {
    Landed,
    /// The branch no longer points at the parent.
    Raced,
}

/// Pushes `commit` to `branch`; a refusal while the branch still points at `parent` is an error.
fn push(
    work: &Path,
    repo: &str,
    branch: &str,
    commit: &str,
    parent: Option<&str>,
) -> Result<Pushed, PublishError> {
    // A plain push: the remote accepts it only as a fast-forward of the tip we built on.
    let refspec = format!("{commit}:refs/heads/{branch}");
    let push_args = ["push", "--porcelain", repo, refspec.as_str()];
    let pushed = run(&mut git_command(work, &push_args))?;
    if pushed.status.success() {
        return Ok(Pushed::Landed);
    }
    // Decide from the branch itself, not from the wording of the rejection.
    let now = remote_tip(work, repo, branch)?;
    if now.as_deref() == Some(commit) {
        // The push landed but its answer was lost.
        return Ok(Pushed::Landed);
    }
    if now.as_deref() != parent {
        return Ok(Pushed::Raced);
    }
    let mut detail = stderr_text(&pushed);
    let porcelain = String::from_utf8_lossy(&pushed.stdout);
    if let Some(line) = porcelain.lines().find(|l| l.starts_with('!'))
        && let Some(reason) = line.rsplit('\t').next()
    {
        detail = format!("{reason}\n{detail}");
    }
    Err(PublishError::Git {
        command: describe(&push_args),
        detail: redact_url(&detail),
        help: Some(
            "the push was refused while the branch did not move: check write access, branch protection and server hooks".into(),
        ),
    })
}
