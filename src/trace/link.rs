//! Which call caused a packet: by the socket's 4-tuple and the packet's
//! direction, then by time. A tracer stamps a call 10-100 µs late, so time
//! alone would put a peer's packet on the wrong side of a call.
//!
//! Rules: a SYN (and the handshake's SYN-ACK, last ACK, or the RST that
//! refuses it) belongs to `connect`; data the program sent belongs to the
//! send, write or sendto that sent it; a FIN or RST the program sent
//! belongs to `close` or `shutdown`. Pure: no I/O, no allocation.

use std::net::SocketAddr;

use crate::capture::Timestamp;
use crate::wire::packet::{tcp_flags, Decoded, Transport};

use super::addr::Addr;
use super::event::{CallEvent, Dir};
use super::sockets::SocketInfo;

/// How far outside a call's [start, end] a packet it caused may be
/// stamped (clock reads around the stops are late, not early).
pub const SLACK_NS: i128 = 2_000_000;

/// The facts of a packet that linking needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Kernel timestamp.
    pub ts: Timestamp,
    /// TCP (else UDP).
    pub tcp: bool,
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// TCP flags (0 for UDP).
    pub flags: u8,
    /// Payload bytes (per the IP header).
    pub len: usize,
}

impl Facts {
    /// The facts of a TCP or UDP packet; `None` for anything else.
    pub fn of(ts: Timestamp, d: &Decoded<'_>) -> Option<Facts> {
        let (sip, dip) = d.ips()?;
        let (tcp, sp, dp, flags, len) = match d.transport {
            Transport::Tcp(t) => (true, t.src_port, t.dst_port, t.flags, t.payload_len),
            Transport::Udp(u) => (
                false,
                u.src_port,
                u.dst_port,
                0,
                usize::from(u.length).saturating_sub(8),
            ),
            _ => return None,
        };
        Some(Facts {
            ts,
            tcp,
            src: SocketAddr::new(sip, sp),
            dst: SocketAddr::new(dip, dp),
            flags,
            len,
        })
    }

    fn has(&self, f: u8) -> bool {
        self.tcp && self.flags & f == f
    }
}

/// True if a socket bound to `ours` owns packets addressed to/from `a`
/// (a wildcard address matches any address; IPv4-mapped IPv6 counts as IPv4).
pub fn same_endpoint(ours: SocketAddr, a: SocketAddr) -> bool {
    ours.port() == a.port()
        && (ours.ip().is_unspecified() || ours.ip().to_canonical() == a.ip().to_canonical())
}

/// Which way `p` goes for socket `s` (None: not this socket's packet).
pub fn direction(s: &SocketInfo, p: &Facts) -> Option<Dir> {
    if (s.is_tcp()) != p.tcp || s.proto() == "SOCKET" {
        return None;
    }
    let local = s
        .local
        .as_ref()
        .and_then(Addr::inet)
        .filter(|a| a.port() != 0)?;
    let peer = s.peer.as_ref().and_then(Addr::inet);
    let peer_ok = |a: SocketAddr| {
        peer.is_none_or(|pe| {
            pe.ip().to_canonical() == a.ip().to_canonical() && pe.port() == a.port()
        })
    };
    if same_endpoint(local, p.src) && peer_ok(p.dst) {
        Some(Dir::Out)
    } else if same_endpoint(local, p.dst) && peer_ok(p.src) {
        Some(Dir::In)
    } else {
        None
    }
}

fn target_dir(c: &CallEvent, p: &Facts) -> Option<Dir> {
    let t = c.target.as_ref().and_then(Addr::inet)?;
    let same =
        |a: SocketAddr| a.port() == t.port() && a.ip().to_canonical() == t.ip().to_canonical();
    if same(p.dst) {
        Some(Dir::Out)
    } else if same(p.src) {
        Some(Dir::In)
    } else {
        None
    }
}

/// How far (ns) `p` lies outside call `c`'s interval (0 inside).
pub fn distance(c: &CallEvent, p: &Facts) -> i128 {
    let t = p.ts.as_nanos();
    let (a, b) = (c.start.as_nanos(), c.end.as_nanos());
    if t < a {
        a - t
    } else if t > b {
        t - b
    } else {
        0
    }
}

/// True for the calls that can cause packets (the only ones [`caused`] links).
pub fn may_cause(c: &CallEvent) -> bool {
    matches!(
        c.call,
        "connect"
            | "send"
            | "sendto"
            | "sendmsg"
            | "sendmmsg"
            | "write"
            | "writev"
            | "close"
            | "shutdown"
    )
}

/// True if call `c` caused (or, for connect, is answered by) packet `p`.
pub fn caused(c: &CallEvent, p: &Facts) -> bool {
    if distance(c, p) > SLACK_NS {
        return false;
    }
    let dir = c.socket.as_ref().and_then(|s| direction(s, p)).or_else(|| {
        if c.call == "connect" {
            target_dir(c, p)
        } else {
            None
        }
    });
    let Some(dir) = dir else {
        return false;
    };
    let syn = p.has(tcp_flags::SYN);
    let fin_or_rst = p.has(tcp_flags::FIN) || p.has(tcp_flags::RST);
    match c.call {
        "connect" if p.tcp => match dir {
            // SYN, then the handshake's last ACK.
            Dir::Out => syn || (p.len == 0 && !fin_or_rst),
            // SYN-ACK, or the RST of a refused connect.
            Dir::In => syn || p.has(tcp_flags::RST),
        },
        "send" | "sendto" | "sendmsg" | "sendmmsg" | "write" | "writev" => {
            dir == Dir::Out && p.len > 0 && !syn
        }
        "close" | "shutdown" => dir == Dir::Out && fin_or_rst,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sock(local: &str, peer: Option<&str>) -> SocketInfo {
        SocketInfo {
            serial: 1,
            family: libc::AF_INET,
            kind: libc::SOCK_STREAM,
            local: Some(Addr::Inet(local.parse().unwrap())),
            peer: peer.map(|p| Addr::Inet(p.parse().unwrap())),
            nonblocking: false,
            name_service: false,
        }
    }

    fn call(name: &'static str, s: Option<SocketInfo>, start: i64, end: i64) -> CallEvent {
        let at = |ns: i64| Timestamp::new(100, ns as u32);
        CallEvent {
            fd: Some(3),
            socket: s,
            ..CallEvent::new(1, (1, 1), name, (at(start), at(end)), 0)
        }
    }

    fn pkt(src: &str, dst: &str, flags: u8, len: usize, at: u32) -> Facts {
        Facts {
            ts: Timestamp::new(100, at),
            tcp: true,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            flags,
            len,
        }
    }

    const C: &str = "127.0.0.1:41234";
    const S: &str = "127.0.0.1:10009";

    #[test]
    fn handshake_to_connect_data_to_send_fin_to_close() {
        let s = sock(C, Some(S));
        let conn = call("connect", Some(s.clone()), 1000, 90_000);
        let send = call("send", Some(s.clone()), 200_000, 230_000);
        let close = call("close", Some(s), 500_000, 520_000);
        let syn = pkt(C, S, tcp_flags::SYN, 0, 50_000);
        let synack = pkt(S, C, tcp_flags::SYN | tcp_flags::ACK, 0, 60_000);
        let data = pkt(C, S, tcp_flags::ACK | tcp_flags::PSH, 5, 210_000);
        let echo = pkt(S, C, tcp_flags::ACK | tcp_flags::PSH, 5, 240_000);
        let fin = pkt(C, S, tcp_flags::FIN | tcp_flags::ACK, 0, 510_000);
        assert!(caused(&conn, &syn) && caused(&conn, &synack));
        assert!(!caused(&send, &syn) && !caused(&close, &syn));
        assert!(caused(&send, &data) && !caused(&conn, &data));
        // The peer's data is not caused by our send, however close in time.
        assert!(!caused(&send, &echo));
        assert!(caused(&close, &fin) && !caused(&send, &fin));
    }

    #[test]
    fn refused_connect_gets_its_rst_by_target() {
        let mut c = call("connect", Some(sock("0.0.0.0:0", None)), 1000, 90_000);
        c.target = Some(Addr::Inet(S.parse().unwrap()));
        let syn = pkt(C, S, tcp_flags::SYN, 0, 40_000);
        let rst = pkt(S, C, tcp_flags::RST | tcp_flags::ACK, 0, 50_000);
        assert!(caused(&c, &syn) && caused(&c, &rst));
        let other = pkt(C, "127.0.0.1:9", tcp_flags::SYN, 0, 40_000);
        assert!(!caused(&c, &other));
    }

    #[test]
    fn far_in_time_is_not_caused() {
        let s = sock(C, Some(S));
        let send = call("send", Some(s), 200_000, 230_000);
        let late = pkt(
            C,
            S,
            tcp_flags::ACK | tcp_flags::PSH,
            5,
            230_000 + 3_000_000,
        );
        assert!(!caused(&send, &late));
    }

    #[test]
    fn wildcard_and_mapped_endpoints() {
        assert!(same_endpoint(
            "0.0.0.0:80".parse().unwrap(),
            "127.0.0.1:80".parse().unwrap()
        ));
        assert!(same_endpoint(
            "[::ffff:127.0.0.1]:80".parse().unwrap(),
            "127.0.0.1:80".parse().unwrap()
        ));
        assert!(!same_endpoint(
            "127.0.0.2:80".parse().unwrap(),
            "127.0.0.1:80".parse().unwrap()
        ));
    }
}
