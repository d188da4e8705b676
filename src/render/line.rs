//! The one-line packet summary, familiar to tcpdump users, and the
//! narration lines under it.
//!
//! ```text
//! 05:40:27.123456 IP 127.0.0.1.40000 > 127.0.0.1.10009: Flags [S], seq 0, win 65495, length 0
//!     -- handshake 1/3: 127.0.0.1.40000 asks 127.0.0.1.10009 to connect (SYN): ...
//! ```
//! Sequence numbers are relative to each side's first one (so the SYN
//! shows `seq 0`) unless `--absolute-seq`. Writes into a caller's `String`.

use std::fmt::{Display, Write as _};
use std::net::IpAddr;

use anstyle::{AnsiColor, Style};

use super::num::{push_ip, push_u64};
use super::tcpopt::{write_options, Segment};
use super::time::Clock;
use super::view::{PacketView, PrintOptions};
use crate::wire::packet::{ipproto, tcp_flags as fl, Link, Net, Transport};

pub(super) const TIME: Style = Style::new().dimmed();
pub(super) const ADDR: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
pub(super) const FLAGS: Style = Style::new().bold();
pub(super) const EVENT: Style = Style::new()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)))
    .bold();
pub(super) const COURSE: Style =
    Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
pub(super) const BAD: Style = Style::new()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)))
    .bold();
pub(super) const CALL: Style = Style::new()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Magenta)))
    .bold();

/// Start `style` when `on`.
fn style_on(out: &mut String, on: bool, style: Style) {
    if on {
        let _ = write!(out, "{}", style.render());
    }
}

/// End `style` when `on`.
fn style_off(out: &mut String, on: bool, style: Style) {
    if on {
        let _ = write!(out, "{}", style.render_reset());
    }
}

/// Append `text` to `out`, in `style` when `on`.
pub(super) fn paint_into(out: &mut String, on: bool, style: Style, text: impl Display) {
    if on {
        let _ = write!(out, "{}{text}{}", style.render(), style.render_reset());
    } else {
        let _ = write!(out, "{text}");
    }
}

/// The TCP flags in tcpdump's order (F S R P . U E W): bit, tcpdump's
/// letter, name. The one table every printer uses.
pub const TCP_FLAGS: [(u8, char, &str); 8] = [
    (fl::FIN, 'F', "FIN"),
    (fl::SYN, 'S', "SYN"),
    (fl::RST, 'R', "RST"),
    (fl::PSH, 'P', "PSH"),
    (fl::ACK, '.', "ACK"),
    (fl::URG, 'U', "URG"),
    (fl::ECE, 'E', "ECE"),
    (fl::CWR, 'W', "CWR"),
];

/// tcpdump's flag notation: `S`, `S.`, `.`, `P.`, `F.`, `R`, `S.W`, `.U`;
/// `none` when no flag is set.
pub fn flag_text(flags: u8, out: &mut String) {
    let none = out.len();
    for (bit, c, _) in TCP_FLAGS {
        if flags & bit != 0 {
            out.push(c);
        }
    }
    if out.len() == none {
        out.push_str("none");
    }
}

use super::num::mac;

/// The name of an ICMP (or ICMPv6) type, for the common ones; "" otherwise.
pub fn icmp_type_name(v6: bool, t: u8) -> &'static str {
    match (v6, t) {
        (false, 0) => "echo reply",
        (false, 8) => "echo request",
        (false, 3) => "destination unreachable",
        (false, 11) => "time exceeded",
        (true, 1) => "destination unreachable",
        (true, 2) => "packet too big",
        (true, 3) => "time exceeded",
        (true, 128) => "echo request",
        (true, 129) => "echo reply",
        (true, 133) => "router solicitation",
        (true, 134) => "router advertisement",
        (true, 135) => "neighbor solicitation",
        (true, 136) => "neighbor advertisement",
        _ => "",
    }
}

/// The name of an ICMP code that says more than its type (`port
/// unreachable` for type 3 code 3), if it has one.
pub fn icmp_code_name(v6: bool, t: u8, code: u8) -> Option<&'static str> {
    Some(match (v6, t, code) {
        (false, 3, 0) => "net unreachable",
        (false, 3, 1) => "host unreachable",
        (false, 3, 2) => "protocol unreachable",
        (false, 3, 3) => "port unreachable",
        (false, 3, 4) => "fragmentation needed",
        (false, 3, 13) => "administratively prohibited",
        (false, 11, 0) => "TTL exceeded in transit",
        (false, 11, 1) => "fragment reassembly time exceeded",
        (true, 1, 0) => "no route",
        (true, 1, 1) => "administratively prohibited",
        (true, 1, 3) => "address unreachable",
        (true, 1, 4) => "port unreachable",
        (true, 3, 0) => "hop limit exceeded in transit",
        _ => return None,
    })
}

/// The most specific name: the code's if it has one, else the type's.
pub fn icmp_name(v6: bool, t: u8, code: u8) -> &'static str {
    icmp_code_name(v6, t, code).unwrap_or_else(|| icmp_type_name(v6, t))
}

/// Write the summary line (ending with a newline).
pub fn write_line(out: &mut String, v: &PacketView<'_, '_>, o: PrintOptions, clock: &mut Clock) {
    let d = v.decoded;
    let c = o.color;
    style_on(out, c, TIME);
    clock.write(out, v.ts);
    style_off(out, c, TIME);
    if let Link::Sll {
        version: 2,
        pkttype,
        ifindex,
        ..
    } = d.link
    {
        // As tcpdump on a Linux cooked v2 capture (`-i any`): the
        // interface, named on this host, and the direction.
        let _ = write!(out, "{:<5} {:<3} ", if_name(ifindex), direction(pkttype));
    }
    let ports = d.ports();
    let addr = |out: &mut String, ip: IpAddr, port: Option<u16>| {
        style_on(out, c, ADDR);
        push_ip(out, ip);
        if let Some(p) = port {
            out.push('.');
            push_u64(out, u64::from(p));
        }
        style_off(out, c, ADDR);
    };
    match d.net {
        Net::Ipv4(h) => {
            out.push_str("IP ");
            addr(out, IpAddr::V4(h.src), ports.map(|p| p.0));
            out.push_str(" > ");
            addr(out, IpAddr::V4(h.dst), ports.map(|p| p.1));
            out.push_str(": ");
        }
        Net::Ipv6(h) => {
            out.push_str("IP6 ");
            addr(out, IpAddr::V6(h.src), ports.map(|p| p.0));
            out.push_str(" > ");
            addr(out, IpAddr::V6(h.dst), ports.map(|p| p.1));
            out.push_str(": ");
        }
        Net::Arp(a) => {
            out.push_str("ARP, ");
            match (a.operation, a.sender_ip, a.target_ip) {
                (1, Some(s), Some(t)) => {
                    let _ = write!(out, "Request who-has {t} tell {s}");
                }
                (2, Some(s), _) => {
                    let _ = write!(out, "Reply {s} is-at ");
                    if let Link::Ethernet { src, .. } = d.link {
                        let _ = write!(out, "{}", mac(&src));
                    }
                }
                (op, _, _) => {
                    let _ = write!(out, "operation {op}");
                }
            }
            let _ = write!(out, ", length {}", d.frame.len().saturating_sub(a.offset));
        }
        Net::Unknown { ethertype } => {
            let _ = write!(
                out,
                "ethertype 0x{ethertype:04x} (not decoded), length {}",
                d.orig_len
            );
        }
        Net::None => {
            let _ = write!(out, "frame, length {}", d.orig_len);
        }
    }
    match d.transport {
        Transport::Tcp(t) if o.quiet => {
            // tcpdump -q: the protocol and the payload length.
            out.push_str("tcp ");
            push_u64(out, t.payload_len as u64);
        }
        Transport::Tcp(t) => {
            out.push_str("Flags [");
            style_on(out, c, FLAGS);
            flag_text(t.flags, out);
            style_off(out, c, FLAGS);
            out.push(']');
            let (seq, ack) = match (o.absolute_seq, v.tcp) {
                (false, Some(tv)) => (tv.rel_seq, tv.rel_ack),
                _ => (t.seq, t.ack),
            };
            // As tcpdump: seq only where the segment uses sequence space
            // or says something about it (data, SYN, FIN, RST).
            if t.payload_len > 0 || t.flags & (fl::SYN | fl::FIN | fl::RST) != 0 {
                out.push_str(", seq ");
                push_u64(out, u64::from(seq));
                if t.payload_len > 0 {
                    out.push(':');
                    push_u64(out, u64::from(seq.wrapping_add(t.payload_len as u32)));
                }
            }
            if t.flags & fl::ACK != 0 {
                out.push_str(", ack ");
                push_u64(out, u64::from(ack));
            }
            out.push_str(", win ");
            push_u64(out, u64::from(t.window));
            if t.flags & fl::URG != 0 {
                out.push_str(", urg ");
                push_u64(out, u64::from(t.urgent));
            }
            let seg = Segment {
                flags: t.flags,
                // SACK edges are in the peer's numbers, as the ack is.
                sack_base: t.ack.wrapping_sub(ack),
                cut: d.truncated(),
            };
            if write_options(out, d.tcp_options(), seg) {
                out.push_str(", length ");
                push_u64(out, t.payload_len as u64);
            }
        }
        Transport::Udp(u) => {
            out.push_str("UDP, length ");
            push_u64(out, u64::from(u.length.saturating_sub(8)));
        }
        Transport::Icmp4(i) => super::icmp::write_icmp4(out, d, &i),
        Transport::Icmp6(i) => {
            if !super::icmp::write_icmp6(out, d, &i) {
                out.push_str("ICMP6 ");
                let name = icmp_name(true, i.icmp_type, i.code);
                let _ = write!(out, "type {} code {}", i.icmp_type, i.code);
                if !name.is_empty() {
                    let _ = write!(out, " ({name})");
                }
                let _ = write!(out, ", length {}", i.len);
            }
        }
        Transport::Fragment { protocol } => {
            let _ = write!(out, "fragment of a {} datagram", proto_name(protocol));
        }
        Transport::Unknown { protocol } => {
            let _ = write!(
                out,
                "ip-proto-{protocol} (not decoded), length {}",
                d.payload.len()
            );
        }
        Transport::None => {
            if matches!(d.net, Net::Ipv4(_) | Net::Ipv6(_)) {
                out.push_str("IP header only");
            }
        }
    }
    for note in &d.notes {
        out.push(' ');
        paint_into(out, c, BAD, format_args!("[{note}]"));
    }
    if let Some(m) = &d.malformed {
        out.push(' ');
        paint_into(
            out,
            c,
            BAD,
            format_args!("[malformed {} @{}: {}]", m.layer, m.offset, m.reason),
        );
    }
    if d.truncated() {
        out.push(' ');
        paint_into(
            out,
            c,
            BAD,
            format_args!(
                "[truncated: captured {} of {} bytes]",
                d.frame.len(),
                d.orig_len
            ),
        );
    }
    out.push('\n');
}

/// tcpdump's word for a cooked capture's packet type.
fn direction(pkttype: u16) -> &'static str {
    match pkttype {
        0 => "In",
        1 => "B",
        2 => "M",
        3 => "P",
        4 => "Out",
        _ => "?",
    }
}

/// The name of interface `index` on this host (`?` when it has none), as
/// tcpdump names the interface of a cooked v2 packet; remembered per thread.
fn if_name(index: u32) -> String {
    use std::cell::RefCell;
    thread_local! {
        static NAMES: RefCell<Vec<(u32, String)>> = const { RefCell::new(Vec::new()) };
    }
    NAMES.with(|n| {
        let mut n = n.borrow_mut();
        if let Some((_, name)) = n.iter().find(|(i, _)| *i == index) {
            return name.clone();
        }
        let name = nix::net::if_::if_indextoname(index)
            .ok()
            .and_then(|c| c.into_string().ok())
            .unwrap_or_else(|| "?".into());
        if n.len() < 256 {
            n.push((index, name.clone()));
        }
        name
    })
}

/// `TCP`, `UDP`, `ICMP`, `ICMPv6` or `protocol N`.
pub fn proto_name(p: u8) -> String {
    match p {
        ipproto::TCP => "TCP".into(),
        ipproto::UDP => "UDP".into(),
        ipproto::ICMP => "ICMP".into(),
        ipproto::ICMPV6 => "ICMPv6".into(),
        n => format!("protocol {n}"),
    }
}

/// Write the narration lines (events, then the course payload), indented.
pub fn write_narration(out: &mut String, v: &PacketView<'_, '_>, color: bool) {
    for e in v.events {
        out.push_str("    -- ");
        paint_into(out, color, EVENT, e);
        out.push('\n');
    }
    if let Some(course) = &v.course {
        out.push_str("    .. ");
        paint_into(out, color, COURSE, course);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::super::packet::{PacketPrinter, PacketView, PrintOptions};
    use crate::capture::Timestamp;
    use crate::track::tcp::Tracker;
    use crate::wire::order::Order;
    use crate::wire::packet::testframes::{tcp, udp};
    use crate::wire::packet::{decode, decode_captured, tcp_flags as fl, LinkType};
    use crate::wire::udp_calc::Request;

    /// Print frames through a tracker, like `sniff` does, colour off.
    fn print(frames: &[Vec<u8>], opts: PrintOptions) -> String {
        let opts = PrintOptions { utc: true, ..opts };
        let mut tr = Tracker::new();
        let mut p = PacketPrinter::new(opts);
        let mut out = Vec::new();
        let mut ev = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let ts = Timestamp::new(1_763_703_627, (i as u32) * 25_000);
            let d = decode(LinkType::Ethernet, f);
            ev.clear();
            let tv = tr.observe(ts, &d, &mut ev);
            let v = PacketView::new(ts, i as u64 + 1, &d, tv, &ev);
            p.packet(&mut out, &v).expect("vec");
        }
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn golden_tcp_conversation() {
        let a = fl::ACK;
        let frames = vec![
            tcp(40000, 10009, 1000, 0, fl::SYN, &[]),
            tcp(10009, 40000, 5000, 1001, fl::SYN | a, &[]),
            tcp(40000, 10009, 1001, 5001, a, &[]),
            tcp(40000, 10009, 1001, 5001, fl::PSH | a, b"5\x008\x001\x00"),
            tcp(10009, 40000, 5001, 1007, fl::PSH | a, b"13\0\0"),
            tcp(10009, 40000, 5005, 1007, fl::FIN | a, &[]),
            tcp(40000, 10009, 1007, 5006, fl::FIN | a, &[]),
            tcp(10009, 40000, 5006, 1008, a, &[]),
        ];
        let got = print(&frames, PrintOptions::default());
        let want = "\
05:40:27.000000 IP 127.0.0.1.40000 > 127.0.0.1.10009: Flags [S], seq 0, win 65495, length 0
    -- handshake 1/3: 127.0.0.1.40000 asks 127.0.0.1.10009 to connect (SYN): connect() was called
05:40:27.000025 IP 127.0.0.1.10009 > 127.0.0.1.40000: Flags [S.], seq 0, ack 1, win 65495, length 0
    -- handshake 2/3: 127.0.0.1.10009 accepts (SYN-ACK): a socket is listening there and answers 127.0.0.1.40000
05:40:27.000050 IP 127.0.0.1.40000 > 127.0.0.1.10009: Flags [.], ack 1, win 65495, length 0
    -- handshake 3/3: connection established in 50 µs (ACK): connect() returns, accept() can return
05:40:27.000075 IP 127.0.0.1.40000 > 127.0.0.1.10009: Flags [P.], seq 1:7, ack 1, win 65495, length 6
    .. tcp-calc numbers: 5, 8, 1
05:40:27.000100 IP 127.0.0.1.10009 > 127.0.0.1.40000: Flags [P.], seq 1:5, ack 7, win 65495, length 4
    .. tcp-calc reply: 13
05:40:27.000125 IP 127.0.0.1.10009 > 127.0.0.1.40000: Flags [F.], seq 5, ack 7, win 65495, length 0
    -- 127.0.0.1.10009 closes first (FIN): close() or shutdown(SHUT_WR); 127.0.0.1.40000 will read end-of-file
05:40:27.000150 IP 127.0.0.1.40000 > 127.0.0.1.10009: Flags [F.], seq 7, ack 6, win 65495, length 0
    -- 127.0.0.1.40000 closes too (second FIN); 127.0.0.1.10009, which closed first, will be left in TIME_WAIT
05:40:27.000175 IP 127.0.0.1.10009 > 127.0.0.1.40000: Flags [.], ack 8, win 65495, length 0
    -- last FIN acknowledged: connection closed; 127.0.0.1.10009 is in TIME_WAIT (60 s on Linux), so a server there needs SO_REUSEADDR to bind that port again
";
        assert_eq!(got, want);
    }

    #[test]
    fn golden_absolute_seq_and_refused() {
        let frames = vec![
            tcp(40000, 9, 1000, 0, fl::SYN, &[]),
            tcp(9, 40000, 0, 1001, fl::RST | fl::ACK, &[]),
        ];
        let got = print(
            &frames,
            PrintOptions {
                absolute_seq: true,
                ..Default::default()
            },
        );
        let mut lines = got.lines();
        assert_eq!(
            lines.next(),
            Some("05:40:27.000000 IP 127.0.0.1.40000 > 127.0.0.1.9: Flags [S], seq 1000, win 65495, length 0")
        );
        lines.next();
        assert_eq!(
            lines.next(),
            Some("05:40:27.000025 IP 127.0.0.1.9 > 127.0.0.1.40000: Flags [R.], seq 0, ack 1001, win 65495, length 0")
        );
        assert!(lines.next().is_some_and(
            |l| l.starts_with("    -- connection refused: nothing listens on 127.0.0.1.9")
        ));
    }

    #[test]
    fn golden_udp_calc_and_malformed_and_truncated() {
        let req = Request {
            a: 10,
            b: 20,
            op: 0,
        }
        .encode(Order::Native);
        let mut bad = udp(1, 2, b"x");
        bad[14] = 0x43;
        let got = print(&[udp(5555, 10009, &req), bad], PrintOptions::default());
        let mut lines = got.lines();
        assert_eq!(
            lines.next(),
            Some("05:40:27.000000 IP 127.0.0.1.5555 > 127.0.0.1.10009: UDP, length 12")
        );
        let course = lines.next().unwrap_or_default();
        assert!(
            course.starts_with("    .. udp-calc request: a=10 b=20 op=0 (add) = 30"),
            "{course}"
        );
        assert_eq!(
            lines.next(),
            Some("05:40:27.000025 frame, length 43 [malformed ipv4 @14: IHL 3 is smaller than 5 (a header is at least 5 x 4 = 20 bytes)]")
        );
        // Truncated by a snap length.
        let f = udp(1, 2, &[0u8; 100]);
        let d = decode_captured(LinkType::Ethernet, &f[..60], f.len());
        let mut s = String::new();
        let v = PacketView::new(Timestamp::new(0, 0), 1, &d, None, &[]);
        super::write_line(&mut s, &v, PrintOptions::default(), &mut utc());
        assert_eq!(
            s,
            "00:00:00.000000 IP 127.0.0.1.1 > 127.0.0.1.2: UDP, length 100 [truncated: captured 60 of 142 bytes]\n"
        );
    }

    fn utc() -> crate::render::time::Clock {
        crate::render::time::Clock::new(crate::render::time::TimeStyle::Clock, true)
    }

    fn one_line(f: &[u8]) -> String {
        let d = decode(LinkType::Ethernet, f);
        let v = PacketView::new(Timestamp::new(3600, 1_000), 1, &d, None, &[]);
        let mut s = String::new();
        super::write_line(&mut s, &v, PrintOptions::default(), &mut utc());
        s
    }

    #[test]
    fn golden_icmp_arp_ipv6_unknown() {
        let mut icmp = vec![0u8; 12];
        icmp.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0]);
        icmp.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1, 8, 0, 0, 0, 0, 7, 0, 1]);
        assert_eq!(
            one_line(&icmp),
            "01:00:00.000001 IP 127.0.0.1 > 127.0.0.1: ICMP echo request, id 7, seq 1, length 8\n"
        );
        let mut arp = vec![0xff; 6];
        arp.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
        arp.extend_from_slice(&[2, 0, 0, 0, 0, 1, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
        assert_eq!(
            one_line(&arp),
            "01:00:00.000001 ARP, Request who-has 10.0.0.1 tell 10.0.0.2, length 28\n"
        );
        let mut v6 = vec![0u8; 12];
        v6.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, 17, 64]);
        v6.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        v6.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        v6.extend_from_slice(&[0x13, 0x88, 0x27, 0x19, 0, 8, 0, 0]);
        assert_eq!(
            one_line(&v6),
            "01:00:00.000001 IP6 ::1.5000 > ::1.10009: UDP, length 0\n"
        );
        let mut unknown = vec![0u8; 12];
        unknown.extend_from_slice(&[0x88, 0xb5, 1, 2]);
        assert_eq!(
            one_line(&unknown),
            "01:00:00.000001 ethertype 0x88b5 (not decoded), length 16\n"
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let f = vec![tcp(1, 2, 0, 0, fl::SYN, &[])];
        assert!(!print(&f, PrintOptions::default()).contains('\x1b'));
        let on = print(
            &f,
            PrintOptions {
                color: true,
                ..Default::default()
            },
        );
        assert!(on.contains("\x1b["));
    }

    #[test]
    fn flags_notation() {
        let cases = [
            (fl::SYN, "S"),
            (fl::SYN | fl::ACK, "S."),
            (fl::ACK, "."),
            (fl::PSH | fl::ACK, "P."),
            (fl::FIN | fl::ACK, "F."),
            (fl::RST, "R"),
            (fl::RST | fl::ACK, "R."),
            (0, "none"),
            // tcpdump's order, F S R P . U E W (from its own output):
            (fl::SYN | fl::ACK | fl::CWR, "S.W"),
            (0xff, "FSRP.UEW"),
            (fl::ACK | fl::URG, ".U"),
            (fl::SYN | fl::ECE | fl::CWR, "SEW"),
        ];
        for (f, want) in cases {
            let mut s = String::new();
            super::flag_text(f, &mut s);
            assert_eq!(s, want);
        }
    }

    #[test]
    fn hex_dump_follows_the_line() {
        let got = print(
            &[udp(1, 2, b"hi")],
            PrintOptions {
                hex: true,
                ..Default::default()
            },
        );
        let mut lines = got.lines();
        lines.next();
        assert_eq!(
            lines.next(),
            Some("\t0x0000:  4500 001e 1234 4000 4011 0000 7f00 0001  E....4@.@......."),
            "{got}"
        );
    }
}
