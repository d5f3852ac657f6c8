//! A small change applied in place, under a journal, instead of staging the whole tree.
//!
//! Staging a complete new tree costs one link per entry of the output (35k for 1,000
//! workloads), however few files changed. When few did, emit writes only those:
//! 1. the new files and the new index go into `<parent>/.<name>.platc-patch-<pid>/` (numbered),
//!    and are flushed to disk;
//! 2. `journal.json` (the renames and removals to make) is written beside them through a
//!    temporary name: from that rename on, the change is committed;
//! 3. removals, then renames into the live tree, the index last; the patch directory goes.
//!
//! A crash before 2 leaves the live tree untouched (the next emit deletes the patch directory).
//! A crash after 2 leaves a journal, and the next emit — before anything else — completes it:
//! every step is idempotent (a rename whose source is gone is done; a removal of a missing file
//! is done). Readers that look at the output while a patch is being applied, or after a crash
//! and before the next platc run, can see some files new and some old; the staged swap, used
//! for larger changes, is atomic for readers too.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{
    EmitError, Fault, INDEX_DIR, INDEX_PATH, Options, io_err, rel_to_path, sync_dir, sync_tree,
    write_new,
};

pub(super) const JOURNAL: &str = "journal.json";
const INDEX_FILE: &str = "index";

/// Whether a change of `changed` files (written or removed) in a tree of `total` is small
/// enough to apply in place: an eighth of the tree or less.
pub(super) fn worth_it(changed: usize, total: usize) -> bool {
    changed > 0 && changed.saturating_mul(8) <= total
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    /// Owned files to delete, relative to the output.
    removes: Vec<String>,
    /// (number of the file in the patch directory, relative destination).
    writes: Vec<(usize, String)>,
}

/// Applies `writes` (relative path → bytes) and `removes` to `live`, with `index` as the new
/// ownership index.
pub(super) fn apply(
    live: &Path,
    patch_dir: &Path,
    writes: &[(&str, &[u8])],
    removes: &[String],
    index: &[u8],
    opts: &Options,
) -> Result<(), EmitError> {
    let staged = (|| {
        fs::create_dir(patch_dir).map_err(io_err("create directory", patch_dir))?;
        {
            use rayon::prelude::*;
            writes
                .par_iter()
                .enumerate()
                .try_for_each(|(i, (_, bytes))| write_new(&patch_dir.join(i.to_string()), bytes))?;
        }
        write_new(&patch_dir.join(INDEX_FILE), index)?;
        sync_tree(patch_dir)?;
        let journal = Journal {
            removes: removes.to_vec(),
            writes: writes
                .iter()
                .enumerate()
                .map(|(i, (rel, _))| (i, rel.to_string()))
                .collect(),
        };
        let bytes = serde_json::to_vec(&journal).map_err(|e| {
            io_err("write the journal in", patch_dir)(io::Error::other(e.to_string()))
        })?;
        let tmp = patch_dir.join("journal.tmp");
        write_new(&tmp, &bytes)?;
        if let Ok(f) = fs::File::open(&tmp) {
            let _ = f.sync_all();
        }
        opts.checkpoint(Fault::PatchStaged)?;
        let journal = patch_dir.join(JOURNAL);
        fs::rename(&tmp, &journal).map_err(io_err("commit the journal", &journal))?;
        sync_dir(patch_dir);
        Ok(())
    })();
    if let Err(e) = staged {
        #[cfg(test)]
        if matches!(e, EmitError::Interrupted(_)) {
            return Err(e);
        }
        let _ = fs::remove_dir_all(patch_dir);
        return Err(e);
    }
    opts.checkpoint(Fault::PatchCommitted)?;
    complete(live, patch_dir, opts)
}

/// Carries out a committed patch (again, after a crash): removals, renames, the index, then
/// the patch directory is deleted. A patch directory without a journal was never committed and
/// is only deleted.
pub(super) fn complete(live: &Path, patch_dir: &Path, opts: &Options) -> Result<(), EmitError> {
    let journal_path = patch_dir.join(JOURNAL);
    let journal: Journal = match fs::read(&journal_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| EmitError::CorruptIndex {
            path: journal_path.clone(),
            message: e.to_string(),
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return fs::remove_dir_all(patch_dir)
                .map_err(io_err("remove the uncommitted patch", patch_dir));
        }
        Err(e) => return Err(io_err("read", &journal_path)(e)),
    };
    for rel in &journal.removes {
        let path = live.join(rel_to_path(rel));
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &path)(e)),
        }
        remove_empty_parents(live, &path);
    }
    let half = journal.writes.len() / 2;
    for (n, (i, rel)) in journal.writes.iter().enumerate() {
        if n == half {
            opts.checkpoint(Fault::PatchHalfApplied)?;
        }
        move_in(&patch_dir.join(i.to_string()), &live.join(rel_to_path(rel)))?;
    }
    move_in(
        &patch_dir.join(INDEX_FILE),
        &live.join(rel_to_path(INDEX_PATH)),
    )?;
    sync_dir(&live.join(INDEX_DIR));
    sync_tree(live)?;
    fs::remove_dir_all(patch_dir).map_err(io_err("remove the applied patch", patch_dir))
}

/// Renames a patch file to its place; a missing source means this step was already done.
fn move_in(from: &Path, to: &Path) -> Result<(), EmitError> {
    if fs::symlink_metadata(from).is_err() {
        return Ok(());
    }
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(io_err("create directory", parent))?;
    }
    fs::rename(from, to).map_err(io_err("move into place", to))
}

/// Removes the directories a removal left empty, up to (not including) the output root. platc
/// never leaves empty directories behind; one that still holds anything stops the climb.
fn remove_empty_parents(live: &Path, path: &Path) {
    let mut dir: Option<PathBuf> = path.parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        if d == live || !d.starts_with(live) || fs::remove_dir(&d).is_err() {
            return;
        }
        dir = d.parent().map(Path::to_path_buf);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::os::unix::fs::MetadataExt;

    use super::super::{EmitError, Fault, IndexMeta, Options, Tree, emit, emit_with};
    use super::*;

    fn meta() -> IndexMeta {
        IndexMeta {
            platc_version: "0.1.0".into(),
            source_commit: None,
        }
    }

    /// Forty files in five directories and one alone in `solo/`, with `changes` applied (None
    /// removes).
    fn tree(changes: &[(&str, Option<&str>)]) -> Tree {
        let mut files: BTreeMap<String, Vec<u8>> = (0..40)
            .map(|i| {
                (
                    format!("d{}/f{i}.yaml", i % 5),
                    format!("v: {i}\n").into_bytes(),
                )
            })
            .collect();
        files.insert("solo/only.yaml".into(), b"s: 1\n".to_vec());
        for (path, content) in changes {
            match content {
                Some(c) => files.insert(path.to_string(), c.as_bytes().to_vec()),
                None => files.remove(*path),
            };
        }
        Tree::new(files)
    }

    fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        walkdir::WalkDir::new(dir)
            .min_depth(1)
            .sort_by_file_name()
            .into_iter()
            .map(|e| e.expect("walk"))
            .map(|e| {
                let rel = e.path().strip_prefix(dir).expect("prefix").to_path_buf();
                let bytes = if e.file_type().is_dir() {
                    b"<dir>".to_vec()
                } else {
                    fs::read(e.path()).expect("read")
                };
                (rel.to_string_lossy().to_string(), bytes)
            })
            .collect()
    }

    fn siblings(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    }

    /// The change every test makes: one file edited, one removed, the only file of a directory
    /// removed (the directory goes too), one new file in a new directory.
    const CHANGE: &[(&str, Option<&str>)] = &[
        ("d1/f1.yaml", Some("v: changed\n")),
        ("d0/f0.yaml", None),
        ("solo/only.yaml", None),
        ("new/dir/n.yaml", Some("n: 1\n")),
    ];

    /// What a from-scratch emit of `t` looks like.
    fn expected(t: &Tree) -> BTreeMap<String, Vec<u8>> {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        emit(&out, t, &meta()).expect("emit");
        snapshot(&out)
    }

    #[test]
    fn a_small_change_is_patched_in_place() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        emit(&out, &tree(&[]), &meta()).expect("v1");
        fs::write(out.join("d2/user.txt"), "mine\n").expect("user file");
        let dir_inode = fs::metadata(&out).expect("meta").ino();
        let kept_inode = fs::metadata(out.join("d3/f3.yaml")).expect("meta").ino();

        let v2 = tree(CHANGE);
        let report = emit(&out, &v2, &meta()).expect("v2");
        assert_eq!(report.written, ["d1/f1.yaml", "new/dir/n.yaml"]);
        assert_eq!(report.removed, ["d0/f0.yaml", "solo/only.yaml"]);
        // Patched, not swapped: the directory and every untouched file are the same inodes.
        assert_eq!(fs::metadata(&out).expect("meta").ino(), dir_inode);
        assert_eq!(
            fs::metadata(out.join("d3/f3.yaml")).expect("meta").ino(),
            kept_inode
        );
        let mut want = expected(&v2);
        want.insert("d2/user.txt".into(), b"mine\n".to_vec());
        assert_eq!(snapshot(&out), want);
        assert_eq!(siblings(tmp.path()), ["out"]);
    }

    #[test]
    fn a_change_of_most_files_is_staged_and_swapped() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        emit(&out, &tree(&[]), &meta()).expect("v1");
        let dir_inode = fs::metadata(&out).expect("meta").ino();
        let all: Vec<(String, Option<&str>)> = (0..40)
            .map(|i| (format!("d{}/f{i}.yaml", i % 5), Some("v: new\n")))
            .collect();
        let changes: Vec<(&str, Option<&str>)> =
            all.iter().map(|(p, c)| (p.as_str(), *c)).collect();
        let v2 = tree(&changes);
        emit(&out, &v2, &meta()).expect("v2");
        assert_ne!(fs::metadata(&out).expect("meta").ino(), dir_inode);
        assert_eq!(snapshot(&out), expected(&v2));
    }

    #[test]
    fn a_crash_at_any_point_of_a_patch_is_undone_or_completed_by_the_next_emit() {
        for fault in [
            Fault::PatchStaged,
            Fault::PatchCommitted,
            Fault::PatchHalfApplied,
        ] {
            let tmp = tempfile::tempdir().expect("tempdir");
            let out = tmp.path().join("out");
            emit(&out, &tree(&[]), &meta()).expect("v1");
            let before = snapshot(&out);
            let v2 = tree(CHANGE);
            let opts = Options {
                fault: Some(fault),
                ..Options::default()
            };
            let err = emit_with(&out, &v2, &meta(), &opts).expect_err("crash");
            assert!(matches!(err, EmitError::Interrupted(f) if f == fault));
            if fault == Fault::PatchStaged || fault == Fault::PatchCommitted {
                assert_eq!(snapshot(&out), before, "{fault:?}: nothing applied yet");
            }
            assert_eq!(
                siblings(tmp.path()).len(),
                2,
                "{fault:?}: the patch is left"
            );
            // The next emit, of the old tree: an uncommitted patch is dropped, a committed one
            // is completed first, and the old tree is then written back.
            emit(&out, &tree(&[]), &meta()).expect("next");
            assert_eq!(snapshot(&out), before, "{fault:?}");
            assert_eq!(siblings(tmp.path()), ["out"], "{fault:?}");
        }
    }

    #[test]
    fn a_committed_patch_is_completed_before_anything_else() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        emit(&out, &tree(&[]), &meta()).expect("v1");
        let v2 = tree(CHANGE);
        let opts = Options {
            fault: Some(Fault::PatchHalfApplied),
            ..Options::default()
        };
        emit_with(&out, &v2, &meta(), &opts).expect_err("crash");
        // The same tree again: the journal finishes it, and there is then nothing to write.
        let report = emit(&out, &v2, &meta()).expect("recover");
        assert!(
            report.written.is_empty() && report.removed.is_empty(),
            "{report:?}"
        );
        assert_eq!(snapshot(&out), expected(&v2));
    }

    #[test]
    fn only_small_changes_are_worth_a_patch() {
        assert!(!worth_it(0, 100));
        assert!(worth_it(1, 8));
        assert!(worth_it(12, 100));
        assert!(!worth_it(13, 100));
        assert!(!worth_it(1, 7));
    }
}
