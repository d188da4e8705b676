//! Turn what a lab scenario produced (captured packets, reported socket
//! calls) into facts: one record per packet with its flags, relative
//! numbers and narration, and the time-ordered steps of the ladder.

use crate::capture::{OwnedPacket, Timestamp};
use crate::duration::fmt_ns;
use crate::proto::calls::{Call, Side};
use crate::render::line::flag_text;
use crate::track::tcp::{ConnSummary, Event, ResetCause, Tracker};
use crate::wire::decode_as::{recognise_decoded, DecodeTable};
use crate::wire::packet::{decode_captured, tcp_flags as fl, Transport};

use super::ladder::{Carries, End, Step};

/// One packet of the scenario, as the lesson sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketFact {
    /// Position of the packet in the capture it was observed from.
    pub index: usize,
    /// Nanoseconds since the scenario's first step.
    pub t_ns: i64,
    /// Kernel timestamp.
    pub ts: Timestamp,
    /// Sender.
    pub from: End,
    /// `tcp` or `udp`.
    pub proto: &'static str,
    /// TCP flags in tcpdump notation (`S.`), empty for UDP.
    pub flags: String,
    /// Relative sequence number (TCP).
    pub seq: u32,
    /// Relative acknowledgement number (TCP, when ACK is set).
    pub ack: Option<u32>,
    /// Payload bytes.
    pub len: usize,
    /// The tracker's events for this packet (handshake steps, FIN, RST...).
    pub events: Vec<Event>,
    /// Narration, one sentence per event, and course-payload decoding.
    pub narration: Vec<String>,
    /// The ladder label.
    pub label: String,
    /// The ladder's short note.
    pub note: String,
    /// What it hands to the receiving program.
    pub carries: Carries,
}

/// Everything observed.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The packets, in capture order.
    pub packets: Vec<PacketFact>,
    /// The calls, in time order (time since the first step).
    pub calls: Vec<(i64, Call)>,
    /// Packets and calls merged in time order, for the ladder.
    pub steps: Vec<Step>,
    /// The tracker's per-connection summaries.
    pub summaries: Vec<ConnSummary>,
}

fn ns(ts: Timestamp) -> i128 {
    ts.as_nanos()
}

fn call_ns(c: &Call) -> i128 {
    Timestamp::from(c.at).as_nanos()
}

fn end_of(side: Side) -> End {
    match side {
        Side::Client => End::Client,
        Side::Server => End::Server,
    }
}

/// What a reported call consumed, judged from its text.
fn consumes(text: &str) -> Option<Carries> {
    if text.starts_with("accept") {
        Some(Carries::Connection)
    } else if text.starts_with("recv() -> 0 bytes") {
        Some(Carries::Fin)
    } else if text.starts_with("recv() failed") {
        Some(Carries::Reset)
    } else if text.starts_with("recv") {
        Some(Carries::Data)
    } else {
        None
    }
}

/// Build the facts. Only packets to or from `server_ports` are kept;
/// traffic is decoded as course protocols by `decode` (then the default ports).
pub fn observe(
    packets: &[OwnedPacket],
    calls: &[Call],
    server_ports: &[u16],
    decode: &DecodeTable,
) -> Observed {
    let mut tracker = Tracker::new();
    let mut events: Vec<Event> = Vec::new();
    let t0 = packets
        .iter()
        .map(|p| ns(p.ts))
        .chain(calls.iter().map(call_ns))
        .min()
        .unwrap_or(0);
    let who = |port: u16| {
        if server_ports.contains(&port) {
            "the server"
        } else {
            "the client"
        }
    };
    let mut obs = Observed::default();
    for (index, p) in packets.iter().enumerate() {
        let d = decode_captured(p.link, &p.data, p.orig_len);
        let (proto, sport, dport) = match d.transport {
            Transport::Tcp(t) => ("tcp", t.src_port, t.dst_port),
            Transport::Udp(u) => ("udp", u.src_port, u.dst_port),
            _ => continue,
        };
        if !server_ports.contains(&sport) && !server_ports.contains(&dport) {
            continue;
        }
        let from = if server_ports.contains(&sport) {
            End::Server
        } else {
            End::Client
        };
        events.clear();
        let view = tracker.observe(p.ts, &d, &mut events);
        let mut fact = PacketFact {
            index,
            t_ns: (ns(p.ts) - t0) as i64,
            ts: p.ts,
            from,
            proto,
            flags: String::new(),
            seq: 0,
            ack: None,
            len: d.payload_bytes().len(),
            events: events.clone(),
            narration: events.iter().map(ToString::to_string).collect(),
            label: String::new(),
            note: String::new(),
            carries: Carries::Nothing,
        };
        let course = recognise_decoded(decode, &d);
        if let Some(c) = &course {
            fact.narration.push(c.to_string());
        }
        match (d.tcp(), view) {
            (Some(t), Some(v)) => {
                flag_text(t.flags, &mut fact.flags);
                fact.seq = v.rel_seq;
                fact.ack = t.has(fl::ACK).then_some(v.rel_ack);
                fact.len = t.payload_len;
                let mut label = format!("[{}]", fact.flags);
                let uses_seq =
                    t.has(fl::SYN) || t.has(fl::FIN) || t.has(fl::RST) || t.payload_len > 0;
                if uses_seq {
                    if t.payload_len > 0 {
                        label.push_str(&format!(
                            " seq {}:{}",
                            v.rel_seq,
                            v.rel_seq as usize + t.payload_len
                        ));
                    } else {
                        label.push_str(&format!(" seq {}", v.rel_seq));
                    }
                }
                if let Some(a) = fact.ack {
                    label.push_str(&format!(" ack {a}"));
                }
                if t.payload_len > 0 {
                    label.push_str(&format!(" len {}", t.payload_len));
                }
                fact.label = label;
                fact.carries = if t.has(fl::RST) {
                    Carries::Reset
                } else if t.payload_len > 0 {
                    Carries::Data
                } else if t.has(fl::FIN) {
                    Carries::Fin
                } else if events
                    .iter()
                    .any(|e| matches!(e, Event::Established { .. }))
                {
                    Carries::Connection
                } else {
                    Carries::Nothing
                };
            }
            _ => {
                fact.label = format!("UDP len {}", fact.len);
                fact.carries = Carries::Data;
            }
        }
        let notes: Vec<String> = events
            .iter()
            .map(|e| match e {
                Event::Syn { .. } => "handshake 1/3".into(),
                Event::SynAck { .. } => "handshake 2/3".into(),
                Event::Established { took_ns, .. } => {
                    format!("handshake 3/3 ({})", fmt_ns(*took_ns))
                }
                Event::FirstFin { from, .. } => format!("{} closes first", who(from.port)),
                Event::SecondFin { .. } => "second FIN".into(),
                Event::TimeWait { side } => format!("{} is now in TIME_WAIT", who(side.port)),
                Event::HalfClose { .. } => "data after FIN: half-close".into(),
                Event::Reset { cause, .. } => match cause {
                    ResetCause::Refused => "RST: connection refused".into(),
                    ResetCause::Abort => "RST: abort".into(),
                    ResetCause::DataAfterClose => "RST: data after close".into(),
                },
                Event::Retransmission { .. } => "retransmission".into(),
            })
            .collect();
        fact.note = notes.join("; ");
        if fact.note.is_empty() && proto == "udp" {
            if let Some(c) = &course {
                fact.note = c.to_string();
            }
        }
        obs.packets.push(fact);
    }
    obs.calls = calls
        .iter()
        .map(|c| ((call_ns(c) - t0) as i64, c.clone()))
        .collect();
    let mut steps: Vec<(i64, u8, Step)> = Vec::new();
    for (t, c) in &obs.calls {
        steps.push((
            *t,
            0,
            Step::Call {
                t_ns: *t,
                end: end_of(c.side),
                text: c.text.clone(),
                consumes: consumes(&c.text),
            },
        ));
    }
    for p in &obs.packets {
        steps.push((
            p.t_ns,
            1,
            Step::Packet {
                t_ns: p.t_ns,
                from: p.from,
                label: p.label.clone(),
                note: p.note.clone(),
                carries: p.carries,
            },
        ));
    }
    // Stable: equal times keep calls before packets, and push order.
    steps.sort_by_key(|(t, k, _)| (*t, *k));
    obs.steps = steps.into_iter().map(|(_, _, s)| s).collect();
    obs.summaries = tracker.summaries().0;
    obs
}
