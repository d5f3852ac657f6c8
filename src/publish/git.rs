//! Running `git`: commands isolated from hook-set variables and the user's line-ending and
//! signing config, errors carrying git's stderr, and credentials removed from every message.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::PublishError;

/// Variables that would point our `git` calls at another repository (set inside Git hooks).
const GIT_LOCATION_VARS: [&str; 8] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
];

pub(super) fn git_command(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    // Bytes are committed as platc wrote them, whatever the user's global config says; the C
    // locale keeps git's messages stable for the few that are parsed.
    cmd.args([
        "-c",
        "core.autocrlf=false",
        "-c",
        "core.safecrlf=false",
        "-c",
        "commit.gpgSign=false",
    ])
    .args(args)
    .current_dir(cwd)
    .env("LC_ALL", "C")
    .stdin(Stdio::null());
    for v in GIT_LOCATION_VARS {
        cmd.env_remove(v);
    }
    cmd
}

pub(super) fn run(cmd: &mut Command) -> Result<Output, PublishError> {
    cmd.output().map_err(PublishError::NoGit)
}

pub(super) fn describe(args: &[&str]) -> String {
    args.iter()
        .map(|a| redact_url(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// git's stderr without progress noise and hints, for error messages.
pub(super) fn stderr_text(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        .collect();
    if lines.is_empty() {
        format!("exit status {}", out.status.code().unwrap_or(-1))
    } else {
        lines.join("\n  ")
    }
}

/// Runs git and returns its stdout (trailing newline trimmed), or an error with its stderr.
pub(super) fn git_ok(
    cwd: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Result<String, PublishError> {
    let mut cmd = git_command(cwd, args);
    cmd.envs(envs.iter().copied());
    let out = run(&mut cmd)?;
    if !out.status.success() {
        return Err(PublishError::Git {
            command: describe(args),
            detail: redact_url(&stderr_text(&out)),
            help: None,
        });
    }
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    while s.ends_with('\n') {
        s.pop();
    }
    Ok(s)
}

/// Removes the user information (`user:token@`) from every URL in `text` (a URL or a message
/// quoting some); everything else is returned as is.
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        out.push_str(match authority.rfind('@') {
            Some(at) => &authority[at + 1..],
            None => authority,
        });
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

pub(super) fn is_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A path as a `git` argument.
pub(super) fn path_str(p: &Path) -> Result<&str, PublishError> {
    p.to_str().ok_or_else(|| PublishError::Invalid {
        message: format!("path `{}` is not valid UTF-8", p.display()),
        help: None,
    })
}

/// Tip of `branch` in `repo`, `None` when the branch does not exist.
pub(super) fn remote_tip(
    cwd: &Path,
    repo: &str,
    branch: &str,
) -> Result<Option<String>, PublishError> {
    let refname = format!("refs/heads/{branch}");
    let args = ["ls-remote", "--exit-code", repo, refname.as_str()];
    let out = run(&mut git_command(cwd, &args))?;
    match out.status.code() {
        Some(0) => {
            let text = String::from_utf8_lossy(&out.stdout);
            Ok(text
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .find(|(_, r)| *r == refname)
                .map(|(sha, _)| sha.to_string()))
        }
        // `--exit-code`: 2 means the repository answered and has no such ref.
        Some(2) => Ok(None),
        _ => Err(PublishError::Git {
            command: describe(&args),
            detail: redact_url(&stderr_text(&out)),
            help: Some("check --repo and your access to it".into()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_removed_from_urls() {
        assert_eq!(
            redact_url("https://x-access-token:ghs_abc@github.com/org/gitops.git"),
            "https://github.com/org/gitops.git"
        );
        assert_eq!(
            redact_url("https://github.com/org/a@b.git"),
            "https://github.com/org/a@b.git"
        );
        assert_eq!(
            redact_url("git@github.com:org/gitops.git"),
            "git@github.com:org/gitops.git"
        );
        assert_eq!(
            redact_url("fatal: unable to access 'https://u:t@h/x/': 403\nTo https://t@h/y\n"),
            "fatal: unable to access 'https://h/x/': 403\nTo https://h/y\n"
        );
    }
}
