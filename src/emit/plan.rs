//! What a rebuild changes: the live directory scanned once (in parallel), then every path of
//! the tree compared with it and with the previous index, by hash, never by reading an owned
//! file. Paths are the tree's `/`-separated strings throughout; entries whose names are not
//! UTF-8 cannot be platc's and are only ever carried over.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{
    EmitError, EmitReport, INDEX_PATH, Index, Kind, Tree, ancestors, io_err, is_index_leftover,
    not_owned, rel_to_path,
};

/// Every entry below the output directory, not following symlinks.
#[derive(Default)]
struct Scan {
    /// `/`-separated relative path → kind.
    entries: HashMap<String, Kind>,
    /// Entries with a name that is not UTF-8 (and everything below them): never platc's.
    odd: Vec<(PathBuf, Kind)>,
}

fn scan(dir: &Path) -> Result<Scan, EmitError> {
    let mut out = Scan::default();
    walk(dir, "", &mut out)?;
    Ok(out)
}

/// Lists `root/rel` into `out` and returns whether it had any entry; subdirectories are
/// listed in parallel (a 35k-file output has thousands of directories).
fn walk(root: &Path, rel: &str, out: &mut Scan) -> Result<bool, EmitError> {
    use rayon::prelude::*;
    let abs = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel_to_path(rel))
    };
    let mut subdirs = Vec::new();
    let mut any = false;
    for entry in fs::read_dir(&abs).map_err(io_err("read", &abs))? {
        any = true;
        let entry = entry.map_err(io_err("read", &abs))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(io_err("inspect", &path))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            odd(root, &path, &mut out.odd)?;
            continue;
        };
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let kind = if ft.is_dir() {
            subdirs.push(child.clone());
            Kind::Dir { empty: true }
        } else if ft.is_file() {
            let len = entry.metadata().map_err(io_err("inspect", &path))?.len();
            Kind::File { len }
        } else if ft.is_symlink() {
            Kind::Symlink
        } else {
            Kind::Other
        };
        out.entries.insert(child, kind);
    }
    let below: Vec<Result<(String, bool, Scan), EmitError>> = subdirs
        .into_par_iter()
        .map(|d| {
            let mut sub = Scan::default();
            let any = walk(root, &d, &mut sub)?;
            Ok((d, any, sub))
        })
        .collect();
    for r in below {
        let (d, any, sub) = r?;
        out.entries.insert(d, Kind::Dir { empty: !any });
        out.entries.extend(sub.entries);
        out.odd.extend(sub.odd);
    }
    Ok(any)
}

/// An entry with a non-UTF-8 name, and everything below it, by path relative to `root`.
fn odd(root: &Path, path: &Path, out: &mut Vec<(PathBuf, Kind)>) -> Result<(), EmitError> {
    for e in walkdir::WalkDir::new(path).follow_links(false) {
        let e = e.map_err(|e| io_err("read", path)(io::Error::from(e)))?;
        let ft = e.file_type();
        let kind = if ft.is_dir() {
            Kind::Dir { empty: false }
        } else if ft.is_file() {
            Kind::File { len: 0 }
        } else if ft.is_symlink() {
            Kind::Symlink
        } else {
            Kind::Other
        };
        let rel = e.path().strip_prefix(root).unwrap_or(e.path());
        out.push((rel.to_path_buf(), kind));
    }
    Ok(())
}

fn same_content(path: &Path, bytes: &[u8]) -> Result<bool, EmitError> {
    Ok(fs::read(path).map_err(io_err("read", path))? == bytes)
}

/// What the new output keeps of the live one, and how.
pub(super) struct Plan {
    pub report: EmitReport,
    /// Unowned non-directory entries, linked into the new tree as they are.
    pub carried: Vec<(PathBuf, Kind)>,
    /// Directories recreated with their modes: those holding something carried, and those that
    /// were empty (platc never leaves empty directories behind, so a user made them).
    pub kept_dirs: BTreeSet<PathBuf>,
    /// Files of the tree whose live bytes are already right: linked, not rewritten.
    pub unchanged: HashSet<String>,
    /// A file of the tree goes where a directory is now (only a staged swap does that).
    pub replaces_dir: bool,
}

/// What the tree wants at one path.
#[derive(Clone, Copy)]
enum Want<'a> {
    Bytes(&'a [u8]),
    /// Already there, by hash (the size is the recorded one).
    Known(u64),
    Index,
}

pub(super) fn plan(
    live: &Path,
    tree: &Tree,
    previous: Option<&Index>,
    new_hashes: &BTreeMap<String, String>,
) -> Result<Plan, EmitError> {
    let scan = scan(live)?;
    let entries = &scan.entries;
    // Owned: listed in the previous index and still a regular file.
    let owned: HashSet<&str> = previous
        .iter()
        .flat_map(|i| i.files.keys())
        .map(String::as_str)
        .filter(|p| matches!(entries.get(*p), Some(Kind::File { .. })))
        .collect();
    let mut tree_paths: HashSet<&str> = tree
        .files
        .keys()
        .chain(tree.known.keys())
        .map(String::as_str)
        .collect();
    tree_paths.insert(INDEX_PATH);
    let (carried, kept_dirs) = kept(&scan, &owned, &tree_paths);

    let mut c = Compare {
        live,
        entries,
        owned: &owned,
        kept_dirs: &kept_dirs,
        old_hash: previous
            .iter()
            .flat_map(|i| i.files.iter())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        new_hash: new_hashes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        blocked: HashMap::new(),
        report: EmitReport::default(),
        unchanged: HashSet::new(),
        problems: Vec::new(),
        replaces_dir: false,
    };
    let wanted = tree
        .files
        .iter()
        .map(|(k, v)| (k.as_str(), Want::Bytes(v.as_slice())));
    let known = tree
        .known
        .iter()
        .map(|(k, v)| (k.as_str(), Want::Known(v.len)));
    for (rel, want) in wanted.chain(known).chain([(INDEX_PATH, Want::Index)]) {
        c.path(rel, want)?;
    }
    if !c.problems.is_empty() {
        return Err(EmitError::Rejected(c.problems));
    }
    let (mut report, unchanged, replaces_dir) = (c.report, c.unchanged, c.replaces_dir);
    report.removed = owned
        .iter()
        .filter(|p| !tree_paths.contains(*p))
        .map(|p| p.to_string())
        .collect();
    report.removed.sort();
    Ok(Plan {
        report,
        carried,
        kept_dirs,
        unchanged,
        replaces_dir,
    })
}

/// The unowned entries to carry over, and the directories to keep.
fn kept(
    scan: &Scan,
    owned: &HashSet<&str>,
    tree_paths: &HashSet<&str>,
) -> (Vec<(PathBuf, Kind)>, BTreeSet<PathBuf>) {
    let mut carried: Vec<(PathBuf, Kind)> = scan
        .entries
        .iter()
        .filter(|(p, k)| {
            !matches!(k, Kind::Dir { .. })
                && !owned.contains(p.as_str())
                && !tree_paths.contains(p.as_str())
                && !is_index_leftover(Path::new(p.as_str()))
        })
        .map(|(p, k)| (rel_to_path(p), *k))
        .chain(
            scan.odd
                .iter()
                .filter(|(_, k)| !matches!(k, Kind::Dir { .. }))
                .cloned(),
        )
        .collect();
    carried.sort_by(|a, b| a.0.cmp(&b.0));
    let mut kept_dirs: BTreeSet<PathBuf> = scan
        .entries
        .iter()
        .filter(|(_, k)| matches!(k, Kind::Dir { empty: true }))
        .map(|(p, _)| rel_to_path(p))
        .chain(
            scan.odd
                .iter()
                .filter(|(_, k)| matches!(k, Kind::Dir { .. }))
                .map(|(p, _)| p.clone()),
        )
        .collect();
    let leaves: Vec<PathBuf> = carried
        .iter()
        .map(|(p, _)| p.clone())
        .chain(kept_dirs.iter().cloned())
        .collect();
    for path in leaves {
        kept_dirs.extend(
            path.ancestors()
                .skip(1)
                .filter(|a| !a.as_os_str().is_empty())
                .map(Path::to_path_buf),
        );
    }
    (carried, kept_dirs)
}

/// The comparison of each path of the tree with the live directory.
struct Compare<'a> {
    live: &'a Path,
    entries: &'a HashMap<String, Kind>,
    owned: &'a HashSet<&'a str>,
    kept_dirs: &'a BTreeSet<PathBuf>,
    old_hash: HashMap<&'a str, &'a str>,
    new_hash: HashMap<&'a str, &'a str>,
    /// Each directory is looked at once, not once per file below it.
    blocked: HashMap<&'a str, Option<Kind>>,
    report: EmitReport,
    unchanged: HashSet<String>,
    problems: Vec<super::PathProblem>,
    replaces_dir: bool,
}

impl<'a> Compare<'a> {
    fn path(&mut self, rel: &'a str, want: Want<'_>) -> Result<(), EmitError> {
        for anc in ancestors(rel) {
            let (entries, owned) = (self.entries, self.owned);
            let kind = *self.blocked.entry(anc).or_insert_with(|| {
                entries
                    .get(anc)
                    .filter(|k| !matches!(k, Kind::Dir { .. }) && !owned.contains(anc))
                    .copied()
            });
            if let Some(kind) = kind {
                self.problems.push(not_owned(
                    rel,
                    &format!("`{anc}` is {} platc did not write", kind.describe()),
                ));
            }
        }
        let live = self.entries.get(rel).copied();
        let (bytes, len) = match want {
            Want::Bytes(b) => (b, b.len() as u64),
            Want::Known(len) => {
                // Known by hash: it must be there exactly as recorded, or the memo is stale.
                return match live {
                    Some(Kind::File { len: on_disk })
                        if self.owned_unchanged(rel, on_disk, len) =>
                    {
                        self.keep(rel);
                        Ok(())
                    }
                    _ => Err(EmitError::Stale(rel.to_string())),
                };
            }
            Want::Index => {
                // The index is platc's by definition, if it is a file.
                if let Some(kind @ (Kind::Dir { .. } | Kind::Symlink | Kind::Other)) = live {
                    self.problems.push(not_owned(
                        rel,
                        &format!("platc keeps its index there but it is {}", kind.describe()),
                    ));
                }
                return Ok(());
            }
        };
        match live {
            None => self.report.written.push(rel.to_string()),
            // A directory holding only owned files that are going away can become a file.
            Some(Kind::Dir { .. }) if !self.kept_dirs.contains(&rel_to_path(rel)) => {
                self.replaces_dir = true;
                self.report.written.push(rel.to_string())
            }
            Some(Kind::File { len: on_disk }) => {
                let owned = self.owned.contains(rel);
                if self.owned_unchanged(rel, on_disk, len)
                    || (!owned
                        && on_disk == len
                        && same_content(&self.live.join(rel_to_path(rel)), bytes)?)
                {
                    self.keep(rel);
                } else if owned {
                    self.report.written.push(rel.to_string());
                } else {
                    self.problems.push(not_owned(
                        rel,
                        "a different file that platc did not write is already there",
                    ));
                }
            }
            Some(kind) => self.problems.push(not_owned(
                rel,
                &format!(
                    "platc needs to write a file there but it is {}",
                    kind.describe()
                ),
            )),
        }
        Ok(())
    }

    /// An owned file is compared by the hash its index recorded: a rebuild reads no output
    /// file. The length still catches a truncated or replaced file; a same-length hand edit of
    /// a generated file is not looked for.
    fn owned_unchanged(&self, rel: &str, on_disk: u64, len: u64) -> bool {
        self.owned.contains(rel)
            && on_disk == len
            && self
                .old_hash
                .get(rel)
                .is_some_and(|h| self.new_hash.get(rel) == Some(h))
    }

    fn keep(&mut self, rel: &str) {
        self.report.unchanged.push(rel.to_string());
        self.unchanged.insert(rel.to_string());
    }
}
