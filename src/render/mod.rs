//! Everything that writes for a person or a program: hex dumps, output lines.

pub mod color;
pub mod dump;
pub mod follow;
pub mod hexdump;
pub mod icmp;
pub mod json;
pub mod line;
pub mod out;
pub mod packet;
pub mod tcpopt;
pub mod time;
pub mod tree;
pub mod view;
pub mod zone;

/// The fast number, address and MAC writers (they live in `wire`, below
/// `track`, which names endpoints with them).
pub use crate::wire::num;
