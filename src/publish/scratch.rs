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
/// lock can be taken. One without a lock file (another platc version, or a file system without
/// locks) is left alone.
#[cfg(unix)]
fn sweep(base: &std::path::Path) {
    use std::os::fd::AsRawFd;
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        if !e.file_name().to_string_lossy().starts_with(PREFIX) {
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

#[cfg(not(unix))]
fn sweep(_base: &std::path::Path) {}

/// Randomness for names and backoff jitter only (std's hasher keys are randomly seeded).
pub(super) fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(SCRATCH_SEQ.load(Ordering::Relaxed));
    h.finish()
}
