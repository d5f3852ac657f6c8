//! Which rendered object a target names: a rendered file (either layout), `Kind/namespace/name`
//! or `Kind/name`, with suggestions for what was probably meant.

use serde_json::Value;

use super::{ObjectId, usage};
use crate::diag::{Diagnostics, did_you_mean};
use crate::pipeline::{Compilation, EnvResult};
use crate::render::Object;

pub(super) struct Entry<'a> {
    pub(super) obj: &'a Object,
    pub(super) env: Option<&'a EnvResult>,
}

pub(super) fn entries(comp: &Compilation) -> Vec<Entry<'_>> {
    let mut v: Vec<Entry<'_>> = comp
        .envs
        .iter()
        .flat_map(|e| {
            e.objects.iter().map(move |o| Entry {
                obj: o,
                env: Some(e),
            })
        })
        .chain(comp.global.iter().map(|o| Entry { obj: o, env: None }))
        .collect();
    v.sort_by(|a, b| a.obj.path.cmp(&b.obj.path));
    v
}

pub(super) fn object_id(o: &Object) -> Option<ObjectId> {
    let v = o.value()?;
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    Some(ObjectId {
        api_version: s("/apiVersion")?,
        kind: s("/kind")?,
        namespace: s("/metadata/namespace"),
        name: s("/metadata/name")?,
    })
}

fn looks_like_path(s: &str) -> bool {
    s.ends_with(".yaml")
        || s.ends_with(".md")
        || s.ends_with(".json")
        || ["envs/", "argocd/", "catalog/", ".platc/"]
            .iter()
            .any(|p| s.starts_with(p))
}

pub(super) fn find_entry<'a>(
    entries: &[Entry<'a>],
    main: &str,
    layout: crate::model::Layout,
) -> Result<Entry<'a>, Diagnostics> {
    let main = main.trim_start_matches("./");
    if let Some(found) = by_file(entries, main, layout) {
        return found;
    }
    by_id(entries, main)
}

/// The object at a rendered path; `None` when `main` names no file and does not look like a
/// path either (it is then a `Kind/namespace/name`).
fn by_file<'a>(
    entries: &[Entry<'a>],
    main: &str,
    layout: crate::model::Layout,
) -> Option<Result<Entry<'a>, Diagnostics>> {
    if let Some(e) = entries.iter().find(|e| e.obj.path == main) {
        return Some(Ok(Entry {
            obj: e.obj,
            env: e.env,
        }));
    }
    // A `manifest.yaml` of the manifest layout: the object in it, if it holds one.
    let in_file: Vec<&Entry<'a>> = entries
        .iter()
        .filter(|e| layout.file_of(&e.obj.path) == main)
        .collect();
    match in_file.as_slice() {
        [] => {}
        [one] => {
            return Some(Ok(Entry {
                obj: one.obj,
                env: one.env,
            }));
        }
        many => {
            let mut d = usage(format!("`{main}` holds {} objects", many.len())).with_help(
                "name one of them (`Kind/namespace/name`), optionally with `#field.path`",
            );
            for e in many {
                if let Some(id) = object_id(e.obj) {
                    d = d.with_note(id.display());
                }
            }
            return Some(Err(d.into()));
        }
    }
    if !looks_like_path(main) {
        return None;
    }
    if let Some(d) = source_file(entries, main, layout) {
        return Some(Err(d.into()));
    }
    let d = usage(format!("no rendered file `{main}`"));
    let mut paths: Vec<String> = entries
        .iter()
        .map(|e| layout.file_of(&e.obj.path).into_owned())
        .collect();
    paths.dedup();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    Some(Err(match suggest(main, &paths) {
        Some(c) => d.with_help(format!("did you mean `{c}`?")),
        None => d.with_help(
            "rendered files look like `envs/<env>/<app>/<kind>-<name>.yaml`; `platc build` lists what it writes",
        ),
    }
    .into()))
}

/// A workload's (or another source's) file named instead of a rendered one: what it renders,
/// so the next command can name one of those.
fn source_file(
    entries: &[Entry<'_>],
    main: &str,
    layout: crate::model::Layout,
) -> Option<crate::diag::Diagnostic> {
    let mut files: Vec<String> = entries
        .iter()
        .filter(|e| e.obj.provenance.source == main)
        .map(|e| layout.file_of(&e.obj.path).into_owned())
        .collect();
    // The manifests first: what a workload's author looks for.
    files.sort_by_key(|f| (!f.starts_with("envs/"), f.clone()));
    files.dedup();
    if files.is_empty() {
        return None;
    }
    const SHOWN: usize = 12;
    let mut d = usage(format!(
        "`{main}` is a source file, not a rendered one: {} rendered file{} come{} from it",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        if files.len() == 1 { "s" } else { "" },
    ))
    .with_help("explain one of them, optionally with `#field.path`");
    for f in files.iter().take(SHOWN) {
        d = d.with_note(f.clone());
    }
    if files.len() > SHOWN {
        d = d.with_note(format!("and {} more", files.len() - SHOWN));
    }
    Some(d)
}

/// The object named `Kind/namespace/name` or `Kind/name`.
fn by_id<'a>(entries: &[Entry<'a>], main: &str) -> Result<Entry<'a>, Diagnostics> {
    let parts: Vec<&str> = main.split('/').collect();
    let ids: Vec<(String, &Entry<'a>)> = entries
        .iter()
        .filter_map(|e| object_id(e.obj).map(|id| (id.display(), e)))
        .collect();
    let matches: Vec<&Entry<'a>> = match parts.as_slice() {
        [kind, name] => ids
            .iter()
            .filter(|(_, e)| {
                object_id(e.obj)
                    .is_some_and(|id| id.kind.eq_ignore_ascii_case(kind) && id.name == *name)
            })
            .map(|(_, e)| *e)
            .collect(),
        [kind, ns, name] => ids
            .iter()
            .filter(|(_, e)| {
                object_id(e.obj).is_some_and(|id| {
                    id.kind.eq_ignore_ascii_case(kind)
                        && id.namespace.as_deref() == Some(*ns)
                        && id.name == *name
                })
            })
            .map(|(_, e)| *e)
            .collect(),
        _ => {
            return Err(usage(format!("cannot read target `{main}`"))
                .with_help("name a rendered file (`envs/prod/app/deployment-app.yaml`) or an object (`Deployment/namespace/name`, `Kind/name` when cluster-scoped), optionally with `#field.path`")
                .into());
        }
    };
    match matches.as_slice() {
        [one] => Ok(Entry {
            obj: one.obj,
            env: one.env,
        }),
        [] => {
            let d = usage(format!("no rendered object `{main}`"));
            let names: Vec<&str> = ids.iter().map(|(s, _)| s.as_str()).collect();
            Err(match suggest(main, &names) {
                Some(c) => d.with_help(format!("did you mean `{c}`?")),
                None => d.with_help(
                    "objects are named `Kind/namespace/name` (or `Kind/name` when cluster-scoped), as in the rendered manifests",
                ),
            }
            .into())
        }
        many => {
            let mut d = usage(format!("`{main}` names {} rendered objects", many.len()))
                .with_help("name the namespace (`Kind/namespace/name`), the file, or pick one environment with `--env`");
            for e in many {
                d = d.with_note(e.obj.path.clone());
            }
            Err(d.into())
        }
    }
}

/// The closest candidate: by edit distance when it is a likely typo, otherwise the candidate
/// sharing the longest common suffix and prefix (a wrong directory, a wrong environment).
fn suggest<'a>(wanted: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if let Some(c) = did_you_mean(wanted, candidates.iter().copied()) {
        return Some(c);
    }
    let w = wanted.to_ascii_lowercase();
    let score = |c: &str| -> usize {
        let c = c.to_ascii_lowercase();
        let pre = w.bytes().zip(c.bytes()).take_while(|(a, b)| a == b).count();
        let suf = w
            .bytes()
            .rev()
            .zip(c.bytes().rev())
            .take_while(|(a, b)| a == b)
            .count();
        pre + suf
    };
    let best = candidates.iter().copied().max_by(|a, b| {
        score(a).cmp(&score(b)).then_with(|| b.cmp(a)) // ties: the first in name order
    })?;
    // Only a suggestion that shares most of what was typed helps.
    (score(best) * 2 >= wanted.len()).then_some(best)
}
