//! The string patterns of the Score schema (names, ids, annotation keys, file modes, quantities,
//! base64), checked by hand rather than with a regex dependency, and the close valid value to
//! suggest when a name or quantity misses its pattern.

pub(super) const LABEL_RULE: &str = "an RFC 1123 label: 2-63 characters of a-z, 0-9 and `-`, starting and ending with a letter or digit";
pub(super) const TYPE_RULE: &str =
    "2-63 characters of A-Z, a-z, 0-9 and `-`, starting and ending with a letter or digit";
pub(super) const ID_RULE: &str = "2-63 characters: `.`-separated labels of a-z, 0-9 and `-`, each starting and ending with a letter or digit";

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
pub(super) fn is_type_name(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=63).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `^[a-z0-9]+(?:-+[a-z0-9]+)*(?:\.[a-z0-9]+(?:-+[a-z0-9]+)*)*$`, 2 to 63 characters.
pub(super) fn is_resource_id(s: &str) -> bool {
    (2..=63).contains(&s.len()) && is_dotted_labels(s)
}

/// `.`-separated labels of a-z, 0-9 and `-`, each starting and ending with a letter or digit
/// (Score ids, and Kubernetes DNS subdomains without their length limit).
pub fn is_dotted_labels(s: &str) -> bool {
    s.split('.').all(|l| {
        let b = l.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    })
}

/// `^(([a-z0-9][a-z0-9-]{0,61}[a-z0-9])(\.[a-z0-9][a-z0-9-]{0,61}[a-z0-9])*/)?[A-Za-z0-9][A-Za-z0-9._-]{0,61}[A-Za-z0-9]$`
pub(super) fn is_annotation_key(s: &str) -> bool {
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
pub(super) fn is_mode(s: &str) -> bool {
    let digits = if s.len() == 4 {
        s.strip_prefix('0')
    } else {
        Some(s)
    };
    digits.is_some_and(|d| d.len() == 3 && d.bytes().all(|c| (b'0'..=b'7').contains(&c)))
}

/// `^\d+(?:m|\.\d+)?$`
pub(super) fn is_cpu(s: &str) -> bool {
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
pub(super) fn is_memory(s: &str) -> bool {
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
pub(super) fn suggest_memory(s: &str) -> Option<String> {
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
pub(super) fn is_base64(s: &str) -> bool {
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
pub(super) fn suggest_label(s: &str) -> Option<String> {
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
    use crate::load::score::tests::{one_error, with_head};

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
}
