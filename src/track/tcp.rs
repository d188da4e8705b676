//! The TCP conversation tracker.
//!
//! Feed it every decoded TCP packet in time order with [`Tracker::observe`];
//! it returns the connection's view of the packet (connection id, which
//! side sent it, relative sequence numbers) and pushes the narration events
//! the packet caused into a caller-owned `Vec` (reused: no allocation per
//! packet once it has grown). [`Tracker::summaries`] describes every
//! connection at the end.
//!
//! Heuristics, stated so a reader can judge them:
//! - the client is the side that sent the first SYN without ACK (or, when
//!   the capture starts mid-connection, the side that sent the first packet
//!   seen, unless that packet is a SYN-ACK);
//! - a retransmission is a segment that uses sequence space (data, SYN or
//!   FIN) and starts below the highest sequence already sent that way;
//! - an RST that answers a SYN (no SYN-ACK seen, it acknowledges ISN + 1)
//!   means "connection refused"; an RST from a side that had already sent
//!   FIN means data arrived for a closed socket; any other RST is an abort
//!   (close() with unread data, or SO_LINGER 0);
//! - the side whose FIN was first is left in TIME_WAIT once the other
//!   side's FIN is acknowledged;
//! - data sent by one side after the other side's FIN is a half-close
//!   (`shutdown(SHUT_WR)`).

use crate::duration::fmt_ns;
use std::collections::VecDeque;

use hashlink::linked_hash_map::{Entry, LinkedHashMap};
use std::fmt;

use super::Endpoint;
use crate::capture::Timestamp;
use crate::wire::packet::{tcp_flags as fl, Decoded, TcpInfo};

/// Most connections tracked at once (the default bound; see
/// [`Tracker::with_limit`]). Beyond it, a new connection first retires the
/// oldest finished one, else the least recently active one (a port scan's
/// unanswered SYNs): its summary is kept as it stood, and a later packet of
/// it starts a new connection. Eviction is O(1): the table is kept in
/// order of last activity. About 100,000 connections take some 30 MB.
pub const MAX_CONNECTIONS: usize = 100_000;
/// Most per-connection summaries kept for the end of the capture.
pub const MAX_SUMMARIES: usize = 10_000;
/// Finished connections (closed or reset) stay in the table for late
/// packets (a retransmitted FIN, a last ACK); beyond this many, the oldest
/// finished one is retired to the summaries, so memory stays flat on long
/// captures.
pub const MAX_FINISHED_KEPT: usize = 1024;

/// Which end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The side that connected (sent the SYN).
    Client,
    /// The side that accepted.
    Server,
}

impl Side {
    /// 0 for the client, 1 for the server (per-side arrays).
    pub fn idx(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
    /// `client` or `server`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// Likely reason for a reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetCause {
    /// RST-ACK answering a SYN: nothing listens on that port.
    Refused,
    /// The sender had closed already and data still came in.
    DataAfterClose,
    /// Abortive close: close() with unread data, or SO_LINGER 0.
    Abort,
}

impl ResetCause {
    /// Short machine name: `refused`, `data_after_close`, `abort`.
    pub fn name(self) -> &'static str {
        match self {
            ResetCause::Refused => "refused",
            ResetCause::DataAfterClose => "data_after_close",
            ResetCause::Abort => "abort",
        }
    }
}

/// Something worth saying about a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Handshake 1/3: the client's SYN.
    Syn {
        /// Connecting side.
        client: Endpoint,
        /// Listening side.
        server: Endpoint,
    },
    /// Handshake 2/3: the server's SYN-ACK.
    SynAck {
        /// Connecting side.
        client: Endpoint,
        /// Listening side.
        server: Endpoint,
    },
    /// Handshake 3/3: the client's ACK; the connection is established.
    Established {
        /// Connecting side.
        client: Endpoint,
        /// Listening side.
        server: Endpoint,
        /// Nanoseconds from the SYN to this ACK.
        took_ns: i64,
    },
    /// The first FIN of the connection: `from` closes first (active close).
    FirstFin {
        /// Side closing first.
        from: Endpoint,
        /// The other side.
        to: Endpoint,
    },
    /// The other side's FIN.
    SecondFin {
        /// Side closing second (passive close).
        from: Endpoint,
        /// The side that closed first.
        to: Endpoint,
    },
    /// The second FIN was acknowledged: `side` is in TIME_WAIT.
    TimeWait {
        /// The side that closed first.
        side: Endpoint,
    },
    /// Data flows after one side's FIN: that side used shutdown(SHUT_WR).
    HalfClose {
        /// Side that shut down its sending direction.
        closed: Endpoint,
        /// Side still sending.
        sending: Endpoint,
    },
    /// A reset.
    Reset {
        /// Sender of the RST.
        from: Endpoint,
        /// The other side.
        to: Endpoint,
        /// Likely reason.
        cause: ResetCause,
    },
    /// A segment sent again.
    Retransmission {
        /// Sender.
        from: Endpoint,
        /// Relative sequence number of the segment.
        rel_seq: u32,
        /// Its length in sequence space.
        len: u32,
    },
}

impl Event {
    /// Stable machine name for JSON: `syn`, `syn_ack`, `established`,
    /// `first_fin`, `second_fin`, `time_wait`, `half_close`, `reset`,
    /// `retransmission`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Syn { .. } => "syn",
            Event::SynAck { .. } => "syn_ack",
            Event::Established { .. } => "established",
            Event::FirstFin { .. } => "first_fin",
            Event::SecondFin { .. } => "second_fin",
            Event::TimeWait { .. } => "time_wait",
            Event::HalfClose { .. } => "half_close",
            Event::Reset { .. } => "reset",
            Event::Retransmission { .. } => "retransmission",
        }
    }
}

impl fmt::Display for Event {
    /// The narration a learner reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Syn { client, server } => write!(
                f,
                "handshake 1/3: {client} asks {server} to connect (SYN): connect() was called"
            ),
            Event::SynAck { client, server } => write!(
                f,
                "handshake 2/3: {server} accepts (SYN-ACK): a socket is listening there"
            )
            .and_then(|_| write!(f, " and answers {client}")),
            Event::Established { took_ns, .. } => write!(
                f,
                "handshake 3/3: connection established in {} (ACK): connect() returns, accept() can return",
                fmt_ns(*took_ns)
            ),
            Event::FirstFin { from, to } => write!(
                f,
                "{from} closes first (FIN): close() or shutdown(SHUT_WR); {to} will read end-of-file"
            ),
            Event::SecondFin { from, to } => write!(
                f,
                "{from} closes too (second FIN); {to}, which closed first, will be left in TIME_WAIT"
            ),
            Event::TimeWait { side } => write!(
                f,
                "last FIN acknowledged: connection closed; {side} is in TIME_WAIT (60 s on Linux), \
                 so a server there needs SO_REUSEADDR to bind that port again"
            ),
            Event::HalfClose { closed, sending } => write!(
                f,
                "half-close: {closed} sent FIN but {sending} keeps sending: {closed} used shutdown(SHUT_WR) and can still receive"
            ),
            Event::Reset { from, to, cause } => match cause {
                ResetCause::Refused => write!(
                    f,
                    "connection refused: nothing listens on {from}, the kernel answered the SYN with RST \
                     (connect() on {to} fails with ECONNREFUSED)"
                ),
                ResetCause::DataAfterClose => write!(
                    f,
                    "reset by {from}: it had closed, yet data kept arriving from {to} \
                     (the next send()/recv() on {to} fails with ECONNRESET or EPIPE)"
                ),
                ResetCause::Abort => write!(
                    f,
                    "connection aborted by {from} (RST): likely close() with unread data in its receive buffer, \
                     or SO_LINGER set to 0; {to} gets ECONNRESET"
                ),
            },
            Event::Retransmission { from, rel_seq, len } => write!(
                f,
                "retransmission: {from} sends seq {rel_seq} ({len} {len_bytes} of sequence space) again: the first copy was not acknowledged in time", len_bytes = crate::plural::noun(*len, "byte")),
        }
    }
}

/// The tracker's view of one TCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpView {
    /// Connection number, from 1, in order of first appearance.
    pub conn: u32,
    /// Which side sent this packet.
    pub side: Side,
    /// Sequence number relative to the sender's initial one.
    pub rel_seq: u32,
    /// Acknowledgement number relative to the receiver's initial one.
    pub rel_ack: u32,
}

#[derive(Debug, Clone, Copy, Default)]
struct Dir {
    /// Base for relative numbers: the ISN (or first seq seen).
    base: Option<u32>,
    /// Highest sequence end sent (seq + seq_len).
    high: Option<u32>,
    /// Sequence number of this side's FIN.
    fin_seq: Option<u32>,
    payload_bytes: u64,
    packets: u64,
    retransmissions: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hs {
    None,
    SynSent,
    SynAckSent,
    Done,
}

/// How a connection ended (or where it stands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handshake started, not finished.
    Connecting,
    /// Open, no close seen.
    Open,
    /// Refused with RST.
    Refused,
    /// Reset after opening.
    Reset {
        /// Who sent the RST.
        by: Side,
        /// Likely reason.
        cause: ResetCause,
    },
    /// One FIN seen.
    HalfClosed {
        /// Who sent it.
        by: Side,
    },
    /// Both FINs seen.
    Closed {
        /// Who closed first (and is in TIME_WAIT once the last ACK passed).
        first: Side,
        /// True once the second FIN's ACK was seen.
        last_ack_seen: bool,
    },
}

#[derive(Debug, Clone)]
struct Conn {
    id: u32,
    ends: [Endpoint; 2],
    dirs: [Dir; 2],
    hs: Hs,
    syn_ts: Option<Timestamp>,
    handshake_ns: Option<i64>,
    first_fin: Option<Side>,
    second_fin: bool,
    last_ack_seen: bool,
    half_close_said: bool,
    /// Payload bytes each side (client, server) sent after the other side's FIN.
    after_fin: [u64; 2],
    reset: Option<(Side, ResetCause)>,
    first_ts: Timestamp,
    last_ts: Timestamp,
}

impl Conn {
    fn finished(&self) -> bool {
        self.reset.is_some() || self.last_ack_seen
    }

    fn outcome(&self) -> Outcome {
        if let Some((by, cause)) = self.reset {
            return match cause {
                ResetCause::Refused => Outcome::Refused,
                _ => Outcome::Reset { by, cause },
            };
        }
        match (self.first_fin, self.second_fin) {
            (Some(first), true) => Outcome::Closed {
                first,
                last_ack_seen: self.last_ack_seen,
            },
            (Some(by), false) => Outcome::HalfClosed { by },
            _ if self.hs == Hs::Done || self.hs == Hs::None => Outcome::Open,
            _ => Outcome::Connecting,
        }
    }

    fn summary(&self) -> ConnSummary {
        ConnSummary {
            id: self.id,
            client: self.ends[0],
            server: self.ends[1],
            first_ts: self.first_ts,
            last_ts: self.last_ts,
            handshake_ns: self.handshake_ns,
            outcome: self.outcome(),
            bytes: [self.dirs[0].payload_bytes, self.dirs[1].payload_bytes],
            packets: [self.dirs[0].packets, self.dirs[1].packets],
            retransmissions: self.dirs[0].retransmissions + self.dirs[1].retransmissions,
            after_fin: self.after_fin,
        }
    }
}

/// What happened on one connection, for the end-of-capture table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnSummary {
    /// Connection number.
    pub id: u32,
    /// Connecting side.
    pub client: Endpoint,
    /// Accepting side.
    pub server: Endpoint,
    /// First packet seen.
    pub first_ts: Timestamp,
    /// Last packet seen.
    pub last_ts: Timestamp,
    /// SYN to handshake ACK, if the handshake was seen.
    pub handshake_ns: Option<i64>,
    /// How it ended.
    pub outcome: Outcome,
    /// Payload bytes client->server and server->client.
    pub bytes: [u64; 2],
    /// Packets client->server and server->client.
    pub packets: [u64; 2],
    /// Retransmitted segments, both ways.
    pub retransmissions: u64,
    /// Payload bytes the client and the server sent after the other side's
    /// FIN: non-zero means a half-close (`shutdown(SHUT_WR)`) was used and
    /// the other direction kept flowing.
    pub after_fin: [u64; 2],
}

impl ConnSummary {
    /// The half-close, if there was one: the side that shut down sending
    /// first, and the payload bytes the other side sent after its FIN.
    pub fn half_close(&self) -> Option<(Side, u64)> {
        match self.after_fin {
            [0, 0] => None,
            [c, 0] => Some((Side::Server, c)),
            [0, s] => Some((Side::Client, s)),
            // Both sent after the other's FIN: data crossed the FINs; the
            // side that sent more after is the one that kept talking.
            [c, s] if c >= s => Some((Side::Server, c)),
            [_, s] => Some((Side::Client, s)),
        }
    }

    /// `half-close: the client shut down sending (FIN) and the server
    /// still sent 11 bytes after it`, when there was one.
    pub fn half_close_text(&self) -> Option<String> {
        let (closed, n) = self.half_close()?;
        Some(format!(
            "half-close: the {} shut down sending (FIN) and the {} still sent {} after it",
            closed.name(),
            closed.other().name(),
            crate::plural::count(n, "byte")
        ))
    }
}

impl fmt::Display for ConnSummary {
    /// One paragraph: `#1 A > B: handshake 52 µs, 12 B > / 4 B <, closed: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {} > {}: ", self.id, self.client, self.server)?;
        match self.handshake_ns {
            Some(ns) => write!(f, "handshake {}", fmt_ns(ns))?,
            None => f.write_str("handshake not seen")?,
        }
        write!(
            f,
            ", {} / {} payload {} from the client, {} / {} from the server",
            crate::plural::count(self.packets[0], "packet"),
            self.bytes[0],
            crate::plural::noun(self.bytes[0], "byte"),
            self.packets[1],
            self.bytes[1]
        )?;
        if self.retransmissions > 0 {
            write!(
                f,
                ", {}",
                crate::plural::count(self.retransmissions, "retransmission")
            )?;
        }
        let who = |s: Side| match s {
            Side::Client => self.client,
            Side::Server => self.server,
        };
        if let Some(h) = self.half_close_text() {
            write!(f, "; {h}")?;
        }
        f.write_str("; ")?;
        match self.outcome {
            Outcome::Connecting => f.write_str("still connecting (no answer to the SYN seen)"),
            Outcome::Open => f.write_str("still open"),
            Outcome::Refused => write!(f, "refused (RST): nothing listened on {}", self.server),
            Outcome::Reset { by, cause } => write!(
                f,
                "reset by the {} {} ({})",
                by.name(),
                who(by),
                match cause {
                    ResetCause::Abort => "abort: unread data or SO_LINGER 0",
                    ResetCause::DataAfterClose => "data arrived after it closed",
                    ResetCause::Refused => "refused",
                }
            ),
            Outcome::HalfClosed { by } => write!(
                f,
                "half-closed: the {} {} sent FIN, the other side has not",
                by.name(),
                who(by)
            ),
            Outcome::Closed {
                first,
                last_ack_seen,
            } => {
                write!(
                    f,
                    "closed: the {} {} closed first",
                    first.name(),
                    who(first)
                )?;
                if last_ack_seen {
                    write!(f, " and is left in TIME_WAIT")
                } else {
                    write!(f, " (last ACK not seen yet; it will be in TIME_WAIT)")
                }
            }
        }
    }
}

type Key = (Endpoint, Endpoint);

fn key(a: Endpoint, b: Endpoint) -> Key {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Signed comparison in sequence space: true when `a` is before `b`.
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Follows TCP connections. See the module docs.
#[derive(Debug)]
pub struct Tracker {
    /// Least recently active first (every packet moves its connection to the back).
    conns: LinkedHashMap<Key, Conn>,
    limit: usize,
    next_id: u32,
    done: Vec<ConnSummary>,
    done_dropped: u64,
    /// Finished connections still in `conns`, oldest first (key and id).
    finished: VecDeque<(Key, u32)>,
}

impl Default for Tracker {
    fn default() -> Self {
        Self::with_limit(MAX_CONNECTIONS)
    }
}

impl Tracker {
    /// An empty tracker holding at most [`MAX_CONNECTIONS`] connections.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty tracker holding at most `limit` connections (at least 1).
    pub fn with_limit(limit: usize) -> Self {
        Tracker {
            conns: LinkedHashMap::new(),
            limit: limit.max(1),
            next_id: 0,
            done: Vec::new(),
            done_dropped: 0,
            finished: VecDeque::new(),
        }
    }

    /// Note one packet. Non-TCP packets return `None` and add no events.
    /// Events are appended to `events` (the caller clears it).
    pub fn observe(
        &mut self,
        ts: Timestamp,
        d: &Decoded<'_>,
        events: &mut Vec<Event>,
    ) -> Option<TcpView> {
        let t = d.tcp()?;
        let (src, dst) = Endpoint::pair(d)?;
        let k = key(src, dst);
        let is_syn = t.has(fl::SYN) && !t.has(fl::ACK);
        // A new SYN on a finished connection starts a new one.
        if is_syn
            && self
                .conns
                .get(&k)
                .is_some_and(|c| c.finished() || c.first_fin.is_some())
        {
            if let Some(old) = self.conns.remove(&k) {
                self.retire(old);
            }
        }
        if self.conns.len() >= self.limit && !self.conns.contains_key(&k) {
            self.evict();
        }
        // One hash lookup on the common path; the connection moves to the
        // back (most recently active).
        let next_id = &mut self.next_id;
        let c = match self.conns.entry(k) {
            Entry::Occupied(mut o) => {
                o.to_back();
                o.into_mut()
            }
            Entry::Vacant(v) => v.insert({
                *next_id = next_id.wrapping_add(1);
                // The client is the SYN's sender; a SYN-ACK's receiver; else the first sender.
                let ends = if t.has(fl::SYN) && t.has(fl::ACK) {
                    [dst, src]
                } else {
                    [src, dst]
                };
                Conn {
                    id: *next_id,
                    ends,
                    dirs: [Dir::default(); 2],
                    hs: Hs::None,
                    syn_ts: None,
                    handshake_ns: None,
                    first_fin: None,
                    second_fin: false,
                    last_ack_seen: false,
                    half_close_said: false,
                    after_fin: [0; 2],
                    reset: None,
                    first_ts: ts,
                    last_ts: ts,
                }
            }),
        };
        let was_finished = c.finished();
        let view = step(c, ts, t, src, dst, events);
        if !was_finished && c.finished() {
            let id = c.id;
            self.finished.push_back((k, id));
            if self.finished.len() > MAX_FINISHED_KEPT {
                self.retire_oldest_finished();
            }
        }
        Some(view)
    }

    fn retire(&mut self, c: Conn) {
        if self.done.len() < MAX_SUMMARIES {
            self.done.push(c.summary());
        } else {
            self.done_dropped += 1;
        }
    }

    /// Retire the oldest finished connection still in the table; false if
    /// there is none. O(1) amortised: each queue entry is looked at once.
    fn retire_oldest_finished(&mut self) -> bool {
        while let Some((k, id)) = self.finished.pop_front() {
            // Skip entries whose addresses a new connection has taken since.
            if self
                .conns
                .get(&k)
                .is_some_and(|c| c.id == id && c.finished())
            {
                if let Some(c) = self.conns.remove(&k) {
                    self.retire(c);
                }
                return true;
            }
        }
        false
    }

    /// Make room for one connection in O(1) (amortised): the oldest
    /// finished connection if there is one, else the least recently active.
    fn evict(&mut self) {
        if self.retire_oldest_finished() {
            return;
        }
        if let Some((_, c)) = self.conns.pop_front() {
            self.retire(c);
        }
    }

    /// Every connection seen, in order of first appearance (at most
    /// [`MAX_SUMMARIES`] finished ones), and how many were left out.
    pub fn summaries(&self) -> (Vec<ConnSummary>, u64) {
        let mut all = self.done.clone();
        all.extend(self.conns.values().map(Conn::summary));
        all.sort_by_key(|s| s.id);
        (all, self.done_dropped)
    }
}

fn step(
    c: &mut Conn,
    ts: Timestamp,
    t: &TcpInfo,
    src: Endpoint,
    dst: Endpoint,
    events: &mut Vec<Event>,
) -> TcpView {
    let side = if src == c.ends[0] && dst == c.ends[1] {
        Side::Client
    } else {
        Side::Server
    };
    let (me, peer) = (side.idx(), side.other().idx());
    c.last_ts = ts;
    let syn = t.has(fl::SYN);
    let ack = t.has(fl::ACK);
    let len = t.seq_len();

    // Bases for relative numbers.
    if c.dirs[me].base.is_none() || (syn && c.dirs[me].high.is_none()) {
        c.dirs[me].base = Some(t.seq);
    }
    if ack && c.dirs[peer].base.is_none() {
        // Mid-stream: take the first acknowledgement as the peer's origin.
        c.dirs[peer].base = Some(t.ack);
    }

    // Retransmission: uses sequence space and starts below what was sent.
    let mut retrans = false;
    if len > 0 {
        if let Some(high) = c.dirs[me].high {
            if seq_lt(t.seq, high) {
                retrans = true;
            }
        }
        let end = t.seq.wrapping_add(len);
        c.dirs[me].high = Some(match c.dirs[me].high {
            Some(h) if seq_lt(end, h) => h,
            _ => end,
        });
    }
    c.dirs[me].packets += 1;
    if !retrans {
        c.dirs[me].payload_bytes += t.payload_len as u64;
    }
    let rel_seq = t.seq.wrapping_sub(c.dirs[me].base.unwrap_or(t.seq));
    let rel_ack = if ack {
        t.ack.wrapping_sub(c.dirs[peer].base.unwrap_or(t.ack))
    } else {
        0
    };
    if retrans {
        c.dirs[me].retransmissions += 1;
        events.push(Event::Retransmission {
            from: src,
            rel_seq,
            len,
        });
    }

    let (client, server) = (c.ends[0], c.ends[1]);

    if t.has(fl::RST) {
        if c.reset.is_none() {
            let refused = side == Side::Server
                && c.hs == Hs::SynSent
                && ack
                && c.dirs[peer].base.map(|b| b.wrapping_add(1)) == Some(t.ack);
            let cause = if refused {
                ResetCause::Refused
            } else if c.first_fin == Some(side) {
                ResetCause::DataAfterClose
            } else {
                ResetCause::Abort
            };
            c.reset = Some((side, cause));
            events.push(Event::Reset {
                from: src,
                to: dst,
                cause,
            });
        }
        return TcpView {
            conn: c.id,
            side,
            rel_seq,
            rel_ack,
        };
    }

    // Handshake.
    if !retrans {
        match (syn, ack, side, c.hs) {
            (true, false, Side::Client, Hs::None) => {
                c.hs = Hs::SynSent;
                c.syn_ts = Some(ts);
                events.push(Event::Syn { client, server });
            }
            (true, true, Side::Server, Hs::None | Hs::SynSent) => {
                c.hs = Hs::SynAckSent;
                events.push(Event::SynAck { client, server });
            }
            (false, true, Side::Client, Hs::SynAckSent)
                if c.dirs[peer].base.map(|b| b.wrapping_add(1)) == Some(t.ack) =>
            {
                c.hs = Hs::Done;
                let took = c.syn_ts.map(|s| ts.nanos_since(s) as i64).unwrap_or(0);
                c.handshake_ns = Some(took);
                events.push(Event::Established {
                    client,
                    server,
                    took_ns: took,
                });
            }
            _ => {}
        }
    }

    // Data after the peer's FIN: half-close.
    if t.payload_len > 0 && !retrans && c.dirs[peer].fin_seq.is_some() {
        c.after_fin[me] += t.payload_len as u64;
    }
    if t.payload_len > 0
        && !retrans
        && !c.half_close_said
        && c.first_fin == Some(side.other())
        && !c.second_fin
    {
        c.half_close_said = true;
        events.push(Event::HalfClose {
            closed: dst,
            sending: src,
        });
    }

    // FINs (once per side).
    if t.has(fl::FIN) && c.dirs[me].fin_seq.is_none() {
        let fin_seq = t.seq.wrapping_add(t.payload_len as u32);
        c.dirs[me].fin_seq = Some(fin_seq);
        match c.first_fin {
            None => {
                c.first_fin = Some(side);
                events.push(Event::FirstFin { from: src, to: dst });
            }
            Some(_) => {
                c.second_fin = true;
                events.push(Event::SecondFin { from: src, to: dst });
            }
        }
    }

    // The ACK of the second FIN puts the first closer in TIME_WAIT.
    if ack && c.second_fin && !c.last_ack_seen && c.first_fin == Some(side) {
        if let Some(fs) = c.dirs[peer].fin_seq {
            if t.ack == fs.wrapping_add(1) {
                c.last_ack_seen = true;
                events.push(Event::TimeWait { side: src });
            }
        }
    }

    TcpView {
        conn: c.id,
        side,
        rel_seq,
        rel_ack,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::packet::testframes::tcp;
    use crate::wire::packet::{decode, LinkType};

    const C: u16 = 40000;
    const S: u16 = 10009;
    const F: u8 = fl::FIN;
    const SY: u8 = fl::SYN;
    const R: u8 = fl::RST;
    const A: u8 = fl::ACK;
    const P: u8 = fl::PSH;

    struct Run {
        tr: Tracker,
        t: i64,
    }

    impl Run {
        fn new() -> Self {
            Run {
                tr: Tracker::new(),
                t: 0,
            }
        }
        /// Feed one packet `from_client`; returns its view and event kinds.
        fn pkt(
            &mut self,
            from_client: bool,
            seq: u32,
            ack: u32,
            flags: u8,
            data: &[u8],
        ) -> (TcpView, Vec<Event>) {
            let f = if from_client {
                tcp(C, S, seq, ack, flags, data)
            } else {
                tcp(S, C, seq, ack, flags, data)
            };
            self.t += 1;
            let mut ev = Vec::new();
            let v = self
                .tr
                .observe(
                    Timestamp::new(1000, (self.t * 1000) as u32),
                    &decode(LinkType::Ethernet, &f),
                    &mut ev,
                )
                .expect("tcp");
            (v, ev)
        }
        fn kinds(
            &mut self,
            from_client: bool,
            seq: u32,
            ack: u32,
            flags: u8,
            data: &[u8],
        ) -> Vec<&'static str> {
            self.pkt(from_client, seq, ack, flags, data)
                .1
                .iter()
                .map(Event::kind)
                .collect()
        }
        /// SYN, SYN-ACK, ACK with ISNs 1000 (client) and 5000 (server).
        fn handshake(&mut self) {
            assert_eq!(self.kinds(true, 1000, 0, SY, &[]), ["syn"]);
            assert_eq!(self.kinds(false, 5000, 1001, SY | A, &[]), ["syn_ack"]);
            assert_eq!(self.kinds(true, 1001, 5001, A, &[]), ["established"]);
        }
    }

    #[test]
    fn handshake_steps_and_duration() {
        let mut r = Run::new();
        r.handshake();
        let (all, _) = r.tr.summaries();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].handshake_ns, Some(2000));
        assert_eq!(all[0].client.port, C);
        assert_eq!(all[0].outcome, Outcome::Open);
    }

    #[test]
    fn relative_numbers() {
        let mut r = Run::new();
        r.handshake();
        let (v, _) = r.pkt(true, 1001, 5001, P | A, b"hello");
        assert_eq!(
            (v.rel_seq, v.rel_ack, v.side, v.conn),
            (1, 1, Side::Client, 1)
        );
        let (v, _) = r.pkt(false, 5001, 1006, P | A, b"hi");
        assert_eq!((v.rel_seq, v.rel_ack, v.side), (1, 6, Side::Server));
    }

    #[test]
    fn orderly_close_client_first_leaves_client_in_time_wait() {
        let mut r = Run::new();
        r.handshake();
        assert!(r.kinds(true, 1001, 5001, P | A, b"5\0").is_empty());
        assert_eq!(r.kinds(true, 1003, 5001, F | A, &[]), ["first_fin"]);
        assert!(r.kinds(false, 5001, 1004, A, &[]).is_empty());
        assert_eq!(r.kinds(false, 5001, 1004, F | A, &[]), ["second_fin"]);
        let (_, ev) = r.pkt(true, 1004, 5002, A, &[]);
        assert_eq!(ev.len(), 1);
        let Event::TimeWait { side } = ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(side.port, C);
        let (all, _) = r.tr.summaries();
        assert_eq!(
            all[0].outcome,
            Outcome::Closed {
                first: Side::Client,
                last_ack_seen: true
            }
        );
        assert!(all[0]
            .to_string()
            .contains("client 127.0.0.1.40000 closed first and is left in TIME_WAIT"));
    }

    #[test]
    fn server_closes_first() {
        let mut r = Run::new();
        r.handshake();
        assert_eq!(r.kinds(false, 5001, 1001, F | A, &[]), ["first_fin"]);
        assert_eq!(r.kinds(true, 1001, 5002, F | A, &[]), ["second_fin"]);
        let (_, ev) = r.pkt(false, 5002, 1002, A, &[]);
        assert!(matches!(ev[..], [Event::TimeWait { side }] if side.port == S));
    }

    #[test]
    fn fin_retransmitted_is_reported_once_as_fin() {
        let mut r = Run::new();
        r.handshake();
        assert_eq!(r.kinds(true, 1001, 5001, F | A, &[]), ["first_fin"]);
        assert_eq!(r.kinds(true, 1001, 5001, F | A, &[]), ["retransmission"]);
    }

    #[test]
    fn rst_ack_answering_syn_is_refused() {
        let mut r = Run::new();
        assert_eq!(r.kinds(true, 1000, 0, SY, &[]), ["syn"]);
        let (_, ev) = r.pkt(false, 0, 1001, R | A, &[]);
        assert!(
            matches!(ev[..], [Event::Reset { cause: ResetCause::Refused, from, .. }] if from.port == S)
        );
        assert!(ev[0].to_string().contains("connection refused"));
        assert_eq!(r.tr.summaries().0[0].outcome, Outcome::Refused);
    }

    #[test]
    fn rst_after_established_is_abort() {
        let mut r = Run::new();
        r.handshake();
        assert!(r.kinds(true, 1001, 5001, P | A, b"unread").is_empty());
        let (_, ev) = r.pkt(false, 5001, 1007, R | A, &[]);
        assert!(matches!(
            ev[..],
            [Event::Reset {
                cause: ResetCause::Abort,
                ..
            }]
        ));
        assert!(ev[0].to_string().contains("SO_LINGER"));
    }

    #[test]
    fn rst_after_own_fin_is_data_after_close() {
        let mut r = Run::new();
        r.handshake();
        r.kinds(false, 5001, 1001, F | A, &[]);
        r.kinds(true, 1001, 5002, P | A, b"late");
        let (_, ev) = r.pkt(false, 5002, 0, R, &[]);
        assert!(matches!(
            ev[..],
            [Event::Reset {
                cause: ResetCause::DataAfterClose,
                ..
            }]
        ));
    }

    #[test]
    fn half_close() {
        let mut r = Run::new();
        r.handshake();
        r.kinds(true, 1001, 5001, P | A, b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(r.kinds(true, 1019, 5001, F | A, &[]), ["first_fin"]);
        let (_, ev) = r.pkt(false, 5001, 1020, P | A, b"HTTP/1.0 200 OK\r\n");
        assert!(
            matches!(ev[..], [Event::HalfClose { closed, sending }] if closed.port == C && sending.port == S)
        );
        // Said once only.
        assert!(r.kinds(false, 5018, 1020, P | A, b"more").is_empty());
        // The summary keeps it: who shut down, how much came after.
        let (all, _) = r.tr.summaries();
        assert_eq!(all[0].after_fin, [0, 21]);
        assert_eq!(all[0].half_close(), Some((Side::Client, 21)));
        let text = all[0].to_string();
        assert!(
            text.contains("half-close: the client shut down sending (FIN) and the server still sent 21 bytes after it"),
            "{text}"
        );
    }

    #[test]
    fn orderly_close_is_no_half_close() {
        let mut r = Run::new();
        r.handshake();
        r.kinds(true, 1001, 5001, P | A, b"5\0");
        r.kinds(false, 5001, 1003, P | A, b"5\0\0");
        r.kinds(true, 1003, 5004, F | A, &[]);
        r.kinds(false, 5004, 1004, F | A, &[]);
        let (all, _) = r.tr.summaries();
        assert_eq!(all[0].half_close(), None);
        assert!(!all[0].to_string().contains("half-close"));
    }

    #[test]
    fn retransmission_of_data_and_syn() {
        let mut r = Run::new();
        assert_eq!(r.kinds(true, 1000, 0, SY, &[]), ["syn"]);
        assert_eq!(r.kinds(true, 1000, 0, SY, &[]), ["retransmission"]);
        r.kinds(false, 5000, 1001, SY | A, &[]);
        r.kinds(true, 1001, 5001, A, &[]);
        assert!(r.kinds(true, 1001, 5001, P | A, b"abc").is_empty());
        let (_, ev) = r.pkt(true, 1001, 5001, P | A, b"abc");
        assert!(matches!(
            ev[..],
            [Event::Retransmission {
                rel_seq: 1,
                len: 3,
                ..
            }]
        ));
        // Pure ACKs and new data are not retransmissions.
        assert!(r.kinds(true, 1004, 5001, A, &[]).is_empty());
        assert!(r.kinds(true, 1004, 5001, P | A, b"d").is_empty());
        assert_eq!(r.tr.summaries().0[0].retransmissions, 2);
    }

    #[test]
    fn new_syn_after_close_is_a_new_connection() {
        let mut r = Run::new();
        r.handshake();
        r.kinds(true, 1001, 5001, F | A, &[]);
        r.kinds(false, 5001, 1002, F | A, &[]);
        r.kinds(true, 1002, 5002, A, &[]);
        let (v, ev) = r.pkt(true, 9000, 0, SY, &[]);
        assert_eq!(v.conn, 2);
        assert_eq!(ev[0].kind(), "syn");
        assert_eq!(r.tr.summaries().0.len(), 2);
    }

    #[test]
    fn mid_stream_capture_uses_first_numbers() {
        let mut r = Run::new();
        let (v, ev) = r.pkt(false, 777, 333, P | A, b"x");
        assert!(ev.is_empty());
        assert_eq!((v.rel_seq, v.rel_ack, v.side), (0, 0, Side::Client));
    }
}

#[cfg(test)]
mod memory_tests {
    use super::*;
    use crate::wire::packet::testframes::tcp;
    use crate::wire::packet::{decode, tcp_flags as fl, LinkType};

    /// Regression: on a long capture every finished connection stayed in
    /// the table until its addresses were reused (24 MB on a 1M-packet file).
    #[test]
    fn finished_connections_are_retired_beyond_the_limit() {
        let mut tr = Tracker::new();
        let mut ev = Vec::new();
        let n = MAX_FINISHED_KEPT as u16 + 500;
        for i in 0..n {
            let port = 20000 + i;
            let t = Timestamp::new(i64::from(i), 0);
            for f in [
                tcp(port, 10009, 100, 0, fl::SYN, &[]),
                tcp(10009, port, 500, 101, fl::SYN | fl::ACK, &[]),
                tcp(port, 10009, 101, 501, fl::RST, &[]),
            ] {
                ev.clear();
                tr.observe(t, &decode(LinkType::Ethernet, &f), &mut ev);
            }
        }
        assert_eq!(tr.conns.len(), MAX_FINISHED_KEPT);
        let (all, left_out) = tr.summaries();
        assert_eq!(all.len() as u64 + left_out, u64::from(n));
        // Oldest first: the retired ones are the first connections.
        assert_eq!(all[0].id, 1);
    }

    fn feed(tr: &mut Tracker, t: i64, frame: &[u8]) -> TcpView {
        let mut ev = Vec::new();
        tr.observe(
            Timestamp::new(t, 0),
            &decode(LinkType::Ethernet, frame),
            &mut ev,
        )
        .unwrap_or_else(|| panic!("not TCP"))
    }

    /// The least recently active connection goes, not the oldest created.
    #[test]
    fn eviction_takes_the_least_recently_active() {
        let mut tr = Tracker::with_limit(2);
        feed(&mut tr, 1, &tcp(30001, 80, 100, 0, fl::SYN, &[]));
        feed(&mut tr, 2, &tcp(30002, 80, 100, 0, fl::SYN, &[]));
        // 30001 speaks again: 30002 is now the least recently active.
        feed(&mut tr, 3, &tcp(30001, 80, 101, 0, fl::ACK, &[]));
        feed(&mut tr, 4, &tcp(30003, 80, 100, 0, fl::SYN, &[]));
        let kept: Vec<u16> = tr.conns.values().map(|c| c.ends[0].port).collect();
        assert_eq!(kept, [30001, 30003]);
        // The evicted one's summary is kept as it stood.
        let (all, left_out) = tr.summaries();
        assert_eq!((all.len(), left_out), (3, 0));
        assert_eq!(all[1].client.port, 30002);
        assert_eq!(all[1].outcome, Outcome::Connecting);
        assert_eq!(all[1].packets, [1, 0]);
        // A later packet of it starts a new connection.
        let v = feed(&mut tr, 5, &tcp(30002, 80, 101, 0, fl::ACK, &[]));
        assert_eq!(v.conn, 4);
    }

    /// A finished connection goes before any open one, however active.
    #[test]
    fn eviction_prefers_finished_connections() {
        let mut tr = Tracker::with_limit(2);
        feed(&mut tr, 1, &tcp(30001, 80, 100, 0, fl::SYN, &[]));
        feed(&mut tr, 2, &tcp(30002, 80, 100, 0, fl::SYN, &[]));
        feed(
            &mut tr,
            3,
            &tcp(80, 30002, 500, 101, fl::RST | fl::ACK, &[]),
        );
        feed(&mut tr, 4, &tcp(30003, 80, 100, 0, fl::SYN, &[]));
        let kept: Vec<u16> = tr.conns.values().map(|c| c.ends[0].port).collect();
        assert_eq!(kept, [30001, 30003]);
        assert_eq!(tr.summaries().0[1].outcome, Outcome::Refused);
    }
}

#[cfg(test)]
mod fmt_ns_tests {
    use crate::duration::fmt_ns;

    /// The integer version prints what float formatting printed.
    #[test]
    fn same_as_float_formatting() {
        let float = |ns: i64| {
            let ns = ns.max(0) as f64;
            if ns < 1_000_000.0 {
                format!("{:.0} µs", ns / 1e3)
            } else if ns < 1e9 {
                format!("{:.3} ms", ns / 1e6)
            } else {
                format!("{:.3} s", ns / 1e9)
            }
        };
        for ns in [
            -5,
            0,
            499,
            500,
            1_500,
            2_500,
            34_400,
            74_500,
            999_499,
            1_000_000,
            1_234_567,
            999_700,
            999_999_499,
            999_999_700,
            1_000_000_000,
            61_234_567_891,
            1_000_500_000,
            1_001_500_000,
        ] {
            assert_eq!(fmt_ns(ns), float(ns), "{ns}");
        }
    }
}
