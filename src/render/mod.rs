//! Everything that writes for a person or a program: hex dumps, output lines.

pub mod color;
pub mod hexdump;
pub mod json;
pub mod line;
pub mod num;
pub mod out;
pub mod packet;
pub mod tree;
