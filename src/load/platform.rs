//! Evaluates the platform's Nickel into `model::Platform`.
//!
//! The platform is evaluated once per run: Nickel values are not `Send`, so everything is
//! converted to plain data before returning.
//!
//! # How the stdlib is importable without a file on disk
//!
//! nickel-lang-core looks an import up first in the importing file's directory, then in each
//! import path; a normalised path that names an in-memory source is served from memory without
//! touching the disk. We register the stdlib files as in-memory sources under the virtual
//! directory [`STDLIB_DIR`] (a name no real file system has at its root) and add that directory
//! as the only import path, so `import "platc.ncl"` resolves to the embedded stdlib.
//!
//! `ProgramBuilder` only registers in-memory sources that are program inputs, and it evaluates
//! the merge of all its inputs. So the inputs are: a generated entry
//! `{ platc_entry_ = (import "main.ncl") | (import "platc.ncl").Platform }` living (virtually) in
//! `platform/`, plus the stdlib files (records whose fields are disjoint from `platc_entry_`),
//! and the field path `platc_entry_` selects the platform. Merging is lazy, so the other inputs'
//! fields are never evaluated.
//!
//! # Sandbox
//!
//! After evaluation (successful or not) every file the program read is checked: a file outside
//! the workspace root (after resolving `..` and symlinks) fails the whole load with
//! `SandboxEscape`, and nothing else from that evaluation (value or Nickel error, which could
//! quote the file) is returned.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use nickel_lang_core::error::report::{ColorOpt, report_as_str};
use nickel_lang_core::error::{Diagnostic as NickelDiagnostic, Error as NickelError, IntoDiagnostics, LabelStyle};
use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::files::Files;
use nickel_lang_core::program::{FieldPath, Program, ProgramBuilder};
use nickel_lang_core::serialize::{ExportFormat, validate};

use crate::diag::{Code, Diagnostic, Diagnostics, Span, did_you_mean};
use crate::model::Platform;
use crate::stdlib;

/// Virtual directory of the embedded stdlib (see the module documentation).
const STDLIB_DIR: &str = "/<platc-stdlib>";
/// Virtual workspace root of the embedded reference platform.
const EMBEDDED_ROOT: &str = "/<platc-embedded>";
/// Name of the generated entry file inside `platform/`; never a real file.
const ENTRY_FILE: &str = "<platc-entry>.ncl";
/// The field of the entry that holds the platform.
const ENTRY_FIELD: &str = "platc_entry_";
/// How stdlib files are named in spans and `Platform::sources`.
const STDLIB_DISPLAY: &str = "<stdlib>";

/// The reference platform (the repository's `platform/` directory), compiled in.
const EMBEDDED_NICKEL: &[(&str, &str)] = &[
    ("platform/components.ncl", include_str!("../../platform/components.ncl")),
    ("platform/environments.ncl", include_str!("../../platform/environments.ncl")),
    ("platform/main.ncl", include_str!("../../platform/main.ncl")),
    ("platform/profiles.ncl", include_str!("../../platform/profiles.ncl")),
    ("platform/provisioners/data.ncl", include_str!("../../platform/provisioners/data.ncl")),
    ("platform/provisioners/messaging.ncl", include_str!("../../platform/provisioners/messaging.ncl")),
    ("platform/provisioners/network.ncl", include_str!("../../platform/provisioners/network.ncl")),
    ("platform/provisioners/storage.ncl", include_str!("../../platform/provisioners/storage.ncl")),
    ("platform/teams.ncl", include_str!("../../platform/teams.ncl")),
];

/// The reference platform's own templates (paths relative to the workspace root).
const EMBEDDED_TEMPLATES: &[(&str, &str)] =
    &[("platform/templates/object-storage.yaml.j2", include_str!("../../platform/templates/object-storage.yaml.j2"))];

/// Evaluate `<root>/platform/main.ncl`, read its templates, return the typed platform.
pub fn load_platform(root: &Path) -> Result<Platform, Diagnostics> {
    let root = root.canonicalize().map_err(|e| {
        Diagnostic::error(Code::Io, None, format!("cannot open workspace `{}`: {e}", root.display()))
    })?;
    let platform_dir = root.join("platform");
    let main = platform_dir.join("main.ncl");
    if !main.is_file() {
        return Err(Diagnostic::error(Code::Io, None, format!("no platform entry `platform/main.ncl` in `{}`", root.display()))
            .with_help("create `platform/main.ncl`, or run in a workspace that has one")
            .into());
    }
    let ws = Workspace::Disk(root.clone());
    let mut platform = evaluate(&ws, &[])?;

    let mut templates = stdlib_templates();
    read_platform_templates(&root, &mut templates)?;
    platform.templates = templates;
    check_manifests(&platform, &ws)?;
    Ok(platform)
}

/// The reference platform compiled into the binary (the repo's `platform/` dir via include_str!),
/// used when a workspace has no platform/main.ncl.
pub fn load_embedded_platform() -> Result<Platform, Diagnostics> {
    let ws = Workspace::Embedded;
    let mut platform = evaluate(&ws, EMBEDDED_NICKEL)?;
    let mut templates = stdlib_templates();
    for (path, src) in EMBEDDED_TEMPLATES {
        let name = path.strip_prefix("platform/").unwrap_or(path);
        templates.insert(name.to_string(), (*src).to_string());
    }
    platform.templates = templates;
    check_manifests(&platform, &ws)?;
    Ok(platform)
}

/// Where the platform's files live: a real workspace, or the embedded reference platform.
enum Workspace {
    Disk(PathBuf),
    Embedded,
}

impl Workspace {
    fn root(&self) -> PathBuf {
        match self {
            Workspace::Disk(root) => root.clone(),
            Workspace::Embedded => PathBuf::from(EMBEDDED_ROOT),
        }
    }

    /// The text of a workspace file, by workspace-relative path.
    fn source(&self, rel: &str) -> Option<String> {
        match self {
            Workspace::Disk(root) => std::fs::read_to_string(root.join(rel)).ok(),
            Workspace::Embedded => EMBEDDED_NICKEL.iter().find(|(n, _)| *n == rel).map(|(_, s)| (*s).to_string()),
        }
    }

    /// Workspace-relative display name of a file Nickel knows by `name`, or `None` when the file is
    /// neither in the workspace nor in the stdlib.
    fn display_name(&self, name: &OsStr) -> Option<String> {
        let path = Path::new(name);
        if let Ok(rel) = path.strip_prefix(STDLIB_DIR) {
            return Some(format!("{STDLIB_DISPLAY}/{}", slash_path(rel)));
        }
        let rel = path.strip_prefix(self.root()).ok()?;
        if rel == Path::new("platform").join(ENTRY_FILE) {
            // Errors located in the generated entry are about applying the contract to main.ncl.
            return Some("platform/main.ncl".to_string());
        }
        Some(slash_path(rel))
    }
}

/// How Nickel names one loaded file, sorted into what the sandbox and `sources` need.
enum LoadedFile {
    /// Nickel's own stdlib, generated sources, the entry: not ours to report.
    Internal,
    Stdlib(String),
    Workspace(String),
    Outside(PathBuf),
}

fn classify(ws: &Workspace, name: &OsStr) -> LoadedFile {
    let path = Path::new(name);
    if !path.is_absolute() {
        // `<stdlib/std.ncl>`, `<generated main>` and the like.
        return LoadedFile::Internal;
    }
    if let Ok(rel) = path.strip_prefix(STDLIB_DIR) {
        return LoadedFile::Stdlib(format!("{STDLIB_DISPLAY}/{}", slash_path(rel)));
    }
    let root = ws.root();
    if path == root.join("platform").join(ENTRY_FILE) {
        return LoadedFile::Internal;
    }
    match ws {
        Workspace::Embedded => match path.strip_prefix(&root) {
            Ok(rel) => LoadedFile::Workspace(slash_path(rel)),
            Err(_) => LoadedFile::Outside(path.to_path_buf()),
        },
        Workspace::Disk(root) => {
            // Resolve symlinks so a link pointing out of the workspace counts as outside. A file
            // that no longer exists is judged by its normalised name.
            let real = path.canonicalize().unwrap_or_else(|_| normalize(path));
            match real.strip_prefix(root) {
                Ok(_) => match path.strip_prefix(root) {
                    Ok(rel) => LoadedFile::Workspace(slash_path(rel)),
                    Err(_) => LoadedFile::Workspace(slash_path(real.strip_prefix(root).unwrap_or(&real))),
                },
                Err(_) => LoadedFile::Outside(path.to_path_buf()),
            }
        }
    }
}

/// Evaluate the platform. `embedded` lists in-memory workspace files (empty for a disk
/// workspace) by workspace-relative path.
fn evaluate(ws: &Workspace, embedded: &[(&str, &str)]) -> Result<Platform, Diagnostics> {
    let root = ws.root();
    let platform_dir = root.join("platform");
    let entry = format!(
        "{{ {ENTRY_FIELD} = (import \"main.ncl\") | (import \"{}\").Platform }}",
        stdlib::ENTRY
    );

    let mut builder = ProgramBuilder::new()
        .add_source_string(entry, platform_dir.join(ENTRY_FILE).into_os_string())
        .add_import_paths([PathBuf::from(STDLIB_DIR)])
        .with_field_path(FieldPath(vec![ENTRY_FIELD.into()]));
    for (name, src) in stdlib::NICKEL_FILES {
        builder = builder.add_source_string(*src, Path::new(STDLIB_DIR).join(name).into_os_string());
    }
    for (rel, src) in embedded {
        builder = builder.add_source_string(*src, root.join(rel).into_os_string());
    }
    let mut program: Program<CacheImpl> = builder.build().map_err(|e| {
        Diagnostics::from(Diagnostic::error(Code::Internal, None, format!("cannot set up the Nickel evaluator: {e}")))
    })?;

    let result = program.eval_full_for_export().and_then(|value| {
        validate(ExportFormat::Json, &value)
            .map_err(|data| NickelError::export_error(program.pos_table().clone(), data))?;
        Ok(value)
    });

    // The sandbox check comes first: whatever happened, an evaluation that read a file outside
    // the workspace must not leak anything from it.
    let files = program.files();
    let sources = check_sandbox(ws, &files)?;

    let value = match result {
        Ok(v) => v,
        Err(err) => return Err(nickel_error(ws, &files, err)),
    };
    let json = serde_json::to_value(&value).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            Code::Internal,
            Some(Span::file("platform/main.ncl")),
            format!("cannot export the platform value: {e}"),
        ))
    })?;
    drop(value);
    drop(program);

    let mut platform = to_platform(json)?;
    platform.sources = sources;
    Ok(platform)
}

/// Every file the evaluation read must be in the workspace or the stdlib. Returns the sorted
/// display names of the files read.
fn check_sandbox(ws: &Workspace, files: &Files) -> Result<Vec<String>, Diagnostics> {
    let mut sources = Vec::new();
    let mut escaped = Vec::new();
    for name in files.filenames() {
        match classify(ws, name) {
            LoadedFile::Internal => {}
            LoadedFile::Stdlib(s) | LoadedFile::Workspace(s) => sources.push(s),
            LoadedFile::Outside(p) => escaped.push(p),
        }
    }
    sources.sort();
    sources.dedup();
    if escaped.is_empty() {
        return Ok(sources);
    }
    escaped.sort();
    escaped.dedup();
    let mut diags = Diagnostics::new();
    for path in escaped {
        let span = find_importer(ws, files, &path);
        diags.push(
            Diagnostic::error(
                Code::SandboxEscape,
                span,
                format!("the platform imports `{}`, which is outside the workspace", path.display()),
            )
            .with_help("Nickel imports must name files inside the workspace (or the platc stdlib, `import \"platc.ncl\"`)"),
        );
    }
    diags.sort();
    Err(diags)
}

/// The `import "..."` in a workspace file that resolves to `target`, for pointing at it.
fn find_importer(ws: &Workspace, files: &Files, target: &Path) -> Option<Span> {
    let target_real = target.canonicalize().unwrap_or_else(|_| normalize(target));
    let mut found = None;
    for name in files.filenames() {
        let LoadedFile::Workspace(display) = classify(ws, name) else { continue };
        let importer = Path::new(name);
        let dir = importer.parent().unwrap_or(Path::new("/"));
        let Some(src) = ws.source(&display) else { continue };
        for (offset, literal) in import_literals(&src) {
            let resolved = normalize(&dir.join(&literal));
            let real = resolved.canonicalize().unwrap_or_else(|_| resolved.clone());
            if resolved == *target || real == target_real {
                let (line, col) = line_col(&src, offset);
                let span = Span::new(display.as_str(), line, col);
                if found.as_ref().is_none_or(|f: &Span| span < *f) {
                    found = Some(span);
                }
            }
        }
    }
    found
}

/// The string literals of `import "..."` expressions in a Nickel source, with their byte offset.
fn import_literals(src: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let bytes = src.as_bytes();
    let mut i = 0;
    while let Some(pos) = src[i..].find("import") {
        let start = i + pos;
        i = start + "import".len();
        let before_ok = start == 0 || !is_ident_byte(bytes[start - 1]);
        let after_ok = bytes.get(i).is_none_or(|b| !is_ident_byte(*b));
        if !before_ok || !after_ok {
            continue;
        }
        let rest = &src[i..];
        let trimmed = rest.trim_start();
        let Some(lit) = trimmed.strip_prefix('"') else { continue };
        if let Some(end) = lit.find('"') {
            out.push((start, lit[..end].to_string()));
        }
    }
    out
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'\''
}

/// Turn a Nickel error into diagnostics located at the primary label.
fn nickel_error(ws: &Workspace, files: &Files, err: NickelError) -> Diagnostics {
    let code = match &err {
        NickelError::EvalError(e) if is_blame(e) => Code::ContractViolation,
        _ => Code::NickelError,
    };
    let mut files_for_report = files.clone();
    let report = report_as_str(&mut files_for_report, err.clone(), ColorOpt::Never);
    let mut files_for_diags = files.clone();
    let nickel_diags: Vec<NickelDiagnostic<_>> = err.into_diagnostics(&mut files_for_diags);

    // The first diagnostic is the error itself; later ones are call-stack context.
    let Some(first) = nickel_diags.first() else {
        return Diagnostic::error(code, None, "Nickel evaluation failed").with_note(report).into();
    };
    let span = first
        .labels
        .iter()
        .filter(|l| l.style == LabelStyle::Primary)
        .chain(first.labels.iter())
        .find_map(|l| {
            let name = files_for_diags.name(l.file_id);
            let display = ws.display_name(name)?;
            let src = files_for_diags.source(l.file_id);
            let (line, col) = line_col(src, l.range.start);
            Some(Span::new(display, line, col))
        });
    let mut message = first.message.clone();
    // Contract messages carry the useful part in the label ("unknown cluster `prd`").
    let label_msgs: Vec<&str> = first
        .labels
        .iter()
        .filter(|l| l.style == LabelStyle::Primary && !l.message.is_empty())
        .map(|l| l.message.as_str())
        .collect();
    if let Some(extra) = first.notes.first() {
        let _ = extra;
    }
    if !label_msgs.is_empty() && !message.contains(label_msgs[0]) {
        message = format!("{message}: {}", label_msgs.join("; "));
    }
    let mut d = Diagnostic::error(code, span, message);
    for note in &first.notes {
        d = d.with_note(note.clone());
    }
    d = d.with_note(strip_report(&report));
    d.into()
}

fn is_blame(e: &nickel_lang_core::error::EvalError) -> bool {
    matches!(e.error, nickel_lang_core::error::EvalErrorKind::BlameError { .. })
}

/// The rendered report without trailing blank lines.
fn strip_report(report: &str) -> String {
    report.trim_end().to_string()
}

/// Convert the exported JSON into the model, naming the field path of any mismatch.
fn to_platform(json: serde_json::Value) -> Result<Platform, Diagnostics> {
    let de = json;
    let mut track = serde_path::Track::default();
    serde_path::deserialize(de, &mut track).map_err(|e| {
        Diagnostics::from(
            Diagnostic::error(
                Code::WrongType,
                Some(Span::file("platform/main.ncl")),
                format!("the platform does not have the shape platc expects at `{}`: {e}", track.path()),
            )
            .with_help("the stdlib `Platform` contract should have caught this; check the field named above"),
        )
    })
}

/// A small path tracker for serde errors (which field of the platform failed to convert).
mod serde_path {
    use serde::Deserialize;
    use serde::de::IntoDeserializer;

    use crate::model::Platform;

    #[derive(Default)]
    pub struct Track {
        path: String,
    }

    impl Track {
        pub fn path(&self) -> &str {
            if self.path.is_empty() { "." } else { &self.path }
        }
    }

    /// Deserialize, and on failure find the deepest field path whose value fails on its own.
    pub fn deserialize(json: serde_json::Value, track: &mut Track) -> Result<Platform, serde_json::Error> {
        match Platform::deserialize(json.clone().into_deserializer()) {
            Ok(p) => Ok(p),
            Err(e) => {
                track.path = locate(&json);
                Err(e)
            }
        }
    }

    /// Find the first top-level field that fails to deserialize on its own by re-checking each
    /// section against its model type.
    fn locate(json: &serde_json::Value) -> String {
        use crate::model::{Cluster, Component, Environment, GitOps, Policy, Provisioner, Team};
        use std::collections::BTreeMap;
        fn check<T: for<'de> Deserialize<'de>>(v: &serde_json::Value) -> bool {
            T::deserialize(v.clone().into_deserializer()).is_ok()
        }
        fn in_map<T: for<'de> Deserialize<'de>>(section: &str, v: &serde_json::Value) -> Option<String> {
            let map = v.as_object()?;
            map.iter().find(|(_, item)| !check::<T>(item)).map(|(k, _)| format!("{section}.{k}"))
        }
        let Some(obj) = json.as_object() else { return String::new() };
        if let Some(v) = obj.get("gitops").filter(|v| !check::<GitOps>(v)) {
            let _ = v;
            return "gitops".into();
        }
        for (section, found) in [
            ("clusters", obj.get("clusters").and_then(|v| in_map::<Cluster>("clusters", v))),
            ("environments", obj.get("environments").and_then(|v| in_map::<Environment>("environments", v))),
            ("teams", obj.get("teams").and_then(|v| in_map::<Team>("teams", v))),
            ("components", obj.get("components").and_then(|v| in_map::<Component>("components", v))),
        ] {
            let _ = section;
            if let Some(path) = found {
                return path;
            }
        }
        if let Some(arr) = obj.get("provisioners").and_then(|v| v.as_array())
            && let Some(i) = arr.iter().position(|p| !check::<Provisioner>(p))
        {
            return format!("provisioners[{i}]");
        }
        if let Some(arr) = obj.get("policies").and_then(|v| v.as_array())
            && let Some(i) = arr.iter().position(|p| !check::<Policy>(p))
        {
            return format!("policies[{i}]");
        }
        let _ = check::<BTreeMap<String, serde_json::Value>>;
        String::new()
    }
}

fn stdlib_templates() -> BTreeMap<String, String> {
    stdlib::TEMPLATES.iter().map(|(n, s)| ((*n).to_string(), (*s).to_string())).collect()
}

/// Every file under `<root>/platform/templates/`, named by its path relative to `platform/`.
fn read_platform_templates(root: &Path, out: &mut BTreeMap<String, String>) -> Result<(), Diagnostics> {
    let dir = root.join("platform").join("templates");
    if !dir.is_dir() {
        return Ok(());
    }
    let mut diags = Diagnostics::new();
    for entry in walkdir::WalkDir::new(&dir).follow_links(false).sort_by_file_name() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                diags.push(Diagnostic::error(Code::Io, None, format!("cannot read `platform/templates`: {e}")));
                continue;
            }
        };
        let path = entry.path();
        let rel_ws = slash_path(path.strip_prefix(root).unwrap_or(path));
        let span = Span::file(rel_ws.as_str());
        if entry.file_type().is_symlink() {
            // A template symlink could read any file; the sandbox rule applies to templates too.
            let real = path.canonicalize().ok();
            if real.as_ref().is_none_or(|r| !r.starts_with(root)) {
                diags.push(Diagnostic::at(Code::SandboxEscape, &span, "template symlink points outside the workspace"));
                continue;
            }
            if real.as_ref().is_some_and(|r| r.is_dir()) {
                continue;
            }
        } else if !entry.file_type().is_file() {
            continue;
        }
        let name = slash_path(path.strip_prefix(root.join("platform")).unwrap_or(path));
        match std::fs::read_to_string(path) {
            Ok(src) => {
                out.insert(name, src);
            }
            Err(e) => diags.push(Diagnostic::at(Code::Io, &span, format!("cannot read template: {e}"))),
        }
    }
    diags.into_result(())
}

/// Every template a provisioner names must exist.
fn check_manifests(platform: &Platform, ws: &Workspace) -> Result<(), Diagnostics> {
    let _ = ws;
    let mut diags = Diagnostics::new();
    for p in &platform.provisioners {
        for m in &p.manifests {
            if platform.templates.contains_key(m) {
                continue;
            }
            let mut d = Diagnostic::error(
                Code::InvalidValue,
                Some(Span::file("platform/main.ncl")),
                format!("provisioner `{}` names template `{m}`, which does not exist", p.name),
            );
            let close = close_names(m, platform.templates.keys().map(String::as_str));
            d = if close.is_empty() {
                d.with_help("built-in templates are named `platc/<type>/<file>`; a platform's own live in `platform/templates/` and are named `templates/<file>`")
            } else {
                d.with_help(format!("did you mean {}?", close.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" or ")))
            };
            diags.push(d);
        }
    }
    diags.into_result(())
}

/// Template names close to `name`: the typo candidate, then names sharing its file name or type.
fn close_names<'a>(name: &str, candidates: impl Iterator<Item = &'a str> + Clone) -> Vec<&'a str> {
    let mut out = Vec::new();
    if let Some(c) = did_you_mean(name, candidates.clone()) {
        out.push(c);
    }
    let file = name.rsplit('/').next().unwrap_or(name);
    for c in candidates {
        let c_file = c.rsplit('/').next().unwrap_or(c);
        if (c_file == file || did_you_mean(file, [c_file]).is_some()) && !out.contains(&c) {
            out.push(c);
        }
    }
    out.truncate(3);
    out
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(src: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(src.len());
    let before = src.get(..offset).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(col).unwrap_or(u32::MAX))
}

/// `a/b/c` whatever the platform's separator.
fn slash_path(p: &Path) -> String {
    p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Remove `.` and resolve `..` lexically (no file-system access).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch() {
        let Ok(dir) = std::env::var("PLATC_SCRATCH") else { return };
        match load_platform(Path::new(&dir)) {
            Ok(p) => println!("OK {:#?}", p),
            Err(d) => println!("ERR {d}\n{:#?}", d),
        }
    }
}
