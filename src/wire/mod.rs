//! Pure encoding and decoding of the course protocols. No I/O, no panics on
//! any input, no allocation beyond the values returned.

pub mod course;
pub mod decode_as;
pub mod escape;
pub mod framing;
pub mod heuristics;
pub mod http;
pub mod monitor;
pub mod num;
pub mod order;
pub mod packet;
pub mod pystruct;
pub mod sll2;
pub mod tcp_calc;
pub mod udp_calc;
