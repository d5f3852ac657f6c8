//! A container's files and volumes, in both forms Score allows: the map keyed by target path and
//! the deprecated list with a `target` field. A file's content is inline text (checked for
//! placeholders unless `noExpand`), base64 `binaryContent`, or a `source` file read through the
//! caller's sandboxed reader.

use std::collections::BTreeMap;

use crate::diag::{Code, Diagnostic, Span, Spanned};
use crate::model::{ContainerFile, ContainerVolume, FileContent};
use crate::yaml::{Node, NodeKind};

use super::Loader;
use super::fields::{
    Entries, FILE_FIELDS, FILE_FIELDS_LIST, VOLUME_FIELDS, VOLUME_FIELDS_LIST, get, join,
};
use super::patterns::{is_base64, is_mode};
use super::placeholders::split_placeholders;

impl Loader<'_> {
    pub(super) fn files(&mut self, node: &Node, path: &str) -> BTreeMap<String, ContainerFile> {
        let out = self.files_by_target(node, path);
        self.check_keys(&out);
        out
    }

    /// Two targets that differ only where the ConfigMap key has `-` (`/etc/a-b`, `/etc/a/b`)
    /// would be one key: the second file's content would silently replace the first's.
    fn check_keys(&mut self, files: &BTreeMap<String, ContainerFile>) {
        let mut keys: BTreeMap<String, &Spanned<String>> = BTreeMap::new();
        for f in files.values() {
            let key = crate::render::resource::config_key("", &f.target.value);
            if let Some(first) = keys.insert(key.clone(), &f.target) {
                self.push(
                    Diagnostic::at(
                        Code::DuplicateKey,
                        &f.target.span,
                        format!(
                            "file targets `{}` and `{}` are stored under one ConfigMap key, `<container>{key}`",
                            first.value, f.target.value
                        ),
                    )
                    .with_note(format!("`{}` is at {}", first.value, first.span))
                    .with_help("rename one of the files: in the key every character but letters, digits, `.`, `_` and `-` becomes `-`"),
                );
            }
        }
    }

    fn files_by_target(&mut self, node: &Node, path: &str) -> BTreeMap<String, ContainerFile> {
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
        if let Some(t) = &target
            && let Some(problem) = target_problem(&t.value)
        {
            self.push(
                Diagnostic::at(
                    Code::InvalidValue,
                    &t.span,
                    format!("invalid file target `{}`: {problem}", t.value.escape_debug()),
                )
                .with_help("write the path the file has inside the container, such as `/etc/app/config.yaml`"),
            );
            return None;
        }
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
        let owner = key.map_or(&node.span, |k| &k.span);
        let which = self.content_field(entries, owner, path)?;
        let value = get(entries, which)?;
        let content = self.file_content(which, value, &join(path, which), no_expand)?;
        Some(ContainerFile {
            target: target?,
            mode,
            content,
            no_expand,
        })
    }

    /// Which one of `content`, `binaryContent` and `source` the file sets; none or two is an error.
    fn content_field<'n>(
        &mut self,
        entries: &'n Entries,
        owner: &Span,
        path: &str,
    ) -> Option<&'n str> {
        let given: Vec<&Spanned<String>> = ["content", "binaryContent", "source"]
            .iter()
            .filter_map(|f| entries.iter().find(|(k, _)| k.value == *f).map(|(k, _)| k))
            .collect();
        match given.as_slice() {
            [] => {
                self.push(Diagnostic::at(
                    Code::MissingField,
                    owner,
                    format!("missing file content in `{path}`: expected one of `content`, `binaryContent` or `source`"),
                ));
                None
            }
            [only] => Some(only.value.as_str()),
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
                None
            }
        }
    }

    /// The content `which` (one of `content`, `binaryContent`, `source`) gives the file.
    fn file_content(
        &mut self,
        which: &str,
        value: &Node,
        vpath: &str,
        no_expand: bool,
    ) -> Option<FileContent> {
        match which {
            "content" => {
                let s = if no_expand {
                    self.string(value, vpath)
                } else {
                    self.string_with_placeholders(value, vpath)
                }?;
                Some(FileContent::Text(s))
            }
            "binaryContent" => {
                let s = self.string(value, vpath)?;
                if !is_base64(&s.value) {
                    self.push(Diagnostic::at(
                        Code::InvalidValue,
                        &s.span,
                        "invalid `binaryContent`: expected standard base64 (A-Z, a-z, 0-9, `+`, `/`, `=` padding)",
                    ));
                    return None;
                }
                Some(FileContent::Binary(s))
            }
            _ => self.source_content(value, vpath, no_expand),
        }
    }

    /// A `source` file's text, read through the caller's reader (which keeps it in the workspace).
    fn source_content(
        &mut self,
        value: &Node,
        vpath: &str,
        no_expand: bool,
    ) -> Option<FileContent> {
        let src = self.nonempty(value, vpath)?;
        match (self.read_source)(&src.value) {
            Ok(text) => {
                if !no_expand && let Err(msg) = split_placeholders(&text) {
                    self.push(
                        Diagnostic::at(
                            Code::InvalidValue,
                            &src.span,
                            format!("in `{}`: {msg}", src.value),
                        )
                        .with_help("write `$${` for a literal `${`, or set `noExpand: true`"),
                    );
                }
                Some(FileContent::Text(Spanned::new(text, src.span.clone())))
            }
            Err(msg) => {
                let d = Diagnostic::at(
                    Code::Io,
                    &src.span,
                    format!("cannot read file source `{}`: {msg}", src.value),
                );
                // `resolve_inside` refused a path out of the workspace: say what is allowed.
                let escape = msg.contains("outside the workspace")
                    || msg.contains("files must be inside the workspace");
                self.push(if escape {
                    Diagnostic {
                        code: Code::SandboxEscape,
                        ..d
                    }
                    .with_help("a source is read relative to the workload file and must stay inside the workspace: copy the file next to the workload")
                } else {
                    d
                });
                None
            }
        }
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

    pub(super) fn volumes(&mut self, node: &Node, path: &str) -> BTreeMap<String, ContainerVolume> {
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
}

/// Why a file's target path cannot be mounted, if it cannot: a `..` component climbs out of the
/// directory it names (Kubernetes refuses it in a mount), a control character is no file name.
fn target_problem(target: &str) -> Option<&'static str> {
    if target.chars().any(char::is_control) {
        return Some("it contains a control character");
    }
    if target.split('/').any(|c| c == "..") {
        return Some("it contains a `..` component");
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::load::score::tests::{one_error, with_head};

    #[test]
    pub(super) fn files() {
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
}
