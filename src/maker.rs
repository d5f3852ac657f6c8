//! Whether the process that made a scratch file or directory (its PID in the name) still runs,
//! for the sweeps that remove what killed runs left behind (emit's staging directories, cache
//! temporaries, publish's scratch clones).
//!
//! `kill(pid, 0)` alone says yes to a zombie (killed, not yet reaped: common under a supervisor
//! that reaps late) and to an unrelated process that was given the PID again (common in
//! containers, whose PIDs are small and reused quickly); either kept every later build failing
//! with "another platc process is writing" (found by a red-team session). On Linux the
//! process's state and start time settle both.

use std::path::Path;

/// Whether process `pid` is running and could have made `made` (it started no later than
/// `made` was last modified). Where the system cannot tell more, a process that exists counts.
#[cfg(unix)]
pub fn maker_alive(pid: u32, made: &Path) -> bool {
    let Ok(id) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if id <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let r = unsafe { libc::kill(id, 0) };
    let exists = r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists && !proc_fs::not_the_maker(pid, made)
}

#[cfg(not(unix))]
pub fn maker_alive(_pid: u32, _made: &Path) -> bool {
    false
}

#[cfg(unix)]
mod proc_fs {
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    /// A zombie, or a process that started after `made` was last modified (so another one
    /// holds the PID now). `false` whenever `/proc` cannot say.
    pub(super) fn not_the_maker(pid: u32, made: &Path) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // `pid (comm) state ...`: the command may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
            return true;
        }
        // Field 22 of the line, the start time in clock ticks after boot, is the 20th after
        // the command.
        let (Some(start_ticks), Some(boot), Ok(modified)) = (
            fields.get(19).and_then(|t| t.parse::<u64>().ok()),
            boot_time(),
            std::fs::symlink_metadata(made).and_then(|m| m.modified()),
        ) else {
            return false;
        };
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let Ok(ticks) = u64::try_from(ticks) else {
            return false;
        };
        if ticks == 0 {
            return false;
        }
        let started = boot + Duration::from_millis(start_ticks * 1000 / ticks);
        // The boot time has whole seconds: two of slack.
        started > modified + Duration::from_secs(2)
    }

    fn boot_time() -> Option<SystemTime> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let secs = stat
            .lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse::<u64>()
            .ok()?;
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_made_what_it_just_wrote_and_a_later_process_did_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let made = dir.path().join("made");
        std::fs::write(&made, "").expect("write");
        assert!(maker_alive(std::process::id(), &made));
        // A file last modified before this process started: its maker must be another process
        // that held this PID before.
        let old = std::fs::File::options()
            .write(true)
            .open(&made)
            .expect("open");
        old.set_modified(
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000),
        )
        .expect("set mtime");
        #[cfg(target_os = "linux")]
        assert!(!maker_alive(std::process::id(), &made));
        assert!(!maker_alive(0, &made));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_zombie_made_nothing_that_is_still_being_made() {
        let dir = tempfile::tempdir().expect("tempdir");
        let made = dir.path().join("made");
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        std::fs::write(&made, "").expect("write");
        // Not reaped yet: a zombie once it exits.
        let pid = child.id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while maker_alive(pid, &made) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!maker_alive(pid, &made), "a zombie counts as running");
        let _ = child.wait();
    }
}
