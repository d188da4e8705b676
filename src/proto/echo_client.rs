//! Echo clients. TCP: send, then either read until NUL (`--nul`, the course
//! client) or `shutdown(SHUT_WR)` and read to the end (works with every
//! server style). UDP: one datagram each way. The reply goes to stdout, the
//! narration to stderr, so the reply can be piped.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use crate::error::{NetError, Stage};
use crate::proto::calls::{self, Side};
use crate::proto::net;
use crate::render::out;

/// Largest reply kept.
pub const MAX_REPLY: usize = 1 << 20;

/// How to talk to the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Message to send.
    pub message: Vec<u8>,
    /// UDP instead of TCP.
    pub udp: bool,
    /// Course client: NUL-terminated message, read until NUL.
    pub nul: bool,
    /// Connect and read timeout.
    pub timeout: Duration,
}

/// Send the message, print and return the reply.
pub fn send(to: &[SocketAddr], cfg: &Config) -> Result<Vec<u8>, NetError> {
    let mut msg = cfg.message.clone();
    if cfg.nul {
        msg.push(0);
    }
    let reply = if cfg.udp {
        udp(to, &msg, cfg)?
    } else {
        tcp(to, &msg, cfg)?
    };
    let text = reply.strip_suffix(b"\0").unwrap_or(&reply);
    out::raw(text);
    if !text.ends_with(b"\n") {
        out::raw(b"\n");
    }
    Ok(reply)
}

fn tcp(to: &[SocketAddr], msg: &[u8], cfg: &Config) -> Result<Vec<u8>, NetError> {
    let mut s = net::tcp_connect(to, cfg.timeout)?;
    let peer = s.peer_addr().unwrap_or(to[0]);
    out::note(&format!(
        "connected to {peer} from {}",
        s.local_addr().map(|a| a.to_string()).unwrap_or_default()
    ));
    calls::report(Side::Client, || {
        format!("send({})", crate::plural::count(msg.len(), "byte"))
    });
    s.write_all(msg)
        .map_err(|e| NetError::os(Stage::Send, peer, e))?;
    out::note(&format!("sent {}", crate::plural::count(msg.len(), "byte")));
    if !cfg.nul {
        calls::report(Side::Client, || "shutdown(SHUT_WR)".into());
        s.shutdown(Shutdown::Write)
            .map_err(|e| NetError::os(Stage::Shutdown, peer, e))?;
        out::note(
            "shutdown(SHUT_WR): told the server we are done sending; reading until it closes",
        );
    }
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match s.read(&mut buf) {
            Ok(n) => {
                calls::report(Side::Client, || {
                    format!(
                        "recv() -> {n} {n_bytes}",
                        n_bytes = crate::plural::noun(n, "byte")
                    )
                });
                n
            }
            Err(e) if net::is_timeout(&e) => {
                let what = if cfg.nul {
                    "a NUL-terminated reply"
                } else {
                    "the server to close the connection"
                };
                return Err(NetError::timeout(peer, what, cfg.timeout).with_hint(if cfg.nul {
                    "the server never sent a NUL: is it an echo server, and did it get our NUL?"
                } else {
                    "an echo server closes after our shutdown(SHUT_WR); this one kept the connection open (try --nul for the course protocol)"
                }));
            }
            Err(e) => return Err(NetError::os(Stage::Receive, peer, e)),
        };
        if n == 0 {
            out::note(&format!(
                "received {}; the server closed the connection",
                crate::plural::count(reply.len(), "byte")
            ));
            calls::report(Side::Client, || "close()".into());
            if cfg.nul && !reply.contains(&0) {
                return Err(NetError::msg(
                    Stage::Protocol,
                    peer,
                    format!(
                        "the server closed the connection before a NUL ({} came)",
                        crate::plural::count(reply.len(), "byte")
                    ),
                ));
            }
            return Ok(reply);
        }
        let data = &buf[..n];
        if cfg.nul {
            if let Some(p) = data.iter().position(|&b| b == 0) {
                reply.extend_from_slice(&data[..p]);
                out::note(&format!(
                    "received {} up to the NUL",
                    crate::plural::count(reply.len(), "byte")
                ));
                calls::report(Side::Client, || "close()".into());
                return Ok(reply);
            }
        }
        if reply.len() + n > MAX_REPLY {
            return Err(NetError::msg(
                Stage::Protocol,
                peer,
                format!("reply longer than {MAX_REPLY} bytes; stopped reading"),
            ));
        }
        reply.extend_from_slice(data);
    }
}

fn udp(to: &[SocketAddr], msg: &[u8], cfg: &Config) -> Result<Vec<u8>, NetError> {
    let s = net::udp_connect(to, cfg.timeout)?;
    let peer = s.peer_addr().unwrap_or(to[0]);
    calls::report(Side::Client, || {
        format!("send({})", crate::plural::count(msg.len(), "byte"))
    });
    s.send(msg)
        .map_err(|e| NetError::os(Stage::Send, peer, e))?;
    out::note(&format!("sent a {}-byte datagram to {peer}", msg.len()));
    let mut buf = vec![0u8; 65536];
    let n = match s.recv(&mut buf) {
        Ok(n) => n,
        Err(e) if net::is_timeout(&e) => return Err(NetError::timeout(
            peer,
            "the echoed datagram",
            cfg.timeout,
        )
        .with_hint(
            "UDP has no retransmission: the datagram or its echo was lost, or no server is running",
        )),
        Err(e) => return Err(NetError::os(Stage::Receive, peer, e)),
    };
    calls::report(Side::Client, || {
        format!(
            "recv() -> {n} {n_bytes}",
            n_bytes = crate::plural::noun(n, "byte")
        )
    });
    out::note(&format!("received a {n}-byte datagram"));
    buf.truncate(n);
    Ok(buf)
}
