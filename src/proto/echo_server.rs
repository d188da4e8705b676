//! Echo servers: TCP (one thread per client, plain/upper/ok styles) and UDP
//! (`recvfrom`/`sendto` the same bytes back). Buffers are fixed per client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crate::duration::fmt_secs;
use crate::error::{describe_io, NetError, Stage};
use crate::proto::accept::{self, Style};
use crate::proto::calls::{self, Side};
use crate::proto::log::Log;
use crate::proto::workers::{heavy_note, Meter};
use crate::proto::{limits, net, stop};

/// The course's welcome line of the telnet ("OK...") server.
pub const WELCOME: &[u8] = b"Welcome to the server. Type something and hit enter\n";

/// What the reply looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// The same bytes.
    Plain,
    /// Upper-cased (ASCII).
    Upper,
    /// Welcome line first, then `OK...` + data.
    Ok,
}

impl Reply {
    /// The style's name as given to `--style`.
    pub fn name(self) -> &'static str {
        match self {
            Reply::Plain => "plain",
            Reply::Upper => "upper",
            Reply::Ok => "ok",
        }
    }

    fn make(self, data: &[u8], out: &mut Vec<u8>) {
        out.clear();
        match self {
            Reply::Plain => out.extend_from_slice(data),
            Reply::Upper => out.extend(data.iter().map(u8::to_ascii_uppercase)),
            Reply::Ok => {
                out.extend_from_slice(b"OK...");
                out.extend_from_slice(data);
            }
        }
    }
}

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind.
    pub bind: SocketAddr,
    /// Set SO_REUSEADDR.
    pub reuseaddr: bool,
    /// Reply style.
    pub reply: Reply,
    /// TCP: close a client silent this long (zero = never).
    pub idle: Duration,
    /// TCP: most clients at once.
    pub max_clients: usize,
    /// Event log.
    pub log: Log,
}

/// Run the TCP echo server until Ctrl-C.
pub fn serve_tcp(cfg: &Config) -> Result<(), NetError> {
    let listener = net::tcp_listen(cfg.bind, cfg.reuseaddr, 1024)?;
    let local = listener.local_addr().unwrap_or(cfg.bind);
    let (log, reply, idle) = (cfg.log, cfg.reply, cfg.idle);
    log.always(&format!(
        "echo server listening on {local} (TCP, {} replies, one thread per client, {})",
        reply.name(),
        net::reuse_note(cfg.reuseaddr)
    ));
    let n = accept::serve(
        &listener,
        Style::Threads(cfg.max_clients),
        log,
        move |s, p| handle(s, p, reply, idle, log),
    );
    log.always(&format!(
        "echo server stopped after {n} {n_connections}",
        n_connections = crate::plural::noun(n, "connection")
    ));
    Ok(())
}

fn handle(conn: Arc<TcpStream>, peer: SocketAddr, reply: Reply, idle: Duration, log: Log) {
    let mut s = &*conn;
    log.event(&format!("connection from {peer}"));
    let _ = net::set_timeouts_stream(s, idle);
    if reply == Reply::Ok {
        if let Err(e) = s.write_all(WELCOME) {
            log.problem(&format!("send to {peer} failed: {}", describe_io(&e)));
            return;
        }
        log.event(&format!(
            "sent {} to {peer} (welcome line)",
            crate::plural::count(WELCOME.len(), "byte")
        ));
    }
    let mut buf = [0u8; 4096];
    let mut out = Vec::with_capacity(4096 + 5);
    let mut meter = Meter::new();
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) => {
                calls::report(Side::Server, || {
                    format!("recv() -> 0 bytes from {peer} (end of stream)")
                });
                log.event(&format!("{peer} closed its side (recv returned 0)"));
                break;
            }
            Ok(n) => n,
            Err(e) if net::is_timeout(&e) => {
                log.problem(&format!(
                    "{peer} sent nothing for {}: closing",
                    fmt_secs(idle)
                ));
                break;
            }
            Err(e) => {
                log.problem(&format!("receive from {peer} failed: {}", describe_io(&e)));
                break;
            }
        };
        calls::report(Side::Server, || {
            format!(
                "recv() -> {n} {n_bytes} from {peer}",
                n_bytes = crate::plural::noun(n, "byte")
            )
        });
        log.event(&format!(
            "received {n} {n_bytes} from {peer}",
            n_bytes = crate::plural::noun(n, "byte")
        ));
        reply.make(&buf[..n], &mut out);
        calls::report(Side::Server, || {
            format!(
                "send({}) to {peer}",
                crate::plural::count(out.len(), "byte")
            )
        });
        if let Err(e) = s.write_all(&out) {
            log.problem(&format!("send to {peer} failed: {}", describe_io(&e)));
            break;
        }
        if meter.moved(n + out.len()) {
            log.problem(&heavy_note(peer));
        }
        log.event(&format!(
            "sent {} to {peer}",
            crate::plural::count(out.len(), "byte")
        ));
    }
    calls::report(Side::Server, || format!("close() {peer}"));
    drop(conn);
    log.event(&format!("closed connection with {peer}"));
}

/// Run the UDP echo server until Ctrl-C.
pub fn serve_udp(cfg: &Config) -> Result<(), NetError> {
    let (sock, shared) = net::udp_bind_shared(cfg.bind, cfg.reuseaddr)?;
    let local = sock.local_addr().unwrap_or(cfg.bind);
    sock.set_read_timeout(Some(stop::TICK))
        .map_err(|e| NetError::os(Stage::SetOption, "SO_RCVTIMEO", e))?;
    let log = cfg.log.counting("datagrams");
    log.always(&format!(
        "echo server listening on {local} (UDP, {} replies, {})",
        cfg.reply.name(),
        net::reuse_note(cfg.reuseaddr)
    ));
    if shared {
        log.problem(&net::udp_shared_note(local));
    }
    log.event(&limits::receive_buffer_note(limits::grow_receive_buffer(
        &sock,
    )));
    let mut buf = vec![0u8; 65536];
    let mut out = Vec::with_capacity(65536 + 5);
    let mut count = 0u64;
    while !stop::requested() {
        log.tick();
        let (n, peer) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if net::is_timeout(&e) || e.kind() == std::io::ErrorKind::Interrupted => {
                continue
            }
            Err(e) => {
                log.problem(&format!("recvfrom failed: {}", describe_io(&e)));
                continue;
            }
        };
        count += 1;
        calls::report(Side::Server, || {
            format!(
                "recvfrom() -> {n} {n_bytes} from {peer}",
                n_bytes = crate::plural::noun(n, "byte")
            )
        });
        log.event(&format!(
            "received {n} {n_bytes} from {peer}",
            n_bytes = crate::plural::noun(n, "byte")
        ));
        cfg.reply.make(&buf[..n], &mut out);
        calls::report(Side::Server, || {
            format!(
                "sendto({}, {peer})",
                crate::plural::count(out.len(), "byte")
            )
        });
        match sock.send_to(&out, peer) {
            Ok(k) => log.event(&format!(
                "sent {k} {k_bytes} to {peer}",
                k_bytes = crate::plural::noun(k, "byte")
            )),
            Err(e) => log.problem(&format!("sendto {peer} failed: {}", describe_io(&e))),
        }
    }
    log.always(&format!(
        "echo server stopped after {count} {count_datagrams}",
        count_datagrams = crate::plural::noun(count, "datagram")
    ));
    Ok(())
}
