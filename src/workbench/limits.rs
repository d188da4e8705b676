//! socklab's own limits for `pack` and `unpack`, where CPython has none
//! (it would allocate whatever memory a format asks for). Every input is
//! checked against them before anything of that size is allocated, and
//! stdin is read in bounded chunks, stopping as soon as the limit is passed.

use std::io::Read;

use crate::wire::pystruct::Layout;

/// Largest struct `pack` and `unpack` handle, and most bytes `unpack`
/// reads: 64 KiB, a little more than the largest UDP datagram (65,507
/// bytes), so every course message fits and the annotated output stays a
/// few megabytes at most.
pub const MAX_STRUCT_BYTES: u64 = 65_536;

/// Widest table cell padded to line up (longer values just run on), so
/// no value can ask the formatter for an out-of-range width.
pub const MAX_CELL_WIDTH: usize = 48;

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The format describes a struct larger than [`MAX_STRUCT_BYTES`].
    #[error(
        "the format {format} describes {size} bytes; socklab's limit for pack and unpack is \
         {limit} bytes (CPython has none)\n  hint: a struct that size is not one message; \
         look at big data with `socklab hexdump FILE`"
    )]
    Struct {
        /// The format given.
        format: String,
        /// Its `struct.calcsize`.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// More input bytes than [`MAX_STRUCT_BYTES`].
    #[error(
        "{source_name}: more than {limit} bytes; socklab's limit for unpack input is {limit} \
         bytes, and it stopped reading there\n  hint: look at big data with `socklab hexdump`, \
         or cut the piece you want first (head -c, dd)"
    )]
    Input {
        /// `stdin` or `the hex arguments`.
        source_name: &'static str,
        /// The limit.
        limit: u64,
    },
}

/// Refuse a layout larger than [`MAX_STRUCT_BYTES`].
pub fn check_struct(layout: &Layout) -> Result<(), LimitError> {
    if layout.size > MAX_STRUCT_BYTES {
        return Err(LimitError::Struct {
            format: super::annotate::py_str(&layout.format),
            size: layout.size,
            limit: MAX_STRUCT_BYTES,
        });
    }
    Ok(())
}

/// Refuse input bytes beyond [`MAX_STRUCT_BYTES`].
pub fn check_input(len: usize, source_name: &'static str) -> Result<(), LimitError> {
    if len as u64 > MAX_STRUCT_BYTES {
        return Err(LimitError::Input {
            source_name,
            limit: MAX_STRUCT_BYTES,
        });
    }
    Ok(())
}

/// Read `r` to its end in bounded chunks, failing as soon as more than
/// `limit` bytes have arrived (at most `limit + 1` bytes are ever held).
pub fn read_bounded(r: &mut dyn Read, limit: u64) -> std::io::Result<Result<Vec<u8>, u64>> {
    let mut v = Vec::new();
    r.take(limit + 1).read_to_end(&mut v)?;
    if v.len() as u64 > limit {
        return Ok(Err(limit));
    }
    Ok(Ok(v))
}

/// `width` clamped to [`MAX_CELL_WIDTH`].
pub fn cell_width(width: usize) -> usize {
    width.min(MAX_CELL_WIDTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structs_up_to_the_limit_pass() {
        let ok = Layout::parse("65536x").unwrap();
        assert_eq!(check_struct(&ok), Ok(()));
        let big = Layout::parse("65537x").unwrap();
        let e = check_struct(&big).unwrap_err().to_string();
        assert!(e.contains("describes 65537 bytes"), "{e}");
        assert!(
            e.contains("limit for pack and unpack is 65536 bytes"),
            "{e}"
        );
    }

    #[test]
    fn reading_stops_one_byte_past_the_limit() {
        let mut endless = std::io::repeat(7);
        assert_eq!(read_bounded(&mut endless, 10).unwrap(), Err(10));
        let mut short: &[u8] = &[1, 2, 3];
        assert_eq!(read_bounded(&mut short, 3).unwrap(), Ok(vec![1, 2, 3]));
    }
}
