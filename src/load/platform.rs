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
//! fields are never evaluated. The embedded reference platform's files are inputs too (that is
//! the only way to register them in memory), so each of them must evaluate to a record; the
//! `reference_platform_loads_embedded_*` test fails if one does not.
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
use nickel_lang_core::error::{
    Diagnostic as NickelDiagnostic, Error as NickelError, IntoDiagnostics, LabelStyle,
};
use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::files::{FileId, Files};
use nickel_lang_core::program::{FieldPath, Program, ProgramBuilder};
use nickel_lang_core::serialize::{ExportFormat, validate};

use serde::Deserialize;

use crate::diag::{Code, Diagnostic, Diagnostics, Span, did_you_mean};
use crate::model::Platform;
use crate::stdlib;

use super::evaluation::Slot;

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
    (
        "platform/components.ncl",
        include_str!("../../platform/components.ncl"),
    ),
    (
        "platform/environments.ncl",
        include_str!("../../platform/environments.ncl"),
    ),
    ("platform/main.ncl", include_str!("../../platform/main.ncl")),
    (
        "platform/profiles.ncl",
        include_str!("../../platform/profiles.ncl"),
    ),
    (
        "platform/provisioners/data.ncl",
        include_str!("../../platform/provisioners/data.ncl"),
    ),
    (
        "platform/provisioners/messaging.ncl",
        include_str!("../../platform/provisioners/messaging.ncl"),
    ),
    (
        "platform/provisioners/network.ncl",
        include_str!("../../platform/provisioners/network.ncl"),
    ),
    (
        "platform/provisioners/storage.ncl",
        include_str!("../../platform/provisioners/storage.ncl"),
    ),
    (
        "platform/schemas/object-storage.ncl",
        include_str!("../../platform/schemas/object-storage.ncl"),
    ),
    (
        "platform/teams.ncl",
        include_str!("../../platform/teams.ncl"),
    ),
];

/// The reference platform's own templates (paths relative to the workspace root).
const EMBEDDED_TEMPLATES: &[(&str, &str)] = &[
    (
        "platform/templates/object-storage.yaml.j2",
        include_str!("../../platform/templates/object-storage.yaml.j2"),
    ),
    (
        "platform/templates/sql-database.yaml.j2",
        include_str!("../../platform/templates/sql-database.yaml.j2"),
    ),
];

/// Evaluate `<root>/platform/main.ncl`, read its templates, return the typed platform.
pub fn load_platform(root: &Path) -> Result<Platform, Diagnostics> {
    load_platform_in(root, false)
}

/// [`load_platform`]; with `reuse`, the last evaluation kept in the workspace's cache answers
/// when it still holds, and this one is kept (see `load::evaluation`).
pub fn load_platform_in(root: &Path, reuse: bool) -> Result<Platform, Diagnostics> {
    let root = root.canonicalize().map_err(|e| {
        Diagnostic::error(
            Code::Io,
            None,
            format!("cannot open workspace `{}`: {e}", root.display()),
        )
    })?;
    let platform_dir = root.join("platform");
    let main = platform_dir.join("main.ncl");
    if !main.is_file() {
        return Err(Diagnostic::error(
            Code::Io,
            None,
            format!(
                "no platform entry `platform/main.ncl` in `{}`",
                root.display()
            ),
        )
        .with_help("create `platform/main.ncl`, or run in a workspace that has one")
        .into());
    }
    let ws = Workspace::Disk(root.clone());
    let slot = Slot {
        cache_root: &root,
        files: Some(&root),
    };
    let mut platform = evaluate(&ws, &[], reuse.then_some(&slot))?;

    let mut templates = stdlib_templates();
    read_platform_templates(&root, &mut templates)?;
    platform.templates = templates;
    check_manifests(&platform, &ws)?;
    Ok(platform)
}

/// The reference platform's files (workspace-relative path, contents): Nickel, then templates.
pub fn reference_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    EMBEDDED_NICKEL
        .iter()
        .chain(EMBEDDED_TEMPLATES)
        .map(|(p, s)| (*p, *s))
}

/// The reference platform compiled into the binary (the repo's `platform/` dir via include_str!),
/// used when a workspace has no platform/main.ncl.
pub fn load_embedded_platform() -> Result<Platform, Diagnostics> {
    load_embedded_platform_in(None)
}

/// [`load_embedded_platform`], keeping its evaluation in `cache_root`'s cache when given.
pub fn load_embedded_platform_in(cache_root: Option<&Path>) -> Result<Platform, Diagnostics> {
    let ws = Workspace::Embedded;
    let slot = cache_root.map(|cache_root| Slot {
        cache_root,
        files: None,
    });
    let mut platform = evaluate(&ws, EMBEDDED_NICKEL, slot.as_ref())?;
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
            Workspace::Embedded => EMBEDDED_NICKEL
                .iter()
                .find(|(n, _)| *n == rel)
                .map(|(_, s)| (*s).to_string()),
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
            if !real.starts_with(root) {
                return LoadedFile::Outside(path.to_path_buf());
            }
            // Report the name the platform used (a symlink inside the workspace keeps its name).
            let rel = path
                .strip_prefix(root)
                .or_else(|_| real.strip_prefix(root))
                .unwrap_or(&real);
            LoadedFile::Workspace(slash_path(rel))
        }
    }
}

/// Evaluate the platform. `embedded` lists in-memory workspace files (empty for a disk
/// workspace) by workspace-relative path.
fn evaluate(
    ws: &Workspace,
    embedded: &[(&str, &str)],
    slot: Option<&Slot<'_>>,
) -> Result<Platform, Diagnostics> {
    let entry = format!(
        "{{ {ENTRY_FIELD} = (import \"main.ncl\") | (import \"{}\").Platform }}",
        stdlib::ENTRY
    );
    let (json, sources) = match slot.and_then(|s| s.lookup(&entry)) {
        Some(kept) => kept,
        None => {
            let e = evaluate_entry(ws, embedded, entry.clone())?;
            if let Some(slot) = slot {
                slot.store(&entry, &e.json, &e.sources, e.read);
            }
            (e.json, e.sources)
        }
    };
    let mut platform = to_platform(json)?;
    platform.sources = sources;
    Ok(platform)
}

/// Evaluates `expr` with `platform` bound to the workspace's platform (the value of
/// `platform/main.ncl` after the stdlib's `Platform` contract, with its non-exported fields such
/// as policy `check` functions) and `platc` to the stdlib; returns the exported JSON. The
/// workspace is `root` when it has `platform/main.ncl`, else the embedded reference platform.
/// The same sandbox as [`load_platform`] applies. Used by `policy::nickel` to run every
/// platform-defined policy over every workload in one evaluation.
pub fn evaluate_with_platform(root: &Path, expr: &str) -> Result<serde_json::Value, Diagnostics> {
    let entry = format!(
        "{{ {ENTRY_FIELD} = let platc = import \"{0}\" in let platform = (import \"main.ncl\") | platc.Platform in ({expr}) }}",
        stdlib::ENTRY
    );
    let (ws, embedded) = if root.join("platform/main.ncl").is_file() {
        let root = root.canonicalize().map_err(|e| {
            Diagnostic::error(
                Code::Io,
                None,
                format!("cannot open workspace `{}`: {e}", root.display()),
            )
        })?;
        (Workspace::Disk(root), &[][..])
    } else {
        (Workspace::Embedded, EMBEDDED_NICKEL)
    };
    evaluate_entry(&ws, embedded, entry).map(|e| e.json)
}

/// Evaluates a generated entry file (a record whose field [`ENTRY_FIELD`] is the result) living
/// virtually in `platform/`, with the stdlib importable; returns the exported value and the
/// display names of the files read.
/// What an evaluation gave: the exported value, the display names of the files it read, and the
/// content hashes of the workspace files' text as it read them.
struct Evaluated {
    json: serde_json::Value,
    sources: Vec<String>,
    read: BTreeMap<String, String>,
}

fn evaluate_entry(
    ws: &Workspace,
    embedded: &[(&str, &str)],
    entry: String,
) -> Result<Evaluated, Diagnostics> {
    // nickel-lang-core 0.19 can fail an internal assertion on some inputs (a `{ .. }` contract over
    // nested JSON imported from a file, for one); a platform engineer must get an error that says
    // where to look, not a crash.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        evaluate_entry_unguarded(ws, embedded, entry)
    }))
    .unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        Err(Diagnostic::error(
            Code::NickelError,
            Some(Span::file("platform/main.ncl")),
            format!("the Nickel evaluator failed internally while evaluating the platform: {what}"),
        )
        .with_help(
            "this is a known nickel-lang-core 0.19 failure on `{ .. }` contracts over imported JSON; \
             apply a record contract with typed fields instead, or inline the value in Nickel",
        )
        .into())
    })
}

fn evaluate_entry_unguarded(
    ws: &Workspace,
    embedded: &[(&str, &str)],
    entry: String,
) -> Result<Evaluated, Diagnostics> {
    let root = ws.root();
    let platform_dir = root.join("platform");

    let mut builder = ProgramBuilder::new()
        .add_source_string(entry, platform_dir.join(ENTRY_FILE).into_os_string())
        .add_import_paths([PathBuf::from(STDLIB_DIR)])
        .with_field_path(FieldPath(vec![ENTRY_FIELD.into()]));
    for (name, src) in stdlib::NICKEL_FILES {
        builder =
            builder.add_source_string(*src, Path::new(STDLIB_DIR).join(name).into_os_string());
    }
    for (rel, src) in embedded {
        builder = builder.add_source_string(*src, root.join(rel).into_os_string());
    }
    let mut program: Program<CacheImpl> = builder.build().map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            Code::Internal,
            None,
            format!("cannot set up the Nickel evaluator: {e}"),
        ))
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
    let read = read_hashes(ws, &files);
    drop(value);
    drop(program);
    Ok(Evaluated {
        json,
        sources,
        read,
    })
}

/// Content hashes of the workspace files the evaluation read, from the text it parsed.
fn read_hashes(ws: &Workspace, files: &Files) -> BTreeMap<String, String> {
    (0..files.filenames().count())
        .filter_map(|i| {
            // `FileId` has no public constructor; ids are the positions `filenames` lists.
            let id: FileId = serde_json::from_value(serde_json::json!(i)).ok()?;
            match classify(ws, files.name(id)) {
                LoadedFile::Workspace(name) => {
                    Some((name, crate::emit::content_hash(files.source(id).as_bytes())))
                }
                _ => None,
            }
        })
        .collect()
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
        let LoadedFile::Workspace(display) = classify(ws, name) else {
            continue;
        };
        let importer = Path::new(name);
        let dir = importer.parent().unwrap_or(Path::new("/"));
        let Some(src) = ws.source(&display) else {
            continue;
        };
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
        let Some(lit) = trimmed.strip_prefix('"') else {
            continue;
        };
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
        return Diagnostic::error(code, None, "Nickel evaluation failed")
            .with_note(report)
            .into();
    };
    // The platform engineer's own file first: a whole-record contract (a provisioner's params
    // against its defaults) has its primary label on the contract in the stdlib, and the value
    // that broke it as a secondary one.
    let spans: Vec<(bool, Span)> = first
        .labels
        .iter()
        .filter_map(|l| {
            let name = files_for_diags.name(l.file_id);
            let display = ws.display_name(name)?;
            let src = files_for_diags.source(l.file_id);
            let (line, col) = line_col(src, l.range.start);
            Some((
                l.style == LabelStyle::Primary,
                Span::new(display, line, col),
            ))
        })
        .collect();
    // Workspace before stdlib, then primary before secondary; the first of the best rank.
    let span = spans
        .iter()
        .min_by_key(|(primary, s)| (s.file.starts_with("<stdlib>"), !primary))
        .map(|(_, s)| s.clone());
    // Nickel puts the contract's own message on the second line of the diagnostic message
    // ("contract broken by the value of `cluster`\n unknown cluster `prd`").
    let message = first
        .message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    // Messages must read the same on every machine: no absolute paths.
    let message = clean_report(ws, &message);
    let mut span = span;
    let mut help = None;
    if let Some(field) = extra_field(&message) {
        // Point at the misspelled field itself rather than at the whole record.
        if let Some(s) = span.as_ref().and_then(|s| field_span(ws, s, field)) {
            span = Some(s);
        }
        if let Some(best) = did_you_mean(field, stdlib_field_names().iter().map(String::as_str)) {
            help = Some(format!("unknown field `{field}`, did you mean `{best}`?"));
        }
    }
    let mut d = Diagnostic::error(code, span, message);
    d.help = help;
    for note in &first.notes {
        // Advice addressed to contract authors, not to the platform engineer reading this.
        if note.starts_with("The record contract might also be too strict")
            || (d.help.is_some() && note.starts_with("Have you misspelled"))
        {
            continue;
        }
        d = d.with_note(note.clone());
    }
    d = d.with_note(clean_report(ws, &report));
    d.into()
}

/// `extra field `x`` in a Nickel record-contract message.
fn extra_field(message: &str) -> Option<&str> {
    let rest = &message[message.find("extra field `")? + "extra field `".len()..];
    Some(&rest[..rest.find('`')?])
}

/// The position of `field =` (or `field |`) at or after `from` in a workspace file.
fn field_span(ws: &Workspace, from: &Span, field: &str) -> Option<Span> {
    let src = ws.source(&from.file)?;
    let line_start: usize = src
        .split_inclusive('\n')
        .take(from.line.saturating_sub(1) as usize)
        .map(str::len)
        .sum();
    let start = line_start
        + src[line_start..]
            .chars()
            .take(from.col.saturating_sub(1) as usize)
            .map(char::len_utf8)
            .sum::<usize>();
    let bytes = src.as_bytes();
    let mut i = start;
    while let Some(pos) = src.get(i..)?.find(field) {
        let at = i + pos;
        let end = at + field.len();
        let before_ok = at == 0 || !is_ident_byte(bytes[at - 1]);
        let after = src[end..].trim_start();
        let after_ok =
            (after.starts_with('=') && !after.starts_with("==")) || after.starts_with('|');
        if before_ok
            && after_ok
            && src
                .get(end..)
                .is_some_and(|r| r.starts_with(|c: char| !is_ident_byte(c as u8)))
        {
            let (line, col) = line_col(&src, at);
            return Some(Span::new(from.file.clone(), line, col));
        }
        i = end;
    }
    None
}

/// Every field name the stdlib contracts declare (`name | Contract`), for typo suggestions.
fn stdlib_field_names() -> Vec<String> {
    let mut names: Vec<String> = stdlib::NICKEL_FILES
        .iter()
        .flat_map(|(_, src)| src.lines())
        .filter_map(|line| {
            let t = line.trim_start();
            let (name, rest) = t.split_once(' ')?;
            (rest.starts_with("| ") && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
                .then(|| name.to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The rendered Nickel report with machine-specific paths made workspace-relative, so messages
/// are identical on every machine.
fn clean_report(ws: &Workspace, report: &str) -> String {
    let root = format!("{}/", ws.root().display());
    report
        .replace(
            &format!("{}", ws.root().join("platform").join(ENTRY_FILE).display()),
            "platform/main.ncl",
        )
        .replace(&root, "")
        .replace(&format!("{STDLIB_DIR}/"), &format!("{STDLIB_DISPLAY}/"))
        .trim_end()
        .to_string()
}

fn is_blame(e: &nickel_lang_core::error::EvalError) -> bool {
    matches!(
        e.error,
        nickel_lang_core::error::EvalErrorKind::BlameError { .. }
    )
}

/// Convert the exported JSON into the model, naming the field path of any mismatch.
fn to_platform(json: serde_json::Value) -> Result<Platform, Diagnostics> {
    Platform::deserialize(&json).map_err(|e| {
        Diagnostics::from(
            Diagnostic::error(
                Code::WrongType,
                Some(Span::file("platform/main.ncl")),
                format!("the platform does not have the shape platc expects at `{}`: {e}", locate_mismatch(&json)),
            )
            .with_help("the stdlib `Platform` contract should have caught this; check the field named above"),
        )
    })
}

/// The first section entry that fails to convert on its own (`environments.prod`,
/// `provisioners[3]`), so a conversion error names where to look.
fn locate_mismatch(json: &serde_json::Value) -> String {
    use crate::model::{Cluster, Component, Environment, GitOps, Policy, Provisioner, Team};
    fn fails<T: for<'de> Deserialize<'de>>(v: &serde_json::Value) -> bool {
        T::deserialize(v).is_err()
    }
    fn in_map(
        json: &serde_json::Value,
        section: &str,
        fails: fn(&serde_json::Value) -> bool,
    ) -> Option<String> {
        let map = json.get(section)?.as_object()?;
        map.iter()
            .find(|(_, item)| fails(item))
            .map(|(k, _)| format!("{section}.{k}"))
    }
    fn in_array(
        json: &serde_json::Value,
        section: &str,
        fails: fn(&serde_json::Value) -> bool,
    ) -> Option<String> {
        let items = json.get(section)?.as_array()?;
        items
            .iter()
            .position(fails)
            .map(|i| format!("{section}[{i}]"))
    }
    if json.get("gitops").is_some_and(fails::<GitOps>) {
        return "gitops".into();
    }
    in_map(json, "clusters", fails::<Cluster>)
        .or_else(|| in_map(json, "environments", fails::<Environment>))
        .or_else(|| in_map(json, "teams", fails::<Team>))
        .or_else(|| in_map(json, "components", fails::<Component>))
        .or_else(|| in_array(json, "provisioners", fails::<Provisioner>))
        .or_else(|| in_array(json, "policies", fails::<Policy>))
        .unwrap_or_else(|| ".".into())
}

fn stdlib_templates() -> BTreeMap<String, String> {
    stdlib::TEMPLATES
        .iter()
        .map(|(n, s)| ((*n).to_string(), (*s).to_string()))
        .collect()
}

/// Every file under `<root>/platform/templates/`, named by its path relative to `platform/`.
fn read_platform_templates(
    root: &Path,
    out: &mut BTreeMap<String, String>,
) -> Result<(), Diagnostics> {
    let dir = root.join("platform").join("templates");
    if !dir.is_dir() {
        return Ok(());
    }
    let mut diags = Diagnostics::new();
    for entry in walkdir::WalkDir::new(&dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                diags.push(Diagnostic::error(
                    Code::Io,
                    None,
                    format!("cannot read `platform/templates`: {e}"),
                ));
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
                diags.push(Diagnostic::at(
                    Code::SandboxEscape,
                    &span,
                    "template symlink points outside the workspace",
                ));
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
            Err(e) => diags.push(Diagnostic::at(
                Code::Io,
                &span,
                format!("cannot read template: {e}"),
            )),
        }
    }
    diags.into_result(())
}

/// Every template a provisioner names must exist.
fn check_manifests(platform: &Platform, ws: &Workspace) -> Result<(), Diagnostics> {
    let mut diags = Diagnostics::new();
    for p in &platform.provisioners {
        for m in &p.manifests {
            if platform.templates.contains_key(m) {
                continue;
            }
            let span = find_string_literal(ws, &platform.sources, m)
                .unwrap_or_else(|| Span::file("platform/main.ncl"));
            let mut d = Diagnostic::at(
                Code::InvalidValue,
                &span,
                format!(
                    "provisioner `{}` names template `{m}`, which does not exist",
                    p.name
                ),
            );
            let close = close_names(m, platform.templates.keys().map(String::as_str));
            d = if close.is_empty() {
                d.with_help("built-in templates are named `platc/<type>/<file>`; a platform's own live in `platform/templates/` and are named `templates/<file>`")
            } else {
                d.with_help(format!(
                    "did you mean {}?",
                    close
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ))
            };
            diags.push(d);
        }
    }
    diags.into_result(())
}

/// Where the string literal `"value"` is first written in the platform's own files.
fn find_string_literal(ws: &Workspace, sources: &[String], value: &str) -> Option<Span> {
    let needle = format!("\"{value}\"");
    sources
        .iter()
        .filter(|s| !s.starts_with(STDLIB_DISPLAY))
        .find_map(|file| {
            let src = ws.source(file)?;
            let at = src.find(&needle)?;
            let (line, col) = line_col(&src, at);
            Some(Span::new(file.as_str(), line, col))
        })
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
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// `a/b/c` whatever the platform's separator.
fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
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
    use serde_json::{Value, json};

    fn repo_root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// A workspace with `platform/main.ncl` and any extra files.
    fn workspace(main: &str, extra: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write("platform/main.ncl", main);
        for (rel, text) in extra {
            write(rel, text);
        }
        dir
    }

    /// A small valid platform; `{PROFILE}`, `{ENV}` and `{EXTRA}` are replaced by the test.
    const MINIMAL: &str = r#"let platc = import "platc.ncl" in
{
  name = "acme",
  gitops = { repo_url = "https://git.example.com/gitops.git" },
  clusters = { main = { server = "https://k8s", domain = "example.com" } },
  environments = {
    dev = { type = "development", cluster = "{ENV}" },
  },
  teams = { t = { owners = ["a@example.com"], namespace = "t", project = "t" } },
  profiles = {
    web = { kind = 'deployment, {PROFILE} },
  },
  default_profile = "web",
  provisioners = [],{EXTRA}
} | platc.Platform
"#;

    fn minimal(profile: &str, env_cluster: &str, extra: &str) -> String {
        MINIMAL
            .replace("{PROFILE}", profile)
            .replace("{ENV}", env_cluster)
            .replace("{EXTRA}", extra)
    }

    fn only(diags: &Diagnostics) -> &Diagnostic {
        assert_eq!(diags.0.len(), 1, "expected one diagnostic, got: {diags}");
        &diags.0[0]
    }

    fn check_reference(p: &Platform) {
        assert_eq!(p.name, "acme");
        assert_eq!(
            p.environments.keys().collect::<Vec<_>>(),
            ["dev", "prod", "staging"]
        );
        assert_eq!(p.environments["prod"].env_type, "production");
        assert_eq!(p.environments["prod"].cluster, "prod");
        assert_eq!(p.environments["prod"].pod_security, "restricted");
        assert_eq!(p.environments["staging"].order, 1);
        assert_eq!(p.environments["dev"].pod_security, "baseline");
        assert_eq!(
            p.clusters["prod"].routes,
            crate::model::RouteKind::Httproute
        );
        assert_eq!(
            p.clusters["nonprod"].ingress_class.as_deref(),
            Some("nginx")
        );
        assert_eq!(
            p.teams.keys().collect::<Vec<_>>(),
            ["apps", "data", "payments", "storefront"]
        );
        assert_eq!(p.default_profile, "web");
        assert_eq!(p.profiles["web"]["probe_path"], json!("/healthz"));
        assert_eq!(p.profiles["cron"]["kind"], json!("cronjob"));
        assert_eq!(
            p.gitops.repo_url,
            "https://git.example.com/platform/gitops.git"
        );
        assert_eq!(p.gitops.argocd_namespace, "argocd");
        let mut types: Vec<&str> = p
            .provisioners
            .iter()
            .map(|p| p.resource_type.as_str())
            .collect();
        types.sort_unstable();
        types.dedup();
        assert_eq!(
            types,
            [
                "amqp",
                "dns",
                "endpoint",
                "kafka-topic",
                "mongodb",
                "mssql",
                "mysql",
                "postgres",
                "redis",
                "route",
                "s3",
                "volume"
            ]
        );
        let pg: Vec<_> = p
            .provisioners
            .iter()
            .filter(|p| p.resource_type == "postgres")
            .collect();
        assert_eq!(pg[0].env_types, ["development", "staging"]);
        assert_eq!(pg[0].defaults["instances"], json!(1));
        assert_eq!(pg[1].env_types, ["production"]);
        assert_eq!(pg[1].defaults["instances"], json!(3));
        assert_eq!(pg[1].requires, ["cloudnative-pg"]);
        assert_eq!(
            pg[1].secret_outputs["password"].secret,
            "{{ resource.name }}-app"
        );
        for c in [
            "cloudnative-pg",
            "external-secrets",
            "prometheus-operator",
            "strimzi",
            "rabbitmq-operator",
            "ingress-nginx",
            "envoy-gateway",
            "crossplane",
            "argocd",
            "backstage",
            "cert-manager",
        ] {
            assert!(p.components.contains_key(c), "component {c} missing");
        }
        assert_eq!(p.components["ingress-nginx"].clusters, ["nonprod"]);
        assert_eq!(p.components["argocd"].plane, crate::model::Plane::Delivery);
        assert!(
            p.templates
                .contains_key("platc/postgres/cnpg-cluster.yaml.j2")
        );
        assert!(p.templates.contains_key("templates/object-storage.yaml.j2"));
    }

    #[test]
    fn reference_platform_loads_from_the_repo() {
        let p = load_platform(&repo_root()).unwrap_or_else(|d| panic!("{d}"));
        check_reference(&p);
        assert!(p.sources.contains(&"platform/main.ncl".to_string()));
        assert!(
            p.sources
                .contains(&"platform/provisioners/data.ncl".to_string())
        );
        assert!(p.sources.contains(&"<stdlib>/platc.ncl".to_string()));
        let mut sorted = p.sources.clone();
        sorted.sort();
        assert_eq!(p.sources, sorted);
    }

    #[test]
    fn reference_platform_loads_embedded_and_equals_the_repo_one() {
        let embedded = load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        check_reference(&embedded);
        let disk = load_platform(&repo_root()).unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(embedded, disk);
        // Every Nickel file in platform/ is compiled in (a new file must be added to the list).
        let mut on_disk: Vec<String> = walkdir::WalkDir::new(repo_root().join("platform"))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| {
                e.path()
                    .extension()
                    .is_some_and(|x| x == "ncl" || x == "j2")
            })
            .map(|e| slash_path(e.path().strip_prefix(repo_root()).expect("in repo")))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = EMBEDDED_NICKEL
            .iter()
            .chain(EMBEDDED_TEMPLATES)
            .map(|(n, _)| (*n).to_string())
            .collect();
        listed.sort();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn minimal_platform_gets_contract_defaults() {
        let ws = workspace(&minimal("replicas = 2", "main", ""), &[]);
        let p = load_platform(ws.path()).unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(p.workloads, crate::model::default_globs());
        assert_eq!(p.gitops.target_revision, "main");
        assert_eq!(p.environments["dev"].pod_security, "baseline");
        assert_eq!(p.environments["dev"].overrides, json!({}));
        assert_eq!(p.clusters["main"].routes, crate::model::RouteKind::Ingress);
        // Profiles stay partial: no defaults are filled in that would win over a profile later.
        assert_eq!(
            p.profiles["web"],
            json!({"kind": "deployment", "replicas": 2})
        );
        assert_eq!(p.sources, ["<stdlib>/platc.ncl", "platform/main.ncl"]);
    }

    #[test]
    fn misspelled_profile_field_points_at_it() {
        let ws = workspace(&minimal("replica = 2", "main", ""), &[]);
        let err = load_platform(ws.path()).expect_err("must fail");
        let d = only(&err);
        assert_eq!(d.code, Code::ContractViolation);
        // Line 11 is `    web = { kind = 'deployment, replica = 2 },`.
        assert_eq!(d.span, Some(Span::new("platform/main.ncl", 11, 33)));
        assert!(d.message.contains("extra field `replica`"), "{}", d.message);
        assert_eq!(
            d.help.as_deref(),
            Some("unknown field `replica`, did you mean `replicas`?")
        );
        let report = d.notes.last().expect("report");
        assert!(report.contains("platform/main.ncl:11"), "{report}");
        assert!(
            !report.contains(&ws.path().display().to_string()),
            "report has machine paths: {report}"
        );
    }

    #[test]
    fn wrong_type_in_profile_is_a_contract_violation() {
        let ws = workspace(&minimal("replicas = \"two\"", "main", ""), &[]);
        let err = load_platform(ws.path()).expect_err("must fail");
        let d = only(&err);
        assert_eq!(d.code, Code::ContractViolation);
        assert_eq!(d.span, Some(Span::new("platform/main.ncl", 11, 44)));
    }

    #[test]
    fn environment_with_unknown_cluster_names_the_known_ones() {
        let ws = workspace(&minimal("replicas = 2", "mian", ""), &[]);
        let err = load_platform(ws.path()).expect_err("must fail");
        let d = only(&err);
        assert_eq!(d.code, Code::ContractViolation);
        assert_eq!(d.span, Some(Span::new("platform/main.ncl", 7, 45)));
        assert!(
            d.message.contains("unknown cluster `mian`"),
            "{}",
            d.message
        );
        assert!(
            d.notes.iter().any(|n| n == "known clusters: `main`"),
            "{:?}",
            d.notes
        );
    }

    #[test]
    fn provisioner_requiring_unknown_component_is_refused() {
        let extra = r#"
  components = { cnpg = { plane = "resource", namespace = "cnpg-system" } },
  policies = [{ id = "p", envs = ["dev"] }],"#;
        let main = minimal("replicas = 2", "main", extra)
            .replace("provisioners = [],", "provisioners = [{ name = \"pg\", type = \"postgres\", requires = [\"cnpg\", \"cloudnative-pg\"] }],");
        let ws = workspace(&main, &[]);
        let err = load_platform(ws.path()).expect_err("must fail");
        let d = only(&err);
        assert_eq!(d.code, Code::ContractViolation);
        assert!(
            d.message.contains("unknown component `cloudnative-pg`"),
            "{}",
            d.message
        );
        assert_eq!(d.span.as_ref().map(|s| s.line), Some(14));
    }

    #[test]
    fn provisioner_defaults_must_be_declared_optional_params() {
        let prov = |params: &str| {
            minimal(
                "replicas = 1",
                "main",
                &format!(
                    "\n  provisioners = [{{ name = \"cache\", type = \"redis\", params = {{ {params} }}, defaults = {{ memory = \"1Gi\" }} }}],"
                ),
            )
            .replace("  provisioners = [],", "")
        };
        let ws = workspace(&prov("size = {}"), &[]);
        let d = only(&load_platform(ws.path()).expect_err("must fail")).clone();
        assert_eq!(d.code, Code::ContractViolation);
        assert!(
            d.message
                .contains("provisioner `cache` has defaults for undeclared params `memory`"),
            "{}",
            d.message
        );
        // The value that broke the contract, in the platform's file, not the stdlib.
        assert_eq!(
            d.span.map(|s| s.file.to_string()),
            Some("platform/main.ncl".to_string())
        );
        let ws = workspace(&prov("memory = { required = true }"), &[]);
        let d = only(&load_platform(ws.path()).expect_err("must fail")).clone();
        assert!(
            d.message.contains("defaults for required params `memory`"),
            "{}",
            d.message
        );
        let ws = workspace(&prov("memory = { description = \"cache size\" }"), &[]);
        let p = load_platform(ws.path()).unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(
            p.provisioners[0].params["memory"].param_type,
            crate::model::ParamType::String
        );
    }

    #[test]
    fn unknown_default_profile_and_bad_env_type() {
        let main = minimal("replicas = 2", "main", "")
            .replace("default_profile = \"web\"", "default_profile = \"wbe\"");
        let ws = workspace(&main, &[]);
        let d = load_platform(ws.path()).expect_err("must fail");
        assert!(only(&d).message.contains("unknown profile `wbe`"), "{d}");

        let main = minimal("replicas = 2", "main", "").replace("\"development\"", "\"dev\"");
        let ws = workspace(&main, &[]);
        let d = load_platform(ws.path()).expect_err("must fail");
        let d = only(&d);
        assert!(
            d.message.contains("`dev` is not a valid environment type"),
            "{}",
            d.message
        );
        assert_eq!(d.span, Some(Span::new("platform/main.ncl", 7, 20)));
    }

    #[test]
    fn missing_template_suggests_close_names() {
        let main = minimal("replicas = 2", "main", "")
            .replace("provisioners = [],", "provisioners = [{ name = \"pg\", type = \"postgres\", manifests = [\"platc/postgres/cnpg-clustr.yaml.j2\"] }],");
        let ws = workspace(&main, &[("platform/templates/route.yaml.j2", "kind: x\n")]);
        let err = load_platform(ws.path()).expect_err("must fail");
        let d = only(&err);
        assert_eq!(d.code, Code::InvalidValue);
        assert_eq!(d.span, Some(Span::new("platform/main.ncl", 14, 66)));
        assert!(
            d.message.contains("`platc/postgres/cnpg-clustr.yaml.j2`"),
            "{}",
            d.message
        );
        assert_eq!(
            d.help.as_deref(),
            Some("did you mean `platc/postgres/cnpg-cluster.yaml.j2`?")
        );
    }

    #[test]
    fn platform_templates_are_named_relative_to_platform_dir() {
        let main = minimal("replicas = 2", "main", "")
            .replace("provisioners = [],", "provisioners = [{ name = \"r\", type = \"route\", manifests = [\"templates/net/route.yaml.j2\"] }],");
        let ws = workspace(
            &main,
            &[("platform/templates/net/route.yaml.j2", "kind: x\n")],
        );
        let p = load_platform(ws.path()).unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(
            p.templates
                .get("templates/net/route.yaml.j2")
                .map(String::as_str),
            Some("kind: x\n")
        );
    }

    #[test]
    fn relative_import_escaping_the_workspace_is_refused() {
        let main = minimal(
            "replicas = 2",
            "main",
            "\n  policies = import \"../../../../../../../../etc/passwd\",",
        );
        let ws = workspace(&main, &[]);
        let err = load_platform(ws.path()).expect_err("must fail");
        let d = only(&err);
        assert_eq!(d.code, Code::SandboxEscape);
        assert_eq!(d.span, Some(Span::new("platform/main.ncl", 15, 14)));
        assert!(d.message.contains("/etc/passwd"), "{}", d.message);
        // Nothing read from the file may leak into the diagnostic.
        assert!(!d.to_string().contains("root:"), "{d}");
    }

    #[test]
    fn absolute_import_outside_the_workspace_is_refused() {
        let outside = tempfile::tempdir().expect("tempdir");
        let secret = outside.path().join("secret.ncl");
        std::fs::write(&secret, "[{ id = \"leaked-secret-value\" }]").expect("write");
        let extra = format!("\n  policies = import \"{}\",", secret.display());
        let ws = workspace(&minimal("replicas = 2", "main", &extra), &[]);
        let err = load_platform(ws.path()).expect_err("must fail");
        let d = only(&err);
        assert_eq!(d.code, Code::SandboxEscape);
        assert_eq!(
            d.span.as_ref().map(|s| (s.file.as_ref(), s.line)),
            Some(("platform/main.ncl", 15))
        );
        assert!(!d.to_string().contains("leaked-secret-value"));
    }

    #[cfg(unix)]
    #[test]
    fn symlink_out_of_the_workspace_is_refused() {
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("policies.ncl"), "[]").expect("write");
        let ws = workspace(
            &minimal(
                "replicas = 2",
                "main",
                "\n  policies = import \"policies.ncl\",",
            ),
            &[],
        );
        std::os::unix::fs::symlink(
            outside.path().join("policies.ncl"),
            ws.path().join("platform/policies.ncl"),
        )
        .expect("symlink");
        let err = load_platform(ws.path()).expect_err("must fail");
        assert_eq!(only(&err).code, Code::SandboxEscape);
    }

    #[test]
    fn nested_imports_inside_the_workspace_are_fine() {
        let ws = workspace(
            &minimal(
                "replicas = 2",
                "main",
                "\n  policies = import \"lib/policies.ncl\",",
            ),
            &[
                ("platform/lib/policies.ncl", "import \"../../shared/p.ncl\""),
                ("shared/p.ncl", "[{ id = \"x\" }]"),
            ],
        );
        let p = load_platform(ws.path()).unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(p.policies[0].id, "x");
        assert_eq!(
            p.sources,
            [
                "<stdlib>/platc.ncl",
                "platform/lib/policies.ncl",
                "platform/main.ncl",
                "shared/p.ncl"
            ]
        );
    }

    #[test]
    fn syntax_error_is_a_located_nickel_error() {
        let ws = workspace("let platc = import \"platc.ncl\" in\n{ name = }\n", &[]);
        let err = load_platform(ws.path()).expect_err("must fail");
        let d = &err.0[0];
        assert_eq!(d.code, Code::NickelError);
        assert_eq!(
            d.span.as_ref().map(|s| (s.file.as_ref(), s.line)),
            Some(("platform/main.ncl", 2))
        );
    }

    #[test]
    fn missing_main_is_an_io_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = load_platform(dir.path()).expect_err("must fail");
        assert_eq!(only(&err).code, Code::Io);
    }

    // -----------------------------------------------------------------------------------------
    // Templates
    // -----------------------------------------------------------------------------------------

    /// A sample context shaped as the renderer builds it (see notes/ctx.md).
    fn sample_context(p: &Platform, env: &str, rtype: &str, params: &Value) -> Value {
        let e = &p.environments[env];
        let c = &p.clusters[&e.cluster];
        json!({
            "resource": {
                "type": rtype, "class": "default", "id": "orders-db", "key": "db",
                "name": "orders-db", "uid": "3f9a1c2b", "shared": true,
                "params": params, "annotations": {},
            },
            "namespace": format!("payments-{env}"),
            "workload": {
                "name": "checkout", "namespace": format!("payments-{env}"), "team": "payments",
                "service": { "name": "checkout", "ports": [{"name": "http", "port": 80, "target_port": 8080, "protocol": "TCP"}] },
            },
            "consumers": ["checkout", "orders"],
            "env": { "name": env, "type": e.env_type, "pod_security": e.pod_security, "labels": e.labels },
            "cluster": {
                "name": e.cluster, "server": c.server, "domain": c.domain,
                "routes": match c.routes { crate::model::RouteKind::Ingress => "ingress", crate::model::RouteKind::Httproute => "httproute" },
                "ingress_class": c.ingress_class, "gateway": c.gateway,
            },
            "team": { "name": "payments", "namespace": "payments", "project": "payments", "owners": ["alice@example.com"], "group": "team-payments" },
            "platform": { "name": p.name },
            "labels": { "app.kubernetes.io/managed-by": "platc", "app.kubernetes.io/part-of": "checkout" },
        })
    }

    /// A sample value of a declared param type.
    fn sample(name: &str, t: crate::model::ParamType) -> Value {
        use crate::model::ParamType;
        match t {
            ParamType::String | ParamType::Any => json!(format!("sample-{name}")),
            ParamType::Integer => json!(3),
            ParamType::Number => json!(1.5),
            ParamType::Boolean => json!(true),
            ParamType::Array => json!(["sample"]),
            ParamType::Object => json!({"sample.key": "sample"}),
        }
    }

    /// Params as the resolver passes them for a request that gives only the required params:
    /// the defaults, and a sample value of the declared type for each required one.
    fn params_minimal(prov: &crate::model::Provisioner) -> Value {
        let mut params = match &prov.defaults {
            Value::Object(m) => m.clone(),
            _ => serde_json::Map::new(),
        };
        for (name, spec) in &prov.params {
            if spec.required {
                params.insert(name.clone(), sample(name, spec.param_type));
            }
        }
        Value::Object(params)
    }

    /// Params of a request that gives every declared param.
    fn params_full(prov: &crate::model::Provisioner) -> Value {
        Value::Object(
            prov.params
                .iter()
                .map(|(name, spec)| (name.clone(), sample(name, spec.param_type)))
                .collect(),
        )
    }

    /// Params for the route tests: a public host and a service port.
    fn route_params(route: &crate::model::Provisioner) -> Value {
        let mut p = params_minimal(route);
        p["host"] = json!("shop.example.com");
        p["port"] = json!(8080);
        p
    }

    /// Parse one YAML stream into JSON values (mappings, sequences, scalars as strings).
    fn parse_yaml_stream(text: &str) -> Result<Vec<Value>, String> {
        use saphyr_parser::{Event, Parser};
        let mut docs = Vec::new();
        let mut stack: Vec<(Value, Option<String>)> = Vec::new();
        let finish =
            |stack: &mut Vec<(Value, Option<String>)>, docs: &mut Vec<Value>, v: Value| match stack
                .last_mut()
            {
                None => docs.push(v),
                Some((Value::Array(a), _)) => a.push(v),
                Some((Value::Object(m), key)) => match key.take() {
                    None => {
                        *key = Some(match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        })
                    }
                    Some(k) => {
                        m.insert(k, v);
                    }
                },
                Some(_) => {}
            };
        for ev in Parser::new_from_str(text) {
            let (ev, _) = ev.map_err(|e| e.to_string())?;
            match ev {
                Event::Scalar(s, ..) => {
                    finish(&mut stack, &mut docs, Value::String(s.into_owned()))
                }
                Event::SequenceStart(..) => stack.push((Value::Array(Vec::new()), None)),
                Event::MappingStart(..) => {
                    stack.push((Value::Object(serde_json::Map::new()), None))
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let (v, _) = stack.pop().ok_or("unbalanced")?;
                    finish(&mut stack, &mut docs, v);
                }
                Event::Alias(_) => return Err("alias".into()),
                _ => {}
            }
        }
        Ok(docs)
    }

    fn render_all(
        p: &Platform,
        env: &str,
        params_for: fn(&crate::model::Provisioner) -> Value,
    ) -> usize {
        // The compiler's own template environment, so the test is as strict as a build.
        let templates = crate::template::Templates::new(p)
            .unwrap_or_else(|e| panic!("templates do not compile: {e:?}"));
        let mut rendered = 0;
        for prov in &p.provisioners {
            let ctx = sample_context(p, env, &prov.resource_type, &params_for(prov));
            let exprs = prov
                .outputs
                .iter()
                .chain(
                    prov.secret_outputs
                        .iter()
                        .flat_map(|(k, s)| [(k, &s.secret), (k, &s.key)]),
                )
                .map(|(k, v)| (k.clone(), v.clone()))
                .chain(
                    prov.external_secret
                        .iter()
                        .map(|e| ("remote_key".to_string(), e.remote_key.clone())),
                );
            for (key, expr) in exprs {
                let out = templates
                    .render_str(&key, &expr, &ctx)
                    .unwrap_or_else(|e| panic!("{}: output {key} fails in {env}: {e}", prov.name));
                assert!(!out.is_empty(), "{}: output {key} is empty", prov.name);
            }
            for m in &prov.manifests {
                let text = templates.render(m, &ctx).unwrap_or_else(|e| {
                    panic!("{m} fails to render for {} in {env}: {e}", prov.name)
                });
                let docs = parse_yaml_stream(&text)
                    .unwrap_or_else(|e| panic!("{m} in {env} is not YAML: {e}\n{text}"));
                assert!(!docs.is_empty(), "{m} rendered nothing");
                for doc in docs {
                    for field in ["apiVersion", "kind"] {
                        assert!(
                            doc[field].as_str().is_some_and(|s| !s.is_empty()),
                            "{m}: no {field}\n{text}"
                        );
                    }
                    assert!(
                        doc["metadata"]["name"]
                            .as_str()
                            .is_some_and(|s| !s.is_empty()),
                        "{m}: no metadata.name\n{text}"
                    );
                    rendered += 1;
                }
            }
        }
        rendered
    }

    /// Templates see only declared params (the resolver refuses others), so each must render
    /// both when a request gives only the required ones and when it gives all of them; the
    /// environment is strict, so reading an undeclared param fails here.
    #[test]
    fn every_reference_template_renders_to_kubernetes_objects_in_every_environment() {
        let p = load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        for env in ["dev", "staging", "prod"] {
            assert!(
                render_all(&p, env, params_minimal) >= 10,
                "too few objects in {env}"
            );
            assert!(
                render_all(&p, env, params_full) >= 10,
                "too few objects in {env}"
            );
        }
    }

    #[test]
    fn a_template_reading_an_undeclared_param_fails_the_render_test() {
        let mut p = load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        let redis = p
            .provisioners
            .iter_mut()
            .find(|p| p.resource_type == "redis")
            .expect("redis");
        redis.params.remove("memory");
        if let Some(d) = redis.defaults.as_object_mut() {
            d.remove("memory");
        }
        let failed = std::panic::catch_unwind(|| render_all(&p, "dev", params_full));
        assert!(failed.is_err(), "reading resource.params.memory must fail");
    }

    #[test]
    fn route_template_follows_the_cluster_route_kind() {
        let p = load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        let mut jinja = minijinja::Environment::new();
        jinja.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let src = &p.templates["platc/route/route.yaml.j2"];
        let route = p
            .provisioners
            .iter()
            .find(|p| p.resource_type == "route")
            .expect("route");
        for (env, kind, host_path) in [
            ("dev", "Ingress", "/spec/rules/0/host"),
            ("prod", "HTTPRoute", "/spec/hostnames/0"),
        ] {
            let out = jinja
                .render_str(
                    src,
                    minijinja::Value::from(minijinja::value::Serde(sample_context(
                        &p,
                        env,
                        "route",
                        &route_params(route),
                    ))),
                )
                .expect("render");
            let doc = &parse_yaml_stream(&out).expect("yaml")[0];
            assert_eq!(doc["kind"], json!(kind));
            assert_eq!(doc.pointer(host_path), Some(&json!("shop.example.com")));
        }
        // Without a host param the route gets `<workload>-<env>.<domain>`.
        let out = jinja
            .render_str(
                src,
                minijinja::Value::from(minijinja::value::Serde(sample_context(
                    &p,
                    "prod",
                    "route",
                    &json!({"path": "/", "port": 80}),
                ))),
            )
            .expect("render");
        assert!(out.contains("\"checkout-prod.example.com\""), "{out}");
    }

    #[test]
    fn postgres_size_follows_the_environment_type() {
        let p = load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        let mut jinja = minijinja::Environment::new();
        jinja.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let src = &p.templates["platc/postgres/cnpg-cluster.yaml.j2"];
        let instances = |env: &str, name: &str| {
            let prov = p
                .provisioners
                .iter()
                .find(|p| p.name == name)
                .expect("provisioner");
            let out = jinja
                .render_str(
                    src,
                    minijinja::Value::from(minijinja::value::Serde(sample_context(
                        &p,
                        env,
                        "postgres",
                        &params_minimal(prov),
                    ))),
                )
                .expect("render");
            let doc = parse_yaml_stream(&out).expect("yaml").remove(0);
            assert_eq!(
                doc["spec"]["bootstrap"]["initdb"]["database"],
                json!("orders_db")
            );
            doc["spec"]["instances"].clone()
        };
        assert_eq!(instances("dev", "postgres-small"), json!("1"));
        assert_eq!(instances("prod", "postgres-ha"), json!("3"));
    }
}
