//! Files platc wrote and reads back, which anyone can edit: the ownership index and the two
//! levels of the build cache. Corrupt content must be refused or ignored, never trusted.

use std::path::Path;

use serde::Deserialize;

use crate::emit::{EmitError, parse_index};

/// `index`: bytes → [`parse_index`]. Refused: a `CorruptIndex` error naming the file, whose
/// diagnostics carry a message. Accepted: every path is clean and relative, outside the index's
/// own `.platc/` directory, and never below another listed file (prune deletes what the index
/// lists), every hash is `sha256:` and 64 lowercase hex digits, and the index written back
/// with [`crate::emit::Index::to_bytes`] reads as the same index.
pub fn index(data: &[u8]) {
    let path = Path::new("out/.platc/index.json");
    let index = match parse_index(path, data) {
        Ok(index) => index,
        Err(e) => {
            assert!(
                matches!(&e, EmitError::CorruptIndex { path: p, .. } if p == path),
                "{e:?}"
            );
            let diags = e.to_diagnostics();
            assert!(
                diags.has_errors() && !diags.0[0].message.is_empty(),
                "{diags:?}"
            );
            return;
        }
    };
    for (file, hash) in &index.files {
        assert!(
            clean_path(file),
            "the index lists `{}`",
            file.escape_debug()
        );
        assert!(
            is_hash(hash),
            "the index holds the hash `{}`",
            hash.escape_debug()
        );
        let mut parent = file.as_str();
        while let Some((up, _)) = parent.rsplit_once('/') {
            assert!(
                !index.files.contains_key(up),
                "`{file}` is below the file `{up}`"
            );
            parent = up;
        }
    }
    let again = parse_index(path, &index.to_bytes());
    assert_eq!(
        again.ok().as_ref(),
        Some(&index),
        "the index does not read back"
    );
}

/// A path the output may hold, by rules written here again (not the emitter's) so the two
/// are checked against each other.
fn clean_path(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && !p.contains(['\\', '\0'])
        && p.split('/').all(|c| !matches!(c, "" | "." | ".."))
        && p.split('/').next() != Some(".platc")
}

/// `sha256:` and 64 lowercase hex digits, by rules written here again.
fn is_hash(hash: &str) -> bool {
    let hex = hash.strip_prefix("sha256:").unwrap_or_default();
    hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `cache`: bytes → the build cache's entry reader ([`crate::cache::parse_entry`], then its
/// outputs), the kept platform evaluation's ([`crate::load::evaluation::parse_kept`], whose
/// value then goes through the platform's conversion) and the render memo's
/// ([`crate::memo::parse_stored`]). None panics; what each accepts is written back in its own
/// format and reads as the same value; a memo entry usable as a hit holds only clean output
/// paths and real hashes.
pub fn cache(data: &[u8]) {
    if let Some(entry) = crate::cache::parse_entry(data) {
        let outputs = crate::cache::parse_outputs(entry.outputs);
        let owned = crate::cache::Entry {
            outputs: outputs.unwrap_or_default(),
            format: entry.format,
            tool: entry.tool.clone(),
            options: entry.options.clone(),
            globs: entry.globs.clone(),
            extra: entry.extra.clone(),
            inputs: entry.inputs.clone(),
            index: entry.index.clone(),
        };
        let bytes = serde_json::to_vec(&owned)
            .unwrap_or_else(|e| panic!("an entry read does not serialise: {e}"));
        let again = crate::cache::parse_entry(&bytes).expect("an entry written reads back");
        let outputs = crate::cache::parse_outputs(again.outputs);
        assert_eq!(outputs.as_ref(), Some(&owned.outputs), "outputs differ");
        assert_eq!(
            (again.format, &again.tool, &again.inputs, &again.index),
            (owned.format, &owned.tool, &owned.inputs, &owned.index)
        );
    }
    if let Some(kept) = crate::load::evaluation::parse_kept(data) {
        let bytes =
            crate::load::evaluation::kept_bytes(&kept).expect("a kept evaluation serialises");
        let again = crate::load::evaluation::parse_kept(&bytes).expect("it reads back");
        assert_eq!(again.json, kept.json, "the kept value does not read back");
        assert_eq!(again.sources, kept.sources);
        assert_eq!(again.positions, kept.positions);
        // What the loader does with a fresh entry's value: a conversion error, never a panic.
        let _ = crate::model::Platform::deserialize(&kept.json);
    }
    if let Some(envs) = crate::memo::parse_stored(data) {
        // Only well-formed entries are hits: those must hold clean paths and real hashes.
        for entry in envs.values().flat_map(|nodes| nodes.values()) {
            if entry.well_formed() {
                for f in &entry.files {
                    assert!(
                        clean_path(&f.path),
                        "a memo hit writes `{}`",
                        f.path.escape_debug()
                    );
                    assert!(
                        is_hash(&f.hash),
                        "a memo hit has the hash `{}`",
                        f.hash.escape_debug()
                    );
                }
                for d in &entry.docs {
                    assert!(
                        clean_path(&d.path),
                        "a memo hit writes `{}`",
                        d.path.escape_debug()
                    );
                }
            }
        }
        let bytes = crate::memo::stored_bytes(envs.clone()).expect("a memo read serialises");
        assert_eq!(
            crate::memo::parse_stored(&bytes),
            Some(envs),
            "the memo does not read back"
        );
    }
}
