//! Credential-shaped text: what must never be echoed, wherever it comes from. `diff` masks such
//! values in objects (`diff/mask.rs`); error reports that quote source lines (Nickel's snippets of
//! the platform) have them redacted before any diagnostic holds them.

use std::borrow::Cow;

/// A value shaped like a credential whatever field holds it: a PEM private key, an AWS access
/// key id, a JWT, or `password=` followed by a literal (a `$(VAR)` reference is not one). The
/// old side of a diff is whatever is in Git, written by hand or by an older tool, so a value
/// under an innocent name (`AUTHORIZATION: Bearer eyJ…`) must not be echoed either.
pub fn secret_shaped(s: &str) -> bool {
    let private_key = s.match_indices("-----BEGIN ").any(|(i, m)| {
        s[i + m.len()..]
            .split("-----")
            .next()
            .is_some_and(|h| h.ends_with("PRIVATE KEY"))
    });
    private_key || aws_key_id(s) || jwt(s) || password_literal(s)
}

fn aws_key_id(s: &str) -> bool {
    s.match_indices("AKIA").any(|(i, _)| {
        let rest = &s.as_bytes()[i + 4..];
        rest.len() >= 16
            && rest[..16]
                .iter()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    })
}

/// `eyJ` (base64 of `{"`) and two dot-separated base64url segments after it.
fn jwt(s: &str) -> bool {
    let b64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    s.match_indices("eyJ").any(|(i, _)| {
        let mut parts = s[i..].splitn(3, '.');
        let (Some(head), Some(body), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        head.chars().all(b64url) && !body.is_empty() && body.chars().all(b64url)
    })
}

fn password_literal(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.match_indices("password=").any(|(i, m)| {
        let rest = &s[i + m.len()..];
        !(rest.is_empty()
            || rest.starts_with("$(")
            || rest.starts_with(|c: char| c.is_whitespace() || c == '&' || c == ';'))
    })
}

/// `text` with every credential-shaped token replaced by `***`, and every line of a PEM private
/// key block by `***`. Tokens are split at whitespace, quotes, backticks, commas, brackets and
/// parentheses, so a key inside a quoted source line is found on its own.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    if !secret_shaped(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut in_key = false;
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let starts_key = body.contains("-----BEGIN ") && body.contains("PRIVATE KEY");
        if in_key || starts_key {
            in_key = !body.contains("-----END ") || (starts_key && !ends_after_begin(body));
            out.push_str("***");
            out.push_str(end);
            continue;
        }
        redact_tokens(body, &mut out);
        out.push_str(end);
    }
    Cow::Owned(out)
}

/// Whether a line that begins a key block also ends it (a one-line key).
fn ends_after_begin(line: &str) -> bool {
    line.find("-----BEGIN ")
        .is_some_and(|b| line[b..].contains("-----END "))
}

fn redact_tokens(line: &str, out: &mut String) {
    let separator = |c: char| c.is_whitespace() || "\"'`,()[]{}".contains(c);
    let mut rest = line;
    while !rest.is_empty() {
        let cut = rest.find(|c: char| !separator(c)).unwrap_or(rest.len());
        out.push_str(&rest[..cut]);
        rest = &rest[cut..];
        let end = rest.find(separator).unwrap_or(rest.len());
        let token = &rest[..end];
        out.push_str(if secret_shaped(token) { "***" } else { token });
        rest = &rest[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_text_are_redacted_and_nothing_else() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let text = format!(
            "error: contract broken\n  │ 3 │   key = \"AKIAABCDEFGHIJKLMNOP\",\n  │ 4 │   token = \"{jwt}\",\n  url = \"postgres://x?password=hunter2\"\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\nafter"
        );
        let r = redact_text(&text);
        assert!(!secret_shaped(&r), "{r}");
        assert!(r.contains("│ 3 │   key = \"***\","), "{r}");
        assert!(r.contains("token = \"***\""), "{r}");
        assert!(r.contains("url = \"***\""), "{r}");
        assert!(!r.contains("MIIEow"), "{r}");
        assert!(r.ends_with("***\nafter"), "{r}");
        let plain = "error: unknown cluster `prd`\n  │ 3 │   cluster = \"prd\",";
        assert!(matches!(redact_text(plain), Cow::Borrowed(_)));
    }
}
