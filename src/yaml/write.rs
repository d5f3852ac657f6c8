//! JSON value → canonical YAML text.
//!
//! Why a hand-written emitter and not `serde_saphyr::to_string` (measured with serde-saphyr 2.1.1):
//! - it folds strings longer than ~80 columns into `>-` blocks, breaking lines at spaces and
//!   leaving a trailing space on each folded line: the value then depends on whitespace that
//!   editors and linters strip, and changing one word re-wraps the whole paragraph in a diff;
//! - it writes `|+` blocks for strings ending in several newlines, so a document whose last value
//!   is such a string does not end with exactly one newline;
//! - it mixes quote styles (`'#'`, `'-'` but `"?"`, `":"`), quotes the key `"a:b"` but not the
//!   same value, and leaves indicator-led scalars such as `-x` and `?x` plain;
//! - every rendered file in every GitOps repository would change if an upstream patch release
//!   changed any of these heuristics; the rules below are ours, small, and pinned by tests.
//!
//! House style (kubectl's): block style, two-space indent, a sequence that is a mapping value
//! starts at its key's column (`key:\n- a: 1\n  b: 2`), keys in the map's order, `{}`/`[]` for
//! empty containers. A string is written plain unless a YAML 1.1 or 1.2 reader could read it as
//! anything else, then in double quotes (one quote style, able to escape everything). A multi-line
//! string is a literal block (`|`, `|-`) when that is exact and robust, double-quoted otherwise.
//! Floats always carry a `.` and a signed exponent (`1.0e+300`) so YAML 1.1 readers (PyYAML,
//! which also backs many Kubernetes tools) see a float and not a string.

use serde_json::{Map, Value};

/// Canonical YAML for one document, ending with exactly one newline.
pub fn to_yaml(value: &Value) -> String {
    thread_local! {
        /// Grown once per thread: building each document in a fresh string reallocated (and,
        /// for large documents, faulted in) its buffer at every doubling.
        static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut out) => {
            out.clear();
            write_document(&mut out, value);
            let text = out.as_str().to_owned();
            // Keep a few megabytes at most per thread between documents.
            if out.capacity() > 4 << 20 {
                *out = String::new();
            }
            text
        }
        Err(_) => {
            let mut out = String::new();
            write_document(&mut out, value);
            out
        }
    })
}

fn write_document(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) if !map.is_empty() => write_map(out, map, 0, false),
        Value::Array(items) if !items.is_empty() => write_seq(out, items, 0, false),
        Value::String(s) if literal_block_ok(s) && s.starts_with([' ', '\t']) => {
            // A top-level block scalar with an indentation indicator is read differently by
            // PyYAML (content at column 2) and by the YAML 1.2 spec (column 1): avoid it.
            write_double_quoted(out, s);
            out.push('\n');
        }
        scalar => write_scalar(out, scalar, 0),
    }
}

/// Writes the entries of a non-empty map at `indent`. With `inline_first`, the caller has
/// already written the indentation of the first line (after `- `).
fn write_map(out: &mut String, map: &Map<String, Value>, indent: usize, inline_first: bool) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !inline_first {
            push_indent(out, indent);
        }
        let start = out.len();
        write_key(out, key);
        // YAML limits implicit keys to 1024 characters; longer ones need the explicit `? ` form,
        // whose value is then indented like any nested node.
        let explicit = out.len() - start > 1000 && out[start..].chars().count() > 1000;
        if explicit {
            out.insert_str(start, "? ");
            out.push('\n');
            push_indent(out, indent);
        }
        match value {
            Value::Object(m) if !m.is_empty() => {
                out.push_str(":\n");
                write_map(out, m, indent + 2, false);
            }
            Value::Array(a) if !a.is_empty() => {
                out.push_str(":\n");
                write_seq(out, a, if explicit { indent + 2 } else { indent }, false);
            }
            scalar => {
                out.push_str(": ");
                write_scalar(out, scalar, indent);
            }
        }
    }
}

/// Writes the items of a non-empty sequence with their `-` at column `indent`.
fn write_seq(out: &mut String, items: &[Value], indent: usize, inline_first: bool) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !inline_first {
            push_indent(out, indent);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(out, m, indent + 2, true),
            Value::Array(a) if !a.is_empty() => write_seq(out, a, indent + 2, true),
            scalar => write_scalar(out, scalar, indent),
        }
    }
}

fn push_indent(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = n;
    while left > 0 {
        let k = left.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        left -= k;
    }
}

fn write_key(out: &mut String, key: &str) {
    // Keys are never block scalars; a multi-line key is double-quoted with `\n` escapes.
    if !matches!(style(key), Style::Plain) {
        write_double_quoted(out, key);
    } else {
        out.push_str(key);
    }
}

/// Writes a scalar (or an empty container) that follows `key: ` or `- ` on the current line,
/// including the final newline. `parent` is the column of that key or dash: block scalar content
/// goes two columns further.
fn write_scalar(out: &mut String, value: &Value, parent: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            use std::fmt::Write;
            if n.is_i64() || n.is_u64() {
                // Writing into a `String` cannot fail.
                let _ = write!(out, "{n}");
            } else {
                out.push_str(&format_number(n));
            }
        }
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        Value::String(s) => match style(s) {
            Style::Literal => {
                write_literal_block(out, s, parent + 2);
                return;
            }
            Style::Quoted => write_double_quoted(out, s),
            Style::Plain => out.push_str(s),
        },
    }
    out.push('\n');
}

fn format_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    // serde_json prints the shortest round-tripping form (`1e300`, `0.1`, `1.0`, `1e-7`); YAML 1.1
    // wants a `.` in every float and a sign on the exponent.
    let text = n.to_string();
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (text.as_str(), None),
    };
    let mut out = mantissa.to_string();
    if !out.contains('.') {
        out.push_str(".0");
    }
    if let Some(e) = exponent {
        out.push('e');
        if !e.starts_with(['-', '+']) {
            out.push('+');
        }
        out.push_str(e);
    }
    out
}

/// How a string value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Quoted,
    Literal,
}

/// [`literal_block_ok`], then [`needs_quotes`], decided in one pass over an ASCII string's
/// bytes: every string of a build goes through here, and the two scans (each of the whole
/// string) were a third of writing a cold build's YAML.
fn style(s: &str) -> Style {
    if !s.is_ascii() {
        return if literal_block_ok_chars(s) {
            Style::Literal
        } else if needs_quotes(s) {
            Style::Quoted
        } else {
            Style::Plain
        };
    }
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return Style::Quoted; // the empty string is null when plain
    };
    // lines: a `\n`; block_bad: a byte a literal block cannot hold, or whitespace ending a line;
    // content: a visible character; unplain: a byte outside ` `..=`~`; indicator: `: ` or ` #`.
    let (mut lines, mut block_bad, mut content, mut unplain, mut indicator) =
        (false, false, false, false, false);
    let mut prev = 0u8;
    for &c in b {
        match c {
            b'\n' => {
                lines = true;
                unplain = true;
                block_bad |= prev == b' ' || prev == b'\t';
            }
            b'\t' => unplain = true,
            b' ' => indicator |= prev == b':',
            b'#' => {
                content = true;
                indicator |= prev == b' ';
            }
            b'!'..=b'~' => content = true,
            _ => {
                unplain = true;
                block_bad = true;
            }
        }
        prev = c;
    }
    if lines && !block_bad && content && !b.ends_with(b"\n\n") && last != b' ' && last != b'\t' {
        return Style::Literal;
    }
    let quoted = first == b' '
        || last == b' '
        || matches!(
            first,
            b'-' | b'?'
                | b':'
                | b','
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
        )
        || last == b':'
        || unplain
        || indicator
        || is_reserved_word(s)
        || looks_numeric(s);
    if quoted { Style::Quoted } else { Style::Plain }
}

/// Whether `s` must be quoted to be read back as this very string by a YAML 1.1 or 1.2 reader
/// (and to keep invisible characters visible).
fn needs_quotes(s: &str) -> bool {
    let (Some(first), Some(last)) = (s.chars().next(), s.chars().next_back()) else {
        return true; // the empty string is null when plain
    };
    if first == ' ' || last == ' ' {
        return true;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return true;
    }
    if s.ends_with(':') {
        return true;
    }
    // One pass over the bytes for the usual all-ASCII string: `: ` and ` #` start a mapping
    // value and a comment; anything but a space or a visible character needs quotes.
    if s.is_ascii() {
        let mut prev = 0u8;
        for b in s.bytes() {
            if !(b' '..=b'~').contains(&b)
                || (prev == b':' && b == b' ')
                || (prev == b' ' && b == b'#')
            {
                return true;
            }
            prev = b;
        }
    } else if s.contains(": ") || s.contains(" #") || !s.chars().all(|c| c == ' ' || plain_char(c))
    {
        return true;
    }
    is_reserved_word(s) || looks_numeric(s)
}

/// Characters allowed in a plain scalar: printable, not whitespace or a line break of any kind,
/// not an invisible formatting character.
fn plain_char(c: char) -> bool {
    !c.is_whitespace() && !c.is_control() && !is_invisible(c) && is_yaml_printable(c)
}

/// YAML's `c-printable`, minus the line breaks and tab that are handled separately.
fn is_yaml_printable(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Printable for YAML but invisible on screen: zero-width characters, bidirectional overrides
/// (which can make a reviewed line display differently from what it is), the byte-order mark.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}' | '\u{FEFF}'
    )
}

/// Booleans and nulls of YAML 1.1 and 1.2, in any letter case, plus YAML 1.1's merge key `<<`
/// and value key `=`.
fn is_reserved_word(s: &str) -> bool {
    const WORDS: [&str; 12] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "=", "<<",
    ];
    s.len() <= 5 && WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// Anything a YAML 1.1 or 1.2 reader might resolve to a number or a timestamp. Deliberately
/// broad: every such form (`0755`, `0x1F`, `0o17`, `0b101`, `1_000`, `1e3`, `1:30`, `2024-01-01`,
/// `.5`) starts with a digit, possibly after a sign or a dot, so all such strings are quoted.
fn looks_numeric(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    let mut chars = t.chars();
    match chars.next() {
        Some(c) if c.is_ascii_digit() => true,
        Some('.') => {
            let lower = t.to_ascii_lowercase();
            match chars.next() {
                // `.`, `..`, `._` match YAML 1.1's float pattern `[-+]?([0-9][0-9_]*)?\.[0-9.]*`.
                None => true,
                Some(c) if c.is_ascii_digit() || c == '.' || c == '_' => true,
                _ => lower == ".inf" || lower == ".nan",
            }
        }
        _ => false,
    }
}

/// A literal block (`|`) represents `s` exactly and survives editors: every character printable
/// (tabs allowed), no carriage returns or exotic line breaks, no trailing whitespace on any line
/// (editors strip it), at most one final newline (`|+` would leave blank lines at the end of the
/// file), and some visible content.
fn literal_block_ok(s: &str) -> bool {
    if s.is_ascii() {
        literal_block_ok_ascii(s.as_bytes())
    } else {
        literal_block_ok_chars(s)
    }
}

fn literal_block_ok_chars(s: &str) -> bool {
    if !s.contains('\n') || s.ends_with("\n\n") || s.trim().is_empty() {
        return false;
    }
    if !s
        .chars()
        .all(|c| c == '\n' || c == '\t' || c == ' ' || plain_char(c))
    {
        return false;
    }
    let body = s.strip_suffix('\n').unwrap_or(s);
    body.split('\n').all(|line| !line.ends_with([' ', '\t']))
}

/// [`literal_block_ok`] in one pass over an ASCII string's bytes: dashboards put ~20 kB of
/// JSON in a ConfigMap, and scanning it char by char, five times over, was a fifth of writing a
/// cold build's YAML.
fn literal_block_ok_ascii(b: &[u8]) -> bool {
    let (mut lines, mut content, mut prev) = (false, false, 0u8);
    for &c in b {
        match c {
            b'\n' if prev == b' ' || prev == b'\t' => return false,
            b'\n' => lines = true,
            b' ' | b'\t' => {}
            b'!'..=b'~' => content = true,
            _ => return false,
        }
        prev = c;
    }
    lines && content && !b.ends_with(b"\n\n") && prev != b' ' && prev != b'\t'
}

fn write_literal_block(out: &mut String, s: &str, content_indent: usize) {
    out.push('|');
    // Block content indentation is detected from its first non-empty line; when that line starts
    // with whitespace, say explicitly that content starts two columns in.
    let first_content = s.split('\n').find(|l| !l.is_empty()).unwrap_or("");
    if first_content.starts_with([' ', '\t']) {
        out.push('2');
    }
    let body = match s.strip_suffix('\n') {
        Some(body) => body,
        None => {
            out.push('-');
            s
        }
    };
    out.push('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            push_indent(out, content_indent);
            out.push_str(line);
        }
        out.push('\n');
    }
}

fn write_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{B}' => out.push_str("\\v"),
            '\u{C}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1B}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{A0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            ' ' => out.push(' '),
            c if plain_char(c) => out.push(c),
            c => {
                let code = u32::from(c);
                let escaped = if code <= 0xFF {
                    format!("\\x{code:02X}")
                } else if code <= 0xFFFF {
                    format!("\\u{code:04X}")
                } else {
                    format!("\\U{code:08X}")
                };
                out.push_str(&escaped);
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use serde_json::json;

    /// (string, how it is written as a mapping value)
    const TRICKY: &[(&str, &str)] = &[
        ("plain", "plain"),
        ("hello world", "hello world"),
        ("", "\"\""),
        ("y", "\"y\""),
        ("Y", "\"Y\""),
        ("n", "\"n\""),
        ("yes", "\"yes\""),
        ("No", "\"No\""),
        ("on", "\"on\""),
        ("OFF", "\"OFF\""),
        ("true", "\"true\""),
        ("False", "\"False\""),
        ("tRUE", "\"tRUE\""),
        ("null", "\"null\""),
        ("NULL", "\"NULL\""),
        ("nUll", "\"nUll\""),
        ("~", "\"~\""),
        ("<<", "\"<<\""),
        ("=", "\"=\""),
        ("0", "\"0\""),
        ("12", "\"12\""),
        ("-12", "\"-12\""),
        ("+1", "\"+1\""),
        ("0755", "\"0755\""),
        ("0x1F", "\"0x1F\""),
        ("0o17", "\"0o17\""),
        ("0b101", "\"0b101\""),
        ("1_000", "\"1_000\""),
        ("1.5", "\"1.5\""),
        ("1.", "\"1.\""),
        (".5", "\".5\""),
        ("1e3", "\"1e3\""),
        ("1.0e+3", "\"1.0e+3\""),
        (".inf", "\".inf\""),
        ("-.INF", "\"-.INF\""),
        (".NaN", "\".NaN\""),
        (".", "\".\""),
        ("...", "\"...\""),
        ("1:30", "\"1:30\""),
        ("190:20:30", "\"190:20:30\""),
        ("2024-01-01", "\"2024-01-01\""),
        (
            "2001-12-14t21:59:43.10-05:00",
            "\"2001-12-14t21:59:43.10-05:00\"",
        ),
        ("1.25.3", "\"1.25.3\""),
        ("8080/TCP", "\"8080/TCP\""),
        ("  lead", "\"  lead\""),
        ("trail ", "\"trail \""),
        ("-x", "\"-x\""),
        ("---", "\"---\""),
        ("- x", "\"- x\""),
        ("?x", "\"?x\""),
        (":x", "\":x\""),
        (",x", "\",x\""),
        ("[x", "\"[x\""),
        ("]x", "\"]x\""),
        ("{x", "\"{x\""),
        ("}x", "\"}x\""),
        ("#x", "\"#x\""),
        ("&x", "\"&x\""),
        ("*x", "\"*x\""),
        ("!x", "\"!x\""),
        ("|x", "\"|x\""),
        (">x", "\">x\""),
        ("'x", "\"'x\""),
        ("\"x", "\"\\\"x\""),
        ("%x", "\"%x\""),
        ("@x", "\"@x\""),
        ("`x", "\"`x\""),
        ("a: b", "\"a: b\""),
        ("key:", "\"key:\""),
        ("a #b", "\"a #b\""),
        ("a:b", "a:b"),
        ("a#b", "a#b"),
        ("a,b[c]{d}", "a,b[c]{d}"),
        ("v1.2", "v1.2"),
        ("x-1", "x-1"),
        ("_1", "_1"),
        ("+", "+"),
        ("a'b", "a'b"),
        ("C:\\dir", "C:\\dir"),
        ("é ünicode 😀", "é ünicode 😀"),
        ("a\tb", "\"a\\tb\""),
        ("bell\u{7}", "\"bell\\a\""),
        ("nul\0", "\"nul\\0\""),
        ("del\u{7F}", "\"del\\x7F\""),
        ("c1\u{9B}", "\"c1\\x9B\""),
        ("nbsp\u{A0}x", "\"nbsp\\_x\""),
        ("\u{FEFF}bom", "\"\\uFEFFbom\""),
        ("rlo\u{202E}x", "\"rlo\\u202Ex\""),
        ("zw\u{200B}x", "\"zw\\u200Bx\""),
        ("nel\u{85}x", "\"nel\\Nx\""),
        ("ls\u{2028}x", "\"ls\\Lx\""),
        ("q\"uote\\", "q\"uote\\"),
        ("a\r\nb", "\"a\\r\\nb\""),
        ("\n", "\"\\n\""),
        (" \n", "\" \\n\""),
        ("two\n\n", "\"two\\n\\n\""),
        ("trailing space \nx", "\"trailing space \\nx\""),
        ("line1\nline2\n", "|\n  line1\n  line2"),
        ("line1\nline2", "|-\n  line1\n  line2"),
        ("a\n\nb\n", "|\n  a\n\n  b"),
        ("\nfirst empty", "|-\n\n  first empty"),
        (" indented\nsecond\n", "|2\n   indented\n  second"),
        ("\tx\ny", "|2-\n  \tx\n  y"),
        (
            "# not a comment\n- not a list\n",
            "|\n  # not a comment\n  - not a list",
        ),
    ];

    #[test]
    fn tricky_strings_as_values_and_keys() {
        for (s, expected) in TRICKY {
            let got = to_yaml(&json!({ "k": s }));
            assert_eq!(got, format!("k: {expected}\n"), "value {s:?}");
            let as_key = to_yaml(&json!({ *s: 1 }));
            let want_key = if expected.starts_with('|') {
                let mut q = String::new();
                write_double_quoted(&mut q, s);
                format!("{q}: 1\n")
            } else {
                format!("{expected}: 1\n")
            };
            assert_eq!(as_key, want_key, "key {s:?}");
        }
    }

    #[test]
    fn layout_is_kubectl_style() {
        let v = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"labels": {}, "name": "x", "annotations": {"on": "yes"}},
            "spec": {
                "containers": [
                    {"name": "a", "args": ["-v", "2"], "env": [], "ports": [{"containerPort": 80}]},
                    {"name": "b", "command": ["sh", "-c", "echo hi\nexit 0\n"]}
                ],
                "matrix": [[1, 2], [], [{"x": null}]],
                "ratio": 0.5,
                "big": 1e300,
                "small": -1.5e-7,
                "whole": 3.0,
                "flag": false
            }
        });
        let want = "\
apiVersion: v1
kind: Pod
metadata:
  annotations:
    \"on\": \"yes\"
  labels: {}
  name: x
spec:
  big: 1.0e+300
  containers:
  - args:
    - \"-v\"
    - \"2\"
    env: []
    name: a
    ports:
    - containerPort: 80
  - command:
    - sh
    - \"-c\"
    - |
      echo hi
      exit 0
    name: b
  flag: false
  matrix:
  - - 1
    - 2
  - []
  - - x: null
  ratio: 0.5
  small: -1.5e-7
  whole: 3.0
";
        assert_eq!(to_yaml(&v), want);
    }

    #[test]
    fn top_level_scalars_and_empties() {
        assert_eq!(to_yaml(&json!({})), "{}\n");
        assert_eq!(to_yaml(&json!([])), "[]\n");
        assert_eq!(to_yaml(&json!(null)), "null\n");
        assert_eq!(to_yaml(&json!("on")), "\"on\"\n");
        assert_eq!(to_yaml(&json!("a\nb\n")), "|\n  a\n  b\n");
        assert_eq!(to_yaml(&json!(" a\nb\n")), "\" a\\nb\\n\"\n");
        assert_eq!(to_yaml(&json!([1, "x"])), "- 1\n- x\n");
    }

    #[test]
    fn block_scalars_in_sequences_and_nested_maps() {
        let v = json!({"a": [{"s": " x\ny"}, " p\nq\n"]});
        assert_eq!(
            to_yaml(&v),
            "a:\n- s: |2-\n     x\n    y\n- |2\n   p\n  q\n"
        );
    }

    #[test]
    fn very_long_keys_use_the_explicit_form() {
        let key = "k".repeat(1200);
        let v = json!({ &key: {"a": [1]}, "b": [&key] });
        let want = format!("b:\n- {key}\n? {key}\n:\n  a:\n  - 1\n");
        assert_eq!(to_yaml(&v), want);
        assert_eq!(round_trip(&v), Ok(v));
    }

    #[test]
    fn output_ends_with_exactly_one_newline() {
        for v in [
            json!({"k": "a\n"}),
            json!(["x\ny\n"]),
            json!({"k": {"j": "z\n"}}),
            json!("t\n"),
        ] {
            let y = to_yaml(&v);
            assert!(y.ends_with('\n') && !y.ends_with("\n\n"), "{y:?}");
        }
    }

    fn round_trip(v: &Value) -> Result<Value, String> {
        let text = to_yaml(v);
        crate::yaml::read::parse("t.yaml", &text)
            .map(|node| node.to_json())
            .map_err(|d| format!("{d}\n--- text ---\n{text}"))
    }

    #[test]
    fn tricky_strings_round_trip_through_our_reader() {
        for (s, _) in TRICKY {
            let v = json!({ "k": s, *s: [s, {"n": s}] });
            assert_eq!(round_trip(&v).as_ref(), Ok(&v), "{s:?}\n{}", to_yaml(&v));
        }
    }

    fn tricky_string() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(
                TRICKY
                    .iter()
                    .map(|(s, _)| s.to_string())
                    .collect::<Vec<_>>()
            ),
            "[a-zA-Z0-9 :#\\-?.,'\"\\n\\t]{0,12}",
            "[ \\n]{0,2}[a-z0-9]{0,4}( [a-z]{1,3})?[ \\n]{0,3}",
            "\\PC{0,10}",
            any::<String>(),
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            // u64 above i64::MAX is left out: the reader keeps such integers as text.
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            tricky_string().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(tricky_string(), inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn the_ascii_block_check_agrees_with_the_general_one(s in "[ \t\n\r\x0b!-~]{0,12}") {
            prop_assert_eq!(literal_block_ok_ascii(s.as_bytes()), literal_block_ok_chars(&s));
        }

        /// The one-pass decision equals the two checks it replaced, taken in their order.
        #[test]
        fn the_one_pass_style_agrees_with_the_two_checks(
            s in "[ \t\n\r\x00\x0b\x7f!-~yYnNoOfFlLuU0-9.:#-]{0,14}"
        ) {
            let expected = if literal_block_ok(&s) {
                Style::Literal
            } else if needs_quotes(&s) {
                Style::Quoted
            } else {
                Style::Plain
            };
            prop_assert_eq!(style(&s), expected);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn random_values_round_trip(v in json_value()) {
            prop_assert_eq!(round_trip(&v), Ok(v.clone()));
            // Byte-stable: writing what was read gives the same text.
            prop_assert_eq!(to_yaml(&v), to_yaml(&v.clone()));
        }
    }

    /// PyYAML is a YAML 1.1 reader, like much of the Kubernetes tool chain. Skipped (with a note
    /// on stderr) when python3 or PyYAML is not installed.
    #[test]
    fn pyyaml_reads_the_same_values() {
        use std::process::Command;
        let probe = Command::new("python3").args(["-c", "import yaml"]).output();
        if !matches!(probe, Ok(ref o) if o.status.success()) {
            eprintln!("skipping: python3 with PyYAML not available");
            return;
        }
        let mut samples: Vec<Value> = TRICKY
            .iter()
            .map(|(s, _)| json!({ "k": s, *s: [s] }))
            .collect();
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = json_value();
        for _ in 0..200 {
            if let Ok(tree) = strategy.new_tree(&mut runner) {
                samples.push(tree.current());
            }
        }
        samples.push(json!({"f": [0.1, 1e300, -2.5e-9, 3.0, 1e16], "i": [0, -1, i64::MAX]}));
        let cases: Vec<Value> = samples.iter().map(|v| json!([to_yaml(v), v])).collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("cases.json");
        std::fs::write(&input, serde_json::to_vec(&cases).expect("json")).expect("write");
        let script = r#"
import json, math, sys, yaml
def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b and type(a) is type(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b
bad = 0
for text, want in json.load(open(sys.argv[1], encoding="utf-8")):
    try:
        got = yaml.safe_load(text)
    except Exception as e:
        got = "<error: %s>" % e
    if not same(got, want):
        bad += 1
        if bad <= 5:
            print("MISMATCH\n" + text + "\ngot:  " + repr(got) + "\nwant: " + repr(want))
print("bad=%d" % bad)
"#;
        let out = Command::new("python3")
            .args(["-c", script])
            .arg(&input)
            .output()
            .expect("run python3");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "python failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.trim_end().ends_with("bad=0"), "{stdout}");
    }
}
