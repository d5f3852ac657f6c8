//! Masking of secret values, before any text of an object exists.

use serde_json::Value;

use crate::redact::secret_shaped;

/// What a masked secret value reads.
pub const MASK: &str = "***";
const MASK_CHANGED: &str = "*** (changed)";

/// A name that says its value is a secret.
pub fn secret_looking(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["password", "secret", "token", "key", "credential"]
        .iter()
        .any(|w| n.contains(w))
}

/// `value` with every secret value replaced by `***`: all of `data`/`stringData` of a `Secret`,
/// every `stringData` entry, the `value` of every `{name, value}` entry (env variables)
/// whose name looks secret, and every string shaped like a credential (`secret_shaped`). With `other` (the other side of a comparison), a masked value that
/// differs there reads `*** (changed)`, so a rotated secret still shows in a diff.
pub fn masked(value: &Value, other: Option<&Value>) -> Value {
    let mut v = value.clone();
    let is_secret = value.get("kind").and_then(Value::as_str) == Some("Secret");
    if let Value::Object(m) = &mut v
        && is_secret
    {
        // `stringData` of any object is masked by the walk below; masking it here as well
        // compared the masked text with the other side's value and called every entry changed.
        if let Some(Value::Object(entries)) = m.get_mut("data") {
            mask_all(entries, other.and_then(|o| o.get("data")));
        }
    }
    mask_walk(&mut v, other);
    v
}

fn mask_leaf(v: &mut Value, other: Option<&Value>) {
    let changed = other.is_some_and(|o| o != v);
    *v = Value::String(if changed { MASK_CHANGED } else { MASK }.to_string());
}

fn mask_all(entries: &mut serde_json::Map<String, Value>, other: Option<&Value>) {
    for (k, v) in entries.iter_mut() {
        mask_leaf(v, other.and_then(|o| o.get(k)));
    }
}

fn mask_walk(v: &mut Value, other: Option<&Value>) {
    match v {
        Value::Object(m) => {
            let env_like = m
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(secret_looking)
                && m.contains_key("value");
            if env_like && let Some(val) = m.get_mut("value") {
                mask_leaf(val, other.and_then(|o| o.get("value")));
            }
            for (k, child) in m.iter_mut() {
                let o = other.and_then(|o| o.get(k));
                if k == "stringData"
                    && let Value::Object(entries) = child
                {
                    mask_all(entries, o);
                } else if !(env_like && k == "value") {
                    mask_walk(child, o);
                }
            }
        }
        Value::Array(items) => {
            let others: Option<&Vec<Value>> = other.and_then(Value::as_array);
            for (i, item) in items.iter_mut().enumerate() {
                let counterpart = match (others, item.get("name").and_then(Value::as_str)) {
                    (Some(os), Some(n)) => os
                        .iter()
                        .find(|o| o.get("name").and_then(Value::as_str) == Some(n)),
                    (Some(os), None) => os.get(i),
                    (None, _) => None,
                };
                mask_walk(item, counterpart);
            }
        }
        Value::String(s) if secret_shaped(s) => mask_leaf(v, other),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::diff::test_support::{DEPLOY, files};
    use crate::diff::{diff_trees, to_text};

    #[test]
    fn credential_shaped_values_are_secret_whatever_their_field() {
        use super::secret_shaped;
        for leak in [
            "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN PRIVATE KEY-----",
            "id AKIAIOSFODNN7EXAMPLE",
            "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig",
            "host=db password=hunter2",
            "PASSWORD=x",
        ] {
            assert!(secret_shaped(leak), "{leak}");
        }
        for fine in [
            "-----BEGIN CERTIFICATE-----",
            "AKIA-not-a-key",
            "AKIAshort",
            "eyJ alone",
            "host=db password=$(PLATC_SECRET_DB_PASSWORD)",
            "password= user=x",
            "the password=",
        ] {
            assert!(!secret_shaped(fine), "{fine}");
        }
    }

    #[test]
    fn secrets_are_masked_and_a_rotation_still_shows() {
        let secret_old = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: b2xk}\nstringData: {token: old-token}\n";
        let secret_new = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: bmV3}\nstringData: {token: old-token}\n";
        let new_deploy = DEPLOY.replace("hunter2", "correcthorse");
        let d = diff_trees(
            &files(&[("s.yaml", secret_old), ("envs/dev/api/d.yaml", DEPLOY)]),
            &files(&[("s.yaml", secret_new), ("envs/dev/api/d.yaml", &new_deploy)]),
        );
        let text = to_text(&d, false);
        for secret in ["b2xk", "bmV3", "old-token", "hunter2", "correcthorse"] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
        assert!(text.contains("+  password: \"*** (changed)\""), "{text}");
        // The unchanged `stringData` entry reads unchanged on both sides.
        assert!(!text.contains("token: \"*** (changed)\""), "{text}");
        assert!(text.contains("-  password: \"***\""), "{text}");
        assert!(text.contains("value: \"*** (changed)\""), "{text}");
        assert_eq!(
            d.changes[0].fields,
            vec!["spec.template.spec.containers[name=api].env[name=DB_PASSWORD].value"]
        );
        assert_eq!(d.changes[1].fields, vec!["data.password"]);
    }
}
