//! The output directory and its siblings: where the tree is staged, swapped and recovered from,
//! beside the live directory on the same file system.

use super::*;

pub(super) struct Target {
    /// Absolute, symlinks resolved.
    pub(super) dir: PathBuf,
    pub(super) parent: PathBuf,
    pub(super) name: OsString,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Stage {
    New,
    Old,
    /// An in-place patch's files and journal (see `patch.rs`).
    Patch,
}

impl Target {
    pub(super) fn resolve(out_dir: &Path) -> Result<Target, EmitError> {
        let abs = if out_dir.is_absolute() {
            out_dir.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(io_err("resolve", out_dir))?
                .join(out_dir)
        };
        // A dangling symlink is followed by hand: its target may be missing only because an
        // interrupted emit renamed it away, and recovery needs to know where it belongs.
        let mut abs = abs;
        let mut hops = 0;
        let dir = loop {
            match fs::symlink_metadata(&abs) {
                Ok(m) if m.file_type().is_symlink() && !abs.exists() => {
                    hops += 1;
                    if hops > 40 {
                        return Err(EmitError::OutDir {
                            path: abs,
                            problem: "is a chain of more than 40 symbolic links".into(),
                        });
                    }
                    let to = fs::read_link(&abs).map_err(io_err("read link", &abs))?;
                    abs = match abs.parent() {
                        Some(parent) => parent.join(to),
                        None => to,
                    };
                }
                Ok(_) => break fs::canonicalize(&abs).map_err(io_err("resolve", &abs))?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    let (Some(parent), Some(name)) = (abs.parent(), abs.file_name()) else {
                        return Err(EmitError::OutDir {
                            path: abs,
                            problem: "has no parent directory".into(),
                        });
                    };
                    fs::create_dir_all(parent).map_err(io_err("create directory", parent))?;
                    break fs::canonicalize(parent)
                        .map_err(io_err("resolve", parent))?
                        .join(name);
                }
                Err(e) => return Err(io_err("inspect", &abs)(e)),
            }
        };
        let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
            return Err(EmitError::OutDir {
                path: dir,
                problem: "is the root of the file system".into(),
            });
        };
        Ok(Target {
            parent: parent.to_path_buf(),
            name: name.to_os_string(),
            dir,
        })
    }

    pub(super) fn stage_prefix(&self) -> OsString {
        let mut s = OsString::from(".");
        s.push(&self.name);
        s.push(".platc-");
        s
    }

    pub(super) fn stage_path(&self, stage: Stage) -> PathBuf {
        let mut name = self.stage_prefix();
        name.push(match stage {
            Stage::New => "new-",
            Stage::Old => "old-",
            Stage::Patch => "patch-",
        });
        name.push(std::process::id().to_string());
        self.parent.join(name)
    }

    /// Staging directories beside the output directory, from this or an earlier emit.
    pub(super) fn stages(&self) -> Result<Vec<(Stage, u32, PathBuf)>, EmitError> {
        let prefix = self.stage_prefix();
        let prefix = prefix.as_encoded_bytes();
        let mut found = Vec::new();
        let entries = fs::read_dir(&self.parent).map_err(io_err("list", &self.parent))?;
        for entry in entries {
            let entry = entry.map_err(io_err("list", &self.parent))?;
            let name = entry.file_name();
            let Some(rest) = name.as_encoded_bytes().strip_prefix(prefix) else {
                continue;
            };
            let (stage, pid) = if let Some(pid) = rest.strip_prefix(b"new-") {
                (Stage::New, pid)
            } else if let Some(pid) = rest.strip_prefix(b"old-") {
                (Stage::Old, pid)
            } else if let Some(pid) = rest.strip_prefix(b"patch-") {
                (Stage::Patch, pid)
            } else {
                continue;
            };
            let Some(pid) = std::str::from_utf8(pid)
                .ok()
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            found.push((stage, pid, entry.path()));
        }
        found.sort();
        Ok(found)
    }

    /// Finishes or undoes what an interrupted emit left behind.
    pub(super) fn recover(&self) -> Result<(), EmitError> {
        let stages = self.stages()?;
        let me = std::process::id();
        if let Some((_, pid, path)) = stages
            .iter()
            .find(|(_, pid, path)| *pid != me && crate::maker::maker_alive(*pid, path))
        {
            return Err(EmitError::Busy {
                out_dir: self.dir.clone(),
                staging: path.clone(),
                pid: *pid,
            });
        }
        for (stage, _, path) in &stages {
            if *stage == Stage::Patch {
                // Committed: finished now; not committed: dropped (the live tree is untouched).
                patch::complete(&self.dir, path, &Options::default())?;
                continue;
            }
            let live_missing = matches!(fs::symlink_metadata(&self.dir), Err(e) if e.kind() == io::ErrorKind::NotFound);
            if *stage == Stage::Old && live_missing {
                // Crashed between "rename live away" and "rename new in": put the old tree back.
                fs::rename(path, &self.dir)
                    .map_err(io_err("restore the previous output from", path))?;
            } else {
                // A staged new tree never swapped in, or the old tree after a swap: both redundant.
                fs::remove_dir_all(path)
                    .map_err(io_err("remove the leftover staging directory", path))?;
            }
        }
        Ok(())
    }
}
