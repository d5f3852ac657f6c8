//! Swapping a staged tree in: `RENAME_EXCHANGE` where the kernel has it, else rename the live
//! directory away and the staged one in; either way a crash leaves something `recover` completes.

use super::*;

pub(super) fn swap(target: &Target, staging: &Path, opts: &Options) -> Result<(), EmitError> {
    if opts.exchange_allowed() {
        match exchange(staging, &target.dir) {
            Ok(true) => {
                sync_dir(&target.parent);
                opts.checkpoint(Fault::AfterSwap)?;
                // `staging` now holds the old tree. If deleting it fails the new output is in place
                // anyway and the next emit removes the leftover.
                let _ = fs::remove_dir_all(staging);
                return Ok(());
            }
            Ok(false) => {}
            Err(e) => {
                let _ = fs::remove_dir_all(staging);
                return Err(io_err("swap the new output into place at", &target.dir)(e));
            }
        }
    }
    let old = target.stage_path(Stage::Old);
    if let Err(e) = fs::rename(&target.dir, &old) {
        let _ = fs::remove_dir_all(staging);
        return Err(io_err("move the previous output away from", &target.dir)(e));
    }
    opts.checkpoint(Fault::AfterMoveAway)?;
    if let Err(e) = fs::rename(staging, &target.dir) {
        let restored = fs::rename(&old, &target.dir);
        if restored.is_ok() {
            let _ = fs::remove_dir_all(staging);
        }
        return Err(io_err("move the new output into place at", &target.dir)(e));
    }
    sync_dir(&target.parent);
    let _ = fs::remove_dir_all(&old);
    Ok(())
}

/// Atomically exchanges two directories. `Ok(false)` when the platform or file system cannot.
#[cfg(target_os = "linux")]
pub(super) fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let b = CString::new(b.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // The raw syscall rather than `libc::renameat2`, which needs glibc 2.28.
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENOSYS) | Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => Ok(false),
        _ => Err(err),
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn exchange(_a: &Path, _b: &Path) -> io::Result<bool> {
    Ok(false)
}
