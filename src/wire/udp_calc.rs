//! UDP calculator: request `struct.pack("III", a, b, op)` (12 bytes),
//! reply `struct.pack("I", res)` (4 bytes). `op == 0` adds, anything else
//! subtracts. Results outside 0..2^32-1 wrap modulo 2^32 (C's unsigned
//! arithmetic); Python's `struct.pack` raises instead and the course server dies.

use super::order::Order;

/// Request length in bytes.
pub const REQUEST_LEN: usize = 12;
/// Reply length in bytes.
pub const REPLY_LEN: usize = 4;

/// Byte ranges of the request fields.
pub mod field {
    use std::ops::Range;
    /// First operand.
    pub const A: Range<usize> = 0..4;
    /// Second operand.
    pub const B: Range<usize> = 4..8;
    /// Operation.
    pub const OP: Range<usize> = 8..12;
    /// The reply's result.
    pub const RES: Range<usize> = 0..4;
}

/// A decoded request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// First operand.
    pub a: u32,
    /// Second operand.
    pub b: u32,
    /// 0 adds, anything else subtracts.
    pub op: u32,
}

/// A datagram of the wrong size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("datagram is {got} bytes, expected exactly {expected}")]
pub struct LengthError {
    /// Bytes received.
    pub got: usize,
    /// Bytes the protocol needs.
    pub expected: usize,
}

/// What the server computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The mathematically exact result.
    pub exact: i64,
    /// What goes on the wire (exact modulo 2^32).
    pub wire: u32,
}

impl Outcome {
    /// True when the exact result does not fit in `I` and was wrapped.
    pub fn wrapped(&self) -> bool {
        self.exact != i64::from(self.wire)
    }
}

fn take4(bytes: &[u8], r: std::ops::Range<usize>) -> [u8; 4] {
    let mut out = [0u8; 4];
    out.copy_from_slice(&bytes[r]);
    out
}

impl Request {
    /// Pack as `struct.pack(order + "III", a, b, op)`.
    pub fn encode(&self, order: Order) -> [u8; REQUEST_LEN] {
        let mut out = [0u8; REQUEST_LEN];
        out[field::A].copy_from_slice(&order.put_u32(self.a));
        out[field::B].copy_from_slice(&order.put_u32(self.b));
        out[field::OP].copy_from_slice(&order.put_u32(self.op));
        out
    }

    /// Unpack a 12-byte datagram.
    pub fn decode(bytes: &[u8], order: Order) -> Result<Request, LengthError> {
        if bytes.len() != REQUEST_LEN {
            return Err(LengthError {
                got: bytes.len(),
                expected: REQUEST_LEN,
            });
        }
        Ok(Request {
            a: order.get_u32(take4(bytes, field::A)),
            b: order.get_u32(take4(bytes, field::B)),
            op: order.get_u32(take4(bytes, field::OP)),
        })
    }

    /// `+` or `-`.
    pub fn symbol(&self) -> char {
        if self.op == 0 {
            '+'
        } else {
            '-'
        }
    }

    /// The server's answer.
    pub fn compute(&self) -> Outcome {
        let exact = if self.op == 0 {
            i64::from(self.a) + i64::from(self.b)
        } else {
            i64::from(self.a) - i64::from(self.b)
        };
        Outcome {
            exact,
            wire: exact as u32,
        }
    }
}

/// Pack a reply `struct.pack(order + "I", res)`.
pub fn encode_reply(res: u32, order: Order) -> [u8; REPLY_LEN] {
    order.put_u32(res)
}

/// Unpack a 4-byte reply.
pub fn decode_reply(bytes: &[u8], order: Order) -> Result<u32, LengthError> {
    if bytes.len() != REPLY_LEN {
        return Err(LengthError {
            got: bytes.len(),
            expected: REPLY_LEN,
        });
    }
    Ok(order.get_u32(take4(bytes, field::RES)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn course_request_native_little() {
        let r = Request {
            a: 10,
            b: 500,
            op: 0,
        };
        let b = r.encode(Order::Little);
        assert_eq!(b, [10, 0, 0, 0, 0xf4, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Request::decode(&b, Order::Little).unwrap(), r);
        let wrong = Request::decode(&b, Order::Big).unwrap();
        assert_eq!(wrong.a, 167_772_160);
        assert_eq!(r.compute().wire, 510);
    }

    #[test]
    fn network_order() {
        let b = Request { a: 1, b: 2, op: 1 }.encode(Order::Big);
        assert_eq!(b, [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1]);
    }

    #[test]
    fn wrong_length_is_an_error_not_a_panic() {
        for n in [0, 1, 11, 13, 100] {
            let e = Request::decode(&vec![0; n], Order::Native).unwrap_err();
            assert_eq!(e.got, n);
        }
        assert!(decode_reply(&[1, 2, 3], Order::Native).is_err());
    }

    #[test]
    fn negative_results_wrap() {
        let o = Request { a: 3, b: 7, op: 1 }.compute();
        assert_eq!(o.exact, -4);
        assert_eq!(o.wire, 4_294_967_292);
        assert!(o.wrapped());
        let o = Request {
            a: u32::MAX,
            b: 1,
            op: 0,
        }
        .compute();
        assert_eq!(o.wire, 0);
        assert!(o.wrapped());
        assert!(!Request { a: 7, b: 3, op: 5 }.compute().wrapped());
    }
}
