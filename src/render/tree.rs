//! The `-v` field tree: every header field with its offset in the frame,
//! its raw bytes exactly as on the wire, and the value this host reads
//! after converting from network byte order. This is the byte-order
//! lesson, so ports also show what a program would read if it forgot
//! `ntohs()`.
//!
//! ```text
//!     TCP                      @34  20 bytes
//!       dst port               @36  27 19                    -> 10009  (without ntohs: 6439)
//! ```

use std::fmt::{Display, Write as _};

use super::line::{icmp_code_name, icmp_type_name, proto_name, TCP_FLAGS};
use super::num::mac;
use super::tcpopt::{OptionList, Segment};
use super::view::{PacketView, PrintOptions};
use crate::wire::packet::{ethertype, field, Link, Net, Transport};

/// The legend printed once before the first tree.
pub const LEGEND: &str =
    "field tree: NAME  @OFFSET-IN-FRAME  BYTES-AS-ON-THE-WIRE  -> VALUE-ON-THIS-HOST\n\
  multi-byte fields travel most significant byte first (big-endian, network byte order);\n\
  a little-endian host must convert them (ntohs/ntohl) to read them right.\n";

const NAME_W: usize = 22;
const BYTES_W: usize = 24;

fn header(out: &mut String, name: &str, offset: usize, len: usize) {
    let _ = writeln!(
        out,
        "    {name:<w$} @{offset:<4} {len} {len_bytes}",
        w = NAME_W + 2,
        len_bytes = crate::plural::noun(len, "byte")
    );
}

/// One field line; `r` is relative to `base`.
fn f(
    out: &mut String,
    frame: &[u8],
    base: usize,
    r: std::ops::Range<usize>,
    name: &str,
    value: impl Display,
) {
    let (s, e) = (base + r.start, base + r.end);
    let bytes = frame.get(s..e.min(frame.len())).unwrap_or(&[]);
    let _ = write!(out, "      {name:<NAME_W$} @{s:<4} ");
    let start = out.len();
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    if e > frame.len() {
        out.push_str(" (cut)");
    }
    let used = out.len() - start;
    for _ in used..BYTES_W {
        out.push(' ');
    }
    let _ = writeln!(out, " -> {value}");
}

fn be16(frame: &[u8], at: usize) -> u16 {
    frame
        .get(at..at + 2)
        .map_or(0, |s| u16::from_be_bytes([s[0], s[1]]))
}

/// A port: its value, and what `u16::from_le_bytes` would make of it.
fn port(frame: &[u8], at: usize, v: u16) -> String {
    let wrong = frame
        .get(at..at + 2)
        .map_or(v, |s| u16::from_le_bytes([s[0], s[1]]));
    if wrong == v {
        format!("{v}")
    } else {
        format!("{v}  (without ntohs: {wrong})")
    }
}

fn ethertype_name(t: u16) -> &'static str {
    match t {
        ethertype::IPV4 => "IPv4",
        ethertype::IPV6 => "IPv6",
        ethertype::ARP => "ARP",
        ethertype::VLAN => "802.1Q VLAN",
        ethertype::QINQ => "802.1ad VLAN",
        _ => "unknown",
    }
}

/// Write the tree of every decoded header of the packet.
pub fn write_tree(out: &mut String, v: &PacketView<'_, '_>, o: PrintOptions) {
    let d = v.decoded;
    let fr = d.frame;
    match d.link {
        Link::Ethernet {
            dst,
            src,
            ethertype,
            vlans,
        } => {
            header(out, "Ethernet", 0, field::eth::LEN);
            let m = |a: [u8; 6]| mac(&a).to_string();
            f(out, fr, 0, field::eth::DST, "destination MAC", m(dst));
            f(out, fr, 0, field::eth::SRC, "source MAC", m(src));
            f(
                out,
                fr,
                0,
                field::eth::TYPE,
                "ethertype",
                format_args!("0x{ethertype:04x} {}", ethertype_name(ethertype)),
            );
            for (off, tci) in vlans.iter().flatten() {
                header(out, "VLAN tag", *off, field::vlan::LEN);
                f(
                    out,
                    fr,
                    *off,
                    field::vlan::TCI,
                    "priority, DEI, VLAN id",
                    format_args!("priority {}, VLAN {}", tci >> 13, tci & 0x0fff),
                );
                let t = be16(fr, off + field::vlan::TYPE.start);
                f(
                    out,
                    fr,
                    *off,
                    field::vlan::TYPE,
                    "ethertype",
                    format_args!("0x{t:04x} {}", ethertype_name(t)),
                );
            }
        }
        Link::Sll {
            version,
            pkttype,
            hatype,
            ifindex,
            protocol,
        } => {
            let pk = match pkttype {
                0 => "to us",
                1 => "broadcast",
                2 => "multicast",
                3 => "to another host",
                4 => "sent by us",
                _ => "other",
            };
            if version == 1 {
                header(out, "Linux cooked (SLL)", 0, field::sll::LEN);
                f(
                    out,
                    fr,
                    0,
                    field::sll::PKTTYPE,
                    "packet type",
                    format_args!("{pkttype} ({pk})"),
                );
                f(out, fr, 0, field::sll::HATYPE, "ARPHRD type", hatype);
                f(
                    out,
                    fr,
                    0,
                    field::sll::HALEN,
                    "address length",
                    be16(fr, field::sll::HALEN.start),
                );
                f(
                    out,
                    fr,
                    0,
                    field::sll::ADDR,
                    "address",
                    "(link-layer address)",
                );
                f(
                    out,
                    fr,
                    0,
                    field::sll::PROTO,
                    "protocol",
                    format_args!("0x{protocol:04x} {}", ethertype_name(protocol)),
                );
            } else {
                header(out, "Linux cooked v2 (SLL2)", 0, field::sll2::LEN);
                f(
                    out,
                    fr,
                    0,
                    field::sll2::PROTO,
                    "protocol",
                    format_args!("0x{protocol:04x} {}", ethertype_name(protocol)),
                );
                f(out, fr, 0, field::sll2::IFINDEX, "interface index", ifindex);
                f(out, fr, 0, field::sll2::HATYPE, "ARPHRD type", hatype);
                let p = field::sll2::PKTTYPE;
                f(
                    out,
                    fr,
                    0,
                    p..p + 1,
                    "packet type",
                    format_args!("{pkttype} ({pk})"),
                );
            }
        }
        Link::Null { family } => {
            header(out, "BSD loopback", 0, 4);
            f(
                out,
                fr,
                0,
                0..4,
                "address family",
                format_args!("{family} (host byte order of the capturing machine)"),
            );
        }
        Link::Raw | Link::None => {}
    }
    match d.net {
        Net::Ipv4(h) => {
            let b = h.offset;
            use field::ipv4 as F;
            header(out, "IPv4", b, h.header_len);
            f(
                out,
                fr,
                b,
                F::VER_IHL,
                "version, IHL",
                format_args!(
                    "version 4, header {} x 4 = {} bytes",
                    h.header_len / 4,
                    h.header_len
                ),
            );
            f(
                out,
                fr,
                b,
                F::TOS,
                "DSCP, ECN",
                format_args!("DSCP {}, ECN {}", h.tos >> 2, h.tos & 3),
            );
            f(out, fr, b, F::TOTAL_LEN, "total length", h.total_len);
            f(out, fr, b, F::ID, "identification", h.id);
            let mut flags = String::new();
            if h.df {
                flags.push_str("DF ");
            }
            if h.mf {
                flags.push_str("MF ");
            }
            f(
                out,
                fr,
                b,
                F::FLAGS_FRAG,
                "flags, fragment offset",
                format_args!("{flags}offset {}", h.frag_offset),
            );
            f(out, fr, b, F::TTL, "TTL", h.ttl);
            f(
                out,
                fr,
                b,
                F::PROTO,
                "protocol",
                format_args!("{} {}", h.protocol, proto_name(h.protocol)),
            );
            f(
                out,
                fr,
                b,
                F::CHECKSUM,
                "header checksum",
                format_args!("0x{:04x}", h.checksum),
            );
            f(out, fr, b, F::SRC, "source address", h.src);
            f(out, fr, b, F::DST, "destination address", h.dst);
            if h.header_len > F::MIN_LEN {
                f(
                    out,
                    fr,
                    b,
                    F::MIN_LEN..h.header_len,
                    "options",
                    format_args!("{} bytes", h.header_len - F::MIN_LEN),
                );
            }
        }
        Net::Ipv6(h) => {
            let b = h.offset;
            use field::ipv6 as F;
            header(out, "IPv6", b, F::LEN + h.ext_len);
            f(
                out,
                fr,
                b,
                F::VER_TC_FLOW,
                "version, class, flow",
                format_args!(
                    "version 6, traffic class {}, flow label {}",
                    h.traffic_class, h.flow_label
                ),
            );
            f(out, fr, b, F::PAYLOAD_LEN, "payload length", h.payload_len);
            f(
                out,
                fr,
                b,
                F::NEXT,
                "next header",
                format_args!("{} {}", h.next_header, proto_name(h.next_header)),
            );
            f(out, fr, b, F::HOP_LIMIT, "hop limit", h.hop_limit);
            f(out, fr, b, F::SRC, "source address", h.src);
            f(out, fr, b, F::DST, "destination address", h.dst);
            if h.ext_len > 0 {
                f(
                    out,
                    fr,
                    b,
                    F::LEN..F::LEN + h.ext_len.min(8),
                    "extension headers",
                    format_args!("{} bytes, then {}", h.ext_len, proto_name(h.protocol)),
                );
            }
        }
        Net::Arp(a) => {
            header(out, "ARP", a.offset, fr.len().saturating_sub(a.offset));
            f(
                out,
                fr,
                a.offset,
                6..8,
                "operation",
                format_args!(
                    "{} ({})",
                    a.operation,
                    if a.operation == 1 { "request" } else { "reply" }
                ),
            );
        }
        Net::Unknown { .. } | Net::None => {}
    }
    match d.transport {
        Transport::Tcp(t) => {
            let b = t.offset;
            use field::tcp as F;
            header(out, "TCP", b, t.header_len);
            f(
                out,
                fr,
                b,
                F::SRC_PORT,
                "source port",
                port(fr, b + F::SRC_PORT.start, t.src_port),
            );
            f(
                out,
                fr,
                b,
                F::DST_PORT,
                "destination port",
                port(fr, b + F::DST_PORT.start, t.dst_port),
            );
            let rel = |abs: u32, r: Option<u32>| match (o.absolute_seq, r) {
                (false, Some(r)) => format!("{abs}  (relative {r})"),
                _ => format!("{abs}"),
            };
            f(
                out,
                fr,
                b,
                F::SEQ,
                "sequence number",
                rel(t.seq, v.tcp.map(|x| x.rel_seq)),
            );
            f(
                out,
                fr,
                b,
                F::ACK,
                "acknowledgement",
                rel(t.ack, v.tcp.map(|x| x.rel_ack)),
            );
            let mut flags = String::new();
            for (bit, _, name) in TCP_FLAGS {
                if t.flags & bit != 0 {
                    flags.push_str(name);
                    flags.push(' ');
                }
            }
            f(
                out,
                fr,
                b,
                F::OFF_FLAGS,
                "data offset, flags",
                format_args!(
                    "header {} x 4 = {} bytes; {}",
                    t.header_len / 4,
                    t.header_len,
                    flags.trim_end()
                ),
            );
            f(out, fr, b, F::WINDOW, "window", t.window);
            f(
                out,
                fr,
                b,
                F::CHECKSUM,
                "checksum",
                format_args!("0x{:04x}", t.checksum),
            );
            f(out, fr, b, F::URGENT, "urgent pointer", t.urgent);
            if t.header_len > F::MIN_LEN {
                f(
                    out,
                    fr,
                    b,
                    F::MIN_LEN..t.header_len,
                    "options",
                    OptionList(
                        d.tcp_options(),
                        Segment {
                            flags: t.flags,
                            sack_base: 0,
                            cut: d.truncated(),
                        },
                    ),
                );
            }
        }
        Transport::Udp(u) => {
            let b = u.offset;
            use field::udp as F;
            header(out, "UDP", b, F::LEN);
            f(
                out,
                fr,
                b,
                F::SRC_PORT,
                "source port",
                port(fr, b + F::SRC_PORT.start, u.src_port),
            );
            f(
                out,
                fr,
                b,
                F::DST_PORT,
                "destination port",
                port(fr, b + F::DST_PORT.start, u.dst_port),
            );
            f(
                out,
                fr,
                b,
                F::LENGTH,
                "length",
                format_args!(
                    "{} (8 header + {} data)",
                    u.length,
                    u.length.saturating_sub(8)
                ),
            );
            f(
                out,
                fr,
                b,
                F::CHECKSUM,
                "checksum",
                format_args!("0x{:04x}", u.checksum),
            );
        }
        Transport::Icmp4(i) | Transport::Icmp6(i) => {
            let v6 = matches!(d.transport, Transport::Icmp6(_));
            let b = i.offset;
            use field::icmp as F;
            header(out, if v6 { "ICMPv6" } else { "ICMP" }, b, F::LEN);
            f(
                out,
                fr,
                b,
                F::TYPE,
                "type",
                format_args!("{} {}", i.icmp_type, icmp_type_name(v6, i.icmp_type)),
            );
            f(
                out,
                fr,
                b,
                F::CODE,
                "code",
                format_args!(
                    "{} {}",
                    i.code,
                    icmp_code_name(v6, i.icmp_type, i.code).unwrap_or("")
                ),
            );
            f(
                out,
                fr,
                b,
                F::CHECKSUM,
                "checksum",
                format_args!("0x{:04x}", i.checksum),
            );
            if i.header_len < F::LEN {
                // A short header: type and code only (the rest is not there).
                let _ = writeln!(out, "      (header cut short: {} of 8 bytes)", i.header_len);
            } else {
                f(
                    out,
                    fr,
                    b,
                    F::REST,
                    "rest of header",
                    icmp_rest(v6, i.icmp_type, i.code, &i.rest),
                );
            }
        }
        _ => {}
    }
    if !d.payload.is_empty() {
        // Its meaning (course protocol) is already in the narration above.
        header(out, "payload", d.payload.start, d.payload.len());
    }
}

/// What the 4 bytes after an ICMP checksum mean for this type: id and
/// sequence for echo, the next-hop MTU for "fragmentation needed" and
/// "packet too big", unused otherwise.
fn icmp_rest(v6: bool, t: u8, code: u8, rest: &[u8]) -> String {
    match (v6, t, code) {
        (false, 0 | 8, _) | (true, 128 | 129, _) => {
            format!("id {}, seq {}", be16(rest, 0), be16(rest, 2))
        }
        (false, 3, 4) => format!("unused, next-hop MTU {}", be16(rest, 2)),
        (true, 2, _) => format!(
            "MTU {}",
            (u32::from(be16(rest, 0)) << 16) | u32::from(be16(rest, 2))
        ),
        _ => format!(
            "unused (0x{:08x})",
            (u32::from(be16(rest, 0)) << 16) | u32::from(be16(rest, 2))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::packet::{PacketView, PrintOptions};
    use crate::capture::Timestamp;
    use crate::track::tcp::Tracker;
    use crate::wire::packet::testframes::{tcp, udp};
    use crate::wire::packet::{decode, tcp_flags as fl, LinkType};

    fn tree(f: &[u8]) -> String {
        let d = decode(LinkType::Ethernet, f);
        let mut ev = Vec::new();
        let tv = Tracker::new().observe(Timestamp::default(), &d, &mut ev);
        let v = PacketView::new(Timestamp::default(), 1, &d, tv, &ev);
        let mut s = String::new();
        super::write_tree(&mut s, &v, PrintOptions::default());
        s
    }

    #[test]
    fn golden_tcp_tree() {
        let got = tree(&tcp(40000, 10009, 1000, 0, fl::SYN, &[]));
        let want = "    Ethernet                 @0    14 bytes
      destination MAC        @0    00 00 00 00 00 00        -> 00:00:00:00:00:00
      source MAC             @6    00 00 00 00 00 00        -> 00:00:00:00:00:00
      ethertype              @12   08 00                    -> 0x0800 IPv4
    IPv4                     @14   20 bytes
      version, IHL           @14   45                       -> version 4, header 5 x 4 = 20 bytes
      DSCP, ECN              @15   00                       -> DSCP 0, ECN 0
      total length           @16   00 28                    -> 40
      identification         @18   12 34                    -> 4660
      flags, fragment offset @20   40 00                    -> DF offset 0
      TTL                    @22   40                       -> 64
      protocol               @23   06                       -> 6 TCP
      header checksum        @24   00 00                    -> 0x0000
      source address         @26   7f 00 00 01              -> 127.0.0.1
      destination address    @30   7f 00 00 01              -> 127.0.0.1
    TCP                      @34   20 bytes
      source port            @34   9c 40                    -> 40000  (without ntohs: 16540)
      destination port       @36   27 19                    -> 10009  (without ntohs: 6439)
      sequence number        @38   00 00 03 e8              -> 1000  (relative 0)
      acknowledgement        @42   00 00 00 00              -> 0  (relative 0)
      data offset, flags     @46   50 02                    -> header 5 x 4 = 20 bytes; SYN
      window                 @48   ff d7                    -> 65495
      checksum               @50   00 00                    -> 0x0000
      urgent pointer         @52   00 00                    -> 0
";
        assert_eq!(got, want);
    }

    /// Ethernet + IPv4 (127.0.0.1 both ways) + ICMP `t`/`code` with `rest`.
    fn icmp4(t: u8, code: u8, rest: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let quoted = udp(40000, 9, b"x")[14..].to_vec();
        let total = (20 + 8 + quoted.len()) as u16;
        f.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0x40,
            0,
            64,
            1,
            0,
            0,
        ]);
        f.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
        f.extend_from_slice(&[t, code, 0, 0]);
        f.extend_from_slice(&rest);
        f.extend_from_slice(&quoted);
        f
    }

    /// Regression: `-v` labelled 3/3 "net unreachable" (it looked up code 0)
    /// and printed "id 0, seq 0" for messages that have no id or sequence.
    #[test]
    fn icmp_labels_follow_type_and_code() {
        let got = tree(&icmp4(3, 3, [0; 4]));
        assert!(got.contains("-> 3 destination unreachable\n"), "{got}");
        assert!(got.contains("-> 3 port unreachable\n"), "{got}");
        assert!(got.contains("-> unused (0x00000000)\n"), "{got}");
        assert!(!got.contains("net unreachable"), "{got}");
        assert!(!got.contains("id 0, seq 0"), "{got}");
        let got = tree(&icmp4(3, 4, [0, 0, 0x05, 0xdc]));
        assert!(got.contains("-> 4 fragmentation needed\n"), "{got}");
        assert!(got.contains("-> unused, next-hop MTU 1500\n"), "{got}");
        let got = tree(&icmp4(8, 0, [0x12, 0x34, 0, 7]));
        assert!(got.contains("-> 8 echo request\n"), "{got}");
        assert!(got.contains("-> id 4660, seq 7\n"), "{got}");
        let got = tree(&icmp4(11, 0, [0; 4]));
        assert!(got.contains("-> 11 time exceeded\n"), "{got}");
        assert!(got.contains("-> 0 TTL exceeded in transit\n"), "{got}");
    }

    #[test]
    fn udp_tree_has_length_and_payload() {
        let got = tree(&udp(10009, 40000, &[30, 0, 0, 0]));
        assert!(got.contains("      length                 @38   00 0c                    -> 12 (8 header + 4 data)\n"), "{got}");
        assert!(
            got.contains("    payload                  @42   4 bytes\n"),
            "{got}"
        );
    }
}
