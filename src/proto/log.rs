//! A server's event log: one readable line per event on stdout (listening,
//! connection from, received N bytes, sent N bytes, closed), and problems
//! with a hex dump of the offending bytes. Shared between threads.

use std::net::SocketAddr;

use crate::render::hexdump::HexDump;
use crate::render::out;

/// Bytes of bad input shown in a hex dump before the rest is summarised.
pub const DUMP_LIMIT: usize = 64;

/// Where a server writes what happens.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    quiet: bool,
}

impl Log {
    /// `quiet` hides routine events; problems and summaries still print.
    pub fn new(quiet: bool) -> Self {
        Log { quiet }
    }

    /// True when routine events are hidden.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// A routine event line.
    pub fn event(&self, text: &str) {
        if !self.quiet {
            out::line(text);
        }
    }

    /// A line that always prints (banner, summary).
    pub fn always(&self, text: &str) {
        out::line(text);
    }

    /// Bad input from `peer`: what was wrong, then the bytes (capped).
    pub fn bad_input(&self, peer: SocketAddr, what: &str, bytes: &[u8]) {
        let mut text = format!("bad input from {peer}: {what}");
        if !bytes.is_empty() {
            let shown = &bytes[..bytes.len().min(DUMP_LIMIT)];
            text.push('\n');
            text.push_str(HexDump::new().indent(4).to_text(shown).trim_end());
            if bytes.len() > shown.len() {
                text.push_str(&format!(
                    "\n    ... {} more bytes not shown",
                    bytes.len() - shown.len()
                ));
            }
        }
        out::line(&text);
    }

    /// A problem that is not the peer's bytes (a failed send, a timeout).
    pub fn problem(&self, text: &str) {
        out::line(text);
    }
}

/// Printable form of a short protocol text: `"-3\x00\x00"` (Python's repr).
pub fn quoted(bytes: &[u8]) -> String {
    crate::wire::escape::quoted(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoting() {
        assert_eq!(super::quoted(b"-3\0\0"), "\"-3\\x00\\x00\"");
        assert_eq!(super::quoted(&[0xff, b'a']), "\"\\xffa\"");
    }
}
