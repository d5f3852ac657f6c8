//! The sandbox: every file an evaluation read must be in the workspace or the stdlib.
//!
//! After evaluation (successful or not) every file the program read is checked: a file outside
//! the workspace root (after resolving `..` and symlinks) fails the whole load with
//! `SandboxEscape`, and nothing else from that evaluation (value or Nickel error, which could
//! quote the file) is returned.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use nickel_lang_core::files::Files;

use crate::diag::{Code, Diagnostic, Diagnostics, Span};

use super::evaluator::{ENTRY_FILE, STDLIB_DIR, STDLIB_DISPLAY};
use super::workspace::{Workspace, line_col, normalize, slash_path};

/// How Nickel names one loaded file, sorted into what the sandbox and `sources` need.
pub(super) enum LoadedFile {
    /// Nickel's own stdlib, generated sources, the entry: not ours to report.
    Internal,
    Stdlib(String),
    Workspace(String),
    Outside(PathBuf),
}

pub(super) fn classify(ws: &Workspace, name: &OsStr) -> LoadedFile {
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

/// Every file the evaluation read must be in the workspace or the stdlib. Returns the sorted
/// display names of the files read.
pub(super) fn check_sandbox(ws: &Workspace, files: &Files) -> Result<Vec<String>, Diagnostics> {
    let mut sources = Vec::new();
    let mut escaped = Vec::new();
    let mut rendered = Vec::new();
    for name in files.filenames() {
        match classify(ws, name) {
            LoadedFile::Internal => {}
            LoadedFile::Workspace(s) if in_output(ws, &s) => {
                rendered.push((PathBuf::from(name), s))
            }
            LoadedFile::Stdlib(s) | LoadedFile::Workspace(s) => sources.push(s),
            LoadedFile::Outside(p) => escaped.push(p),
        }
    }
    sources.sort();
    sources.dedup();
    if escaped.is_empty() && rendered.is_empty() {
        return Ok(sources);
    }
    escaped.sort();
    escaped.dedup();
    let mut diags = Diagnostics::new();
    for (path, display) in rendered {
        diags.push(
            Diagnostic::error(
                Code::SandboxEscape,
                find_importer(ws, files, &path),
                format!("the platform imports `{display}`, which is inside platc's output directory"),
            )
            .with_help("the output is rendered from the platform, so the platform cannot read it: import the source it was rendered from"),
        );
    }
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

/// Whether a workspace file is below a directory platc writes (one holding its ownership index):
/// reading it would make a build's output depend on the last one.
fn in_output(ws: &Workspace, rel: &str) -> bool {
    let Workspace::Disk(root) = ws else {
        return false;
    };
    Path::new(rel)
        .ancestors()
        .skip(1)
        .filter(|dir| !dir.as_os_str().is_empty())
        .any(|dir| root.join(dir).join(".platc/index.json").is_file())
}

/// The `import "..."` in a workspace file that resolves to `target`, for pointing at it.
pub(super) fn find_importer(ws: &Workspace, files: &Files, target: &Path) -> Option<Span> {
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
pub(super) fn import_literals(src: &str) -> Vec<(usize, String)> {
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

pub(super) fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'\''
}

#[cfg(test)]
mod tests {
    use crate::diag::{Code, Span};
    use crate::load::platform::load_platform;
    use crate::load::platform::tests::{minimal, only, workspace};

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
}
