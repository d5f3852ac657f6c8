//! Where each value of the evaluated platform was written, from the positions nickel-lang-core
//! keeps on values and record fields: `environments.prod.cluster` → `platform/main.ncl:12:17`.
//!
//! A value's own position is taken when the evaluator kept it (the literal or expression that
//! made it, wherever a merge or a contract default brought it from); otherwise the position of
//! the field's name in the record that defined it. Paths are written in `fieldpath`'s format.

use std::collections::BTreeMap;

use nickel_lang_core::eval::value::NickelValue;
use nickel_lang_core::files::Files;
use nickel_lang_core::position::{PosTable, RawSpan, TermPos};

use super::sandbox::{LoadedFile, classify};
use super::workspace::Workspace;
use crate::diag::Span;

pub use crate::model::Positions;

/// The positions of every record field and array item below `value`.
pub(super) fn collect(
    ws: &Workspace,
    files: &Files,
    table: &PosTable,
    value: &NickelValue,
) -> Positions {
    let mut out = BTreeMap::new();
    let cx = Cx { ws, files, table };
    cx.walk("", value, &mut out);
    Positions(out)
}

struct Cx<'a> {
    ws: &'a Workspace,
    files: &'a Files,
    table: &'a PosTable,
}

impl Cx<'_> {
    fn span(&self, raw: RawSpan) -> Option<Span> {
        let name = match classify(self.ws, self.files.name(raw.src_id)) {
            LoadedFile::Workspace(n) | LoadedFile::Stdlib(n) => n,
            _ => return None,
        };
        let loc = self.files.location(raw.src_id, raw.start).ok()?;
        Some(Span::new(
            name,
            loc.line.to_usize() as u32 + 1,
            loc.column.to_usize() as u32 + 1,
        ))
    }

    fn pos(&self, pos: TermPos) -> Option<Span> {
        match pos {
            TermPos::Original(raw) | TermPos::Inherited(raw) => self.span(raw),
            TermPos::None => None,
        }
    }

    fn walk(&self, path: &str, value: &NickelValue, out: &mut BTreeMap<String, Span>) {
        if let Some(record) = value.as_record().and_then(|c| c.into_opt()) {
            for (name, field) in &record.fields {
                let Some(v) = &field.value else { continue };
                let child = crate::fieldpath::key(path, name.label());
                let at = self.pos(v.pos(self.table)).or_else(|| self.pos(name.pos));
                if let Some(at) = at {
                    out.insert(child.clone(), at);
                }
                self.walk(&child, v, out);
            }
        } else if let Some(array) = value.as_array() {
            for (i, v) in array.iter().enumerate() {
                let child = crate::fieldpath::index(path, i);
                if let Some(at) = self.pos(v.pos(self.table)) {
                    out.insert(child.clone(), at);
                }
                self.walk(&child, v, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::repo_root;
    use super::super::{load_embedded_platform, load_platform, load_platform_in};
    use crate::diag::Span;
    use crate::model::Platform;

    /// The text of the repository's file at a span, to the end of its line.
    fn text_at(span: &Span) -> String {
        let text = std::fs::read_to_string(repo_root().join(&*span.file)).expect("read");
        let line = text.lines().nth(span.line as usize - 1).expect("line");
        line.chars().skip(span.col as usize - 1).collect()
    }

    fn at(p: &Platform, path: &str) -> Span {
        p.positions
            .0
            .get(path)
            .unwrap_or_else(|| panic!("no position for {path}"))
            .clone()
    }

    #[test]
    fn values_point_at_where_they_are_written() {
        let p = load_platform(&repo_root()).unwrap_or_else(|d| panic!("{d}"));
        let replicas = at(&p, "environments.prod.overrides.replicas");
        assert_eq!(&*replicas.file, "platform/environments.ncl");
        assert!(text_at(&replicas).starts_with("2,"), "{replicas}");
        let limit = at(
            &p,
            "environments.prod.profile_overrides.web.resources.limits.memory",
        );
        assert!(text_at(&limit).starts_with("\"512Mi\""), "{limit}");
        let web = at(&p, "profiles.web.replicas");
        assert_eq!(&*web.file, "platform/profiles.ncl");
        // A field the platform leaves out gets the stdlib contract's default, and says so.
        let labels = at(&p, "environments.dev.labels");
        assert!(labels.file.starts_with("<stdlib>/"), "{labels}");

        // Every number written in the workspace is found where its position says.
        let json = serde_json::to_value(&p).expect("json");
        let mut numbers = 0;
        for (path, span) in &p.positions.0 {
            if span.file.starts_with('<') {
                continue;
            }
            let Ok(sels) = crate::fieldpath::parse(path) else {
                panic!("{path} is not a field path");
            };
            let mut v = &json;
            for s in &sels {
                v = match s {
                    crate::fieldpath::Sel::Key(k) => &v[k.as_str()],
                    crate::fieldpath::Sel::Bracket(b) => match b.parse::<usize>() {
                        Ok(i) if v.is_array() => &v[i],
                        _ => &v[b.trim_matches('"')],
                    },
                };
            }
            if let Some(n) = v.as_number() {
                numbers += 1;
                assert!(
                    text_at(span).starts_with(&n.to_string()),
                    "{path} = {n} is not at {span}: {}",
                    text_at(span)
                );
            }
        }
        assert!(numbers > 20, "only {numbers} numbers checked");
    }

    #[test]
    fn the_embedded_platform_and_a_kept_evaluation_give_the_same_positions() {
        let disk = load_platform(&repo_root()).unwrap_or_else(|d| panic!("{d}"));
        let embedded = load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(disk.positions, embedded.positions);

        let ws = tempfile::tempdir().expect("tempdir");
        for (rel, text) in super::super::reference_files() {
            let path = ws.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let fresh = load_platform_in(ws.path(), true).unwrap_or_else(|d| panic!("{d}"));
        let kept = load_platform_in(ws.path(), true).unwrap_or_else(|d| panic!("{d}"));
        assert!(!fresh.positions.0.is_empty());
        assert_eq!(fresh.positions, kept.positions);
        assert_eq!(fresh.positions, disk.positions);
    }
}
