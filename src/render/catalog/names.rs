//! Backstage entity names: the validity rule, the lower-cased mapping of raw names, and the
//! allocation that gives every team, owner, workload, port and instance a distinct name,
//! independent of directory order.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::{CATALOG_DIR, Owners, Seen};
use crate::model::Platform;
use crate::resolve::{Instance, RWorkload};

const MAX_NAME: usize = 63;

/// Backstage's rule for `metadata.name`: 1–63 characters, `[A-Za-z0-9]` at both ends and
/// `[-A-Za-z0-9_.]` between.
pub fn is_valid_entity_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn hex8(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// A valid, lower-case entity name for `raw`. Lower case because Backstage compares names
/// case-insensitively: two names differing in case would clash there but not here.
pub fn entity_name(raw: &str) -> String {
    let mapped: String = raw
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        return format!("x-{}", hex8(raw));
    }
    if trimmed.len() <= MAX_NAME {
        return trimmed.to_string();
    }
    with_hash(trimmed, raw)
}

/// `base` shortened so that `-<8 hex of key>` fits in 63 characters.
fn with_hash(base: &str, key: &str) -> String {
    let keep = MAX_NAME - 9;
    let cut: String = base.chars().take(keep).collect();
    let cut = cut.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    format!("{cut}-{}", hex8(key))
}

/// Distinct names for keys: a key whose preferred name nobody else prefers gets it; the others,
/// in key order, get their fallback, or the preferred name with a hash of the key.
fn allocate(wanted: &BTreeMap<String, (String, Option<String>)>) -> BTreeMap<String, String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (pref, _) in wanted.values() {
        *count.entry(pref.as_str()).or_default() += 1;
    }
    let mut out = BTreeMap::new();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for (key, (pref, _)) in wanted {
        if count[pref.as_str()] == 1 {
            out.insert(key.clone(), pref.clone());
            taken.insert(pref.clone());
        }
    }
    for (key, (pref, fallback)) in wanted {
        if out.contains_key(key) {
            continue;
        }
        let mut candidates: Vec<String> = fallback.iter().cloned().collect();
        candidates.push(with_hash(pref, key));
        for n in 1.. {
            candidates.push(with_hash(pref, &format!("{key}#{n}")));
            if let Some(c) = candidates.iter().find(|c| !taken.contains(*c)) {
                taken.insert(c.clone());
                out.insert(key.clone(), c.clone());
                break;
            }
        }
    }
    out
}

/// A Backstage tag (`[a-z0-9:+#]` words joined by `-`, at most 63), or none.
pub(super) fn tag(raw: &str) -> Option<String> {
    let mapped: String = raw
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, ':' | '+' | '#') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let words: Vec<&str> = mapped.split('-').filter(|w| !w.is_empty()).collect();
    let t = words.join("-");
    (!t.is_empty() && t.len() <= MAX_NAME).then_some(t)
}

/// The name of every entity, decided once for the whole catalog.
pub(super) struct Names {
    teams: BTreeMap<String, String>,
    /// Owner key ([`user_key`]) → name.
    users: BTreeMap<String, String>,
    components: BTreeMap<String, String>,
    /// `(workload, port)` → name.
    apis: BTreeMap<(String, String), String>,
    /// Instance key → name.
    resources: BTreeMap<String, String>,
}

impl Names {
    pub(super) fn allocate(
        platform: &Platform,
        owners: &Owners,
        workloads: &Seen<'_, RWorkload>,
        instances: &Seen<'_, Instance>,
    ) -> Names {
        Names {
            teams: allocate(
                &platform
                    .teams
                    .keys()
                    .map(|t| (t.clone(), (entity_name(t), None)))
                    .collect(),
            ),
            users: allocate(
                &owners
                    .keys()
                    .map(|k| {
                        let local = k.split('@').next().unwrap_or(k);
                        (
                            k.clone(),
                            (entity_name(local), Some(entity_name(&k.replace('@', "-")))),
                        )
                    })
                    .collect(),
            ),
            components: allocate(
                &workloads
                    .keys()
                    .map(|w| (w.clone(), (entity_name(w), None)))
                    .collect(),
            ),
            apis: api_names(workloads),
            resources: allocate(
                &instances
                    .iter()
                    .filter_map(|(k, seen)| {
                        let (_, i) = seen.first()?;
                        Some((
                            k.clone(),
                            (
                                entity_name(&i.name),
                                Some(entity_name(&format!("{}-{}", i.name, i.resource_type))),
                            ),
                        ))
                    })
                    .collect(),
            ),
        }
    }

    pub(super) fn group(&self, team: &str) -> String {
        format!("group:default/{}", self.team(team))
    }
    pub(super) fn system(&self, team: &str) -> String {
        format!("system:default/{}", self.team(team))
    }
    pub(super) fn team(&self, team: &str) -> String {
        self.teams
            .get(team)
            .cloned()
            .unwrap_or_else(|| entity_name(team))
    }
    /// The directory of a team's entities.
    pub(super) fn team_dir(&self, team: &str) -> String {
        format!("{CATALOG_DIR}/{}", self.team(team))
    }
    /// The name of the user for an owner's e-mail, in any spelling.
    pub(super) fn user(&self, email: &str) -> Option<&String> {
        self.users.get(&user_key(email))
    }
    pub(super) fn component_name(&self, w: &str) -> Option<&String> {
        self.components.get(w)
    }
    pub(super) fn component(&self, w: &str) -> Option<String> {
        self.component_name(w)
            .map(|n| format!("component:default/{n}"))
    }
    pub(super) fn api_name(&self, w: &str, port: &str) -> Option<&String> {
        self.apis.get(&(w.to_string(), port.to_string()))
    }
    pub(super) fn resource_name(&self, key: &str) -> Option<&String> {
        self.resources.get(key)
    }
    pub(super) fn resource(&self, key: &str) -> Option<String> {
        self.resource_name(key)
            .map(|n| format!("resource:default/{n}"))
    }
    /// [`Names::apis_of`] with the port each API is of, in the same order.
    pub(super) fn api_ports_of(&self, w: &str) -> Vec<(&str, String)> {
        self.apis
            .range((w.to_string(), String::new())..)
            .take_while(|((wl, _), _)| wl == w)
            .map(|((_, port), n)| (port.as_str(), format!("api:default/{n}")))
            .collect()
    }
    pub(super) fn apis_of(&self, w: &str) -> Vec<String> {
        // The keys sort by workload first: its APIs are one range, not a scan of every API
        // (which made the catalog quadratic in workloads).
        self.apis
            .range((w.to_string(), String::new())..)
            .take_while(|((wl, _), _)| wl == w)
            .map(|(_, n)| format!("api:default/{n}"))
            .collect()
    }
}

/// `(workload, port)` → API name, for every port any environment gives a workload.
fn api_names(workloads: &Seen<'_, RWorkload>) -> BTreeMap<(String, String), String> {
    let mut ports: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    for (w, seen) in workloads {
        for (_, rw) in seen {
            for p in &rw.ports {
                ports
                    .entry(format!("{w}\u{0}{}", p.name))
                    .or_insert_with(|| (entity_name(&format!("{w}-{}", p.name)), None));
            }
        }
    }
    allocate(&ports)
        .into_iter()
        .map(|(k, n)| {
            let (w, p) = k.split_once('\u{0}').unwrap_or((k.as_str(), ""));
            ((w.to_string(), p.to_string()), n)
        })
        .collect()
}

/// Owners are one user whatever the case or spaces of their e-mail.
pub(super) fn user_key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_names_follow_backstage_rules() {
        assert_eq!(entity_name("payments-api"), "payments-api");
        assert_eq!(entity_name("Orders_DB.main"), "orders_db.main");
        assert_eq!(entity_name("alice@example.com"), "alice-example.com");
        assert_eq!(entity_name("--x--"), "x");
        assert!(entity_name("").starts_with("x-"));
        let long = "a".repeat(100);
        let n = entity_name(&long);
        assert_eq!(n.len(), 63);
        assert!(is_valid_entity_name(&n), "{n}");
        assert_ne!(entity_name(&"a".repeat(101)), n);
        for raw in ["ünïcödé", "a b c", "_x_", "x.", "--", "a/b:c"] {
            let n = entity_name(raw);
            assert!(is_valid_entity_name(&n), "{raw} → {n}");
        }
        assert!(!is_valid_entity_name("a@b"));
        assert!(!is_valid_entity_name("-a"));
        assert!(!is_valid_entity_name(&"a".repeat(64)));
    }

    #[test]
    fn clashing_names_get_fallbacks_then_hashes() {
        let wanted: BTreeMap<String, (String, Option<String>)> = [
            ("a@x.com", ("a", Some("a-x.com"))),
            ("a@y.com", ("a", Some("a-y.com"))),
            ("b@x.com", ("b", Some("b-x.com"))),
            ("k1", ("same", None)),
            ("k2", ("same", None)),
        ]
        .into_iter()
        .map(|(k, (p, f))| (k.to_string(), (p.to_string(), f.map(str::to_string))))
        .collect();
        let got = allocate(&wanted);
        assert_eq!(got["a@x.com"], "a-x.com");
        assert_eq!(got["a@y.com"], "a-y.com");
        assert_eq!(got["b@x.com"], "b");
        assert_eq!(got["k1"], format!("same-{}", hex8("k1")));
        assert_eq!(got["k2"], format!("same-{}", hex8("k2")));
        let distinct: BTreeSet<&String> = got.values().collect();
        assert_eq!(distinct.len(), got.len());
    }

    #[test]
    fn tags_are_valid_or_absent() {
        assert_eq!(tag("prod").as_deref(), Some("prod"));
        assert_eq!(tag("Pre_Prod").as_deref(), Some("pre-prod"));
        assert_eq!(tag("--"), None);
    }
}
