//! Recognising course-protocol payloads inside captured packets, by port
//! and by shape, using the protocol codecs of this module's siblings.
//!
//! Ports are the course defaults: UDP and TCP calculator 10009, echo
//! 10000, monitor 5000. A monitor record is also recognised by its shape
//! (67 bytes starting `Hostname:`) on any port. Pure; allocates only for
//! what it reports.

use std::fmt;

use super::monitor;
use super::order::Order;
use super::packet::{Decoded, Transport};
use super::tcp_calc;
use super::udp_calc::{self, Request};

/// Calculator port (UDP and TCP).
pub const CALC_PORT: u16 = 10009;
/// Echo port.
pub const ECHO_PORT: u16 = 10000;
/// Monitor port.
pub const MONITOR_PORT: u16 = 5000;

/// Transport of a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// TCP segment data.
    Tcp,
    /// UDP datagram data.
    Udp,
}

/// A recognised course message.
#[derive(Debug, Clone, PartialEq)]
pub enum Course<'a> {
    /// udp-calc request, read in the order that makes sense (op 0 or 1).
    UdpCalcRequest {
        /// The reading shown first.
        request: Request,
        /// Its byte order.
        order: Order,
        /// The same bytes read in the other order.
        other: Request,
        /// That order.
        other_order: Order,
    },
    /// udp-calc 4-byte reply, read natively and in the other order.
    UdpCalcReply {
        /// Native reading.
        native: u32,
        /// Other-order reading.
        other: u32,
    },
    /// tcp-calc numbers (NUL-terminated decimal text); a reply ends with two NULs.
    TcpCalc {
        /// The number texts in this segment, in order.
        numbers: Vec<&'a str>,
        /// Text after the last NUL (a number split across segments).
        partial: &'a str,
        /// True when sent by the server (from port 10009).
        reply: bool,
    },
    /// A whole monitor record.
    MonitorRecord(monitor::Record),
    /// Part of a monitor record stream (records may arrive in pieces).
    MonitorPiece {
        /// Bytes in this segment.
        len: usize,
    },
    /// The head of an HTTP request or response.
    Http(super::http::Head<'a>),
    /// Chat text lines (`--decode PORT=chat`): each ends with `\n`.
    Chat {
        /// The whole lines in this segment, without their `\n`.
        lines: Vec<&'a [u8]>,
        /// Text after the last `\n` (a line split across segments).
        partial: &'a [u8],
        /// True when sent by the server (relayed lines, announcements).
        from_server: bool,
    },
    /// What a segment means for the HTTP message it continues: a head
    /// completed from several segments, body bytes counted against
    /// Content-Length, or how the body ended at FIN (see [`super::http::HttpReader`]).
    HttpStream(Vec<super::http::Note>),
    /// Echo text.
    Echo {
        /// The bytes.
        text: &'a [u8],
        /// True when sent by the server (the echo back).
        reply: bool,
    },
}

/// Recognise a payload; `None` when it is not a course message.
pub fn recognise(proto: Proto, src_port: u16, dst_port: u16, payload: &[u8]) -> Option<Course<'_>> {
    if payload.is_empty() {
        return None;
    }
    let is = |p: u16| src_port == p || dst_port == p;
    match proto {
        Proto::Udp if is(CALC_PORT) => match payload.len() {
            udp_calc::REQUEST_LEN if dst_port == CALC_PORT => Some(calc_request(payload)),
            udp_calc::REPLY_LEN if src_port == CALC_PORT => {
                let native = udp_calc::decode_reply(payload, Order::Native).ok()?;
                let other = udp_calc::decode_reply(payload, Order::Native.opposite()).ok()?;
                Some(Course::UdpCalcReply { native, other })
            }
            _ => None,
        },
        Proto::Udp if is(ECHO_PORT) => Some(Course::Echo {
            text: payload,
            reply: src_port == ECHO_PORT,
        }),
        Proto::Tcp if payload.len() == monitor::RECORD_LEN && payload.starts_with(b"Hostname:") => {
            monitor::decode(payload).ok().map(Course::MonitorRecord)
        }
        Proto::Tcp if dst_port == MONITOR_PORT => match monitor::decode(payload) {
            Ok(r) => Some(Course::MonitorRecord(r)),
            Err(_) => Some(Course::MonitorPiece { len: payload.len() }),
        },
        Proto::Tcp if is(CALC_PORT) => tcp_calc(payload, src_port == CALC_PORT),
        Proto::Tcp if is(ECHO_PORT) => Some(Course::Echo {
            text: payload,
            reply: src_port == ECHO_PORT,
        }),
        _ => None,
    }
}

/// Chat: text lines, each ending with `\n`; `None` for an empty payload.
pub fn chat(payload: &[u8], from_server: bool) -> Option<Course<'_>> {
    if payload.is_empty() {
        return None;
    }
    let mut lines = Vec::new();
    let mut rest = payload;
    while let Some(i) = rest.iter().position(|&b| b == b'\n') {
        lines.push(&rest[..i]);
        rest = &rest[i + 1..];
    }
    Some(Course::Chat {
        lines,
        partial: rest,
        from_server,
    })
}

fn calc_request(payload: &[u8]) -> Course<'_> {
    let native = Order::Native;
    let other_order = native.opposite();
    // Decoding cannot fail here: the length was checked by the caller.
    let read = |o: Order| Request::decode(payload, o).unwrap_or(Request { a: 0, b: 0, op: 0 });
    let (n, o) = (read(native), read(other_order));
    // The order that makes sense: the one where op is 0 or 1.
    if n.op > 1 && o.op <= 1 {
        Course::UdpCalcRequest {
            request: o,
            order: other_order,
            other: n,
            other_order: native,
        }
    } else {
        Course::UdpCalcRequest {
            request: n,
            order: native,
            other: o,
            other_order,
        }
    }
}

fn tcp_calc(payload: &[u8], reply: bool) -> Option<Course<'_>> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut numbers = Vec::new();
    let mut parts = text.split('\0').peekable();
    let mut partial = "";
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            partial = p;
            break;
        }
        if p.is_empty() {
            continue; // the reply's second NUL
        }
        tcp_calc::parse_decimal(p.as_bytes()).ok()?;
        numbers.push(p);
    }
    if !partial.is_empty() && tcp_calc::parse_decimal(partial.as_bytes()).is_err() {
        return None;
    }
    Some(Course::TcpCalc {
        numbers,
        partial,
        reply,
    })
}

fn op_name(op: u32) -> &'static str {
    if op == 0 {
        "add"
    } else {
        "subtract"
    }
}

fn short_order(o: Order) -> &'static str {
    match o.concrete() {
        Order::Little => "little-endian",
        _ => "big-endian",
    }
}

impl fmt::Display for Course<'_> {
    /// One line of narration.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Course::UdpCalcRequest {
                request: r,
                order,
                other,
                other_order,
            } => {
                let who = if *order == Order::Native {
                    format!(
                        "native order ({}), struct.pack(\"III\")",
                        short_order(*order)
                    )
                } else {
                    format!("{}, struct.pack(\"!III\")", short_order(*order))
                };
                // The result a server computing in this order sends: the
                // exact value modulo 2^32, as the reply's bytes carry it.
                let out = r.compute();
                write!(
                    f,
                    "udp-calc request: a={} b={} op={} ({}) = {}",
                    r.a,
                    r.b,
                    r.op,
                    op_name(r.op),
                    out.wire
                )?;
                if out.wrapped() {
                    write!(f, " ({} wrapped modulo 2^32)", out.exact)?;
                }
                write!(f, " [{who}]")?;
                if other != r {
                    write!(
                        f,
                        "; read {}: a={} b={} op={}",
                        short_order(*other_order),
                        other.a,
                        other.b,
                        other.op
                    )?;
                }
                Ok(())
            }
            Course::UdpCalcReply { native, other } => {
                write!(f, "udp-calc reply: result {native} (native order)")?;
                if native != other {
                    write!(
                        f,
                        "; read {}: {other}",
                        short_order(Order::Native.opposite())
                    )?;
                }
                Ok(())
            }
            Course::TcpCalc {
                numbers,
                partial,
                reply,
            } => {
                if *reply {
                    write!(f, "tcp-calc reply: {}", numbers.join(", "))?;
                } else {
                    write!(f, "tcp-calc numbers: {}", numbers.join(", "))?;
                }
                if !partial.is_empty() {
                    write!(
                        f,
                        "{}\"{partial}\" (its NUL comes later)",
                        if numbers.is_empty() { "" } else { ", " }
                    )?;
                }
                Ok(())
            }
            Course::MonitorRecord(r) => write!(
                f,
                "monitor record: host {} cpu {}% memory available {}%",
                r.host, r.cpu, r.mem
            ),
            Course::MonitorPiece { len } => write!(
                f,
                "monitor stream: {len} {len_bytes} (a record is {} bytes; TCP may deliver it in pieces)",
                monitor::RECORD_LEN,
                len_bytes = crate::plural::noun(*len, "byte")
            ),
            Course::Http(h) => write!(f, "{h}"),
            Course::HttpStream(notes) => {
                for (i, n) in notes.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{n}")?;
                }
                Ok(())
            }
            Course::Chat {
                lines,
                partial,
                from_server,
            } => {
                f.write_str(match (from_server, lines.len()) {
                    (true, _) => "chat from the server: ",
                    (false, 1) => "chat line: ",
                    (false, _) => "chat lines: ",
                })?;
                for (i, l) in lines.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", crate::wire::escape::quoted(l))?;
                }
                if !partial.is_empty() {
                    write!(
                        f,
                        "{}{} (its newline comes later)",
                        if lines.is_empty() { "" } else { ", " },
                        crate::wire::escape::quoted(partial)
                    )?;
                }
                Ok(())
            }
            Course::Echo { text, reply } => {
                f.write_str(if *reply { "echo reply: \"" } else { "echo: \"" })?;
                const MAX: usize = 60;
                crate::wire::escape::write_escaped(f, &text[..text.len().min(MAX)], b'"')?;
                f.write_str("\"")?;
                if text.len() > MAX {
                    write!(f, " ... ({})", crate::plural::count(text.len(), "byte"))?;
                }
                Ok(())
            }
        }
    }
}

/// The course-protocol message in a decoded packet, if any.
pub fn in_packet<'a>(d: &Decoded<'a>) -> Option<Course<'a>> {
    let payload = d.payload_bytes();
    match d.transport {
        Transport::Tcp(t) => recognise(Proto::Tcp, t.src_port, t.dst_port, payload),
        Transport::Udp(u) => recognise(Proto::Udp, u.src_port, u.dst_port, payload),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_calc_native_request_shows_big_endian_reading() {
        let req = Request {
            a: 10,
            b: 20,
            op: 0,
        }
        .encode(Order::Native);
        let c = recognise(Proto::Udp, 40000, CALC_PORT, &req).expect("recognised");
        let s = c.to_string();
        assert!(
            s.starts_with("udp-calc request: a=10 b=20 op=0 (add) = 30"),
            "{s}"
        );
        if cfg!(target_endian = "little") {
            assert!(
                s.contains("read big-endian: a=167772160 b=335544320 op=0"),
                "{s}"
            );
        }
    }

    #[test]
    fn udp_calc_network_order_request_is_read_big_endian() {
        let req = Request { a: 7, b: 2, op: 1 }.encode(Order::Big);
        let s = recognise(Proto::Udp, 40000, CALC_PORT, &req)
            .expect("recognised")
            .to_string();
        if cfg!(target_endian = "little") {
            assert!(
                s.starts_with("udp-calc request: a=7 b=2 op=1 (subtract) = 5 [big-endian"),
                "{s}"
            );
            assert!(s.contains("read little-endian: a=117440512"), "{s}");
        }
    }

    #[test]
    fn udp_calc_reply_and_wrong_sizes() {
        let r = udp_calc::encode_reply(30, Order::Native);
        let s = recognise(Proto::Udp, CALC_PORT, 40000, &r)
            .expect("reply")
            .to_string();
        assert!(s.starts_with("udp-calc reply: result 30"), "{s}");
        assert_eq!(recognise(Proto::Udp, 40000, CALC_PORT, &[1, 2, 3]), None);
    }

    #[test]
    fn tcp_calc_numbers_and_reply() {
        let s = recognise(Proto::Tcp, 40000, CALC_PORT, b"5\x008\x001\x00")
            .expect("numbers")
            .to_string();
        assert_eq!(s, "tcp-calc numbers: 5, 8, 1");
        let s = recognise(Proto::Tcp, CALC_PORT, 40000, b"-3\0\0")
            .expect("reply")
            .to_string();
        assert_eq!(s, "tcp-calc reply: -3");
        let s = recognise(Proto::Tcp, 40000, CALC_PORT, b"5\x001")
            .expect("split")
            .to_string();
        assert_eq!(s, "tcp-calc numbers: 5, \"1\" (its NUL comes later)");
        assert_eq!(recognise(Proto::Tcp, 40000, CALC_PORT, b"hello\0"), None);
    }

    #[test]
    fn monitor_record_and_piece() {
        let rec = monitor::encode("pc-home", 0.5, 50.4);
        let s = recognise(Proto::Tcp, 40000, MONITOR_PORT, &rec)
            .expect("record")
            .to_string();
        assert_eq!(
            s,
            "monitor record: host pc-home cpu 0.5% memory available 50.4%"
        );
        // Shape alone, on another port.
        assert!(matches!(
            recognise(Proto::Tcp, 1, 2, &rec),
            Some(Course::MonitorRecord(_))
        ));
        let s = recognise(Proto::Tcp, 40000, MONITOR_PORT, &rec[..30])
            .expect("piece")
            .to_string();
        assert!(s.starts_with("monitor stream: 30 bytes"), "{s}");
    }

    #[test]
    fn echo_text_is_escaped() {
        let s = recognise(Proto::Tcp, 40000, ECHO_PORT, b"Esto es una cadena \0")
            .expect("echo")
            .to_string();
        assert_eq!(s, "echo: \"Esto es una cadena \\x00\"");
        let s = recognise(Proto::Tcp, ECHO_PORT, 40000, b"hi\n")
            .expect("echo")
            .to_string();
        assert_eq!(s, "echo reply: \"hi\\n\"");
        assert_eq!(recognise(Proto::Tcp, 1, 2, b"x"), None);
    }
}
