//! YAML text → spanned `Node` tree.
//!
//! Built on the event stream of `saphyr-parser` rather than a ready-made tree so that every node
//! keeps its `file:line:col`, scalars keep the text the author typed (typed readers decide what
//! `0755` or `on` mean), and the dangerous corners of YAML are closed: duplicate keys, unknown
//! tags and alias bombs are errors, never silent last-wins or exhausted memory.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, StrInput, Tag};

use super::node::{Node, NodeKind, Spanned};
use crate::diag::{Code, Diagnostic, Diagnostics, Span};

/// Total nodes one call may produce, counting every node an alias expansion copies.
pub const MAX_NODES: usize = 100_000;
/// Alias expansions one call may perform.
pub const MAX_ALIASES: usize = 1_000;
/// Nesting depth; deeper documents are refused so that recursion (here and in every later
/// consumer of the tree, on rayon's 2 MiB worker stacks in a debug build) cannot exhaust the
/// stack. Kubernetes objects and Score files stay far below it.
pub const MAX_DEPTH: usize = 128;

const CORE_TAG_HANDLE: &str = "tag:yaml.org,2002:";

/// Parses a file that must hold exactly one YAML document. An empty file is a `Null` node.
pub fn parse(file: &str, text: &str) -> Result<Node, Diagnostics> {
    let mut reader = Reader::new(file, text);
    let result = reader.documents(Some(1));
    let docs = reader.finish(result)?;
    Ok(docs.into_iter().next().unwrap_or(Node {
        kind: NodeKind::Null,
        span: Span::file(file),
    }))
}

/// Parses a `---`-separated stream (rendered templates). Documents that are empty come back as
/// `Null` nodes, so callers decide whether to skip them.
pub fn parse_stream(file: &str, text: &str) -> Result<Vec<Node>, Diagnostics> {
    let mut reader = Reader::new(file, text);
    let result = reader.documents(None);
    reader.finish(result)
}

fn too_deep(span: &Span) -> Diagnostic {
    Diagnostic::at(
        Code::TooLarge,
        span,
        format!("YAML nested too deeply: more than {MAX_DEPTH} levels of sequences and mappings"),
    )
    .with_help("flatten the structure; no Score field nests more than a few levels")
}

/// Parsing cannot go on (syntax error, budget exhausted); the reason is already in `diags`.
struct Stop;

struct Reader<'a> {
    file: Arc<str>,
    parser: Parser<'a, StrInput<'a>>,
    /// Anchor id → the anchored node and its node count (for the budget).
    anchors: BTreeMap<usize, (Node, usize)>,
    nodes: usize,
    aliases: usize,
    diags: Diagnostics,
}

type Ev<'a> = (Event<'a>, saphyr_parser::Span);

impl<'a> Reader<'a> {
    fn new(file: &str, text: &'a str) -> Self {
        // YAML 1.2 allows a byte order mark before a document; saphyr-parser reads it as text.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Reader {
            file: Arc::from(file),
            parser: Parser::new_from_str(text),
            anchors: BTreeMap::new(),
            nodes: 0,
            aliases: 0,
            diags: Diagnostics::new(),
        }
    }

    fn finish(mut self, result: Result<Vec<Node>, Stop>) -> Result<Vec<Node>, Diagnostics> {
        match result {
            Ok(docs) => self.diags.into_result(docs),
            Err(Stop) => {
                if !self.diags.has_errors() {
                    // Defensive: a stop always records why, but never report success on one.
                    self.diags.push(Diagnostic::error(
                        Code::YamlSyntax,
                        Some(Span::file(self.file.clone())),
                        "could not read the YAML document",
                    ));
                }
                self.diags.sort();
                Err(std::mem::take(&mut self.diags))
            }
        }
    }

    /// saphyr-parser lines are 1-based and columns 0-based; diagnostics use 1-based both.
    fn span(&self, marker: &saphyr_parser::Marker) -> Span {
        Span::new(
            self.file.clone(),
            u32::try_from(marker.line()).unwrap_or(u32::MAX).max(1),
            u32::try_from(marker.col().saturating_add(1)).unwrap_or(u32::MAX),
        )
    }

    fn syntax_error(&mut self, e: &ScanError) -> Stop {
        let span = self.span(e.marker());
        // saphyr-parser's scanner counts flow levels (`[`, `{`) in a u8 and may read past our
        // own limit before the parser hands us the nodes: the same limit, said the same way.
        if e.info() == "recursion limit exceeded" {
            self.diags.push(too_deep(&span));
            return Stop;
        }
        self.diags.push(
            Diagnostic::at(
                Code::YamlSyntax,
                &span,
                format!("invalid YAML: {}", e.info()),
            )
            .with_help("check the indentation and quoting around this position"),
        );
        Stop
    }

    fn next(&mut self) -> Result<Ev<'a>, Stop> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(self.syntax_error(&e)),
            None => {
                let span = Span::file(self.file.clone());
                self.diags.push(Diagnostic::at(
                    Code::YamlSyntax,
                    &span,
                    "invalid YAML: unexpected end of input",
                ));
                Err(Stop)
            }
        }
    }

    fn documents(&mut self, limit: Option<usize>) -> Result<Vec<Node>, Stop> {
        let mut docs = Vec::new();
        loop {
            let (ev, sp) = self.next()?;
            match ev {
                Event::StreamStart | Event::Nothing => {}
                Event::StreamEnd => return Ok(docs),
                Event::DocumentStart(_) => {
                    if limit.is_some_and(|l| docs.len() >= l) {
                        let span = self.span(&sp.start);
                        self.diags.push(
                            Diagnostic::at(
                                Code::YamlSyntax,
                                &span,
                                "expected a single YAML document, found a second one",
                            )
                            .with_help(
                                "put each workload in its own file, or remove the `---` separator",
                            ),
                        );
                        return Err(Stop);
                    }
                    let (ev, sp) = self.next()?;
                    let node = self.node(ev, sp, 0)?;
                    docs.push(node);
                    let (ev, sp) = self.next()?;
                    if !matches!(ev, Event::DocumentEnd) {
                        let span = self.span(&sp.start);
                        self.diags.push(Diagnostic::at(
                            Code::YamlSyntax,
                            &span,
                            "invalid YAML: expected the end of the document",
                        ));
                        return Err(Stop);
                    }
                }
                _ => {
                    let span = self.span(&sp.start);
                    self.diags.push(Diagnostic::at(
                        Code::YamlSyntax,
                        &span,
                        "invalid YAML: expected a document",
                    ));
                    return Err(Stop);
                }
            }
        }
    }

    fn count(&mut self, n: usize, span: &Span) -> Result<(), Stop> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            self.diags.push(
                Diagnostic::at(
                    Code::YamlSyntax,
                    span,
                    format!("YAML document too large: more than {MAX_NODES} nodes (counting alias expansions)"),
                )
                .with_help("split the file, or use fewer aliases (`*name`)"),
            );
            return Err(Stop);
        }
        Ok(())
    }

    fn node(&mut self, ev: Event<'a>, sp: saphyr_parser::Span, depth: usize) -> Result<Node, Stop> {
        let span = self.span(&sp.start);
        // `depth` collections enclose this node; it may be the 128th, not the 129th.
        let opens = matches!(ev, Event::SequenceStart(..) | Event::MappingStart(..));
        if opens && depth >= MAX_DEPTH {
            self.diags.push(too_deep(&span));
            return Err(Stop);
        }
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                self.scalar(text, style, anchor, tag.as_deref(), &sp, span)
            }
            Event::SequenceStart(anchor, tag) => self.sequence(anchor, tag.as_deref(), span, depth),
            Event::MappingStart(anchor, tag) => {
                self.count(1, &span)?;
                if let Some(tag) = tag {
                    self.check_tag(&tag, Shape::Map, &span);
                }
                let start = self.nodes;
                let node = self.mapping(span, depth)?;
                self.anchor(anchor, &node, self.nodes - start + 1);
                Ok(node)
            }
            Event::Alias(id) => self.alias(id, span),
            _ => {
                self.diags.push(Diagnostic::at(
                    Code::YamlSyntax,
                    &span,
                    "invalid YAML: expected a value",
                ));
                Err(Stop)
            }
        }
    }

    // Every scalar of every file read comes through here: kept inline in `node`, as before it
    // was split out.
    #[inline]
    fn scalar(
        &mut self,
        text: Cow<'a, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        sp: &saphyr_parser::Span,
        span: Span,
    ) -> Result<Node, Stop> {
        self.count(1, &span)?;
        let mut plain = style == ScalarStyle::Plain;
        if let Some(tag) = tag {
            match self.check_tag(tag, Shape::Scalar, &span) {
                TagMeaning::String => plain = false,
                TagMeaning::Typed => plain = true,
                TagMeaning::Keep => {}
            }
        }
        // An empty plain value (`key:`) comes as an empty `~` or an empty string; a `~`
        // the author typed has a width and stays a scalar (its meaning is still null).
        let implicit_null = plain && (text.is_empty() || (text == "~" && sp.is_empty()));
        let kind = if implicit_null {
            NodeKind::Null
        } else {
            NodeKind::Scalar {
                text: text.into_owned(),
                plain,
            }
        };
        let node = Node { kind, span };
        self.anchor(anchor, &node, 1);
        Ok(node)
    }

    #[inline]
    fn sequence(
        &mut self,
        anchor: usize,
        tag: Option<&Tag>,
        span: Span,
        depth: usize,
    ) -> Result<Node, Stop> {
        self.count(1, &span)?;
        if let Some(tag) = tag {
            self.check_tag(tag, Shape::Seq, &span);
        }
        let start = self.nodes;
        let mut items = Vec::new();
        loop {
            let (ev, sp) = self.next()?;
            if matches!(ev, Event::SequenceEnd) {
                break;
            }
            items.push(self.node(ev, sp, depth + 1)?);
        }
        let node = Node {
            kind: NodeKind::Seq(items),
            span,
        };
        self.anchor(anchor, &node, self.nodes - start + 1);
        Ok(node)
    }

    /// A copy of the anchored node, within the alias and node budgets.
    fn alias(&mut self, id: usize, span: Span) -> Result<Node, Stop> {
        self.aliases += 1;
        if self.aliases > MAX_ALIASES {
            self.diags.push(
                Diagnostic::at(
                    Code::YamlSyntax,
                    &span,
                    format!("too many YAML aliases: more than {MAX_ALIASES} expansions"),
                )
                .with_help("write the repeated values out, or use fewer aliases (`*name`)"),
            );
            return Err(Stop);
        }
        let Some((anchored, size)) = self.anchors.get(&id) else {
            self.diags.push(Diagnostic::at(
                Code::YamlSyntax,
                &span,
                "invalid YAML: alias refers to a node that contains it (recursive alias)",
            ));
            return Err(Stop);
        };
        let (mut copy, size) = (anchored.clone(), *size);
        self.count(size, &span)?;
        // The copy points at the alias for the node itself (that is what the reader of an
        // error looks at) and at the anchored text for what is inside.
        copy.span = span;
        Ok(copy)
    }

    fn anchor(&mut self, anchor: usize, node: &Node, size: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
    }

    fn mapping(&mut self, span: Span, depth: usize) -> Result<Node, Stop> {
        let mut entries: Vec<(Spanned<String>, Node)> = Vec::new();
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        let mut merged: Vec<(Spanned<String>, Node)> = Vec::new();
        loop {
            let (ev, sp) = self.next()?;
            if matches!(ev, Event::MappingEnd) {
                break;
            }
            let key = self.node(ev, sp, depth + 1)?;
            let (ev, sp) = self.next()?;
            let value = self.node(ev, sp, depth + 1)?;
            let key_text = match key.kind {
                NodeKind::Scalar { text, plain } => {
                    if plain && text == "<<" {
                        self.merge(&value, &mut merged);
                        continue;
                    }
                    text
                }
                ref other => {
                    let found = match other {
                        NodeKind::Null => "an empty key",
                        NodeKind::Seq(_) => "a sequence",
                        _ => "a mapping",
                    };
                    self.diags.push(
                        Diagnostic::at(
                            Code::WrongType,
                            &key.span,
                            format!("expected a mapping key to be a string, found {found}"),
                        )
                        .with_help("write the key as a plain or quoted string"),
                    );
                    continue;
                }
            };
            if let Some(first) = seen.get(&key_text) {
                self.diags.push(
                    Diagnostic::at(
                        Code::DuplicateKey,
                        &key.span,
                        format!("duplicate key `{key_text}`"),
                    )
                    .with_note(format!(
                        "`{key_text}` is first defined at line {}",
                        first.line
                    ))
                    .with_help("remove one of the two entries"),
                );
                continue;
            }
            seen.insert(key_text.clone(), key.span.clone());
            entries.push((Spanned::new(key_text, key.span), value));
        }
        // Merge keys (`<<: *defaults`): explicit keys win over merged ones, earlier merges over
        // later ones, as YAML 1.1 defines them.
        for (k, v) in merged {
            if !seen.contains_key(&k.value) {
                seen.insert(k.value.clone(), k.span.clone());
                entries.push((k, v));
            }
        }
        Ok(Node {
            kind: NodeKind::Map(entries),
            span,
        })
    }

    fn merge(&mut self, value: &Node, into: &mut Vec<(Spanned<String>, Node)>) {
        let sources: Vec<&Node> = match &value.kind {
            NodeKind::Map(_) => vec![value],
            NodeKind::Seq(items) if items.iter().all(|i| matches!(i.kind, NodeKind::Map(_))) => {
                items.iter().collect()
            }
            _ => {
                self.diags.push(Diagnostic::at(
                    Code::WrongType,
                    &value.span,
                    format!("expected a mapping or a list of mappings after the merge key `<<`, found {}", value.describe()),
                ));
                return;
            }
        };
        for source in sources {
            if let NodeKind::Map(entries) = &source.kind {
                for (k, v) in entries {
                    if !into.iter().any(|(seen, _)| seen.value == k.value) {
                        into.push((k.clone(), v.clone()));
                    }
                }
            }
        }
    }

    fn check_tag(&mut self, tag: &Tag, shape: Shape, span: &Span) -> TagMeaning {
        // `!!x` arrives as the core handle plus `x`; the verbatim `!<tag:yaml.org,2002:x>` as an
        // empty handle and the whole URI; the non-specific `!` as an empty handle and `!`.
        let core = if tag.handle == CORE_TAG_HANDLE {
            Some(tag.suffix.as_str())
        } else if tag.handle.is_empty() {
            tag.suffix.strip_prefix(CORE_TAG_HANDLE)
        } else {
            None
        };
        if let Some(suffix) = core {
            match (suffix, shape) {
                ("str", Shape::Scalar) => return TagMeaning::String,
                ("int" | "float" | "bool" | "null", Shape::Scalar) => return TagMeaning::Typed,
                ("seq", Shape::Seq) | ("map", Shape::Map) => {
                    return TagMeaning::Keep;
                }
                _ => {}
            }
        } else if tag.handle.is_empty() && tag.suffix == "!" {
            // The non-specific tag asks for a string; on collections it means nothing.
            return if shape == Shape::Scalar {
                TagMeaning::String
            } else {
                TagMeaning::Keep
            };
        }
        let shown = match core {
            Some(suffix) => format!("!!{suffix}"),
            None if tag.handle.is_empty() => format!("!<{}>", tag.suffix),
            None => tag.to_string(),
        };
        let what = match shape {
            Shape::Scalar => "a scalar",
            Shape::Seq => "a sequence",
            Shape::Map => "a mapping",
        };
        self.diags.push(
            Diagnostic::at(Code::YamlSyntax, span, format!("unsupported YAML tag `{shown}` on {what}"))
                .with_help("remove the tag: platc reads plain YAML (only `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!seq` and `!!map` are accepted)"),
        );
        TagMeaning::Keep
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Scalar,
    Seq,
    Map,
}

enum TagMeaning {
    /// The scalar is a string whatever it looks like.
    String,
    /// The scalar is read as a plain one even when quoted (`!!int "80"` is the integer 80).
    Typed,
    Keep,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn ok(text: &str) -> Node {
        match parse("t.yaml", text) {
            Ok(n) => n,
            Err(e) => panic!("unexpected error for {text:?}:\n{e}"),
        }
    }

    fn err(text: &str) -> String {
        match parse("t.yaml", text) {
            Ok(n) => panic!("expected an error for {text:?}, got {n:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn keeps_scalars_as_written_with_spans() {
        let n = ok("a: 0755\nb: \"on\"\nc: |\n  text\nd:\ne: ~\n");
        let m = n.as_map().unwrap();
        assert_eq!(m[0].0.value, "a");
        assert_eq!(m[0].0.span, Span::new("t.yaml", 1, 1));
        assert_eq!(
            m[0].1.kind,
            NodeKind::Scalar {
                text: "0755".into(),
                plain: true
            }
        );
        assert_eq!(m[0].1.span, Span::new("t.yaml", 1, 4));
        assert_eq!(
            m[1].1.kind,
            NodeKind::Scalar {
                text: "on".into(),
                plain: false
            }
        );
        assert_eq!(m[1].1.span, Span::new("t.yaml", 2, 4));
        assert_eq!(
            m[2].1.kind,
            NodeKind::Scalar {
                text: "text\n".into(),
                plain: false
            }
        );
        assert_eq!(m[3].1.kind, NodeKind::Null);
        assert_eq!(
            m[4].1.kind,
            NodeKind::Scalar {
                text: "~".into(),
                plain: true
            }
        );
        assert_eq!(
            n.to_json(),
            json!({"a": "0755", "b": "on", "c": "text\n", "d": null, "e": null})
        );
    }

    #[test]
    fn nested_spans_are_one_based() {
        let n = ok("containers:\n  api:\n    image: x\n");
        let api = n.get("containers").unwrap().get("api").unwrap();
        assert_eq!(api.span, Span::new("t.yaml", 3, 5));
        let (k, v) = &api.as_map().unwrap()[0];
        assert_eq!(k.span, Span::new("t.yaml", 3, 5));
        assert_eq!(v.span, Span::new("t.yaml", 3, 12));
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(ok("").kind, NodeKind::Null);
        assert_eq!(ok("# only a comment\n").kind, NodeKind::Null);
        assert_eq!(ok("---\n").kind, NodeKind::Null);
    }

    #[test]
    fn one_document_only() {
        assert_eq!(
            err("a: 1\n---\nb: 2\n"),
            "t.yaml:2:1: error: expected a single YAML document, found a second one\n  help: put each workload in its own file, or remove the `---` separator"
        );
    }

    #[test]
    fn streams() {
        let docs = parse_stream("r.yaml", "---\na: 1\n---\nb: [x]\n---\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].to_json(), json!({"a": 1}));
        assert_eq!(docs[1].to_json(), json!({"b": ["x"]}));
        assert_eq!(docs[1].span, Span::new("r.yaml", 4, 1));
        assert_eq!(docs[2].kind, NodeKind::Null);
        assert!(parse_stream("r.yaml", "").unwrap().is_empty());
    }

    #[test]
    fn duplicate_keys_point_at_the_second() {
        let e = parse("t.yaml", "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n").unwrap_err();
        assert_eq!(e.0.len(), 2);
        assert_eq!(e.0[0].code, Code::DuplicateKey);
        assert_eq!(
            e.0[0].to_string(),
            "t.yaml:4:3: error: duplicate key `c`\n  note: `c` is first defined at line 3\n  help: remove one of the two entries"
        );
        assert_eq!(e.0[1].span, Some(Span::new("t.yaml", 5, 1)));
        assert_eq!(e.0[1].message, "duplicate key `a`");
    }

    #[test]
    fn non_scalar_keys_are_errors() {
        assert_eq!(
            err("? [a]\n: 1\n"),
            "t.yaml:1:3: error: expected a mapping key to be a string, found a sequence\n  help: write the key as a plain or quoted string"
        );
        assert!(err("{a: 1}: 2\n").contains("found a mapping"));
    }

    #[test]
    fn tags() {
        let n = ok(
            "a: !!str 5\nb: !!int 6\nc: ! 7\nd: !!map {x: 1}\ne: !!int \"80\"\nf: !!bool 'true'\n",
        );
        // A core tag wins over quoting (found by a red-team session: `!!int "80"` was a string).
        assert_eq!(
            n.to_json(),
            json!({"a": "5", "b": 6, "c": "7", "d": {"x": 1}, "e": 80, "f": true})
        );
        assert_eq!(
            err("a: !vault secret\n"),
            "t.yaml:1:11: error: unsupported YAML tag `!vault` on a scalar\n  help: remove the tag: platc reads plain YAML (only `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!seq` and `!!map` are accepted)"
        );
        assert!(
            err("a: !!binary aGVsbG8=\n").contains("unsupported YAML tag `!!binary` on a scalar")
        );
        assert!(err("a: !!str [1]\n").contains("on a sequence"));
    }

    #[test]
    fn aliases_are_copies_pointing_at_the_alias() {
        let n = ok("base: &b {x: 1, y: [2]}\nother: *b\n");
        assert_eq!(
            n.to_json(),
            json!({"base": {"x": 1, "y": [2]}, "other": {"x": 1, "y": [2]}})
        );
        let other = n.get("other").unwrap();
        assert_eq!(other.span, Span::new("t.yaml", 2, 8));
        assert_eq!(other.get("x").unwrap().span, Span::new("t.yaml", 1, 14));
    }

    #[test]
    fn merge_keys() {
        let n = ok("d: &d {a: 1, b: 2}\nx:\n  <<: *d\n  b: 3\n  c: 4\n");
        assert_eq!(
            n.get("x").unwrap().to_json(),
            json!({"a": 1, "b": 3, "c": 4})
        );
        let n = ok("x:\n  \"<<\": literal\n");
        assert_eq!(n.to_json(), json!({"x": {"<<": "literal"}}));
        assert!(err("x:\n  <<: 5\n").contains(
            "expected a mapping or a list of mappings after the merge key `<<`, found a scalar"
        ));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = err(&text);
        assert!(e.starts_with("t.yaml:"), "{e}");
        assert!(
            e.contains("YAML document too large: more than 100000 nodes"),
            "{e}"
        );
    }

    #[test]
    fn many_aliases_are_refused() {
        let mut text = String::from("a: &a x\nl:\n");
        for _ in 0..1001 {
            text.push_str("- *a\n");
        }
        let e = err(&text);
        assert!(
            e.contains("t.yaml:1003:3: error: too many YAML aliases: more than 1000 expansions"),
            "{e}"
        );
    }

    #[test]
    fn recursive_alias_is_refused() {
        let e = err("a: &a [1, *a]\n");
        assert!(e.contains("recursive alias"), "{e}");
    }

    #[test]
    fn syntax_errors_have_one_based_positions() {
        assert_eq!(
            err("a: b: c\n"),
            "t.yaml:1:5: error: invalid YAML: mapping values are not allowed in this context\n  help: check the indentation and quoting around this position"
        );
        assert!(err("a:\n  b: 1\n c: 2\n").starts_with(
            "t.yaml:3:2: error: invalid YAML: while parsing a block mapping, did not find expected key"
        ));
        assert!(
            err("a: \"open\n")
                .starts_with("t.yaml:1:4: error: invalid YAML: while scanning a quoted scalar")
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowing() {
        let text = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let e = parse("t.yaml", &text).unwrap_err();
        assert_eq!(e.0[0].code, Code::TooLarge);
        assert!(e.0[0].message.contains("more than 128 levels"), "{e:?}");
        // At the limit, in flow and in block form; one more level is refused in both.
        let flow = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let block = |n: usize| {
            (0..n)
                .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
                .collect::<String>()
                + &"  ".repeat(n)
                + "x\n"
        };
        assert!(parse("t.yaml", &flow(MAX_DEPTH)).is_ok());
        assert!(parse("t.yaml", &block(MAX_DEPTH)).is_ok());
        assert!(parse("t.yaml", &flow(MAX_DEPTH + 1)).is_err());
        assert!(parse("t.yaml", &block(MAX_DEPTH + 1)).is_err());
    }

    // --- property tests --------------------------------------------------------------------

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "\\PC{0,12}".prop_map(Value::String),
            prop::sample::select(vec![
                "on", "yes", "0755", "1.10", "~", "null", "- x", "a: b", "#c", "", " "
            ])
            .prop_map(|s| Value::String(s.to_string())),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("\\PC{0,8}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Block-style emitter (test only): collections in block style, scalars as JSON, which
    /// YAML reads as double-quoted strings or plain numbers/booleans/null.
    fn emit_block(v: &Value, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match v {
            Value::Array(items) if !items.is_empty() => {
                for item in items {
                    out.push_str(&pad);
                    out.push('-');
                    emit_child(item, indent + 2, out);
                }
            }
            Value::Object(map) if !map.is_empty() => {
                for (k, item) in map {
                    out.push_str(&pad);
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    emit_child(item, indent + 2, out);
                }
            }
            other => {
                out.push_str(&pad);
                out.push_str(&other.to_string());
                out.push('\n');
            }
        }
    }

    fn emit_child(v: &Value, indent: usize, out: &mut String) {
        match v {
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                emit_block(v, indent, out);
            }
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                emit_block(v, indent, out);
            }
            other => {
                out.push(' ');
                out.push_str(&other.to_string());
                out.push('\n');
            }
        }
    }

    proptest! {
        #[test]
        fn flow_json_round_trips(v in json_value()) {
            let text = serde_json::to_string(&v).unwrap();
            let node = parse("p.yaml", &text).map_err(|e| TestCaseError::fail(format!("{text}\n{e}")))?;
            prop_assert_eq!(node.to_json(), v);
        }

        #[test]
        fn block_yaml_round_trips(v in json_value()) {
            let mut text = String::new();
            emit_block(&v, 0, &mut text);
            let node = parse("p.yaml", &text).map_err(|e| TestCaseError::fail(format!("{text}\n{e}")))?;
            prop_assert_eq!(node.to_json(), v);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = parse("p.yaml", &s);
            let _ = parse_stream("p.yaml", &s);
        }

        #[test]
        fn yamlish_text_never_panics(s in "[-:&*!\\[\\]{}|>?,#'\" \\na-c0-9%@`<]{0,120}") {
            let _ = parse("p.yaml", &s);
            let _ = parse_stream("p.yaml", &s);
        }
    }
}
