//! The HTTP GET lesson: connect, send `GET PATH HTTP/1.0\r\n\r\n`,
//! `shutdown(SHUT_WR)`, read until the server closes, print. Each stage
//! fails with its own error. The body goes to stdout, narration to stderr.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use crate::error::{NetError, Stage};
use crate::proto::calls::{self, Side};
use crate::proto::net::{self, Endpoint};
use crate::proto::sysdb;
use crate::render::out;
use crate::wire::http::get_request;

/// A port number, or a service name looked up like `getservbyname(name, "tcp")`.
pub fn port_of(service: &str) -> Result<u16, NetError> {
    if let Ok(p) = service.parse::<u16>() {
        return Ok(p);
    }
    if service.chars().all(|c| c.is_ascii_digit()) {
        return Err(NetError::msg(
            Stage::ResolveService,
            service,
            "not a port number (0..65535)",
        ));
    }
    sysdb::service_port(service, "tcp").ok_or_else(|| {
        let names = sysdb::service_names("tcp");
        NetError::msg(
            Stage::ResolveService,
            service,
            format!(
                "unknown service{}: getservbyname found no such TCP service in /etc/services",
                crate::suggest::did_you_mean(service, names.iter().map(String::as_str))
            ),
        )
        .with_hint("give a port number, or a service name from /etc/services such as http (80) or https (443)")
    })
}

/// Fetch `path` from `host`:`service`; returns the bytes received.
pub fn get(host: &str, service: &str, path: &str, timeout: Duration) -> anyhow::Result<u64> {
    let request = get_request(path)?;
    let port = port_of(service)?;
    if !service.chars().all(|c| c.is_ascii_digit()) {
        out::note(&format!("service {service} is port {port} (getservbyname)"));
    }
    let addrs = net::resolve(&Endpoint {
        host: host.to_string(),
        port,
    })?;
    let mut s = net::tcp_connect(&addrs, timeout)?;
    let peer = s.peer_addr().unwrap_or(addrs[0]);
    out::note(&format!("connected to {peer}"));
    calls::report(Side::Client, || {
        format!("send({})", crate::plural::count(request.len(), "byte"))
    });
    s.write_all(request.as_bytes())
        .map_err(|e| NetError::os(Stage::Send, peer, e))?;
    out::note(&format!(
        "sent {}: GET {path} HTTP/1.0",
        crate::plural::count(request.len(), "byte")
    ));
    calls::report(Side::Client, || "shutdown(SHUT_WR)".into());
    s.shutdown(Shutdown::Write)
        .map_err(|e| NetError::os(Stage::Shutdown, peer, e))?;
    out::note(
        "shutdown(SHUT_WR): FIN sent, the request is complete; reading until the server closes",
    );
    let mut buf = [0u8; 16384];
    let mut total = 0u64;
    loop {
        let n = match s.read(&mut buf) {
            Ok(n) => n,
            Err(e) if net::is_timeout(&e) => return Err(NetError::timeout(
                peer,
                "the server to send or close",
                timeout,
            )
            .with_hint("the server accepted the request but neither answered nor closed in time")
            .into()),
            Err(e) => return Err(NetError::os(Stage::Receive, peer, e).into()),
        };
        if n == 0 {
            break;
        }
        calls::report(Side::Client, || {
            format!(
                "recv() -> {n} {n_bytes}",
                n_bytes = crate::plural::noun(n, "byte")
            )
        });
        total += n as u64;
        out::raw(&buf[..n]);
    }
    out::note(&format!(
        "received {total} {total_bytes}; the server closed the connection",
        total_bytes = crate::plural::noun(total, "byte")
    ));
    calls::report(Side::Client, || "close()".into());
    drop(s);
    Ok(total)
}
