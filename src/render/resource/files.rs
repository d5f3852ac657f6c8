//! A workload's files: one ConfigMap holding them all (each key recorded from the file's Score
//! content, and what its placeholders read), mounted file by file.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::config_key;
use super::shape::Shape;
use crate::fieldpath::key;
use crate::model::FileContent;
use crate::render::origins::{Origin, Recorder, placeholder_origins};
use crate::resolve::RFileContent;

/// A workload's files: one ConfigMap, mounted file by file.
pub(super) struct Files {
    data: Map<String, Value>,
    binary: Map<String, Value>,
    /// (container, target) → (ConfigMap key, mode)
    pub keys: BTreeMap<(String, String), (String, Option<u32>)>,
    name: String,
}

impl Files {
    /// The workload's files, each key recorded in `rec` (the ConfigMap's).
    pub fn of(sh: &Shape<'_>, rec: &mut Recorder) -> Files {
        let w = sh.w;
        let mut files = Files {
            data: Map::new(),
            binary: Map::new(),
            keys: BTreeMap::new(),
            name: format!("{}-files", w.name),
        };
        for c in &w.containers {
            for f in &c.files {
                let k = config_key(&c.name, &f.target);
                let field = match &f.content {
                    RFileContent::Text(t) => {
                        files.data.insert(k.clone(), json!(t));
                        "data"
                    }
                    RFileContent::Base64(b) => {
                        files.binary.insert(k.clone(), json!(b));
                        "binaryData"
                    }
                };
                if rec.on() {
                    let o = content_origins(sh, &c.name, &f.target);
                    if !o.is_empty() {
                        rec.record(|| key(field, &k), || o);
                    }
                }
                files
                    .keys
                    .insert((c.name.clone(), f.target.clone()), (k, f.mode));
            }
        }
        files
    }

    /// The ConfigMap and the hash of its contents, when there are files.
    pub fn config_map(&self, sh: &Shape<'_>, rec: &mut Recorder) -> Option<(Value, String)> {
        if self.keys.is_empty() {
            return None;
        }
        let meta = sh.meta_suffixed(
            &self.name,
            Some("the files ConfigMap is named after the workload, `-files`"),
            "a ConfigMap holding the workload's files, mounted file by file",
            rec,
        );
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta});
        if !self.data.is_empty() {
            cm["data"] = Value::Object(self.data.clone());
        }
        if !self.binary.is_empty() {
            cm["binaryData"] = Value::Object(self.binary.clone());
        }
        let digest = Sha256::digest(serde_json::to_string(&cm).unwrap_or_default().as_bytes());
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Some((cm, hex))
    }

    pub fn volume(&self) -> Option<Value> {
        if self.keys.is_empty() {
            return None;
        }
        let items: Vec<Value> = self
            .keys
            .values()
            .map(|(k, mode)| {
                let mut it = json!({"key": k, "path": k});
                if let Some(m) = mode {
                    it["mode"] = json!(m);
                }
                it
            })
            .collect();
        Some(json!({"name": "platc-files", "configMap": {"name": self.name, "items": items}}))
    }
}

/// A file's content where its Score file writes it, and what its placeholders read when they
/// are expanded.
fn content_origins(sh: &Shape<'_>, container: &str, target: &str) -> Vec<Origin> {
    let Some(score) = sh.score else {
        return Vec::new();
    };
    let written = score
        .containers
        .get(container)
        .and_then(|c| c.files.values().find(|f| f.target.value == target));
    let Some(f) = written else {
        return Vec::new();
    };
    let what = format!("containers.{container}.files[{target}]");
    let (content, expanded) = match &f.content {
        FileContent::Text(t) => (t, !f.no_expand),
        FileContent::Binary(b) => (b, false),
    };
    let mut o = vec![Origin::score(what, &content.span)];
    if expanded {
        o.extend(placeholder_origins(sh.cx, sh.w, score, content));
    }
    o
}
