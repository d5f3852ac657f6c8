//! Which node of a build each output file came from: what the next build's memo entries are
//! made of once the files' hashes are known.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{Doc, Entry, NodeFile};
use crate::model::Layout;

/// Which node each file of a build came from, and the environments' keys: what [`Owners::entries`]
/// turns into the next build's memo once the files' hashes are known. Nodes are interned, so a
/// 35k-file build keeps one small number per file.
#[derive(Debug, Default)]
pub struct Owners {
    /// (environment, node) of each id (`""` for objects of no environment).
    nodes: Vec<(String, String)>,
    ids: HashMap<(String, String), u32>,
    /// File → its only owner, or `None` when objects of several nodes share it.
    files: HashMap<String, Option<u32>>,
    /// Id → objects rendered.
    objects: HashMap<u32, usize>,
    /// Id → its objects in shared files.
    docs: HashMap<u32, Vec<Doc>>,
    keys: BTreeMap<String, BTreeMap<String, String>>,
    reused: BTreeMap<String, BTreeMap<String, Entry>>,
}

impl Owners {
    /// The id of `node` in `env`.
    pub fn tag(&mut self, env: &str, node: &str) -> u32 {
        let key = (env.to_string(), node.to_string());
        if let Some(id) = self.ids.get(&key) {
            return *id;
        }
        let id = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        self.nodes.push(key.clone());
        self.ids.insert(key, id);
        id
    }

    /// One rendered object of node `id`, written to `file`.
    pub fn object(&mut self, file: String, id: u32) {
        *self.objects.entry(id).or_default() += 1;
        self.claim(file, id);
    }

    /// A file (or part of one) node `id` holds.
    pub fn claim(&mut self, file: String, id: u32) {
        self.files
            .entry(file)
            .and_modify(|o| {
                if *o != Some(id) {
                    *o = None;
                }
            })
            .or_insert(Some(id));
    }

    /// The shared files a reused node `id` holds part of. Its own files need no claim: no
    /// rendered object goes to one (compile renders the environment in full when one would),
    /// and a reused node's entry is kept as it was.
    pub fn claim_entry(&mut self, id: u32, entry: &Entry, layout: Layout) {
        for d in &entry.docs {
            self.claim(layout.file_of(&d.path).into_owned(), id);
        }
    }

    /// Whether objects of more than one node go to `file`.
    pub fn shared(&self, file: &str) -> bool {
        matches!(self.files.get(file), Some(None))
    }

    /// A rendered object's bytes, kept because its file is shared.
    pub fn doc(&mut self, id: u32, path: &str, bytes: &[u8]) {
        self.docs.entry(id).or_default().push(Doc::new(path, bytes));
    }

    /// An environment's node keys and the nodes taken from the memo.
    pub fn env(
        &mut self,
        env: String,
        keys: BTreeMap<String, String>,
        reused: BTreeMap<String, Entry>,
    ) {
        self.keys.insert(env.clone(), keys);
        self.reused.insert(env, reused);
    }

    /// Nodes rendered now.
    pub fn rendered(&self) -> usize {
        self.keys
            .iter()
            .map(|(env, keys)| keys.len() - self.reused.get(env).map_or(0, BTreeMap::len))
            .sum()
    }

    /// Cacheable nodes in all.
    pub fn total(&self) -> usize {
        self.keys.values().map(BTreeMap::len).sum()
    }

    /// The memo entries of this build: reused nodes as they were; rendered nodes with the
    /// files that hold only their objects, and their objects in shared files as text.
    /// `hashes` are the written index's, `tree` the tree it was written from.
    pub fn entries(
        mut self,
        hashes: &BTreeMap<String, String>,
        tree: &crate::emit::Tree,
    ) -> BTreeMap<String, BTreeMap<String, Entry>> {
        // A reused node keeps its entry as it was: its files (most of a small rebuild's) need no
        // new record.
        let reused: HashSet<u32> = self
            .reused
            .iter()
            .flat_map(|(env, nodes)| {
                nodes
                    .keys()
                    .filter_map(|n| self.ids.get(&(env.clone(), n.clone())).copied())
            })
            .collect();
        let (mut files_of, lost) = self.files_of(hashes, tree, &reused);
        let mut out: BTreeMap<String, BTreeMap<String, Entry>> = BTreeMap::new();
        for (env, keys) in std::mem::take(&mut self.keys) {
            let mut reused = self.reused.remove(&env).unwrap_or_default();
            let nodes = out.entry(env.clone()).or_default();
            for (node, key) in keys {
                if let Some(e) = reused.remove(&node) {
                    nodes.insert(node, e);
                    continue;
                }
                let Some(&id) = self.ids.get(&(env.clone(), node.clone())) else {
                    // Rendered nothing at all: nothing to keep, and nothing to render next time.
                    let empty = Entry {
                        key,
                        objects: 0,
                        files: Vec::new(),
                        docs: Vec::new(),
                        sum: String::new(),
                    };
                    nodes.insert(node, empty);
                    continue;
                };
                if lost.contains(&id) {
                    continue;
                }
                let docs = self.docs.remove(&id).unwrap_or_default();
                let mut files = files_of.remove(&id).unwrap_or_default();
                files.sort_by(|a, b| a.path.cmp(&b.path));
                let entry = Entry {
                    key,
                    objects: self.objects.get(&id).copied().unwrap_or(0),
                    files,
                    docs,
                    sum: String::new(),
                };
                nodes.insert(node, entry);
            }
        }
        out
    }

    /// The files of each rendered (not reused) node, with their hashes and sizes, and the nodes
    /// with a file the index does not list (not written: nothing of theirs can be reused).
    fn files_of(
        &mut self,
        hashes: &BTreeMap<String, String>,
        tree: &crate::emit::Tree,
        reused: &HashSet<u32>,
    ) -> (HashMap<u32, Vec<NodeFile>>, BTreeSet<u32>) {
        let mut files_of: HashMap<u32, Vec<NodeFile>> = HashMap::new();
        let mut lost: BTreeSet<u32> = BTreeSet::new();
        // The index and the tree's sizes are both sorted by path: walked side by side, each
        // file's owner looked up by hash (two searches of 35k-entry maps per file were a serial
        // part of recording a cold build).
        let mut sizes = tree.sizes().peekable();
        for (path, hash) in hashes {
            while sizes.next_if(|(p, _)| *p < path.as_str()).is_some() {}
            let len = sizes
                .next_if(|(p, _)| *p == path.as_str())
                .map(|(_, len)| len);
            let Some((path, owner)) = self.files.remove_entry(path.as_str()) else {
                continue;
            };
            let Some(id) = owner.filter(|id| !reused.contains(id)) else {
                continue;
            };
            match len {
                Some(len) => files_of.entry(id).or_default().push(NodeFile {
                    path,
                    hash: hash.clone(),
                    len,
                }),
                None => {
                    lost.insert(id);
                }
            }
        }
        // Files the index does not list were not written: their nodes have nothing to reuse.
        lost.extend(
            self.files
                .drain()
                .filter_map(|(_, owner)| owner.filter(|id| !reused.contains(id))),
        );
        (files_of, lost)
    }
}
