//! The commit message: a subject naming the source commit, a body grouping the changed files
//! by environment and app, and the `Platc-*` trailers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::{Change, ChangeKind, Source};

/// Changed-file groups listed in a commit body before the rest is summarised in one line.
const MAX_BODY_GROUPS: usize = 60;
/// File names listed per group and kind before "and N more".
const MAX_NAMES: usize = 4;

/// `envs/<env>/<app>/x.yaml` → (`envs/<env>/<app>`, `x.yaml`); `argocd/clusters/<c>/…` likewise;
/// other nested paths group by their first two components, top-level files stand alone.
fn group_of(path: &str) -> (&str, &str) {
    let parts: Vec<&str> = path.split('/').collect();
    let depth = if parts.len() > 4 && parts[0] == "envs" && parts[2].starts_with('_') {
        // `_namespaces/<ns>`, `_resources/<instance>`: each one is a unit like an app.
        4
    } else if parts.len() > 3 && (parts[0] == "envs" || parts[..2] == ["argocd", "clusters"]) {
        3
    } else if parts.len() > 2 {
        2
    } else if parts.len() == 2 {
        1
    } else {
        return (path, "");
    };
    let split = parts[..depth].iter().map(|p| p.len() + 1).sum::<usize>();
    (&path[..split - 1], &path[split..])
}

fn names(list: &[&str]) -> String {
    let shown: Vec<&str> = list.iter().take(MAX_NAMES).copied().collect();
    let mut s = shown.join(", ");
    if list.len() > MAX_NAMES {
        let _ = write!(s, " and {} more", list.len() - MAX_NAMES);
    }
    s
}

/// Group → the rest of each changed path, per kind (indexed by `ChangeKind as usize`).
type Groups<'a> = BTreeMap<&'a str, [Vec<&'a str>; 3]>;

/// Subject `platc: render <short sha>`, a body grouping the changes by environment and app,
/// and the `Platc-*` trailers.
pub fn commit_message(changes: &[Change], source: &Source, platc_version: &str) -> String {
    let mut msg = match source.short_label() {
        Some(s) => format!("platc: render {s}\n\n"),
        None => "platc: render (no source commit)\n\n".to_string(),
    };
    let mut groups: Groups<'_> = BTreeMap::new();
    for ch in changes {
        let (g, rest) = group_of(&ch.path);
        let slot = &mut groups.entry(g).or_default()[ch.kind as usize];
        if !rest.is_empty() {
            slot.push(rest);
        }
    }
    summary(&mut msg, changes, &groups);
    msg.push('\n');
    body(&mut msg, changes, &groups);
    msg.push('\n');
    if let Some(c) = source.commit_label() {
        let _ = writeln!(msg, "Platc-Source-Commit: {c}");
    }
    if let Some(r) = &source.repo {
        let _ = writeln!(msg, "Platc-Source-Repo: {r}");
    }
    let _ = writeln!(msg, "Platc-Version: {platc_version}");
    msg
}

/// One line: how many files of each kind, in how many apps and environments.
fn summary(msg: &mut String, changes: &[Change], groups: &Groups<'_>) {
    let count = |k: ChangeKind| changes.iter().filter(|c| c.kind == k).count();
    let (a, c, r) = (
        count(ChangeKind::Added),
        count(ChangeKind::Changed),
        count(ChangeKind::Removed),
    );
    let envs: BTreeSet<&str> = groups
        .keys()
        .filter_map(|g| g.strip_prefix("envs/"))
        .filter_map(|g| g.split('/').next())
        .collect();
    let apps = groups
        .keys()
        .filter(|g| {
            g.starts_with("envs/") && !g.split('/').nth(2).is_some_and(|a| a.starts_with('_'))
        })
        .count();
    let _ = writeln!(
        msg,
        "{} file{}: {a} added, {c} changed, {r} removed; {apps} app{} in {} environment{}{}.",
        changes.len(),
        plural(changes.len()),
        plural(apps),
        envs.len(),
        plural(envs.len()),
        if envs.is_empty() {
            String::new()
        } else {
            format!(" ({})", envs.iter().copied().collect::<Vec<_>>().join(", "))
        }
    );
}

/// A line per group, at most [`MAX_BODY_GROUPS`].
fn body(msg: &mut String, changes: &[Change], groups: &Groups<'_>) {
    // Environments' apps first, then the delivery, catalog and top-level files.
    let mut ordered: Vec<(&&str, &[Vec<&str>; 3])> = groups.iter().collect();
    ordered.sort_by_key(|(g, _)| (!g.starts_with("envs/"), **g));
    for (i, (group, kinds)) in ordered.iter().enumerate() {
        if i == MAX_BODY_GROUPS {
            let _ = writeln!(msg, "… and {} more", ordered.len() - MAX_BODY_GROUPS);
            break;
        }
        let mut parts = Vec::new();
        for (k, word) in [(0, "added"), (1, "changed"), (2, "removed")] {
            if !kinds[k].is_empty() {
                parts.push(format!("{word} {}", names(&kinds[k])));
            }
        }
        if parts.is_empty() {
            // A top-level file: the group is the file itself.
            let word = [ChangeKind::Added, ChangeKind::Changed, ChangeKind::Removed]
                .iter()
                .find(|k| changes.iter().any(|c| c.path == **group && c.kind == **k))
                .map_or("changed", |k| match k {
                    ChangeKind::Added => "added",
                    ChangeKind::Changed => "changed",
                    ChangeKind::Removed => "removed",
                });
            let _ = writeln!(msg, "{group}: {word}");
        } else {
            let _ = writeln!(msg, "{group}: {}", parts.join("; "));
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::ch;

    #[test]
    fn paths_group_by_environment_and_app() {
        assert_eq!(
            group_of("envs/dev/cart/deployment.yaml"),
            ("envs/dev/cart", "deployment.yaml")
        );
        assert_eq!(
            group_of("envs/dev/_namespaces/data-dev/ns.yaml"),
            ("envs/dev/_namespaces/data-dev", "ns.yaml")
        );
        assert_eq!(
            group_of("argocd/clusters/prod/apps/x.yaml"),
            ("argocd/clusters/prod", "apps/x.yaml")
        );
        assert_eq!(
            group_of("argocd/dev/apps/cart.yaml"),
            ("argocd/dev", "apps/cart.yaml")
        );
        assert_eq!(
            group_of("argocd/dev/root.yaml"),
            ("argocd/dev", "root.yaml")
        );
        assert_eq!(group_of("catalog/x.yaml"), ("catalog", "x.yaml"));
        assert_eq!(group_of("README.md"), ("README.md", ""));
    }

    #[test]
    fn message_has_subject_body_by_app_and_trailers() {
        let source = Source {
            commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            dirty: true,
            repo: Some("https://example.com/src.git".into()),
            date: None,
        };
        let changes = vec![
            ch("README.md", ChangeKind::Changed),
            ch("argocd/dev/apps/cart.yaml", ChangeKind::Changed),
            ch("envs/dev/cart/deployment.yaml", ChangeKind::Changed),
            ch("envs/dev/cart/hpa.yaml", ChangeKind::Added),
            ch("envs/prod/orders/cronjob.yaml", ChangeKind::Removed),
            ch(
                "envs/prod/_resources/orders-db/cluster.yaml",
                ChangeKind::Changed,
            ),
        ];
        assert_eq!(
            commit_message(&changes, &source, "0.1.0"),
            "platc: render 0123456-dirty\n\
             \n\
             6 files: 1 added, 4 changed, 1 removed; 2 apps in 2 environments (dev, prod).\n\
             \n\
             envs/dev/cart: added hpa.yaml; changed deployment.yaml\n\
             envs/prod/_resources/orders-db: changed cluster.yaml\n\
             envs/prod/orders: removed cronjob.yaml\n\
             README.md: changed\n\
             argocd/dev: changed apps/cart.yaml\n\
             \n\
             Platc-Source-Commit: 0123456789abcdef0123456789abcdef01234567-dirty\n\
             Platc-Source-Repo: https://example.com/src.git\n\
             Platc-Version: 0.1.0\n"
        );
    }

    #[test]
    fn long_lists_are_shortened() {
        let changes: Vec<Change> = (0..6)
            .map(|i| ch(&format!("envs/dev/a/f{i}.yaml"), ChangeKind::Added))
            .collect();
        let msg = commit_message(&changes, &Source::default(), "1");
        assert!(
            msg.starts_with("platc: render (no source commit)\n"),
            "{msg}"
        );
        assert!(
            msg.contains("envs/dev/a: added f0.yaml, f1.yaml, f2.yaml, f3.yaml and 2 more\n"),
            "{msg}"
        );
        assert!(!msg.contains("Platc-Source-Commit"), "{msg}");
    }
}
