//! The plan of a small rebuild without scanning the output: every path the previous index or
//! the new tree names is looked at (one `lstat` each, in parallel), nothing else.
//!
//! What the full scan adds is the unowned entries to carry into a staged tree, and those only
//! matter when the tree is staged anew; an in-place patch leaves them where they are. So when
//! the live directory holds what the index says (owned files where it lists them, nothing in
//! the way of a new path) and the change is small, this is the plan. Anything unusual — an owned
//! file gone or turned into something else, a new path where something already is — and the
//! full plan decides, with its exact messages.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use super::plan::Plan;
use super::{EmitReport, INDEX_PATH, Index, Kind, Tree, TreeFile, ancestors, rel_to_path};

/// What one path is now, not following symlinks; `None` when nothing is there. An error other
/// than "not found" gives up on the quick plan.
fn kind_at(live: &Path, rel: &str) -> Result<Option<Kind>, ()> {
    match fs::symlink_metadata(live.join(rel_to_path(rel))) {
        Ok(m) if m.file_type().is_file() => Ok(Some(Kind::File { len: m.len() })),
        Ok(m) if m.file_type().is_dir() => Ok(Some(Kind::Dir { empty: false })),
        Ok(m) if m.file_type().is_symlink() => Ok(Some(Kind::Symlink)),
        Ok(_) => Ok(Some(Kind::Other)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(_) => Err(()),
    }
}

/// A path's new length and hash; `None` when it is not in the new tree.
type Want<'a> = Option<(u64, &'a str)>;

enum Verdict {
    Unchanged,
    Written,
    Removed,
    /// Owned, gone, and not wanted any more: the index simply drops it.
    Gone,
}

/// One path of the tree (`want`: its new length and hash) or of the old index only (`None`).
fn judge(live: &Path, rel: &str, want: Want, old: Option<&str>) -> Result<Verdict, ()> {
    let now = kind_at(live, rel)?;
    match (want, old, now) {
        (None, Some(_), Some(Kind::File { .. })) => Ok(Verdict::Removed),
        (None, Some(_), None) => Ok(Verdict::Gone),
        (Some((len, hash)), Some(old), Some(Kind::File { len: on_disk })) => {
            if on_disk == len && old == hash {
                Ok(Verdict::Unchanged)
            } else {
                Ok(Verdict::Written)
            }
        }
        // A new path: nothing there (its ancestors are checked with every written path's).
        (Some(_), None, None) => Ok(Verdict::Written),
        _ => Err(()),
    }
}

/// Whether every directory above the paths to be written or removed is a real directory or
/// nothing, each looked at once. `lstat` follows links in every component but the last: an
/// owned path below a directory someone replaced by a link (a commit to the GitOps branch the
/// output is cloned from) would be written or removed wherever the link points, so only the full
/// scan, which never follows a link, may decide about such a path (as about one that cannot be
/// looked at).
fn real_directories<'p>(live: &Path, acted_on: impl Iterator<Item = &'p str>) -> bool {
    let dirs: std::collections::BTreeSet<&str> = acted_on.flat_map(ancestors).collect();
    dirs.into_iter()
        .all(|d| matches!(kind_at(live, d), Ok(None | Some(Kind::Dir { .. }))))
}

/// The plan, when the live directory is as the index recorded it; `None` sends the caller to
/// the full scan. `known` files must be unchanged (by hash and length) or the plan is `None`.
pub(super) fn plan(
    live: &Path,
    tree: &Tree,
    previous: &Index,
    new_hashes: &BTreeMap<String, String>,
) -> Option<Plan> {
    use rayon::prelude::*;
    // (path, its new length and hash unless it goes away, taken from the memo, its indexed
    // hash): the tree's two sorted maps and the old index merged in one pass, in path order,
    // instead of a hash set of the tree and a search of the index per path.
    let mut ours: Vec<(&str, Want, bool)> = Vec::with_capacity(tree.len());
    for (rel, file) in tree.entries() {
        ours.push(match file {
            TreeFile::Known(k) => (rel, Some((k.len, k.hash.as_str())), true),
            TreeFile::Rendered(b) => {
                let hash = new_hashes.get(rel)?.as_str();
                (rel, Some((b.len() as u64, hash)), false)
            }
        });
    }
    let mut old = previous
        .files
        .iter()
        .filter(|(p, _)| p.as_str() != INDEX_PATH)
        .peekable();
    let mut paths: Vec<(&str, Want, bool, Option<&str>)> = Vec::with_capacity(ours.len());
    for (rel, want, is_known) in ours {
        while let Some((p, h)) = old.next_if(|(p, _)| p.as_str() < rel) {
            paths.push((p, None, false, Some(h)));
        }
        let indexed = old
            .next_if(|(p, _)| p.as_str() == rel)
            .map(|(_, h)| h.as_str());
        paths.push((rel, want, is_known, indexed));
    }
    paths.extend(old.map(|(p, h)| (p.as_str(), None, false, Some(h.as_str()))));
    let verdicts: Vec<Verdict> = paths
        .par_iter()
        .map(|(rel, want, known, old)| {
            let v = judge(live, rel, *want, *old)?;
            // A file taken from the memo must be there as recorded.
            if *known && !matches!(v, Verdict::Unchanged) {
                return Err(());
            }
            Ok(v)
        })
        .collect::<Result<_, ()>>()
        .ok()?;
    let acted_on = paths
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| matches!(v, Verdict::Written | Verdict::Removed))
        .map(|(p, _)| p.0);
    if !real_directories(live, acted_on) {
        return None;
    }
    let mut report = EmitReport::default();
    for ((rel, ..), v) in paths.iter().zip(verdicts) {
        match v {
            Verdict::Unchanged => report.unchanged.push(rel.to_string()),
            Verdict::Written => report.written.push(rel.to_string()),
            Verdict::Removed => report.removed.push(rel.to_string()),
            Verdict::Gone => {}
        }
    }
    Some(Plan {
        report,
        carried: Vec::new(),
        kept_dirs: Default::default(),
        unchanged: Default::default(),
        replaces_dir: false,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::super::{IndexMeta, content_hash, emit, read_index, validate_tree};
    use super::*;

    const NAMES: [&str; 6] = ["a", "b", "a/x", "a/y", "c/z/w", "c/v"];

    /// What a user (or a crash) may have done to the output since the last build.
    #[derive(Debug, Clone)]
    enum Tamper {
        Delete(usize),
        Truncate(usize),
        Unowned(usize),
        DirInstead(usize),
    }

    fn tamper() -> impl Strategy<Value = Tamper> {
        prop_oneof![
            (0..NAMES.len()).prop_map(Tamper::Delete),
            (0..NAMES.len()).prop_map(Tamper::Truncate),
            (0..NAMES.len()).prop_map(Tamper::Unowned),
            (0..NAMES.len()).prop_map(Tamper::DirInstead),
        ]
    }

    /// A tree over `NAMES`: each name absent or with one of three contents.
    fn files() -> impl Strategy<Value = BTreeMap<String, Vec<u8>>> {
        proptest::collection::vec(0u8..4, NAMES.len()).prop_map(|v| {
            let mut t: BTreeMap<String, Vec<u8>> = NAMES
                .iter()
                .zip(v)
                .filter(|(_, c)| *c > 0)
                .map(|(n, c)| (n.to_string(), format!("v{c}\n").into_bytes()))
                .collect();
            // A file cannot also be a directory of the same tree.
            if t.contains_key("a") {
                t.retain(|p, _| !p.starts_with("a/"));
            }
            t
        })
    }

    fn apply(live: &Path, t: &Tamper) {
        let at = |i: usize| live.join(NAMES[i]);
        match t {
            Tamper::Delete(i) => {
                let _ = fs::remove_file(at(*i));
            }
            Tamper::Truncate(i) if at(*i).is_file() => {
                let _ = fs::write(at(*i), "");
            }
            Tamper::Unowned(i) if !at(*i).exists() => {
                if let Some(p) = at(*i).parent() {
                    let _ = fs::create_dir_all(p);
                }
                let _ = fs::write(at(*i), "mine\n");
            }
            Tamper::DirInstead(i) => {
                let _ = fs::remove_file(at(*i));
                let _ = fs::create_dir_all(at(*i));
            }
            _ => {}
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whenever the quick plan answers, the full scan plans exactly the same.
        #[test]
        fn the_quick_plan_agrees_with_the_full_scan(
            old in files(),
            new in files(),
            tampers in proptest::collection::vec(tamper(), 0..3),
        ) {
            let (old, new) = (Tree::new(old), Tree::new(new));
            prop_assert!(validate_tree(&old).is_empty() && validate_tree(&new).is_empty());
            prop_assume!(!old.is_empty());
            let tmp = tempfile::tempdir().expect("tempdir");
            let live = tmp.path().join("out");
            let meta = IndexMeta { platc_version: "0".into(), source_commit: None };
            emit(&live, &old, &meta).expect("first build");
            for t in &tampers {
                apply(&live, t);
            }
            let previous = read_index(&live).expect("index").expect("an index");
            let hashes: BTreeMap<String, String> =
                new.files.iter().map(|(p, b)| (p.clone(), content_hash(b))).collect();
            if let Some(quick) = plan(&live, &new, &previous, &hashes) {
                let full = super::super::plan::plan(&live, &new, Some(&previous), &hashes)
                    .expect("the full plan accepts what the quick one does");
                prop_assert_eq!(quick.report, full.report);
                prop_assert!(!full.replaces_dir);
            }
        }
    }

    /// A directory of the output replaced by a link (a commit to the GitOps branch it is cloned
    /// from, say) must not carry platc's removals or writes outside the output: neither an
    /// index entry below the link nor an owned file reached through it.
    #[cfg(unix)]
    #[test]
    fn nothing_is_removed_or_written_through_a_linked_directory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let live = tmp.path().join("out");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(&outside).expect("outside");
        fs::write(outside.join("precious.txt"), "precious\n").expect("victim");
        fs::write(outside.join("x"), "v1\n").expect("victim");
        let meta = IndexMeta {
            platc_version: "0".into(),
            source_commit: None,
        };
        let tree = |v: &str| -> Tree {
            Tree::new(BTreeMap::from([
                ("a/x".to_string(), format!("{v}\n").into_bytes()),
                ("b".to_string(), b"b\n".to_vec()),
            ]))
        };
        emit(&live, &tree("v1"), &meta).expect("first");
        // `a` becomes a link to the outside (which holds the same `x`), and the index claims a
        // file below another link.
        fs::remove_dir_all(live.join("a")).expect("rm");
        std::os::unix::fs::symlink(&outside, live.join("a")).expect("link a");
        std::os::unix::fs::symlink(&outside, live.join("l")).expect("link l");
        let index_path = live.join(INDEX_PATH);
        let mut index: serde_json::Value =
            serde_json::from_slice(&fs::read(&index_path).expect("index")).expect("json");
        index["files"]["l/precious.txt"] = serde_json::json!(content_hash(b"precious\n"));
        fs::write(&index_path, serde_json::to_vec(&index).expect("json")).expect("write index");

        let previous = read_index(&live).expect("index").expect("an index");
        let new = tree("v2");
        let hashes = new
            .files
            .iter()
            .map(|(p, b)| (p.clone(), content_hash(b)))
            .collect();
        assert!(
            plan(&live, &new, &previous, &hashes).is_none(),
            "the quick plan decided about paths below links"
        );
        let result = emit(&live, &new, &meta);
        assert_eq!(
            fs::read_to_string(outside.join("precious.txt")).expect("still there"),
            "precious\n"
        );
        assert_eq!(fs::read_to_string(outside.join("x")).expect("x"), "v1\n");
        let message = format!(
            "{:?}",
            result.expect_err("writing through the link is refused")
        );
        assert!(message.contains("symbolic link"), "{message}");
    }

    #[test]
    fn an_untouched_output_gets_a_quick_plan() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let live = tmp.path().join("out");
        let meta = IndexMeta {
            platc_version: "0".into(),
            source_commit: None,
        };
        let files = |v: &str| -> BTreeMap<String, Vec<u8>> {
            NAMES
                .iter()
                .map(|n| (n.to_string(), format!("{v}\n").into_bytes()))
                .filter(|(n, _)| n != "a")
                .collect()
        };
        emit(&live, &Tree::new(files("1")), &meta).expect("first");
        fs::write(live.join("c/mine.txt"), "kept\n").expect("unowned file");
        let mut new = files("1");
        new.insert("a/y".into(), b"2\n".to_vec());
        new.remove("c/v");
        let new = Tree::new(new);
        let previous = read_index(&live).expect("index").expect("an index");
        let hashes = new
            .files
            .iter()
            .map(|(p, b)| (p.clone(), content_hash(b)))
            .collect();
        let q = plan(&live, &new, &previous, &hashes).expect("a quick plan");
        assert_eq!(q.report.written, ["a/y"]);
        assert_eq!(q.report.removed, ["c/v"]);
        assert_eq!(q.report.unchanged, ["a/x", "b", "c/z/w"]);
        // An owned file replaced by a directory sends the build to the full scan.
        fs::remove_file(live.join("a/x")).expect("rm");
        fs::create_dir(live.join("a/x")).expect("mkdir");
        assert!(plan(&live, &new, &previous, &hashes).is_none());
    }
}
