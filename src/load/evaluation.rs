//! The platform's last evaluation, kept for the next build: Nickel is a pure function of the
//! files it reads, so when the platc binary and every one of those files are unchanged, the
//! exported value is too and the evaluator need not run (about a third of a small rebuild).
//!
//! The entry lives in `<workspace>/.platc/cache/platform-<hash of the platform's location>.json`
//! and records the binary, the entry expression, every file the evaluation read (its
//! workspace-relative name and content hash; the stdlib and the embedded reference platform are
//! part of the binary), the exported JSON and where each value was written. An entry that does
//! not parse, or differs in any of these, is ignored and overwritten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diag::Span;
use crate::model::Positions;

const FORMAT: u32 = 2;

#[derive(Serialize, Deserialize)]
struct Entry {
    format: u32,
    tool: String,
    entry: String,
    /// Workspace-relative name → content hash, of every workspace file read.
    read: BTreeMap<String, String>,
    /// The display names of every file read, as the evaluation reported them.
    sources: Vec<String>,
    json: Value,
    /// Field path → (file, line, column) of each value.
    positions: Vec<(String, String, u32, u32)>,
}

/// What an evaluation gives the loader: the exported value, the files it read, where each
/// value was written.
pub struct Kept {
    pub json: Value,
    pub sources: Vec<String>,
    pub positions: Positions,
}

/// Where an evaluation's entry is kept, and whose files it read: `files` is the workspace root
/// for a platform on disk, `None` for the embedded one.
pub struct Slot<'a> {
    pub cache_root: &'a Path,
    pub files: Option<&'a Path>,
}

impl Slot<'_> {
    fn path(&self) -> PathBuf {
        let place = match self.files {
            Some(root) => root.to_string_lossy().into_owned(),
            None => "<embedded>".to_string(),
        };
        let key = crate::resolve::short_hash(&place);
        self.cache_root
            .join(".platc/cache")
            .join(format!("platform-{key}.json"))
    }

    /// The exported value and the files read, when the recorded evaluation still holds.
    pub fn lookup(&self, entry: &str) -> Option<Kept> {
        let bytes = std::fs::read(self.path()).ok()?;
        let e: Entry = serde_json::from_slice(&bytes).ok()?;
        let unchanged = |(name, hash): (&String, &String)| {
            let root = self.files?;
            let bytes = std::fs::read(root.join(name)).ok()?;
            (crate::digest::content_hash(&bytes) == *hash).then_some(())
        };
        let fresh = e.format == FORMAT
            && e.tool == crate::cache::tool_identity()?
            && e.entry == entry
            && e.read.iter().all(|r| unchanged(r).is_some());
        if !fresh {
            return None;
        }
        Some(e.into_kept())
    }

    /// Records an evaluation (best effort: a cache that cannot be written is no error). `read`
    /// holds the hashes of the workspace files' text as the evaluator read it, so an edit made
    /// while it ran cannot be recorded as evaluated.
    pub fn store(&self, entry: &str, kept: &Kept, read: BTreeMap<String, String>) {
        let Some(tool) = crate::cache::tool_identity() else {
            return;
        };
        // The embedded platform's files are part of the binary.
        let read = if self.files.is_some() {
            read
        } else {
            BTreeMap::new()
        };
        if let Ok(bytes) = serde_json::to_vec(&Entry::of(tool, entry, read, kept)) {
            crate::cache::write_atomically(&self.path(), &bytes);
        }
    }
}

impl Entry {
    fn of(tool: String, entry: &str, read: BTreeMap<String, String>, kept: &Kept) -> Entry {
        Entry {
            format: FORMAT,
            tool,
            entry: entry.to_string(),
            read,
            sources: kept.sources.clone(),
            json: kept.json.clone(),
            positions: kept
                .positions
                .0
                .iter()
                .map(|(p, s)| (p.clone(), s.file.to_string(), s.line, s.col))
                .collect(),
        }
    }

    fn into_kept(self) -> Kept {
        let positions = self
            .positions
            .into_iter()
            .map(|(path, file, line, col)| (path, Span::new(file, line, col)))
            .collect();
        Kept {
            json: self.json,
            sources: self.sources,
            positions: Positions(positions),
        }
    }
}

/// What an entry's bytes keep, whatever their freshness; `None` when they are not an entry
/// (the fuzzer's seam, with [`kept_bytes`]).
pub(crate) fn parse_kept(bytes: &[u8]) -> Option<Kept> {
    serde_json::from_slice::<Entry>(bytes)
        .ok()
        .map(Entry::into_kept)
}

/// The bytes [`Slot::store`] writes for `kept` (no files read, an empty tool).
pub(crate) fn kept_bytes(kept: &Kept) -> Option<Vec<u8>> {
    serde_json::to_vec(&Entry::of(String::new(), "", BTreeMap::new(), kept)).ok()
}
