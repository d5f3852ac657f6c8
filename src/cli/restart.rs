//! `build --watch` starting itself afresh: `exec` of the same binary with the same arguments
//! keeps the process id, the terminal and the open output streams, and drops everything the old
//! process held. Two things end only with the process: a Nickel evaluation that ran out of time
//! (nickel-lang-core cannot be interrupted) and the part of every evaluation's memory
//! nickel-lang-core keeps (`platc::load::platform::evaluations_started`).

use std::ffi::OsString;

/// The hidden `build` flag of a restarted watch: the digest of the workspace as its predecessor
/// last built it (`platc::watch::digest`), so that it builds at once only if something changed
/// in between.
pub const RESUME_FLAG: &str = "--watch-resume";
/// Platform evaluations after which a watch restarts (about 3 MB kept of each for the reference
/// platform, more for a larger one). Between them the platform's kept evaluation answers, so
/// only saves of the platform's own files count.
const RESTART_AFTER: usize = 16;
/// Overrides [`RESTART_AFTER`].
pub const RESTART_VAR: &str = "PLATC_WATCH_RESTART_AFTER";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Why {
    /// An evaluation that ran out of time is still running.
    Runaway,
    /// This many evaluations' memory is held.
    Memory(usize),
}

/// Whether the watch should start afresh before it waits for the next change.
pub fn needed() -> Option<Why> {
    if platc::load::platform::evaluations_running() > 0 {
        return Some(Why::Runaway);
    }
    let limit = std::env::var(RESTART_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(RESTART_AFTER);
    let started = platc::load::platform::evaluations_started();
    (started >= limit).then_some(Why::Memory(started))
}

/// Replaces this process with a watch resumed at `digest`; returns only when that failed.
pub fn exec(digest: &str) -> std::io::Error {
    let args = resumed_args(std::env::args_os().skip(1), digest);
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::process::CommandExt;
        let _ = std::io::stdout().flush();
        match std::env::current_exe() {
            Ok(exe) => std::process::Command::new(exe).args(args).exec(),
            Err(e) => e,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = args;
        std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "a process cannot replace itself on this system",
        )
    }
}

/// The arguments of this process without an earlier resume flag, then the new one.
fn resumed_args(args: impl Iterator<Item = OsString>, digest: &str) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut skip_value = false;
    for arg in args {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        if arg == RESUME_FLAG {
            skip_value = true;
            continue;
        }
        let joined = format!("{RESUME_FLAG}=");
        if arg.to_str().is_some_and(|a| a.starts_with(&joined)) {
            continue;
        }
        out.push(arg);
    }
    out.push(RESUME_FLAG.into());
    out.push(digest.into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_resumed_watch_keeps_its_arguments_and_only_the_newest_digest() {
        let first = resumed_args(
            args(&["-q", "build", "--watch", "-C", "ws"]).into_iter(),
            "d1",
        );
        assert_eq!(
            first,
            args(&["-q", "build", "--watch", "-C", "ws", RESUME_FLAG, "d1"])
        );
        let second = resumed_args(first.into_iter(), "d2");
        assert_eq!(
            second,
            args(&["-q", "build", "--watch", "-C", "ws", RESUME_FLAG, "d2"])
        );
        let joined = resumed_args(
            args(&["build", "--watch-resume=d0", "--watch"]).into_iter(),
            "d3",
        );
        assert_eq!(joined, args(&["build", "--watch", RESUME_FLAG, "d3"]));
    }
}
