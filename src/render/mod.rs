//! Everything that writes for a person or a program: hex dumps, output lines.

pub mod color;
pub mod hexdump;
pub mod out;
