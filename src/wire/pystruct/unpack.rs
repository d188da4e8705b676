//! `struct.unpack`: bytes to values, with CPython 3.11's checks.

use super::error::{At, ErrorKind, StructError};
use super::format::{Code, Endian, Item, Layout};
use super::half;
use super::value::Value;

fn get_uint(src: &[u8], endian: Endian) -> u128 {
    let fold = |acc: u128, b: &u8| (acc << 8) | u128::from(*b);
    match endian {
        Endian::Big => src.iter().fold(0, fold),
        Endian::Little => src.iter().rev().fold(0, fold),
    }
}

/// One element of a numeric item from exactly its bytes.
fn unpack_one(code: Code, endian: Endian, src: &[u8]) -> Value {
    let raw = get_uint(src, endian);
    match code {
        Code::Char => Value::Bytes(src.to_vec()),
        Code::Bool => Value::Bool(raw != 0),
        Code::Half => Value::Float(half::unpack(raw as u16)),
        Code::Float => Value::Float(f64::from(f32::from_bits(raw as u32))),
        Code::Double => Value::Float(f64::from_bits(raw as u64)),
        _ if code.int_signed() == Some(true) => {
            // Sign-extend from the element's width.
            let shift = 128 - 8 * src.len() as u32;
            Value::Int(((raw << shift) as i128) >> shift)
        }
        _ => Value::Int(raw as i128),
    }
}

/// The values of one item (none for `x`), from the whole buffer.
pub fn unpack_item(layout: &Layout, item: &Item, buf: &[u8]) -> Result<Vec<Value>, StructError> {
    let off = item.offset as usize;
    let count = item.count as usize;
    let bytes = buf
        .get(off..off + item.len() as usize)
        .ok_or_else(|| buffer_error(layout, buf))?;
    Ok(match item.code {
        Code::Pad => Vec::new(),
        Code::Str => vec![Value::Bytes(bytes.to_vec())],
        Code::Pascal => {
            let Some((&n, rest)) = bytes.split_first() else {
                return Err(StructError::new(
                    ErrorKind::ZeroPascal,
                    "Negative size passed to PyBytes_FromStringAndSize",
                    Some(At::Value {
                        index: item.first_value,
                        format_pos: item.pos,
                    }),
                ));
            };
            let n = usize::from(n).min(count - 1);
            vec![Value::Bytes(rest[..n].to_vec())]
        }
        code => bytes
            .chunks_exact(item.elem_size as usize)
            .map(|c| unpack_one(code, layout.endian, c))
            .collect(),
    })
}

fn buffer_error(layout: &Layout, buf: &[u8]) -> StructError {
    StructError::new(
        ErrorKind::BufferSize,
        format!("unpack requires a buffer of {} bytes", layout.size),
        Some(At::Buffer { got: buf.len() }),
    )
}

/// `struct.unpack(layout.format, buf)`.
pub fn unpack(layout: &Layout, buf: &[u8]) -> Result<Vec<Value>, StructError> {
    if buf.len() as u64 != layout.size {
        return Err(buffer_error(layout, buf));
    }
    let mut out = Vec::with_capacity(layout.nvalues);
    for item in &layout.items {
        out.extend(unpack_item(layout, item, buf)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::pystruct::value::tuple_repr;

    fn u(fmt: &str, buf: &[u8]) -> Result<String, String> {
        let l = Layout::parse(fmt).map_err(|e| e.message)?;
        unpack(&l, buf)
            .map(|v| tuple_repr(&v))
            .map_err(|e| e.message)
    }

    #[test]
    fn course_request_in_both_orders() {
        let b = [10, 0, 0, 0, 0xf4, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(u("<III", &b).unwrap(), "(10, 500, 0)");
        assert_eq!(u(">III", &b).unwrap(), "(167772160, 4093706240, 0)");
    }

    #[test]
    fn signed_and_floats() {
        assert_eq!(u("<hb", &[0xfe, 0xff, 0x80]).unwrap(), "(-2, -128)");
        assert_eq!(u(">e", &[0x3c, 0]).unwrap(), "(1.0,)");
        assert_eq!(u("<f", &[0, 0, 0x80, 0x7f]).unwrap(), "(inf,)");
        assert_eq!(u("@P", &[0xff; 8]).unwrap(), "(18446744073709551615,)");
        assert_eq!(u("<q", &[0xff; 8]).unwrap(), "(-1,)");
    }

    #[test]
    fn strings_and_bools() {
        assert_eq!(u("3p", &[5, b'a', b'b']).unwrap(), "(b'ab',)");
        assert_eq!(u("3p", &[1, b'a', b'b']).unwrap(), "(b'a',)");
        assert_eq!(u("2c?", &[b'a', b'b', 2]).unwrap(), "(b'a', b'b', True)");
        assert_eq!(u("@b0I", &[1, 0, 0, 0]).unwrap(), "(1,)");
    }

    #[test]
    fn errors() {
        assert_eq!(
            u("I", b"abc").unwrap_err(),
            "unpack requires a buffer of 4 bytes"
        );
        assert_eq!(
            u("x0p", &[0]).unwrap_err(),
            "Negative size passed to PyBytes_FromStringAndSize"
        );
        assert_eq!(u("", &[]).unwrap(), "()");
    }
}
