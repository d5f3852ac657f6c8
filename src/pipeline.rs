//! The pipeline of DESIGN.md, end to end, as library calls: discover → load → resolve → graph
//! → render → (check) → tree. Nothing here prints or touches the terminal.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::emit::Tree;
use crate::graph::{self, EnvGraph};
use crate::model::{Platform, Workload};
use crate::render::{self, EnvCx, Object};
use crate::resolve::{self, EnvResolution};
use crate::template::Templates;
use crate::{discover, load, memo};

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Environments to compile; empty means all of them.
    pub envs: Vec<String>,
    /// Worker threads (environments, plane renderers, serialisation); 0 or 1 means sequential.
    pub threads: usize,
    /// Output directory, skipped when discovering workloads.
    pub out_dir: Option<PathBuf>,
    /// Keep only each manifest's canonical YAML bytes, written as soon as its environment is
    /// rendered (build, publish, diff): memory then holds the tree's bytes, not a JSON value per
    /// object. `check` and `explain` read the values and leave this off.
    pub bytes_only: bool,
    /// Overrides the platform's `gitops.layout`.
    pub layout: Option<crate::model::Layout>,
    /// Reuse the platform's last evaluation from the workspace's cache when none of the files
    /// it read changed, and keep this one there (`build` does; commands that only read the
    /// workspace leave it alone).
    pub reuse_evaluation: bool,
    /// Free each environment's resolution and graph as soon as its objects are rendered, keeping
    /// only its name, cluster and counts (`build` and `publish`, which want the tree and nothing
    /// else: a cold build's peak memory held every environment's model beside every object).
    pub free_models: bool,
    /// Record where each field's value came from ([`crate::render::origins`]): `explain` asks
    /// for it; a build never pays for it.
    pub record_origins: bool,
}

pub struct Compilation {
    pub platform: Platform,
    /// How objects become files: the platform's `gitops.layout` unless the options override it.
    pub layout: crate::model::Layout,
    pub workloads: Vec<Workload>,
    /// In promotion order.
    pub envs: Vec<EnvResult>,
    pub global: Vec<Object>,
}

pub struct EnvResult {
    /// Emptied but for `env` and `cluster` after rendering with [`Options::free_models`].
    pub resolution: EnvResolution,
    /// Workloads and resource instances resolved (the tree's README counts them).
    pub counts: (usize, usize),
    pub graph: EnvGraph,
    /// The objects rendered in this build (without the memo's reused nodes).
    pub objects: Vec<Object>,
    /// With a render memo: every cacheable node's key (node id → key).
    pub keys: BTreeMap<String, String>,
    /// Nodes not rendered because the memo holds their files (node id → last build's entry).
    pub reused: BTreeMap<String, memo::Entry>,
}

impl EnvResult {
    /// Objects of the environment, rendered now or reused.
    pub fn object_count(&self) -> usize {
        self.objects.len() + self.reused.values().map(|e| e.objects).sum::<usize>()
    }
}

/// Loads the workspace: the platform (evaluated once) and every workload file.
pub fn load(root: &Path, opts: &Options) -> Result<(Platform, Vec<Workload>), Diagnostics> {
    let platform = load::platform_in(root, opts.reuse_evaluation)?;
    let files = discover::find_workloads(root, &platform.workloads, opts.out_dir.as_deref())?;
    let workloads = load::workloads(root, &files)?;
    Ok((platform, workloads))
}

/// Environment names in promotion order (`order`, then name), filtered by `wanted`.
pub fn env_order(platform: &Platform, wanted: &[String]) -> Result<Vec<String>, Diagnostics> {
    let mut diags = Diagnostics::new();
    for w in wanted {
        if !platform.environments.contains_key(w) {
            let d = Diagnostic::error(
                Code::UnknownEnvironment,
                None,
                format!("unknown environment `{w}`"),
            );
            let names: Vec<&str> = platform.environments.keys().map(String::as_str).collect();
            diags.push(match crate::diag::did_you_mean(w, names.iter().copied()) {
                Some(c) => d.with_help(format!("did you mean `{c}`?")),
                None => d.with_help(format!("environments: {}", names.join(", "))),
            });
        }
    }
    let mut envs: Vec<(&u32, &String)> = platform
        .environments
        .iter()
        .filter(|(n, _)| wanted.is_empty() || wanted.contains(n))
        .map(|(n, e)| (&e.order, n))
        .collect();
    envs.sort();
    diags.into_result(envs.into_iter().map(|(_, n)| n.clone()).collect())
}

/// Whether a rendered object goes where a reused node's object or file is.
fn clashes(
    objects: &[Object],
    reused: &BTreeMap<String, memo::Entry>,
    layout: crate::model::Layout,
) -> bool {
    if reused.is_empty() {
        return false;
    }
    let docs: BTreeSet<&str> = reused
        .values()
        .flat_map(|e| e.docs.iter().map(|d| d.path.as_str()))
        .collect();
    let files: BTreeSet<&str> = reused
        .values()
        .flat_map(|e| e.files.iter().map(|f| f.path.as_str()))
        .collect();
    objects
        .iter()
        .any(|o| docs.contains(o.path.as_str()) || files.contains(layout.file_of(&o.path).as_ref()))
}

/// An environment resolved, its graph built and its memo hits found: what rendering it needs.
struct Prepared {
    resolution: EnvResolution,
    graph: EnvGraph,
    keys: BTreeMap<String, String>,
    reused: BTreeMap<String, memo::Entry>,
}

fn prepare_env(
    platform: &Platform,
    templates: &Templates,
    workloads: &[Workload],
    env: &str,
    memo: Option<&memo::Memo>,
) -> Result<Prepared, Diagnostics> {
    let resolution = resolve::resolve_env(platform, templates, env, workloads)?;
    let graph = graph::build(platform, &resolution, &|w| {
        render::kinds_needed(&resolution, w)
    })?;
    let keys = memo
        .map(|m| m.keys(&resolution, &graph))
        .unwrap_or_default();
    let reused: BTreeMap<String, memo::Entry> = memo
        .map(|m| {
            keys.iter()
                .filter_map(|(id, key)| Some((id.clone(), m.hit(env, id, key)?.clone())))
                .collect()
        })
        .unwrap_or_default();
    Ok(Prepared {
        resolution,
        graph,
        keys,
        reused,
    })
}

fn render_prepared(
    platform: &Platform,
    templates: &Templates,
    p: Prepared,
    opts: &Options,
    sources: Option<&render::origins::Sources<'_>>,
) -> Result<EnvResult, Diagnostics> {
    let (bytes_only, layout) = (
        opts.bytes_only,
        opts.layout.unwrap_or(platform.gitops.layout),
    );
    let Prepared {
        mut resolution,
        mut graph,
        keys,
        mut reused,
    } = p;
    let skip: BTreeSet<String> = reused.keys().cloned().collect();
    let cx = EnvCx::new(platform, templates, &resolution, &graph)
        .reusing(&skip)
        .bytes_only(bytes_only)
        .recording(sources);
    let mut objects = render::render_env(&cx)?;
    if clashes(&objects, &reused, layout) {
        // A rendered object lands where a reused one is: without the memo the two would be
        // reported as rendering to one path, so render everything and let that check speak.
        reused.clear();
        let cx = EnvCx::new(platform, templates, &resolution, &graph)
            .bytes_only(bytes_only)
            .recording(sources);
        objects = render::render_env(&cx)?;
    }
    let counts = (resolution.workloads.len(), resolution.instances.len());
    if opts.free_models {
        let kept = EnvResolution {
            env: std::mem::take(&mut resolution.env),
            cluster: std::mem::take(&mut resolution.cluster),
            ..EnvResolution::default()
        };
        // Freed beside the environments still rendering, not at this one's serial tail.
        crate::aside::drop_aside((
            std::mem::replace(&mut resolution, kept),
            std::mem::take(&mut graph),
        ));
    }
    Ok(EnvResult {
        resolution,
        counts,
        graph,
        objects,
        keys,
        reused,
    })
}

/// Compiles an already loaded workspace.
pub fn compile_loaded(
    platform: Platform,
    workloads: Vec<Workload>,
    opts: &Options,
) -> Result<Compilation, Diagnostics> {
    compile_with_memo(platform, workloads, opts, None)
}

/// Compiles an already loaded workspace, not rendering the nodes the memo holds (their files
/// become [`Tree::known`] entries of [`Compilation::into_tree`]).
pub fn compile_with_memo(
    platform: Platform,
    workloads: Vec<Workload>,
    opts: &Options,
    memo: Option<&memo::Memo>,
) -> Result<Compilation, Diagnostics> {
    let templates = Templates::new(&platform).map_err(Diagnostics)?;
    let envs = env_order(&platform, &opts.envs)?;
    // Environments, plane renderers and object serialisation all run on one pool; results
    // are collected in order, so the output is the same for any number of threads. The
    // current pool (rayon's global one, which load and emit use too) when it has the number of
    // threads asked for: two pools would have their idle workers spin against each other.
    let threads = opts.threads.max(1);
    if rayon::current_num_threads() == threads {
        return compile_envs(platform, templates, workloads, &envs, opts, memo);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                Code::Internal,
                None,
                format!("cannot start worker threads: {e}"),
            ))
        })?;
    pool.install(|| compile_envs(platform, templates, workloads, &envs, opts, memo))
}

fn compile_envs(
    platform: Platform,
    templates: Templates,
    workloads: Vec<Workload>,
    envs: &[String],
    opts: &Options,
    memo: Option<&memo::Memo>,
) -> Result<Compilation, Diagnostics> {
    use rayon::prelude::*;
    let prepared: Vec<Result<Prepared, Diagnostics>> = envs
        .par_iter()
        .map(|e| prepare_env(&platform, &templates, &workloads, e, memo))
        .collect();
    // The global objects (the catalog) read every environment's model, so they are rendered
    // before any environment's model may be freed; their errors count only when every
    // environment rendered, as when they came last.
    // Kept as bytes at once when that is all the caller wants: the catalog's JSON trees held
    // while every environment renders were part of a build's peak memory.
    let sources = opts
        .record_origins
        .then(|| render::origins::Sources::new(&workloads));
    let global = prepared.iter().all(Result::is_ok).then(|| {
        render::render_global(&render::GlobalCx {
            platform: &platform,
            envs: prepared
                .iter()
                .flatten()
                .map(|p| (&p.resolution, &p.graph))
                .collect(),
            record: opts.record_origins,
            sources: sources.as_ref(),
        })
        .map(|g| {
            if opts.bytes_only {
                render::into_bytes(g)
            } else {
                g
            }
        })
    });
    let rendered: Vec<Result<EnvResult, Diagnostics>> = prepared
        .into_par_iter()
        .map(|p| p.and_then(|p| render_prepared(&platform, &templates, p, opts, sources.as_ref())))
        .collect();
    drop(sources);
    let env_results = Diagnostics::all(rendered)?;
    let global = match global {
        Some(g) => g?,
        None => Vec::new(),
    };
    let all = || {
        env_results
            .iter()
            .flat_map(|e| e.objects.iter())
            .chain(global.iter())
    };
    render::check_unique(all())?;
    render::limits::check_sizes(all())?;
    Ok(Compilation {
        layout: opts.layout.unwrap_or(platform.gitops.layout),
        platform,
        workloads,
        envs: env_results,
        global,
    })
}

pub fn compile(root: &Path, opts: &Options) -> Result<Compilation, Diagnostics> {
    let (platform, workloads) = load(root, opts)?;
    compile_loaded(platform, workloads, opts)
}

impl Compilation {
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.envs
            .iter()
            .flat_map(|e| e.objects.iter())
            .chain(self.global.iter())
    }

    /// The files of the output tree: one canonical YAML file per object, plus a README.
    pub fn tree(&self) -> Tree {
        use rayon::prelude::*;
        let objects: Vec<&Object> = self.objects().collect();
        let mut rendered: Vec<(String, Vec<u8>)> = objects
            .par_iter()
            .map(|o| (o.path.clone(), o.bytes()))
            .collect();
        let mut known = BTreeMap::new();
        for entry in self.envs.iter().flat_map(|e| e.reused.values()) {
            entry.put(&mut rendered, &mut known);
        }
        let mut tree = self.assemble(rendered, self.readme());
        tree.known = known;
        tree
    }

    /// The tree, moving each object's bytes instead of copying them (a build's last use of the
    /// compilation).
    pub fn into_tree(self) -> Tree {
        self.into_tree_with_owners().0
    }

    /// [`Compilation::into_tree`], with the files of the nodes the memo held as
    /// [`Tree::known`], and which node each file's objects came from (what the memo records).
    pub fn into_tree_with_owners(mut self) -> (Tree, memo::Owners) {
        use rayon::prelude::*;
        let readme = self.readme();
        let layout = self.layout;
        // What the tree is assembled from is only the objects: the model goes first (freed on
        // a thread of its own while the tree is assembled, not on the way to it).
        crate::aside::drop_aside(std::mem::take(&mut self.workloads));
        let mut owners = memo::Owners::default();
        let mut objects: Vec<Object> = std::mem::take(&mut self.global);
        let mut tags: Vec<u32> = objects
            .iter()
            .map(|o| owners.tag("", &o.provenance.node))
            .collect();
        let mut known = BTreeMap::new();
        let mut reused_docs: Vec<(String, Vec<u8>)> = Vec::new();
        for mut e in std::mem::take(&mut self.envs) {
            let env = std::mem::take(&mut e.resolution.env);
            drop((e.resolution, e.graph));
            tags.extend(
                e.objects
                    .iter()
                    .map(|o| owners.tag(&env, &o.provenance.node)),
            );
            objects.append(&mut e.objects);
            for (node, entry) in &e.reused {
                let id = owners.tag(&env, node);
                owners.claim_entry(id, entry, layout);
                entry.put(&mut reused_docs, &mut known);
            }
            owners.env(env, e.keys, e.reused);
        }
        for (o, id) in objects.iter().zip(&tags) {
            owners.object(layout.file_of(&o.path).into_owned(), *id);
        }
        let mut rendered: Vec<(String, Vec<u8>)> =
            objects.into_par_iter().map(Object::into_file).collect();
        for ((path, bytes), id) in rendered.iter().zip(&tags) {
            if owners.shared(&layout.file_of(path)) {
                owners.doc(*id, path, bytes);
            }
        }
        rendered.extend(reused_docs);
        let mut tree = self.assemble(rendered, readme);
        tree.known = known;
        (tree, owners)
    }

    /// Files from (object path, bytes): in the manifest layout, an application directory's
    /// objects become the documents of its `manifest.yaml`, in the order of their own paths (so
    /// they are sorted like the files of the `files` layout).
    fn assemble(&self, rendered: Vec<(String, Vec<u8>)>, readme: String) -> Tree {
        use rayon::prelude::*;
        let mut own: Vec<(String, Vec<u8>)> = Vec::with_capacity(rendered.len());
        let mut by_file: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
        for (path, bytes) in rendered {
            match self.layout.file_of(&path) {
                // An object of its own file (every one in the files layout): its bytes as they are.
                std::borrow::Cow::Borrowed(_) => own.push((path, bytes)),
                std::borrow::Cow::Owned(file) => {
                    by_file.entry(file).or_default().insert(path, bytes);
                }
            }
        }
        // Sorted first, the map is built in one pass instead of 35k searching inserts. Paths
        // are unique (checked when the objects were rendered).
        own.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut files: BTreeMap<String, Vec<u8>> = own.into_iter().collect();
        for (file, docs) in by_file {
            let len = docs.values().map(|d| d.len() + 4).sum();
            let mut bytes = Vec::with_capacity(len);
            for (i, doc) in docs.into_values().enumerate() {
                if i > 0 {
                    bytes.extend_from_slice(b"---\n");
                }
                bytes.extend_from_slice(&doc);
            }
            files.insert(file, bytes);
        }
        files.insert("README.md".into(), readme.into_bytes());
        Tree::new(files)
    }

    fn readme(&self) -> String {
        let mut s = format!(
            "# GitOps tree of platform `{}`\n\nGenerated by platc {}. Do not edit by hand: change the platform or the workload specs and run `platc build`.\n\n",
            self.platform.name,
            env!("CARGO_PKG_VERSION")
        );
        s.push_str(
            "| environment | cluster | workloads | resources | objects |\n|---|---|---|---|---|\n",
        );
        for e in &self.envs {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                e.resolution.env,
                e.resolution.cluster,
                e.counts.0,
                e.counts.1,
                e.object_count()
            ));
        }
        s.push_str("\nLayout: `argocd/projects/` AppProjects, `argocd/<env>/root.yaml` app-of-apps roots, `argocd/<env>/apps/` one Application per workload, resource and namespace, `argocd/clusters/<cluster>/` platform components, `envs/<env>/<app>/` the manifests.\n");
        s
    }
}
