//! The user-space evaluator: runs a lowered [`Cond`] over a frame's bytes.
//!
//! Same meaning as BPF (and so as tcpdump): comparisons are unsigned
//! 32-bit, arithmetic wraps, loads are big-endian, and a load past the
//! captured bytes or a division by zero rejects the whole packet, even
//! under a `not`. Evaluation order is left to right with short cuts, so a
//! load that a failed protocol check guards is never made. Pure; no
//! allocation; recursion depth is bounded by the parser's nesting limit.

use super::ast::Op;
use super::lower::{Base, Cond, Jmp, Val};

/// The packet is rejected as a whole (a load past the end, a division by zero).
struct Reject;

/// One ALU step as BPF computes it; `None` for a division by zero.
pub fn alu(op: Op, a: u32, b: u32) -> Option<u32> {
    Some(match op {
        Op::Add => a.wrapping_add(b),
        Op::Sub => a.wrapping_sub(b),
        Op::Mul => a.wrapping_mul(b),
        Op::Div => a.checked_div(b)?,
        Op::Mod => a.checked_rem(b)?,
        Op::And => a & b,
        Op::Or => a | b,
        Op::Xor => a ^ b,
        // Shift counts are taken modulo 32, as the CPU (and libpcap's
        // interpreter in tcpdump -r) does.
        Op::Lsh => a.wrapping_shl(b),
        Op::Rsh => a.wrapping_shr(b),
    })
}

/// True when `frame` (`wire_len` bytes long on the wire) passes `c`.
pub fn matches(c: &Cond, frame: &[u8], wire_len: u32) -> bool {
    cond(c, frame, wire_len).unwrap_or(false)
}

fn cond(c: &Cond, f: &[u8], len: u32) -> Result<bool, Reject> {
    Ok(match c {
        Cond::True => true,
        Cond::False => false,
        Cond::Not(x) => !cond(x, f, len)?,
        Cond::And(a, b) => cond(a, f, len)? && cond(b, f, len)?,
        Cond::Or(a, b) => cond(a, f, len)? || cond(b, f, len)?,
        Cond::Cmp(a, j, b) => {
            let x = val(a, f, len)?;
            let y = val(b, f, len)?;
            match j {
                Jmp::Eq => x == y,
                Jmp::Gt => x > y,
                Jmp::Ge => x >= y,
                Jmp::Set => x & y != 0,
            }
        }
    })
}

fn load(f: &[u8], at: u64, size: u8) -> Result<u32, Reject> {
    let start = usize::try_from(at).map_err(|_| Reject)?;
    let end = start.checked_add(usize::from(size)).ok_or(Reject)?;
    let b = f.get(start..end).ok_or(Reject)?;
    Ok(b.iter().fold(0u32, |v, x| (v << 8) | u32::from(*x)))
}

fn val(v: &Val, f: &[u8], len: u32) -> Result<u32, Reject> {
    Ok(match v {
        Val::K(k) => *k,
        Val::Len => len,
        Val::Load { base, off, k, size } => {
            let off = match off {
                Some(o) => val(o, f, len)?,
                None => 0,
            };
            let base = match base {
                Base::Frame => 0,
                Base::Ipv4HeaderLen(at) => 4 * (load(f, u64::from(*at), 1)? & 0xf),
            };
            // BPF adds the index register and the offset in 32 bits.
            let at = base.wrapping_add(off).wrapping_add(*k);
            load(f, u64::from(at), *size)?
        }
        Val::Bin(op, a, b) => {
            let x = val(a, f, len)?;
            let y = val(b, f, len)?;
            alu(*op, x, y).ok_or(Reject)?
        }
        Val::Neg(a) => val(a, f, len)?.wrapping_neg(),
    })
}
