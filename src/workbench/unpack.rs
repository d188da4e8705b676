//! `socklab unpack FORMAT HEX...|-`: CPython's `struct.unpack`, then the
//! values, a hex dump and one annotated row per field.

use std::process::ExitCode;

use anyhow::Result;

use crate::outln;
use crate::render::out::line;
use crate::wire::pystruct::unpack::unpack;
use crate::wire::pystruct::value::tuple_repr;
use crate::wire::pystruct::Layout;

use super::annotate::{dump, field_table, header, py_str, struct_error, unpack_orders};
use super::input::read_bytes_args;
use super::limits::check_struct;

/// What `socklab unpack` was asked to do, validated by `cli`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Python struct format, e.g. `!III`.
    pub format: String,
    /// The bytes as typed: hex, a Python bytes literal, or `-` for stdin.
    pub bytes: Vec<String>,
    /// Also read the bytes in native, little and big order.
    pub orders: bool,
    /// Colour the hex dump.
    pub color: bool,
}

/// Run `socklab unpack`.
pub fn run(a: &Config) -> Result<ExitCode> {
    let layout = Layout::parse(&a.format).map_err(|e| struct_error(&e, &a.format, &[]))?;
    check_struct(&layout)?;
    let bytes = read_bytes_args(&a.bytes)?;
    let call = format!(
        "struct.unpack({}, bytes.fromhex('{}'))",
        py_str(&a.format),
        hex::encode(&bytes)
    );
    let values = unpack(&layout, &bytes).map_err(|e| struct_error(&e, &a.format, &[]))?;
    outln!("{call}");
    outln!("values  {}", tuple_repr(&values));
    for l in header(&layout) {
        line(&l);
    }
    line("");
    if !bytes.is_empty() {
        crate::render::out::raw(dump(&bytes, a.color).as_bytes());
        line("");
    }
    for l in field_table(&layout, &bytes, None) {
        line(&l);
    }
    if a.orders {
        line("");
        for l in unpack_orders(&layout, &bytes) {
            line(&l);
        }
    }
    Ok(ExitCode::SUCCESS)
}
