//! The UDP calculator server: one socket, batches of datagrams per system
//! call, a reply for every valid 12-byte request, a logged hex dump for
//! anything else. Results outside 0..2^32-1 wrap modulo 2^32 (said in the log).

use std::net::SocketAddr;

use crate::error::NetError;
use crate::proto::calls::{self, Side};
use crate::proto::log::Log;
use crate::proto::mmsg::{Batch, SLOT};
use crate::proto::{limits, net, stop};
use crate::render::hexdump::spaced;
use crate::wire::order::Order;
use crate::wire::udp_calc::{encode_reply, Request, REQUEST_LEN};

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind.
    pub bind: SocketAddr,
    /// Set SO_REUSEADDR.
    pub reuseaddr: bool,
    /// Byte order of requests and replies.
    pub order: Order,
    /// Event log.
    pub log: Log,
}

/// Datagrams received per `recvmmsg`.
const BATCH: usize = 64;

/// Bind, then serve until Ctrl-C; returns (requests answered, bad datagrams).
pub fn serve(cfg: &Config) -> Result<(u64, u64), NetError> {
    let (sock, shared) = net::udp_bind_shared(cfg.bind, cfg.reuseaddr)?;
    if shared {
        let at = sock.local_addr().unwrap_or(cfg.bind);
        cfg.log.problem(&net::udp_shared_note(at));
    }
    serve_on(sock, cfg)
}

/// Serve on an already bound socket until Ctrl-C.
pub fn serve_on(sock: std::net::UdpSocket, cfg: &Config) -> Result<(u64, u64), NetError> {
    let local = sock.local_addr().unwrap_or(cfg.bind);
    sock.set_read_timeout(Some(stop::TICK))
        .map_err(|e| NetError::os(crate::error::Stage::SetOption, "SO_RCVTIMEO", e))?;
    let log = cfg.log.counting("datagrams");
    log.always(&format!(
        "udp-calc server listening on {local} (UDP, {}); requests are struct.pack(\"{}\", a, b, op), byte order: {}",
        net::reuse_note(cfg.reuseaddr),
        cfg.order.struct_format(3),
        cfg.order.describe()
    ));
    log.event(&limits::receive_buffer_note(limits::grow_receive_buffer(
        &sock,
    )));
    log.always("results outside 0..4294967295 wrap modulo 2^32, like C unsigned arithmetic (Python's struct.pack would raise struct.error)");

    let mut batch = Batch::new(BATCH);
    let mut replies: Vec<(usize, [u8; 4])> = Vec::with_capacity(BATCH);
    let mut lines = String::new();
    let (mut answered, mut bad) = (0u64, 0u64);
    while !stop::requested() {
        log.tick();
        let n = match batch.recv(&sock) {
            Ok(n) => n,
            Err(e) if net::is_timeout(&e) || e.kind() == std::io::ErrorKind::Interrupted => {
                continue
            }
            Err(e) => {
                log.problem(&format!(
                    "recvmmsg failed: {}",
                    crate::error::describe_io(&e)
                ));
                continue;
            }
        };
        replies.clear();
        lines.clear();
        for i in 0..n {
            let len = batch.len(i);
            calls::report(Side::Server, || {
                let from = batch.from(i).map(|a| a.to_string()).unwrap_or_default();
                format!(
                    "recvfrom() -> {len} {len_bytes} from {from}",
                    len_bytes = crate::plural::noun(len, "byte")
                )
            });
            let req = match (len <= SLOT).then(|| Request::decode(batch.data(i), cfg.order)) {
                Some(Ok(r)) => r,
                _ => {
                    bad += 1;
                    let what = format!(
                        "datagram of {len} {len_bytes}, expected exactly {REQUEST_LEN} (struct.pack(\"III\", a, b, op)); no reply sent", len_bytes = crate::plural::noun(len, "byte"));
                    match batch.from(i) {
                        Some(a) => log.bad_input(a, &what, batch.data(i)),
                        None => log.problem(&what),
                    }
                    continue;
                }
            };
            let out = req.compute();
            let reply = encode_reply(out.wire, cfg.order);
            if !log.quiet() {
                use std::fmt::Write;
                let peer = batch
                    .from(i)
                    .map_or_else(|| "(unknown)".to_string(), |a| a.to_string());
                let _ = writeln!(
                    lines,
                    "received 12 bytes from {peer}: a={} b={} op={} -> {} {} {} = {}",
                    req.a,
                    req.b,
                    req.op,
                    req.a,
                    req.symbol(),
                    req.b,
                    out.exact
                );
                if out.wrapped() {
                    let _ = writeln!(
                        lines,
                        "note: {} does not fit in 'I' (0..4294967295): replying {} (wrapped modulo 2^32; Python's struct.pack would raise struct.error and the course server would die)",
                        out.exact, out.wire
                    );
                }
                let _ = writeln!(
                    lines,
                    "sent 4 bytes to {peer}: {} ({})",
                    spaced(&reply),
                    out.wire
                );
            }
            replies.push((i, reply));
        }
        if !replies.is_empty() {
            if calls::active() {
                for (slot, r) in &replies {
                    let to = batch.from(*slot).map(|a| a.to_string()).unwrap_or_default();
                    calls::report(Side::Server, || {
                        format!("sendto({}, {to})", crate::plural::count(r.len(), "byte"))
                    });
                }
            }
            match batch.send_back(&sock, &mut replies) {
                Ok(k) => answered += k as u64,
                Err(e) => log.problem(&format!(
                    "sendmmsg failed: {}",
                    crate::error::describe_io(&e)
                )),
            }
        }
        if !lines.is_empty() {
            log.event(lines.trim_end());
        }
    }
    log.always(&format!(
        "udp-calc server stopped: {answered} {answered_requests} answered, {bad} bad datagrams",
        answered_requests = crate::plural::noun(answered, "request")
    ));
    Ok((answered, bad))
}
