//! Sets up nickel-lang-core and evaluates a generated entry over the platform.
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use nickel_lang_core::error::Error as NickelError;
use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::files::{FileId, Files};
use nickel_lang_core::program::{FieldPath, Program, ProgramBuilder};
use nickel_lang_core::serialize::{ExportFormat, validate};

use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use crate::stdlib;

use super::nickel_errors::nickel_error;
use super::sandbox::{LoadedFile, check_sandbox, classify};
use super::workspace::Workspace;

/// Virtual directory of the embedded stdlib (see the module documentation).
pub(super) const STDLIB_DIR: &str = "/<platc-stdlib>";
/// Name of the generated entry file inside `platform/`; never a real file.
pub(super) const ENTRY_FILE: &str = "<platc-entry>.ncl";
/// The field of the entry that holds the platform.
pub(super) const ENTRY_FIELD: &str = "platc_entry_";
pub(super) use crate::stdlib::DISPLAY as STDLIB_DISPLAY;

/// What an evaluation gave: the exported value, the display names of the files it read, and the
/// content hashes of the workspace files' text as it read them.
pub(super) struct Evaluated {
    pub(super) json: serde_json::Value,
    pub(super) sources: Vec<String>,
    pub(super) read: BTreeMap<String, String>,
    /// Where each value was written (see `positions`).
    pub(super) positions: super::positions::Positions,
}

/// How long an evaluation may take before platc gives up on it. The reference platform takes
/// well under a second; only a platform that does not terminate comes near this.
pub const EVAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Overrides [`EVAL_TIMEOUT`] (whole seconds): for a very large platform on a slow machine, and
/// for tests of the limit.
pub const EVAL_TIMEOUT_VAR: &str = "PLATC_EVAL_TIMEOUT_SECS";
/// The evaluating thread's stack: nickel-lang-core recurses over nested values (a debug build
/// overflowed 64 MiB at 5,000 levels). Address space only: pages are committed as they are used.
/// Literal nesting is refused before evaluation (`nesting.rs`); this is headroom for nesting a
/// platform computes.
const EVAL_STACK_BYTES: usize = 256 * 1024 * 1024;

/// What an evaluation is for: its time limit and how its timeout is told.
#[derive(Clone, Copy)]
pub(super) enum Purpose {
    Platform,
    /// The platform's Nickel policies over every workload (`platc check`): work grows with the
    /// workspace (thousands of workloads), so ten times the platform's limit, and the platform
    /// itself has already been evaluated within its own.
    Policies,
}

impl Purpose {
    fn timeout(self) -> Duration {
        let set = std::env::var(EVAL_TIMEOUT_VAR)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|s| *s > 0)
            .map(Duration::from_secs);
        match (set, self) {
            (Some(d), _) => d,
            (None, Purpose::Platform) => EVAL_TIMEOUT,
            (None, Purpose::Policies) => EVAL_TIMEOUT * 10,
        }
    }

    fn timed_out(self, limit: Duration) -> Diagnostic {
        let what = match self {
            Purpose::Platform => "the platform did not finish evaluating",
            Purpose::Policies => "the platform's policies did not finish evaluating",
        };
        Diagnostic::error(
            Code::Timeout,
            Some(Span::file("platform/main.ncl")),
            format!("{what} within {} s", limit.as_secs()),
        )
        .with_note("an evaluation that does not end is usually a recursive function without a base case (`let rec f = fun x => f x`) or a field defined in terms of itself")
        .with_help(format!(
            "look for recursion in `platform/main.ncl` and the files it imports; a platform that is only slow can be given longer with {EVAL_TIMEOUT_VAR}=<seconds>"
        ))
    }
}

/// Evaluations whose thread has not finished, those given up on after their time limit included.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Evaluations this process has started.
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// Nickel evaluations this process has started. nickel-lang-core keeps part of every
/// evaluation's memory until the process exits (reference cycles in recursive records, its
/// issue #1908: about 3 MB for the reference platform), so a long-lived process counts them to
/// bound what it holds (`platc build --watch` starts itself afresh after a number of them).
pub fn evaluations_started() -> usize {
    STARTED.load(Ordering::SeqCst)
}

/// Nickel evaluations still running on their threads. Between builds any is one that was given
/// up on after its time limit: it keeps a core busy and may grow without bound until the process
/// exits, so a watching process must end (`platc build --watch` does, saying why).
pub fn evaluations_running() -> usize {
    RUNNING.load(Ordering::SeqCst)
}

/// Evaluates a generated entry file (a record whose field [`ENTRY_FIELD`] is the result) living
/// virtually in `platform/`, with the stdlib importable; returns the exported value and the
/// display names of the files read.
///
/// nickel-lang-core cannot be interrupted, so the evaluation runs on its own thread and a
/// platform that does not terminate is reported after [`Purpose::timeout`] with that thread left
/// behind: every caller ends the process on the error, `--watch` too (see
/// [`evaluations_running`]).
pub(super) fn evaluate_entry(
    ws: &Workspace,
    embedded: &'static [(&'static str, &'static str)],
    entry: String,
    purpose: Purpose,
) -> Result<Evaluated, Diagnostics> {
    let limit = purpose.timeout();
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = ws.clone();
    let thread_entry = entry.clone();
    STARTED.fetch_add(1, Ordering::SeqCst);
    RUNNING.fetch_add(1, Ordering::SeqCst);
    let spawned = std::thread::Builder::new()
        .name("platc-nickel".into())
        .stack_size(EVAL_STACK_BYTES)
        .spawn(move || {
            let result = evaluate_contained(&owned, embedded, thread_entry);
            RUNNING.fetch_sub(1, Ordering::SeqCst);
            // The receiver may have given up: nothing to tell it then.
            let _ = tx.send(result);
        });
    if spawned.is_err() {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        return evaluate_contained(ws, embedded, entry);
    }
    match rx.recv_timeout(limit) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => Err(purpose.timed_out(limit).into()),
        Err(RecvTimeoutError::Disconnected) => Err(Diagnostic::error(
            Code::Internal,
            Some(Span::file("platform/main.ncl")),
            "the Nickel evaluator stopped without a result",
        )
        .into()),
    }
}

thread_local! {
    /// Set on a thread while it evaluates under `catch_unwind`.
    static CONTAINING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a panic on this thread is one the evaluator turns into a diagnostic, so that a panic
/// hook need not report it as a crash.
pub fn panic_is_contained() -> bool {
    CONTAINING.with(|c| c.get())
}

fn evaluate_contained(
    ws: &Workspace,
    embedded: &[(&str, &str)],
    entry: String,
) -> Result<Evaluated, Diagnostics> {
    // nickel-lang-core 0.19 can fail an internal assertion on some inputs (a `{ .. }` contract over
    // nested JSON imported from a file, for one); a platform engineer must get an error that says
    // where to look, not a crash.
    CONTAINING.with(|c| c.set(true));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        evaluate_entry_unguarded(ws, embedded, entry)
    }));
    CONTAINING.with(|c| c.set(false));
    caught.unwrap_or_else(|payload| {
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

pub(super) fn evaluate_entry_unguarded(
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
    // Every later stage recurses over the value on an ordinary stack (and dropping it recurses
    // too): a value a platform computed thousands of levels deep stops here, on this thread.
    if let Some(field) = too_deep_field(&json) {
        return Err(Diagnostic::error(
            Code::TooLarge,
            Some(Span::file("platform/main.ncl")),
            format!(
                "the platform's field `{field}` is nested more than {} levels deep",
                super::nesting::MAX_NICKEL_NESTING
            ),
        )
        .with_help("flatten the value: if a recursive function builds it, look for one that nests records or arrays inside each other; if it is imported (YAML, JSON), the file is generated or hostile")
        .into());
    }
    let read = read_hashes(ws, &files);
    let positions = super::positions::collect(ws, &files, program.pos_table(), &value);
    drop(value);
    drop(program);
    Ok(Evaluated {
        json,
        sources,
        read,
        positions,
    })
}

/// The first top-level field of the exported platform nested past the limit, found without
/// recursion.
fn too_deep_field(json: &serde_json::Value) -> Option<String> {
    let limit = super::nesting::MAX_NICKEL_NESTING;
    let fields = json.as_object()?;
    fields.iter().find_map(|(name, value)| {
        let mut stack = vec![(value, 1usize)];
        while let Some((v, depth)) = stack.pop() {
            if depth > limit {
                return Some(name.clone());
            }
            match v {
                serde_json::Value::Array(a) => stack.extend(a.iter().map(|x| (x, depth + 1))),
                serde_json::Value::Object(m) => stack.extend(m.values().map(|x| (x, depth + 1))),
                _ => {}
            }
        }
        None
    })
}

/// Content hashes of the workspace files the evaluation read, from the text it parsed.
fn read_hashes(ws: &Workspace, files: &Files) -> BTreeMap<String, String> {
    (0..files.filenames().count())
        .filter_map(|i| {
            // `FileId` has no public constructor; ids are the positions `filenames` lists.
            let id: FileId = serde_json::from_value(serde_json::json!(i)).ok()?;
            match classify(ws, files.name(id)) {
                LoadedFile::Workspace(name) => Some((
                    name,
                    crate::digest::content_hash(files.source(id).as_bytes()),
                )),
                _ => None,
            }
        })
        .collect()
}
