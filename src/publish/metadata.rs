//! The provenance file written beside the published tree.

use super::Source;

/// The Argo CD source-hydrator-style provenance file, at the root of the published tree.
pub const METADATA_PATH: &str = "hydrator.metadata";

/// The content of `hydrator.metadata`: sorted keys, trailing newline.
pub fn metadata(source: &Source, platc_version: &str, commands: &[String]) -> Vec<u8> {
    let mut m = serde_json::Map::new();
    m.insert("commands".into(), serde_json::json!(commands));
    if let Some(c) = &source.commit {
        m.insert("drySha".into(), serde_json::json!(c));
        if source.dirty {
            m.insert("dryShaDirty".into(), serde_json::json!(true));
        }
    }
    m.insert("platcVersion".into(), serde_json::json!(platc_version));
    if let Some(r) = &source.repo {
        m.insert("repoURL".into(), serde_json::json!(r));
    }
    let mut bytes = serde_json::to_vec_pretty(&serde_json::Value::Object(m)).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_sorted_json() {
        let source = Source {
            commit: Some("abc1".into()),
            dirty: false,
            repo: Some("https://e/x".into()),
            date: None,
        };
        assert_eq!(
            String::from_utf8(metadata(&source, "0.1.0", &["platc build".into()])).expect("utf8"),
            "{\n  \"commands\": [\n    \"platc build\"\n  ],\n  \"drySha\": \"abc1\",\n  \"platcVersion\": \"0.1.0\",\n  \"repoURL\": \"https://e/x\"\n}\n"
        );
    }
}
