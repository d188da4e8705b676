//! The one hex dump routine socklab uses everywhere it prints bytes
//! (server logs of bad input, pack output, sniff -X).
//!
//! Layout, like `hexdump -C`: offset, hex bytes in groups, ASCII column.
//! Pure formatting: writes to any `io::Write`, never panics, allocates only
//! the line buffer.

use std::io::{self, Write};

/// A configured hex dump printer.
#[derive(Debug, Clone)]
pub struct HexDump {
    columns: usize,
    group: usize,
    base: usize,
    indent: usize,
}

impl Default for HexDump {
    fn default() -> Self {
        HexDump {
            columns: 16,
            group: 8,
            base: 0,
            indent: 0,
        }
    }
}

impl HexDump {
    /// 16 bytes per line in groups of 8, offsets from 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes per line (at least 1).
    pub fn columns(mut self, n: usize) -> Self {
        self.columns = n.max(1);
        self
    }

    /// Bytes per group; groups are separated by an extra space (0 = no groups).
    pub fn group(mut self, n: usize) -> Self {
        self.group = n;
        self
    }

    /// The offset printed for the first byte.
    pub fn base(mut self, offset: usize) -> Self {
        self.base = offset;
        self
    }

    /// Spaces before every line.
    pub fn indent(mut self, n: usize) -> Self {
        self.indent = n;
        self
    }

    /// Write the dump of `bytes` to `w`, one line per `columns` bytes.
    pub fn write<W: Write>(&self, w: &mut W, bytes: &[u8]) -> io::Result<()> {
        let mut line = String::with_capacity(16 + self.columns * 4);
        for (i, chunk) in bytes.chunks(self.columns).enumerate() {
            line.clear();
            self.format_line(&mut line, self.base + i * self.columns, chunk);
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    /// The dump as a string (each line ends with a newline).
    pub fn to_text(&self, bytes: &[u8]) -> String {
        let mut v = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.write(&mut v, bytes);
        String::from_utf8_lossy(&v).into_owned()
    }

    fn format_line(&self, line: &mut String, offset: usize, chunk: &[u8]) {
        use std::fmt::Write as _;
        for _ in 0..self.indent {
            line.push(' ');
        }
        let _ = write!(line, "{offset:08x} ");
        for col in 0..self.columns {
            if self.group > 0 && col % self.group == 0 {
                line.push(' ');
            }
            match chunk.get(col) {
                Some(b) => {
                    let _ = write!(line, "{b:02x} ");
                }
                None => line.push_str("   "),
            }
        }
        line.push_str(" |");
        for &b in chunk {
            line.push(if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            });
        }
        line.push('|');
    }
}

/// Space-separated hex bytes on one line: `0a 00 00 00`.
pub fn spaced(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&hex::encode([*b]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_short_line() {
        let d = HexDump::new().to_text(b"ab\x00");
        assert_eq!(
            d,
            "00000000  61 62 00                                          |ab.|\n"
        );
    }

    #[test]
    fn two_lines_with_groups_and_base() {
        let bytes: Vec<u8> = (0u8..20).collect();
        let d = HexDump::new().base(0x10).to_text(&bytes);
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            "00000010  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|"
        );
        assert!(lines[1].starts_with("00000020  10 11 12 13 "));
    }

    #[test]
    fn empty_is_nothing() {
        assert_eq!(HexDump::new().to_text(b""), "");
    }

    #[test]
    fn spaced_hex() {
        assert_eq!(spaced(&[0x0a, 0, 0xff]), "0a 00 ff");
    }
}
