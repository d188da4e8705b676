//! `socklab order VALUE [--16|--32|--64]`: htons/htonl/ntohs/ntohl (and
//! the 64-bit htobe64/be64toh) on one value, with its bytes in this
//! machine's memory and on the wire.

use std::process::ExitCode;

use anyhow::Result;

use crate::outln;
use crate::render::hexdump::spaced;
use crate::wire::pystruct::format::Endian;
use crate::wire::pystruct::value::bytes_repr;

use super::input::{caret, parse_number};

/// The C and Python names for one width.
struct Names {
    hton: &'static str,
    ntoh: &'static str,
    code: char,
    python: Option<&'static str>,
}

fn names(bits: u32) -> Names {
    match bits {
        16 => Names {
            hton: "htons",
            ntoh: "ntohs",
            code: 'H',
            python: Some("socket.htons"),
        },
        32 => Names {
            hton: "htonl",
            ntoh: "ntohl",
            code: 'I',
            python: Some("socket.htonl"),
        },
        _ => Names {
            hton: "htobe64",
            ntoh: "be64toh",
            code: 'Q',
            python: None,
        },
    }
}

/// What `socklab order` was asked to do, validated by `cli`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The value as typed (for the caret of an error).
    pub text: String,
    /// The value, parsed.
    pub value: i128,
    /// The width asked for, in bits (16, 32 or 64), if any.
    pub bits: Option<u32>,
}

impl Config {
    /// Parse VALUE as `socklab order` reads it: decimal, 0x, 0o, 0b, negative.
    pub fn new(text: &str, bits: Option<u32>) -> Result<Config> {
        let value = parse_number(text, "value")?;
        Ok(Config {
            text: text.to_string(),
            value,
            bits,
        })
    }
}

/// Run `socklab order`.
pub fn run(a: &Config) -> Result<ExitCode> {
    let v = a.value;
    let bits = a
        .bits
        .unwrap_or(if (-(1i128 << 31)..1i128 << 32).contains(&v) {
            32
        } else {
            64
        });
    let (lo, hi) = (-(1i128 << (bits - 1)), (1i128 << bits) - 1);
    if !(lo..=hi).contains(&v) {
        anyhow::bail!(
            "{v} does not fit in {bits} bits: use 0..{hi} (or {lo}..-1, stored as two's complement){}\n{}",
            if bits < 64 { ", or a wider --16/--32/--64" } else { "" },
            caret(&a.text, 0)
        );
    }
    let n = (bits / 8) as usize;
    let u = (v as u128) & (u128::MAX >> (128 - bits));
    let network: Vec<u8> = u.to_be_bytes()[16 - n..].to_vec();
    let memory: Vec<u8> = match Endian::NATIVE {
        Endian::Big => network.clone(),
        Endian::Little => network.iter().rev().copied().collect(),
    };
    // htonl(x): the integer whose bytes in this machine's memory are x's
    // network-order bytes.
    let converted = match Endian::NATIVE {
        Endian::Little => network
            .iter()
            .rev()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b)),
        Endian::Big => u,
    };
    let w = n * 2;
    let nm = names(bits);
    let twos = if v < 0 {
        format!(", two's complement of {v}")
    } else {
        String::new()
    };
    outln!("value          {u} = 0x{u:0w$x} ({bits} bits{twos})");
    let (order, first) = match Endian::NATIVE {
        Endian::Little => ("little-endian", "least significant byte first"),
        Endian::Big => ("big-endian", "most significant byte first"),
    };
    outln!(
        "this machine   {order} ({}): {first}",
        std::env::consts::ARCH
    );
    outln!(
        "in memory      {}   (the {bits}-bit integer {u} as this machine stores it)",
        spaced(&memory)
    );
    outln!(
        "network order  {}   (big-endian: most significant byte first)",
        spaced(&network)
    );
    let same = match Endian::NATIVE {
        Endian::Big => "network order is this machine's order: nothing changes".to_string(),
        Endian::Little if converted == u => format!(
            "the bytes reversed; this value reads the same both ways, but {} and {} still swap",
            nm.hton, nm.ntoh
        ),
        Endian::Little => format!(
            "the bytes reversed: on a little-endian machine {} and {} both swap",
            nm.hton, nm.ntoh
        ),
    };
    outln!(
        "{:<14} {converted} = 0x{converted:0w$x}   ({same})",
        format!("{}({u})", nm.hton)
    );
    outln!(
        "{:<14} {converted} = 0x{converted:0w$x}",
        format!("{}({u})", nm.ntoh)
    );
    let packed = bytes_repr(&network);
    match nm.python {
        Some(f) => outln!(
            "python         {f}({u}) == {converted}; struct.pack('!{}', {u}) == {packed}",
            nm.code
        ),
        None => outln!(
            "python         struct.pack('!{}', {u}) == {packed}",
            nm.code
        ),
    }
    Ok(ExitCode::SUCCESS)
}
