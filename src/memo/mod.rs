//! The build cache, second level: per graph node. A workload, resource or namespace node whose
//! inputs did not change since the last build into the same output directory is not rendered
//! again: its files are taken as they are (path, content hash, size), and emit keeps them by the
//! hash its ownership index recorded, without the bytes ever existing in memory.
//!
//! A node's key is a hash of everything its objects are rendered from:
//! - the salt: the platc binary, the whole evaluated platform, the layout, the environment;
//! - the node itself: its graph node and sync wave, and its resolved data (the `RWorkload`, the
//!   `Instance`; for a namespace its team);
//! - every neighbour through the graph, in either direction, with the edge kind: a workload's or
//!   resource's resolved data, a namespace's team, a component's node. A new caller, a changed
//!   callee port or a shared database's new consumer all change the key. A namespace's objects
//!   read nothing of its members, which reach its key by their node alone: editing a workload
//!   leaves its namespace alone.
//!
//! Resolved data is hashed through its `Debug` form, so a field added to the model is part of
//! the key without anyone remembering to add it. What is not hashed must not be read by a
//! node's renderers: that is the contract `tests/cache.rs` checks by building after edits with
//! and without the cache and comparing every byte.
//!
//! The entries live in `<workspace>/.platc/cache/nodes-<hash of the output path>.json`, beside
//! the first level's. An entry that does not parse, is of another format, or names files the
//! output's index does not hold with those hashes is not used (emit reports the last case and
//! the build runs again without the memo), so a corrupt or deleted memo changes no output byte.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::Path;

use petgraph::Direction;
use petgraph::visit::EdgeRef;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::graph::{EdgeKind, EnvGraph, NodeKind};
use crate::model::{Layout, Platform};
use crate::resolve::EnvResolution;

mod owners;

pub use owners::Owners;

const FORMAT: u32 = 4;

/// One file a node's objects went to: path, `sha256:…` content hash, size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeFile {
    pub path: String,
    pub hash: String,
    pub len: u64,
}

/// What a node rendered to last time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    /// Objects it rendered (the tree's README counts objects per environment).
    pub objects: usize,
    /// Files holding only this node's objects.
    pub files: Vec<NodeFile>,
    /// Its objects that share a file with other nodes' (the `manifest` layout's Applications
    /// directory), as canonical YAML: the shared file is assembled again around them.
    #[serde(default)]
    pub docs: Vec<Doc>,
    /// [`Entry::checksum`] as [`store`] wrote it: an entry damaged since (a digit of `objects`,
    /// a word of a document) is dropped when the memo is read, so it costs a render, never a
    /// different byte.
    #[serde(default)]
    pub sum: String,
}

impl Entry {
    /// Whether every path and hash it holds is one a build writes. A memo file is not trusted:
    /// an edited path (`../x`) taken as a node's file would fail the build in emit's checks
    /// instead of being ignored, so such an entry is no hit and the node is rendered.
    pub fn well_formed(&self) -> bool {
        self.files.iter().all(|f| {
            crate::emit::is_output_path(&f.path) && crate::digest::is_content_hash(&f.hash)
        }) && self
            .docs
            .iter()
            .all(|d| crate::emit::is_output_path(&d.path))
    }

    /// A hash of everything the entry puts into a build. Not a seal against a forger, who
    /// can compute it too (the cache is trusted as the workspace is): it catches damage.
    /// `DefaultHasher` may differ between Rust releases; the memo is salted by the binary anyway.
    pub fn checksum(&self) -> String {
        let mut h = std::hash::DefaultHasher::new();
        (&self.key, self.objects, &self.files, &self.docs).hash(&mut h);
        format!("{:016x}", h.finish())
    }

    /// What a reused node puts in a tree: its objects in shared files as documents to assemble,
    /// its own files as known hashes.
    pub fn put(
        &self,
        docs: &mut Vec<(String, Vec<u8>)>,
        known: &mut BTreeMap<String, crate::emit::Known>,
    ) {
        docs.extend(
            self.docs
                .iter()
                .map(|d| (d.path.clone(), d.yaml.clone().into_bytes())),
        );
        known.extend(self.files.iter().map(|f| {
            let k = crate::emit::Known {
                hash: f.hash.clone(),
                len: f.len,
            };
            (f.path.clone(), k)
        }));
    }
}

/// One object kept as text: its own path (not the file's) and its canonical YAML.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Doc {
    pub path: String,
    pub yaml: String,
}

impl Doc {
    /// Rendered files are always UTF-8 (canonical YAML and READMEs are written from strings).
    fn new(path: &str, bytes: &[u8]) -> Doc {
        Doc {
            path: path.to_string(),
            yaml: String::from_utf8_lossy(bytes).into_owned(),
        }
    }
}

/// The memo file as written: what the last build into an output directory rendered.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Stored {
    format: u32,
    /// `<env>` → node id → entry.
    envs: BTreeMap<String, BTreeMap<String, Entry>>,
}

impl Stored {
    /// The last build's entries; none when there is no memo or it is unusable. Independent of
    /// the platform, so a build reads it while it loads the workspace.
    pub fn read(root: &Path, out_dir: &Path) -> Stored {
        // Every entry names files of the output: without its index (a fresh clone, a deleted
        // output) none can be reused, and emit would only find that out after a whole build.
        if !out_dir.join(crate::emit::INDEX_PATH).is_file() {
            return Stored::default();
        }
        crate::cache::file_of(root, out_dir, "nodes")
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| parse_stored(&b))
            .map(|mut envs| {
                // An entry damaged since it was stored is dropped: its node is rendered.
                for nodes in envs.values_mut() {
                    nodes.retain(|_, e| e.sum == e.checksum());
                }
                Stored {
                    format: FORMAT,
                    envs,
                }
            })
            .unwrap_or_default()
    }
}

/// The entries of the last build into one output directory, and the salt of this one.
#[derive(Debug, Default)]
pub struct Memo {
    salt: String,
    envs: BTreeMap<String, BTreeMap<String, Entry>>,
}

impl Memo {
    /// The memo for a build of `platform` into `out_dir`; empty when there is none or it is
    /// unusable. `None` when the running binary cannot be identified (no memo at all then).
    pub fn load(root: &Path, out_dir: &Path, platform: &Platform, layout: Layout) -> Option<Memo> {
        Memo::salted(Stored::read(root, out_dir), platform, layout)
    }

    /// The entries read by [`Stored::read`], for a build of `platform`.
    pub fn salted(stored: Stored, platform: &Platform, layout: Layout) -> Option<Memo> {
        let salt = salt(&crate::cache::tool_identity()?, platform, layout);
        Some(Memo {
            salt,
            envs: stored.envs,
        })
    }

    /// A memo of no entries for `platform`, to compute keys with (and to fill from a
    /// compilation with [`Memo::with_entries_of`]).
    pub fn for_platform(platform: &Platform, layout: Layout) -> Option<Memo> {
        Some(Memo {
            salt: salt(&crate::cache::tool_identity()?, platform, layout),
            envs: BTreeMap::new(),
        })
    }

    /// This memo's salt with every node `comp` rendered (compiled with keys) as an entry of its
    /// objects' text: another compilation whose nodes have the same keys takes them from here
    /// instead of rendering them (`platc diff --base` renders the base only where it differs).
    pub fn with_entries_of(self, comp: &crate::pipeline::Compilation) -> Memo {
        let mut envs: BTreeMap<String, BTreeMap<String, Entry>> = BTreeMap::new();
        for e in &comp.envs {
            let mut docs: BTreeMap<&str, Vec<Doc>> = BTreeMap::new();
            for o in &e.objects {
                docs.entry(o.provenance.node.as_str())
                    .or_default()
                    .push(Doc::new(&o.path, &o.bytes()));
            }
            let nodes = envs.entry(e.resolution.env.clone()).or_default();
            for (node, key) in &e.keys {
                let docs = docs.remove(node.as_str()).unwrap_or_default();
                let entry = Entry {
                    key: key.clone(),
                    objects: docs.len(),
                    files: Vec::new(),
                    docs,
                    sum: String::new(),
                };
                nodes.insert(node.clone(), entry);
            }
        }
        Memo {
            salt: self.salt,
            envs,
        }
    }

    /// The same salt without entries: every node is rendered, and recorded for next time.
    pub fn emptied(&self) -> Memo {
        Memo {
            salt: self.salt.clone(),
            envs: BTreeMap::new(),
        }
    }

    /// Keys of every cacheable node of one environment.
    pub fn keys(&self, res: &EnvResolution, graph: &EnvGraph) -> BTreeMap<String, String> {
        node_keys(&self.salt, res, graph)
    }

    /// The entry of a node rendered last time from exactly this key.
    pub fn hit(&self, env: &str, node: &str, key: &str) -> Option<&Entry> {
        self.envs
            .get(env)
            .and_then(|e| e.get(node))
            .filter(|e| e.key == key && e.well_formed())
    }
}

/// The entries of a memo file's bytes; `None` when they do not parse or are of another format
/// (the fuzzer's seam). Each environment's entries are parsed on their own thread: the file is
/// megabytes at a thousand workloads, and read beside the load, which leaves a core idle.
pub(crate) fn parse_stored(bytes: &[u8]) -> Option<BTreeMap<String, BTreeMap<String, Entry>>> {
    use rayon::prelude::*;
    #[derive(Deserialize)]
    struct Raw<'a> {
        format: u32,
        #[serde(borrow)]
        envs: BTreeMap<String, &'a serde_json::value::RawValue>,
    }
    let raw: Raw = serde_json::from_slice(bytes).ok()?;
    if raw.format != FORMAT {
        return None;
    }
    raw.envs
        .into_par_iter()
        .map(|(env, entries)| Some((env, serde_json::from_str(entries.get()).ok()?)))
        .collect()
}

/// The bytes [`store`] writes for `envs`: what `serde_json::to_vec` of a [`Stored`] gives, each
/// environment's entries serialised on their own thread.
pub(crate) fn stored_bytes(envs: BTreeMap<String, BTreeMap<String, Entry>>) -> Option<Vec<u8>> {
    use rayon::prelude::*;
    let parts: Vec<(Vec<u8>, Vec<u8>)> = envs
        .into_par_iter()
        .map(|(env, entries)| {
            Some((
                serde_json::to_vec(&env).ok()?,
                serde_json::to_vec(&entries).ok()?,
            ))
        })
        .collect::<Option<_>>()?;
    let len = parts
        .iter()
        .map(|(k, v)| k.len() + v.len() + 2)
        .sum::<usize>()
        + 32;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(format!("{{\"format\":{FORMAT},\"envs\":{{").as_bytes());
    for (i, (env, entries)) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&env);
        out.push(b':');
        out.extend_from_slice(&entries);
    }
    out.extend_from_slice(b"}}");
    Some(out)
}

/// Records this build's nodes for the next one. Failing to record is not an error: the next
/// build then renders every node.
pub fn store(root: &Path, out_dir: &Path, mut envs: BTreeMap<String, BTreeMap<String, Entry>>) {
    for entry in envs.values_mut().flat_map(|nodes| nodes.values_mut()) {
        entry.sum = entry.checksum();
    }
    let _ = (|| {
        let path = crate::cache::file_of(root, out_dir, "nodes")?;
        let bytes = stored_bytes(envs)?;
        crate::cache::write_atomically(&path, &bytes)
    })();
}

/// Feeds a value's `Debug` form into a hash: for the platform, once per build (its types need
/// not all be hashable). The separator keeps `("a", "bc")` apart from `("ab", "c")`.
fn feed(h: &mut Sha256, v: &dyn fmt::Debug) {
    let mut text = format!("{v:?}");
    text.push('\u{1f}');
    h.update(text.as_bytes());
}

/// What `Hash` writes, kept in one buffer: SHA-256 is fed once per value instead of once per
/// field, and nothing is formatted. `Hash` is prefix-free for the types hashed here (strings end
/// in 0xff, sequences start with their length, enums with their variant), so distinct values
/// give distinct bytes. Native byte order is fine: the salt names the binary.
struct Bytes<'a>(&'a mut Vec<u8>);

impl Hasher for Bytes<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn finish(&self) -> u64 {
        0
    }
}

/// Feeds a value, as `Hash` describes it, into a hash. (Hashing through `Debug` was a twelfth
/// of a one-workload rebuild: formatting every field, strings escaped.)
fn feed_value<T: Hash + ?Sized>(h: &mut Sha256, v: &T) {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with_borrow_mut(|buf| {
        buf.clear();
        v.hash(&mut Bytes(buf));
        h.update(buf.as_slice());
        // A large value's buffer should not outlive its use.
        if buf.capacity() > 1 << 20 {
            *buf = Vec::new();
        }
    });
}

fn digest<T: Hash + ?Sized>(v: &T) -> [u8; 32] {
    let mut h = Sha256::new();
    feed_value(&mut h, v);
    h.finalize().into()
}

/// A node's own digest, if it has one: the bytes themselves (formatting 32 numbers through
/// `Debug` for each of a node's neighbours was a fifth of the keys' time).
fn feed_own(h: &mut Sha256, own: Option<&[u8; 32]>) {
    match own {
        Some(d) => {
            h.update([1]);
            h.update(d);
        }
        None => h.update([0]),
    }
}

fn hex(d: &[u8]) -> String {
    let mut out = String::with_capacity(2 * d.len());
    crate::digest::push_hex(&mut out, d);
    out
}

fn salt(tool: &str, platform: &Platform, layout: Layout) -> String {
    let mut h = Sha256::new();
    feed(&mut h, &FORMAT);
    feed(&mut h, &tool);
    feed(&mut h, &layout);
    feed(&mut h, platform);
    hex(&h.finalize())
}

/// Every workload, resource and namespace node's key (node id → hex).
fn node_keys(salt: &str, res: &EnvResolution, graph: &EnvGraph) -> BTreeMap<String, String> {
    use rayon::prelude::*;
    let mut own: BTreeMap<String, [u8; 32]> = BTreeMap::new();
    let workloads: Vec<(String, [u8; 32])> = res
        .workloads
        .par_iter()
        .map(|w| (crate::graph::workload_id(&w.name), digest(w)))
        .collect();
    let instances: Vec<(String, [u8; 32])> = res
        .instances
        .par_iter()
        .map(|i| (crate::graph::resource_id(&i.key), digest(i)))
        .collect();
    own.extend(workloads);
    own.extend(instances);
    // A namespace's objects read its team and nothing of its members (the team dashboard
    // selects their series by namespace), so members reach its key as graph neighbours only.
    let namespaces = res.namespaces();
    for (ns, team) in &namespaces {
        own.insert(crate::graph::namespace_id(ns), digest(team));
    }

    graph
        .index
        .par_iter()
        .filter_map(|(id, &ix)| {
            let node = &graph.graph[ix];
            if node.kind == NodeKind::Component {
                return None;
            }
            let reads_neighbours = node.kind != NodeKind::Namespace;
            let mut h = Sha256::new();
            feed_value(&mut h, salt);
            feed_value(&mut h, &graph.env);
            feed_value(&mut h, node);
            feed_value(&mut h, &graph.waves.get(id));
            feed_own(&mut h, own.get(id));
            let mut edges: Vec<(u8, EdgeKind, &crate::graph::GNode)> = Vec::new();
            for (dir, tag) in [(Direction::Incoming, 0u8), (Direction::Outgoing, 1u8)] {
                for e in graph.graph.edges_directed(ix, dir) {
                    let other = if dir == Direction::Incoming {
                        e.source()
                    } else {
                        e.target()
                    };
                    edges.push((tag, *e.weight(), &graph.graph[other]));
                }
            }
            edges.sort_by(|a, b| (a.0, &a.1, &a.2.id).cmp(&(b.0, &b.1, &b.2.id)));
            for (tag, kind, other) in edges {
                feed_value(&mut h, &(tag, kind, other));
                if reads_neighbours {
                    feed_own(&mut h, own.get(other.id.as_str()));
                }
            }
            Some((id.clone(), hex(&h.finalize())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LatencySlo, Slo};

    /// The memo written environment by environment is byte for byte serde's whole-file form,
    /// and reads back to what was written.
    #[test]
    fn stored_bytes_are_serdes_and_read_back() {
        let entry = |n: u64| Entry {
            key: format!("k{n}"),
            objects: n as usize,
            files: vec![NodeFile {
                path: format!("envs/e/w{n}/a.yaml"),
                hash: crate::digest::content_hash(n.to_string().as_bytes()),
                len: n,
            }],
            docs: vec![Doc {
                path: format!("envs/e/w{n}/b.yaml"),
                yaml: "a: \"\\u00e9\"\n".into(),
            }],
            sum: format!("s{n}"),
        };
        let envs: BTreeMap<String, BTreeMap<String, Entry>> = ["", "dev", "prod", "st\"aging"]
            .iter()
            .enumerate()
            .map(|(i, env)| {
                let nodes = (0..i as u64)
                    .map(|n| (format!("workload:w{n}"), entry(n)))
                    .collect();
                (env.to_string(), nodes)
            })
            .collect();
        let serde = serde_json::to_vec(&Stored {
            format: FORMAT,
            envs: envs.clone(),
        })
        .expect("serde");
        let ours = stored_bytes(envs.clone()).expect("bytes");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&serde)
        );
        assert_eq!(parse_stored(&ours), Some(envs.clone()));
        assert_eq!(
            stored_bytes(BTreeMap::new()),
            Some(format!("{{\"format\":{FORMAT},\"envs\":{{}}}}").into_bytes())
        );
        // One environment that does not parse spoils the file.
        let broken = String::from_utf8_lossy(&ours).replacen("\"key\":\"k0\"", "\"key\":0", 1);
        assert_eq!(parse_stored(broken.as_bytes()), None);
    }

    #[test]
    fn digests_tell_apart_what_hash_writes() {
        // Strings end in a marker, so moving a character across a boundary changes the bytes.
        assert_ne!(digest(&("a", "bc")), digest(&("ab", "c")));
        assert_ne!(
            digest(&vec!["a".to_string()]),
            digest(&vec!["a".to_string(), String::new()])
        );
        assert_ne!(
            digest(&Some(serde_json::json!({"a": 1}))),
            digest(&Some(serde_json::json!({"a": "1"})))
        );
        assert_eq!(digest(&("a", 1u32)), digest(&("a", 1u32)));
    }

    #[test]
    fn every_field_of_an_slo_reaches_the_digest() {
        let slo = Slo {
            availability: Some(99.9),
            latency: Some(LatencySlo {
                percentile: 99.0,
                threshold_ms: 300,
            }),
            runbook_url: None,
        };
        let mut other = slo.clone();
        other.availability = Some(99.95);
        assert_ne!(digest(&slo), digest(&other));
        let mut other = slo.clone();
        other.latency = Some(LatencySlo {
            percentile: 99.5,
            threshold_ms: 300,
        });
        assert_ne!(digest(&slo), digest(&other));
        let mut other = slo.clone();
        other.runbook_url = Some("https://runbooks/x".into());
        assert_ne!(digest(&slo), digest(&other));
        assert_eq!(digest(&slo), digest(&slo.clone()));
    }

    #[test]
    fn an_entry_with_a_path_or_hash_no_build_writes_is_no_hit() {
        // A memo file is anyone's to edit: its paths reach emit as the tree's files, even with a
        // checksum that matches (anyone can compute one).
        let entry = |path: &str, hash: &str| {
            let mut e = Entry {
                key: "k".into(),
                objects: 1,
                files: vec![NodeFile {
                    path: path.into(),
                    hash: hash.into(),
                    len: 1,
                }],
                docs: Vec::new(),
                sum: String::new(),
            };
            e.sum = e.checksum();
            e
        };
        let good = crate::digest::content_hash(b"x");
        let memo = |e: Entry| Memo {
            salt: String::new(),
            envs: BTreeMap::from([("dev".into(), BTreeMap::from([("n".into(), e)]))]),
        };
        assert!(
            memo(entry("envs/dev/a.yaml", &good))
                .hit("dev", "n", "k")
                .is_some()
        );
        for (path, hash) in [
            ("../x", good.as_str()),
            (".platc/index.json", good.as_str()),
            ("/etc/x", good.as_str()),
            ("envs/dev/a.yaml", "sha256:xyz"),
        ] {
            assert!(
                memo(entry(path, hash)).hit("dev", "n", "k").is_none(),
                "{path} {hash}"
            );
        }
    }

    /// Damage that keeps paths and hashes well-formed (a count the tree's README prints, a
    /// document of the `manifest` layout's shared files) drops the entry when the memo is read
    /// (found by a red-team session: both reached the output).
    #[test]
    fn an_entry_damaged_since_it_was_stored_is_dropped_when_read() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (root, out) = (tmp.path().join("ws"), tmp.path().join("out"));
        std::fs::create_dir_all(out.join(".platc")).expect("out");
        std::fs::write(out.join(crate::emit::INDEX_PATH), "{}").expect("index");
        let entry = |n: usize| Entry {
            key: format!("k{n}"),
            objects: n,
            files: Vec::new(),
            docs: vec![Doc {
                path: format!("argocd/dev/apps/w{n}.yaml"),
                yaml: "selfHeal: true\n".into(),
            }],
            sum: String::new(),
        };
        let nodes: BTreeMap<String, Entry> = (1..=3)
            .map(|n| (format!("workload:w{n}"), entry(n)))
            .collect();
        store(&root, &out, BTreeMap::from([("dev".to_string(), nodes)]));
        let read = |root: &Path| {
            Stored::read(root, &out).envs["dev"]
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(read(&root), ["workload:w1", "workload:w2", "workload:w3"]);
        let file = crate::cache::file_of(&root, &out, "nodes").expect("memo file");
        let text = std::fs::read_to_string(&file).expect("memo");
        let damaged = text.replacen("\"objects\":2", "\"objects\":7", 1).replacen(
            "selfHeal: true",
            "selfHeal: fals",
            1,
        );
        assert_ne!(damaged, text);
        std::fs::write(&file, damaged).expect("damage");
        assert_eq!(read(&root), ["workload:w3"]);
    }
}
