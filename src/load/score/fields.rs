//! The fields of every Score object and the readers every part of the loader uses: a mapping's
//! fields with unknown ones reported (with the closest valid name), required fields, and typed
//! values (strings, booleans, ports, one-of-a-set), each problem pointed at its key or value.

use crate::diag::{Code, Diagnostic, Span, Spanned, did_you_mean};
use crate::yaml::{Node, NodeKind};

use super::Loader;
use super::patterns::{LABEL_RULE, is_label, suggest_label};
use super::placeholders::{first_unclosed, split_placeholders};

pub(super) const TOP_FIELDS: &[&str] = &[
    "apiVersion",
    "metadata",
    "service",
    "containers",
    "resources",
];
pub(super) const CONTAINER_FIELDS: &[&str] = &[
    "image",
    "command",
    "args",
    "variables",
    "files",
    "volumes",
    "before",
    "resources",
    "livenessProbe",
    "readinessProbe",
];
pub(super) const FILE_FIELDS: &[&str] = &["mode", "source", "content", "binaryContent", "noExpand"];
pub(super) const FILE_FIELDS_LIST: &[&str] = &[
    "target",
    "mode",
    "source",
    "content",
    "binaryContent",
    "noExpand",
];
pub(super) const VOLUME_FIELDS: &[&str] = &["source", "path", "readOnly"];
pub(super) const VOLUME_FIELDS_LIST: &[&str] = &["target", "source", "path", "readOnly"];
pub(super) const RESOURCES_FIELDS: &[&str] = &["limits", "requests"];
pub(super) const QUANTITY_FIELDS: &[&str] = &["cpu", "memory"];
pub(super) const PROBE_FIELDS: &[&str] = &["httpGet", "exec"];
pub(super) const HTTP_PROBE_FIELDS: &[&str] = &["host", "scheme", "path", "port", "httpHeaders"];
pub(super) const HEADER_FIELDS: &[&str] = &["name", "value"];
pub(super) const EXEC_FIELDS: &[&str] = &["command"];
pub(super) const BEFORE_FIELDS: &[&str] = &["ready"];
pub(super) const SERVICE_FIELDS: &[&str] = &["ports"];
pub(super) const PORT_FIELDS: &[&str] = &["port", "targetPort", "protocol"];
pub(super) const RESOURCE_FIELDS: &[&str] = &["type", "class", "id", "metadata", "params"];
pub(super) const PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];
pub(super) const SCHEMES: &[&str] = &["HTTP", "HTTPS"];
pub(super) const READY_STATES: &[&str] = &["started", "healthy", "complete"];

/// A mapping's entries, keys with their spans.
pub(super) type Entries = [(Spanned<String>, Node)];

impl Loader<'_> {
    pub(super) fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub(super) fn wrong_type(&mut self, node: &Node, expected: &str, path: &str) {
        let mut d = Diagnostic::at(
            Code::WrongType,
            &node.span,
            format!("expected {expected}, found {}", found(node)),
        );
        if !path.is_empty() {
            d = d.with_note(format!("at `{path}`"));
        }
        self.push(d);
    }

    /// The entries of a mapping whose keys must be among `allowed` (or start with `x-`).
    pub(super) fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &[&str],
    ) -> Option<&'n Entries> {
        let Some(entries) = node.as_map() else {
            self.wrong_type(node, "a mapping", path);
            return None;
        };
        for (k, _) in entries {
            if allowed.contains(&k.value.as_str()) || k.value.starts_with("x-") {
                continue;
            }
            let mut d = Diagnostic::at(
                Code::UnknownField,
                &k.span,
                format!("unknown field `{}`", k.value),
            )
            .with_note(if path.is_empty() {
                format!("valid fields of the workload: {}", list(allowed))
            } else {
                format!("valid fields of `{path}`: {}", list(allowed))
            });
            d = match did_you_mean(&k.value, allowed.iter().copied()) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_help("remove it, or prefix it with `x-` to keep it as an extension"),
            };
            self.push(d);
        }
        Some(entries)
    }

    pub(super) fn mapping<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n Entries> {
        match node.as_map() {
            Some(m) => Some(m),
            None => {
                self.wrong_type(node, "a mapping", path);
                None
            }
        }
    }

    pub(super) fn required<'n>(
        &mut self,
        entries: &'n Entries,
        name: &str,
        owner: &Span,
        path: &str,
    ) -> Option<&'n Node> {
        let found = get(entries, name);
        // A misspelt key (`imgae`) already got "did you mean `image`?"; a second error saying
        // `image` is missing would only repeat it. An `x-` key got no error (it is an extension),
        // so it is no excuse (found by fuzzing: `x-deepmetadata` hid a missing `metadata`).
        let misspelt = entries.iter().any(|(k, _)| {
            !is_field_name(&k.value)
                && !k.value.starts_with("x-")
                && did_you_mean(&k.value, [name]).is_some()
        });
        if found.is_none() && !misspelt {
            let what = if path.is_empty() {
                "the workload".to_string()
            } else {
                format!("`{path}`")
            };
            self.push(Diagnostic::at(
                Code::MissingField,
                owner,
                format!("missing required field `{name}` in {what}"),
            ));
        }
        found
    }

    /// Any scalar read as the text the author typed (Score fields are strings; `8080` or `true`
    /// written unquoted are taken as written).
    pub(super) fn string(&mut self, node: &Node, path: &str) -> Option<Spanned<String>> {
        match &node.kind {
            NodeKind::Scalar { text, plain } if !*plain || !node.to_json().is_null() => {
                Some(Spanned::new(text.clone(), node.span.clone()))
            }
            _ => {
                let mut d = Diagnostic::at(
                    Code::WrongType,
                    &node.span,
                    format!("expected a string, found {}", found(node)),
                )
                .with_note(format!("at `{path}`"));
                if matches!(node.kind, NodeKind::Null | NodeKind::Scalar { .. }) {
                    d = d.with_help("write `\"\"` for an empty string");
                }
                self.push(d);
                None
            }
        }
    }

    /// A string that must not be empty.
    pub(super) fn nonempty(&mut self, node: &Node, path: &str) -> Option<Spanned<String>> {
        let s = self.string(node, path)?;
        if s.value.is_empty() {
            self.push(Diagnostic::at(
                Code::InvalidValue,
                &s.span,
                format!("`{path}` is empty: expected a non-empty string"),
            ));
            return None;
        }
        Some(s)
    }

    pub(super) fn string_with_placeholders(
        &mut self,
        node: &Node,
        path: &str,
    ) -> Option<Spanned<String>> {
        let s = self.string(node, path)?;
        self.check_placeholders(&s.value, node, path);
        Some(s)
    }

    /// Whether the source line of `span` holds `prefix` as typed from the span's column.
    fn written_on_one_line(&self, span: &Span, prefix: &str) -> bool {
        let line = usize::try_from(span.line)
            .unwrap_or(usize::MAX)
            .saturating_sub(1);
        let col = usize::try_from(span.col)
            .unwrap_or(usize::MAX)
            .saturating_sub(1);
        // A lone `\r` (a YAML line break too) only makes this answer no: the value's start.
        self.text
            .split('\n')
            .nth(line)
            .and_then(|l| l.char_indices().nth(col).map(|(i, _)| &l[i..]))
            .is_some_and(|rest| rest.starts_with(prefix))
    }

    pub(super) fn check_placeholders(&mut self, text: &str, node: &Node, path: &str) {
        if let Err(msg) = split_placeholders(text) {
            let mut span = node.span.clone();
            // A plain scalar written on one line is the text as typed, so the `${` can be
            // pointed at exactly; otherwise quoting and folding shift columns and the value's
            // start is used. A folded plain scalar has no `\n` left in its text, so the source
            // line itself must hold it (found by fuzzing: a column past the line's end).
            if let NodeKind::Scalar {
                plain: true,
                text: raw,
            } = &node.kind
                && let Some(off) = first_unclosed(raw)
                && self.written_on_one_line(&node.span, &raw[..off])
            {
                let chars = raw[..off].chars().count();
                span.col = span.col.saturating_add(u32::try_from(chars).unwrap_or(0));
            }
            self.push(
                Diagnostic::at(Code::InvalidValue, &span, msg)
                    .with_note(format!("at `{path}`"))
                    .with_help("write `$${` for a literal `${`"),
            );
        }
    }

    pub(super) fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        if let NodeKind::Scalar { text, plain: true } = &node.kind {
            match text.as_str() {
                "true" | "True" | "TRUE" => return Some(true),
                "false" | "False" | "FALSE" => return Some(false),
                _ => {}
            }
        }
        self.push(
            Diagnostic::at(
                Code::WrongType,
                &node.span,
                format!("expected a boolean, found {}", found(node)),
            )
            .with_note(format!("at `{path}`"))
            .with_help("write `true` or `false` without quotes"),
        );
        None
    }

    pub(super) fn port(&mut self, node: &Node, path: &str) -> Option<Spanned<u16>> {
        let n = match &node.kind {
            NodeKind::Scalar { text, plain: true } => text.parse::<i64>().ok(),
            _ => None,
        };
        let Some(n) = n else {
            let mut d = Diagnostic::at(
                Code::WrongType,
                &node.span,
                format!("expected an integer, found {}", found(node)),
            )
            .with_note(format!("at `{path}`"));
            // A hexadecimal, octal or exponent form reads as text here, as in every value.
            if let NodeKind::Scalar { text, plain: true } = &node.kind {
                d = d.with_help(format!("write the port in decimal digits, not `{text}`"));
            }
            self.push(d);
            return None;
        };
        match u16::try_from(n) {
            Ok(p) if p >= 1 => Some(Spanned::new(p, node.span.clone())),
            _ => {
                self.push(
                    Diagnostic::at(
                        Code::InvalidValue,
                        &node.span,
                        format!("port {n} is out of range: expected an integer from 1 to 65535"),
                    )
                    .with_note(format!("at `{path}`")),
                );
                None
            }
        }
    }

    pub(super) fn strings(
        &mut self,
        node: &Node,
        path: &str,
        placeholders: bool,
    ) -> Vec<Spanned<String>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.wrong_type(node, "a sequence of strings", path);
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let s = if placeholders {
                self.string_with_placeholders(item, &p)
            } else {
                self.string(item, &p)
            };
            out.extend(s);
        }
        out
    }

    pub(super) fn one_of(
        &mut self,
        s: &Spanned<String>,
        allowed: &[&str],
        what: &str,
        path: &str,
    ) -> bool {
        if allowed.contains(&s.value.as_str()) {
            return true;
        }
        let mut d = Diagnostic::at(
            Code::InvalidValue,
            &s.span,
            format!(
                "unknown {what} `{}`: expected {}",
                s.value,
                or_list(allowed)
            ),
        )
        .with_note(format!("at `{path}`"));
        if let Some(m) = did_you_mean(&s.value, allowed.iter().copied()) {
            d = d.with_help(format!("did you mean `{m}`?"));
        } else if allowed == PROTOCOLS
            && ["HTTP", "HTTPS", "HTTP2", "GRPC", "H2C"]
                .contains(&s.value.to_ascii_uppercase().as_str())
        {
            d = d.with_help("this is the transport protocol: HTTP and gRPC run over `TCP`, which is the default");
        }
        self.push(d);
        false
    }

    /// Checks a name against a pattern; `rule` says what was expected.
    pub(super) fn check_name(
        &mut self,
        s: &Spanned<String>,
        ok: bool,
        what: &str,
        rule: &str,
        fix: Option<String>,
    ) -> bool {
        if ok {
            return true;
        }
        let mut d = Diagnostic::at(
            Code::InvalidValue,
            &s.span,
            format!("invalid {what} `{}`: expected {rule}", s.value),
        );
        if let Some(fix) = fix {
            d = d.with_help(format!("did you mean `{fix}`?"));
        }
        self.push(d);
        false
    }

    pub(super) fn label(&mut self, s: &Spanned<String>, what: &str) -> bool {
        let ok = is_label(&s.value);
        let fix = if ok { None } else { suggest_label(&s.value) };
        self.check_name(s, ok, what, LABEL_RULE, fix)
    }
}

/// Whether `k` is a field of some Score object (so not a misspelling of another one).
fn is_field_name(k: &str) -> bool {
    [
        TOP_FIELDS,
        CONTAINER_FIELDS,
        FILE_FIELDS_LIST,
        VOLUME_FIELDS_LIST,
        RESOURCES_FIELDS,
        QUANTITY_FIELDS,
        PROBE_FIELDS,
        HTTP_PROBE_FIELDS,
        HEADER_FIELDS,
        EXEC_FIELDS,
        BEFORE_FIELDS,
        SERVICE_FIELDS,
        PORT_FIELDS,
        RESOURCE_FIELDS,
    ]
    .iter()
    .any(|fields| fields.contains(&k))
}

pub(super) fn get<'n>(entries: &'n Entries, name: &str) -> Option<&'n Node> {
    entries
        .iter()
        .find(|(k, _)| k.value == name)
        .map(|(_, v)| v)
}

/// The key's span, for errors about the value as a whole (the key is what the reader scans for).
pub(super) fn key_span<'n>(entries: &'n Entries, name: &str, fallback: &'n Span) -> &'n Span {
    entries
        .iter()
        .find(|(k, _)| k.value == name)
        .map_or(fallback, |(k, _)| &k.span)
}

/// What a node is, for "expected X, found Y" messages.
pub(super) fn found(n: &Node) -> &'static str {
    match &n.kind {
        NodeKind::Null => "null",
        NodeKind::Scalar { plain: false, .. } => "a string",
        NodeKind::Scalar { .. } => match n.to_json() {
            serde_json::Value::Null => "null",
            serde_json::Value::Bool(_) => "a boolean",
            serde_json::Value::Number(_) => "a number",
            _ => "a string",
        },
        NodeKind::Seq(_) => "a sequence",
        NodeKind::Map(_) => "a mapping",
    }
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => format!("`{one}`"),
        [init @ .., last] => format!("{} or `{last}`", list(init)),
    }
}

#[cfg(test)]
mod tests {
    use crate::load::score::tests::{errors, load, one_error, with_head};

    #[test]
    fn unknown_field_with_suggestion() {
        let e = one_error(&with_head(
            "containers:\n  main:\n    imgae: nginx:1.27\n    image: nginx:1.27\n",
        ));
        assert_eq!(
            e,
            "w.yaml:6:5: error: unknown field `imgae`\n  note: valid fields of `containers.main`: `image`, `command`, `args`, `variables`, `files`, `volumes`, `before`, `resources`, `livenessProbe`, `readinessProbe`\n  help: did you mean `image`?"
        );
        let e = one_error(&with_head(
            "containers:\n  main:\n    image: a:1\nreplicas: 3\n",
        ));
        assert!(e.starts_with("w.yaml:7:1: error: unknown field `replicas`\n  note: valid fields of the workload: `apiVersion`"), "{e}");
        assert!(
            e.ends_with("help: remove it, or prefix it with `x-` to keep it as an extension"),
            "{e}"
        );
    }

    #[test]
    fn wrong_type() {
        assert_eq!(
            one_error(&with_head(
                "containers:\n  main:\n    image:\n      name: nginx\n"
            )),
            "w.yaml:7:7: error: expected a string, found a mapping\n  note: at `containers.main.image`"
        );
        assert_eq!(
            one_error(&with_head(
                "containers:\n  main:\n    image: a:1\n    command: /bin/app\n"
            )),
            "w.yaml:7:14: error: expected a sequence of strings, found a string\n  note: at `containers.main.command`"
        );
        assert_eq!(
            one_error(&with_head("containers: [main]\n")),
            "w.yaml:4:13: error: expected a mapping, found a sequence\n  note: at `containers`"
        );
        assert_eq!(
            one_error(&with_head(
                "containers:\n  main:\n    image: a:1\n    volumes:\n      /d:\n        source: x\n        readOnly: \"yes\"\n"
            )),
            "w.yaml:10:19: error: expected a boolean, found a string\n  note: at `containers.main.volumes./d.readOnly`\n  help: write `true` or `false` without quotes"
        );
        assert_eq!(
            one_error(&with_head(
                "containers:\n  main:\n    image: a:1\n    variables:\n      EMPTY:\n"
            )),
            "w.yaml:8:12: error: expected a string, found null\n  note: at `containers.main.variables.EMPTY`\n  help: write `\"\"` for an empty string"
        );
        assert_eq!(
            one_error("- a\n"),
            "w.yaml:1:1: error: expected a Score workload (a mapping), found a sequence\n  help: start the file with `apiVersion: score.dev/v1b1`, then `metadata` and `containers`"
        );
    }

    #[test]
    fn missing_required_fields() {
        assert_eq!(
            one_error(&with_head("containers:\n  main:\n    command: [run]\n")),
            "w.yaml:5:3: error: missing required field `image` in `containers.main`"
        );
        let e = errors("metadata:\n  title: x\n");
        assert_eq!(
            e,
            vec![
                "w.yaml:1:1: error: missing required field `apiVersion` in the workload"
                    .to_string(),
                "w.yaml:1:1: error: missing required field `containers` in the workload"
                    .to_string(),
                "w.yaml:1:1: error: missing required field `name` in `metadata`".to_string(),
            ]
        );
        assert_eq!(
            one_error(&with_head(
                "containers:\n  main:\n    image: a:1\nresources:\n  db:\n    class: big\n"
            )),
            "w.yaml:8:3: error: missing required field `type` in `resources.db`"
        );
        assert_eq!(
            one_error(&with_head("containers: {}\n")),
            "w.yaml:4:13: error: `containers` is empty: expected at least one container"
        );
    }

    #[test]
    fn placeholders_are_checked_lexically() {
        assert_eq!(
            one_error(&with_head(
                "containers:\n  main:\n    image: a:1\n    variables:\n      DB: postgres://${resources.db.host\n"
            )),
            "w.yaml:8:22: error: unclosed placeholder `${resources.db.host`: expected a closing `}`\n  note: at `containers.main.variables.DB`\n  help: write `$${` for a literal `${`"
        );
        assert!(
            load(&with_head(
                "containers:\n  main:\n    image: a:1\n    variables:\n      A: $${x\n"
            ))
            .is_ok()
        );
        let e = one_error(&with_head(
            "containers:\n  main:\n    image: a:1\nresources:\n  rt:\n    type: route\n    params:\n      hosts: [\"${}\"]\n",
        ));
        assert!(
            e.starts_with("w.yaml:11:15: error: empty placeholder `${}`"),
            "{e}"
        );
        let noexp = with_head(
            "containers:\n  main:\n    image: a:1\n    files:\n      /a:\n        content: \"${open\"\n        noExpand: true\n",
        );
        assert!(load(&noexp).is_ok());
    }
}
