//! Where the application's messages end in one direction of a TCP byte
//! stream: the course protocols' framing (tcp-calc numbers end with a NUL
//! and the reply with two, a monitor record is 67 bytes, chat lines end
//! with `\n`, the course echo client's message with a NUL, HTTP has a head
//! and a Content-Length). A [`Framer`] is fed the stream's bytes in order,
//! segment by segment, and says after each what it completed (decoded by
//! the protocol's codec, as the packet view shows it) and what it is still
//! waiting for: the "recv() must loop" lesson on any capture.
//!
//! Pure; memory is bounded: at most [`MAX_MESSAGE`] bytes of an unfinished
//! message are kept (beyond, the framer says so and starts over).

use super::course::Course;
use super::decode_as::{recognise_as, CourseProto};
use super::escape::quoted;
use super::http::HttpReader;
use super::monitor::{self, RECORD_LEN};

/// Longest unfinished message kept.
pub const MAX_MESSAGE: usize = 64 * 1024;

#[derive(Debug)]
enum Kind {
    /// Messages end with this terminator.
    Delimited(&'static [u8]),
    /// Messages are this long.
    Fixed(usize),
    /// HTTP/1.x messages.
    Http(Box<HttpReader>),
    /// No framing known.
    Bytes,
}

/// One direction of a TCP stream, message by message.
#[derive(Debug)]
pub struct Framer {
    proto: Option<CourseProto>,
    from_server: bool,
    kind: Kind,
    buf: Vec<u8>,
    /// Segments that brought bytes of the message in `buf`.
    pieces: u32,
    /// Messages completed so far.
    pub messages: u64,
}

impl Framer {
    /// A framer for `proto` (`None`: bytes only), sent by the server or the client.
    pub fn new(proto: Option<CourseProto>, from_server: bool) -> Self {
        let kind = match proto {
            Some(CourseProto::TcpCalc) if from_server => Kind::Delimited(b"\0\0"),
            Some(CourseProto::TcpCalc | CourseProto::Echo) => Kind::Delimited(b"\0"),
            Some(CourseProto::Chat) => Kind::Delimited(b"\n"),
            Some(CourseProto::Monitor) => Kind::Fixed(RECORD_LEN),
            Some(CourseProto::Http) => Kind::Http(Box::default()),
            Some(CourseProto::UdpCalc | CourseProto::UdpCalcNet) | None => Kind::Bytes,
        };
        Framer {
            proto,
            from_server,
            kind,
            buf: Vec::new(),
            pieces: 0,
            messages: 0,
        }
    }

    /// Feed one segment's new bytes; what they completed, and what is
    /// still awaited, go to `notes`.
    pub fn feed(&mut self, data: &[u8], notes: &mut Vec<String>) {
        match &mut self.kind {
            Kind::Bytes => {}
            Kind::Http(r) => {
                let mut out = Vec::new();
                r.feed(data, &mut out);
                for n in out {
                    if matches!(n, super::http::Note::Head { .. }) {
                        self.messages += 1;
                    }
                    notes.push(n.to_string());
                }
            }
            Kind::Delimited(end) => {
                let end: &'static [u8] = end;
                if data.is_empty() {
                    return;
                }
                self.pieces += 1;
                let mut rest = data;
                while !rest.is_empty() {
                    // The terminator may straddle the old and the new bytes.
                    let from = self.buf.len().saturating_sub(end.len() - 1);
                    self.buf.extend_from_slice(rest);
                    match self.buf[from..].windows(end.len()).position(|w| w == end) {
                        Some(i) => {
                            let stop = from + i + end.len();
                            let used = stop - (self.buf.len() - rest.len());
                            self.buf.truncate(stop);
                            let msg = std::mem::take(&mut self.buf);
                            notes.push(self.message(&msg));
                            rest = &rest[used..];
                            self.pieces = u32::from(!rest.is_empty());
                        }
                        None => rest = &[],
                    }
                }
                self.waiting(notes);
            }
            Kind::Fixed(len) => {
                let len = *len;
                if data.is_empty() {
                    return;
                }
                self.pieces += 1;
                let mut rest = data;
                while !rest.is_empty() {
                    let take = (len - self.buf.len()).min(rest.len());
                    self.buf.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                    if self.buf.len() == len {
                        let msg = std::mem::take(&mut self.buf);
                        notes.push(self.message(&msg));
                        self.pieces = u32::from(!rest.is_empty());
                    }
                }
                self.waiting(notes);
            }
        }
    }

    /// The sender closed (FIN): what was left unfinished.
    pub fn end(&mut self, notes: &mut Vec<String>) {
        match &mut self.kind {
            Kind::Bytes => {}
            Kind::Http(r) => {
                let mut out = Vec::new();
                r.end(&mut out);
                notes.extend(out.iter().map(ToString::to_string));
            }
            Kind::Delimited(_) | Kind::Fixed(_) if self.buf.is_empty() => {}
            Kind::Delimited(_) if self.proto == Some(CourseProto::Echo) => {
                // The echo lesson's own client sends no NUL: its message ends at FIN.
                let msg = std::mem::take(&mut self.buf);
                let text = self.message(&msg);
                notes.push(format!("{text}, ended by FIN"));
            }
            Kind::Delimited(_) | Kind::Fixed(_) => {
                notes.push(format!(
                    "closed (FIN) in the middle of a message: {} unfinished",
                    crate::plural::count(self.buf.len() as u64, "byte")
                ));
                self.buf.clear();
            }
        }
    }

    /// A finished message, decoded, with the segments it took.
    fn message(&mut self, msg: &[u8]) -> String {
        self.messages += 1;
        let text = match self.proto {
            Some(CourseProto::Monitor) => match monitor::decode(msg) {
                Ok(r) => Course::MonitorRecord(r).to_string(),
                Err(e) => format!("67 bytes that are not a monitor record: {e}"),
            },
            Some(p) => match recognise_as(p, false, self.from_server, msg) {
                Some(c) => c.to_string(),
                None => quoted(msg),
            },
            None => quoted(msg),
        };
        if self.pieces > 1 {
            format!("{text} (from {} segments)", self.pieces)
        } else {
            text
        }
    }

    /// What an unfinished message waits for.
    fn waiting(&mut self, notes: &mut Vec<String>) {
        if self.buf.is_empty() {
            return;
        }
        if self.buf.len() > MAX_MESSAGE {
            notes.push(format!(
                "no message end in {}: not this protocol? starting over",
                crate::plural::count(self.buf.len() as u64, "byte")
            ));
            self.buf.clear();
            self.pieces = 0;
            return;
        }
        let so_far = match self.kind {
            Kind::Fixed(len) => format!("{} of a {len}-byte record so far", self.buf.len()),
            _ if self.buf.len() <= 32 => format!("{} so far", quoted(&self.buf)),
            _ => crate::plural::count(self.buf.len() as u64, "byte") + " so far",
        };
        let awaited = match self.kind {
            Kind::Delimited(b"\n") => "its newline comes later",
            Kind::Delimited(b"\0\0") => "the two NULs ending the reply come later",
            _ if self.proto == Some(CourseProto::Echo) => "a NUL or the sender's FIN ends it",
            Kind::Delimited(_) => "the NUL ending it comes later",
            _ => "recv() must loop for the rest",
        };
        notes.push(format!("{so_far}: {awaited}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(proto: CourseProto, from_server: bool, pieces: &[&[u8]], fin: bool) -> Vec<Vec<String>> {
        let mut f = Framer::new(Some(proto), from_server);
        let mut all = Vec::new();
        for p in pieces {
            let mut n = Vec::new();
            f.feed(p, &mut n);
            all.push(n);
        }
        if fin {
            let mut n = Vec::new();
            f.end(&mut n);
            all.push(n);
        }
        all
    }

    #[test]
    fn tcp_calc_numbers_split_across_segments() {
        let notes = run(
            CourseProto::TcpCalc,
            false,
            &[b"12", b"3\0", b"45\x000\0"],
            false,
        );
        assert_eq!(
            notes,
            [
                vec!["\"12\" so far: the NUL ending it comes later".to_string()],
                vec!["tcp-calc numbers: 123 (from 2 segments)".to_string()],
                vec![
                    "tcp-calc numbers: 45".to_string(),
                    "tcp-calc numbers: 0".to_string()
                ],
            ]
        );
    }

    #[test]
    fn tcp_calc_reply_ends_with_two_nuls_even_split_between_them() {
        let notes = run(CourseProto::TcpCalc, true, &[b"168\0", b"\0"], false);
        assert_eq!(
            notes[0],
            ["\"168\\x00\" so far: the two NULs ending the reply come later"]
        );
        assert_eq!(notes[1], ["tcp-calc reply: 168 (from 2 segments)"]);
    }

    #[test]
    fn a_monitor_record_in_three_pieces() {
        let rec = monitor::encode("pc-home", 0.5, 50.4);
        let notes = run(
            CourseProto::Monitor,
            false,
            &[&rec[..20], &rec[20..50], &rec[50..]],
            true,
        );
        assert_eq!(
            notes[0],
            ["20 of a 67-byte record so far: recv() must loop for the rest"]
        );
        assert_eq!(
            notes[1],
            ["50 of a 67-byte record so far: recv() must loop for the rest"]
        );
        assert_eq!(
            notes[2],
            ["monitor record: host pc-home cpu 0.5% memory available 50.4% (from 3 segments)"]
        );
        assert!(notes[3].is_empty(), "nothing unfinished at FIN");
    }

    #[test]
    fn chat_lines_and_a_cut_message_at_fin() {
        let notes = run(CourseProto::Chat, false, &[b"hi\nho", b"!\n", b"bye"], true);
        assert_eq!(
            notes[0],
            [
                "chat line: \"hi\"",
                "\"ho\" so far: its newline comes later"
            ]
        );
        assert_eq!(notes[1], ["chat line: \"ho!\" (from 2 segments)"]);
        assert_eq!(
            notes[3],
            ["closed (FIN) in the middle of a message: 3 bytes unfinished"]
        );
    }

    #[test]
    fn echo_without_nul_ends_at_fin() {
        let notes = run(CourseProto::Echo, false, &[b"hello, echo"], true);
        assert_eq!(notes[1], ["echo: \"hello, echo\", ended by FIN"]);
    }

    #[test]
    fn unknown_streams_have_no_messages_and_runaways_are_bounded() {
        let mut f = Framer::new(None, false);
        let mut n = Vec::new();
        f.feed(b"anything\0", &mut n);
        f.end(&mut n);
        assert!(n.is_empty());
        let mut f = Framer::new(Some(CourseProto::TcpCalc), false);
        let big = vec![b'7'; MAX_MESSAGE + 1];
        f.feed(&big, &mut n);
        assert!(n[0].starts_with("no message end in 65537 bytes"), "{n:?}");
        assert!(f.buf.is_empty());
    }
}
