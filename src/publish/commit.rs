//! One attempt's commit: a scratch checkout of the branch tip, the tree written into it with
//! `emit` (so ownership works as for `platc build`), the changes that makes, and a commit made
//! with plumbing so that the same inputs on the same parent give the same commit id.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::git::{git_ok, path_str, remote_tip};
use super::message::commit_message;
use super::{Change, ChangeKind, FIXED_DATE, METADATA_PATH, Options, PublishError};
use crate::emit::{self, INDEX_PATH, IndexMeta, Tree};

/// A scratch work tree and the branch tip it holds (`None`: the branch does not exist yet).
pub(super) struct Checkout {
    pub(super) work: PathBuf,
    pub(super) parent: Option<String>,
}

/// A fresh repository in `scratch` (named after attempt `n`) holding the tip of `branch` of
/// `repo`, fetched at depth 1.
pub(super) fn checkout(
    scratch: &Path,
    n: u32,
    repo: &str,
    branch: &str,
) -> Result<Checkout, PublishError> {
    let gitdir = scratch.join(format!("git-{n}"));
    let work = scratch.join(format!("work-{n}"));
    git_ok(
        scratch,
        &[
            "init",
            "-q",
            "--separate-git-dir",
            path_str(&gitdir)?,
            path_str(&work)?,
        ],
        &[],
    )?;
    let parent = match remote_tip(&work, repo, branch)? {
        None => None,
        Some(_) => {
            let tracking = format!("refs/remotes/origin/{branch}");
            let spec = format!("+refs/heads/{branch}:{tracking}");
            git_ok(
                &work,
                &["fetch", "-q", "--no-tags", "--depth=1", repo, &spec],
                &[],
            )?;
            // The fetched tip, not the listed one: the branch may have moved in between.
            let tip = git_ok(&work, &["rev-parse", "--verify", &tracking], &[])?;
            git_ok(&work, &["reset", "-q", "--hard", &tip], &[])?;
            Some(tip)
        }
    };
    Ok(Checkout { work, parent })
}

/// What writing the tree into the checkout changed.
pub(super) struct Staged {
    /// Sorted by path, provenance files excluded.
    pub(super) changes: Vec<Change>,
    /// The files platc owns (its index, which `changes` leaves out) are not the same as before:
    /// a file can change hands without changing bytes.
    pub(super) ownership_changed: bool,
}

/// Writes `tree` under `sub` of the checkout and stages everything there.
pub(super) fn stage(
    work: &Path,
    sub: &str,
    tree: &Tree,
    opts: &Options,
) -> Result<Staged, PublishError> {
    let out_dir = if sub.is_empty() {
        work.to_path_buf()
    } else {
        work.join(sub)
    };
    let owned_before = owned_manifests(emit::read_index(&out_dir)?);
    let meta = IndexMeta {
        platc_version: opts.platc_version.clone(),
        source_commit: opts.source.commit_label(),
    };
    emit::emit(&out_dir, tree, &meta)?;
    let owned_after = owned_manifests(emit::read_index(&out_dir)?);

    // `work/.git` is the file naming the scratch repository: were it gone, git would look for a
    // repository above the scratch directory and stage the tree into whatever it found (a
    // tampered index once had emit delete it; such an index is refused now).
    if !fs::symlink_metadata(work.join(".git")).is_ok_and(|m| m.is_file()) {
        return Err(PublishError::Git {
            command: "add".into(),
            detail: format!(
                "the scratch checkout `{}` lost its `.git` file while the tree was written into it",
                work.display()
            ),
            help: Some("this is a bug in platc; nothing was committed or pushed".into()),
        });
    }
    let pathspec = if sub.is_empty() { "." } else { sub };
    git_ok(work, &["add", "-A", "-f", "--", pathspec], &[])?;
    let diff = git_ok(
        work,
        &[
            "diff",
            "--cached",
            "--name-status",
            "-z",
            "--no-renames",
            "--",
            pathspec,
        ],
        &[],
    )?;
    Ok(Staged {
        changes: parse_name_status(&diff, sub),
        ownership_changed: owned_before != owned_after,
    })
}

/// Commits the staged tree on `parent` with `commit-tree`: no hooks, no signing, identities and
/// dates fixed. Returns the commit id and its message.
pub(super) fn commit(
    scratch: &Path,
    n: u32,
    work: &Path,
    staged: &Staged,
    parent: Option<&str>,
    opts: &Options,
) -> Result<(String, String), PublishError> {
    let message = commit_message(&staged.changes, &opts.source, &opts.platc_version);
    let msg_file = scratch.join(format!("message-{n}"));
    fs::write(&msg_file, &message).map_err(|source| PublishError::Io {
        op: "write",
        path: msg_file.clone(),
        source,
    })?;
    let tree_id = git_ok(work, &["write-tree"], &[])?;
    let date = opts.source.date.as_deref().unwrap_or(FIXED_DATE);
    let envs = [
        ("GIT_AUTHOR_NAME", opts.author.name.as_str()),
        ("GIT_AUTHOR_EMAIL", opts.author.email.as_str()),
        ("GIT_AUTHOR_DATE", date),
        ("GIT_COMMITTER_NAME", opts.committer.name.as_str()),
        ("GIT_COMMITTER_EMAIL", opts.committer.email.as_str()),
        ("GIT_COMMITTER_DATE", date),
    ];
    let mut args = vec!["commit-tree", "--no-gpg-sign", tree_id.as_str()];
    if let Some(p) = parent {
        args.extend(["-p", p]);
    }
    args.extend(["-F", path_str(&msg_file)?]);
    let commit = git_ok(work, &args, &envs)?;
    Ok((commit, message))
}

/// The index's files without the provenance file (whose content changes with every source commit).
fn owned_manifests(index: Option<emit::Index>) -> Option<BTreeMap<String, String>> {
    index.map(|i| {
        i.files
            .into_iter()
            .filter(|(p, _)| p != METADATA_PATH)
            .collect()
    })
}

/// `git diff --name-status -z` output → changes relative to the tree root, provenance excluded.
fn parse_name_status(z: &str, sub: &str) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut fields = z.split('\0').filter(|f| !f.is_empty());
    while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
        let rel = if sub.is_empty() {
            path
        } else {
            match path.strip_prefix(sub).and_then(|p| p.strip_prefix('/')) {
                Some(p) => p,
                None => continue,
            }
        };
        if rel == METADATA_PATH || rel == INDEX_PATH {
            continue;
        }
        let kind = match status.as_bytes().first() {
            Some(b'A') => ChangeKind::Added,
            Some(b'D') => ChangeKind::Removed,
            _ => ChangeKind::Changed,
        };
        changes.push(Change {
            path: rel.to_string(),
            kind,
        });
    }
    changes.sort();
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::ch;

    #[test]
    fn name_status_is_relative_to_the_subdir_without_provenance() {
        let z = "M\0sub/envs/dev/a/x.yaml\0A\0sub/hydrator.metadata\0M\0sub/.platc/index.json\0D\0sub/README.md\0A\0other/y\0";
        assert_eq!(
            parse_name_status(z, "sub"),
            vec![
                ch("README.md", ChangeKind::Removed),
                ch("envs/dev/a/x.yaml", ChangeKind::Changed)
            ]
        );
    }
}
