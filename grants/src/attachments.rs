//! What an attachment is, recognised from its content rather than its name or the type the
//! client claims, so that nothing executable or unexpected is stored and served back.

use sha2::{Digest, Sha256};

/// The content type of a file of a kind grants take, recognised from its first bytes; `None`
/// for anything else.
pub fn sniff(content: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| content.starts_with(magic);
    if starts(b"%PDF-") {
        return Some("application/pdf");
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if starts(b"\xff\xd8\xff") {
        return Some("image/jpeg");
    }
    if starts(b"PK\x03\x04") {
        // Office Open XML and OpenDocument are ZIP files; which one is told by their parts.
        let head = &content[..content.len().min(4096)];
        let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
        if has(b"mimetypeapplication/vnd.oasis.opendocument.text") {
            return Some("application/vnd.oasis.opendocument.text");
        }
        if has(b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet") {
            return Some("application/vnd.oasis.opendocument.spreadsheet");
        }
        if has(b"word/") {
            return Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document");
        }
        if has(b"xl/") {
            return Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
        }
        return None;
    }
    // Text: valid UTF-8 without control characters other than tab and line ends.
    let text = std::str::from_utf8(content).ok()?;
    if text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{feff}')) {
        return None;
    }
    Some("text/plain; charset=utf-8")
}

/// SHA-256 of the content, as lower-case hex.
pub fn sha256_hex(content: &[u8]) -> String {
    Sha256::digest(content).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_known_by_their_content() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0"), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(sniff("Budget;Belopp\nHyra;1200\n".as_bytes()), Some("text/plain; charset=utf-8"));
        assert_eq!(
            sniff(b"PK\x03\x04....[Content_Types].xml word/document.xml"),
            Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        );
        // An executable, a script with a NUL, an unknown ZIP: refused.
        assert_eq!(sniff(b"MZ\x90\x00\x03"), None);
        assert_eq!(sniff(b"#!/bin/sh\n\0rm"), None);
        assert_eq!(sniff(b"PK\x03\x04 payload.exe"), None);
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
