//! Reads Score workload specs (`apiVersion: score.dev/v1b1`) into `model::Workload`.
//!
//! Every field of the Score v1b1 JSON schema is read and checked here, by hand rather than
//! through serde, so that each problem points at the exact key or value, says what was expected,
//! and all problems of a file are reported together. Placeholders (`${...}`) are only checked
//! lexically here; the resolver gives them meaning.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diag::{Code, Diagnostic, Diagnostics, Span, Spanned, did_you_mean};
use crate::model::{
    ANN_PROFILE, ANN_TEAM, Container, ContainerFile, ContainerResources, ContainerVolume,
    FileContent, HttpProbe, Probe, QuantitySpec, ResourceRequest, Service, ServicePort, Workload,
};
use crate::yaml::{Node, NodeKind};

/// The only Score version platc reads.
pub const API_VERSION: &str = "score.dev/v1b1";

const TOP_FIELDS: &[&str] = &[
    "apiVersion",
    "metadata",
    "service",
    "containers",
    "resources",
];
const CONTAINER_FIELDS: &[&str] = &[
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
const FILE_FIELDS: &[&str] = &["mode", "source", "content", "binaryContent", "noExpand"];
const FILE_FIELDS_LIST: &[&str] = &[
    "target",
    "mode",
    "source",
    "content",
    "binaryContent",
    "noExpand",
];
const VOLUME_FIELDS: &[&str] = &["source", "path", "readOnly"];
const VOLUME_FIELDS_LIST: &[&str] = &["target", "source", "path", "readOnly"];
const RESOURCES_FIELDS: &[&str] = &["limits", "requests"];
const QUANTITY_FIELDS: &[&str] = &["cpu", "memory"];
const PROBE_FIELDS: &[&str] = &["httpGet", "exec"];
const HTTP_PROBE_FIELDS: &[&str] = &["host", "scheme", "path", "port", "httpHeaders"];
const HEADER_FIELDS: &[&str] = &["name", "value"];
const EXEC_FIELDS: &[&str] = &["command"];
const BEFORE_FIELDS: &[&str] = &["ready"];
const SERVICE_FIELDS: &[&str] = &["ports"];
const PORT_FIELDS: &[&str] = &["port", "targetPort", "protocol"];
const RESOURCE_FIELDS: &[&str] = &["type", "class", "id", "metadata", "params"];
const PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];
const SCHEMES: &[&str] = &["HTTP", "HTTPS"];
const READY_STATES: &[&str] = &["started", "healthy", "complete"];

/// Reads one Score file. `read_source` is given a `files.*.source` exactly as written and returns
/// that file's text or a message saying why it cannot (the caller sandboxes the path).
pub fn parse_workload(
    file: &str,
    text: &str,
    read_source: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Workload, Diagnostics> {
    let root = crate::yaml::read::parse(file, text)?;
    let mut loader = Loader {
        file: Arc::from(file),
        diags: Diagnostics::new(),
        read_source,
    };
    let workload = loader.workload(&root);
    loader.diags.into_result(workload)
}

// ---------------------------------------------------------------------------------------------
// Placeholders
// ---------------------------------------------------------------------------------------------

/// A piece of a string that may hold `${...}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text, escapes (`$$`, `$${`) already undone.
    Text(String),
    /// `${a.b.c}` as its path (`["a", "b", "c"]`); `offset` is the byte offset of the `$` in the
    /// original string.
    Placeholder { path: Vec<String>, offset: usize },
}

/// Splits a string into literal text and placeholders, as Score defines them: `${a.b}` is a
/// placeholder whose path is split on `.`, `\.` is a literal dot inside a path segment, `$$` is a
/// literal `$` (so `$${x}` is the text `${x}`), and any other `$` is literal. An unclosed `${` is
/// an error rather than text, because it is almost always a typo.
pub fn split_placeholders(s: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        if bytes[i] != b'$' {
            // Copy up to the next `$` in one go; `$` is ASCII so this is a char boundary.
            let next = s[i..].find('$').map_or(s.len(), |p| i + p);
            text.push_str(&s[i..next]);
            i = next;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => {
                text.push('$');
                i += 2;
            }
            Some(b'{') => {
                let body_start = i + 2;
                let Some(close) = s[body_start..].find('}').map(|p| body_start + p) else {
                    return Err(format!(
                        "unclosed placeholder `{}`: expected a closing `}}`",
                        shorten(&s[i..])
                    ));
                };
                let body = &s[body_start..close];
                let path = split_ref(body)?;
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Placeholder { path, offset: i });
                i = close + 1;
            }
            _ => {
                text.push('$');
                i += 1;
            }
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn split_ref(body: &str) -> Result<Vec<String>, String> {
    if body.trim().is_empty() {
        return Err(
            "empty placeholder `${}`: expected a path such as `${resources.db.host}`".into(),
        );
    }
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                cur.push('.');
                chars.next();
            }
            '.' => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    if parts.iter().any(String::is_empty) {
        return Err(format!(
            "invalid placeholder `${{{body}}}`: expected names separated by single dots, such as `${{resources.db.host}}`"
        ));
    }
    Ok(parts)
}

/// Long unclosed placeholders are cut in messages so one line stays readable.
fn shorten(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    match line.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// The loader
// ---------------------------------------------------------------------------------------------

type Entries = [(Spanned<String>, Node)];

struct Loader<'r> {
    file: Arc<str>,
    diags: Diagnostics,
    read_source: &'r mut dyn FnMut(&str) -> Result<String, String>,
}

/// What a node is, for "expected X, found Y" messages.
fn found(n: &Node) -> &'static str {
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

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl Loader<'_> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn wrong_type(&mut self, node: &Node, expected: &str, path: &str) {
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
    fn fields<'n>(&mut self, node: &'n Node, path: &str, allowed: &[&str]) -> Option<&'n Entries> {
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

    fn mapping<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n Entries> {
        match node.as_map() {
            Some(m) => Some(m),
            None => {
                self.wrong_type(node, "a mapping", path);
                None
            }
        }
    }

    fn required<'n>(
        &mut self,
        entries: &'n Entries,
        name: &str,
        owner: &Span,
        path: &str,
    ) -> Option<&'n Node> {
        let found = get(entries, name);
        // A misspelt key (`imgae`) already got "did you mean `image`?"; a second error saying
        // `image` is missing would only repeat it.
        let misspelt = entries
            .iter()
            .any(|(k, _)| !is_field_name(&k.value) && did_you_mean(&k.value, [name]).is_some());
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
    fn string(&mut self, node: &Node, path: &str) -> Option<Spanned<String>> {
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
    fn nonempty(&mut self, node: &Node, path: &str) -> Option<Spanned<String>> {
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

    fn string_with_placeholders(&mut self, node: &Node, path: &str) -> Option<Spanned<String>> {
        let s = self.string(node, path)?;
        self.check_placeholders(&s.value, node, path);
        Some(s)
    }

    fn check_placeholders(&mut self, text: &str, node: &Node, path: &str) {
        if let Err(msg) = split_placeholders(text) {
            let mut span = node.span.clone();
            // A single-line plain scalar is the text as typed, so the `${` can be pointed at
            // exactly; otherwise quoting and folding shift columns and the value's start is used.
            if let NodeKind::Scalar {
                plain: true,
                text: raw,
            } = &node.kind
                && !raw.contains('\n')
                && let Some(off) = first_unclosed(raw)
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

    fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
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

    fn port(&mut self, node: &Node, path: &str) -> Option<Spanned<u16>> {
        let n = match &node.kind {
            NodeKind::Scalar { text, plain: true } => text.parse::<i64>().ok(),
            _ => None,
        };
        let Some(n) = n else {
            self.push(
                Diagnostic::at(
                    Code::WrongType,
                    &node.span,
                    format!("expected an integer, found {}", found(node)),
                )
                .with_note(format!("at `{path}`")),
            );
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

    fn strings(&mut self, node: &Node, path: &str, placeholders: bool) -> Vec<Spanned<String>> {
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

    fn one_of(&mut self, s: &Spanned<String>, allowed: &[&str], what: &str, path: &str) -> bool {
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
    fn check_name(
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

    fn label(&mut self, s: &Spanned<String>, what: &str) -> bool {
        let ok = is_label(&s.value);
        let fix = if ok { None } else { suggest_label(&s.value) };
        self.check_name(s, ok, what, LABEL_RULE, fix)
    }

    // --- the workload ------------------------------------------------------------------------

    fn workload(&mut self, root: &Node) -> Workload {
        let mut w = Workload {
            name: Spanned::new(String::new(), root.span.clone()),
            file: self.file.clone(),
            metadata: Node {
                kind: NodeKind::Map(Vec::new()),
                span: root.span.clone(),
            },
            annotations: BTreeMap::new(),
            team: None,
            profile: None,
            containers: BTreeMap::new(),
            service: None,
            resources: BTreeMap::new(),
            extensions: BTreeMap::new(),
            read_files: Vec::new(),
        };
        let Some(top) = root.as_map() else {
            self.push(
                Diagnostic::at(
                    Code::WrongType,
                    &root.span,
                    format!("expected a Score workload (a mapping), found {}", found(root)),
                )
                .with_help(format!(
                    "start the file with `apiVersion: {API_VERSION}`, then `metadata` and `containers`"
                )),
            );
            return w;
        };
        let top = self.fields(root, "", TOP_FIELDS).unwrap_or(top);
        for (k, v) in top {
            if k.value.starts_with("x-") {
                w.extensions.insert(k.value.clone(), v.clone());
            }
        }

        if let Some(v) = self.required(top, "apiVersion", &root.span, "")
            && let Some(s) = self.string(v, "apiVersion")
            && s.value != API_VERSION
        {
            self.push(
                Diagnostic::at(
                    Code::InvalidValue,
                    &s.span,
                    format!(
                        "unsupported apiVersion `{}`: expected `{API_VERSION}`",
                        s.value
                    ),
                )
                .with_help(format!(
                    "platc reads Score workloads of `apiVersion: {API_VERSION}`"
                )),
            );
        }

        if let Some(meta) = self.required(top, "metadata", &root.span, "") {
            self.metadata(meta, key_span(top, "metadata", &root.span), &mut w);
        }

        if let Some(node) = self.required(top, "containers", &root.span, "")
            && let Some(entries) = self.mapping(node, "containers")
        {
            if entries.is_empty() {
                self.push(Diagnostic::at(
                    Code::MissingField,
                    &node.span,
                    "`containers` is empty: expected at least one container",
                ));
            }
            let names: Vec<&str> = entries.iter().map(|(k, _)| k.value.as_str()).collect();
            for (k, v) in entries {
                self.label(k, "container name");
                if let Some(c) = self.container(k, v, &names) {
                    w.containers.insert(k.value.clone(), c);
                }
            }
        }

        if let Some(node) = get(top, "service") {
            w.service = self.service(node);
        }

        if let Some(node) = get(top, "resources")
            && let Some(entries) = self.mapping(node, "resources")
        {
            for (k, v) in entries {
                self.label(k, "resource name");
                if let Some(r) = self.resource(k, v) {
                    w.resources.insert(k.value.clone(), r);
                }
            }
        }
        w
    }

    fn metadata(&mut self, meta: &Node, key: &Span, w: &mut Workload) {
        let Some(entries) = self.mapping(meta, "metadata") else {
            return;
        };
        w.metadata = meta.clone();
        if let Some(name) = self.required(entries, "name", key, "metadata")
            && let Some(s) = self.string(name, "metadata.name")
        {
            self.label(&s, "workload name");
            w.name = s;
        }
        if let Some(ann) = get(entries, "annotations") {
            w.annotations = self.annotations(ann, "metadata.annotations");
        }
        w.team = w.annotations.get(ANN_TEAM).cloned();
        w.profile = w.annotations.get(ANN_PROFILE).cloned();
    }

    fn annotations(&mut self, node: &Node, path: &str) -> BTreeMap<String, Spanned<String>> {
        let mut out = BTreeMap::new();
        let Some(entries) = self.mapping(node, path) else {
            return out;
        };
        for (k, v) in entries {
            self.check_name(
                k,
                is_annotation_key(&k.value),
                "annotation key",
                "an optional DNS prefix and `/`, then 2-63 characters of A-Z, a-z, 0-9, `-`, `_` and `.` starting and ending with a letter or digit (for example `platc.dev/team`)",
                None,
            );
            if let Some(s) = self.string(v, &join(path, &k.value)) {
                out.insert(k.value.clone(), s);
            }
        }
        out
    }

    // --- containers --------------------------------------------------------------------------

    fn container(
        &mut self,
        key: &Spanned<String>,
        node: &Node,
        names: &[&str],
    ) -> Option<Container> {
        let path = format!("containers.{}", key.value);
        let entries = self.fields(node, &path, CONTAINER_FIELDS)?;
        let image = self
            .required(entries, "image", &key.span, &path)
            .and_then(|v| self.nonempty(v, &format!("{path}.image")));
        let mut c = Container {
            name: key.clone(),
            image: image
                .clone()
                .unwrap_or_else(|| Spanned::new(String::new(), key.span.clone())),
            command: Vec::new(),
            args: Vec::new(),
            variables: BTreeMap::new(),
            files: BTreeMap::new(),
            volumes: BTreeMap::new(),
            before: BTreeMap::new(),
            resources: None,
            liveness_probe: None,
            readiness_probe: None,
        };
        if let Some(v) = get(entries, "command") {
            c.command = self.strings(v, &format!("{path}.command"), true);
        }
        if let Some(v) = get(entries, "args") {
            c.args = self.strings(v, &format!("{path}.args"), true);
        }
        if let Some(v) = get(entries, "variables") {
            let vpath = format!("{path}.variables");
            if let Some(vars) = self.mapping(v, &vpath) {
                for (k, val) in vars {
                    if k.value.is_empty() || k.value.contains('=') {
                        self.push(Diagnostic::at(
                            Code::InvalidValue,
                            &k.span,
                            format!(
                                "invalid variable name `{}`: expected a non-empty name without `=`",
                                k.value
                            ),
                        ));
                    }
                    if let Some(s) = self.string_with_placeholders(val, &join(&vpath, &k.value)) {
                        c.variables.insert(k.value.clone(), s);
                    }
                }
            }
        }
        if let Some(v) = get(entries, "files") {
            c.files = self.files(v, &format!("{path}.files"));
        }
        if let Some(v) = get(entries, "volumes") {
            c.volumes = self.volumes(v, &format!("{path}.volumes"));
        }
        if let Some(v) = get(entries, "before") {
            c.before = self.before(v, &format!("{path}.before"), &key.value, names);
        }
        if let Some(v) = get(entries, "resources") {
            c.resources = self.container_resources(v, &format!("{path}.resources"));
        }
        if let Some(v) = get(entries, "livenessProbe") {
            c.liveness_probe = self.probe(
                v,
                key_span(entries, "livenessProbe", &key.span),
                &format!("{path}.livenessProbe"),
            );
        }
        if let Some(v) = get(entries, "readinessProbe") {
            c.readiness_probe = self.probe(
                v,
                key_span(entries, "readinessProbe", &key.span),
                &format!("{path}.readinessProbe"),
            );
        }
        image.map(|_| c)
    }

    fn files(&mut self, node: &Node, path: &str) -> BTreeMap<String, ContainerFile> {
        let mut out = BTreeMap::new();
        match &node.kind {
            NodeKind::Map(entries) => {
                for (k, v) in entries {
                    let p = join(path, &k.value);
                    if k.value.is_empty() {
                        self.push(Diagnostic::at(
                            Code::InvalidValue,
                            &k.span,
                            "empty file target: expected a path",
                        ));
                        continue;
                    }
                    if let Some(f) = self.file(v, Some(k), &p) {
                        out.insert(k.value.clone(), f);
                    }
                }
            }
            NodeKind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    if let Some(f) = self.file(item, None, &p) {
                        if out.contains_key(&f.target.value) {
                            self.push(Diagnostic::at(
                                Code::DuplicateKey,
                                &f.target.span,
                                format!("duplicate file target `{}`", f.target.value),
                            ));
                            continue;
                        }
                        out.insert(f.target.value.clone(), f);
                    }
                }
            }
            _ => self.wrong_type(node, "a mapping of target paths to files", path),
        }
        out
    }

    /// One file; `key` is its target in the map form, `None` in the deprecated list form.
    fn file(
        &mut self,
        node: &Node,
        key: Option<&Spanned<String>>,
        path: &str,
    ) -> Option<ContainerFile> {
        let allowed = if key.is_some() {
            FILE_FIELDS
        } else {
            FILE_FIELDS_LIST
        };
        let entries = self.fields_or_target(node, path, allowed, key.is_some())?;
        let target = match key {
            Some(k) => Some(k.clone()),
            None => self
                .required(entries, "target", &node.span, path)
                .and_then(|v| self.nonempty(v, &join(path, "target"))),
        };
        let mode = get(entries, "mode").and_then(|v| self.string(v, &join(path, "mode")));
        if let Some(m) = &mode
            && !is_mode(&m.value)
        {
            self.push(Diagnostic::at(
                Code::InvalidValue,
                &m.span,
                format!(
                    "invalid file mode `{}`: expected an octal mode such as `0644` or `600`",
                    m.value
                ),
            ));
        }
        let no_expand = get(entries, "noExpand")
            .and_then(|v| self.boolean(v, &join(path, "noExpand")))
            .unwrap_or(false);

        let given: Vec<&Spanned<String>> = ["content", "binaryContent", "source"]
            .iter()
            .filter_map(|f| entries.iter().find(|(k, _)| k.value == *f).map(|(k, _)| k))
            .collect();
        let owner = key.map_or(&node.span, |k| &k.span);
        match given.as_slice() {
            [] => {
                self.push(Diagnostic::at(
                    Code::MissingField,
                    owner,
                    format!("missing file content in `{path}`: expected one of `content`, `binaryContent` or `source`"),
                ));
                return None;
            }
            [_] => {}
            [first, second, ..] => {
                self.push(
                    Diagnostic::at(
                        Code::InvalidValue,
                        &second.span,
                        format!(
                            "file `{path}` sets both `{}` and `{}`: expected exactly one of `content`, `binaryContent` or `source`",
                            first.value, second.value
                        ),
                    )
                    .with_help(format!("remove `{}` or `{}`", first.value, second.value)),
                );
                return None;
            }
        }
        let which = given[0].value.as_str();
        let value = get(entries, which)?;
        let vpath = join(path, which);
        let content = match which {
            "content" => {
                let s = if no_expand {
                    self.string(value, &vpath)
                } else {
                    self.string_with_placeholders(value, &vpath)
                }?;
                FileContent::Text(s)
            }
            "binaryContent" => {
                let s = self.string(value, &vpath)?;
                if !is_base64(&s.value) {
                    self.push(Diagnostic::at(
                        Code::InvalidValue,
                        &s.span,
                        "invalid `binaryContent`: expected standard base64 (A-Z, a-z, 0-9, `+`, `/`, `=` padding)",
                    ));
                    return None;
                }
                FileContent::Binary(s)
            }
            _ => {
                let src = self.nonempty(value, &vpath)?;
                match (self.read_source)(&src.value) {
                    Ok(text) => {
                        if !no_expand && let Err(msg) = split_placeholders(&text) {
                            self.push(
                                Diagnostic::at(
                                    Code::InvalidValue,
                                    &src.span,
                                    format!("in `{}`: {msg}", src.value),
                                )
                                .with_help(
                                    "write `$${` for a literal `${`, or set `noExpand: true`",
                                ),
                            );
                        }
                        FileContent::Text(Spanned::new(text, src.span.clone()))
                    }
                    Err(msg) => {
                        self.push(Diagnostic::at(
                            Code::Io,
                            &src.span,
                            format!("cannot read file source `{}`: {msg}", src.value),
                        ));
                        return None;
                    }
                }
            }
        };
        Some(ContainerFile {
            target: target?,
            mode,
            content,
            no_expand,
        })
    }

    /// Like `fields`, with a clearer message for `target` inside the map form.
    fn fields_or_target<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &[&str],
        map_form: bool,
    ) -> Option<&'n Entries> {
        if map_form
            && let Some(entries) = node.as_map()
            && let Some((k, _)) = entries.iter().find(|(k, _)| k.value == "target")
        {
            self.push(
                Diagnostic::at(
                    Code::UnknownField,
                    &k.span,
                    "unknown field `target`: in the map form the key is the target path",
                )
                .with_help("remove `target`, or use the deprecated list form"),
            );
            let rest: Vec<&str> = allowed.iter().copied().chain(["target"]).collect();
            return self.fields(node, path, &rest);
        }
        self.fields(node, path, allowed)
    }

    fn volumes(&mut self, node: &Node, path: &str) -> BTreeMap<String, ContainerVolume> {
        let mut out = BTreeMap::new();
        match &node.kind {
            NodeKind::Map(entries) => {
                for (k, v) in entries {
                    if let Some(vol) = self.volume(v, Some(k), &join(path, &k.value)) {
                        out.insert(k.value.clone(), vol);
                    }
                }
            }
            NodeKind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(vol) = self.volume(item, None, &format!("{path}[{i}]")) {
                        if out.contains_key(&vol.target.value) {
                            self.push(Diagnostic::at(
                                Code::DuplicateKey,
                                &vol.target.span,
                                format!("duplicate volume target `{}`", vol.target.value),
                            ));
                            continue;
                        }
                        out.insert(vol.target.value.clone(), vol);
                    }
                }
            }
            _ => self.wrong_type(node, "a mapping of target paths to volumes", path),
        }
        out
    }

    fn volume(
        &mut self,
        node: &Node,
        key: Option<&Spanned<String>>,
        path: &str,
    ) -> Option<ContainerVolume> {
        let allowed = if key.is_some() {
            VOLUME_FIELDS
        } else {
            VOLUME_FIELDS_LIST
        };
        let entries = self.fields_or_target(node, path, allowed, key.is_some())?;
        let owner = key.map_or(&node.span, |k| &k.span).clone();
        let target = match key {
            Some(k) => Some(k.clone()),
            None => self
                .required(entries, "target", &owner, path)
                .and_then(|v| self.nonempty(v, &join(path, "target"))),
        };
        let source = self
            .required(entries, "source", &owner, path)
            .and_then(|v| self.string_with_placeholders(v, &join(path, "source")));
        let vpath = get(entries, "path").and_then(|v| self.string(v, &join(path, "path")));
        let read_only = get(entries, "readOnly")
            .and_then(|v| self.boolean(v, &join(path, "readOnly")))
            .unwrap_or(false);
        Some(ContainerVolume {
            target: target?,
            source: source?,
            path: vpath,
            read_only,
        })
    }

    fn before(
        &mut self,
        node: &Node,
        path: &str,
        me: &str,
        names: &[&str],
    ) -> BTreeMap<String, Spanned<String>> {
        let mut out = BTreeMap::new();
        let Some(entries) = self.mapping(node, path) else {
            return out;
        };
        for (k, v) in entries {
            self.label(k, "container name");
            let others: Vec<&str> = names.iter().copied().filter(|n| *n != me).collect();
            if !others.contains(&k.value.as_str()) {
                let mut d = Diagnostic::at(
                    Code::InvalidValue,
                    &k.span,
                    if k.value == me {
                        format!("container `{me}` cannot wait for itself in `before`")
                    } else {
                        format!(
                            "unknown container `{}` in `before`: expected another container of this workload",
                            k.value
                        )
                    },
                );
                if let Some(m) = did_you_mean(&k.value, others.iter().copied()) {
                    d = d.with_help(format!("did you mean `{m}`?"));
                }
                self.push(d);
            }
            let p = join(path, &k.value);
            let Some(fields) = self.fields(v, &p, BEFORE_FIELDS) else {
                continue;
            };
            let Some(ready) = self
                .required(fields, "ready", &k.span, &p)
                .and_then(|r| self.string(r, &join(&p, "ready")))
            else {
                continue;
            };
            if self.one_of(&ready, READY_STATES, "ready state", &join(&p, "ready")) {
                out.insert(k.value.clone(), ready);
            }
        }
        out
    }

    fn container_resources(&mut self, node: &Node, path: &str) -> Option<ContainerResources> {
        let entries = self.fields(node, path, RESOURCES_FIELDS)?;
        let mut r = ContainerResources::default();
        if let Some(v) = get(entries, "limits") {
            r.limits = self.quantities(v, &join(path, "limits"));
        }
        if let Some(v) = get(entries, "requests") {
            r.requests = self.quantities(v, &join(path, "requests"));
        }
        Some(r)
    }

    fn quantities(&mut self, node: &Node, path: &str) -> QuantitySpec {
        let mut q = QuantitySpec::default();
        let Some(entries) = self.fields(node, path, QUANTITY_FIELDS) else {
            return q;
        };
        if let Some(v) = get(entries, "cpu")
            && let Some(s) = self.string(v, &join(path, "cpu"))
        {
            if is_cpu(&s.value) {
                q.cpu = Some(s);
            } else {
                self.push(Diagnostic::at(
                        Code::InvalidValue,
                        &s.span,
                        format!("invalid cpu quantity `{}`: expected whole or fractional CPUs or millicores, such as `2`, `0.5` or `250m`", s.value),
                    ));
            }
        }
        if let Some(v) = get(entries, "memory")
            && let Some(s) = self.string(v, &join(path, "memory"))
        {
            if is_memory(&s.value) {
                q.memory = Some(s);
            } else {
                let mut d = Diagnostic::at(
                    Code::InvalidValue,
                    &s.span,
                    format!(
                        "invalid memory quantity `{}`: expected a number with an optional unit K, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi or Ei, such as `512Mi`",
                        s.value
                    ),
                );
                if let Some(fix) = suggest_memory(&s.value) {
                    d = d.with_help(format!("did you mean `{fix}`?"));
                }
                self.push(d);
            }
        }
        q
    }

    fn probe(&mut self, node: &Node, key: &Span, path: &str) -> Option<Probe> {
        let entries = self.fields(node, path, PROBE_FIELDS)?;
        let mut p = Probe {
            span: key.clone(),
            http_get: None,
            exec: None,
        };
        let http = get(entries, "httpGet");
        let exec = get(entries, "exec");
        if http.is_none() && exec.is_none() {
            self.push(Diagnostic::at(
                Code::MissingField,
                key,
                format!("missing probe in `{path}`: expected `httpGet` or `exec`"),
            ));
            return None;
        }
        if let Some(h) = http {
            p.http_get =
                self.http_probe(h, key_span(entries, "httpGet", key), &join(path, "httpGet"));
        }
        if let Some(e) = exec {
            let epath = join(path, "exec");
            if let Some(fields) = self.fields(e, &epath, EXEC_FIELDS)
                && let Some(cmd) =
                    self.required(fields, "command", key_span(entries, "exec", key), &epath)
            {
                p.exec = Some(self.strings(cmd, &join(&epath, "command"), false));
            }
        }
        Some(p)
    }

    fn http_probe(&mut self, node: &Node, key: &Span, path: &str) -> Option<HttpProbe> {
        let entries = self.fields(node, path, HTTP_PROBE_FIELDS)?;
        let host = get(entries, "host").and_then(|v| self.nonempty(v, &join(path, "host")));
        let scheme = get(entries, "scheme").and_then(|v| self.string(v, &join(path, "scheme")));
        if let Some(s) = &scheme {
            self.one_of(s, SCHEMES, "scheme", &join(path, "scheme"));
        }
        let probe_path = self
            .required(entries, "path", key, path)
            .and_then(|v| self.string(v, &join(path, "path")));
        let port = self
            .required(entries, "port", key, path)
            .and_then(|v| self.port(v, &join(path, "port")));
        let mut headers = Vec::new();
        if let Some(h) = get(entries, "httpHeaders") {
            let hpath = join(path, "httpHeaders");
            if let NodeKind::Seq(items) = &h.kind {
                for (i, item) in items.iter().enumerate() {
                    let ip = format!("{hpath}[{i}]");
                    let Some(f) = self.fields(item, &ip, HEADER_FIELDS) else {
                        continue;
                    };
                    let name = self
                        .required(f, "name", &item.span, &ip)
                        .and_then(|v| self.string(v, &join(&ip, "name")));
                    let value = self
                        .required(f, "value", &item.span, &ip)
                        .and_then(|v| self.nonempty(v, &join(&ip, "value")));
                    if let Some(n) = &name {
                        let ok = !n.value.is_empty()
                            && n.value
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                        if !ok {
                            self.push(Diagnostic::at(
                                Code::InvalidValue,
                                &n.span,
                                format!("invalid HTTP header name `{}`: expected A-Z, a-z, 0-9, `_` and `-`", n.value),
                            ));
                            continue;
                        }
                    }
                    if let (Some(n), Some(v)) = (name, value) {
                        headers.push((n, v));
                    }
                }
            } else {
                self.wrong_type(h, "a sequence of `name`/`value` headers", &hpath);
            }
        }
        Some(HttpProbe {
            host,
            scheme,
            path: probe_path?,
            port: port?,
            headers,
        })
    }

    // --- service -----------------------------------------------------------------------------

    fn service(&mut self, node: &Node) -> Option<Service> {
        let entries = self.fields(node, "service", SERVICE_FIELDS)?;
        let mut ports = BTreeMap::new();
        if let Some(pnode) = get(entries, "ports")
            && let Some(pentries) = self.mapping(pnode, "service.ports")
        {
            for (k, v) in pentries {
                self.label(k, "port name");
                let path = format!("service.ports.{}", k.value);
                let Some(f) = self.fields(v, &path, PORT_FIELDS) else {
                    continue;
                };
                let port = self
                    .required(f, "port", &k.span, &path)
                    .and_then(|p| self.port(p, &join(&path, "port")));
                let target_port =
                    get(f, "targetPort").and_then(|p| self.port(p, &join(&path, "targetPort")));
                let protocol =
                    get(f, "protocol").and_then(|p| self.string(p, &join(&path, "protocol")));
                if let Some(pr) = &protocol {
                    self.one_of(pr, PROTOCOLS, "protocol", &join(&path, "protocol"));
                }
                if let Some(port) = port {
                    ports.insert(
                        k.value.clone(),
                        ServicePort {
                            name: k.clone(),
                            port,
                            target_port,
                            protocol,
                        },
                    );
                }
            }
        }
        Some(Service { ports })
    }

    // --- resources ---------------------------------------------------------------------------

    fn resource(&mut self, key: &Spanned<String>, node: &Node) -> Option<ResourceRequest> {
        let path = format!("resources.{}", key.value);
        let entries = self.fields(node, &path, RESOURCE_FIELDS)?;
        let rtype = self
            .required(entries, "type", &key.span, &path)
            .and_then(|v| self.string(v, &join(&path, "type")));
        if let Some(t) = &rtype {
            self.check_name(t, is_type_name(&t.value), "resource type", TYPE_RULE, None);
        }
        let class = get(entries, "class").and_then(|v| self.string(v, &join(&path, "class")));
        if let Some(c) = &class {
            self.check_name(c, is_type_name(&c.value), "resource class", TYPE_RULE, None);
        }
        let id = get(entries, "id").and_then(|v| self.string(v, &join(&path, "id")));
        if let Some(i) = &id {
            let ok = is_resource_id(&i.value);
            let fix = if ok { None } else { suggest_label(&i.value) };
            self.check_name(i, ok, "resource id", ID_RULE, fix);
        }
        let mut annotations = BTreeMap::new();
        let mut metadata = None;
        if let Some(m) = get(entries, "metadata") {
            let mpath = join(&path, "metadata");
            if let Some(me) = self.mapping(m, &mpath) {
                if let Some(a) = get(me, "annotations") {
                    annotations = self.annotations(a, &join(&mpath, "annotations"));
                }
                metadata = Some(m.clone());
            }
        }
        let mut params = None;
        if let Some(p) = get(entries, "params") {
            let ppath = join(&path, "params");
            if self.mapping(p, &ppath).is_some() {
                self.params_placeholders(p, &ppath);
                params = Some(p.clone());
            }
        }
        Some(ResourceRequest {
            key: key.clone(),
            resource_type: rtype?,
            class,
            id,
            params,
            annotations,
            metadata,
        })
    }

    fn params_placeholders(&mut self, node: &Node, path: &str) {
        match &node.kind {
            NodeKind::Scalar { text, .. } => self.check_placeholders(text, node, path),
            NodeKind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.params_placeholders(item, &format!("{path}[{i}]"));
                }
            }
            NodeKind::Map(entries) => {
                for (k, v) in entries {
                    self.params_placeholders(v, &join(path, &k.value));
                }
            }
            NodeKind::Null => {}
        }
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

fn get<'n>(entries: &'n Entries, name: &str) -> Option<&'n Node> {
    entries
        .iter()
        .find(|(k, _)| k.value == name)
        .map(|(_, v)| v)
}

/// The key's span, for errors about the value as a whole (the key is what the reader scans for).
fn key_span<'n>(entries: &'n Entries, name: &str, fallback: &'n Span) -> &'n Span {
    entries
        .iter()
        .find(|(k, _)| k.value == name)
        .map_or(fallback, |(k, _)| &k.span)
}

/// Byte offset of the first `${` that has no closing `}` (after skipping `$$` escapes).
fn first_unclosed(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'$' && b[i + 1] == b'$' {
            i += 2;
        } else if b[i] == b'$' && b[i + 1] == b'{' {
            match s[i + 2..].find('}') {
                Some(p) => i = i + 2 + p + 1,
                None => return Some(i),
            }
        } else {
            i += 1;
        }
    }
    None
}

fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => format!("`{one}`"),
        [init @ .., last] => format!("{} or `{last}`", list(init)),
    }
}

// --- patterns of the Score schema, by hand (no regex dependency) ------------------------------

const LABEL_RULE: &str = "an RFC 1123 label: 2-63 characters of a-z, 0-9 and `-`, starting and ending with a letter or digit";
const TYPE_RULE: &str =
    "2-63 characters of A-Z, a-z, 0-9 and `-`, starting and ending with a letter or digit";
const ID_RULE: &str = "2-63 characters: `.`-separated labels of a-z, 0-9 and `-`, each starting and ending with a letter or digit";

/// `^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$`
pub fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `^[A-Za-z0-9][A-Za-z0-9-]{0,61}[A-Za-z0-9]$`
fn is_type_name(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=63).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `^[a-z0-9]+(?:-+[a-z0-9]+)*(?:\.[a-z0-9]+(?:-+[a-z0-9]+)*)*$`, 2 to 63 characters.
fn is_resource_id(s: &str) -> bool {
    (2..=63).contains(&s.len())
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

/// `^(([a-z0-9][a-z0-9-]{0,61}[a-z0-9])(\.[a-z0-9][a-z0-9-]{0,61}[a-z0-9])*/)?[A-Za-z0-9][A-Za-z0-9._-]{0,61}[A-Za-z0-9]$`
fn is_annotation_key(s: &str) -> bool {
    if !(2..=316).contains(&s.len()) {
        return false;
    }
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix
        && !p.split('.').all(is_label)
    {
        return false;
    }
    let b = name.as_bytes();
    (2..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// `^0?[0-7]{3}$`
fn is_mode(s: &str) -> bool {
    let digits = if s.len() == 4 {
        s.strip_prefix('0')
    } else {
        Some(s)
    };
    digits.is_some_and(|d| d.len() == 3 && d.bytes().all(|c| (b'0'..=b'7').contains(&c)))
}

/// `^\d+(?:m|\.\d+)?$`
fn is_cpu(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
    if let Some(m) = s.strip_suffix('m') {
        return digits(m);
    }
    match s.split_once('.') {
        Some((a, b)) => digits(a) && digits(b),
        None => digits(s),
    }
}

const MEMORY_UNITS: &[&str] = &[
    "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "K", "M", "G", "T", "P", "E",
];

/// `^(0\.\d+|[1-9]\d*(\.\d+)?)(K|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$`
fn is_memory(s: &str) -> bool {
    let number = MEMORY_UNITS
        .iter()
        .find_map(|u| s.strip_suffix(u))
        .unwrap_or(s);
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
    let (int, frac) = match number.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (number, None),
    };
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return false;
    }
    if int == "0" {
        frac.is_some()
    } else {
        !int.starts_with('0')
    }
}

/// `1GB` → `1G`, `512mi` → `512Mi`: the usual slips.
fn suggest_memory(s: &str) -> Option<String> {
    let trimmed = s.trim();
    let fixed = if let Some(n) = trimmed
        .strip_suffix("B")
        .or_else(|| trimmed.strip_suffix("b"))
    {
        n.to_string()
    } else {
        trimmed.to_string()
    };
    let split = fixed
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(fixed.len());
    let (num, unit) = fixed.split_at(split);
    let mut u = unit.chars();
    let unit = match (u.next(), u.as_str()) {
        (Some(first), rest) => format!(
            "{}{}",
            first.to_ascii_uppercase(),
            rest.to_ascii_lowercase()
        ),
        (None, _) => String::new(),
    };
    let candidate = format!("{num}{unit}");
    (candidate != s && is_memory(&candidate)).then_some(candidate)
}

/// Standard base64, whitespace (from block scalars) ignored.
fn is_base64(s: &str) -> bool {
    let clean: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    if !clean.len().is_multiple_of(4) {
        return false;
    }
    let pad = clean.iter().rev().take_while(|c| **c == b'=').count();
    pad <= 2
        && clean[..clean.len() - pad]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

/// A close valid label for a name that is not one (`My_App` → `my-app`).
fn suggest_label(s: &str) -> Option<String> {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(63).collect();
    let out = out.trim_end_matches('-').to_string();
    (out != s && is_label(&out)).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_sources(path: &str) -> Result<String, String> {
        Err(format!("no such file: {path}"))
    }

    fn load(text: &str) -> Result<Workload, Diagnostics> {
        parse_workload("w.yaml", text, &mut no_sources)
    }

    /// All diagnostics of a file, rendered as the CLI shows them.
    fn errors(text: &str) -> Vec<String> {
        match load(text) {
            Ok(_) => panic!("expected errors for:\n{text}"),
            Err(d) => d.0.iter().map(ToString::to_string).collect(),
        }
    }

    fn one_error(text: &str) -> String {
        let e = errors(text);
        assert_eq!(e.len(), 1, "{e:#?}");
        e.into_iter().next().unwrap_or_default()
    }

    const HEAD: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\n";

    fn with_head(rest: &str) -> String {
        format!("{HEAD}{rest}")
    }

    const FULL: &str = r##"apiVersion: score.dev/v1b1
metadata:
  name: checkout
  annotations:
    platc.dev/team: storefront
    platc.dev/profile: web
  description: extra metadata is kept
service:
  ports:
    http:
      port: 80
      targetPort: 8080
    metrics:
      port: 9090
      protocol: TCP
containers:
  main:
    image: ghcr.io/acme/checkout:1.4.2
    command: ["/app/checkout"]
    args: ["--listen", ":8080", "--db=${resources.db.host}"]
    variables:
      APP_NAME: ${metadata.name}
      DB_PASSWORD: ${resources.db.password}
      PORT: 8080
      LITERAL: $${not-a-placeholder}
    files:
      /etc/checkout/config.yaml:
        mode: "0644"
        content: |
          db: ${resources.db.uri}
      /etc/checkout/logo.png:
        binaryContent: aGVsbG8=
      /etc/checkout/raw.txt:
        source: ./raw.txt
        noExpand: true
    volumes:
      /data:
        source: ${resources.data}
        path: sub
        readOnly: true
    before:
      migrate:
        ready: complete
    resources:
      limits:
        cpu: 500m
        memory: 512Mi
      requests:
        cpu: "0.25"
        memory: 256Mi
    livenessProbe:
      httpGet:
        path: /healthz
        port: 8080
        scheme: HTTP
        host: localhost
        httpHeaders:
          - name: X-Probe
            value: liveness
    readinessProbe:
      exec:
        command: ["/bin/ready", "--quick"]
  migrate:
    image: ghcr.io/acme/checkout-migrate:1.4.2
    files:
      - target: /etc/legacy.conf
        content: legacy
    volumes:
      - target: /legacy
        source: ${resources.data}
resources:
  db:
    type: postgres
    class: large
    id: orders-db
    metadata:
      annotations:
        platc.dev/owner: payments
      labels-are-free: yes
    params:
      extensions: [pgcrypto]
      host: ${resources.dns.host}
  data:
    type: volume
  dns:
    type: dns
x-team-notes:
  oncall: "#storefront"
"##;

    #[test]
    fn reads_every_field() {
        let mut asked = Vec::new();
        let mut read = |p: &str| {
            asked.push(p.to_string());
            Ok::<_, String>("raw ${text}".to_string())
        };
        let w = match parse_workload("w.yaml", FULL, &mut read) {
            Ok(w) => w,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(asked, vec!["./raw.txt".to_string()]);
        assert_eq!(w.name.value, "checkout");
        assert_eq!(w.name.span, Span::new("w.yaml", 3, 9));
        assert_eq!(&*w.file, "w.yaml");
        assert_eq!(
            w.team.as_ref().map(|t| t.value.as_str()),
            Some("storefront")
        );
        assert_eq!(
            w.team.as_ref().map(|t| t.span.clone()),
            Some(Span::new("w.yaml", 5, 21))
        );
        assert_eq!(w.profile.as_ref().map(|t| t.value.as_str()), Some("web"));
        assert_eq!(
            w.metadata.get("description").map(|d| d.to_json()),
            Some("extra metadata is kept".into())
        );
        assert_eq!(
            w.extensions.keys().collect::<Vec<_>>(),
            vec!["x-team-notes"]
        );

        let svc = w.service.as_ref().unwrap();
        let http = &svc.ports["http"];
        assert_eq!(
            (http.port.value, http.target_port.as_ref().map(|p| p.value)),
            (80, Some(8080))
        );
        assert_eq!(http.port.span, Span::new("w.yaml", 11, 13));
        assert_eq!(
            svc.ports["metrics"]
                .protocol
                .as_ref()
                .map(|p| p.value.as_str()),
            Some("TCP")
        );

        let main = &w.containers["main"];
        assert_eq!(main.image.value, "ghcr.io/acme/checkout:1.4.2");
        assert_eq!(
            main.command
                .iter()
                .map(|s| s.value.as_str())
                .collect::<Vec<_>>(),
            ["/app/checkout"]
        );
        assert_eq!(main.args.len(), 3);
        assert_eq!(main.variables["APP_NAME"].value, "${metadata.name}");
        assert_eq!(main.variables["PORT"].value, "8080");
        assert_eq!(main.variables["LITERAL"].value, "$${not-a-placeholder}");
        let cfg = &main.files["/etc/checkout/config.yaml"];
        assert_eq!(cfg.mode.as_ref().map(|m| m.value.as_str()), Some("0644"));
        assert_eq!(
            cfg.content,
            FileContent::Text(Spanned::new(
                "db: ${resources.db.uri}\n".into(),
                Span::new("w.yaml", 30, 11)
            ))
        );
        assert!(!cfg.no_expand);
        assert!(
            matches!(&main.files["/etc/checkout/logo.png"].content, FileContent::Binary(b) if b.value == "aGVsbG8=")
        );
        let raw = &main.files["/etc/checkout/raw.txt"];
        assert!(raw.no_expand);
        assert!(matches!(&raw.content, FileContent::Text(t) if t.value == "raw ${text}"));
        let data = &main.volumes["/data"];
        assert_eq!(data.source.value, "${resources.data}");
        assert_eq!(data.path.as_ref().map(|p| p.value.as_str()), Some("sub"));
        assert!(data.read_only);
        assert_eq!(main.before["migrate"].value, "complete");
        let res = main.resources.as_ref().unwrap();
        assert_eq!(
            res.limits.cpu.as_ref().map(|c| c.value.as_str()),
            Some("500m")
        );
        assert_eq!(
            res.limits.memory.as_ref().map(|c| c.value.as_str()),
            Some("512Mi")
        );
        assert_eq!(
            res.requests.cpu.as_ref().map(|c| c.value.as_str()),
            Some("0.25")
        );
        let live = main.liveness_probe.as_ref().unwrap();
        let hg = live.http_get.as_ref().unwrap();
        assert_eq!((hg.path.value.as_str(), hg.port.value), ("/healthz", 8080));
        assert_eq!(hg.scheme.as_ref().map(|s| s.value.as_str()), Some("HTTP"));
        assert_eq!(
            hg.host.as_ref().map(|s| s.value.as_str()),
            Some("localhost")
        );
        assert_eq!(hg.headers[0].0.value, "X-Probe");
        assert_eq!(hg.headers[0].1.value, "liveness");
        let ready = main.readiness_probe.as_ref().unwrap();
        assert_eq!(
            ready
                .exec
                .as_ref()
                .unwrap()
                .iter()
                .map(|s| s.value.as_str())
                .collect::<Vec<_>>(),
            ["/bin/ready", "--quick"]
        );

        let migrate = &w.containers["migrate"];
        assert!(
            matches!(&migrate.files["/etc/legacy.conf"].content, FileContent::Text(t) if t.value == "legacy")
        );
        assert_eq!(migrate.volumes["/legacy"].target.value, "/legacy");

        let db = &w.resources["db"];
        assert_eq!(db.key.value, "db");
        assert_eq!(db.resource_type.value, "postgres");
        assert_eq!(db.class.as_ref().map(|c| c.value.as_str()), Some("large"));
        assert_eq!(db.id.as_ref().map(|c| c.value.as_str()), Some("orders-db"));
        assert_eq!(db.annotations["platc.dev/owner"].value, "payments");
        assert!(
            db.metadata
                .as_ref()
                .unwrap()
                .get("labels-are-free")
                .is_some()
        );
        assert_eq!(
            db.params.as_ref().unwrap().to_json(),
            serde_json::json!({"extensions": ["pgcrypto"], "host": "${resources.dns.host}"})
        );
        assert_eq!(w.resources["data"].resource_type.value, "volume");
        assert!(w.resources["data"].params.is_none());
    }

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
    fn extensions_are_allowed_everywhere() {
        let w = load(&with_head(
            "containers:\n  main:\n    image: a:1\n    x-note: ok\nx-top: 1\n",
        ))
        .unwrap();
        assert_eq!(w.extensions["x-top"].to_json(), serde_json::json!(1));
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
    fn api_version() {
        assert_eq!(
            one_error(
                "apiVersion: score.dev/v1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: a:1\n"
            ),
            "w.yaml:1:13: error: unsupported apiVersion `score.dev/v1`: expected `score.dev/v1b1`\n  help: platc reads Score workloads of `apiVersion: score.dev/v1b1`"
        );
    }

    #[test]
    fn names() {
        assert_eq!(
            one_error(
                "apiVersion: score.dev/v1b1\nmetadata:\n  name: My_App\ncontainers:\n  main:\n    image: a:1\n"
            ),
            "w.yaml:3:9: error: invalid workload name `My_App`: expected an RFC 1123 label: 2-63 characters of a-z, 0-9 and `-`, starting and ending with a letter or digit\n  help: did you mean `my-app`?"
        );
        assert!(
            one_error(&with_head("containers:\n  m:\n    image: a:1\n"))
                .starts_with("w.yaml:5:3: error: invalid container name `m`")
        );
        assert!(one_error(&with_head("containers:\n  main:\n    image: a:1\nresources:\n  db:\n    type: postgres\n    id: Orders_DB\n"))
            .starts_with("w.yaml:10:9: error: invalid resource id `Orders_DB`: expected 2-63 characters: `.`-separated labels"));
        assert!(
            one_error(&with_head(
                "containers:\n  main:\n    image: a:1\nresources:\n  db:\n    type: post_gres\n"
            ))
            .starts_with("w.yaml:9:11: error: invalid resource type `post_gres`")
        );
        assert!(one_error("apiVersion: score.dev/v1b1\nmetadata:\n  name: app\n  annotations:\n    -bad: x\ncontainers:\n  main:\n    image: a:1\n")
            .starts_with("w.yaml:5:5: error: invalid annotation key `-bad`"));
    }

    #[test]
    fn ports_and_protocols() {
        let svc = |s: &str| {
            with_head(&format!(
                "containers:\n  main:\n    image: a:1\nservice:\n  ports:\n    web:\n{s}"
            ))
        };
        assert_eq!(
            one_error(&svc("      port: 70000\n")),
            "w.yaml:10:13: error: port 70000 is out of range: expected an integer from 1 to 65535\n  note: at `service.ports.web.port`"
        );
        assert!(one_error(&svc("      port: 0\n")).contains("port 0 is out of range"));
        assert_eq!(
            one_error(&svc("      port: \"80\"\n")),
            "w.yaml:10:13: error: expected an integer, found a string\n  note: at `service.ports.web.port`"
        );
        assert_eq!(
            one_error(&svc("      port: 80\n      protocol: tcp\n")),
            "w.yaml:11:17: error: unknown protocol `tcp`: expected `TCP`, `UDP` or `SCTP`\n  note: at `service.ports.web.protocol`\n  help: did you mean `TCP`?"
        );
        assert_eq!(
            one_error(&svc("      targetPort: 8080\n")),
            "w.yaml:9:5: error: missing required field `port` in `service.ports.web`"
        );
    }

    #[test]
    fn files() {
        let f = |s: &str| {
            with_head(&format!(
                "containers:\n  main:\n    image: a:1\n    files:\n      /etc/a:\n{s}"
            ))
        };
        assert_eq!(
            one_error(&f("        content: x\n        source: ./a\n")),
            "w.yaml:10:9: error: file `containers.main.files./etc/a` sets both `content` and `source`: expected exactly one of `content`, `binaryContent` or `source`\n  help: remove `content` or `source`"
        );
        assert_eq!(
            one_error(&f("        mode: \"0644\"\n")),
            "w.yaml:8:7: error: missing file content in `containers.main.files./etc/a`: expected one of `content`, `binaryContent` or `source`"
        );
        assert_eq!(
            one_error(&f("        source: ./missing.txt\n")),
            "w.yaml:9:17: error: cannot read file source `./missing.txt`: no such file: ./missing.txt"
        );
        assert_eq!(
            one_error(&f("        content: x\n        mode: \"999\"\n")),
            "w.yaml:10:15: error: invalid file mode `999`: expected an octal mode such as `0644` or `600`"
        );
        assert!(
            one_error(&f("        binaryContent: \"not base64!\"\n"))
                .starts_with("w.yaml:9:24: error: invalid `binaryContent`")
        );
        assert!(
            one_error(&f("        target: /etc/a\n        content: x\n"))
                .starts_with("w.yaml:9:9: error: unknown field `target`: in the map form the key is the target path")
        );
        let list =
            with_head("containers:\n  main:\n    image: a:1\n    files:\n      - content: x\n");
        assert_eq!(
            one_error(&list),
            "w.yaml:8:9: error: missing required field `target` in `containers.main.files[0]`"
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

    #[test]
    fn quantities_probes_before() {
        let c = |s: &str| with_head(&format!("containers:\n  main:\n    image: a:1\n{s}"));
        assert_eq!(
            one_error(&c("    resources:\n      limits:\n        memory: 1GB\n")),
            "w.yaml:9:17: error: invalid memory quantity `1GB`: expected a number with an optional unit K, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi or Ei, such as `512Mi`\n  help: did you mean `1G`?"
        );
        assert!(
            one_error(&c("    resources:\n      requests:\n        cpu: 1.5m\n"))
                .starts_with("w.yaml:9:14: error: invalid cpu quantity `1.5m`")
        );
        assert!(
            load(&c(
                "    resources:\n      limits:\n        cpu: 2\n        memory: 1.5Gi\n"
            ))
            .is_ok()
        );
        assert_eq!(
            one_error(&c("    livenessProbe: {}\n")),
            "w.yaml:7:5: error: missing probe in `containers.main.livenessProbe`: expected `httpGet` or `exec`"
        );
        assert_eq!(
            one_error(&c("    readinessProbe:\n      httpGet:\n        path: /\n")),
            "w.yaml:8:7: error: missing required field `port` in `containers.main.readinessProbe.httpGet`"
        );
        assert!(one_error(&c("    readinessProbe:\n      httpGet:\n        path: /\n        port: 80\n        scheme: FTP\n"))
            .starts_with("w.yaml:11:17: error: unknown scheme `FTP`: expected `HTTP` or `HTTPS`"));
        assert_eq!(
            one_error(&c("    before:\n      sidecar:\n        ready: started\n")),
            "w.yaml:8:7: error: unknown container `sidecar` in `before`: expected another container of this workload"
        );
    }

    #[test]
    fn collects_all_errors_sorted() {
        let e = errors(
            "apiVersion: v2\nmetadata:\n  name: A\ncontainers:\n  main:\n    imag: x\nservice:\n  ports:\n    web:\n      port: -1\n",
        );
        // `imag` is reported as a typo of `image`, not also as a missing `image`.
        assert_eq!(e.len(), 4, "{e:#?}");
        assert!(e[0].starts_with("w.yaml:1:13: error: unsupported apiVersion `v2`"));
        assert!(e[1].starts_with("w.yaml:3:9: error: invalid workload name `A`"));
        assert!(e[2].starts_with("w.yaml:6:5: error: unknown field `imag`"));
        assert!(e[2].ends_with("help: did you mean `image`?"));
        assert!(e[3].starts_with("w.yaml:10:13: error: port -1 is out of range"));
        let e = errors(&with_head("containers:\n  main:\n    commands: [x]\n"));
        assert_eq!(e.len(), 2, "{e:#?}");
        assert_eq!(
            e[0],
            "w.yaml:5:3: error: missing required field `image` in `containers.main`"
        );
    }

    #[test]
    fn yaml_errors_come_through() {
        assert!(
            one_error(&with_head(
                "containers:\n  main:\n    image: a:1\n    image: b:2\n"
            ))
            .starts_with("w.yaml:7:5: error: duplicate key `image`")
        );
    }

    #[test]
    fn split_placeholders_cases() {
        use Piece::{Placeholder, Text};
        let ph = |p: &[&str], offset| Placeholder {
            path: p.iter().map(|s| s.to_string()).collect(),
            offset,
        };
        assert_eq!(
            split_placeholders("plain").unwrap(),
            vec![Text("plain".into())]
        );
        assert_eq!(split_placeholders("").unwrap(), vec![]);
        assert_eq!(
            split_placeholders("postgres://${resources.db.host}:${resources.db.port}/x").unwrap(),
            vec![
                Text("postgres://".into()),
                ph(&["resources", "db", "host"], 11),
                Text(":".into()),
                ph(&["resources", "db", "port"], 32),
                Text("/x".into()),
            ]
        );
        assert_eq!(
            split_placeholders("$${x}").unwrap(),
            vec![Text("${x}".into())]
        );
        assert_eq!(
            split_placeholders("a$$b $c $").unwrap(),
            vec![Text("a$b $c $".into())]
        );
        assert_eq!(
            split_placeholders(r"${resources.my\.dotted.host}").unwrap(),
            vec![ph(&["resources", "my.dotted", "host"], 0)]
        );
        assert_eq!(
            split_placeholders("é${metadata.name}").unwrap(),
            vec![Text("é".into()), ph(&["metadata", "name"], 2)]
        );
        assert_eq!(
            split_placeholders("x ${resources.db").unwrap_err(),
            "unclosed placeholder `${resources.db`: expected a closing `}`"
        );
        assert_eq!(
            split_placeholders("${}").unwrap_err(),
            "empty placeholder `${}`: expected a path such as `${resources.db.host}`"
        );
        assert_eq!(
            split_placeholders("${a..b}").unwrap_err(),
            "invalid placeholder `${a..b}`: expected names separated by single dots, such as `${resources.db.host}`"
        );
    }

    #[test]
    fn patterns() {
        assert!(
            is_label("ab")
                && is_label("a-1")
                && !is_label("a")
                && !is_label("-ab")
                && !is_label("Ab")
        );
        assert!(is_label(&"a".repeat(63)) && !is_label(&"a".repeat(64)));
        assert!(
            is_resource_id("orders-db")
                && is_resource_id("a.b--c")
                && !is_resource_id("a..b")
                && !is_resource_id("a.")
        );
        assert!(
            is_annotation_key("platc.dev/team")
                && is_annotation_key("Team.Name_x")
                && !is_annotation_key("a/b/c")
        );
        assert!(is_mode("0644") && is_mode("600") && !is_mode("0800") && !is_mode("10644"));
        assert!(is_cpu("1") && is_cpu("250m") && is_cpu("0.5") && !is_cpu("1.5m") && !is_cpu(".5"));
        assert!(is_memory("512Mi") && is_memory("0.5Gi") && is_memory("125M") && is_memory("1024"));
        assert!(!is_memory("0") && !is_memory("01Mi") && !is_memory("1GB") && !is_memory("Mi"));
        assert!(
            is_base64("aGVsbG8=")
                && is_base64("aGVs\nbG8=")
                && !is_base64("abc")
                && !is_base64("a=bc")
        );
        assert_eq!(suggest_label("My_App"), Some("my-app".into()));
        assert_eq!(suggest_memory("512mi"), Some("512Mi".into()));
    }

    /// The shipped examples load cleanly and cover what the reference platform offers.
    #[test]
    fn examples_load() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = walk(&root.join("examples"));
        files.sort();
        assert!(files.len() >= 12, "{} examples", files.len());
        let mut types = std::collections::BTreeSet::new();
        let mut shared: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        let mut teams = std::collections::BTreeSet::new();
        for f in &files {
            let rel = f
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(f).unwrap();
            let w = parse_workload(&rel, &text, &mut no_sources).unwrap_or_else(|e| panic!("{e}"));
            // The team's directory; the platform's `paths` claim it, and an annotation, where
            // an example keeps one, must agree.
            let team = rel.split('/').nth(1).unwrap_or_default().to_string();
            if let Some(t) = &w.team {
                assert_eq!(t.value, team, "{rel}");
            }
            assert!(
                rel.starts_with(&format!("examples/{team}/{}/", w.name.value)),
                "{rel}"
            );
            teams.insert(team.clone());
            for c in w.containers.values() {
                assert!(
                    c.image
                        .value
                        .rsplit_once(':')
                        .is_some_and(|(_, tag)| !tag.is_empty() && tag != "latest"),
                    "{rel}: unpinned image"
                );
            }
            for r in w.resources.values() {
                types.insert(r.resource_type.value.clone());
                if let Some(id) = &r.id {
                    shared
                        .entry((r.resource_type.value.clone(), id.value.clone()))
                        .or_default()
                        .push(format!("{team}/{}", w.name.value));
                }
            }
        }
        assert_eq!(
            teams.into_iter().collect::<Vec<_>>(),
            ["data", "payments", "storefront"]
        );
        let all = [
            "amqp",
            "dns",
            "endpoint",
            "kafka-topic",
            "mongodb",
            "mssql",
            "mysql",
            "postgres",
            "redis",
            "route",
            "s3",
            "service",
            "volume",
        ];
        assert_eq!(types.iter().map(String::as_str).collect::<Vec<_>>(), all);
        assert_eq!(
            shared[&("postgres".to_string(), "orders-db".to_string())],
            ["storefront/checkout", "storefront/orders"]
        );
    }

    /// The bad-input corpus (`tests/bad/<case>/`) of workload errors: each case's workload must
    /// produce every line of its `expected.txt`, so the corpus and the loader stay in sync.
    #[test]
    fn bad_corpus_matches_the_loader() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad");
        for case in BAD_CASES {
            let dir = root.join(case);
            let expected = std::fs::read_to_string(dir.join("expected.txt"))
                .unwrap_or_else(|e| panic!("{case}: cannot read expected.txt: {e}"));
            let mut out = String::new();
            let mut files: Vec<_> = walk(&dir.join("examples"));
            files.sort();
            assert!(!files.is_empty(), "{case}: no workload under examples/");
            for f in files {
                let rel = f
                    .strip_prefix(&dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&f).unwrap();
                let base = f.parent().unwrap().to_path_buf();
                let mut read =
                    |p: &str| std::fs::read_to_string(base.join(p)).map_err(|e| e.to_string());
                if let Err(d) = parse_workload(&rel, &text, &mut read) {
                    out.push_str(&d.to_string());
                    out.push('\n');
                }
            }
            for line in expected.lines().filter(|l| !l.trim().is_empty()) {
                assert!(
                    out.contains(line.trim()),
                    "{case}: expected line not produced:\n  {line}\nloader output:\n{out}"
                );
            }
        }
    }

    const BAD_CASES: &[&str] = &[
        "unknown-field",
        "wrong-type",
        "missing-image",
        "bad-api-version",
        "invalid-name",
        "duplicate-key",
        "port-out-of-range",
        "yaml-syntax",
        "unclosed-placeholder",
        "file-content-and-source",
        "unknown-protocol",
        "alias-bomb",
        "bad-memory-quantity",
        "unknown-tag",
    ];

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    out.extend(walk(&p));
                } else if p.to_string_lossy().ends_with("score.yaml") {
                    out.push(p);
                }
            }
        }
        out
    }
}
