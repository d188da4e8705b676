//! `socklab addr ADDRESS`: version, kind, packed bytes, integer value and
//! the `inet_aton`/`inet_ntoa`, `inet_pton`/`inet_ntop` forms.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;

use anyhow::Result;

use crate::outln;
use crate::wire::pystruct::value::bytes_repr;

use super::inet::{inet_aton, inet_ntop6, inet_pton4, inet_pton6, kind4, kind6, Rejected};
use super::input::caret;

fn rejected_lines(text: &str, r: &Rejected) -> String {
    format!("rejected: {}\n{}", r.why, indent(&caret(text, r.pos), 9))
}

fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn common(text: &str, version: &str, kind: (&str, &str), packed: &[u8], int: u128) {
    outln!("address    {text}");
    outln!("version    {version}");
    outln!("kind       {}: {}", kind.0, kind.1);
    outln!(
        "packed     {} ({} bytes, network order: what inet_pton and inet_aton store)",
        hex::encode(packed),
        packed.len()
    );
    outln!("bytes      {}", bytes_repr(packed));
    let code = if packed.len() == 4 {
        "'!I', packed)[0]"
    } else {
        "'!QQ', packed): high, low"
    };
    outln!(
        "integer    {int} = 0x{:0w$x} (struct.unpack({code})",
        int,
        w = packed.len() * 2
    );
}

fn show_v4(text: &str, a: Ipv4Addr, parts: usize, ignored: Option<&str>) {
    common(
        text,
        "IPv4",
        kind4(&a),
        &a.octets(),
        u128::from(u32::from(a)),
    );
    let how = match parts {
        1 => "1 part: a 32-bit number".to_string(),
        2 => "2 parts: a.b, b fills the last 3 bytes".to_string(),
        3 => "3 parts: a.b.c, c fills the last 2 bytes".to_string(),
        _ => "4 parts".to_string(),
    };
    let ign = ignored.map_or(String::new(), |t| {
        format!(", ignoring {t:?} after the space")
    });
    outln!("inet_aton  accepted ({how}{ign}) -> inet_ntoa: {a}");
    match inet_pton4(text) {
        Ok(p) => outln!("inet_pton  accepted (AF_INET) -> inet_ntop: {p}"),
        Err(r) => outln!("inet_pton  {}", rejected_lines(text, &r)),
    }
}

fn show_v6(text: &str, a: Ipv6Addr) {
    common(text, "IPv6", kind6(&a), &a.octets(), u128::from(a));
    let full: Vec<String> = a.segments().iter().map(|s| format!("{s:04x}")).collect();
    outln!("expanded   {}", full.join(":"));
    if let Some(v4) = a.to_ipv4_mapped() {
        let (k, _) = kind4(&v4);
        outln!("embedded   IPv4 {v4} ({k})");
    }
    outln!("inet_aton  rejected: IPv4 only");
    outln!(
        "inet_pton  accepted (AF_INET6) -> inet_ntop: {}",
        inet_ntop6(&a)
    );
}

/// What `socklab addr` was asked about.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address as typed.
    pub address: String,
}

/// Run `socklab addr`.
pub fn run(a: &Config) -> Result<ExitCode> {
    let text = a.address.as_str();
    let hint = if text
        .chars()
        .any(|c| c.is_ascii_alphabetic() && !c.is_ascii_hexdigit())
    {
        "\n  hint: this looks like a host name; `socklab resolve NAME` looks names up"
    } else {
        ""
    };
    if text.contains(':') {
        let v6 = inet_pton6(text).map_err(|r| {
            let zone = if text.contains('%') {
                "\n  hint: a %zone suffix (scope id, as in fe80::1%eth0) is for getaddrinfo, \
                 not inet_pton: give the address without it"
            } else {
                ""
            };
            anyhow::anyhow!(
                "not an IPv6 address (inet_pton rejects it): {}\n{}{zone}",
                r.why,
                caret(text, r.pos)
            )
        })?;
        show_v6(text, v6);
    } else {
        let aton = inet_aton(text).map_err(|r| {
            anyhow::anyhow!(
                "not an IPv4 address (inet_aton rejects it): {}\n{}{hint}",
                r.why,
                caret(text, r.pos)
            )
        })?;
        show_v4(text, aton.addr, aton.parts, aton.ignored.as_deref());
    }
    Ok(ExitCode::SUCCESS)
}
