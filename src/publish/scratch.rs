//! Private scratch directories for the attempts, and the little randomness publishing needs.

use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::PublishError;

static SCRATCH_SEQ: AtomicU64 = AtomicU64::new(0);

/// A private temporary directory, removed on drop.
///
/// A publish killed outright (SIGKILL, OOM killer, a cancelled CI job) never drops it. So that
/// such leftovers do not pile up in the temporary directory, each scratch directory holds
/// `.lock`, locked (`flock`) for as long as its process lives; the next publish deletes every
/// `platc-publish-*` directory whose lock it can take. The kernel releases the lock when the
/// process dies, whatever its PID namespace (a PID check would see a publish in another
/// container sharing `/tmp` as dead). The directory is made and locked under a hidden name and
/// only then renamed to what the sweep looks at, so it never sees one not yet locked.
pub(super) struct Scratch(
    pub(super) PathBuf,
    // Never read: held open, it holds the lock until the directory is gone.
    #[allow(dead_code)] Option<fs::File>,
);

const PREFIX: &str = "platc-publish-";
const LOCK: &str = ".lock";

impl Scratch {
    pub(super) fn new() -> Result<Scratch, PublishError> {
        let base = std::env::temp_dir();
        sweep(&base);
        loop {
            let n = SCRATCH_SEQ.fetch_add(1, Ordering::Relaxed);
            let name = format!(
                "{PREFIX}{}-{n}-{:x}",
                std::process::id(),
                random_u64() & 0xffff_ffff
            );
            let dir = base.join(&name);
            let making = base.join(format!(".{name}"));
            let io = |op, path: &PathBuf| {
                let path = path.clone();
                move |source| PublishError::Io { op, path, source }
            };
            match fs::create_dir(&making) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io("create directory", &making)(e)),
            }
            let lock = lock(&making.join(LOCK));
            if lock.is_none() {
                // An unlocked lock file would tell a sweep this live directory is dead.
                let _ = fs::remove_file(making.join(LOCK));
            }
            if dir.exists() {
                let _ = fs::remove_dir_all(&making);
                continue;
            }
            if let Err(e) = fs::rename(&making, &dir) {
                let _ = fs::remove_dir_all(&making);
                return Err(io("create directory", &dir)(e));
            }
            return Ok(Scratch(dir, lock));
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Creates `path` and takes its lock; `None` where locks are not available (the directory is
/// then never swept).
#[cfg(unix)]
fn lock(path: &std::path::Path) -> Option<fs::File> {
    use std::os::fd::AsRawFd;
    let file = fs::File::create(path).ok()?;
    // SAFETY: flock on a descriptor that stays open for the duration of the call.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    (r == 0).then_some(file)
}

#[cfg(not(unix))]
fn lock(_path: &std::path::Path) -> Option<fs::File> {
    None
}

/// Deletes the scratch directories of publishes that died without cleaning up: those whose
/// lock can be taken, and hidden ones (killed before their rename) whose maker is gone. One
/// without a lock file (another platc version, or a file system without locks) is left alone.
#[cfg(unix)]
fn sweep(base: &std::path::Path) {
    use std::os::fd::AsRawFd;
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(making) = name.strip_prefix('.').filter(|n| n.starts_with(PREFIX)) {
            // Killed before its rename: nothing was locked yet, so only the maker's PID tells.
            // A live maker holds this name for microseconds, and one in another PID namespace
            // that looks dead here at that moment fails its rename loudly, never silently.
            if maker(making).is_some_and(|pid| !crate::maker::maker_alive(pid, &e.path())) {
                let _ = fs::remove_dir_all(e.path());
            }
            continue;
        }
        if !name.starts_with(PREFIX) {
            continue;
        }
        let Ok(file) = fs::File::open(e.path().join(LOCK)) else {
            continue;
        };
        // SAFETY: as in `lock`.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// The PID in a scratch directory's name (`platc-publish-<pid>-<n>-<hex>`).
fn maker(name: &str) -> Option<u32> {
    name.strip_prefix(PREFIX)?.split('-').next()?.parse().ok()
}

#[cfg(not(unix))]
fn sweep(_base: &std::path::Path) {}

/// Randomness for names and backoff jitter only (std's hasher keys are randomly seeded).
pub(super) fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(SCRATCH_SEQ.load(Ordering::Relaxed));
    h.finish()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A directory of a publish killed before its rename is swept once its maker is gone; one
    /// of a live maker is not.
    #[test]
    fn hidden_scratch_of_a_dead_maker_is_swept() {
        let base = tempfile::tempdir().expect("temp dir");
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("true runs");
        let dead = child.id();
        child.wait().expect("true ends");
        let gone = base.path().join(format!(".{PREFIX}{dead}-0-abc"));
        let live = base
            .path()
            .join(format!(".{PREFIX}{}-0-abc", std::process::id()));
        fs::create_dir(&gone).expect("mkdir");
        fs::create_dir(&live).expect("mkdir");
        sweep(base.path());
        assert!(!gone.exists(), "a dead maker's directory is left");
        assert!(live.exists(), "a live maker's directory was swept");
    }
}
