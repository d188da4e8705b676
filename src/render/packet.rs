//! Printing captured packets for people and programs: the one-line summary
//! ([`super::line`]), the narration under it, the `-X` hex dump, the `-v`
//! field tree ([`super::tree`]) and `--json` ([`super::json`]).
//!
//! [`PacketPrinter`] owns reusable buffers: printing a packet allocates
//! nothing once they have grown, apart from narration text. It also prints
//! "socket call" lines with the same time column, so a caller that merges
//! its own timestamped events with packets (in time order) gets one
//! timeline; see [`Timeline`].

use std::io::{self, Write};

use crate::capture::Timestamp;

use super::time::Clock;

pub use super::time::{write_rfc3339, write_time};
pub use super::view::{PacketView, PrintOptions};

/// Prints packets and socket calls, reusing its buffers.
#[derive(Debug)]
pub struct PacketPrinter {
    opts: PrintOptions,
    clock: Clock,
    text: String,
    bytes: Vec<u8>,
}

impl PacketPrinter {
    /// A printer with these options.
    pub fn new(opts: PrintOptions) -> Self {
        PacketPrinter {
            opts,
            clock: Clock::new(opts.time, opts.utc),
            text: String::with_capacity(512),
            bytes: Vec::with_capacity(2048),
        }
    }

    /// The options in force.
    pub fn options(&self) -> PrintOptions {
        self.opts
    }

    /// Print one packet: its line, narration, `-v` tree and `-X` dump, or
    /// its JSON object.
    pub fn packet<W: Write>(&mut self, w: &mut W, v: &PacketView<'_, '_>) -> io::Result<()> {
        if self.opts.json {
            self.bytes.clear();
            super::json::write_packet(&mut self.bytes, &mut self.text, v, self.opts.absolute_seq)?;
            self.bytes.push(b'\n');
            return w.write_all(&self.bytes);
        }
        self.text.clear();
        super::line::write_line(&mut self.text, v, self.opts, &mut self.clock);
        if !self.opts.quiet {
            super::line::write_narration(&mut self.text, v, self.opts.color);
        }
        if self.opts.verbose {
            super::tree::write_tree(&mut self.text, v, self.opts);
        }
        if self.opts.hex || self.opts.ascii {
            let bytes = dumped(v.decoded, self.opts.link_header);
            if self.opts.hex {
                super::dump::write_hex(&mut self.text, bytes, !self.opts.hex_only);
            } else {
                super::dump::write_ascii(&mut self.text, bytes);
            }
        }
        w.write_all(self.text.as_bytes())
    }

    /// Print a line for something the program did (a socket call), with
    /// the same time column as packets: `12:00:00.000001 call connect(...)`.
    /// In JSON mode: `{"v":1, "type":"call", "ts":..., "ts_ns":"...", "text":"..."}`.
    pub fn socket_call<W: Write>(
        &mut self,
        w: &mut W,
        ts: Timestamp,
        text: &str,
    ) -> io::Result<()> {
        self.text.clear();
        if self.opts.json {
            let v = super::json::record("call", Some(ts), serde_json::json!({ "text": text }));
            self.text.push_str(&v.to_string());
            self.text.push('\n');
        } else {
            self.clock.write(&mut self.text, ts);
            super::line::paint_into(&mut self.text, self.opts.color, super::line::CALL, "call");
            self.text.push(' ');
            super::line::paint_into(&mut self.text, self.opts.color, super::line::CALL, text);
            self.text.push('\n');
        }
        w.write_all(self.text.as_bytes())
    }
}

/// The bytes tcpdump dumps: from the network header (`-X`, `-x`, `-A`),
/// or the whole frame (`-XX`, `-xx`, or a frame with no network layer).
fn dumped<'a>(d: &crate::wire::packet::Decoded<'a>, link_header: bool) -> &'a [u8] {
    use crate::wire::packet::Net;
    let start = match d.net {
        _ if link_header => 0,
        Net::Ipv4(h) => h.offset,
        Net::Ipv6(h) => h.offset,
        Net::Arp(a) => a.offset,
        _ => 0,
    };
    d.frame.get(start..).unwrap_or(&[])
}

/// An item of a merged timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimelineItem {
    /// Already rendered packet output (one or more lines).
    Rendered(Vec<u8>),
    /// A socket call to print with [`PacketPrinter::socket_call`].
    Call(String),
}

/// Merges packets and socket calls that arrive out of order (the capture
/// thread lags behind the program) into time order: push items with their
/// timestamps, then [`Timeline::flush_before`] prints everything older
/// than a horizon (e.g. now minus 100 ms) and [`Timeline::flush_all`] the
/// rest at the end. Items with equal times keep their push order.
#[derive(Debug, Default)]
pub struct Timeline {
    items: Vec<(Timestamp, u64, TimelineItem)>,
    seq: u64,
}

impl Timeline {
    /// An empty timeline.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an item at `ts`.
    pub fn push(&mut self, ts: Timestamp, item: TimelineItem) {
        self.seq += 1;
        self.items.push((ts, self.seq, item));
    }

    /// Print, in time order, every item strictly before `horizon`.
    pub fn flush_before<W: Write>(
        &mut self,
        w: &mut W,
        p: &mut PacketPrinter,
        horizon: Timestamp,
    ) -> io::Result<()> {
        self.items.sort_by_key(|(ts, seq, _)| (*ts, *seq));
        let n = self
            .items
            .iter()
            .take_while(|(ts, _, _)| *ts < horizon)
            .count();
        for (ts, _, item) in self.items.drain(..n) {
            match item {
                TimelineItem::Rendered(b) => w.write_all(&b)?,
                TimelineItem::Call(text) => p.socket_call(w, ts, &text)?,
            }
        }
        Ok(())
    }

    /// Print everything left, in time order.
    pub fn flush_all<W: Write>(&mut self, w: &mut W, p: &mut PacketPrinter) -> io::Result<()> {
        self.flush_before(
            w,
            p,
            Timestamp {
                secs: i64::MAX,
                nanos: 0,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_orders_calls_and_packets() {
        let mut tl = Timeline::new();
        let mut p = PacketPrinter::new(PrintOptions {
            utc: true,
            ..PrintOptions::default()
        });
        tl.push(
            Timestamp::new(10, 500),
            TimelineItem::Rendered(b"packet\n".to_vec()),
        );
        tl.push(
            Timestamp::new(10, 100),
            TimelineItem::Call("connect(127.0.0.1:1)".into()),
        );
        tl.push(
            Timestamp::new(20, 0),
            TimelineItem::Rendered(b"later\n".to_vec()),
        );
        let mut out = Vec::new();
        tl.flush_before(&mut out, &mut p, Timestamp::new(15, 0))
            .expect("vec");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "00:00:10.000000 call connect(127.0.0.1:1)\npacket\n"
        );
        out.clear();
        tl.flush_all(&mut out, &mut p).expect("vec");
        assert_eq!(String::from_utf8_lossy(&out), "later\n");
    }
}
