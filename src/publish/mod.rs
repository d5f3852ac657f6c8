//! `platc publish`: commits a rendered tree to a branch of a GitOps repository.
//!
//! Mechanism: the `git` CLI (see the "Git" section of ARCHITECTURE.md). Push and fetch then use
//! the user's credential helpers, SSH config and hooks exactly as `git push` would.
//!
//! One attempt: a fresh scratch repository fetches the branch tip (depth 1; a missing branch
//! becomes an orphan commit), `emit::emit` writes the tree into the checkout (under `path`), so
//! ownership works as for `platc build`: files listed in the checkout's `.platc/index.json` are
//! replaced or pruned, everything else is kept. The commit is made with plumbing (`write-tree`,
//! `commit-tree`): no local hooks, no signing, author/committer and both dates fixed, so the same
//! inputs on the same parent give the same commit id. The push is a plain fast-forward push: when
//! the branch moved meanwhile, the attempt is discarded and the same tree is applied again on the
//! new tip, at most `max_retries` times. Nothing is ever force-pushed.
//!
//! "No change" ignores the provenance files (`hydrator.metadata`, the index's source commit and
//! platc version): a new source commit that renders the same manifests makes no commit, so
//! `drySha` names the first source commit that produced the published tree.

mod commit;
mod error;
mod git;
mod inputs;
mod message;
mod metadata;
mod push;
mod scratch;
mod workspace;

use std::fs;
use std::time::Duration;

use crate::emit::Tree;

pub use error::PublishError;
pub use git::redact_url;
pub use inputs::normalise_subdir;
pub use message::commit_message;
pub use metadata::{METADATA_PATH, metadata};
pub use workspace::{Identity, Source, detect_source, git_identities};

use inputs::{check_branch, resolve_repo};
use push::{Attempt, attempt};
use scratch::{Scratch, random_u64};

/// Commit date when there is no source commit to take it from (keeps commits reproducible).
pub const FIXED_DATE: &str = "@0 +0000";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// A local path (bare repository or not) or a URL `git` understands.
    pub repo: String,
    pub branch: String,
    /// Directory of the repository the tree is written into; `None` = the repository root.
    pub path: Option<String>,
    pub source: Source,
    pub author: Identity,
    pub committer: Identity,
    /// Further attempts after the push was rejected because the branch moved.
    pub max_retries: u32,
    /// Make the commit in the scratch repository but do not push it.
    pub dry_run: bool,
    pub platc_version: String,
    /// The commands that render the tree, recorded in `hydrator.metadata`.
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Added,
    Changed,
    Removed,
}

/// One file the commit changes; `path` is relative to the published tree's root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new commit is on the branch.
    Published,
    /// The branch already holds this rendering; no commit was made.
    Unchanged,
    /// The commit was made in the scratch repository only.
    DryRun,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub outcome: Outcome,
    /// The new commit (published or dry run); for `Unchanged` the branch tip, if the branch exists.
    pub commit: Option<String>,
    /// The branch tip the commit was made on (`None`: a new orphan branch).
    pub parent: Option<String>,
    pub message: Option<String>,
    /// Sorted by path; provenance files (`hydrator.metadata`, the index) are not listed.
    pub changes: Vec<Change>,
    /// Attempts repeated because the branch moved.
    pub retries: u32,
}

/// Renders nothing itself: writes `tree` (plus `hydrator.metadata`) into `opts.branch` of
/// `opts.repo` and pushes one commit, or none when nothing changed.
pub fn publish(tree: &Tree, opts: &Options) -> Result<Report, PublishError> {
    let repo = resolve_repo(&opts.repo)?;
    check_branch(&opts.branch)?;
    let sub = normalise_subdir(opts.path.as_deref())?;
    if tree.files.contains_key(METADATA_PATH) {
        return Err(PublishError::Invalid {
            message: format!("the rendered tree already has a `{METADATA_PATH}`"),
            help: Some("publish writes that file itself; rename the object".into()),
        });
    }
    let mut full = tree.clone();
    full.files.insert(
        METADATA_PATH.into(),
        metadata(&opts.source, &opts.platc_version, &opts.commands),
    );
    let scratch = Scratch::new()?;
    let mut retries = 0;
    loop {
        match attempt(&scratch.0, retries, &repo, &sub, &full, opts)? {
            Attempt::Done(mut report) => {
                report.retries = retries;
                return Ok(report);
            }
            Attempt::Raced if retries < opts.max_retries => {
                // The next attempt starts from a fresh clone; this one's files are dead weight.
                for dir in ["git", "work"] {
                    let _ = fs::remove_dir_all(scratch.0.join(format!("{dir}-{retries}")));
                }
                retries += 1;
                std::thread::sleep(backoff(retries));
            }
            Attempt::Raced => {
                return Err(PublishError::Contended {
                    repo: redact_url(&opts.repo),
                    branch: opts.branch.clone(),
                    attempts: retries + 1,
                });
            }
        }
    }
}

/// 20 ms doubling per retry up to 640 ms, each drawn uniformly from its upper half so that
/// publishers that collided once do not collide again in lockstep.
fn backoff(retry: u32) -> Duration {
    let cap = 20u64 << retry.min(5);
    Duration::from_millis(cap / 2 + random_u64() % (cap / 2 + 1))
}

/// A change, for the tests of the parts that list them.
#[cfg(test)]
fn ch(path: &str, kind: ChangeKind) -> Change {
    Change {
        path: path.into(),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_grows() {
        for r in 1..10 {
            let d = backoff(r).as_millis() as u64;
            let cap = 20u64 << r.min(5);
            assert!(d >= cap / 2 && d <= cap, "retry {r}: {d}ms");
        }
    }
}
