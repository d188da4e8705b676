//! `socklab pack FORMAT VALUE...`: CPython's `struct.pack`, then the bytes
//! in hex, a hex dump and one annotated row per field.

use std::process::ExitCode;

use anyhow::Result;

use crate::outln;
use crate::render::out::line;
use crate::wire::pystruct::pack::{check_count, pack};
use crate::wire::pystruct::value::bytes_repr;
use crate::wire::pystruct::{Layout, Value};

use super::annotate::{dump, field_table, header, pack_orders, py_str, struct_error, value_codes};
use super::input::caret;
use super::limits::check_struct;

/// Read each value for the code it fills, pointing at the first bad one.
fn read_values(layout: &Layout, texts: &[String]) -> Result<Vec<Value>> {
    check_count(layout, texts.len()).map_err(|e| struct_error(&e, &layout.format, texts))?;
    let codes = value_codes(layout);
    let mut values = Vec::with_capacity(texts.len());
    for (i, (text, (code, pos))) in texts.iter().zip(codes).enumerate() {
        let v = Value::parse_for(code, text).map_err(|e| {
            anyhow::anyhow!(
                "value {} of {}: {e}, for the '{}' ({}) here:\n{}\n{}",
                i + 1,
                texts.len(),
                code.char(),
                code.c_type(),
                caret(&layout.format, pos),
                caret(text, e.pos)
            )
        })?;
        values.push(v);
    }
    Ok(values)
}

/// What `socklab pack` was asked to do, validated by `cli`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Python struct format, e.g. `!III`.
    pub format: String,
    /// One value per field, as typed.
    pub values: Vec<String>,
    /// Also pack in native, little and big order.
    pub orders: bool,
    /// Colour the hex dump.
    pub color: bool,
}

/// Run `socklab pack`.
pub fn run(a: &Config) -> Result<ExitCode> {
    let layout = Layout::parse(&a.format).map_err(|e| struct_error(&e, &a.format, &a.values))?;
    check_struct(&layout)?;
    let values = read_values(&layout, &a.values)?;
    let bytes = pack(&layout, &values).map_err(|e| struct_error(&e, &a.format, &a.values))?;
    let args: String = values.iter().map(|v| format!(", {v}")).collect();
    outln!("struct.pack({}{args})", py_str(&a.format));
    outln!(
        "hex     {}",
        if bytes.is_empty() {
            "(empty)".into()
        } else {
            hex::encode(&bytes)
        }
    );
    outln!("bytes   {}", bytes_repr(&bytes));
    for l in header(&layout) {
        line(&l);
    }
    line("");
    if !bytes.is_empty() {
        crate::render::out::raw(dump(&bytes, a.color).as_bytes());
        line("");
    }
    for l in field_table(&layout, &bytes, Some(&values)) {
        line(&l);
    }
    if a.orders {
        line("");
        for l in pack_orders(&layout, &values) {
            line(&l);
        }
    }
    Ok(ExitCode::SUCCESS)
}
