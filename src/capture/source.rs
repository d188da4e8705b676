//! One interface over every place packets come from, so that a single
//! driver loop ([`crate::sniff::driver`]) serves them all.
//!
//! | source                         | blocks?                  | end            |
//! |--------------------------------|--------------------------|----------------|
//! | [`Live`] ([`LiveCapture`])     | up to its poll interval  | when stopped   |
//! | [`Reader`] (pcap/pcapng file)  | never (reads the file)   | end of file    |
//! | [`Background`] (capture thread)| up to [`Background::WAIT`] | drained after stop |
//! | [`Memory`] (packets in a `Vec`)| never                    | last packet    |
//!
//! Rules: [`PacketSource::next`] never panics on packet bytes; a
//! [`Next::Packet`] borrows the source until the next call; [`Next::Idle`]
//! means "nothing yet, look at your stop flag and come back";
//! [`PacketSource::stop`] asks the source to end, after which it may still
//! hand out what it already holds (a capture thread's queue) before
//! [`Next::End`].

use std::collections::VecDeque;
use std::io::Read;
use std::time::Duration;

use super::background::BackgroundCapture;
use super::file::{FileError, FileFormat, Reader};
use super::live::LiveCapture;
use super::{CaptureError, KernelStats, LinkType, OwnedPacket, Packet};

/// What [`PacketSource::next`] found.
#[derive(Debug)]
pub enum Next<'a> {
    /// A packet, borrowing the source's buffer.
    Packet(Packet<'a>),
    /// Nothing arrived within the source's poll interval.
    Idle,
    /// The source has no more packets (end of file, or stopped and drained).
    End,
}

/// Why a source could not deliver.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A live capture failed.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// A capture file could not be read, or is damaged at some offset.
    #[error(transparent)]
    File(#[from] FileError),
}

/// A place packets come from. See the module docs for the contract.
pub trait PacketSource {
    /// The next packet, [`Next::Idle`] after a bounded wait, or [`Next::End`].
    fn next(&mut self) -> Result<Next<'_>, SourceError>;
    /// How the packets' bytes are decoded.
    fn link_type(&self) -> LinkType;
    /// Ask the source to end: live sources end at once, a capture thread
    /// drains what the kernel still holds first. Idempotent.
    fn stop(&mut self) -> Result<(), SourceError>;
    /// The kernel's counters, for sources that have a kernel behind them.
    fn kernel_stats(&mut self) -> Option<KernelStats> {
        None
    }
    /// `(bytes read, total bytes)` for a progress bar, when known.
    fn progress(&self) -> Option<(u64, u64)> {
        None
    }
}

/// A live capture ([`LiveCapture`]); it ends when stopped.
#[derive(Debug)]
pub struct Live {
    cap: LiveCapture,
    stopped: bool,
}

impl Live {
    /// Wrap an opened capture.
    pub fn new(cap: LiveCapture) -> Self {
        Live {
            cap,
            stopped: false,
        }
    }

    /// The capture, e.g. for its interface name.
    pub fn capture(&self) -> &LiveCapture {
        &self.cap
    }
}

impl PacketSource for Live {
    fn next(&mut self) -> Result<Next<'_>, SourceError> {
        if self.stopped {
            return Ok(Next::End);
        }
        Ok(match self.cap.next_packet()? {
            Some(p) => Next::Packet(p),
            None => Next::Idle,
        })
    }
    fn link_type(&self) -> LinkType {
        self.cap.link_type()
    }
    fn stop(&mut self) -> Result<(), SourceError> {
        self.stopped = true;
        Ok(())
    }
    fn kernel_stats(&mut self) -> Option<KernelStats> {
        Some(self.cap.stats())
    }
}

/// A capture file read to its end (or its first damage).
#[derive(Debug)]
pub struct File<R: Read> {
    reader: Reader<R>,
    size: u64,
    stopped: bool,
}

impl<R: Read> File<R> {
    /// Read packets from `reader`; `size` is the file's length (0 if unknown).
    pub fn new(reader: Reader<R>, size: u64) -> Self {
        File {
            reader,
            size,
            stopped: false,
        }
    }

    /// The reader, e.g. for its format and skipped packets.
    pub fn reader(&self) -> &Reader<R> {
        &self.reader
    }
}

impl<R: Read> PacketSource for File<R> {
    fn next(&mut self) -> Result<Next<'_>, SourceError> {
        if self.stopped {
            return Ok(Next::End);
        }
        Ok(match self.reader.next_packet()? {
            Some(p) => Next::Packet(p),
            None => Next::End,
        })
    }
    fn link_type(&self) -> LinkType {
        // pcapng names a link type per interface: the first packet's is
        // what a copy uses; this is only for a file with no packets.
        match self.reader.format() {
            FileFormat::Pcap { link, .. } => {
                LinkType::from_pcap(link).unwrap_or(LinkType::Ethernet)
            }
            FileFormat::PcapNg { .. } => LinkType::Ethernet,
        }
    }
    fn stop(&mut self) -> Result<(), SourceError> {
        self.stopped = true;
        Ok(())
    }
    fn progress(&self) -> Option<(u64, u64)> {
        (self.size > 0).then(|| (self.reader.offset(), self.size))
    }
}

/// A capture running on its own thread ([`BackgroundCapture`]), for
/// commands that capture while they do something else (`--sniff`, traced
/// programs). Stopping drains what the kernel still holds.
#[derive(Debug)]
pub struct Background {
    cap: Option<BackgroundCapture>,
    wait: Duration,
    link: LinkType,
    rest: VecDeque<OwnedPacket>,
    current: Option<OwnedPacket>,
    stats: Option<KernelStats>,
}

impl Background {
    /// Longest [`PacketSource::next`] waits for the capture thread.
    pub const WAIT: Duration = Duration::from_millis(40);

    /// Read from a started background capture.
    pub fn new(cap: BackgroundCapture) -> Self {
        Background {
            link: cap.link_type(),
            wait: Self::WAIT,
            cap: Some(cap),
            rest: VecDeque::new(),
            current: None,
            stats: None,
        }
    }

    /// Wait at most `d` for a packet (instead of [`Background::WAIT`]): how
    /// late an idle loop notices what else happened.
    pub fn wait(mut self, d: Duration) -> Self {
        self.wait = d;
        self
    }
}

impl PacketSource for Background {
    fn next(&mut self) -> Result<Next<'_>, SourceError> {
        self.current = match &self.cap {
            Some(cap) => match cap.next_timeout(self.wait) {
                Some(p) => Some(p),
                None => return Ok(Next::Idle),
            },
            None => match self.rest.pop_front() {
                Some(p) => Some(p),
                None => return Ok(Next::End),
            },
        };
        Ok(match &self.current {
            Some(p) => Next::Packet(p.as_packet()),
            None => Next::End,
        })
    }
    fn link_type(&self) -> LinkType {
        self.link
    }
    fn stop(&mut self) -> Result<(), SourceError> {
        if let Some(cap) = self.cap.take() {
            let (rest, stats) = cap.stop()?;
            self.rest = rest.into();
            self.stats = Some(stats);
        }
        Ok(())
    }
    fn kernel_stats(&mut self) -> Option<KernelStats> {
        self.stats
    }
}

/// Packets already in memory (a lesson's capture, tests).
#[derive(Debug)]
pub struct Memory<'p> {
    packets: std::slice::Iter<'p, OwnedPacket>,
    link: LinkType,
    stopped: bool,
}

impl<'p> Memory<'p> {
    /// Hand out `packets` in order (`link` is used only when there are none).
    pub fn new(packets: &'p [OwnedPacket], link: LinkType) -> Self {
        Memory {
            link: packets.first().map_or(link, |p| p.link),
            packets: packets.iter(),
            stopped: false,
        }
    }
}

impl PacketSource for Memory<'_> {
    fn next(&mut self) -> Result<Next<'_>, SourceError> {
        if self.stopped {
            return Ok(Next::End);
        }
        Ok(match self.packets.next() {
            Some(p) => Next::Packet(p.as_packet()),
            None => Next::End,
        })
    }
    fn link_type(&self) -> LinkType {
        self.link
    }
    fn stop(&mut self) -> Result<(), SourceError> {
        self.stopped = true;
        Ok(())
    }
}
