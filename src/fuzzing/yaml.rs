//! The YAML reader as `platc diff` uses it (rendered trees, old and new), and the canonical
//! writer whose output the diff must read back as the same objects.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::diff::{ChangeKind, diff_trees};
use crate::yaml::read::parse_stream;
use crate::yaml::write::to_yaml;

const PATH: &str = "envs/dev/app/manifest.yaml";

/// `diff_yaml`: bytes as one rendered file of an old tree. Never panics. When the bytes are a
/// YAML stream: every document written back by the canonical writer reads as the same value
/// (spans aside), so the diff of the file against its canonical rewrite is empty (formatting is
/// not a change); the diff against a tree without the file removes each non-null document, one
/// change each. Otherwise the file is compared as text: one change, no object fields.
pub fn diff_yaml(data: &[u8]) {
    let old = BTreeMap::from([(PATH.to_string(), data.to_vec())]);
    let gone = diff_trees(&old, &BTreeMap::new());
    assert!(
        gone.changes.iter().all(|c| c.change == ChangeKind::Removed),
        "{gone:?}"
    );
    let docs = std::str::from_utf8(data)
        .ok()
        .and_then(|text| parse_stream(PATH, text).ok());
    let Some(docs) = docs else {
        assert_eq!(gone.changes.len(), 1, "text compared as text: {gone:?}");
        assert!(gone.changes[0].kind.is_none(), "{gone:?}");
        return;
    };
    let values: Vec<Value> = docs
        .iter()
        .map(|d| d.to_json())
        .filter(|v| !v.is_null())
        .collect();
    assert_eq!(gone.changes.len(), values.len(), "{gone:?}");
    for v in &values {
        let written = to_yaml(v);
        let read = crate::yaml::read::parse(PATH, &written)
            .unwrap_or_else(|d| panic!("canonical YAML of {v} does not read: {d}\n{written}"));
        assert_eq!(
            &read.to_json(),
            v,
            "canonical YAML reads differently:\n{written}"
        );
    }
    let canonical: Vec<String> = values.iter().map(to_yaml).collect();
    let new = BTreeMap::from([(PATH.to_string(), canonical.join("---\n").into_bytes())]);
    let same = diff_trees(&old, &new);
    assert!(same.is_empty(), "a rewrite is not a change: {same:?}");
}
