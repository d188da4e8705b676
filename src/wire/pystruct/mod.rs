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
