//! Instance names: the id, or `<workload>-<key>`, made a DNS label; on a clash the type is
//! appended, then a hash.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::requests::Pending;

/// DNS-1123 label from arbitrary text.
pub fn dns_label(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        let c = ch.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// 8 hex characters of sha256: stable names and uids without a state file.
pub fn short_hash(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// Instance key → name: readable, unique in the environment, at most 52 characters.
pub(super) fn instance_names(pending: &BTreeMap<String, Pending>) -> BTreeMap<String, String> {
    let base = |p: &Pending| -> String {
        match &p.id {
            Some(id) => dns_label(id),
            None => dns_label(&format!("{}-{}", p.first, p.res_key)),
        }
    };
    let fit = |name: String, key: &str| -> String {
        if name.len() <= 52 {
            name
        } else {
            format!("{}-{}", name[..43].trim_end_matches('-'), short_hash(key))
        }
    };
    let mut names: BTreeMap<String, String> =
        pending.iter().map(|(k, p)| (k.clone(), base(p))).collect();
    // Two instances with one name (say a postgres and a redis both with id `orders`) get their
    // type appended; what is left colliding gets a hash.
    for round in 0..2 {
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for n in names.values() {
            *count.entry(n.clone()).or_default() += 1;
        }
        for (k, n) in names.iter_mut() {
            if count[n.as_str()] > 1 {
                let p = &pending[k];
                *n = if round == 0 {
                    dns_label(&format!("{n}-{}", p.rtype))
                } else {
                    format!("{n}-{}", short_hash(k))
                };
            }
        }
    }
    names
        .into_iter()
        .map(|(k, n)| {
            let f = fit(n, &k);
            (k, f)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels_are_clean() {
        assert_eq!(dns_label("Orders_DB.main"), "orders-db-main");
        assert_eq!(dns_label("--x--"), "x");
    }
}
