//! `replay --stats`: what a capture contains, counted while the pipeline
//! runs (no packet is kept): packets per protocol and per course message,
//! and one row per conversation (TCP with its outcome from the tracker,
//! UDP with its datagram counts), like `tshark -z io,phs -z conv,tcp`.

use std::collections::HashMap;
use std::io::{self, Write};

use crate::capture::Timestamp;
use crate::duration::fmt_ns;
use crate::duration::fmt_offset as secs;
use crate::track::tcp::{ConnSummary, Outcome};
use crate::track::Endpoint;
use crate::wire::course::Course;
use crate::wire::packet::{Decoded, Net, Transport};

/// Most UDP conversations counted; later ones are only counted as "more".
pub const MAX_UDP_CONVERSATIONS: usize = 10_000;

#[derive(Debug, Clone, Copy, Default)]
struct UdpConv {
    first: Timestamp,
    last: Timestamp,
    /// Datagrams and payload bytes from the first sender, then the other way.
    packets: [u64; 2],
    bytes: [u64; 2],
    order: u64,
}

/// Counters for `--stats`.
#[derive(Debug, Default)]
pub struct Stats {
    first: Option<Timestamp>,
    last: Timestamp,
    packets: u64,
    wire_bytes: u64,
    counts: Vec<(&'static str, u64)>,
    udp: HashMap<(Endpoint, Endpoint), UdpConv>,
    udp_left_out: u64,
}

impl Stats {
    /// No packets yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn bump(&mut self, what: &'static str) {
        match self.counts.iter_mut().find(|(k, _)| *k == what) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((what, 1)),
        }
    }

    /// Count one packet that passed the filter.
    pub fn count(&mut self, ts: Timestamp, d: &Decoded<'_>, course: Option<&Course<'_>>) {
        self.first.get_or_insert(ts);
        self.last = ts;
        self.packets += 1;
        self.wire_bytes += d.orig_len as u64;
        self.bump(match d.net {
            Net::Ipv4(_) => "IPv4",
            Net::Ipv6(_) => "IPv6",
            Net::Arp(_) => "ARP",
            Net::Unknown { .. } => "other link-layer protocol",
            Net::None => "no network layer decoded",
        });
        match d.transport {
            Transport::Tcp(_) => self.bump("  TCP"),
            Transport::Udp(_) => self.bump("  UDP"),
            Transport::Icmp4(_) => self.bump("  ICMP"),
            Transport::Icmp6(_) => self.bump("  ICMPv6"),
            Transport::Fragment { .. } => self.bump("  IP fragment"),
            Transport::Unknown { .. } => self.bump("  other IP protocol"),
            Transport::None => {}
        }
        if let Some(c) = course {
            self.bump(match c {
                Course::UdpCalcRequest { .. } => "    udp-calc request",
                Course::UdpCalcReply { .. } => "    udp-calc reply",
                Course::TcpCalc { reply: false, .. } => "    tcp-calc numbers",
                Course::TcpCalc { reply: true, .. } => "    tcp-calc reply",
                Course::MonitorRecord(_) => "    monitor record",
                Course::MonitorPiece { .. } => "    monitor record piece",
                Course::Echo { reply: false, .. } => "    echo message",
                Course::Echo { reply: true, .. } => "    echo reply",
                Course::Http(h) if h.response => "    http response",
                Course::Http(_) => "    http request",
                Course::HttpStream(_) => "    http body or head piece",
                Course::Chat {
                    from_server: false, ..
                } => "    chat lines sent",
                Course::Chat {
                    from_server: true, ..
                } => "    chat lines relayed",
            });
        }
        if d.malformed.is_some() {
            self.bump("malformed");
        }
        if d.truncated() {
            self.bump("truncated (snap length)");
        }
        if let (Transport::Udp(u), Some((src, dst))) = (d.transport, Endpoint::pair(d)) {
            let payload = u64::from(u.length.saturating_sub(8));
            let n = self.udp.len() as u64;
            // Keyed by the first sender: a reply counts in the other direction.
            let (key, dir) = if self.udp.contains_key(&(dst, src)) {
                ((dst, src), 1)
            } else {
                ((src, dst), 0)
            };
            if !self.udp.contains_key(&key) && self.udp.len() >= MAX_UDP_CONVERSATIONS {
                self.udp_left_out += 1;
                return;
            }
            let c = self.udp.entry(key).or_insert(UdpConv {
                first: ts,
                order: n,
                ..Default::default()
            });
            c.last = ts;
            c.packets[dir] += 1;
            c.bytes[dir] += payload;
        }
    }

    /// Write the report: protocol counts, TCP conversations with their
    /// outcome, UDP conversations.
    pub fn write<W: Write>(
        &self,
        w: &mut W,
        tcp: &[ConnSummary],
        tcp_left_out: u64,
    ) -> io::Result<()> {
        let t0 = self.first.unwrap_or_default();
        let span = self.last.nanos_since(t0);
        writeln!(
            w,
            "{}, {} on the wire, over {}",
            crate::plural::count(self.packets, "packet"),
            crate::plural::count(self.wire_bytes, "byte"),
            fmt_ns(i64::try_from(span).unwrap_or(i64::MAX))
        )?;
        writeln!(w)?;
        writeln!(w, "Protocols:")?;
        for (what, n) in &self.counts {
            writeln!(w, "  {what:<30} {n:>10}")?;
        }
        writeln!(w)?;
        writeln!(w, "TCP conversations: {}", tcp.len() as u64 + tcp_left_out)?;
        if !tcp.is_empty() {
            writeln!(
                w,
                "  {:<4} {:<44} {:>7} {:>9} {:>7} {:>9} {:>10} {:>10} {:>11}  outcome",
                "#",
                "client <-> server",
                "pkts >",
                "bytes >",
                "pkts <",
                "bytes <",
                "start",
                "duration",
                "handshake"
            )?;
        }
        for s in tcp {
            let start = s.first_ts.nanos_since(t0);
            let dur = s.last_ts.nanos_since(s.first_ts);
            writeln!(
                w,
                "  {:<4} {:<44} {:>7} {:>9} {:>7} {:>9} {:>10} {:>10} {:>11}  {}",
                s.id,
                format!("{} <-> {}", s.client, s.server),
                s.packets[0],
                s.bytes[0],
                s.packets[1],
                s.bytes[1],
                secs(start),
                secs(dur),
                s.handshake_ns.map(fmt_ns).unwrap_or_else(|| "-".into()),
                outcome(s)
            )?;
        }
        if tcp_left_out > 0 {
            writeln!(w, "  ... and {tcp_left_out} more not kept")?;
        }
        writeln!(w)?;
        let mut udp: Vec<(&(Endpoint, Endpoint), &UdpConv)> = self.udp.iter().collect();
        udp.sort_by_key(|(_, c)| c.order);
        writeln!(
            w,
            "UDP conversations: {}",
            udp.len() as u64 + self.udp_left_out
        )?;
        if !udp.is_empty() {
            writeln!(
                w,
                "  {:<44} {:>7} {:>9} {:>7} {:>9} {:>10} {:>10}",
                "first sender <-> peer",
                "pkts >",
                "bytes >",
                "pkts <",
                "bytes <",
                "start",
                "duration"
            )?;
        }
        for ((a, b), c) in udp {
            writeln!(
                w,
                "  {:<44} {:>7} {:>9} {:>7} {:>9} {:>10} {:>10}",
                format!("{a} <-> {b}"),
                c.packets[0],
                c.bytes[0],
                c.packets[1],
                c.bytes[1],
                secs(c.first.nanos_since(t0)),
                secs(c.last.nanos_since(c.first))
            )?;
        }
        if self.udp_left_out > 0 {
            writeln!(
                w,
                "  ... and {} more datagrams in conversations not kept",
                self.udp_left_out
            )?;
        }
        Ok(())
    }
}

impl Stats {
    /// The report as one JSON object (`--stats --json`), in the schema of
    /// `docs/json-schema.json`: the same counts and conversations as
    /// [`Stats::write`], with protocol names unindented and their depth in
    /// `level`.
    pub fn write_json<W: Write>(
        &self,
        w: &mut W,
        tcp: &[ConnSummary],
        tcp_left_out: u64,
    ) -> io::Result<()> {
        use serde_json::json;
        let t0 = self.first.unwrap_or_default();
        let protocols: Vec<serde_json::Value> = self
            .counts
            .iter()
            .map(|(what, n)| {
                let name = what.trim_start();
                json!({"name": name, "level": (what.len() - name.len()) / 2, "packets": n})
            })
            .collect();
        let mut udp: Vec<(&(Endpoint, Endpoint), &UdpConv)> = self.udp.iter().collect();
        udp.sort_by_key(|(_, c)| c.order);
        let udp: Vec<serde_json::Value> = udp
            .into_iter()
            .map(|((a, b), c)| {
                json!({
                    "first_sender": a.to_string(),
                    "peer": b.to_string(),
                    "first_ts_ns": c.first.as_nanos().to_string(),
                    "last_ts_ns": c.last.as_nanos().to_string(),
                    "packets_to_peer": c.packets[0],
                    "bytes_to_peer": c.bytes[0],
                    "packets_to_first_sender": c.packets[1],
                    "bytes_to_first_sender": c.bytes[1],
                })
            })
            .collect();
        let v = crate::render::json::record(
            "stats",
            None,
            json!({
                "packets": self.packets,
                "wire_bytes": self.wire_bytes,
                "first_ts_ns": self.first.map(|t| t.as_nanos().to_string()),
                "last_ts_ns": self.first.map(|_| self.last.as_nanos().to_string()),
                "span_ns": self.last.nanos_since(t0).to_string(),
                "protocols": protocols,
                "tcp_conversations": tcp.len() as u64 + tcp_left_out,
                "tcp": tcp.iter().map(crate::render::json::connection_value).collect::<Vec<_>>(),
                "tcp_left_out": tcp_left_out,
                "udp_conversations": self.udp.len(),
                "udp": udp,
                "udp_datagrams_left_out": self.udp_left_out,
            }),
        );
        serde_json::to_writer(&mut *w, &v).map_err(io::Error::other)?;
        writeln!(w)
    }
}

/// The connection's final state in a few words, after its half-close if
/// it had one (who shut down sending first, the data that came after).
fn outcome(s: &ConnSummary) -> String {
    let end = end_state(s);
    match s.half_close_text() {
        Some(h) => format!("{h}; then {end}"),
        None => end,
    }
}

fn end_state(s: &ConnSummary) -> String {
    let who = |side: crate::track::tcp::Side| side.name();
    match s.outcome {
        Outcome::Connecting => "SYN unanswered".into(),
        Outcome::Open => {
            if s.handshake_ns.is_some() {
                "established, still open".into()
            } else {
                "open (handshake not seen)".into()
            }
        }
        Outcome::Refused => "refused (RST answered the SYN)".into(),
        Outcome::Reset { by, cause } => format!(
            "reset by the {} ({})",
            who(by),
            match cause {
                crate::track::tcp::ResetCause::Abort => "abort: unread data or SO_LINGER 0",
                crate::track::tcp::ResetCause::DataAfterClose => "data after close",
                crate::track::tcp::ResetCause::Refused => "refused",
            }
        ),
        Outcome::HalfClosed { by } => format!("half-closed: only the {} sent FIN", who(by)),
        Outcome::Closed {
            first,
            last_ack_seen,
        } => format!(
            "closed (FIN both ways), {} closed first{}",
            who(first),
            if last_ack_seen {
                " -> TIME_WAIT"
            } else {
                ", last ACK not seen"
            }
        ),
    }
}
