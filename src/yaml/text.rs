//! A YAML file's bytes → text, before any parsing: the size limit, the encoding (UTF-8 only; a
//! UTF-8 byte order mark is allowed, as YAML 1.2 says), and a pointed error for anything else.

use crate::diag::{Code, Diagnostic, Span, line_col};

/// Largest workload file read. The biggest real Score file is a few KiB; a file of megabytes is
/// generated or hostile, and reading and parsing it would cost memory and time for nothing.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// `Err` when a file of `len` bytes is over [`MAX_FILE_BYTES`], checked from its metadata so
/// that an oversized file is never read.
pub fn check_size(file: &str, len: u64) -> Result<(), Diagnostic> {
    if len <= MAX_FILE_BYTES {
        return Ok(());
    }
    Err(Diagnostic::at(
        Code::TooLarge,
        &Span::file(file),
        format!(
            "`{file}` is {len} bytes, over the limit of {MAX_FILE_BYTES} bytes ({} MiB) for a workload file",
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    )
    .with_help("a workload file holds a spec, not data: move large content to a `files` entry's `source`, or out of the workspace"))
}

/// The text of a file, without a leading UTF-8 byte order mark.
pub fn decode(file: &str, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    if let Some(which) = utf16_or_32(&bytes) {
        return Err(Diagnostic::at(
            Code::Encoding,
            &Span::file(file),
            format!("`{file}` is encoded as {which}: expected UTF-8"),
        )
        .with_help(format!(
            "save the file as UTF-8 (for example `iconv -f {} -t UTF-8`)",
            which.split(' ').next().unwrap_or(which)
        )));
    }
    let mut text = String::from_utf8(bytes).map_err(|e| invalid_utf8(file, e))?;
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// The encoding a byte order mark (or the NUL bytes of an ASCII first character) shows, if it
/// is UTF-16 or UTF-32: such a file is valid bytes but never valid UTF-8 text.
fn utf16_or_32(b: &[u8]) -> Option<&'static str> {
    match b {
        [0xFF, 0xFE, 0, 0, ..] | [_, 0, 0, 0, ..] => Some("UTF-32LE"),
        [0, 0, 0xFE, 0xFF, ..] | [0, 0, 0, _, ..] => Some("UTF-32BE"),
        [0xFF, 0xFE, ..] | [_, 0, ..] => Some("UTF-16LE"),
        [0xFE, 0xFF, ..] | [0, _, ..] => Some("UTF-16BE"),
        _ => None,
    }
}

fn invalid_utf8(file: &str, e: std::string::FromUtf8Error) -> Diagnostic {
    let offset = e.utf8_error().valid_up_to();
    let bytes = e.as_bytes();
    let bad = bytes.get(offset).copied().unwrap_or(0);
    // The valid prefix is text, so the position of the bad byte is counted in characters there.
    let valid = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
    let (line, col) = line_col(valid, offset);
    Diagnostic::at(
        Code::Encoding,
        &Span::new(file, line, col),
        format!("invalid UTF-8: byte 0x{bad:02X} at offset {offset} is not part of a UTF-8 character"),
    )
    .with_help("save the file as UTF-8; a Latin-1 or Windows-1252 editor writes `é` as the single byte 0xE9")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bom_is_dropped_and_other_encodings_are_named() {
        assert_eq!(
            decode("f", b"\xEF\xBB\xBFa: 1".to_vec()).as_deref(),
            Ok("a: 1")
        );
        let utf16: Vec<u8> = "a: 1".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let d = decode("f", utf16).expect_err("UTF-16");
        assert!(d.message.contains("UTF-16LE"), "{}", d.message);
        let d = decode("f", b"a: 1\nb: caf\xE9\n".to_vec()).expect_err("Latin-1");
        assert_eq!((d.span.as_ref().map(|s| (s.line, s.col))), Some((2, 7)));
        assert!(d.message.contains("0xE9 at offset 11"), "{}", d.message);
    }

    #[test]
    fn the_size_limit_is_inclusive() {
        assert!(check_size("f", MAX_FILE_BYTES).is_ok());
        let d = check_size("f", MAX_FILE_BYTES + 1).expect_err("too large");
        assert!(d.message.contains("4194305 bytes"), "{}", d.message);
    }
}
