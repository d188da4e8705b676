//! `struct.pack`: values to bytes, with CPython 3.11's checks and messages.
//!
//! CPython does not use one routine per code: native mode has its own
//! (`np_*`), standard mode has `lp_*`/`bp_*`, and on a little-endian machine
//! `<` and `=` borrow the native routines wherever the sizes agree. The
//! messages differ between them (`short format requires ...` vs
//! `'h' format requires ...`), so `Rule` reproduces that choice.

use super::error::{At, ErrorKind, StructError};
use super::format::{Code, Endian, Item, Layout, Prefix};
use super::half;
use super::value::Value;

/// Largest struct `pack` builds; CPython would try (and usually fail with
/// MemoryError) beyond what fits in memory.
pub const MAX_PACK_SIZE: u64 = 1 << 26;

/// How one integer code checks its value (which C routine CPython uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// np_byte.
    Byte,
    /// np_ubyte.
    UByte,
    /// np_short.
    Short,
    /// np_ushort.
    UShort,
    /// np_int: C long first, then `'i' format requires ...`.
    NInt,
    /// np_uint.
    NUInt,
    /// np_long, np_longlong, np_ssize_t: C long or "argument out of range".
    Long,
    /// np_ulong, np_ulonglong, np_size_t.
    ULong,
    /// np_void_p.
    VoidP,
    /// lp_int/bp_int: C long, then the size's range.
    StdInt,
    /// lp_uint/bp_uint.
    StdUInt,
    /// bp_longlong / lp_longlong.
    StdLongLong,
    /// bp_ulonglong / lp_ulonglong.
    StdULongLong,
}

fn rule(code: Code, prefix: Prefix, size: u64) -> Rule {
    let native_routine = |c: Code| match c {
        Code::SChar => Rule::Byte,
        Code::UChar => Rule::UByte,
        Code::Short => Rule::Short,
        Code::UShort => Rule::UShort,
        Code::Int => Rule::NInt,
        Code::UInt => Rule::NUInt,
        Code::Pointer => Rule::VoidP,
        c if c.int_signed() == Some(true) => Rule::Long,
        _ => Rule::ULong,
    };
    if prefix.is_native() || matches!(code, Code::SChar | Code::UChar) {
        return native_routine(code);
    }
    // The module swaps native routines into the table of the machine's own
    // order when the standard size equals the native one.
    let (native_size, _) = code.size_align(Prefix::Native);
    if prefix.endian() == Endian::NATIVE && native_size == size {
        return native_routine(code);
    }
    match (code.int_signed(), size) {
        (Some(true), 8) => Rule::StdLongLong,
        (Some(false), 8) => Rule::StdULongLong,
        (Some(true), _) => Rule::StdInt,
        _ => Rule::StdUInt,
    }
}

fn range_message(code: Code, size: u64, signed: bool) -> String {
    let ularge: u64 = u64::MAX >> (64 - 8 * size);
    if signed {
        let large = ularge >> 1;
        format!(
            "'{}' format requires -{} <= number <= {large}",
            code.char(),
            u128::from(large) + 1
        )
    } else {
        format!("'{}' format requires 0 <= number <= {ularge}", code.char())
    }
}

/// Check an integer for its code; `Ok(v)` is in range for writing.
fn check_int(code: Code, prefix: Prefix, size: u64, v: i128) -> Result<i128, (ErrorKind, String)> {
    let out = || (ErrorKind::OutOfRange, "argument out of range".to_string());
    let long = || {
        if i64::try_from(v).is_ok() {
            Ok(v)
        } else {
            Err(out())
        }
    };
    let ulong = || {
        if u64::try_from(v).is_ok() {
            Ok(v)
        } else {
            Err(out())
        }
    };
    let within = |lo: i128, hi: i128, msg: String| {
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err((ErrorKind::OutOfRange, msg))
        }
    };
    let too_large = || {
        (
            ErrorKind::IntTooLarge,
            "int too large to convert".to_string(),
        )
    };
    match rule(code, prefix, size) {
        Rule::Byte => long().and_then(|_| {
            within(
                -128,
                127,
                "byte format requires -128 <= number <= 127".into(),
            )
        }),
        Rule::UByte => {
            long().and_then(|_| within(0, 255, "ubyte format requires 0 <= number <= 255".into()))
        }
        Rule::Short => long().and_then(|_| {
            within(
                -32768,
                32767,
                "short format requires -32768 <= number <= 32767".into(),
            )
        }),
        Rule::UShort => long().and_then(|_| {
            within(
                0,
                65535,
                "ushort format requires 0 <= number <= 65535".into(),
            )
        }),
        Rule::NInt => long().and_then(|_| {
            let hi = (1i128 << (8 * size - 1)) - 1;
            within(-hi - 1, hi, range_message(code, size, true))
        }),
        Rule::NUInt => ulong().and_then(|_| {
            within(
                0,
                (1i128 << (8 * size)) - 1,
                range_message(code, size, false),
            )
        }),
        Rule::Long => long(),
        Rule::ULong => ulong(),
        Rule::VoidP => {
            if (i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&v) {
                Ok(v)
            } else {
                Err(too_large())
            }
        }
        Rule::StdInt => long().and_then(|_| {
            if size >= 8 {
                return Ok(v);
            }
            let hi = (1i128 << (8 * size - 1)) - 1;
            within(-hi - 1, hi, range_message(code, size, true))
        }),
        Rule::StdUInt => ulong().and_then(|_| {
            if size >= 8 {
                return Ok(v);
            }
            within(
                0,
                (1i128 << (8 * size)) - 1,
                range_message(code, size, false),
            )
        }),
        Rule::StdLongLong => long().map_err(|_| too_large()),
        Rule::StdULongLong => ulong().map_err(|_| too_large()),
    }
}

fn put_uint(dst: &mut [u8], v: u128, endian: Endian) {
    let n = dst.len();
    for (i, slot) in dst.iter_mut().enumerate() {
        let shift = match endian {
            Endian::Little => i,
            Endian::Big => n - 1 - i,
        };
        *slot = (v >> (8 * shift)) as u8;
    }
}

/// Pack one value of `item` into `dst` (exactly the element's bytes).
fn pack_one(
    layout: &Layout,
    item: &Item,
    value: &Value,
    dst: &mut [u8],
) -> Result<(), (ErrorKind, String)> {
    let code = item.code;
    let size = item.elem_size;
    let endian = layout.endian;
    let not_float = || {
        (
            ErrorKind::NotFloat,
            "required argument is not a float".to_string(),
        )
    };
    let as_double = || match value {
        Value::Int(i) => Ok(*i as f64),
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        Value::Float(f) => Ok(*f),
        Value::Bytes(_) => Err(not_float()),
    };
    // CPython turns an OverflowError raised for an int argument into this.
    let overflow = |what: &str| match value {
        Value::Int(_) | Value::Bool(_) => (
            ErrorKind::IntTooLarge,
            "int too large to convert".to_string(),
        ),
        _ => (
            ErrorKind::FloatOverflow,
            format!("float too large to pack with {what} format"),
        ),
    };
    match code {
        Code::Pad | Code::Str | Code::Pascal => {}
        Code::Char => match value {
            Value::Bytes(b) if b.len() == 1 => dst[0] = b[0],
            _ => {
                return Err((
                    ErrorKind::NotChar,
                    "char format requires a bytes object of length 1".into(),
                ))
            }
        },
        Code::Bool => dst[0] = u8::from(value.truthy()),
        Code::Half => {
            let bits = half::pack(as_double()?).ok_or_else(|| overflow("e"))?;
            put_uint(dst, u128::from(bits), endian);
        }
        Code::Float => {
            let x = as_double()?;
            let y = x as f32;
            if !layout.prefix.is_native() && y.is_infinite() && !x.is_infinite() {
                return Err(overflow("f"));
            }
            put_uint(dst, u128::from(y.to_bits()), endian);
        }
        Code::Double => put_uint(dst, u128::from(as_double()?.to_bits()), endian),
        _ => {
            let v = match value {
                Value::Int(i) => *i,
                Value::Bool(b) => i128::from(*b),
                _ => {
                    return Err((
                        ErrorKind::NotInteger,
                        "required argument is not an integer".into(),
                    ))
                }
            };
            let v = check_int(code, layout.prefix, size, v)?;
            put_uint(dst, v as u128, endian);
        }
    }
    Ok(())
}

/// CPython's first check in `pack`: exactly one value per field.
pub fn check_count(layout: &Layout, got: usize) -> Result<(), StructError> {
    if got == layout.nvalues {
        return Ok(());
    }
    Err(StructError::new(
        ErrorKind::ArgCount,
        format!(
            "pack expected {} items for packing (got {got})",
            layout.nvalues
        ),
        None,
    ))
}

/// `struct.pack(layout.format, *values)`.
pub fn pack(layout: &Layout, values: &[Value]) -> Result<Vec<u8>, StructError> {
    check_count(layout, values.len())?;
    if layout.size > MAX_PACK_SIZE {
        return Err(StructError::new(
            ErrorKind::TooBig,
            format!(
                "the struct is {} bytes; socklab packs at most {MAX_PACK_SIZE}",
                layout.size
            ),
            None,
        ));
    }
    // Sizes are now small enough for usize on every platform.
    let mut out = vec![0u8; layout.size as usize];
    for item in &layout.items {
        let off = item.offset as usize;
        let at = |index: usize| {
            Some(At::Value {
                index,
                format_pos: item.pos,
            })
        };
        let fail =
            |index: usize, (kind, msg): (ErrorKind, String)| StructError::new(kind, msg, at(index));
        match item.code {
            Code::Pad => {}
            Code::Str | Code::Pascal => {
                let index = item.first_value;
                let Value::Bytes(b) = &values[index] else {
                    return Err(fail(
                        index,
                        (
                            ErrorKind::NotBytes,
                            format!("argument for '{}' must be a bytes object", item.code.char()),
                        ),
                    ));
                };
                let count = item.count as usize;
                if item.code == Code::Str {
                    let n = b.len().min(count);
                    out[off..off + n].copy_from_slice(&b[..n]);
                } else if count == 0 {
                    // CPython writes the length byte (-1 as 0xff) anyway;
                    // inside the struct it shows up unless overwritten.
                    if let Some(slot) = out.get_mut(off) {
                        *slot = 0xff;
                    }
                } else {
                    let n = b.len().min(count - 1);
                    out[off + 1..off + 1 + n].copy_from_slice(&b[..n]);
                    out[off] = n.min(255) as u8;
                }
            }
            _ => {
                let size = item.elem_size as usize;
                for k in 0..item.count as usize {
                    let index = item.first_value + k;
                    let start = off + k * size;
                    pack_one(layout, item, &values[index], &mut out[start..start + size])
                        .map_err(|e| fail(index, e))?;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(fmt: &str, values: &[Value]) -> Result<Vec<u8>, String> {
        let l = Layout::parse(fmt).map_err(|e| e.message)?;
        pack(&l, values).map_err(|e| e.message)
    }
    use Value::{Bytes, Float, Int};

    #[test]
    fn course_udp_request() {
        let v = [Int(10), Int(500), Int(0)];
        assert_eq!(
            p("!III", &v).unwrap(),
            [0, 0, 0, 10, 0, 0, 1, 0xf4, 0, 0, 0, 0]
        );
        assert_eq!(
            p("<III", &v).unwrap(),
            [10, 0, 0, 0, 0xf4, 1, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn native_alignment_pads_with_zeros() {
        assert_eq!(
            p("@bI", &[Int(1), Int(2)]).unwrap(),
            [1, 0, 0, 0, 2, 0, 0, 0]
        );
        assert_eq!(p("@0pI", &[Bytes(vec![]), Int(1)]).unwrap(), [1, 0, 0, 0]);
        assert_eq!(p("<0p2x", &[Bytes(b"abc".to_vec())]).unwrap(), [0xff, 0]);
    }

    #[test]
    fn messages_follow_the_cpython_routine() {
        assert_eq!(
            p("<h", &[Int(40000)]).unwrap_err(),
            "short format requires -32768 <= number <= 32767"
        );
        assert_eq!(
            p(">h", &[Int(40000)]).unwrap_err(),
            "'h' format requires -32768 <= number <= 32767"
        );
        assert_eq!(
            p(">H", &[Int(1 << 63)]).unwrap_err(),
            "'H' format requires 0 <= number <= 65535"
        );
        assert_eq!(
            p(">H", &[Int(1 << 64)]).unwrap_err(),
            "argument out of range"
        );
        assert_eq!(p("I", &[Int(-1)]).unwrap_err(), "argument out of range");
        assert_eq!(
            p("<l", &[Int(1 << 31)]).unwrap_err(),
            "'l' format requires -2147483648 <= number <= 2147483647"
        );
        assert_eq!(
            p(">q", &[Int(1 << 63)]).unwrap_err(),
            "int too large to convert"
        );
        assert_eq!(p("P", &[Int(-1)]).unwrap(), [0xff; 8]);
        assert_eq!(
            p("e", &[Int(70000)]).unwrap_err(),
            "int too large to convert"
        );
        assert_eq!(
            p("e", &[Float(1e10)]).unwrap_err(),
            "float too large to pack with e format"
        );
        assert_eq!(
            p("<f", &[Float(1e300)]).unwrap_err(),
            "float too large to pack with f format"
        );
        assert_eq!(p("f", &[Float(1e300)]).unwrap(), [0, 0, 0x80, 0x7f]);
        assert_eq!(
            p("b", &[Float(1.5)]).unwrap_err(),
            "required argument is not an integer"
        );
        assert_eq!(
            p("d", &[Bytes(b"x".to_vec())]).unwrap_err(),
            "required argument is not a float"
        );
        assert_eq!(
            p("s", &[Int(1)]).unwrap_err(),
            "argument for 's' must be a bytes object"
        );
        assert_eq!(
            p("I", &[]).unwrap_err(),
            "pack expected 1 items for packing (got 0)"
        );
    }

    #[test]
    fn strings_pad_and_truncate() {
        assert_eq!(
            p("3p", &[Bytes(b"abcdef".to_vec())]).unwrap(),
            [2, b'a', b'b']
        );
        assert_eq!(p("2s", &[Bytes(b"a".to_vec())]).unwrap(), [b'a', 0]);
        assert_eq!(p("?", &[Bytes(vec![])]).unwrap(), [0]);
    }

    #[test]
    fn error_points_at_value_and_code() {
        let l = Layout::parse("<I b").unwrap();
        let e = pack(&l, &[Int(1), Int(300)]).unwrap_err();
        assert_eq!(
            e.at,
            Some(At::Value {
                index: 1,
                format_pos: 3
            })
        );
    }

    #[test]
    fn oversized_struct_is_refused_not_allocated() {
        let l = Layout::parse("9223372036854775807x").unwrap();
        assert_eq!(pack(&l, &[]).unwrap_err().kind, ErrorKind::TooBig);
    }
}
