//! The workspace side: where the rendered tree came from (source commit, dirtiness, repository,
//! date) and who commits it.

use std::path::Path;

use super::PublishError;
use super::git::{git_command, git_ok, is_hex, redact_url, run, stderr_text};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

impl Identity {
    /// `Name <email>`, as `git commit --author` takes it.
    pub fn parse(s: &str) -> Option<Identity> {
        let s = s.trim();
        let open = s.rfind('<')?;
        let rest = s[open + 1..].strip_suffix('>')?;
        let name = s[..open].trim();
        if name.is_empty() || rest.is_empty() || rest.contains(['<', '>', '\n']) {
            return None;
        }
        if name.contains(['<', '>', '\n']) {
            return None;
        }
        Some(Identity {
            name: name.to_string(),
            email: rest.to_string(),
        })
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} <{}>", self.name, self.email)
    }
}

/// Where the rendered tree came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    /// The full commit id of the workspace's source.
    pub commit: Option<String>,
    /// The worktree had changes not in `commit`.
    pub dirty: bool,
    /// The source repository's URL, credentials removed.
    pub repo: Option<String>,
    /// `commit`'s committer date in Git's internal format (`@<seconds> <zone>`).
    pub date: Option<String>,
}

impl Source {
    /// The commit as recorded in trailers and the index: `<sha>` or `<sha>-dirty`.
    pub fn commit_label(&self) -> Option<String> {
        self.commit.as_ref().map(|c| {
            if self.dirty {
                format!("{c}-dirty")
            } else {
                c.clone()
            }
        })
    }

    pub(super) fn short_label(&self) -> Option<String> {
        self.commit.as_ref().map(|c| {
            let short: String = c.chars().take(7).collect();
            if self.dirty {
                format!("{short}-dirty")
            } else {
                short
            }
        })
    }
}

/// The source of a workspace: `commit` and `repo` (flags) win; otherwise `git rev-parse HEAD` and
/// the `origin` remote when the workspace is inside a Git repository. Never an error: a workspace
/// outside Git simply has no source commit.
pub fn detect_source(
    workspace: &Path,
    commit: Option<&str>,
    repo: Option<&str>,
) -> Result<Source, PublishError> {
    let ws = workspace;
    let inside =
        git_ok(ws, &["rev-parse", "--is-inside-work-tree"], &[]).is_ok_and(|s| s.trim() == "true");
    let mut source = Source::default();
    match commit {
        Some(c) => {
            let c = c.trim().to_ascii_lowercase();
            if !(4..=64).contains(&c.len()) || !is_hex(&c) {
                return Err(PublishError::Invalid {
                    message: format!(
                        "--source-commit `{c}` is not a commit id (expected 4 to 64 hex digits)"
                    ),
                    help: Some("pass the full SHA, e.g. `--source-commit $GITHUB_SHA`".into()),
                });
            }
            source.commit = Some(c);
        }
        None if inside => {
            // A repository without commits has no HEAD: no source commit, not an error.
            if let Ok(head) = git_ok(ws, &["rev-parse", "--verify", "-q", "HEAD^{commit}"], &[]) {
                source.commit = Some(head);
                // Only this workspace's files matter (the repository may hold more).
                let status = git_ok(ws, &["status", "--porcelain", "--", "."], &[])?;
                source.dirty = !status.trim().is_empty();
            }
        }
        None => {}
    }
    if let (true, Some(c)) = (inside, &source.commit) {
        // The flag's commit may be unknown to a shallow CI checkout: then the fixed date is used.
        let spec = format!("{c}^{{commit}}");
        if let Ok(date) = git_ok(ws, &["show", "-s", "--format=%ct %cz", &spec, "--"], &[])
            && !date.is_empty()
        {
            source.date = Some(format!("@{date}"));
        }
    }
    source.repo = match repo {
        Some(r) => Some(redact_url(r.trim())),
        None if inside => git_ok(ws, &["remote", "get-url", "origin"], &[])
            .ok()
            .filter(|u| !u.is_empty())
            .map(|u| redact_url(&u)),
        None => None,
    };
    Ok(source)
}

/// Author and committer as `git commit` in the workspace would pick them (environment
/// variables, then repository, global and system config).
pub fn git_identities(workspace: &Path) -> Result<(Identity, Identity), PublishError> {
    let one = |var: &str| -> Result<Identity, PublishError> {
        let mut cmd = git_command(workspace, &["var", var]);
        let out = run(&mut cmd)?;
        let text = String::from_utf8_lossy(&out.stdout);
        // `Name <email> <seconds> <zone>`: the date is dropped, publish fixes its own.
        let ident = text.trim().rsplitn(3, ' ').nth(2).and_then(Identity::parse);
        match (out.status.success(), ident) {
            (true, Some(i)) => Ok(i),
            _ => Err(PublishError::Invalid {
                message: format!(
                    "no Git identity for the commit ({var}: {})",
                    stderr_text(&out)
                        .lines()
                        .find(|l| l.starts_with("fatal:"))
                        .unwrap_or("unknown")
                ),
                help: Some(
                    "pass --author \"Name <email>\", or set git config user.name and user.email"
                        .into(),
                ),
            }),
        }
    };
    Ok((one("GIT_AUTHOR_IDENT")?, one("GIT_COMMITTER_IDENT")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_parses_name_and_email() {
        assert_eq!(
            Identity::parse(" Platc Bot <bot@example.com> "),
            Some(Identity {
                name: "Platc Bot".into(),
                email: "bot@example.com".into()
            })
        );
        assert_eq!(Identity::parse("no email"), None);
        assert_eq!(Identity::parse("<only@email>"), None);
        assert_eq!(Identity::parse("A <b@c> trailing"), None);
    }
}
