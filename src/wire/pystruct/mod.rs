//! CPython's `struct` module, byte for byte: format strings, native sizes
//! and alignment (`@`), standard sizes (`= < > !`), half floats, and the
//! errors CPython 3.11 raises with their exact messages.
//!
//! Pure: no I/O, no panics on any input. A format whose size would be huge
//! parses fine (sizes are computed, not allocated); `pack` refuses to build
//! more than [`pack::MAX_PACK_SIZE`] bytes.

pub mod error;
pub mod format;
pub mod half;
pub mod pack;
pub mod unpack;
pub mod value;

pub use error::{At, ErrorKind, StructError};
pub use format::{Code, Endian, Item, Layout, Prefix};
pub use value::Value;

/// `struct.calcsize(format)`.
pub fn calcsize(format: &str) -> Result<u64, StructError> {
    Layout::parse(format).map(|l| l.size)
}

/// `struct.pack(format, *values)`.
pub fn pack(format: &str, values: &[Value]) -> Result<Vec<u8>, StructError> {
    pack::pack(&Layout::parse(format)?, values)
}

/// `struct.unpack(format, buf)`.
pub fn unpack(format: &str, buf: &[u8]) -> Result<Vec<Value>, StructError> {
    unpack::unpack(&Layout::parse(format)?, buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every format of up to three characters from the interesting
    /// alphabet: parsing, packing and unpacking never panic.
    #[test]
    fn no_panics_on_short_formats() {
        let alphabet: Vec<char> = "@=<>! 029xcbB?hHiIlLqQnNefdspPz".chars().collect();
        let mut formats = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = formats
                .iter()
                .flat_map(|f| alphabet.iter().map(move |c| format!("{f}{c}")))
                .collect();
            formats.extend(longer);
            formats.dedup();
        }
        for f in &formats {
            let Ok(layout) = Layout::parse(f) else {
                continue;
            };
            if layout.size > 4096 || layout.nvalues > 64 {
                continue;
            }
            let values: Vec<Value> = layout
                .items
                .iter()
                .flat_map(|it| (0..it.values()).map(move |_| it.code))
                .map(|c| match c {
                    Code::Char => Value::Bytes(vec![b'a']),
                    Code::Str | Code::Pascal => Value::Bytes(b"xyz".to_vec()),
                    c if c.is_float() => Value::Float(f64::NAN),
                    _ => Value::Int(-1),
                })
                .collect();
            let _ = pack::pack(&layout, &values);
            let size = layout.size as usize;
            for buf in [vec![0xffu8; size], vec![0u8; size], vec![0u8; size + 1]] {
                let _ = unpack::unpack(&layout, &buf);
            }
        }
    }
}
