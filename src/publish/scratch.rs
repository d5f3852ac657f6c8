//! Private scratch directories for the attempts, and the little randomness publishing needs.

use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::PublishError;

static SCRATCH_SEQ: AtomicU64 = AtomicU64::new(0);

/// A private temporary directory, removed on drop.
pub(super) struct Scratch(pub(super) PathBuf);

impl Scratch {
    pub(super) fn new() -> Result<Scratch, PublishError> {
        let base = std::env::temp_dir();
        loop {
            let n = SCRATCH_SEQ.fetch_add(1, Ordering::Relaxed);
            let dir = base.join(format!(
                "platc-publish-{}-{n}-{:x}",
                std::process::id(),
                random_u64() & 0xffff_ffff
            ));
            match fs::create_dir(&dir) {
                Ok(()) => return Ok(Scratch(dir)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(source) => {
                    return Err(PublishError::Io {
                        op: "create directory",
                        path: dir,
                        source,
                    });
                }
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Randomness for names and backoff jitter only (std's hasher keys are randomly seeded).
pub(super) fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(SCRATCH_SEQ.load(Ordering::Relaxed));
    h.finish()
}
