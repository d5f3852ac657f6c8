//! Content hashes as platc writes them (`sha256:<hex>`): the ownership index, the build cache,
//! the memo and the platform's evaluation cache all name bytes this way.

use sha2::{Digest, Sha256};

/// `sha256:<hex>` of some bytes, as recorded in the index.
pub fn content_hash(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    push_hex(&mut out, &Sha256::digest(bytes));
    out
}

/// Whether `hash` is what [`content_hash`] writes: `sha256:` and 64 lowercase hex digits.
pub fn is_content_hash(hash: &str) -> bool {
    let hex = hash.strip_prefix("sha256:").unwrap_or("");
    hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Appends `bytes` as lower-case hex.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
}
