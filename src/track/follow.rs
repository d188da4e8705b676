//! Following one TCP conversation (tshark's `-z follow,tcp`, Wireshark's
//! Follow TCP Stream): both directions' bytes put back in stream order
//! (a retransmission is shown once, a segment that came early waits for
//! the bytes in front of it, bytes never captured are a gap), each
//! segment's new bytes beside the application messages they complete.
//!
//! Fed every packet of the capture with the tracker's view
//! ([`Follow::observe`]); keeps the followed conversation's payload only,
//! at most [`MAX_FOLLOW_BYTES`] of it. [`Follow::finish`] frames the
//! messages with the protocol the decode table (or the course's default
//! ports) names for the conversation, known by then even when the
//! heuristics recognised it late. Pure: no I/O.

use std::collections::BTreeMap;

use super::tcp::{Side, TcpView};
use super::Endpoint;
use crate::capture::Timestamp;
use crate::wire::decode_as::{CourseProto, DecodeTable, ALL};
use crate::wire::framing::Framer;
use crate::wire::packet::{tcp_flags as fl, Decoded};

/// Most payload bytes kept for the followed conversation.
pub const MAX_FOLLOW_BYTES: usize = 64 * 1024 * 1024;

/// What one row of the followed stream shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// New bytes in stream order, from relative sequence number `seq`.
    Data {
        /// Relative sequence number of the first new byte.
        seq: u32,
        /// The new bytes.
        bytes: Vec<u8>,
        /// The segment had come early and waited for the bytes before it.
        held: bool,
        /// Bytes at its start that had come already (a partial retransmission).
        overlap: u32,
    },
    /// A segment whose bytes had all come already.
    Retransmission {
        /// Its relative sequence number.
        seq: u32,
        /// Its length.
        len: u32,
    },
    /// A segment that came before the bytes in front of it (out of order):
    /// held back until they come.
    Early {
        /// Its relative sequence number.
        seq: u32,
        /// Its length.
        len: u32,
    },
    /// Bytes never seen (not captured).
    Gap {
        /// Relative sequence number of the first missing byte.
        seq: u32,
        /// How many.
        len: u32,
    },
    /// The sender's FIN: end of its byte stream.
    Fin,
    /// A reset: both streams end here.
    Rst,
}

/// One row: when, who, what, and the messages it completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Capture time of the packet.
    pub ts: Timestamp,
    /// Sender.
    pub side: Side,
    /// What it brought.
    pub what: What,
    /// Application messages completed (or awaited) by it, decoded.
    pub notes: Vec<String>,
}

#[derive(Debug, Default)]
struct Dir {
    next: Option<u32>,
    held: BTreeMap<u32, Vec<u8>>,
    bytes: u64,
    segments: u64,
    retransmissions: u64,
    early: u64,
    fin: bool,
}

/// Counts for one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirCounts {
    /// Payload bytes, each counted once.
    pub bytes: u64,
    /// Segments that carried payload.
    pub segments: u64,
    /// Segments whose bytes had all come already.
    pub retransmissions: u64,
    /// Segments that came out of order.
    pub early: u64,
    /// Application messages completed.
    pub messages: u64,
}

fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// One followed conversation.
#[derive(Debug)]
pub struct Follow {
    conn: u32,
    ends: Option<[Endpoint; 2]>,
    first_ts: Option<Timestamp>,
    dirs: [Dir; 2],
    rows: Vec<Row>,
    kept: usize,
    cut: bool,
    proto: Option<CourseProto>,
    counts: [DirCounts; 2],
}

impl Follow {
    /// Follow conversation number `conn` (as the tracker numbers them).
    pub fn new(conn: u32) -> Self {
        Follow {
            conn,
            ends: None,
            first_ts: None,
            dirs: Default::default(),
            rows: Vec::new(),
            kept: 0,
            cut: false,
            proto: None,
            counts: Default::default(),
        }
    }

    /// The conversation's number.
    pub fn conn(&self) -> u32 {
        self.conn
    }

    /// Client and server, once a packet of the conversation was seen.
    pub fn ends(&self) -> Option<[Endpoint; 2]> {
        self.ends
    }

    /// Time of its first packet.
    pub fn first_ts(&self) -> Option<Timestamp> {
        self.first_ts
    }

    /// The rows, in the order things became known.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The protocol the messages were framed with (after [`Follow::finish`]).
    pub fn proto(&self) -> Option<CourseProto> {
        self.proto
    }

    /// True when the payload passed [`MAX_FOLLOW_BYTES`] and the rest was not kept.
    pub fn cut(&self) -> bool {
        self.cut
    }

    /// Counts for the client's (0) and the server's (1) direction.
    pub fn counts(&self) -> [DirCounts; 2] {
        self.counts
    }

    /// One packet of the capture (others than the followed conversation's are ignored).
    pub fn observe(&mut self, ts: Timestamp, d: &Decoded<'_>, view: &TcpView) {
        if view.conn != self.conn {
            return;
        }
        let (Some(t), Some((src, dst))) = (d.tcp(), Endpoint::pair(d)) else {
            return;
        };
        if self.ends.is_none() {
            self.ends = Some(match view.side {
                Side::Client => [src, dst],
                Side::Server => [dst, src],
            });
        }
        self.first_ts.get_or_insert(ts);
        let side = view.side;
        let payload = d.payload_bytes();
        if !payload.is_empty() {
            self.segment(ts, side, view.rel_seq, payload);
        }
        if t.has(fl::RST) {
            self.push(ts, side, What::Rst);
        } else if t.has(fl::FIN) && !self.dirs[side.idx()].fin {
            // Once: a retransmitted FIN ends nothing new.
            self.dirs[side.idx()].fin = true;
            self.push(ts, side, What::Fin);
        }
    }

    fn push(&mut self, ts: Timestamp, side: Side, what: What) {
        self.rows.push(Row {
            ts,
            side,
            what,
            notes: Vec::new(),
        });
    }

    fn segment(&mut self, ts: Timestamp, side: Side, seq: u32, payload: &[u8]) {
        let i = side.idx();
        let len = payload.len() as u32;
        let end = seq.wrapping_add(len);
        let dir = &mut self.dirs[i];
        dir.segments += 1;
        let next = *dir.next.get_or_insert(seq);
        if !before(next, end) {
            dir.retransmissions += 1;
            self.push(ts, side, What::Retransmission { seq, len });
            return;
        }
        if before(next, seq) {
            dir.early += 1;
            if self.keep(payload.len()) {
                let d = &mut self.dirs[i];
                let e = d.held.entry(seq).or_default();
                if payload.len() > e.len() {
                    *e = payload.to_vec();
                }
            }
            self.push(ts, side, What::Early { seq, len });
            return;
        }
        let overlap = next.wrapping_sub(seq);
        self.data(ts, side, next, &payload[overlap as usize..], false, overlap);
        self.drain(ts, side);
    }

    /// Bytes in order: keep them (within the bound) as a row.
    fn data(
        &mut self,
        ts: Timestamp,
        side: Side,
        seq: u32,
        bytes: &[u8],
        held: bool,
        overlap: u32,
    ) {
        let i = side.idx();
        self.dirs[i].next = Some(seq.wrapping_add(bytes.len() as u32));
        self.dirs[i].bytes += bytes.len() as u64;
        let kept = if self.keep(bytes.len()) {
            bytes.to_vec()
        } else {
            Vec::new()
        };
        if !self.cut || !kept.is_empty() {
            self.push(
                ts,
                side,
                What::Data {
                    seq,
                    bytes: kept,
                    held,
                    overlap,
                },
            );
        }
    }

    /// Held segments the stream has now reached.
    fn drain(&mut self, ts: Timestamp, side: Side) {
        let i = side.idx();
        loop {
            let Some(next) = self.dirs[i].next else {
                return;
            };
            let Some((&seq, _)) = self.dirs[i].held.first_key_value() else {
                return;
            };
            if before(next, seq) {
                return;
            }
            let Some(bytes) = self.dirs[i].held.remove(&seq) else {
                return;
            };
            self.kept -= bytes.len();
            let end = seq.wrapping_add(bytes.len() as u32);
            if before(next, end) {
                let overlap = next.wrapping_sub(seq);
                self.data(ts, side, next, &bytes[overlap as usize..], true, overlap);
            }
        }
    }

    fn keep(&mut self, n: usize) -> bool {
        if self.kept + n > MAX_FOLLOW_BYTES {
            self.cut = true;
            return false;
        }
        self.kept += n;
        true
    }

    /// The capture ended: show what still waits behind a gap, pick the
    /// protocol (by `table`, then the course's default ports, then a
    /// monitor record's shape) and mark the messages.
    pub fn finish(&mut self, table: &DecodeTable) {
        for side in [Side::Client, Side::Server] {
            let i = side.idx();
            let ts = self.rows.last().map_or_else(Timestamp::default, |r| r.ts);
            while let Some((&seq, _)) = self.dirs[i].held.first_key_value() {
                let next = self.dirs[i].next.unwrap_or(seq);
                if before(next, seq) {
                    self.push(
                        ts,
                        side,
                        What::Gap {
                            seq: next,
                            len: seq.wrapping_sub(next),
                        },
                    );
                    self.dirs[i].next = Some(seq);
                }
                self.drain(ts, side);
            }
        }
        let Some([client, server]) = self.ends else {
            return;
        };
        self.proto = table
            .lookup(false, client.port, server.port)
            .map(|(p, _)| p)
            .or_else(|| {
                ALL.into_iter()
                    .find(|p| p.runs_on(false) && p.default_port() == Some(server.port))
            })
            .or_else(|| {
                let first = self.rows.iter().find_map(|r| match &r.what {
                    What::Data { bytes, .. } if r.side == Side::Client => Some(bytes),
                    _ => None,
                })?;
                first
                    .starts_with(b"Hostname:")
                    .then_some(CourseProto::Monitor)
            });
        let mut framers = [
            Framer::new(self.proto, false),
            Framer::new(self.proto, true),
        ];
        for r in &mut self.rows {
            let f = &mut framers[r.side.idx()];
            match &r.what {
                What::Data { bytes, .. } => f.feed(bytes, &mut r.notes),
                What::Fin => f.end(&mut r.notes),
                What::Gap { len, .. } => r.notes.push(format!(
                    "{} never captured: the messages around them cannot be told",
                    crate::plural::count(u64::from(*len), "byte")
                )),
                _ => {}
            }
        }
        for (i, f) in framers.iter().enumerate() {
            let d = &self.dirs[i];
            self.counts[i] = DirCounts {
                bytes: d.bytes,
                segments: d.segments,
                retransmissions: d.retransmissions,
                early: d.early,
                messages: f.messages,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::tcp::Tracker;
    use crate::wire::packet::testframes::tcp;
    use crate::wire::packet::{decode, LinkType};

    fn follow(frames: &[Vec<u8>], table: &DecodeTable) -> Follow {
        let mut tr = Tracker::new();
        let mut f = Follow::new(1);
        for (i, fr) in frames.iter().enumerate() {
            let d = decode(LinkType::Ethernet, fr);
            let ts = Timestamp::new(1, i as u32 * 1000);
            if let Some(v) = tr.observe(ts, &d, &mut Vec::new()) {
                f.observe(ts, &d, &v);
            }
        }
        f.finish(table);
        f
    }

    #[test]
    fn bytes_never_captured_are_a_gap_and_what_follows_still_shows() {
        let (c, s) = (40000, 10009);
        let f = follow(
            &[
                tcp(c, s, 100, 0, fl::SYN, &[]),
                tcp(s, c, 500, 101, fl::SYN | fl::ACK, &[]),
                tcp(c, s, 101, 501, fl::ACK, &[]),
                tcp(c, s, 101, 501, fl::PSH | fl::ACK, b"1\0"),
                // "2\0" was never captured.
                tcp(c, s, 105, 501, fl::PSH | fl::ACK, b"3\0"),
            ],
            &DecodeTable::new(),
        );
        assert_eq!(f.proto(), Some(CourseProto::TcpCalc), "by the default port");
        let whats: Vec<&What> = f.rows().iter().map(|r| &r.what).collect();
        assert_eq!(
            whats,
            [
                &What::Data {
                    seq: 1,
                    bytes: b"1\0".to_vec(),
                    held: false,
                    overlap: 0
                },
                &What::Early { seq: 5, len: 2 },
                &What::Gap { seq: 3, len: 2 },
                &What::Data {
                    seq: 5,
                    bytes: b"3\0".to_vec(),
                    held: true,
                    overlap: 0
                },
            ]
        );
        assert_eq!(
            f.rows()[2].notes,
            ["2 bytes never captured: the messages around them cannot be told"]
        );
        assert_eq!(f.rows()[3].notes, ["tcp-calc numbers: 3"]);
        assert_eq!(f.counts()[0].bytes, 4);
        assert_eq!(f.counts()[0].early, 1);
    }

    #[test]
    fn other_conversations_are_not_kept() {
        let f = follow(
            &[
                tcp(40000, 10009, 100, 0, fl::SYN, &[]),
                tcp(40001, 10009, 100, 0, fl::PSH | fl::ACK, b"x\0"),
            ],
            &DecodeTable::new(),
        );
        assert!(f.rows().is_empty());
        assert_eq!(f.ends().map(|e| e[0].port), Some(40000));
    }
}
