//! The build cache, first level: when none of a build's inputs changed since the last build
//! into the same output directory, and that directory still holds exactly what that build wrote,
//! `platc build` is done without evaluating the platform, parsing a workload or rendering a node.
//!
//! Inputs are everything a build reads: every file under `platform/`, Nickel files imported from
//! elsewhere in the workspace, every workload file the platform's globs find, and the files their
//! `files.*.source` name, each by content hash; plus the platc binary's identity (version, size,
//! modification time) and the environments asked for. The entry lives in
//! `<workspace>/.platc/cache/build-<hash of the output path>.json` (hidden directories are never
//! scanned for workloads); CI keeps it by caching `.platc/cache`.
//!
//! An entry is never trusted: it must parse, be of this format and binary, list exactly the
//! inputs found now with the same hashes, and the output directory must still hold its index
//! (same bytes) and every file it lists (regular files of the recorded sizes), with no staging
//! directory or patch of an interrupted emit beside it. Anything else is a miss and the build
//! runs in full, so deleting or corrupting the cache changes no output byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::emit::{self, EmitReport};
use crate::model::{Platform, Workload};
use crate::pipeline::Options;

pub(crate) const FORMAT: u32 = 1;
const CACHE_DIR: &str = ".platc/cache";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry<Outputs = BTreeMap<String, u64>> {
    pub(crate) format: u32,
    pub(crate) tool: String,
    /// The options that change the output (environments, layout).
    pub(crate) options: String,
    /// The platform's workload globs, to find the workload files without evaluating it.
    pub(crate) globs: Vec<String>,
    /// Inputs outside `platform/` that are not workload files (Nickel imports, `source` files).
    pub(crate) extra: Vec<String>,
    /// Every input, workspace-relative path → content hash.
    pub(crate) inputs: BTreeMap<String, String>,
    /// Content hash of the output's `.platc/index.json`.
    pub(crate) index: String,
    /// Every file written → its size (read only when every input matched: on a miss, most
    /// of the entry's bytes need no parsing).
    pub(crate) outputs: Outputs,
}

/// What a build read beyond the workspace's platform directory, for [`store`].
pub struct Recorded {
    /// The platform's workload globs.
    globs: Vec<String>,
    /// Nickel imports outside `platform/` and the files workloads' `source` named.
    extra: Vec<String>,
}

impl Recorded {
    pub fn of(platform: &Platform, workloads: &[Workload]) -> Recorded {
        let mut extra: Vec<String> = platform
            .sources
            .iter()
            .filter(|s| !s.starts_with("<stdlib>") && !s.starts_with("platform/"))
            .chain(workloads.iter().flat_map(|w| w.read_files.iter()))
            .cloned()
            .collect();
        extra.sort();
        extra.dedup();
        Recorded {
            globs: platform.workloads.clone(),
            extra,
        }
    }
}

/// What a lookup found: the report of a build the cache answered (every file unchanged), else
/// the inputs it hashed on the way, which [`store`] reuses when the build read the same ones.
pub enum Lookup {
    Hit(EmitReport),
    Miss(Option<Hashed>),
}

/// Inputs hashed before the build read them: recording these (not hashes taken after the
/// build) means a file edited during the build is seen as changed next time.
pub struct Hashed {
    globs: Vec<String>,
    extra: Vec<String>,
    inputs: BTreeMap<String, String>,
}

pub fn lookup(root: &Path, out_dir: &Path, opts: &Options) -> Lookup {
    let mut hashed = None;
    match try_lookup(root, out_dir, opts, &mut hashed) {
        Some(report) => Lookup::Hit(report),
        None => Lookup::Miss(hashed),
    }
}

fn try_lookup(
    root: &Path,
    out_dir: &Path,
    opts: &Options,
    hashed: &mut Option<Hashed>,
) -> Option<EmitReport> {
    let path = entry_path(root, out_dir)?;
    // A build killed while writing one record after writing the other is answered from the
    // cache next time and writes nothing, so its temporary file goes here, not only when a
    // record is written.
    if let Some(dir) = path.parent() {
        remove_dead_temporaries(dir);
    }
    let bytes = std::fs::read(path).ok()?;
    let entry = parse_entry(&bytes)?;
    if entry.format != FORMAT
        || entry.tool != tool_identity()?
        || entry.options != options_key(opts)
    {
        return None;
    }
    let inputs = inputs(root, out_dir, &entry.globs, &entry.extra)?;
    let hit = inputs == entry.inputs;
    *hashed = Some(Hashed {
        globs: entry.globs,
        extra: entry.extra,
        inputs,
    });
    if !hit {
        return None;
    }
    // A build killed while applying a patch leaves new files under the old index, and the
    // same size when only a hash tells them apart: only emit's recovery makes it whole again.
    if emit::interrupted(out_dir) {
        return None;
    }
    let outputs = parse_outputs(entry.outputs)?;
    let index = std::fs::read(out_dir.join(emit::INDEX_PATH)).ok()?;
    if emit::content_hash(&index) != entry.index {
        return None;
    }
    let intact = |(rel, size): (&String, &u64)| {
        std::fs::symlink_metadata(out_dir.join(rel)).is_ok_and(|m| m.is_file() && m.len() == *size)
    };
    {
        use rayon::prelude::*;
        if !outputs.par_iter().all(intact) {
            return None;
        }
    }
    Some(EmitReport {
        written: Vec::new(),
        unchanged: outputs.into_keys().collect(),
        removed: Vec::new(),
    })
}

/// An entry's bytes, its outputs left unparsed; `None` when they are not an entry (the fuzzer's
/// seam, as [`parse_outputs`]).
pub(crate) fn parse_entry(bytes: &[u8]) -> Option<Entry<&serde_json::value::RawValue>> {
    serde_json::from_slice(bytes).ok()
}

/// An entry's outputs (path → size), read only once every input matched.
pub(crate) fn parse_outputs(raw: &serde_json::value::RawValue) -> Option<BTreeMap<String, u64>> {
    serde_json::from_str(raw.get()).ok()
}

/// Records a build that just wrote `tree` into `out_dir`, with the index whose bytes hash to
/// `index`. Failing to record is not an error: the next build is then a full one.
pub fn store(
    root: &Path,
    out_dir: &Path,
    opts: &Options,
    recorded: &Recorded,
    hashed: Option<Hashed>,
    written: Written<'_>,
) {
    let _ = try_store(root, out_dir, opts, recorded, hashed, written);
}

/// What emit wrote: the tree (each file's size is recorded) and the content hash of the index
/// it wrote (emit knows the bytes; reading them back would cost a 4 MB read at 35k files).
pub struct Written<'a> {
    pub tree: &'a emit::Tree,
    pub index: String,
}

/// Every file of a tree with its size, serialised as the entry's `outputs` map without a copy
/// of the paths.
struct Sizes<'a>(&'a emit::Tree);

impl Serialize for Sizes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.sizes())
    }
}

fn try_store(
    root: &Path,
    out_dir: &Path,
    opts: &Options,
    recorded: &Recorded,
    hashed: Option<Hashed>,
    written: Written<'_>,
) -> Option<()> {
    let (globs, extra) = (recorded.globs.clone(), recorded.extra.clone());
    let inputs = match hashed {
        Some(h) if h.globs == globs && h.extra == extra => h.inputs,
        _ => inputs(root, out_dir, &globs, &extra)?,
    };
    let entry = Entry {
        format: FORMAT,
        tool: tool_identity()?,
        options: options_key(opts),
        inputs,
        globs,
        extra,
        index: written.index,
        outputs: Sizes(written.tree),
    };
    write_atomically(
        &entry_path(root, out_dir)?,
        &serde_json::to_vec(&entry).ok()?,
    )
}

/// Keeps the most recently written entries of each kind (one per output directory) and drops
/// the rest, so builds into many scratch directories do not grow the cache without bound.
fn prune(dir: &Path) {
    const KEEP: usize = 16;
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let mut kinds: BTreeMap<String, Vec<(std::time::SystemTime, PathBuf)>> = BTreeMap::new();
    for e in read.flatten() {
        let name = e.file_name();
        let Some((kind, _)) = name.to_str().and_then(|n| n.split_once('-')) else {
            continue;
        };
        if let Some(modified) = e.metadata().ok().and_then(|m| m.modified().ok()) {
            kinds
                .entry(kind.to_string())
                .or_default()
                .push((modified, e.path()));
        }
    }
    for mut entries in kinds.into_values() {
        if entries.len() <= KEEP {
            continue;
        }
        entries.sort();
        for (_, p) in &entries[..entries.len() - KEEP] {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Every input file with its content hash (`None` when one cannot be read: no caching then).
fn inputs(
    root: &Path,
    out_dir: &Path,
    globs: &[String],
    extra: &[String],
) -> Option<BTreeMap<String, String>> {
    let mut files: Vec<String> = Vec::new();
    let platform_dir = root.join("platform");
    if platform_dir.join("main.ncl").is_file() {
        for e in walkdir::WalkDir::new(&platform_dir).sort_by_file_name() {
            let e = e.ok()?;
            if e.file_type().is_file() {
                let rel = e.path().strip_prefix(root).ok()?;
                files.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files.extend(crate::discover::find_workloads(root, globs, Some(out_dir)).ok()?);
    files.extend(extra.iter().cloned());
    use rayon::prelude::*;
    files
        .into_par_iter()
        .map(|rel| {
            let bytes = std::fs::read(root.join(&rel)).ok()?;
            Some((rel, emit::content_hash(&bytes)))
        })
        .collect::<Option<Vec<_>>>()
        .map(|v| v.into_iter().collect())
}

fn options_key(opts: &Options) -> String {
    format!("envs={:?} layout={:?}", opts.envs, opts.layout)
}

/// The running binary: a rebuilt platc (even of the same version) never uses an older entry.
pub fn tool_identity() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let meta = std::fs::metadata(exe).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!(
        "platc {} {} {mtime}",
        env!("CARGO_PKG_VERSION"),
        meta.len()
    ))
}

fn entry_path(root: &Path, out_dir: &Path) -> Option<PathBuf> {
    file_of(root, out_dir, "build")
}

/// `<workspace>/.platc/cache/<kind>-<hash of the output path>.json`: one file of each kind per
/// output directory.
pub fn file_of(root: &Path, out_dir: &Path, kind: &str) -> Option<PathBuf> {
    let out = out_dir
        .canonicalize()
        .unwrap_or_else(|_| out_dir.to_path_buf());
    let key = crate::resolve::short_hash(&out.to_string_lossy());
    Some(root.join(CACHE_DIR).join(format!("{kind}-{key}.json")))
}

/// Writes a cache file through a temporary name (a reader sees the old or the new one) and
/// prunes the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Option<()> {
    let dir = path.parent()?;
    std::fs::create_dir_all(dir).ok()?;
    remove_dead_temporaries(dir);
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).ok()?;
    std::fs::rename(&tmp, path).ok()?;
    prune(dir);
    Some(())
}

/// Deletes the temporary files of writers that died before their rename (a killed build): they
/// would stay for good, and count against [`prune`]'s entries. A live writer's file that only
/// looks dead (another PID namespace sharing the workspace) costs that writer its record, which
/// is never an error: its next build is a full one.
fn remove_dead_temporaries(dir: &Path) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for e in read.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.rsplit_once(".tmp-"))
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !crate::maker::maker_alive(pid, &e.path()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
