//! Reading what users type: hex bytes, Python bytes literals, integers.
//! Errors carry a caret line under the offending character.

use crate::wire::pystruct::value::{bytes_literal, parse_int};

use super::limits::{check_input, read_bounded, LimitError, MAX_STRUCT_BYTES};

/// Text with a caret under one character, indented for an error message.
pub fn caret(text: &str, byte_pos: usize) -> String {
    let col = text.get(..byte_pos).map_or(byte_pos, |s| s.chars().count());
    format!("  {text}\n  {}^", " ".repeat(col))
}

/// Input that is not what was expected, pointing at where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}\n{}", caret(.text, *.pos))]
pub struct InputError {
    /// What is wrong, in words.
    pub what: String,
    /// The text given.
    pub text: String,
    /// Byte index of the offending character.
    pub pos: usize,
}

fn hex_value(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Bytes from one argument: `0a000000`, `0x0a 00`, `0a:00:00`, `b'\n\x00'`.
/// Separators (space, `:`, `,`, `_`, `-`) may only come between whole bytes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, InputError> {
    let err = |what: &str, pos: usize| InputError {
        what: what.to_string(),
        text: text.to_string(),
        pos,
    };
    if let Some(lit) = bytes_literal(text) {
        return lit.map_err(|p| err("bad escape in the bytes literal", p));
    }
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 2);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if matches!(c, b' ' | b'\t' | b'\n' | b':' | b',' | b'_' | b'-') {
            i += 1;
            continue;
        }
        if c == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X')) {
            i += 2;
            continue;
        }
        let Some(hi) = hex_value(c) else {
            return Err(err("not a hex digit", i));
        };
        let Some(lo) = b.get(i + 1).and_then(|&d| hex_value(d)) else {
            let what = match b.get(i + 1) {
                None => "odd number of hex digits: every byte needs two (write 0a, not a)",
                Some(_) => "a byte needs two hex digits (write 0a, not a)",
            };
            return Err(err(what, i));
        };
        out.push(hi << 4 | lo);
        i += 2;
    }
    Ok(out)
}

/// The bytes of `unpack`'s arguments: hex pieces joined, or `-` for stdin
/// (read in bounded chunks, refused as soon as it passes the limit).
pub fn read_bytes_args(args: &[String]) -> anyhow::Result<Vec<u8>> {
    if args.len() == 1 && args[0] == "-" {
        let v = read_bounded(&mut std::io::stdin().lock(), MAX_STRUCT_BYTES)
            .map_err(|e| anyhow::anyhow!("reading stdin: {e}"))?;
        return v.map_err(|limit| {
            LimitError::Input {
                source_name: "stdin",
                limit,
            }
            .into()
        });
    }
    let mut out = Vec::new();
    for a in args {
        out.extend(parse_hex(a)?);
        check_input(out.len(), "the hex arguments")?;
    }
    Ok(out)
}

/// An integer argument (decimal, 0x, 0o, 0b), pointing at the text if not.
pub fn parse_number(text: &str, what: &str) -> Result<i128, InputError> {
    parse_int(text).ok_or_else(|| InputError {
        what: format!("{what}: not an integer (examples: 10, 0x1f, 0b101)"),
        text: text.to_string(),
        pos: first_bad_digit(text),
    })
}

/// Multiplier suffixes for sizes, as GNU head/dd read them (`K` = 1024,
/// `kB` = 1000, `KiB` = 1024, ...); longest first so `KiB` wins over `B`.
const SIZE_SUFFIXES: [(&str, i128); 15] = [
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("kB", 1000),
    ("KB", 1000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("k", 1 << 10),
    ("K", 1 << 10),
    ("m", 1 << 20),
    ("M", 1 << 20),
    ("g", 1 << 30),
    ("G", 1 << 30),
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
];

/// A size or offset: an integer (decimal, 0x, 0o, 0b) with an optional
/// multiplier suffix (`1k` = 1024, `1kB` = 1000, `2M`, `1GiB`, `0x10k`).
pub fn parse_size(text: &str, what: &str) -> Result<i128, InputError> {
    let t = text.trim();
    let (digits, mult) = SIZE_SUFFIXES
        .iter()
        .find_map(|(suf, m)| {
            let d = t.strip_suffix(suf)?;
            // `0x1b`... is hex, not a suffix: only strip when digits remain.
            parse_int(d).map(|_| (d, *m))
        })
        .unwrap_or((t, 1));
    let bad = || InputError {
        what: format!("{what}: not a size (examples: 100, 0x1f, 4k = 4096, 1kB = 1000, 2M, 1GiB)"),
        text: text.to_string(),
        pos: first_bad_digit(text),
    };
    parse_int(digits)
        .and_then(|v| v.checked_mul(mult))
        .ok_or_else(bad)
}

/// Where an integer's text stops being digits of its base.
fn first_bad_digit(text: &str) -> usize {
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let radix = match b.get(i..i + 2) {
        Some([b'0', p]) if b"xXoObB".contains(p) => {
            i += 2;
            match p.to_ascii_lowercase() {
                b'x' => 16,
                b'o' => 8,
                _ => 2,
            }
        }
        _ => 10,
    };
    while b
        .get(i)
        .is_some_and(|&c| c == b'_' || (c as char).is_digit(radix))
    {
        i += 1;
    }
    i.min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_suffixes_and_bases() {
        let p = |t| parse_size(t, "x").unwrap();
        assert_eq!(p("100"), 100);
        assert_eq!(p("0x10"), 16);
        assert_eq!(p("1k"), 1024);
        assert_eq!(p("1K"), 1024);
        assert_eq!(p("1kB"), 1000);
        assert_eq!(p("2M"), 2 << 20);
        assert_eq!(p("1GiB"), 1 << 30);
        assert_eq!(p("0x10k"), 16 * 1024);
        assert_eq!(p("-16"), -16);
        assert_eq!(p("-1k"), -1024);
        // Hex digits are not suffixes.
        assert_eq!(p("0x1b"), 0x1b);
        assert_eq!(p("0x1B"), 0x1b);
        let e = parse_size("12q", "offset (-s)").unwrap_err();
        assert!(e.what.contains("not a size"), "{e}");
        assert_eq!(e.pos, 2);
    }

    #[test]
    fn hex_forms() {
        assert_eq!(parse_hex("0a000000").unwrap(), [10, 0, 0, 0]);
        assert_eq!(parse_hex("0x0a 00:ff").unwrap(), [10, 0, 255]);
        assert_eq!(parse_hex("b'\\n\\x00'").unwrap(), [10, 0]);
        assert_eq!(parse_hex("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn hex_errors_point_at_the_digit() {
        let e = parse_hex("0a0").unwrap_err();
        assert_eq!(e.pos, 2);
        assert!(e.to_string().contains("odd number"));
        assert!(e.to_string().ends_with("  0a0\n    ^"));
        let e = parse_hex("0a zz").unwrap_err();
        assert_eq!(e.pos, 3);
        let e = parse_hex("0a 0 00").unwrap_err();
        assert_eq!(e.pos, 3);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0x10", "offset").unwrap(), 16);
        assert_eq!(parse_number("12k", "offset").unwrap_err().pos, 2);
        assert_eq!(parse_number("12x", "offset").unwrap_err().pos, 2);
        assert_eq!(parse_number("-0x1g", "offset").unwrap_err().pos, 4);
    }
}
