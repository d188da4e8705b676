//! tcpdump's packet dumps under the line: `-x`/`-xx` (hex), `-X`/`-XX`
//! (hex and ASCII) and `-A` (ASCII), byte for byte as tcpdump prints them.
//! The single-letter forms start at the network header, the doubled ones
//! at the link header (`PrintOptions::link`).
//!
//! ```text
//! <TAB>0x0000:  4500 0021 0000 4000 4001 0000 7f00 0001  E..!..@.@.......
//! ```

use std::fmt::Write as _;

/// tcpdump's hex lines: a tab, the offset, then 16 bytes in groups of two;
/// with `ascii`, the printable bytes (others as `.`) in a column after them.
pub fn write_hex(out: &mut String, bytes: &[u8], ascii: bool) {
    for (n, row) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "\t0x{:04x}:  ", n * 16);
        let start = out.len();
        for (i, pair) in row.chunks(2).enumerate() {
            if i > 0 {
                out.push(' ');
            }
            for b in pair {
                let _ = write!(out, "{b:02x}");
            }
        }
        if ascii {
            // The hex of a full row is 39 characters; two spaces after it.
            let pad = 39 - (out.len() - start);
            out.extend(std::iter::repeat_n(' ', pad + 2));
            out.extend(row.iter().map(|&b| {
                if b.is_ascii_graphic() {
                    char::from(b)
                } else {
                    '.'
                }
            }));
        }
        out.push('\n');
    }
}

/// tcpdump's `-A`: the bytes as text on the lines after the packet line,
/// unprintable bytes as `.`, line ends kept (a `\r` before `\n` or at the
/// very end dropped), then a newline.
pub fn write_ascii(out: &mut String, bytes: &[u8]) {
    for (i, &b) in bytes.iter().enumerate() {
        let left = bytes.len() - i - 1;
        match b {
            b'\r' => {
                if left > 1 && bytes[i + 1] != b'\n' {
                    out.push('.');
                }
            }
            b'\t' | b' ' | b'\n' => out.push(char::from(b)),
            b if b.is_ascii_graphic() => out.push(char::from(b)),
            _ => out.push('.'),
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What tcpdump 4.99 prints with -x, -X and -A for an ICMP echo with
    /// "hello" (IPv4 header first).
    #[test]
    fn as_tcpdump() {
        let ip = [
            0x45, 0, 0, 0x21, 0, 0, 0x40, 0, 0x40, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1, 8, 0, 0, 0,
            0, 7, 0, 1, b'h', b'e', b'l', b'l', b'o',
        ];
        let mut s = String::new();
        write_hex(&mut s, &ip, true);
        assert_eq!(
            s,
            "\t0x0000:  4500 0021 0000 4000 4001 0000 7f00 0001  E..!..@.@.......\n\
             \t0x0010:  7f00 0001 0800 0000 0007 0001 6865 6c6c  ............hell\n\
             \t0x0020:  6f                                       o\n"
        );
        s.clear();
        write_hex(&mut s, &ip, false);
        assert_eq!(
            s,
            "\t0x0000:  4500 0021 0000 4000 4001 0000 7f00 0001\n\
             \t0x0010:  7f00 0001 0800 0000 0007 0001 6865 6c6c\n\
             \t0x0020:  6f\n"
        );
        s.clear();
        write_ascii(&mut s, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x01\x02\tA\rB");
        assert_eq!(s, "GET / HTTP/1.1\nHost: x\n\n..\tAB\n");
    }
}
