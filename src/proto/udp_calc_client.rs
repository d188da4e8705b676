//! The UDP calculator client: one request shown byte by byte, or load mode
//! (many requests in flight per socket with `sendmmsg`/`recvmmsg`).

use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::error::{NetError, Stage};
use crate::proto::calls::{self, Side};
use crate::proto::mmsg::{self, Batch};
use crate::proto::stats::LoadStats;
use crate::proto::{net, stop};
use crate::render::hexdump::spaced;
use crate::wire::order::Order;
use crate::wire::udp_calc::{decode_reply, field, Request, REPLY_LEN};

fn field_line(name: &str, r: std::ops::Range<usize>, bytes: &[u8], value: &str) -> String {
    format!(
        "  {name:<3} @{:<2} {}  -> {value}",
        r.start,
        spaced(&bytes[r.clone()])
    )
}

/// What the request means, as printed before it is sent.
pub fn describe_request(req: &Request, order: Order) -> String {
    let bytes = req.encode(order);
    let opname = if req.op == 0 { "add" } else { "subtract" };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "request: struct.pack(\"{}\", {}, {}, {}), byte order: {}",
        order.struct_format(3),
        req.a,
        req.b,
        req.op,
        order.describe()
    );
    let _ = writeln!(s, "  12 bytes: {}", spaced(&bytes));
    let _ = writeln!(
        s,
        "{}",
        field_line("a", field::A, &bytes, &req.a.to_string())
    );
    let _ = writeln!(
        s,
        "{}",
        field_line("b", field::B, &bytes, &req.b.to_string())
    );
    let _ = write!(
        s,
        "{}",
        field_line("op", field::OP, &bytes, &format!("{} ({opname})", req.op))
    );
    s
}

/// What a server with the other byte order would reply (as read by us).
fn other_order_reply(req: &Request, order: Order) -> (Request, u32) {
    let other = order.opposite();
    let seen = Request::decode(&req.encode(order), other).unwrap_or(*req);
    let wire = other.put_u32(seen.compute().wire);
    (seen, order.get_u32(wire))
}

/// Send one request, print the bytes both ways, return the result.
pub fn ask(
    to: &[SocketAddr],
    req: Request,
    order: Order,
    timeout: Duration,
) -> Result<u32, NetError> {
    let sock = net::udp_connect(to, timeout)?;
    let peer = sock.peer_addr().unwrap_or(to[0]);
    crate::render::out::line(&describe_request(&req, order));
    let expect = req.compute();
    if expect.wrapped() {
        crate::render::out::line(&format!(
            "note: {} {} {} = {} is outside 0..4294967295: socklab's server wraps it to {}; the Python course server raises struct.error and dies, so no reply would come",
            req.a, req.symbol(), req.b, expect.exact, expect.wire
        ));
    }
    let bytes = req.encode(order);
    crate::render::out::line(&format!(
        "sending 12 bytes to {peer}, then waiting up to {} for the reply",
        crate::duration::fmt_secs(timeout)
    ));
    calls::report(Side::Client, || "send(12 bytes)".into());
    sock.send(&bytes)
        .map_err(|e| NetError::os(Stage::Send, peer, e))?;
    let mut buf = [0u8; 2048];
    let n = match sock.recv(&mut buf) {
        Ok(n) => n,
        Err(e) if net::is_timeout(&e) => {
            let hint = if expect.wrapped() {
                format!(
                    "this request's result ({}) does not fit in struct 'I': the Python course server dies on it (struct.error) and never replies",
                    expect.exact
                )
            } else {
                "UDP has no connection and no retransmission: the request or the reply was lost, the server is not running, or it died".to_string()
            };
            return Err(NetError::timeout(peer, "the 4-byte reply", timeout).with_hint(hint));
        }
        Err(e) => return Err(NetError::os(Stage::Receive, peer, e)),
    };
    calls::report(Side::Client, || {
        format!(
            "recv() -> {n} {n_bytes}",
            n_bytes = crate::plural::noun(n, "byte")
        )
    });
    let reply = &buf[..n];
    let res = decode_reply(reply, order).map_err(|e| {
        NetError::msg(
            Stage::Protocol,
            peer,
            format!("reply {e}: {}", spaced(&reply[..n.min(64)])),
        )
    })?;
    crate::render::out::line(&format!(
        "reply from {peer}:\n  4 bytes: {}\n  res @0  {}  -> {res}",
        spaced(reply),
        spaced(&reply[..REPLY_LEN])
    ));
    if res != expect.wire {
        let (seen, other) = other_order_reply(&req, order);
        if res == other {
            crate::render::out::line(&format!(
                "note: expected {} but the server answered {res}: it reads requests as {} and saw a={} b={} op={}",
                expect.wire,
                order.opposite().describe(),
                seen.a,
                seen.b,
                seen.op
            ));
        } else {
            crate::render::out::line(&format!(
                "note: expected {} for {} {} {}, the server answered {res}",
                expect.wire,
                req.a,
                req.symbol(),
                req.b
            ));
        }
    }
    crate::render::out::line(&format!("result: {res}"));
    calls::report(Side::Client, || "close()".into());
    drop(sock);
    Ok(res)
}

/// Load mode settings.
#[derive(Debug, Clone)]
pub struct Load {
    /// Total requests.
    pub count: u64,
    /// Client threads, one socket each.
    pub concurrency: usize,
    /// Requests in flight per socket.
    pub window: usize,
    /// Wait for a window's replies at most this long.
    pub timeout: Duration,
    /// Byte order.
    pub order: Order,
}

/// Run load mode and print the report; returns the stats.
pub fn load(to: &[SocketAddr], cfg: &Load) -> Result<LoadStats, NetError> {
    let k = cfg.concurrency.max(1);
    let window = cfg.window.clamp(1, 1024);
    crate::render::out::line(&format!(
        "udp-calc load: {} to {} from {k} {k_clients}, {window} in flight each, byte order: {}",
        crate::plural::count(cfg.count, "request"),
        to[0],
        cfg.order.describe(),
        k_clients = crate::plural::noun(k, "client")
    ));
    let socks = (0..k)
        .map(|_| net::udp_connect(to, cfg.timeout))
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    let handles: Vec<_> = socks
        .into_iter()
        .enumerate()
        .map(|(t, s)| {
            let share = cfg.count / k as u64 + u64::from((t as u64) < cfg.count % k as u64);
            let (order, timeout) = (cfg.order, cfg.timeout);
            std::thread::spawn(move || client_thread(s, t as u32, share, window, order, timeout))
        })
        .collect();
    let mut total = LoadStats::default();
    for h in handles {
        match h.join() {
            Ok(s) => total.merge(s),
            Err(_) => total.first_error = Some("a client thread failed".into()),
        }
    }
    for l in total.report(started.elapsed()) {
        crate::render::out::line(&l);
    }
    Ok(total)
}

/// One load client: a sliding window of `window` requests in flight. Request
/// number `c` carries `a = c mod 2^30` and `b = id`, so every reply names the
/// request it answers; loopback keeps order, so replies that skip requests
/// mark those as missing.
fn client_thread(
    sock: UdpSocket,
    id: u32,
    count: u64,
    window: usize,
    order: Order,
    timeout: Duration,
) -> LoadStats {
    const SPACE: u64 = 1 << 30;
    let mut st = LoadStats::default();
    let mut batch = Batch::new(window);
    let mut sender = mmsg::Sender::new(window);
    let mut reqs = vec![[0u8; 12]; window];
    let mut sent_at = vec![Instant::now(); window];
    let (mut c_sent, mut c_recv) = (0u64, 0u64);
    let _ = sock.set_read_timeout(net::nonzero(timeout));
    while c_recv < count && !stop::requested() {
        // Top the window up.
        let room = (window as u64 - (c_sent - c_recv)).min(count - c_sent) as usize;
        if room > 0 {
            let now = Instant::now();
            for (i, r) in reqs.iter_mut().take(room).enumerate() {
                let c = c_sent + i as u64;
                *r = Request {
                    a: (c % SPACE) as u32,
                    b: id,
                    op: 0,
                }
                .encode(order);
                sent_at[(c % window as u64) as usize] = now;
            }
            match sender.send(&sock, &mut reqs[..room]) {
                Ok(k) => {
                    st.sent += k as u64;
                    c_sent += k as u64;
                }
                Err(e) => {
                    st.first_error
                        .get_or_insert_with(|| format!("send: {}", crate::error::describe_io(&e)));
                    break;
                }
            }
        }
        let m = match batch.recv(&sock) {
            Ok(m) => m,
            Err(e) if net::is_timeout(&e) => {
                // Nothing came for a whole timeout: everything in flight is lost.
                st.missing += c_sent - c_recv;
                c_recv = c_sent;
                continue;
            }
            Err(e) => {
                st.first_error
                    .get_or_insert_with(|| format!("receive: {}", crate::error::describe_io(&e)));
                break;
            }
        };
        let at = Instant::now();
        for j in 0..m {
            let Ok(v) = decode_reply(batch.data(j), order) else {
                st.wrong += 1;
                continue;
            };
            let a = u64::from(v.wrapping_sub(id)) % SPACE;
            let ahead = (a + SPACE - c_recv % SPACE) % SPACE;
            if u64::from(v.wrapping_sub(id)) >= SPACE {
                st.wrong += 1;
                c_recv += 1;
            } else if c_recv + ahead < c_sent {
                let c = c_recv + ahead;
                st.missing += ahead;
                st.ok += 1;
                st.latency(at - sent_at[(c % window as u64) as usize]);
                c_recv = c + 1;
            } else if ahead > SPACE / 2 {
                st.late += 1;
            } else {
                st.wrong += 1;
                c_recv += 1;
            }
        }
    }
    st.missing += c_sent - c_recv;
    st
}
