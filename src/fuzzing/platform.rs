//! The platform loader with hostile Nickel, and workload values flowing into the reference
//! platform's provisioner templates.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::{check_errors, only_warnings};
use crate::diag::Code;
use crate::model::Platform;
use crate::pipeline::{Options, compile_loaded};
use crate::render::Body;

const MAIN: &str = "platform/main.ncl";

/// `platform`: bytes as `platform/main.ncl` of a workspace of nothing else, through
/// [`crate::load::platform::load_platform`] (nesting check, sandbox, the evaluator on its own
/// thread with its time limit, conversion). Errors are located inside the input when they
/// point into it and are never `Internal`. Evaluations that do not end are stopped by
/// `PLATC_EVAL_TIMEOUT_SECS` (the fuzz script sets 1 second).
pub fn platform(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let root = scratch_workspace();
    let main = root.join(MAIN);
    if let Err(e) = std::fs::write(&main, text) {
        panic!("cannot write {}: {e}", main.display());
    }
    match crate::load::platform::load_platform(root) {
        Ok(p) => assert!(
            !p.environments.is_empty(),
            "a platform without environments"
        ),
        Err(diags) => {
            check_errors(&diags, MAIN, text);
            for d in &diags.0 {
                assert_ne!(d.code, Code::Internal, "{d:?}");
            }
        }
    }
}

/// A workspace of this process for [`platform`], `<tmp>/platc-fuzz-<pid>/`, holding the
/// reference platform's files but `main.ncl`: a mutated `main.ncl` still imports them, so the
/// fuzzer reaches the contract and the conversion, not only import errors.
fn scratch_workspace() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        sweep_dead_workspaces();
        let root = std::env::temp_dir().join(format!("platc-fuzz-{}", std::process::id()));
        for (rel, text) in crate::load::platform::reference_files() {
            let path = root.join(rel);
            let written = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&path, text));
            if let Err(e) = written {
                panic!("cannot write {}: {e}", path.display());
            }
        }
        root
    })
}

/// A process cannot remove its workspace as it exits (a fuzzer is killed, a test binary ends
/// with it still shared), so each new one removes those of processes that are gone.
fn sweep_dead_workspaces() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix("platc-fuzz-"))
            .and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| p != std::process::id() && !crate::maker::maker_alive(p, &e.path()))
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The reference platform, evaluated once per process.
fn reference() -> &'static Platform {
    static PLATFORM: OnceLock<Platform> = OnceLock::new();
    PLATFORM.get_or_init(|| {
        crate::load::platform::load_embedded_platform()
            .unwrap_or_else(|d| panic!("the reference platform loads: {d}"))
    })
}

/// `template`: bytes as a Score workload compiled with the reference platform, so its values
/// (resource types, classes, params, variables, files) flow through resolve into the
/// provisioners' minijinja templates and every plane's renderer. The workload's errors are
/// located inside it; compiling either succeeds with every rendered YAML file readable as
/// YAML, or fails with diagnostics that are never `Internal`.
pub fn template(data: &[u8]) {
    const FILE: &str = "workloads/fuzz/score.yaml";
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut read_source = |w: &str| Ok::<String, String>(format!("file {w}\n"));
    let workload = match crate::load::score::parse_workload(FILE, text, &mut read_source) {
        Ok(w) => w,
        Err(diags) => return check_errors(&diags, FILE, text),
    };
    let opts = Options {
        threads: rayon::current_num_threads(),
        ..Options::default()
    };
    match compile_loaded(reference().clone(), vec![workload], &opts) {
        Ok(comp) => {
            for o in comp.objects() {
                if let Body::Text(_) = o.body {
                    continue;
                }
                let bytes = o.bytes();
                let yaml = std::str::from_utf8(&bytes)
                    .unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", o.path));
                if let Err(d) = crate::yaml::read::parse_stream(&o.path, yaml) {
                    panic!("{} does not read as YAML: {d}\n{yaml}", o.path);
                }
            }
        }
        Err(diags) => {
            assert!(!only_warnings(&diags), "{diags:?}");
            check_errors(&diags, FILE, text);
            for d in &diags.0 {
                assert_ne!(d.code, Code::Internal, "{d:?}");
            }
        }
    }
}
