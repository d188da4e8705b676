//! `--json`: one JSON object per line, for every command that has it
//! (sniff, replay, trace, lab, `--stats`). Every object carries the schema
//! version `"v": 1` and a `"type"`; timestamped ones carry `ts` (RFC 3339,
//! nanoseconds, UTC) and `ts_ns` (nanoseconds since the epoch, as a string:
//! jq and JavaScript read numbers as doubles and would lose the last
//! digits). The schema is `docs/json-schema.json`; the fields are described
//! in `docs/json.md`. In packets, absent layers are left out rather than
//! written as `null` (except `malformed`, always present).

use std::fmt::Display;
use std::io;
use std::net::IpAddr;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use serde_json::Value;

use super::tcpopt::{OptionList, Segment};
use super::time::write_rfc3339;
use super::view::PacketView;
use crate::capture::Timestamp;
use crate::track::tcp::{ConnSummary, Event, Outcome};
use crate::wire::course::Course;
use crate::wire::packet::{tcp_flags as fl, Link, Net, Transport};

/// The version of the JSON schema (`"v"` in every object): raised when a
/// field changes meaning or goes away, not when one is added.
pub const SCHEMA_VERSION: u8 = 1;

/// A JSON record built elsewhere (trace, lab, stats) in the common
/// envelope: `v`, `type`, and with a time, `ts` and `ts_ns`; the other
/// fields come from `fields` (an object).
pub fn record(kind: &str, ts: Option<Timestamp>, fields: Value) -> Value {
    let mut m = match fields {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    m.insert("v".into(), SCHEMA_VERSION.into());
    m.insert("type".into(), kind.into());
    if let Some(ts) = ts {
        let mut s = String::with_capacity(32);
        write_rfc3339(&mut s, ts);
        m.insert("ts".into(), s.into());
        m.insert("ts_ns".into(), ts.as_nanos().to_string().into());
    }
    Value::Object(m)
}

/// A TCP event as its JSON object: `kind`, the endpoints involved, `text`.
pub fn event_value(e: &Event) -> Value {
    serde_json::to_value(EventJson(e)).unwrap_or(Value::Null)
}

/// A TCP connection's summary as a JSON object: endpoints, counts both
/// ways, handshake time and how it ended (`outcome` with its details).
pub fn connection_value(s: &ConnSummary) -> Value {
    let mut o = serde_json::json!({
        "id": s.id,
        "client": s.client.to_string(),
        "server": s.server.to_string(),
        "first_ts_ns": s.first_ts.as_nanos().to_string(),
        "last_ts_ns": s.last_ts.as_nanos().to_string(),
        "handshake_ns": s.handshake_ns,
        "packets_to_server": s.packets[0],
        "bytes_to_server": s.bytes[0],
        "packets_to_client": s.packets[1],
        "bytes_to_client": s.bytes[1],
        "retransmissions": s.retransmissions,
        "text": s.to_string(),
    });
    let outcome = match s.outcome {
        Outcome::Connecting => serde_json::json!({"state": "connecting"}),
        Outcome::Open => serde_json::json!({"state": "open"}),
        Outcome::Refused => serde_json::json!({"state": "refused"}),
        Outcome::Reset { by, cause } => {
            serde_json::json!({"state": "reset", "by": by.name(), "cause": cause.name()})
        }
        Outcome::HalfClosed { by } => serde_json::json!({"state": "half_closed", "by": by.name()}),
        Outcome::Closed {
            first,
            last_ack_seen,
        } => {
            serde_json::json!({"state": "closed", "first": first.name(), "last_ack_seen": last_ack_seen})
        }
    };
    o["outcome"] = outcome;
    o
}

/// Serialize any `Display` as a JSON string, without an intermediate `String`.
struct AsStr<T: Display>(T);

impl<T: Display> Serialize for AsStr<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

struct Mac([u8; 6]);

impl Serialize for Mac {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&super::num::mac(&self.0))
    }
}

#[derive(Serialize)]
struct LinkJson {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    src: Option<Mac>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst: Option<Mac>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ethertype: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vlan: Vec<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pkttype: Option<u16>,
}

#[derive(Serialize)]
struct IpJson {
    version: u8,
    src: IpAddr,
    dst: IpAddr,
    hdr_len: usize,
    /// IPv4 total length, or IPv6 payload length + 40.
    total_len: usize,
    ttl: u8,
    proto: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    df: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mf: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frag_offset: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checksum: Option<u16>,
    tos: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    flow_label: Option<u32>,
}

#[derive(Serialize)]
struct TcpJson<'a> {
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    seq_abs: u32,
    ack_abs: u32,
    flags: AsStr<FlagStr>,
    syn: bool,
    ack_flag: bool,
    fin: bool,
    rst: bool,
    psh: bool,
    urg: bool,
    win: u16,
    hdr_len: usize,
    checksum: u16,
    urgent: u16,
    payload_len: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<AsStr<OptionList<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conn: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    side: Option<&'static str>,
}

struct FlagStr(u8);

impl Display for FlagStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::with_capacity(8);
        super::line::flag_text(self.0, &mut s);
        f.write_str(&s)
    }
}

#[derive(Serialize)]
struct UdpJson {
    src_port: u16,
    dst_port: u16,
    length: u16,
    checksum: u16,
    payload_len: usize,
}

#[derive(Serialize)]
struct IcmpJson {
    version: u8,
    #[serde(rename = "type")]
    icmp_type: u8,
    code: u8,
    checksum: u16,
    name: &'static str,
}

#[derive(Serialize)]
struct ArpJson {
    operation: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    sender_ip: Option<std::net::Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_ip: Option<std::net::Ipv4Addr>,
}

#[derive(Serialize)]
struct MalformedJson<'a> {
    layer: &'static str,
    offset: usize,
    reason: &'a str,
}

struct EventJson<'a>(&'a Event);

impl Serialize for EventJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", e.kind())?;
        match e {
            Event::Syn { client, server } | Event::SynAck { client, server } => {
                m.serialize_entry("client", &AsStr(client))?;
                m.serialize_entry("server", &AsStr(server))?;
            }
            Event::Established {
                client,
                server,
                took_ns,
            } => {
                m.serialize_entry("client", &AsStr(client))?;
                m.serialize_entry("server", &AsStr(server))?;
                m.serialize_entry("handshake_ns", took_ns)?;
            }
            Event::FirstFin { from, to } | Event::SecondFin { from, to } => {
                m.serialize_entry("from", &AsStr(from))?;
                m.serialize_entry("to", &AsStr(to))?;
            }
            Event::TimeWait { side } => m.serialize_entry("time_wait", &AsStr(side))?,
            Event::HalfClose { closed, sending } => {
                m.serialize_entry("closed", &AsStr(closed))?;
                m.serialize_entry("sending", &AsStr(sending))?;
            }
            Event::Reset { from, to, cause } => {
                m.serialize_entry("from", &AsStr(from))?;
                m.serialize_entry("to", &AsStr(to))?;
                m.serialize_entry("cause", cause.name())?;
            }
            Event::Retransmission { from, rel_seq, len } => {
                m.serialize_entry("from", &AsStr(from))?;
                m.serialize_entry("seq", rel_seq)?;
                m.serialize_entry("len", len)?;
            }
        }
        m.serialize_entry("text", &AsStr(e))?;
        m.end()
    }
}

struct CourseJson<'c, 'a>(&'c Course<'a>);

impl Serialize for CourseJson<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let kind = match self.0 {
            Course::UdpCalcRequest { .. } => "udp_calc_request",
            Course::UdpCalcReply { .. } => "udp_calc_reply",
            Course::TcpCalc { .. } => "tcp_calc",
            Course::MonitorRecord(_) => "monitor_record",
            Course::MonitorPiece { .. } => "monitor_piece",
            Course::Echo { .. } => "echo",
            Course::Http(_) => "http",
            Course::HttpStream(_) => "http_stream",
            Course::Chat { .. } => "chat",
        };
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", kind)?;
        match self.0 {
            Course::UdpCalcRequest { request, order, .. } => {
                m.serialize_entry("a", &request.a)?;
                m.serialize_entry("b", &request.b)?;
                m.serialize_entry("op", &request.op)?;
                let o = match order.concrete() {
                    crate::wire::order::Order::Little => "little",
                    _ => "big",
                };
                m.serialize_entry("order", o)?;
            }
            Course::UdpCalcReply { native, .. } => m.serialize_entry("result", native)?,
            Course::TcpCalc { numbers, .. } => m.serialize_entry("numbers", numbers)?,
            Course::MonitorRecord(r) => {
                m.serialize_entry("host", &r.host)?;
                m.serialize_entry("cpu", &r.cpu)?;
                m.serialize_entry("mem", &r.mem)?;
            }
            Course::Http(h) => {
                m.serialize_entry("start", h.start)?;
                m.serialize_entry("content_length", &h.content_length)?;
            }
            Course::Chat { lines, .. } => {
                let lines: Vec<String> = lines
                    .iter()
                    .map(|l| String::from_utf8_lossy(l).into_owned())
                    .collect();
                m.serialize_entry("lines", &lines)?;
            }
            Course::MonitorPiece { .. } | Course::Echo { .. } | Course::HttpStream(_) => {}
        }
        m.serialize_entry("text", &AsStr(self.0))?;
        m.end()
    }
}

#[derive(Serialize)]
struct PacketJson<'a> {
    v: u8,
    #[serde(rename = "type")]
    kind: &'static str,
    ts: &'a str,
    ts_ns: AsStr<i128>,
    n: u64,
    caplen: usize,
    len: usize,
    truncated: bool,
    link: LinkJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    ethertype_unknown: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<IpJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arp: Option<ArpJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp: Option<TcpJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udp: Option<UdpJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp: Option<IcmpJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_proto_unknown: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fragment: Option<bool>,
    payload_offset: usize,
    payload_len: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    course: Option<CourseJson<'a, 'a>>,
    events: Vec<EventJson<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
    malformed: Option<MalformedJson<'a>>,
}

/// Append the JSON object of one packet to `out` (no newline); `scratch`
/// is a reusable buffer.
pub fn write_packet(
    out: &mut Vec<u8>,
    scratch: &mut String,
    v: &PacketView<'_, '_>,
    absolute_seq: bool,
) -> io::Result<()> {
    let d = v.decoded;
    scratch.clear();
    write_rfc3339(scratch, v.ts);
    let ts: &str = scratch;
    let link = match d.link {
        Link::Ethernet {
            dst,
            src,
            ethertype,
            vlans,
        } => LinkJson {
            kind: "ethernet",
            src: Some(Mac(src)),
            dst: Some(Mac(dst)),
            ethertype: Some(ethertype),
            vlan: vlans
                .iter()
                .flatten()
                .map(|(_, tci)| tci & 0x0fff)
                .collect(),
            pkttype: None,
        },
        Link::Sll {
            version,
            pkttype,
            protocol,
            ..
        } => LinkJson {
            kind: if version == 1 {
                "linux-sll"
            } else {
                "linux-sll2"
            },
            src: None,
            dst: None,
            ethertype: Some(protocol),
            vlan: Vec::new(),
            pkttype: Some(pkttype),
        },
        Link::Null { .. } => LinkJson {
            kind: "null",
            src: None,
            dst: None,
            ethertype: None,
            vlan: Vec::new(),
            pkttype: None,
        },
        Link::Raw | Link::None => LinkJson {
            kind: d.link_type.name(),
            src: None,
            dst: None,
            ethertype: None,
            vlan: Vec::new(),
            pkttype: None,
        },
    };
    let ip = match d.net {
        Net::Ipv4(h) => Some(IpJson {
            version: 4,
            src: IpAddr::V4(h.src),
            dst: IpAddr::V4(h.dst),
            hdr_len: h.header_len,
            total_len: usize::from(h.total_len),
            ttl: h.ttl,
            proto: h.protocol,
            id: Some(h.id),
            df: Some(h.df),
            mf: Some(h.mf),
            frag_offset: Some(h.frag_offset),
            checksum: Some(h.checksum),
            tos: h.tos,
            flow_label: None,
        }),
        Net::Ipv6(h) => Some(IpJson {
            version: 6,
            src: IpAddr::V6(h.src),
            dst: IpAddr::V6(h.dst),
            hdr_len: 40 + h.ext_len,
            total_len: usize::from(h.payload_len) + 40,
            ttl: h.hop_limit,
            proto: h.protocol,
            id: None,
            df: None,
            mf: None,
            frag_offset: None,
            checksum: None,
            tos: h.traffic_class,
            flow_label: Some(h.flow_label),
        }),
        _ => None,
    };
    let arp = match d.net {
        Net::Arp(a) => Some(ArpJson {
            operation: a.operation,
            sender_ip: a.sender_ip,
            target_ip: a.target_ip,
        }),
        _ => None,
    };
    let tcp = match d.transport {
        Transport::Tcp(t) => {
            let (seq, ack) = match (absolute_seq, v.tcp) {
                (false, Some(tv)) => (tv.rel_seq, tv.rel_ack),
                _ => (t.seq, t.ack),
            };
            Some(TcpJson {
                src_port: t.src_port,
                dst_port: t.dst_port,
                seq,
                ack,
                seq_abs: t.seq,
                ack_abs: t.ack,
                flags: AsStr(FlagStr(t.flags)),
                syn: t.has(fl::SYN),
                ack_flag: t.has(fl::ACK),
                fin: t.has(fl::FIN),
                rst: t.has(fl::RST),
                psh: t.has(fl::PSH),
                urg: t.has(fl::URG),
                win: t.window,
                hdr_len: t.header_len,
                checksum: t.checksum,
                urgent: t.urgent,
                payload_len: t.payload_len,
                options: Some(d.tcp_options()).filter(|o| !o.is_empty()).map(|o| {
                    AsStr(OptionList(
                        o,
                        Segment {
                            flags: t.flags,
                            sack_base: 0,
                            cut: d.truncated(),
                        },
                    ))
                }),
                conn: v.tcp.map(|x| x.conn),
                side: v.tcp.map(|x| x.side.name()),
            })
        }
        _ => None,
    };
    let udp = match d.transport {
        Transport::Udp(u) => Some(UdpJson {
            src_port: u.src_port,
            dst_port: u.dst_port,
            length: u.length,
            checksum: u.checksum,
            payload_len: usize::from(u.length).saturating_sub(8),
        }),
        _ => None,
    };
    let icmp = match d.transport {
        Transport::Icmp4(i) | Transport::Icmp6(i) => {
            let v6 = matches!(d.transport, Transport::Icmp6(_));
            Some(IcmpJson {
                version: if v6 { 6 } else { 4 },
                icmp_type: i.icmp_type,
                code: i.code,
                checksum: i.checksum,
                name: super::line::icmp_name(v6, i.icmp_type, i.code),
            })
        }
        _ => None,
    };
    let obj = PacketJson {
        v: SCHEMA_VERSION,
        kind: "packet",
        ts,
        ts_ns: AsStr(v.ts.as_nanos()),
        n: v.number,
        caplen: d.frame.len(),
        len: d.orig_len,
        truncated: d.truncated(),
        link,
        ethertype_unknown: match d.net {
            Net::Unknown { ethertype } => Some(ethertype),
            _ => None,
        },
        ip,
        arp,
        tcp,
        udp,
        icmp,
        ip_proto_unknown: match d.transport {
            Transport::Unknown { protocol } => Some(protocol),
            _ => None,
        },
        fragment: matches!(d.transport, Transport::Fragment { .. }).then_some(true),
        payload_offset: d.payload.start,
        payload_len: d.payload.len(),
        course: v.course.as_ref().map(CourseJson),
        events: v.events.iter().map(EventJson).collect(),
        notes: &d.notes,
        malformed: d.malformed.as_ref().map(|m| MalformedJson {
            layer: m.layer,
            offset: m.offset,
            reason: &m.reason,
        }),
    };
    serde_json::to_writer(&mut *out, &obj).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::super::packet::{PacketView, PrintOptions};
    use crate::capture::Timestamp;
    use crate::track::tcp::Tracker;
    use crate::wire::packet::testframes::{tcp, udp};
    use crate::wire::packet::{decode, tcp_flags as fl, LinkType};

    fn json(frames: &[Vec<u8>]) -> Vec<serde_json::Value> {
        let mut tr = Tracker::new();
        let mut out = Vec::new();
        let mut ev = Vec::new();
        let mut p = super::super::packet::PacketPrinter::new(PrintOptions {
            json: true,
            ..Default::default()
        });
        for (i, f) in frames.iter().enumerate() {
            let d = decode(LinkType::Ethernet, f);
            ev.clear();
            let ts = Timestamp::new(100, i as u32);
            let tv = tr.observe(ts, &d, &mut ev);
            p.packet(&mut out, &PacketView::new(ts, i as u64 + 1, &d, tv, &ev))
                .expect("vec");
        }
        let text = String::from_utf8(out).expect("utf8");
        assert_eq!(text.lines().count(), frames.len(), "one line per packet");
        text.lines()
            .map(|l| serde_json::from_str(l).expect("valid json"))
            .collect()
    }

    #[test]
    fn tcp_fields_and_events() {
        let v = json(&[
            tcp(40000, 80, 1000, 0, fl::SYN, &[]),
            tcp(80, 40000, 7, 1001, fl::SYN | fl::ACK, &[]),
        ]);
        let p = &v[1];
        assert_eq!(p["ts"], "1970-01-01T00:01:40.000000001Z");
        assert_eq!(p["ts_ns"], "100000000001");
        assert_eq!(p["v"], 1);
        assert_eq!(p["type"], "packet");
        assert_eq!(p["ip"]["src"], "127.0.0.1");
        assert_eq!(p["ip"]["version"], 4);
        assert_eq!(p["tcp"]["flags"], "S.");
        assert_eq!(p["tcp"]["seq"], 0);
        assert_eq!(p["tcp"]["ack"], 1);
        assert_eq!(p["tcp"]["ack_abs"], 1001);
        assert_eq!(p["tcp"]["side"], "server");
        assert_eq!(p["tcp"]["conn"], 1);
        assert_eq!(p["events"][0]["kind"], "syn_ack");
        assert!(p["events"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("2/3")));
        assert!(p["malformed"].is_null());
        assert_eq!(p["link"]["type"], "ethernet");
    }

    #[test]
    fn udp_and_course_and_malformed() {
        let mut bad = udp(1, 2, b"x");
        bad[14 + 20 + 5] = 3; // UDP length 3
        let v = json(&[udp(10009, 5555, &[30, 0, 0, 0]), bad]);
        assert_eq!(v[0]["udp"]["dst_port"], 5555);
        assert_eq!(v[0]["udp"]["payload_len"], 4);
        assert_eq!(v[0]["course"]["kind"], "udp_calc_reply");
        assert_eq!(v[1]["malformed"]["layer"], "udp");
        assert_eq!(v[1]["malformed"]["offset"], 34);
    }
}
