//! The one hex dump routine socklab uses everywhere it prints bytes
//! (server logs of bad input, pack output, sniff -X).
//!
//! Layout, like `hexdump -C`: offset, hex bytes in groups, ASCII column.
//! Optional colour by byte class, like hexyl: NUL, printable ASCII, ASCII
//! whitespace, everything else. Pure formatting: writes to any `io::Write`,
//! never panics, allocates only the line buffer ([`HexDump::write_stream`]
//! adds one fixed-size read buffer, whatever the input size).

use std::io::{self, Read, Write};

use anstyle::{AnsiColor, Style};

/// What kind of byte this is, for colouring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteClass {
    /// `0x00`.
    Nul,
    /// Printable ASCII, `!` to `~`.
    Printable,
    /// ASCII whitespace: space, tab, newline, carriage return, vertical tab, form feed.
    Whitespace,
    /// Any other byte: control characters and non-ASCII.
    Other,
}

impl ByteClass {
    /// The class of `b`.
    pub fn of(b: u8) -> ByteClass {
        match b {
            0 => ByteClass::Nul,
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => ByteClass::Whitespace,
            0x21..=0x7e => ByteClass::Printable,
            _ => ByteClass::Other,
        }
    }

    /// Its colour.
    pub fn style(self) -> Style {
        let c = match self {
            ByteClass::Nul => AnsiColor::BrightBlack,
            ByteClass::Printable => AnsiColor::Cyan,
            ByteClass::Whitespace => AnsiColor::Green,
            ByteClass::Other => AnsiColor::Yellow,
        };
        Style::new().fg_color(Some(c.into()))
    }
}

/// A configured hex dump printer.
#[derive(Debug, Clone)]
pub struct HexDump {
    columns: usize,
    group: usize,
    base: usize,
    indent: usize,
    color: bool,
}

impl Default for HexDump {
    fn default() -> Self {
        HexDump {
            columns: 16,
            group: 8,
            base: 0,
            indent: 0,
            color: false,
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

    /// Colour hex and ASCII by [`ByteClass`] (decide with `render::color`).
    pub fn color(mut self, on: bool) -> Self {
        self.color = on;
        self
    }

    /// Dump everything `r` yields, at most `limit` bytes, reading in blocks
    /// so memory stays flat for any input size; offsets continue from
    /// `base`. Returns the number of bytes dumped.
    pub fn write_stream<R: Read, W: Write>(
        &self,
        r: &mut R,
        w: &mut W,
        limit: Option<u64>,
    ) -> io::Result<u64> {
        let block = self.columns * (64 * 1024 / self.columns).max(1);
        let mut buf = vec![0u8; block];
        let mut text = Vec::with_capacity(block * 5);
        let mut filled = 0;
        let mut done: u64 = 0;
        let mut left = limit.unwrap_or(u64::MAX);
        loop {
            let want = (block - filled).min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = if want == 0 {
                0
            } else {
                match r.read(&mut buf[filled..filled + want]) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            filled += n;
            left -= n as u64;
            let eof = n == 0;
            // Whole lines now; a partial line waits for more input or the end.
            let ready = if eof {
                filled
            } else {
                filled - filled % self.columns
            };
            text.clear();
            for chunk in buf[..ready].chunks(self.columns) {
                self.format_line(&mut text, self.base + done as usize, chunk);
                done += chunk.len() as u64;
            }
            w.write_all(&text)?;
            buf.copy_within(ready..filled, 0);
            filled -= ready;
            if eof {
                return Ok(done);
            }
        }
    }

    /// Write the dump of `bytes` to `w`, one line per `columns` bytes.
    pub fn write<W: Write>(&self, w: &mut W, bytes: &[u8]) -> io::Result<()> {
        let mut text = Vec::with_capacity(self.text_len(bytes.len()));
        self.append(&mut text, bytes);
        w.write_all(&text)
    }

    /// Append the dump of `bytes` to `out` (each line ends with a newline);
    /// the per-packet path, with the caller's reusable buffer.
    pub fn append(&self, out: &mut Vec<u8>, bytes: &[u8]) {
        out.reserve(self.text_len(bytes.len()));
        for (i, chunk) in bytes.chunks(self.columns).enumerate() {
            self.format_line(out, self.base + i * self.columns, chunk);
        }
    }

    /// The dump as a string (each line ends with a newline).
    pub fn to_text(&self, bytes: &[u8]) -> String {
        let mut v = Vec::new();
        self.append(&mut v, bytes);
        String::from_utf8_lossy(&v).into_owned()
    }

    /// Bytes of text for `n` bytes without colour (a capacity hint).
    fn text_len(&self, n: usize) -> usize {
        let lines = n.div_ceil(self.columns);
        lines * (self.indent + 16 + self.columns * 4 + self.columns / self.group.max(1) + 4)
    }

    /// One line, newline included. Table-driven: no `core::fmt` per byte.
    fn format_line(&self, line: &mut Vec<u8>, offset: usize, chunk: &[u8]) {
        line.resize(line.len() + self.indent, b' ');
        push_offset(line, offset);
        line.push(b' ');
        for col in 0..self.columns {
            if self.group > 0 && col % self.group == 0 {
                line.push(b' ');
            }
            match chunk.get(col) {
                Some(&b) => {
                    let pair = [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)], b' '];
                    if self.color {
                        let st = ByteClass::of(b).style();
                        let _ = write!(line, "{}", st.render());
                        line.extend_from_slice(&pair[..2]);
                        let _ = write!(line, "{}", st.render_reset());
                        line.push(b' ');
                    } else {
                        line.extend_from_slice(&pair);
                    }
                }
                None => line.extend_from_slice(b"   "),
            }
        }
        line.extend_from_slice(b" |");
        for &b in chunk {
            let c = if b.is_ascii_graphic() || b == b' ' {
                b
            } else {
                b'.'
            };
            if self.color {
                let st = ByteClass::of(b).style();
                let _ = write!(line, "{}", st.render());
                line.push(c);
                let _ = write!(line, "{}", st.render_reset());
            } else {
                line.push(c);
            }
        }
        line.extend_from_slice(b"|\n");
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `{offset:08x}`: at least 8 lower-case hex digits.
fn push_offset(line: &mut Vec<u8>, offset: usize) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut v = offset;
    while v > 0 || digits.len() - i < 8 {
        i -= 1;
        digits[i] = HEX[v & 0xf];
        v >>= 4;
    }
    line.extend_from_slice(&digits[i..]);
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
    fn stream_equals_slice_for_any_block_split() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let d = HexDump::new().columns(7).group(3).base(5);
        let mut out = Vec::new();
        let mut r = io::Cursor::new(&bytes);
        let n = d.write_stream(&mut r, &mut out, None).unwrap();
        assert_eq!(n, 1000);
        assert_eq!(String::from_utf8(out).unwrap(), d.to_text(&bytes));
        // A reader that hands out 3 bytes at a time gives the same lines.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(3).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = Vec::new();
        d.write_stream(&mut Trickle(&bytes), &mut out, Some(20))
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), d.to_text(&bytes[..20]));
    }

    #[test]
    fn classes_and_colour() {
        assert_eq!(ByteClass::of(0), ByteClass::Nul);
        assert_eq!(ByteClass::of(b'a'), ByteClass::Printable);
        assert_eq!(ByteClass::of(b' '), ByteClass::Whitespace);
        assert_eq!(ByteClass::of(b'\n'), ByteClass::Whitespace);
        assert_eq!(ByteClass::of(0x7f), ByteClass::Other);
        assert_eq!(ByteClass::of(0xc3), ByteClass::Other);
        let plain = HexDump::new().to_text(b"a\0");
        let coloured = HexDump::new().color(true).to_text(b"a\0");
        assert!(coloured.contains("\x1b["));
        // Stripping the escapes gives back the plain layout.
        let mut stripped = String::new();
        let mut in_esc = false;
        for c in coloured.chars() {
            match c {
                '\x1b' => in_esc = true,
                'm' if in_esc => in_esc = false,
                _ if in_esc => {}
                _ => stripped.push(c),
            }
        }
        assert_eq!(stripped, plain);
    }

    #[test]
    fn spaced_hex() {
        assert_eq!(spaced(&[0x0a, 0, 0xff]), "0a 00 ff");
    }
}
