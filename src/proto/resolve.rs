//! `socklab resolve`: this machine's name, every `getaddrinfo` row for a
//! name, and the reverse lookup (`gethostbyaddr`) of its address.

use std::net::IpAddr;

use crate::error::{NetError, Stage};
use crate::proto::sysdb::{self, AddrInfo};
use crate::proto::sysstat::hostname;
use crate::render::out;

fn family(f: i32) -> String {
    match f {
        libc::AF_INET => "AF_INET".into(),
        libc::AF_INET6 => "AF_INET6".into(),
        n => format!("family {n}"),
    }
}

fn socktype(t: i32) -> String {
    match t {
        libc::SOCK_STREAM => "SOCK_STREAM".into(),
        libc::SOCK_DGRAM => "SOCK_DGRAM".into(),
        libc::SOCK_RAW => "SOCK_RAW".into(),
        n => format!("type {n}"),
    }
}

fn protocol(p: i32) -> String {
    match p {
        libc::IPPROTO_TCP => "tcp (6)".into(),
        libc::IPPROTO_UDP => "udp (17)".into(),
        0 => "ip (0)".into(),
        n => format!("{n}"),
    }
}

/// One row as printed.
pub fn row(r: &AddrInfo) -> String {
    format!(
        "  {:<9} {:<12} {:<9} {}",
        family(r.family),
        socktype(r.socktype),
        protocol(r.protocol),
        r.addr
    )
}

/// Print everything; error only when the forward lookup fails.
pub fn resolve(name: &str, service: Option<&str>) -> Result<(), NetError> {
    let me = hostname();
    let mine = sysdb::getaddrinfo(&me, None)
        .map(|rows| {
            let mut v: Vec<String> = rows.iter().map(|r| r.addr.ip().to_string()).collect();
            v.dedup();
            v.join(", ")
        })
        .unwrap_or_else(|e| format!("(no address: {})", e.text));
    out::line(&format!("this machine: {me} ({mine})"));
    let svc = service
        .map(|s| format!("\"{s}\""))
        .unwrap_or_else(|| "None".into());
    let rows = sysdb::getaddrinfo(name, service).map_err(|e| {
        let stage = if e.code == libc::EAI_SERVICE {
            Stage::ResolveService
        } else {
            Stage::ResolveName
        };
        let target = if stage == Stage::ResolveService {
            service.unwrap_or_default()
        } else {
            name
        };
        NetError::msg(stage, target, e.text).with_hint(if stage == Stage::ResolveService {
            "use a port number or a service listed in /etc/services"
        } else {
            "unknown host: check the spelling, /etc/hosts or DNS (Python raises socket.gaierror here)"
        })
    })?;
    out::line(&format!(
        "getaddrinfo(\"{name}\", {svc}): {}",
        crate::plural::count(rows.len(), "row")
    ));
    out::line(&format!(
        "  {:<9} {:<12} {:<9} {}",
        "family", "type", "protocol", "address"
    ));
    for r in &rows {
        out::line(&row(r));
    }
    if let Some(c) = rows.iter().find_map(|r| r.canonname.as_deref()) {
        out::line(&format!("canonical name: {c}"));
    }
    let ip: IpAddr = name.parse().unwrap_or_else(|_| rows[0].addr.ip());
    match sysdb::host_by_addr(ip) {
        Some(h) => {
            out::line(&format!("gethostbyaddr(\"{ip}\"):"));
            out::line(&format!("  name:      {}", h.name));
            let aliases = if h.aliases.is_empty() {
                "(none)".to_string()
            } else {
                h.aliases.join(", ")
            };
            out::line(&format!("  aliases:   {aliases}"));
            let addrs: Vec<String> = h.addrs.iter().map(ToString::to_string).collect();
            out::line(&format!("  addresses: {}", addrs.join(", ")));
        }
        None => out::line(&format!(
            "gethostbyaddr(\"{ip}\"): no name for this address (Python raises socket.herror: Unknown host)"
        )),
    }
    Ok(())
}
