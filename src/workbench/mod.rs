//! The byte-order and hex workbench: `pack`, `unpack`, `hexdump`, `order`
//! and `addr`. One run function per command; the codecs they use live in
//! `wire::pystruct` and the hex dump in `render::hexdump`.
//!
//! Run functions return `anyhow` errors whose text points at the offending
//! part of the input (a caret under the bad character) and says what to try.

pub mod addr;
pub mod annotate;
pub mod hexdump;
pub mod inet;
pub mod input;
pub mod limits;
pub mod order;
pub mod pack;
pub mod unpack;
