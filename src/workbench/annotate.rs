//! What `pack` and `unpack` share: the annotated field table (offset, raw
//! bytes, code, value for every field, alignment padding included), the
//! byte-order comparison, and struct errors shown under the format or value
//! they concern.

use std::fmt::Write as _;

use crate::render::hexdump::{spaced, HexDump};
use crate::wire::pystruct::format::Endian;
use crate::wire::pystruct::unpack::unpack_item;
use crate::wire::pystruct::value::tuple_repr;
use crate::wire::pystruct::{self, At, Code, Layout, StructError, Value};

use super::input::caret;
use super::limits::cell_width;

/// Bytes shown per line in the field table.
const ROW_BYTES: usize = 8;

/// One row of the field table.
struct Row {
    offset: u64,
    bytes: Vec<u8>,
    code: String,
    value: String,
}

/// `'text'` as Python writes a str literal.
pub fn py_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The header lines: format with its meaning, and size.
pub fn header(layout: &Layout) -> Vec<String> {
    vec![
        format!(
            "format  {}: {}",
            py_str(&layout.format),
            layout.prefix.describe()
        ),
        format!(
            "size    {} (struct.calcsize)",
            crate::plural::count(layout.size, "byte")
        ),
    ]
}

/// The hex dump block of `bytes`.
pub fn dump(bytes: &[u8], color: bool) -> String {
    HexDump::new().color(color).to_text(bytes)
}

fn same_value(given: &Value, stored: &Value) -> bool {
    let as_f64 = |v: &Value| match v {
        Value::Int(i) => Some(*i as f64),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Float(f) => Some(*f),
        Value::Bytes(_) => None,
    };
    match (given, stored) {
        (_, Value::Float(s)) => {
            as_f64(given).is_some_and(|g| g == *s || (g.is_nan() && s.is_nan()))
        }
        (Value::Bool(g), Value::Int(s)) => i128::from(*g) == *s,
        _ => given == stored,
    }
}

/// The field table of `buf` (exactly `layout.size` bytes). With `given`,
/// values that the packing changed (rounded, truncated, padded) say so.
pub fn field_table(layout: &Layout, buf: &[u8], given: Option<&[Value]>) -> Vec<String> {
    let mut rows = Vec::new();
    let slice = |from: u64, len: u64| {
        buf.get(from as usize..(from + len) as usize)
            .unwrap_or_default()
            .to_vec()
    };
    for item in &layout.items {
        let c = item.code.char();
        if item.pad > 0 {
            let (_, align) = item.code.size_align(layout.prefix);
            rows.push(Row {
                offset: item.offset - item.pad,
                bytes: slice(item.offset - item.pad, item.pad),
                code: "pad".into(),
                value: format!("alignment: '{c}' starts at a multiple of {align}"),
            });
        }
        let values = unpack_item(layout, item, buf);
        let note = |k: usize, stored: &Value| -> String {
            match given.and_then(|g| g.get(item.first_value + k)) {
                Some(g) if !same_value(g, stored) => format!("{stored}  (given {g})"),
                _ => stored.to_string(),
            }
        };
        match (item.code, values) {
            (Code::Pad, _) => rows.push(Row {
                offset: item.offset,
                bytes: slice(item.offset, item.count),
                code: format!("{}x", item.count),
                value: if item.count == 1 {
                    "pad byte"
                } else {
                    "pad bytes"
                }
                .into(),
            }),
            (Code::Str | Code::Pascal, values) => rows.push(Row {
                offset: item.offset,
                bytes: slice(item.offset, item.count),
                code: format!("{}{c}", item.count),
                value: match values {
                    Ok(v) => v.first().map(|v| note(0, v)).unwrap_or_default(),
                    Err(e) => format!("error: {e}"),
                },
            }),
            (_, Ok(values)) => {
                for (k, v) in values.iter().enumerate() {
                    let off = item.offset + k as u64 * item.elem_size;
                    rows.push(Row {
                        offset: off,
                        bytes: slice(off, item.elem_size),
                        code: c.to_string(),
                        value: note(k, v),
                    });
                }
                if item.count == 0 {
                    rows.push(Row {
                        offset: item.offset,
                        bytes: Vec::new(),
                        code: format!("0{c}"),
                        value: "no field (a count of 0 only aligns)".into(),
                    });
                }
            }
            (_, Err(e)) => rows.push(Row {
                offset: item.offset,
                bytes: slice(item.offset, item.len()),
                code: c.to_string(),
                value: format!("error: {e}"),
            }),
        }
    }
    render_rows(&rows)
}

fn render_rows(rows: &[Row]) -> Vec<String> {
    if rows.is_empty() {
        return vec!["(no fields: the struct is empty)".into()];
    }
    let code_w = cell_width(rows.iter().map(|r| r.code.len()).max().unwrap_or(4).max(4));
    let hex_w = ROW_BYTES * 3 - 1;
    let mut out = vec![format!(
        "{:>6}  {:<hex_w$}  {:<code_w$}  value",
        "offset", "bytes", "code"
    )];
    for r in rows {
        let mut chunks = r.bytes.chunks(ROW_BYTES);
        let first = chunks.next().map_or_else(|| "(none)".to_string(), spaced);
        out.push(
            format!(
                "{:>6}  {first:<hex_w$}  {:<code_w$}  {}",
                r.offset, r.code, r.value
            )
            .trim_end()
            .to_string(),
        );
        for (k, chunk) in chunks.enumerate() {
            let off = r.offset + ((k + 1) * ROW_BYTES) as u64;
            out.push(format!("{off:>6}  {}", spaced(chunk)));
        }
    }
    out
}

/// The three layouts of one format body: native, little, big.
fn order_variants(layout: &Layout) -> [(&'static str, String); 3] {
    let body = layout.body();
    [
        ("native", format!("@{body}")),
        ("little-endian", format!("<{body}")),
        ("big-endian", format!(">{body}")),
    ]
}

/// `pack --orders`: the values packed in each order, then what a reader
/// with the other order makes of the bytes.
pub fn pack_orders(layout: &Layout, values: &[Value]) -> Vec<String> {
    let mut out = vec![
        "the same values in each byte order".to_string(),
        format!("{:<15} {:<12} bytes", "order", "format"),
    ];
    for (name, fmt) in order_variants(layout) {
        let shown = match pystruct::pack(&fmt, values) {
            Ok(b) if b.is_empty() => "(empty)".to_string(),
            Ok(b) => spaced(&b),
            Err(e) if Layout::parse(&fmt).is_err() => {
                format!("not available: {e} (n, N and P exist only in native mode)")
            }
            Err(e) => format!("error: {e}"),
        };
        out.push(format!("{name:<15} {fmt:<12} {shown}"));
    }
    out.push(String::new());
    out.push("what a reader with the other byte order gets (same bytes, same offsets)".into());
    // Same layout and offsets, only the byte order of reader and writer differ.
    let reread = |writer: Endian| {
        let w = layout.clone().with_endian(writer);
        let r = layout.clone().with_endian(writer.opposite());
        pystruct::pack::pack(&w, values).and_then(|b| pystruct::unpack::unpack(&r, &b))
    };
    let cols = [reread(Endian::Little), reread(Endian::Big)];
    let headers = ["written little, read big", "written big, read little"];
    let field_codes = value_codes(layout);
    let w0 = cell_width(
        values
            .iter()
            .map(|v| v.to_string().len())
            .max()
            .unwrap_or(5)
            .max(5),
    );
    let w1 = cell_width(headers[0].len().max(cols[0].as_ref().map_or(0, |v| {
        v.iter().map(|x| x.to_string().len()).max().unwrap_or(0)
    })));
    out.push(format!(
        "{:<5} {:<w0$}  {:<w1$}  {}",
        "code", "value", headers[0], headers[1]
    ));
    for (i, v) in values.iter().enumerate() {
        let cell = |c: &Result<Vec<Value>, StructError>| match c {
            Ok(vals) => vals.get(i).map(|x| x.to_string()).unwrap_or_default(),
            Err(e) => format!("error: {e}"),
        };
        let code = field_codes.get(i).map_or('?', |(c, _)| c.char());
        out.push(
            format!(
                "{code:<5} {:<w0$}  {:<w1$}  {}",
                v.to_string(),
                cell(&cols[0]),
                cell(&cols[1])
            )
            .trim_end()
            .to_string(),
        );
    }
    out
}

/// `unpack --orders`: the same bytes read with each order's layout.
pub fn unpack_orders(layout: &Layout, buf: &[u8]) -> Vec<String> {
    let mut out = vec![
        "the same bytes read in each byte order".to_string(),
        format!("{:<15} {:<12} values", "order", "format"),
    ];
    for (name, fmt) in order_variants(layout) {
        let shown = match pystruct::unpack(&fmt, buf) {
            Ok(v) => tuple_repr(&v),
            Err(e) => match Layout::parse(&fmt) {
                Err(_) => format!("not available: {e} (n, N and P exist only in native mode)"),
                Ok(l) if l.size != buf.len() as u64 => {
                    format!("needs {} bytes, got {}", l.size, buf.len())
                }
                Ok(_) => format!("error: {e}"),
            },
        };
        out.push(format!("{name:<15} {fmt:<12} {shown}"));
    }
    out
}

/// The code and format position of each value, in order (call only after
/// the value count has been checked: it has one entry per value).
pub fn value_codes(layout: &Layout) -> Vec<(Code, usize)> {
    let mut out = Vec::with_capacity(layout.nvalues);
    for item in &layout.items {
        for _ in 0..item.values() {
            out.push((item.code, item.pos));
        }
    }
    out
}

/// A struct error as a person should see it: CPython's exception and
/// message, the format or value with a caret, and a hint.
pub fn struct_error(e: &StructError, layout_format: &str, given: &[String]) -> anyhow::Error {
    let mut msg = format!("{}: {}", e.kind.python_exception(), e.message);
    match e.at {
        Some(At::Format(pos)) => {
            let what = layout_format
                .get(pos..)
                .and_then(|s| s.chars().next())
                .map(|c| format!(" ({c:?} at position {pos})"))
                .unwrap_or_default();
            let _ = write!(msg, "{what}\n{}", caret(layout_format, pos));
        }
        Some(At::Value { index, format_pos }) => {
            let what = match given.get(index) {
                Some(text) => format!("value {} of {} is {text:?}", index + 1, given.len()),
                None => format!("value {}", index + 1),
            };
            let _ = write!(
                msg,
                "\n  {what}, for this code:\n{}",
                caret(layout_format, format_pos)
            );
        }
        Some(At::Buffer { got }) => {
            let _ = write!(
                msg,
                "\n  got {got} {got_bytes} for {}",
                py_str(layout_format),
                got_bytes = crate::plural::noun(got, "byte")
            );
        }
        None => {}
    }
    if let Some(h) = e.hint() {
        let _ = write!(msg, "\n  hint: {h}");
    }
    anyhow::anyhow!(msg)
}
