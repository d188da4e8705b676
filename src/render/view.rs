//! What the printers share: the options ([`PrintOptions`]) and everything
//! known about one packet ([`PacketView`]). The printers (`line`, `tree`,
//! `json`) read these; only `packet` calls the printers, so no module of
//! `render` depends on one that depends on it.

use crate::capture::Timestamp;
use crate::track::tcp::{Event, TcpView};
use crate::wire::course::Course;
use crate::wire::packet::Decoded;

/// How to print packets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrintOptions {
    /// ANSI colours.
    pub color: bool,
    /// `-X`: hex and ASCII dump of each packet (from its network header).
    pub hex: bool,
    /// `-x`: the hex dump without ASCII.
    pub hex_only: bool,
    /// `-XX`, `-xx`: dumps start at the link header.
    pub link_header: bool,
    /// `-A`: each packet's bytes as text.
    pub ascii: bool,
    /// `-q`: tcpdump's short lines, no narration.
    pub quiet: bool,
    /// `-v`: tree of every header field.
    pub verbose: bool,
    /// Raw sequence numbers instead of relative ones.
    pub absolute_seq: bool,
    /// One JSON object per packet per line instead of text.
    pub json: bool,
    /// The time column (`-t` ... `-ttttt`).
    pub time: super::time::TimeStyle,
    /// Times in UTC instead of the local zone (`--utc`).
    pub utc: bool,
}

/// Everything known about one packet, ready to print.
#[derive(Debug, Clone)]
pub struct PacketView<'p, 'a> {
    /// Kernel receive time.
    pub ts: Timestamp,
    /// Packet number in the capture, from 1.
    pub number: u64,
    /// The decoded frame.
    pub decoded: &'p Decoded<'a>,
    /// The tracker's view, for TCP.
    pub tcp: Option<TcpView>,
    /// Narration events this packet caused.
    pub events: &'p [Event],
    /// A recognised course-protocol payload.
    pub course: Option<Course<'a>>,
}

impl<'p, 'a> PacketView<'p, 'a> {
    /// A view with the course payload recognised from the decoded packet.
    pub fn new(
        ts: Timestamp,
        number: u64,
        decoded: &'p Decoded<'a>,
        tcp: Option<TcpView>,
        events: &'p [Event],
    ) -> Self {
        let course = crate::wire::course::in_packet(decoded);
        PacketView {
            ts,
            number,
            decoded,
            tcp,
            events,
            course,
        }
    }
}
