//! Workload text: a Score file's bytes through decoding and the loader, and placeholder strings
//! through the lexer and the resolver.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::{check_errors, check_span};
use crate::diag::{Code, Span, Spanned};
use crate::load::score::{Piece, parse_workload, split_placeholders};
use crate::resolve::placeholders::{Output, Scope, Seg, resolve};
use crate::yaml::Node;

const FILE: &str = "workloads/fuzz/score.yaml";

/// `score`: bytes → [`crate::yaml::text::decode`] → [`parse_workload`]. A refused encoding is
/// an `Encoding` error naming the file; a parse error is located inside the input; a workload
/// read has its name and every node of its metadata located inside the input, and reading the
/// same text again gives the same workload.
pub fn score(data: &[u8]) {
    let text = match crate::yaml::text::decode(FILE, data.to_vec()) {
        Ok(t) => t,
        Err(d) => {
            assert_eq!(d.code, Code::Encoding, "{d:?}");
            assert_eq!(d.span.as_ref().map(|s| &*s.file), Some(FILE), "{d:?}");
            return;
        }
    };
    let w = match parse_workload(FILE, &text, &mut read_source) {
        Ok(w) => w,
        Err(diags) => return check_errors(&diags, FILE, &text),
    };
    check_span(&w.name.span, FILE, &text);
    assert!(!w.name.value.is_empty(), "a workload without a name");
    check_node_spans(&w.metadata, &text);
    for c in w.containers.values() {
        check_span(&c.name.span, FILE, &text);
        check_span(&c.image.span, FILE, &text);
    }
    let again = parse_workload(FILE, &text, &mut read_source);
    assert_eq!(again.as_ref(), Ok(&w), "the same text read twice differs");
}

/// A `files.*.source` reader without a file system: some names exist, others do not.
fn read_source(written: &str) -> Result<String, String> {
    if written.contains("missing") {
        Err(format!("cannot read `{written}`: not found"))
    } else {
        Ok(format!("contents of {written}\n${{metadata.name}}\n"))
    }
}

fn check_node_spans(node: &Node, text: &str) {
    use crate::yaml::NodeKind;
    check_span(&node.span, FILE, text);
    match &node.kind {
        NodeKind::Seq(items) => items.iter().for_each(|n| check_node_spans(n, text)),
        NodeKind::Map(entries) => entries.iter().for_each(|(k, v)| {
            check_span(&k.span, FILE, text);
            check_node_spans(v, text);
        }),
        NodeKind::Null | NodeKind::Scalar { .. } => {}
    }
}

/// `placeholders`: a string through [`split_placeholders`] and the resolver's evaluation
/// against a fixed scope. Lexing: pieces are never empty or two texts in a row, every offset is
/// a `${` of the input in increasing order, and writing the pieces back with Score's escapes
/// lexes to the same pieces. Resolving: errors are at the string's span; secrets come only from
/// secret outputs, and text next to text is merged.
pub fn placeholders(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let lexed = split_placeholders(s);
    if let Ok(pieces) = &lexed {
        check_pieces(s, pieces);
        let written = write_pieces(pieces);
        let again = split_placeholders(&written)
            .unwrap_or_else(|e| panic!("{written:?} (written back from {s:?}) fails: {e}"));
        assert_eq!(
            strip_offsets(&again),
            strip_offsets(pieces),
            "{s:?} → {written:?}"
        );
    }
    check_resolve(s, lexed.is_ok());
}

fn check_pieces(s: &str, pieces: &[Piece]) {
    let mut last_offset = None;
    for (i, p) in pieces.iter().enumerate() {
        match p {
            Piece::Text(t) => {
                assert!(!t.is_empty(), "an empty text piece in {s:?}");
                let next_is_text = matches!(pieces.get(i + 1), Some(Piece::Text(_)));
                assert!(!next_is_text, "two text pieces in a row in {s:?}");
            }
            Piece::Placeholder { path, offset } => {
                assert!(
                    s.get(*offset..).is_some_and(|r| r.starts_with("${")),
                    "{s:?} at {offset}"
                );
                assert!(last_offset < Some(*offset), "offsets out of order in {s:?}");
                assert!(
                    path.iter().all(|seg| !seg.is_empty()),
                    "an empty segment in {s:?}"
                );
                last_offset = Some(*offset);
            }
        }
    }
}

/// Pieces as Score text: `$` doubled in text, `.` escaped inside a segment.
fn write_pieces(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(&t.replace('$', "$$")),
            Piece::Placeholder { path, .. } => {
                let segs: Vec<String> = path.iter().map(|s| s.replace('.', "\\.")).collect();
                out.push_str("${");
                out.push_str(&segs.join("."));
                out.push('}');
            }
        }
    }
    out
}

fn strip_offsets(pieces: &[Piece]) -> Vec<Piece> {
    let strip = |p: &Piece| match p {
        Piece::Placeholder { path, .. } => Piece::Placeholder {
            path: path.clone(),
            offset: 0,
        },
        text => text.clone(),
    };
    pieces.iter().map(strip).collect()
}

/// What [`check_resolve`]'s placeholders see: the metadata and resources of one workload, made
/// once per process (parsing the metadata each time was most of the target's time).
struct Fixture {
    metadata: Node,
    resources: BTreeMap<String, (String, BTreeMap<String, Output>)>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let metadata = crate::yaml::read::parse(
            "meta.yaml",
            "name: api\nannotations:\n  team: payments\nlabels: {tier: web}\n",
        )
        .unwrap_or_else(|d| panic!("the fixed metadata parses: {d}"));
        let outputs: BTreeMap<String, Output> = [
            ("host".to_string(), Output::Plain("db.example".into())),
            ("port".to_string(), Output::Plain("5432".into())),
            ("password".to_string(), secret("db-creds", "password")),
        ]
        .into();
        let resources = BTreeMap::from([("db".to_string(), ("db-x1".to_string(), outputs))]);
        Fixture {
            metadata,
            resources,
        }
    })
}

fn check_resolve(s: &str, lexes: bool) {
    let fixture = fixture();
    let declared = ["db".to_string(), "cache".to_string()];
    let failed = ["cache".to_string()];
    let scope = Scope {
        workload: "api",
        metadata: &fixture.metadata,
        resources: &fixture.resources,
        declared: &declared,
        failed: &failed,
    };
    let span = Span::new("workloads/fuzz/score.yaml", 3, 7);
    match resolve(&Spanned::new(s.to_string(), span.clone()), &scope) {
        Ok(segs) => {
            assert!(lexes, "{s:?} resolves but does not lex");
            for pair in segs.windows(2) {
                assert!(
                    !matches!(pair, [Seg::Text(_), Seg::Text(_)]),
                    "unmerged text for {s:?}"
                );
            }
            for seg in &segs {
                if let Seg::Secret { secret, key, .. } = seg {
                    assert_eq!((secret.as_str(), key.as_str()), ("db-creds", "password"));
                }
            }
        }
        Err(d) => assert_eq!(d.span.as_ref(), Some(&span), "{d:?}"),
    }
}

fn secret(secret: &str, key: &str) -> Output {
    Output::Secret {
        secret: secret.into(),
        key: key.into(),
    }
}
