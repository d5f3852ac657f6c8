//! Where in the platform's Nickel files a profile setting was written, so that a finding about a
//! value that came from a profile or an environment override points there. The evaluated
//! platform keeps no spans, so this looks for the chain of field names (`prod`, `overrides`,
//! `replicas`) in the source text; when that fails the caller falls back to the workload.

use crate::diag::{Span, line_col};
use crate::model::Platform;

pub struct Locator {
    /// (workspace-relative file, text) of the platform's own files, in `Platform::sources` order.
    files: Vec<(String, String)>,
}

impl Locator {
    /// `read` gives the text of a workspace file (None when it cannot, e.g. the embedded
    /// platform).
    pub fn new(platform: &Platform, read: &dyn Fn(&str) -> Option<String>) -> Self {
        let files = platform
            .sources
            .iter()
            .filter(|s| s.starts_with("platform/"))
            .filter_map(|s| read(s).map(|t| (s.clone(), t)))
            .collect();
        Locator { files }
    }

    /// The span of a profile setting given its provenance (`profile web`, `environment prod
    /// overrides`, `environment prod profile_overrides.web`) and its dotted path (`replicas`,
    /// `hpa.min_replicas`); with an empty path, the profile (or environment) itself.
    pub fn setting(&self, origin: &str, path: &str) -> Option<Span> {
        let mut keys: Vec<&str> = Vec::new();
        if let Some(p) = origin.strip_prefix("profile ") {
            keys.push(p);
        } else if let Some(rest) = origin.strip_prefix("environment ") {
            let mut parts = rest.split(' ');
            keys.push(parts.next()?);
            for part in parts {
                keys.extend(part.split('.'));
            }
        } else {
            return None;
        }
        keys.extend(path.split('.').filter(|s| !s.is_empty()));
        self.chain(&keys)
    }

    /// The profile definition itself.
    pub fn profile(&self, name: &str) -> Option<Span> {
        self.chain(&[name])
    }

    /// The first `"value"` string literal in the platform's files.
    pub fn literal(&self, value: &str) -> Option<Span> {
        let needle = format!("\"{value}\"");
        self.files.iter().find_map(|(file, text)| {
            let at = text.find(&needle)?;
            let (line, col) = line_col(text, at);
            Some(Span::new(file.as_str(), line, col))
        })
    }

    /// The field names in order, each found after the previous one, in the first file that has
    /// them all; the span of the last.
    fn chain(&self, keys: &[&str]) -> Option<Span> {
        self.files.iter().find_map(|(file, text)| {
            let mut from = 0;
            let mut at = None;
            for (i, k) in keys.iter().enumerate() {
                // Every key but the last names a record (`web = {`) or starts a dotted path.
                let record = i + 1 < keys.len() || keys.len() == 1;
                let pos = find_field(text, from, k, record)?;
                at = Some(pos);
                from = pos + k.len();
            }
            let (line, col) = line_col(text, at?);
            Some(Span::new(file.as_str(), line, col))
        })
    }
}

/// A field definition `key =`, `key |`, `key.` (dotted path) or `"key" =`, outside comments.
fn find_field(text: &str, from: usize, key: &str, record: bool) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = from;
    while let Some(pos) = text.get(i..)?.find(key) {
        let at = i + pos;
        let end = at + key.len();
        i = end;
        let quoted = at > 0 && bytes[at - 1] == b'"' && bytes.get(end) == Some(&b'"');
        let (start, stop) = if quoted { (at - 1, end + 1) } else { (at, end) };
        let before_ok = start == 0 || !is_ident(bytes[start - 1]);
        let after = text[stop..].trim_start_matches([' ', '\t']);
        let dotted = !quoted && after.starts_with('.') && !after.starts_with("..");
        let after_ok = if record {
            dotted
                || after
                    .strip_prefix('=')
                    .is_some_and(|r| r.trim_start().starts_with('{'))
        } else {
            dotted
                || (after.starts_with('=') && !after.starts_with("=="))
                || (after.starts_with('|') && !after.starts_with("||"))
        };
        let line_start = text[..at].rfind('\n').map_or(0, |p| p + 1);
        let in_comment = text[line_start..at].contains('#');
        if before_ok
            && after_ok
            && !in_comment
            && (quoted || bytes.get(end).is_none_or(|b| !is_ident(*b)))
        {
            return Some(start);
        }
    }
    None
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'\''
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locator(files: &[(&str, &str)]) -> Locator {
        Locator {
            files: files
                .iter()
                .map(|(f, t)| (f.to_string(), t.to_string()))
                .collect(),
        }
    }

    #[test]
    fn finds_profile_and_override_settings() {
        let l = locator(&[
            (
                "platform/profiles.ncl",
                "# web = comment\n{\n  web = {\n    replicas = 2,\n  },\n  worker = { replicas = 1 },\n}\n",
            ),
            (
                "platform/environments.ncl",
                "{\n  prod = {\n    overrides = { replicas = 2 },\n    profile_overrides = {\n      web = { hpa = { min_replicas = 2 }, resources.limits.memory = \"1Gi\" },\n    },\n  },\n}\n",
            ),
        ]);
        assert_eq!(
            l.setting("profile web", "replicas"),
            Some(Span::new("platform/profiles.ncl", 4, 5))
        );
        assert_eq!(
            l.setting("profile worker", "replicas"),
            Some(Span::new("platform/profiles.ncl", 6, 14))
        );
        assert_eq!(
            l.setting("environment prod overrides", "replicas"),
            Some(Span::new("platform/environments.ncl", 3, 19))
        );
        assert_eq!(
            l.setting("environment prod profile_overrides.web", "hpa.min_replicas"),
            Some(Span::new("platform/environments.ncl", 5, 23))
        );
        assert_eq!(
            l.setting(
                "environment prod profile_overrides.web",
                "resources.limits.memory"
            ),
            Some(Span::new("platform/environments.ncl", 5, 60))
        );
        assert_eq!(l.profile("cron"), None);
        assert_eq!(l.setting("workload", "replicas"), None);
    }
}
