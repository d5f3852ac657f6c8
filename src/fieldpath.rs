//! Field paths inside a rendered object, written one way and read back the same way:
//! `spec.template.spec.containers[name=api].image`, `metadata.labels["app.kubernetes.io/name"]`,
//! `spec.ports[0]`. `platc diff` prints them with [`key`], [`item`] and [`index`]; `platc explain`
//! reads them with [`parse`], which also accepts the shorter forms people type (`[api]`,
//! `[app.kubernetes.io/name]`).

/// One selector of a field path as written: `.key` or `[x]` (an array item by index or by its
/// `name`, or a key of a map that contains dots, like `labels[app.kubernetes.io/name]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sel {
    Key(String),
    Bracket(String),
}

/// `path.key`, or `path["key"]` when the key is not a plain word.
pub fn key(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", serde_json::Value::String(key.to_string())),
    }
}

/// The list item whose `name` is `name`.
pub fn item(path: &str, name: &str) -> String {
    format!("{path}[name={name}]")
}

/// The list item at `i`.
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// A list item: by its `name` when it has one (stable when the list is reordered), else by
/// index. The one rule for every path platc writes (diff, explain's records, check's findings).
pub fn list_item(path: &str, ix: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => item(path, name),
        None => index(path, ix),
    }
}

fn name_of(v: &serde_json::Value) -> Option<&str> {
    v.get("name").and_then(serde_json::Value::as_str)
}

/// One step of a path as a JSON pointer has it: a map key or a list index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The path `steps` reach in `value`, written as above (a list item by its `name`). Steps past
/// what `value` has (an unknown field, a missing item) are written as they are.
pub fn of_steps<'a>(
    value: &serde_json::Value,
    steps: impl IntoIterator<Item = Step<'a>>,
) -> String {
    let mut cur = Some(value);
    let mut path = String::new();
    for st in steps {
        match st {
            Step::Key(k) => {
                path = key(&path, k);
                cur = cur.and_then(|v| v.get(k));
            }
            Step::Index(i) => {
                cur = cur.and_then(|v| v.get(i));
                path = list_item(&path, i, cur.and_then(name_of));
            }
        }
    }
    path
}

/// The path one selector up (`spec.ports` of `spec.ports[name=http]`, `metadata.labels` of
/// `metadata.labels["a.b/c"]`); `None` for a single selector.
pub fn parent(path: &str) -> Option<&str> {
    let mut cut = None;
    let (mut in_bracket, mut in_quote) = (false, false);
    for (at, c) in path.char_indices() {
        match c {
            '"' if in_bracket => in_quote = !in_quote,
            '[' if !in_quote => {
                in_bracket = true;
                cut = Some(at);
            }
            ']' if !in_quote => in_bracket = false,
            '.' if !in_bracket => cut = Some(at),
            _ => {}
        }
    }
    cut.filter(|&at| at > 0).map(|at| &path[..at])
}

pub fn parse(s: &str) -> Result<Vec<Sel>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    let flush = |cur: &mut String, out: &mut Vec<Sel>| {
        if !cur.is_empty() {
            out.push(Sel::Key(std::mem::take(cur)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if cur.is_empty() && !matches!(out.last(), Some(Sel::Bracket(_))) {
                    return Err(format!("empty segment in field path `{s}`"));
                }
                flush(&mut cur, &mut out);
            }
            '[' => {
                flush(&mut cur, &mut out);
                let mut inner = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    inner.push(c);
                }
                if !closed || inner.is_empty() {
                    return Err(format!("unclosed or empty `[...]` in field path `{s}`"));
                }
                // `[name=api]` is how `item` writes a list item; `["a.b"]` how `key` writes a key.
                let inner = inner.strip_prefix("name=").unwrap_or(&inner);
                let inner = match serde_json::from_str::<String>(inner) {
                    Ok(unquoted) => unquoted,
                    Err(_) => inner.trim_matches(|c| c == '"' || c == '\'').to_string(),
                };
                out.push(Sel::Bracket(inner));
            }
            c => cur.push(c),
        }
    }
    if cur.is_empty() && matches!(out.last(), None | Some(Sel::Key(_))) && s.ends_with('.') {
        return Err(format!("field path `{s}` ends with `.`"));
    }
    flush(&mut cur, &mut out);
    if out.is_empty() {
        return Err("empty field path".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let p = key(&item(&key(&key("", "spec"), "containers"), "api"), "image");
        assert_eq!(p, "spec.containers[name=api].image");
        assert_eq!(
            parse(&p).unwrap(),
            [
                Sel::Key("spec".into()),
                Sel::Key("containers".into()),
                Sel::Bracket("api".into()),
                Sel::Key("image".into())
            ]
        );
        let l = key(&key("metadata", "labels"), "app.kubernetes.io/name");
        assert_eq!(l, "metadata.labels[\"app.kubernetes.io/name\"]");
        assert_eq!(
            parse(&l).unwrap().last(),
            Some(&Sel::Bracket("app.kubernetes.io/name".into()))
        );
        assert_eq!(
            parse(&index("spec.ports", 0)).unwrap().last(),
            Some(&Sel::Bracket("0".into()))
        );
    }

    #[test]
    fn pointer_steps_become_paths_with_item_names() {
        let v =
            serde_json::json!({"spec": {"ports": [{"name": "http", "port": 80}, {"port": 81}]}});
        let steps = |s: &[Step<'static>]| of_steps(&v, s.iter().copied());
        assert_eq!(
            steps(&[
                Step::Key("spec"),
                Step::Key("ports"),
                Step::Index(0),
                Step::Key("port")
            ]),
            "spec.ports[name=http].port"
        );
        assert_eq!(
            steps(&[
                Step::Key("spec"),
                Step::Key("ports"),
                Step::Index(1),
                Step::Key("port")
            ]),
            "spec.ports[1].port"
        );
        // Past what the value has: written as given.
        assert_eq!(
            steps(&[Step::Key("spec"), Step::Key("replcas")]),
            "spec.replcas"
        );
        assert_eq!(
            steps(&[Step::Key("spec"), Step::Key("ports"), Step::Index(7)]),
            "spec.ports[7]"
        );
    }

    #[test]
    fn parents_go_up_one_selector() {
        assert_eq!(
            parent("spec.ports[name=http].port"),
            Some("spec.ports[name=http]")
        );
        assert_eq!(parent("spec.ports[name=http]"), Some("spec.ports"));
        assert_eq!(
            parent(r#"metadata.labels["a.b/c"]"#),
            Some("metadata.labels")
        );
        assert_eq!(
            parent(r#"metadata.labels["a[b]"]"#),
            Some("metadata.labels")
        );
        assert_eq!(parent("spec"), None);
        assert_eq!(parent(""), None);
    }
}
