//! Checks of the options before anything is fetched: the repository, the branch name and the
//! `--path` directory.

use std::fs;
use std::path::Path;

use super::PublishError;
use super::git::git_ok;

/// A local repository path is made absolute (git runs in a scratch directory); a URL is kept.
pub(super) fn resolve_repo(repo: &str) -> Result<String, PublishError> {
    if repo.trim().is_empty() {
        return Err(PublishError::Invalid {
            message: "--repo is empty".into(),
            help: Some("pass a repository path or URL".into()),
        });
    }
    let p = Path::new(repo);
    if !repo.contains("://") && p.exists() {
        let abs = fs::canonicalize(p).map_err(|source| PublishError::Io {
            op: "resolve",
            path: p.to_path_buf(),
            source,
        })?;
        return abs
            .to_str()
            .map(str::to_string)
            .ok_or_else(|| PublishError::Invalid {
                message: format!("repository path `{}` is not valid UTF-8", abs.display()),
                help: None,
            });
    }
    Ok(repo.to_string())
}

pub(super) fn check_branch(branch: &str) -> Result<(), PublishError> {
    let ok = !branch.is_empty()
        && !branch.starts_with('-')
        && git_ok(
            Path::new("."),
            &["check-ref-format", &format!("refs/heads/{branch}")],
            &[],
        )
        .is_ok();
    if ok {
        Ok(())
    } else {
        Err(PublishError::Invalid {
            message: format!("`{branch}` is not a valid branch name"),
            help: Some("see `git check-ref-format --help` for the rules".into()),
        })
    }
}

/// The `--path` directory as clean `/`-separated components; `""` for the repository root.
pub fn normalise_subdir(path: Option<&str>) -> Result<String, PublishError> {
    let Some(path) = path else {
        return Ok(String::new());
    };
    let trimmed = path.trim_end_matches('/');
    let mut parts = Vec::new();
    for c in trimmed.split('/') {
        let bad = match c {
            "" if parts.is_empty() && trimmed.starts_with('/') => {
                Some("is absolute (it is a directory inside the repository)")
            }
            "" | "." => None,
            ".." => Some("contains `..`"),
            ".git" => Some("is inside `.git`"),
            c if c.contains(['\\', '\0']) => Some("contains `\\` or NUL"),
            _ => {
                parts.push(c);
                None
            }
        };
        if let Some(reason) = bad {
            return Err(PublishError::Invalid {
                message: format!("--path `{path}` {reason}"),
                help: Some("use a relative directory such as `clusters/prod`".into()),
            });
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdir_is_normalised_or_rejected() {
        assert_eq!(normalise_subdir(None).expect("none"), "");
        assert_eq!(
            normalise_subdir(Some("./clusters//prod/")).expect("ok"),
            "clusters/prod"
        );
        for (bad, why) in [
            ("../x", "contains `..`"),
            ("/abs", "is absolute"),
            ("a/.git/b", "is inside `.git`"),
        ] {
            let err = normalise_subdir(Some(bad)).expect_err(bad).to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
