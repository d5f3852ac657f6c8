//! The platform's templates (the stdlib's, then the workspace's `platform/templates/`) and the
//! check that every template a provisioner names exists.

use std::collections::BTreeMap;
use std::path::Path;

use crate::diag::{Code, Diagnostic, Diagnostics, Span, did_you_mean};
use crate::model::Platform;
use crate::stdlib;

use super::evaluator::STDLIB_DISPLAY;
use super::workspace::{Workspace, line_col, slash_path};

pub(super) fn stdlib_templates() -> BTreeMap<String, String> {
    stdlib::TEMPLATES
        .iter()
        .map(|(n, s)| ((*n).to_string(), (*s).to_string()))
        .collect()
}

/// Every file under `<root>/platform/templates/`, named by its path relative to `platform/`.
pub(super) fn read_platform_templates(
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
pub(super) fn check_manifests(platform: &Platform, ws: &Workspace) -> Result<(), Diagnostics> {
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
pub(super) fn find_string_literal(ws: &Workspace, sources: &[String], value: &str) -> Option<Span> {
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
pub(super) fn close_names<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str> + Clone,
) -> Vec<&'a str> {
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

#[cfg(test)]
mod tests {
    use crate::diag::{Code, Span};
    use crate::load::platform::load_platform;
    use crate::load::platform::tests::{minimal, only, workspace};

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
}
