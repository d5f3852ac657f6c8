//! `platc build --watch`: notices saved changes in the workspace by polling file metadata (a
//! workspace is a few thousand files; one scan costs milliseconds, and polling behaves the same on
//! every file system, network and container mounts included, where change notifications do not).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Every watched file (not hidden, not in `target/` or the output directory) with its
/// modification time and size.
pub type Snapshot = BTreeMap<PathBuf, (Option<SystemTime>, u64)>;

pub fn snapshot(root: &Path, out_dir: &Path) -> Snapshot {
    // Both resolved once, so the output directory is recognised by a path comparison.
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let out = out_dir
        .canonicalize()
        .unwrap_or_else(|_| out_dir.to_path_buf());
    let mut files = Snapshot::new();
    let walk = walkdir::WalkDir::new(&root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            let hidden = e.depth() > 0 && (name.starts_with('.') || name == "target");
            !hidden && e.path() != out
        });
    for e in walk.flatten() {
        if e.file_type().is_file()
            && let Ok(m) = e.metadata()
        {
            files.insert(e.path().to_path_buf(), (m.modified().ok(), m.len()));
        }
    }
    files
}

/// Paths added, removed or modified between two snapshots, relative to `root`.
pub fn changes(root: &Path, before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let rel = |p: &Path| {
        p.strip_prefix(&root)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/")
    };
    let mut out: Vec<String> = after
        .iter()
        .filter(|(p, m)| before.get(*p) != Some(m))
        .map(|(p, _)| rel(p))
        .chain(
            before
                .keys()
                .filter(|p| !after.contains_key(*p))
                .map(|p| rel(p)),
        )
        .collect();
    out.sort();
    out
}

/// A short fingerprint of a snapshot, for a watch that starts itself afresh to tell whether the
/// workspace moved on while it restarted (the snapshot itself is too large for an argument).
pub fn digest(snapshot: &Snapshot) -> String {
    let mut text = String::new();
    for (path, (modified, size)) in snapshot {
        let at = modified
            .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or_else(
                || "-".to_string(),
                |d| format!("{}.{:09}", d.as_secs(), d.subsec_nanos()),
            );
        text.push_str(&format!("{}\0{at}\0{size}\n", path.display()));
    }
    crate::digest::content_hash(text.as_bytes())
}

/// Waits until the workspace differs from `last` and then stays the same for one more poll (an
/// editor's save of several files, or a save written in two steps, is one change). Returns the new
/// snapshot.
pub fn wait_for_change(root: &Path, out_dir: &Path, last: &Snapshot, poll: Duration) -> Snapshot {
    loop {
        std::thread::sleep(poll);
        let mut now = snapshot(root, out_dir);
        if now == *last {
            continue;
        }
        loop {
            std::thread::sleep(poll);
            let settled = snapshot(root, out_dir);
            if settled == now {
                return now;
            }
            now = settled;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A burst of saves closer together than the poll is one change: the wait returns the
    /// workspace as the burst left it, never a state in the middle of it.
    #[test]
    fn a_burst_of_saves_is_one_change() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let out = root.join("out");
        std::fs::write(root.join("w.yaml"), "0").unwrap();
        let last = snapshot(&root, &out);
        let writer = {
            let root = root.clone();
            std::thread::spawn(move || {
                // 30 saves 20 ms apart (each a new size, so every one is visible), 0.6 s in
                // all against a 200 ms poll.
                for i in 1..=30 {
                    std::fs::write(root.join("w.yaml"), "x".repeat(i)).unwrap();
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        let seen = wait_for_change(&root, &out, &last, Duration::from_millis(200));
        writer.join().unwrap();
        assert_eq!(
            seen,
            snapshot(&root, &out),
            "returned in the middle of the burst"
        );
        assert_eq!(changes(&root, &last, &seen), ["w.yaml"]);
    }

    #[test]
    fn a_digest_changes_with_the_workspace_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let out = root.join("out");
        std::fs::write(root.join("w.yaml"), "1").unwrap();
        let first = digest(&snapshot(root, &out));
        assert_eq!(first, digest(&snapshot(root, &out)));
        std::fs::write(root.join("w.yaml"), "22").unwrap();
        let edited = digest(&snapshot(root, &out));
        assert_ne!(edited, first, "an edit is not seen");
        std::fs::write(root.join("v.yaml"), "22").unwrap();
        assert_ne!(
            digest(&snapshot(root, &out)),
            edited,
            "a new file is not seen"
        );
    }

    #[test]
    fn changes_name_added_modified_and_removed_files_but_not_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::create_dir_all(root.join("out")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join("a/keep.yaml"), "1").unwrap();
        std::fs::write(root.join("a/edit.yaml"), "1").unwrap();
        std::fs::write(root.join("a/gone.yaml"), "1").unwrap();
        let out = root.join("out");
        let before = snapshot(root, &out);
        std::fs::write(root.join("a/edit.yaml"), "22").unwrap();
        std::fs::remove_file(root.join("a/gone.yaml")).unwrap();
        std::fs::write(root.join("a/new.yaml"), "1").unwrap();
        std::fs::write(root.join("out/ignored.yaml"), "1").unwrap();
        std::fs::write(root.join(".git/ignored"), "1").unwrap();
        let after = snapshot(root, &out);
        assert_eq!(
            changes(root, &before, &after),
            ["a/edit.yaml", "a/gone.yaml", "a/new.yaml"]
        );
        assert!(changes(root, &after, &after).is_empty());
    }
}
