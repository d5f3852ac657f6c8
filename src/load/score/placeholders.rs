//! Score's placeholder syntax (`${a.b}`, `$$` escapes), lexed without meaning: the loader checks
//! every string that may hold placeholders with it, the resolver gives the paths their values.

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

/// Byte offset of the first `${` that has no closing `}` (after skipping `$$` escapes).
pub(super) fn first_unclosed(s: &str) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
