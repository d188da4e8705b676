//! The Python values `struct` packs and unpacks, their `repr()`, and how a
//! value is read from command-line text.

use std::fmt;

use super::format::Code;

/// A Python value as far as `struct` cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `int` (every value `struct` can handle fits in i128).
    Int(i128),
    /// `bool`.
    Bool(bool),
    /// `float`.
    Float(f64),
    /// `bytes`.
    Bytes(Vec<u8>),
}

impl Value {
    /// Python's truth value (what `?` packs).
    pub fn truthy(&self) -> bool {
        match self {
            Value::Int(i) => *i != 0,
            Value::Bool(b) => *b,
            Value::Float(f) => *f != 0.0,
            Value::Bytes(b) => !b.is_empty(),
        }
    }
}

impl fmt::Display for Value {
    /// Python's `repr()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Float(x) => f.write_str(&float_repr(*x)),
            Value::Bytes(b) => f.write_str(&bytes_repr(b)),
        }
    }
}

/// `repr(tuple)` of values, as Python prints what `struct.unpack` returns.
pub fn tuple_repr(values: &[Value]) -> String {
    let parts: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    match parts.len() {
        1 => format!("({},)", parts[0]),
        _ => format!("({})", parts.join(", ")),
    }
}

/// Python's `repr(float)`: shortest round-trip digits, scientific notation
/// below 1e-4 and from 1e16 on.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits; on an exact tie
    // between two candidates Python takes the even one, which the
    // correctly rounded (half-even) form with as many digits gives.
    let shortest = format!("{:e}", x.abs());
    let ndigits = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.replace('.', "").len());
    let even = format!("{:.*e}", ndigits.saturating_sub(1), x.abs());
    let sci = if even.parse::<f64>() == Ok(x.abs()) {
        even
    } else {
        shortest
    };
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if x < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let body = if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                format!("{digits}{}.0", "0".repeat(int_len - digits.len()))
            } else {
                format!("{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        };
        format!("{sign}{body}")
    } else {
        let m = if digits.len() == 1 {
            digits
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        let es = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{es}{:02}", exp.abs())
    }
}

/// Python's `repr(bytes)`: `b'ab\x00'`, double quotes when that avoids escaping.
pub fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut s = String::with_capacity(b.len() + 3);
    s.push('b');
    s.push(char::from(quote));
    // Writing to a String cannot fail.
    let _ = crate::wire::escape::write_escaped(&mut s, b, quote);
    s.push(char::from(quote));
    s
}

/// A command-line value that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not {expected}")]
pub struct ValueSyntaxError {
    /// The text given.
    pub text: String,
    /// What was expected, for example `an integer (10, -3, 0x1f)`.
    pub expected: String,
    /// Byte index into `text` of the offending part.
    pub pos: usize,
}

/// Read an integer: optional sign, `0x`/`0o`/`0b` prefix, `_` between digits.
pub fn parse_int(text: &str) -> Option<i128> {
    let t = text.trim();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = t.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else {
        (10, lower.as_str())
    };
    let digits = digits
        .strip_prefix('_')
        .filter(|_| radix != 10)
        .unwrap_or(digits);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let mag = u128::from_str_radix(&clean, radix).ok()?;
    if neg {
        0i128.checked_sub_unsigned(mag)
    } else {
        i128::try_from(mag).ok()
    }
}

/// Read a float as Python's `float()` does: `1.5`, `-2e3`, `inf`, `nan`.
pub fn parse_float(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.contains("__") || t.starts_with('_') || t.ends_with('_') {
        return None;
    }
    let clean: String = t.chars().filter(|c| *c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.starts_with("in") || body.starts_with("nan") {
        if !matches!(body, "inf" | "infinity" | "nan") {
            return None;
        }
    } else if !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    lower.parse().ok()
}

/// Decode the inside of a Python bytes literal: `\x00`, `\n`, `\\`, octal...
/// Unknown escapes stay as written, as in Python. Returns the byte index of
/// a bad escape on error.
pub fn unescape(text: &str) -> Result<Vec<u8>, usize> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let at = i;
        i += 1;
        let Some(&e) = b.get(i) else {
            return Err(at);
        };
        i += 1;
        match e {
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'\n' => {}
            b'x' => {
                let hex = b.get(i..i + 2).ok_or(at)?;
                let s = std::str::from_utf8(hex).map_err(|_| at)?;
                out.push(u8::from_str_radix(s, 16).map_err(|_| at)?);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match b.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(u8::try_from(v).map_err(|_| at)?);
            }
            _ => {
                out.push(b'\\');
                out.push(e);
            }
        }
    }
    Ok(out)
}

/// A `b'...'` or `b"..."` literal: its bytes.
pub fn bytes_literal(text: &str) -> Option<Result<Vec<u8>, usize>> {
    let t = text.strip_prefix('b').or_else(|| text.strip_prefix('B'))?;
    let q = t.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = t[1..].strip_suffix(q)?;
    Some(unescape(inner).map_err(|p| p + 2))
}

impl Value {
    /// Read the text given for a field of `code`. For `c`, `s` and `p` bare
    /// text is taken as bytes (escapes like `\x00` allowed); `b'...'` works
    /// everywhere and reaches the code as bytes, as it would in Python.
    pub fn parse_for(code: Code, text: &str) -> Result<Value, ValueSyntaxError> {
        let err = |expected: &str, pos: usize| ValueSyntaxError {
            text: text.to_string(),
            expected: expected.to_string(),
            pos,
        };
        if let Some(lit) = bytes_literal(text) {
            return lit
                .map(Value::Bytes)
                .map_err(|p| err("a valid bytes literal (bad escape here)", p));
        }
        if matches!(code, Code::Char | Code::Str | Code::Pascal) {
            return unescape(text)
                .map(Value::Bytes)
                .map_err(|p| err("valid bytes (bad escape here; use \\\\ for a backslash)", p));
        }
        match text.trim() {
            "True" | "true" => return Ok(Value::Bool(true)),
            "False" | "false" => return Ok(Value::Bool(false)),
            _ => {}
        }
        if let Some(i) = parse_int(text) {
            return Ok(Value::Int(i));
        }
        let t = text.trim().trim_start_matches(['-', '+']);
        if !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit() || c == b'_') {
            // Digits only, yet not an i128: beyond every struct code.
            return Err(err(
                "an integer socklab can hold (at most 39 digits; \
                 write big floats as 1e40)",
                0,
            ));
        }
        if let Some(f) = parse_float(text) {
            return Ok(Value::Float(f));
        }
        let expected = if code.is_float() {
            "a number (1.5, -2, 1e-3, inf, nan)"
        } else if code == Code::Bool {
            "true, false or a number"
        } else {
            "an integer (10, -3, 0x1f)"
        };
        Err(err(expected, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        for (x, s) in [
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (-0.0, "-0.0"),
            (1e22, "1e+22"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (f64::from(0.1f32), "0.10000000149011612"),
            (f64::NEG_INFINITY, "-inf"),
            (5e-324, "5e-324"),
            (2f64.powi(-25), "2.9802322387695312e-08"),
            (881004823100557.2, "881004823100557.2"),
        ] {
            assert_eq!(float_repr(x), s);
        }
    }

    #[test]
    fn bytes_repr_matches_python() {
        assert_eq!(bytes_repr(b"a'b"), "b\"a'b\"");
        assert_eq!(bytes_repr(b"a\"b"), "b'a\"b'");
        assert_eq!(bytes_repr(b"a'\"b"), "b'a\\'\"b'");
        assert_eq!(
            bytes_repr(b"\x7f\x80\t\n\r\\"),
            "b'\\x7f\\x80\\t\\n\\r\\\\'"
        );
    }

    #[test]
    fn tuples() {
        assert_eq!(tuple_repr(&[Value::Int(1)]), "(1,)");
        assert_eq!(tuple_repr(&[]), "()");
        assert_eq!(
            tuple_repr(&[Value::Bool(true), Value::Bytes(b"x".to_vec())]),
            "(True, b'x')"
        );
    }

    #[test]
    fn integers_like_python_int_base_0() {
        assert_eq!(parse_int("0x1f"), Some(31));
        assert_eq!(parse_int("-0b101"), Some(-5));
        assert_eq!(parse_int("1_000"), Some(1000));
        assert_eq!(parse_int("0x_ff"), Some(255));
        assert_eq!(parse_int("1__0"), None);
        assert_eq!(parse_int("-"), None);
        assert_eq!(parse_int("1.5"), None);
        assert_eq!(
            parse_int("-170141183460469231731687303715884105728"),
            Some(i128::MIN)
        );
    }

    #[test]
    fn floats_like_python_float() {
        assert_eq!(parse_float("1.5"), Some(1.5));
        assert_eq!(parse_float("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_float("nan").is_some_and(f64::is_nan));
        assert_eq!(parse_float("e5"), None);
        assert_eq!(parse_float("infinit"), None);
    }

    #[test]
    fn values_by_code() {
        assert_eq!(
            Value::parse_for(Code::Str, "ab\\x00").unwrap(),
            Value::Bytes(vec![b'a', b'b', 0])
        );
        assert_eq!(
            Value::parse_for(Code::UInt, "b'\\n'").unwrap(),
            Value::Bytes(vec![b'\n'])
        );
        assert_eq!(Value::parse_for(Code::UInt, "10").unwrap(), Value::Int(10));
        assert_eq!(
            Value::parse_for(Code::Double, "-1e3").unwrap(),
            Value::Float(-1e3)
        );
        assert_eq!(
            Value::parse_for(Code::Bool, "true").unwrap(),
            Value::Bool(true)
        );
        let e = Value::parse_for(Code::UInt, "ten").unwrap_err();
        assert!(e.to_string().contains("not an integer"));
        let e = Value::parse_for(Code::Str, "a\\x4").unwrap_err();
        assert_eq!(e.pos, 1);
        assert_eq!(unescape("\\101\\q"), Ok(b"A\\q".to_vec()));
    }
}
