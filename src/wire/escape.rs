//! One notation for bytes shown as text, everywhere: Python's `repr` of
//! bytes. Printable ASCII as itself; `\t \n \r`, the backslash and the
//! quote escaped; every other byte as `\xNN` (so NUL is `\x00`, never the
//! octal-looking `\0`).

use std::fmt::{self, Write};

/// Write `bytes` escaped for a string quoted with `quote`.
pub fn write_escaped(out: &mut impl Write, bytes: &[u8], quote: u8) -> fmt::Result {
    for &b in bytes {
        match b {
            b'\\' => out.write_str("\\\\")?,
            b'\t' => out.write_str("\\t")?,
            b'\n' => out.write_str("\\n")?,
            b'\r' => out.write_str("\\r")?,
            _ if b == quote => {
                out.write_char('\\')?;
                out.write_char(char::from(b))?;
            }
            0x20..=0x7e => out.write_char(char::from(b))?,
            _ => write!(out, "\\x{b:02x}")?,
        }
    }
    Ok(())
}

/// `bytes` in double quotes: `"-3\x00\x00"`.
pub fn quoted(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    // Writing to a String cannot fail.
    let _ = write_escaped(&mut s, bytes, b'"');
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_python_repr() {
        assert_eq!(quoted(b"-3\0\0"), r#""-3\x00\x00""#);
        assert_eq!(quoted(b"1\x002\x00"), r#""1\x002\x00""#);
        assert_eq!(quoted(b"a\tb\r\n\"\\\x7f\xff"), r#""a\tb\r\n\"\\\x7f\xff""#);
        let mut s = String::new();
        write_escaped(&mut s, b"it's", b'\'').unwrap();
        assert_eq!(s, r"it\'s");
    }
}
