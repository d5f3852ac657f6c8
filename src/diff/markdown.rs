//! The pull-request comment: a table of changes, a diff per file and the affected graph, kept
//! under a size budget.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::affected::{Affected, affected_mermaid};
use super::text::unified;
use super::{Change, ChangeKind, Diff};

/// GitHub refuses comments over 65,536 characters; this leaves room for a bot's own header.
pub const MARKDOWN_BUDGET: usize = 60_000;

pub struct MarkdownOptions<'a> {
    /// What was compared with, shown in the heading (`` `HEAD~1` ``, a directory).
    pub against: String,
    /// Total size the comment must stay under.
    pub budget: usize,
    pub graphs: Vec<Affected<'a>>,
}

fn cell(s: Option<&str>) -> String {
    match s {
        Some(s) => s.replace('|', "\\|"),
        None => "—".into(),
    }
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A fence longer than any run of backticks inside `body`.
fn fence(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

fn object_label(c: &Change) -> String {
    match (&c.kind, &c.name) {
        (Some(k), Some(n)) => match &c.namespace {
            Some(ns) => format!("{k} {ns}/{n}"),
            None => format!("{k} {n}"),
        },
        _ => "file".into(),
    }
}

/// A pull-request comment: heading, a table of changes per environment, app and plane, one
/// `<details>` block per file with its diff, and the affected part of each environment's graph.
/// Blocks that do not fit in `budget` are left out and listed in a note.
pub fn to_markdown(diff: &Diff, opts: &MarkdownOptions<'_>) -> String {
    let mut head = format!("### platc diff against {}\n\n", opts.against);
    if diff.is_empty() {
        head.push_str("No changes to the rendered tree.\n");
        return head;
    }
    summary_table(&mut head, diff);
    let graph_part = graph_part(opts);
    let blocks = file_blocks(diff);

    let mut out = head;
    let mut left_out: Vec<&str> = Vec::new();
    for (path, b) in &blocks {
        if left_out.is_empty()
            && out.len() + b.len() + graph_part.len() + NOTE_RESERVE <= opts.budget
        {
            out.push_str(b);
        } else {
            left_out.push(path);
        }
    }
    if !left_out.is_empty() {
        out.push_str(&truncation_note(&left_out));
    }
    out.push_str(&graph_part);
    out
}

/// Room for the note naming what was left out.
const NOTE_RESERVE: usize = 2_000;

/// The counts, then a table of changes per environment, app and plane.
fn summary_table(head: &mut String, diff: &Diff) {
    let s = diff.summary();
    let _ = writeln!(
        head,
        "**{}** changed, **{}** added, **{}** removed in {} file{}.\n",
        s.changed,
        s.added,
        s.removed,
        s.files,
        if s.files == 1 { "" } else { "s" }
    );
    // (environment, app, plane) → added, changed, removed.
    type Row<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);
    let mut rows: BTreeMap<Row<'_>, [usize; 3]> = BTreeMap::new();
    for c in &diff.changes {
        let r = rows
            .entry((
                c.environment.as_deref(),
                c.app.as_deref(),
                c.plane.as_deref(),
            ))
            .or_default();
        r[match c.change {
            ChangeKind::Added => 0,
            ChangeKind::Changed => 1,
            ChangeKind::Removed => 2,
        }] += 1;
    }
    head.push_str(
        "| environment | app | plane | added | changed | removed |\n|---|---|---|--:|--:|--:|\n",
    );
    for ((e, a, p), [ad, ch, rm]) in &rows {
        let _ = writeln!(
            head,
            "| {} | {} | {} | {ad} | {ch} | {rm} |",
            cell(*e),
            cell(*a),
            cell(*p)
        );
    }
    head.push('\n');
}

/// The affected graph of each environment.
fn graph_part(opts: &MarkdownOptions<'_>) -> String {
    let mut graph_part = String::new();
    for g in &opts.graphs {
        if let Some(m) = affected_mermaid(g) {
            let _ = write!(
                graph_part,
                "#### Affected graph: {}\n\n```mermaid\n{m}```\n\n",
                g.env
            );
        }
    }
    // The picture is cheap to keep and says the most; drop it only if it alone is too big.
    if graph_part.len() > opts.budget / 3 {
        graph_part = "#### Affected graph\n\n_Left out: too large for a comment; run `platc graph --format mermaid` locally._\n".into();
    }
    graph_part
}

/// `(path, <details> block)` per differing file, in path order.
fn file_blocks(diff: &Diff) -> Vec<(String, String)> {
    let mut by_path: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for c in &diff.changes {
        by_path.entry(c.path.as_str()).or_default().push(c);
    }
    diff.files
        .iter()
        .map(|f| {
            let changes = by_path.get(f.path.as_str()).cloned().unwrap_or_default();
            let what: Vec<String> = changes
                .iter()
                .map(|c| format!("{} {}", c.change.as_str(), object_label(c)))
                .collect();
            let mut b = format!(
                "<details><summary><code>{}</code>: {}</summary>\n\n",
                html(&f.path),
                html(&what.join(", "))
            );
            let fields: Vec<String> = changes
                .iter()
                .flat_map(|c| c.fields.iter())
                .map(|p| format!("`{}`", p.replace('`', "'")))
                .collect();
            if !fields.is_empty() {
                let _ = writeln!(b, "Changed fields: {}\n", fields.join(", "));
            }
            let body = unified(f);
            let fence = fence(&body);
            let _ = write!(b, "{fence}diff\n{body}");
            if !body.ends_with('\n') {
                b.push('\n');
            }
            let _ = write!(b, "{fence}\n\n</details>\n\n");
            (f.path.clone(), b)
        })
        .collect()
}

/// The note naming the files whose diffs were left out, itself within [`NOTE_RESERVE`].
fn truncation_note(left_out: &[&str]) -> String {
    let mut note = format!(
        "> **Truncated:** the diffs of {} file{} are left out to stay under the comment size limit; run `platc diff` locally for the full diff. Left out: ",
        left_out.len(),
        if left_out.len() == 1 { "" } else { "s" }
    );
    let mut listed = 0;
    for p in left_out {
        if note.len() + p.len() + 40 > NOTE_RESERVE {
            break;
        }
        let _ = write!(note, "{}`{p}`", if listed == 0 { "" } else { ", " });
        listed += 1;
    }
    if listed < left_out.len() {
        let _ = write!(note, " and {} more", left_out.len() - listed);
    }
    note.push_str(".\n\n");
    note
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{Files, diff_trees};

    #[test]
    fn markdown_is_truncated_under_the_budget_with_a_note() {
        let mut old = Files::new();
        let mut new = Files::new();
        for i in 0..50 {
            let p = format!("envs/dev/app{i:02}/configmap-x.yaml");
            let body = |v: &str| {
                format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata:\n{}",
                    (0..40)
                        .map(|j| format!("  k{j}: {v}{j}\n"))
                        .collect::<String>()
                )
            };
            old.insert(p.clone(), body("old").into_bytes());
            new.insert(p, body("new").into_bytes());
        }
        let d = diff_trees(&old, &new);
        let md = to_markdown(
            &d,
            &MarkdownOptions {
                against: "`x`".into(),
                budget: 10_000,
                graphs: Vec::new(),
            },
        );
        assert!(md.len() <= 10_000, "{}", md.len());
        assert!(md.contains("**Truncated:**"), "{md}");
        assert!(md.contains("| dev | app49 | — | 0 | 1 | 0 |"), "{md}");
        assert!(md.contains("<details><summary><code>envs/dev/app00/configmap-x.yaml</code>"));
        assert!(!md.contains("<details><summary><code>envs/dev/app49/"));
    }

    #[test]
    fn fences_outgrow_backticks_in_the_body() {
        assert_eq!(fence("a ``` b"), "````");
        assert_eq!(fence("plain"), "```");
    }
}
