//! A failed Nickel evaluation as a diagnostic for the platform engineer: located in their own
//! file rather than the stdlib, the contract's message on one line, a suggestion for a
//! misspelled field, and Nickel's report with machine-specific paths removed.

use nickel_lang_core::error::report::{ColorOpt, report_as_str};
use nickel_lang_core::error::{
    Diagnostic as NickelDiagnostic, Error as NickelError, IntoDiagnostics, LabelStyle,
};
use nickel_lang_core::files::{FileId, Files};
use std::path::Path;

use crate::diag::{Code, Diagnostic, Diagnostics, Span, did_you_mean};
use crate::stdlib;

use super::evaluator::{ENTRY_FILE, STDLIB_DIR, STDLIB_DISPLAY};
use super::sandbox::is_ident_byte;
use super::workspace::{Workspace, line_col};

/// Turn a Nickel error into diagnostics located at the primary label.
pub(super) fn nickel_error(ws: &Workspace, files: &Files, err: NickelError) -> Diagnostics {
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
        return redacted(
            Diagnostic::error(code, None, "Nickel evaluation failed").with_note(report),
        )
        .into();
    };
    let mut span = best_span(ws, &files_for_diags, first);
    let message = one_line_message(ws, first);
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
    redacted(d).into()
}

/// Where the error is best shown, among the diagnostic's labels.
fn best_span(ws: &Workspace, files: &Files, first: &NickelDiagnostic<FileId>) -> Option<Span> {
    // The platform engineer's own file first: a whole-record contract (a provisioner's params
    // against its defaults) has its primary label on the contract in the stdlib, and the value
    // that broke it as a secondary one.
    // The generated entry is shown as `platform/main.ncl` (its contract applies to main.ncl's
    // value), but a position in its text is none in main.ncl's (found by fuzzing: a label at
    // 1:18 of a one-line main.ncl of 16 characters): main.ncl as a whole instead.
    let entry = ws.root().join("platform").join(ENTRY_FILE);
    let spans: Vec<(bool, bool, Span)> = first
        .labels
        .iter()
        .filter_map(|l| {
            let name = files.name(l.file_id);
            let display = ws.display_name(name)?;
            let primary = l.style == LabelStyle::Primary;
            if Path::new(name) == entry {
                return Some((primary, true, Span::file(display)));
            }
            let src = files.source(l.file_id);
            let (line, col) = line_col(src, l.range.start);
            Some((primary, false, Span::new(display, line, col)))
        })
        .collect();
    // Workspace before stdlib, a real file before the entry, then primary before secondary;
    // the first of the best rank.
    spans
        .iter()
        .min_by_key(|(primary, in_entry, s)| (s.file.starts_with("<stdlib>"), *in_entry, !primary))
        .map(|(_, _, s)| s.clone())
}

/// The diagnostic's message on one line, without this machine's paths.
fn one_line_message(ws: &Workspace, first: &NickelDiagnostic<FileId>) -> String {
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
    clean_report(ws, &message)
}

/// Nickel's message and report quote the platform's source lines: a credential written there
/// (it is in Git already) must still not reach a CI log through an error.
fn redacted(mut d: Diagnostic) -> Diagnostic {
    let redact = |s: &mut String| {
        if let std::borrow::Cow::Owned(r) = crate::redact::redact_text(s) {
            *s = r;
        }
    };
    redact(&mut d.message);
    d.help.iter_mut().for_each(redact);
    d.notes.iter_mut().for_each(redact);
    d
}

/// `extra field `x`` in a Nickel record-contract message.
pub(super) fn extra_field(message: &str) -> Option<&str> {
    let rest = &message[message.find("extra field `")? + "extra field `".len()..];
    Some(&rest[..rest.find('`')?])
}

/// The position of `field =` (or `field |`) at or after `from` in a workspace file.
pub(super) fn field_span(ws: &Workspace, from: &Span, field: &str) -> Option<Span> {
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
pub(super) fn stdlib_field_names() -> Vec<String> {
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
pub(super) fn clean_report(ws: &Workspace, report: &str) -> String {
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

pub(super) fn is_blame(e: &nickel_lang_core::error::EvalError) -> bool {
    matches!(
        e.error,
        nickel_lang_core::error::EvalErrorKind::BlameError { .. }
    )
}

#[cfg(test)]
mod tests {
    use crate::diag::{Code, Span};
    use crate::load::platform::load_platform;
    use crate::load::platform::tests::{minimal, only, workspace};

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
    fn a_main_that_is_no_record_is_located_in_main_not_in_the_generated_entry() {
        // Found by fuzzing: the contract's label is in the generated entry (column 18 of its
        // one line), which was reported as that position of main.ncl.
        let ws = workspace("\"stolen-secrlue\"\n", &[]);
        let err = load_platform(ws.path()).expect_err("must fail");
        let d = &err.0[0];
        assert_eq!(d.code, Code::ContractViolation);
        assert_eq!(d.span, Some(Span::new("platform/main.ncl", 1, 1)), "{d:?}");
    }
}
