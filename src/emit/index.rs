//! The ownership index, `.platc/index.json`: which files platc wrote and their hashes. Read
//! (and checked: a tampered index must not make platc claim paths outside its tree) before an
//! emit, written by hand in serde_json's pretty format after it.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use super::paths::{ancestors, path_error};
use super::{EmitError, INDEX_DIR, INDEX_PATH, io_err, is_content_hash};

/// The content of `.platc/index.json`. Fields in alphabetical order so the JSON keys are sorted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Index {
    /// Path → `sha256:<hex>`.
    #[serde(deserialize_with = "sorted_map")]
    pub files: BTreeMap<String, String>,
    pub platc_version: String,
    pub source_commit: Option<String>,
}

impl Index {
    /// Pretty JSON, sorted keys, trailing newline: byte-identical for identical content.
    ///
    /// Written as serde_json's pretty printer writes it (a proptest holds the two equal), without
    /// its per-value formatter calls: every build that writes anything writes the whole index,
    /// 37k entries at 1,000 workloads.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A string JSON writes as it is (every output path and hash) is copied between quotes;
        // anything else goes through serde_json's escaping. Writing into a Vec cannot fail.
        let string = |out: &mut Vec<u8>, s: &str| {
            if s.bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
            {
                out.push(b'"');
                out.extend_from_slice(s.as_bytes());
                out.push(b'"');
            } else {
                let _ = serde_json::to_writer(&mut *out, s);
            }
        };
        let mut out = Vec::with_capacity(128 + self.files.len() * 112);
        out.extend_from_slice(b"{\n  \"files\": {");
        for (i, (path, hash)) in self.files.iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"\n    " } else { b",\n    " });
            string(&mut out, path);
            out.extend_from_slice(b": ");
            string(&mut out, hash);
        }
        if !self.files.is_empty() {
            out.extend_from_slice(b"\n  ");
        }
        out.extend_from_slice(b"},\n  \"platc_version\": ");
        string(&mut out, &self.platc_version);
        out.extend_from_slice(b",\n  \"source_commit\": ");
        match &self.source_commit {
            Some(c) => string(&mut out, c),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b"\n}\n");
        out
    }
}

/// A JSON object of strings as a map built in one pass: entries collected, then sorted and
/// bulk-loaded (`BTreeMap`'s `FromIterator`), instead of one ordered insert per entry. An index
/// is written sorted, so the sort is a check; on a 37k-file index this halves the parse. A key
/// written twice keeps its last value, as serde's own map does.
fn sorted_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    struct Entries;
    impl<'de> serde::de::Visitor<'de> for Entries {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of paths to hashes")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut v = Vec::with_capacity(m.size_hint().unwrap_or(0).min(1 << 20));
            while let Some(e) = m.next_entry()? {
                v.push(e);
            }
            Ok(v)
        }
    }
    Ok(d.deserialize_map(Entries)?.into_iter().collect())
}

/// Reads `.platc/index.json` of `out_dir`; `None` when there is none (never built, or not by platc).
pub fn read_index(out_dir: &Path) -> Result<Option<Index>, EmitError> {
    Ok(read_index_with(out_dir, |_| ())?.map(|(index, ())| index))
}

/// [`read_index`], with the content hash of the index's bytes.
pub(super) fn read_index_hashed(out_dir: &Path) -> Result<Option<(Index, String)>, EmitError> {
    read_index_with(out_dir, super::content_hash)
}

/// The index of `out_dir` and `also` of its bytes.
fn read_index_with<T>(
    out_dir: &Path,
    also: impl FnOnce(&[u8]) -> T,
) -> Result<Option<(Index, T)>, EmitError> {
    let path = out_dir.join(INDEX_PATH);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("read", &path)(e)),
    };
    let index = parse_index(&path, &bytes)?;
    Ok(Some((index, also(&bytes))))
}

/// The output's index read ahead of emit (beside the load, where a core is idle), with what
/// identifies the file it came from: emit takes it only while the file there is still that one
/// (platc replaces the index by renaming a new file over it, and recovery or another build in
/// between would have done so), else reads the index again.
#[derive(Debug)]
pub struct ReadAhead {
    seen: Option<Identity>,
    read: Result<Option<(Index, String)>, EmitError>,
}

/// Device, inode, size and modification time of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity(u64, u64, u64, i64, i64);

fn identity(path: &Path) -> Option<Identity> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = fs::metadata(path).ok()?;
        Some(Identity(
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
        ))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

impl ReadAhead {
    /// Reads the index of `out_dir` now. Nothing is kept when there is none (a first build).
    pub fn of(out_dir: &Path) -> ReadAhead {
        let path = out_dir.join(INDEX_PATH);
        let seen = identity(&path);
        let read = match seen {
            Some(_) => read_index_hashed(out_dir),
            None => Ok(None),
        };
        ReadAhead { seen, read }
    }

    /// What was read, if the index of `live` is still the file it was read from.
    pub(super) fn still(self, live: &Path) -> Option<Result<Option<(Index, String)>, EmitError>> {
        let seen = self.seen?;
        (identity(&live.join(INDEX_PATH)) == Some(seen)).then_some(self.read)
    }
}

/// The index in `bytes` (read from `path`, which errors name), checked: every path clean and
/// inside the tree, every hash well-formed. The reader's seam for the fuzzer.
pub fn parse_index(path: &Path, bytes: &[u8]) -> Result<Index, EmitError> {
    let path = path.to_path_buf();
    let index: Index = serde_json::from_slice(bytes).map_err(|e| EmitError::CorruptIndex {
        path: path.clone(),
        message: e.to_string(),
    })?;
    for (file, hash) in &index.files {
        // A tampered index must not make platc claim (and later delete) paths outside its tree,
        // nor its own directory (found by fuzzing: `.platc/...` was accepted).
        let reason = path_error(file).or_else(|| {
            (file.split('/').next() == Some(INDEX_DIR))
                .then_some("is inside `.platc/`, platc's own directory")
        });
        if let Some(reason) = reason {
            return Err(EmitError::CorruptIndex {
                path,
                message: format!(
                    "it lists the path `{}`, which {reason}",
                    file.escape_debug()
                ),
            });
        }
        if !is_content_hash(hash) {
            return Err(EmitError::CorruptIndex {
                path,
                message: format!(
                    "the hash of `{file}` is `{hash}`, expected `sha256:` and 64 lowercase hex digits"
                ),
            });
        }
    }
    // No file below another (emit refuses such a tree): platc never wrote an index listing
    // both, and pruning one would go through the other (found by fuzzing).
    let all: std::collections::HashSet<&str> = index.files.keys().map(String::as_str).collect();
    for file in index.files.keys() {
        if let Some(up) = ancestors(file).find(|a| all.contains(a)) {
            return Err(EmitError::CorruptIndex {
                path,
                message: format!(
                    "it lists the path `{}` below `{}`, which it lists as a file",
                    file.escape_debug(),
                    up.escape_debug()
                ),
            });
        }
    }
    Ok(index)
}
