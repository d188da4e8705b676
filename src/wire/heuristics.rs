//! Recognising course protocols by how a conversation goes, on any port
//! (`--no-heuristics` turns it off):
//! - udp-calc: a 12-byte datagram answered by a 4-byte one from the other
//!   end that carries `a + b` or `a - b` (modulo 2^32) of the request read
//!   in some byte order (op 0 or 1);
//! - tcp-calc: NUL-terminated decimal numbers answered by `N\0\0`;
//! - monitor: a 67-byte `Hostname:` record;
//! - echo: a reply that repeats the bytes sent (3 bytes or more);
//! - http: a request line (`GET / HTTP/1.0`) answered by a status line.
//!
//! Each recognition names the server's port, the protocol and why, and is
//! made once per server port. Only the first few data packets of a
//! conversation are looked at, and at most [`MAX_CONVERSATIONS`] are
//! remembered at a time (the oldest forgotten first): memory stays bounded
//! on any capture. Pure: no I/O, never panics.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use super::decode_as::CourseProto;
use super::monitor;
use super::order::Order;
use super::packet::Decoded;
use super::tcp_calc;
use super::udp_calc::{self, Request};

/// Conversations remembered at once.
pub const MAX_CONVERSATIONS: usize = 4096;
/// Data packets of a conversation looked at before giving up on it.
const LOOK_AT: u8 = 8;
/// Bytes of the first message kept for comparison.
const KEEP: usize = 256;

/// A protocol recognised on a server port, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognition {
    /// The protocol.
    pub proto: CourseProto,
    /// The server's port (the end that answered).
    pub server_port: u16,
    /// Why, for `-v`: `12-byte request, 4-byte reply carrying a+b`.
    pub reason: String,
}

impl std::fmt::Display for Recognition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "recognised port {} as {}: {}",
            self.server_port, self.proto, self.reason
        )
    }
}

type End = (IpAddr, u16);

#[derive(Debug)]
struct Conv {
    /// Who sent the first data (the client) and what.
    client: End,
    first: Vec<u8>,
    looked: u8,
}

/// The heuristics' memory of conversations.
#[derive(Debug, Default)]
pub struct Heuristics {
    convs: HashMap<(bool, End, End), Conv>,
    order: VecDeque<(bool, End, End)>,
    known: Vec<(bool, u16)>,
}

impl Heuristics {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Heuristics::default()
    }

    /// Look at one packet; a recognition the first time a server port's
    /// protocol becomes clear.
    pub fn observe(&mut self, d: &Decoded<'_>) -> Option<Recognition> {
        let (src_ip, dst_ip) = d.ips()?;
        let (sp, dp) = d.ports()?;
        let udp = d.udp().is_some();
        let payload = d.payload_bytes();
        if payload.is_empty() {
            return None;
        }
        let (src, dst) = ((src_ip, sp), (dst_ip, dp));
        if self.known.contains(&(udp, sp)) || self.known.contains(&(udp, dp)) {
            return None;
        }
        // One-message shapes: a monitor record names itself.
        if !udp && payload.len() == monitor::RECORD_LEN && monitor::decode(payload).is_ok() {
            return self.found(
                udp,
                dp,
                CourseProto::Monitor,
                "67-byte Hostname: record".into(),
            );
        }
        let key = if src <= dst {
            (udp, src, dst)
        } else {
            (udp, dst, src)
        };
        let Some(conv) = self.convs.get_mut(&key) else {
            self.remember(key, src, payload);
            return None;
        };
        conv.looked = conv.looked.saturating_add(1);
        if conv.looked > LOOK_AT {
            return None;
        }
        if src == conv.client {
            // More from the client: keep the first message growing (TCP pieces).
            let room = KEEP.saturating_sub(conv.first.len());
            conv.first
                .extend_from_slice(&payload[..payload.len().min(room)]);
            return None;
        }
        // The other end answers the client's first message.
        let (proto, reason) = judge(udp, &conv.first, payload)?;
        let server = sp;
        self.convs.remove(&key);
        self.found(udp, server, proto, reason)
    }

    fn remember(&mut self, key: (bool, End, End), client: End, payload: &[u8]) {
        if self.convs.len() >= MAX_CONVERSATIONS {
            while let Some(old) = self.order.pop_front() {
                if self.convs.remove(&old).is_some() {
                    break;
                }
            }
        }
        self.order.push_back(key);
        self.convs.insert(
            key,
            Conv {
                client,
                first: payload[..payload.len().min(KEEP)].to_vec(),
                looked: 1,
            },
        );
    }

    fn found(
        &mut self,
        udp: bool,
        port: u16,
        proto: CourseProto,
        reason: String,
    ) -> Option<Recognition> {
        self.known.push((udp, port));
        Some(Recognition {
            proto,
            server_port: port,
            reason,
        })
    }
}

/// What a first message and its answer say, if anything.
fn judge(udp: bool, ask: &[u8], answer: &[u8]) -> Option<(CourseProto, String)> {
    if udp {
        if let Some(r) = udp_calc(ask, answer) {
            return Some(r);
        }
    } else {
        if let Some(r) = tcp_calc(ask, answer) {
            return Some(r);
        }
        if let Some(r) = http(ask, answer) {
            return Some(r);
        }
    }
    if ask.len() >= 3 && answer.len() >= 3 && ask.starts_with(answer) {
        return Some((
            CourseProto::Echo,
            format!("the answer repeats the {} bytes sent", answer.len()),
        ));
    }
    None
}

fn udp_calc(ask: &[u8], answer: &[u8]) -> Option<(CourseProto, String)> {
    if ask.len() != udp_calc::REQUEST_LEN || answer.len() != udp_calc::REPLY_LEN {
        return None;
    }
    for req_order in [Order::Little, Order::Big] {
        let Ok(req) = Request::decode(ask, req_order) else {
            continue;
        };
        if req.op > 1 {
            continue;
        }
        let want = req.compute().wire;
        for reply_order in [Order::Little, Order::Big] {
            if udp_calc::decode_reply(answer, reply_order).ok() == Some(want) {
                let op = if req.op == 0 { "a+b" } else { "a-b" };
                return Some((
                    CourseProto::UdpCalc,
                    format!("12-byte request, 4-byte reply carrying {op}"),
                ));
            }
        }
    }
    None
}

/// `-?digits\0` repeated, nothing else.
fn nul_numbers(b: &[u8]) -> Option<usize> {
    let mut count = 0;
    for part in b.strip_suffix(&[0])?.split(|&c| c == 0) {
        tcp_calc::parse_decimal(part).ok()?;
        count += 1;
    }
    Some(count)
}

fn tcp_calc(ask: &[u8], answer: &[u8]) -> Option<(CourseProto, String)> {
    let n = nul_numbers(ask)?;
    let reply = answer.strip_suffix(&[0, 0])?;
    tcp_calc::parse_decimal(reply).ok()?;
    Some((
        CourseProto::TcpCalc,
        format!("{n} NUL-terminated numbers answered by N\\x00\\x00"),
    ))
}

fn http(ask: &[u8], answer: &[u8]) -> Option<(CourseProto, String)> {
    const METHODS: [&str; 7] = [
        "GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ",
    ];
    let line_end = ask.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&ask[..line_end]).ok()?;
    let method = METHODS.iter().find(|m| line.starts_with(**m))?;
    if !line.ends_with(" HTTP/1.0") && !line.ends_with(" HTTP/1.1") {
        return None;
    }
    if !answer.starts_with(b"HTTP/1.") {
        return None;
    }
    Some((
        CourseProto::Http,
        format!("{}request line answered by a status line", method),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::packet::{decode, testframes, LinkType};

    fn run(frames: &[Vec<u8>]) -> Vec<Recognition> {
        let mut h = Heuristics::new();
        frames
            .iter()
            .filter_map(|f| h.observe(&decode(LinkType::Ethernet, f)))
            .collect()
    }

    #[test]
    fn udp_calc_request_and_reply_in_either_order() {
        for order in [Order::Little, Order::Big] {
            let req = Request {
                a: 10,
                b: 500,
                op: 0,
            }
            .encode(order);
            let reply = udp_calc::encode_reply(510, order);
            let r = run(&[
                testframes::udp(40000, 21011, &req),
                testframes::udp(21011, 40000, &reply),
            ]);
            assert_eq!(r.len(), 1, "{order:?}");
            assert_eq!(
                (r[0].proto, r[0].server_port),
                (CourseProto::UdpCalc, 21011)
            );
            assert_eq!(r[0].reason, "12-byte request, 4-byte reply carrying a+b");
        }
        // A 4-byte answer that is not the result: not udp-calc.
        let req = Request {
            a: 10,
            b: 500,
            op: 0,
        }
        .encode(Order::Little);
        let r = run(&[
            testframes::udp(40000, 21011, &req),
            testframes::udp(21011, 40000, &[9, 9, 9, 9]),
        ]);
        assert!(r.is_empty(), "{r:?}");
    }

    #[test]
    fn tcp_calc_numbers_then_reply_even_in_pieces() {
        let r = run(&[
            testframes::tcp(40000, 21009, 1, 1, 0x18, b"12"),
            testframes::tcp(40000, 21009, 3, 1, 0x18, b"3\x004\x000\x00"),
            testframes::tcp(21009, 40000, 1, 9, 0x18, b"127\0\0"),
        ]);
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].proto, r[0].server_port),
            (CourseProto::TcpCalc, 21009)
        );
        assert_eq!(
            r[0].reason,
            "3 NUL-terminated numbers answered by N\\x00\\x00"
        );
    }

    #[test]
    fn monitor_echo_and_http() {
        let rec = monitor::encode("pc", 1.0, 2.0);
        let r = run(&[testframes::tcp(40000, 5555, 1, 1, 0x18, &rec)]);
        assert_eq!((r[0].proto, r[0].server_port), (CourseProto::Monitor, 5555));
        let r = run(&[
            testframes::tcp(40000, 7777, 1, 1, 0x18, b"hello\0"),
            testframes::tcp(7777, 40000, 1, 7, 0x18, b"hello\0"),
        ]);
        assert_eq!((r[0].proto, r[0].server_port), (CourseProto::Echo, 7777));
        let r = run(&[
            testframes::tcp(40000, 8000, 1, 1, 0x18, b"GET / HTTP/1.0\r\n\r\n"),
            testframes::tcp(8000, 40000, 1, 19, 0x18, b"HTTP/1.0 200 OK\r\n"),
        ]);
        assert_eq!((r[0].proto, r[0].server_port), (CourseProto::Http, 8000));
        assert_eq!(r[0].reason, "GET request line answered by a status line");
    }

    #[test]
    fn no_recognition_without_evidence() {
        // A short answer, different bytes, a one-way stream, a 1-byte echo.
        let r = run(&[
            testframes::tcp(40000, 7777, 1, 1, 0x18, b"hello"),
            testframes::tcp(7777, 40000, 1, 6, 0x18, b"HELLO"),
            testframes::udp(5000, 6000, b"abcdefghijkl"),
            testframes::udp(5000, 6000, b"abcdefghijkl"),
            testframes::tcp(40001, 7778, 1, 1, 0x18, b"y"),
            testframes::tcp(7778, 40001, 1, 2, 0x18, b"y"),
            testframes::tcp(40002, 7779, 1, 1, 0x18, b"12\0"),
            testframes::tcp(7779, 40002, 1, 4, 0x18, b"12\0"), // an echo, not a reply
        ]);
        assert_eq!(
            r.iter().map(|r| r.proto).collect::<Vec<_>>(),
            vec![CourseProto::Echo],
            "only the 3-byte echo: {r:?}"
        );
    }

    #[test]
    fn memory_is_bounded() {
        let mut h = Heuristics::new();
        for i in 0..(MAX_CONVERSATIONS as u16 + 100) {
            let f = testframes::udp(1000 + i % 60000, 2, b"abc");
            let _ = h.observe(&decode(LinkType::Ethernet, &f));
        }
        assert!(h.convs.len() <= MAX_CONVERSATIONS);
    }
}
