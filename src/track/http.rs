//! HTTP messages across segments, for the packet-by-packet view: once a
//! connection direction shows an HTTP head, its later segments are fed to
//! a [`HttpReader`] in sequence order, so a body segment says how much of
//! the Content-Length has come and the FIN says whether the body was
//! complete or cut short (also after a half-close: a response that flows
//! after the client's FIN is read like any other).
//!
//! Memory: at most [`MAX_READERS`] directions are followed (the least
//! recently active is forgotten first), each buffering at most one head.

use hashlink::LinkedHashMap;

use super::tcp::{Side, TcpView};
use crate::wire::course::Course;
use crate::wire::http::{HttpReader, Note};
use crate::wire::packet::{tcp_flags as fl, Decoded};

/// Most connection directions followed at once.
pub const MAX_READERS: usize = 4096;

#[derive(Debug)]
struct Dir {
    reader: HttpReader,
    /// Relative sequence number of the next byte expected.
    next: u32,
}

/// HTTP readers per TCP connection direction.
#[derive(Debug, Default)]
pub struct HttpStreams {
    dirs: LinkedHashMap<(u32, Side), Dir>,
}

impl HttpStreams {
    /// No connection followed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One TCP packet, with the tracker's view and what was recognised in
    /// its payload alone; returns what it means for the HTTP message it
    /// continues, when the payload alone said nothing.
    pub fn observe(
        &mut self,
        d: &Decoded<'_>,
        view: &TcpView,
        course: Option<&Course<'_>>,
    ) -> Option<Vec<Note>> {
        let starts = matches!(course, Some(Course::Http(_)));
        if self.dirs.is_empty() && !starts {
            return None; // the common case: no HTTP anywhere
        }
        let t = d.tcp()?;
        let key = (view.conn, view.side);
        let payload = d.payload_bytes();
        if let Some(Course::Http(h)) = course {
            // A head at the start of a payload starts (or restarts) the reader.
            if !self.dirs.contains_key(&key) || h.complete {
                if self.dirs.len() >= MAX_READERS {
                    self.dirs.pop_front();
                }
                self.dirs.insert(
                    key,
                    Dir {
                        reader: HttpReader::new(),
                        next: view.rel_seq,
                    },
                );
            }
        }
        let dir = self.dirs.get_mut(&key)?;
        let mut notes = Vec::new();
        // Only bytes not fed before (a retransmission repeats them).
        let skip = dir.next.wrapping_sub(view.rel_seq);
        if (skip as i32) >= 0 && (skip as usize) < payload.len() {
            dir.reader.feed(&payload[skip as usize..], &mut notes);
            dir.next = view.rel_seq.wrapping_add(payload.len() as u32);
        } else if (skip as i32) < 0 && !payload.is_empty() {
            // Bytes missing before this segment (not captured): count on.
            dir.reader.feed(payload, &mut notes);
            dir.next = view.rel_seq.wrapping_add(payload.len() as u32);
        }
        if t.has(fl::FIN) {
            dir.reader.end(&mut notes);
            self.dirs.remove(&key);
        }
        // The payload's own line already tells a head in one segment.
        notes.retain(|n| !matches!(n, Note::Head { pieces: 1, .. }));
        if starts {
            notes.retain(|n| matches!(n, Note::End(_)));
        }
        (!notes.is_empty()).then_some(notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;
    use crate::track::tcp::Tracker;
    use crate::wire::packet::testframes::tcp;
    use crate::wire::packet::{decode, tcp_flags as fl, LinkType};

    #[test]
    fn a_response_after_the_clients_fin_is_counted_to_its_end() {
        let (c, s) = (40000, 8000);
        let frames = [
            tcp(c, s, 100, 0, fl::SYN, &[]),
            tcp(s, c, 500, 101, fl::SYN | fl::ACK, &[]),
            tcp(c, s, 101, 501, fl::ACK, &[]),
            tcp(c, s, 101, 501, fl::PSH | fl::ACK, b"GET / HTTP/1.0\r\n\r\n"),
            tcp(c, s, 119, 501, fl::FIN | fl::ACK, &[]),
            tcp(
                s,
                c,
                501,
                120,
                fl::PSH | fl::ACK,
                b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nab",
            ),
            tcp(s, c, 541, 120, fl::PSH | fl::ACK, b"cd"),
            // Retransmitted: not counted twice.
            tcp(s, c, 541, 120, fl::PSH | fl::ACK, b"cd"),
            tcp(s, c, 543, 120, fl::FIN | fl::ACK, &[]),
        ];
        let mut tr = Tracker::new();
        let mut h = HttpStreams::new();
        let mut said = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let d = decode(LinkType::Ethernet, f);
            let v = tr
                .observe(Timestamp::new(1, i as u32), &d, &mut Vec::new())
                .expect("tcp");
            let course = crate::wire::decode_as::recognise_as(
                crate::wire::decode_as::CourseProto::Http,
                false,
                v.side == Side::Server,
                d.payload_bytes(),
            );
            if let Some(notes) = h.observe(&d, &v, course.as_ref()) {
                said.extend(notes.iter().map(ToString::to_string));
            }
        }
        assert_eq!(
            said,
            [
                "http body: 2 bytes here, 4 so far of 6 (Content-Length)",
                "http body cut short: the sender closed (FIN) after 4 of the 6 Content-Length announced",
            ]
        );
    }
}
