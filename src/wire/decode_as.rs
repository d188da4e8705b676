//! "Decode as" (tshark's `-d`): which course protocol a port speaks.
//!
//! A [`DecodeTable`] maps ports to [`CourseProto`]s. It is filled from
//! `--decode PORT=PROTO` flags, from what `--sniff` and the lab know (the
//! port they used), and from a saved pcapng's comment ([`DecodeTable::to_comment`]
//! / [`DecodeTable::from_comment`]), and handed to every packet source
//! (sniff, replay, trace, `--sniff`) in its validated config.
//! Pure: no I/O; allocates only the table and error text.

use std::fmt;
use std::str::FromStr;

use super::course::{self, Course, Proto, CALC_PORT, ECHO_PORT, MONITOR_PORT};
use super::order::Order;
use super::packet::Decoded;

/// A course protocol a port can be decoded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CourseProto {
    /// UDP calculator, requests read in the order that makes op 0 or 1.
    UdpCalc,
    /// UDP calculator in network order (`"!III"`).
    UdpCalcNet,
    /// TCP calculator (NUL-terminated decimal numbers).
    TcpCalc,
    /// Echo (TCP or UDP).
    Echo,
    /// System monitor (67-byte records over TCP).
    Monitor,
    /// Chat (text lines over TCP).
    Chat,
    /// HTTP (the GET lesson).
    Http,
}

/// Every protocol, in the order `--help` lists them.
pub const ALL: [CourseProto; 7] = [
    CourseProto::UdpCalc,
    CourseProto::UdpCalcNet,
    CourseProto::TcpCalc,
    CourseProto::Echo,
    CourseProto::Monitor,
    CourseProto::Chat,
    CourseProto::Http,
];

/// The transport a protocol runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// UDP only.
    Udp,
    /// TCP only.
    Tcp,
    /// Either.
    Both,
}

impl CourseProto {
    /// The name used on the command line and in saved files: `udp-calc`...
    pub fn name(self) -> &'static str {
        match self {
            CourseProto::UdpCalc => "udp-calc",
            CourseProto::UdpCalcNet => "udp-calc-net",
            CourseProto::TcpCalc => "tcp-calc",
            CourseProto::Echo => "echo",
            CourseProto::Monitor => "monitor",
            CourseProto::Chat => "chat",
            CourseProto::Http => "http",
        }
    }

    /// Which transport it runs on.
    pub fn carrier(self) -> Carrier {
        match self {
            CourseProto::UdpCalc | CourseProto::UdpCalcNet => Carrier::Udp,
            CourseProto::Echo => Carrier::Both,
            _ => Carrier::Tcp,
        }
    }

    /// True if it runs on UDP (`udp`) or TCP (`!udp`).
    pub fn runs_on(self, udp: bool) -> bool {
        match self.carrier() {
            Carrier::Both => true,
            Carrier::Udp => udp,
            Carrier::Tcp => !udp,
        }
    }

    /// The course's default port for it, if it has one socklab decodes by default.
    pub fn default_port(self) -> Option<u16> {
        match self {
            CourseProto::UdpCalc | CourseProto::TcpCalc => Some(CALC_PORT),
            CourseProto::Echo => Some(ECHO_PORT),
            CourseProto::Monitor => Some(MONITOR_PORT),
            CourseProto::UdpCalcNet | CourseProto::Chat | CourseProto::Http => None,
        }
    }
}

impl fmt::Display for CourseProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a `--decode` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeAsError {
    /// No `=`.
    #[error("'{0}' is not PORT=PROTO (for example 21009=tcp-calc)")]
    Shape(String),
    /// The port part.
    #[error("'{0}': port '{1}' is not a number from 1 to 65535")]
    Port(String, String),
    /// The protocol part.
    #[error("'{0}': unknown protocol '{1}'; one of: udp-calc, udp-calc-net, tcp-calc, echo, monitor, chat, http")]
    Proto(String, String),
}

impl FromStr for CourseProto {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        ALL.iter()
            .copied()
            .find(|p| p.name() == s || p.name().replace('-', "") == s)
            .ok_or(s)
    }
}

/// One `PORT=PROTO` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeAs {
    /// The server's port.
    pub port: u16,
    /// What it speaks.
    pub proto: CourseProto,
}

impl FromStr for DecodeAs {
    type Err = DecodeAsError;
    fn from_str(s: &str) -> Result<Self, DecodeAsError> {
        let (p, name) = s
            .split_once('=')
            .ok_or_else(|| DecodeAsError::Shape(s.to_string()))?;
        let port = match p.trim().parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(DecodeAsError::Port(s.to_string(), p.to_string())),
        };
        let proto = name
            .parse::<CourseProto>()
            .map_err(|_| DecodeAsError::Proto(s.to_string(), name.to_string()))?;
        Ok(DecodeAs { port, proto })
    }
}

impl fmt::Display for DecodeAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.port, self.proto)
    }
}

/// The ports to decode as course protocols, besides the defaults.
/// A later rule for the same port and transport replaces an earlier one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeTable {
    rules: Vec<DecodeAs>,
}

/// The prefix of a pcapng comment that carries a decode table.
pub const COMMENT_PREFIX: &str = "socklab decode-as:";

impl DecodeTable {
    /// An empty table: course defaults only.
    pub fn new() -> Self {
        DecodeTable::default()
    }

    /// Add a rule (replacing one for the same port on the same transport).
    pub fn add(&mut self, rule: DecodeAs) {
        let clash = |r: &DecodeAs| {
            r.port == rule.port
                && (r.proto.runs_on(true) && rule.proto.runs_on(true)
                    || r.proto.runs_on(false) && rule.proto.runs_on(false))
        };
        self.rules.retain(|r| !clash(r));
        self.rules.push(rule);
    }

    /// Add every rule of `other` (its rules win).
    pub fn extend(&mut self, other: &DecodeTable) {
        for r in &other.rules {
            self.add(*r);
        }
    }

    /// The rules, in the order they were added.
    pub fn rules(&self) -> &[DecodeAs] {
        &self.rules
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The protocol a UDP (`udp`) or TCP packet between these ports speaks
    /// by the table, and the server's port; the destination port wins
    /// when both match.
    pub fn lookup(&self, udp: bool, src: u16, dst: u16) -> Option<(CourseProto, u16)> {
        let find = |port: u16| {
            self.rules
                .iter()
                .rev()
                .find(|r| r.port == port && r.proto.runs_on(udp))
                .map(|r| (r.proto, port))
        };
        find(dst).or_else(|| find(src))
    }

    /// The table as one comment line for a saved capture:
    /// `socklab decode-as: 21009=tcp-calc 21011=udp-calc`.
    pub fn to_comment(&self) -> String {
        let mut s = COMMENT_PREFIX.to_string();
        for r in &self.rules {
            s.push(' ');
            s.push_str(&r.to_string());
        }
        s
    }

    /// The table in a comment written by [`DecodeTable::to_comment`];
    /// `None` when the comment is not one. Rules that do not parse (a file
    /// from a newer socklab) are skipped.
    pub fn from_comment(comment: &str) -> Option<DecodeTable> {
        let line = comment
            .lines()
            .find_map(|l| l.trim().strip_prefix(COMMENT_PREFIX))?;
        let mut t = DecodeTable::new();
        for word in line.split_whitespace() {
            if let Ok(rule) = word.parse() {
                t.add(rule);
            }
        }
        Some(t)
    }
}

impl DecodeTable {
    /// Decode `port` as the protocols of the course's default port
    /// `course_port` (10009: udp-calc and tcp-calc; 10000: echo; 5000:
    /// monitor), as `--sniff` and the lab know them.
    pub fn speaks(&mut self, port: u16, course_port: u16) {
        for p in ALL {
            if p.default_port() == Some(course_port) {
                self.add(DecodeAs { port, proto: p });
            }
        }
    }
}

/// A port no course protocol uses by default (stands for the client's).
const CLIENT_PORT: u16 = 0;

/// Recognise `payload` as `proto`; `from_server` when the server's port
/// sent it. `None` when the bytes are not that protocol's message.
pub fn recognise_as(
    proto: CourseProto,
    udp: bool,
    from_server: bool,
    payload: &[u8],
) -> Option<Course<'_>> {
    let carrier = if udp { Proto::Udp } else { Proto::Tcp };
    let ports = |server: u16| {
        if from_server {
            (server, CLIENT_PORT)
        } else {
            (CLIENT_PORT, server)
        }
    };
    match proto {
        CourseProto::UdpCalc | CourseProto::TcpCalc | CourseProto::Echo | CourseProto::Monitor => {
            let (s, d) = ports(proto.default_port()?);
            course::recognise(carrier, s, d, payload)
        }
        CourseProto::UdpCalcNet => {
            let (s, d) = ports(CALC_PORT);
            match course::recognise(carrier, s, d, payload)? {
                // Network order first whenever its op makes sense.
                Course::UdpCalcRequest {
                    request,
                    order,
                    other,
                    other_order,
                } if other_order == Order::Big && other.op <= 1 => Some(Course::UdpCalcRequest {
                    request: other,
                    order: other_order,
                    other: request,
                    other_order: order,
                }),
                c => Some(c),
            }
        }
        CourseProto::Http => super::http::parse_head(payload).map(Course::Http),
        CourseProto::Chat if !udp => course::chat(payload, from_server),
        CourseProto::Chat => None,
    }
}

/// The course message in a decoded packet: by `table` first, then by the
/// course's default ports.
pub fn recognise_decoded<'a>(table: &DecodeTable, d: &Decoded<'a>) -> Option<Course<'a>> {
    let (src, dst) = d.ports()?;
    let udp = d.udp().is_some();
    let payload = d.payload_bytes();
    if payload.is_empty() {
        return None;
    }
    match table.lookup(udp, src, dst) {
        Some((proto, server)) => recognise_as(proto, udp, src == server, payload),
        None => course::recognise(if udp { Proto::Udp } else { Proto::Tcp }, src, dst, payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::packet::{decode, testframes, LinkType};
    use crate::wire::udp_calc::Request;

    fn table(rules: &[&str]) -> DecodeTable {
        let mut t = DecodeTable::new();
        for r in rules {
            t.add(r.parse().unwrap());
        }
        t
    }

    #[test]
    fn a_course_protocol_on_another_port_is_decoded_only_by_a_rule() {
        let f = testframes::tcp(40000, 21009, 1, 1, 0x18, b"5\x008\x00");
        let d = decode(LinkType::Ethernet, &f);
        assert_eq!(recognise_decoded(&DecodeTable::new(), &d), None);
        let c = recognise_decoded(&table(&["21009=tcp-calc"]), &d).expect("tcp-calc");
        assert_eq!(c.to_string(), "tcp-calc numbers: 5, 8");
        let f = testframes::tcp(21009, 40000, 1, 1, 0x18, b"13\0\0");
        let d = decode(LinkType::Ethernet, &f);
        let c = recognise_decoded(&table(&["21009=tcp-calc"]), &d).expect("reply");
        assert_eq!(c.to_string(), "tcp-calc reply: 13");
        // The wrong protocol recognises nothing rather than nonsense.
        assert_eq!(recognise_decoded(&table(&["21009=monitor"]), &d), None);
    }

    #[test]
    fn udp_calc_net_reads_network_order_first() {
        let req = Request {
            a: 10,
            b: 500,
            op: 0,
        }
        .encode(Order::Big);
        let f = testframes::udp(40000, 21011, &req);
        let d = decode(LinkType::Ethernet, &f);
        let net = recognise_decoded(&table(&["21011=udp-calc-net"]), &d).expect("net");
        assert!(
            net.to_string()
                .starts_with("udp-calc request: a=10 b=500 op=0 (add) = 510"),
            "{net}"
        );
        if cfg!(target_endian = "little") {
            let plain = recognise_decoded(&table(&["21011=udp-calc"]), &d).expect("plain");
            assert!(
                plain
                    .to_string()
                    .starts_with("udp-calc request: a=167772160"),
                "{plain}"
            );
        }
    }

    #[test]
    fn speaks_maps_a_course_port_to_its_protocols() {
        let mut t = DecodeTable::new();
        t.speaks(21009, CALC_PORT);
        t.speaks(21000, ECHO_PORT);
        assert_eq!(
            t.lookup(true, 1, 21009),
            Some((CourseProto::UdpCalc, 21009))
        );
        assert_eq!(
            t.lookup(false, 1, 21009),
            Some((CourseProto::TcpCalc, 21009))
        );
        assert_eq!(t.lookup(false, 21000, 1), Some((CourseProto::Echo, 21000)));
    }

    #[test]
    fn parse_rules_and_errors() {
        let r: DecodeAs = "21009=tcp-calc".parse().unwrap();
        assert_eq!((r.port, r.proto), (21009, CourseProto::TcpCalc));
        assert_eq!(
            "9999=UDP-CALC-NET".parse::<DecodeAs>().unwrap().proto,
            CourseProto::UdpCalcNet
        );
        assert_eq!(
            "1=udpcalc".parse::<DecodeAs>().unwrap().proto,
            CourseProto::UdpCalc
        );
        let e = |s: &str| s.parse::<DecodeAs>().unwrap_err().to_string();
        assert!(e("21009").contains("is not PORT=PROTO"));
        assert!(e("0=echo").contains("port '0'"));
        assert!(e("70000=echo").contains("port '70000'"));
        assert!(e("80=gopher").contains("unknown protocol 'gopher'; one of: udp-calc"));
    }

    #[test]
    fn lookup_by_transport_and_direction() {
        let mut t = DecodeTable::new();
        t.add("21009=tcp-calc".parse().unwrap());
        t.add("21009=udp-calc".parse().unwrap());
        t.add("8000=http".parse().unwrap());
        assert_eq!(
            t.lookup(false, 40000, 21009),
            Some((CourseProto::TcpCalc, 21009))
        );
        assert_eq!(
            t.lookup(false, 21009, 40000),
            Some((CourseProto::TcpCalc, 21009))
        );
        assert_eq!(
            t.lookup(true, 40000, 21009),
            Some((CourseProto::UdpCalc, 21009))
        );
        assert_eq!(t.lookup(true, 40000, 8000), None, "http is TCP only");
        assert_eq!(t.lookup(false, 1, 2), None);
        // A later rule for the same port and transport wins.
        t.add("21009=echo".parse().unwrap());
        assert_eq!(t.lookup(false, 1, 21009), Some((CourseProto::Echo, 21009)));
        assert_eq!(t.lookup(true, 1, 21009), Some((CourseProto::Echo, 21009)));
        assert_eq!(t.rules().len(), 2);
    }

    #[test]
    fn comment_round_trip() {
        let mut t = DecodeTable::new();
        t.add("21009=tcp-calc".parse().unwrap());
        t.add("9999=udp-calc-net".parse().unwrap());
        let c = t.to_comment();
        assert_eq!(c, "socklab decode-as: 21009=tcp-calc 9999=udp-calc-net");
        assert_eq!(DecodeTable::from_comment(&c), Some(t));
        assert_eq!(
            DecodeTable::from_comment("recorded by x\nsocklab decode-as: 1=echo 2=future"),
            Some({
                let mut t = DecodeTable::new();
                t.add("1=echo".parse().unwrap());
                t
            })
        );
        assert_eq!(DecodeTable::from_comment("just a comment"), None);
    }
}
