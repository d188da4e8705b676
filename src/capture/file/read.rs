//! Streaming a capture file, packet by packet, through one fixed buffer.
//!
//! pcap-file's own readers cannot say at which byte a file is damaged, and
//! they read into an 8 MB buffer and report a record header claiming 4 GB
//! as a plain "unexpected end of file". So socklab keeps its own buffer
//! (1.3 MB) and hands the crate's
//! slice parsers ([`PcapParser`], [`PcapNgParser`]) only whole records, after
//! checking each record's length against [`MAX_CAPLEN`] / [`MAX_RECORD`]
//! and the bytes actually left in the file. The formats themselves (magic
//! numbers, byte orders, pcapng blocks, options, interfaces, `if_tsresol`,
//! `if_tsoffset`) are the crate's.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::{PcapParser, PcapTsResolution};
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::Endianness;

use super::{Damage, FileError, MAX_CAPLEN, MAX_RECORD};
use crate::capture::{LinkType, Packet, Timestamp};

/// Bytes asked of the OS per read.
const READ_CHUNK: usize = 1024 * 1024;
/// The one buffer: a read chunk plus the largest record that can straddle it.
const BUF_SIZE: usize = READ_CHUNK + MAX_RECORD;
/// Most pcapng interfaces accepted in one section (each costs a little memory).
const MAX_INTERFACES: usize = 65_536;

/// pcap magic numbers as the first four bytes appear in the file.
const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x4d, 0x3c, 0xb2, 0xa1],
];
/// pcapng section header block type (the same in both byte orders).
const PCAPNG_SHB: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const SHB_TYPE: u32 = 0x0A0D_0D0A;

/// What kind of file is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Classic pcap.
    Pcap {
        /// Nanosecond magic (else microseconds).
        nano: bool,
        /// Big-endian headers.
        big_endian: bool,
        /// pcap LINKTYPE_ number.
        link: u32,
        /// Snap length in the file header.
        snaplen: u32,
    },
    /// pcapng.
    PcapNg {
        /// Big-endian section (of the first section).
        big_endian: bool,
    },
}

impl std::fmt::Display for FileFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            FileFormat::Pcap {
                nano,
                big_endian,
                link,
                snaplen,
            } => write!(
                f,
                "pcap, {}-endian, {} timestamps, link type {link} ({}), snap length {snaplen}",
                if big_endian { "big" } else { "little" },
                if nano { "nanosecond" } else { "microsecond" },
                super::link_name(link)
            ),
            FileFormat::PcapNg { big_endian } => write!(
                f,
                "pcapng, {}-endian",
                if big_endian { "big" } else { "little" }
            ),
        }
    }
}

enum State {
    Pcap {
        parser: PcapParser,
        link: LinkType,
        nano: bool,
        big: bool,
    },
    PcapNg {
        parser: PcapNgParser,
        /// Time of the last packet with one, for Simple Packet Blocks.
        last_ts: Timestamp,
    },
}

/// Packets on a pcapng interface whose link type socklab does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// pcap LINKTYPE_ number.
    pub link: u32,
    /// How many packets.
    pub packets: u64,
}

/// The file's bytes: one fixed buffer over the source, and where we are.
struct Input<R> {
    src: R,
    path: String,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    /// Packets returned so far (for error messages).
    packets: u64,
}

impl<R: Read> Input<R> {
    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn avail(&self) -> usize {
        self.len - self.pos
    }

    fn damage(&self, at: u64, kind: Damage, what: String) -> FileError {
        damaged(&self.path, at, kind, what, self.packets)
    }

    /// Make at least `need` bytes (at most [`MAX_RECORD`]) available from
    /// `pos`; false when the file ends first.
    fn fill(&mut self, need: usize) -> Result<bool, FileError> {
        if self.len - self.pos >= need {
            return Ok(true);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.len, 0);
            self.base += self.pos as u64;
            self.len -= self.pos;
            self.pos = 0;
        }
        while self.len < need && !self.eof {
            let end = (self.len + READ_CHUNK).min(self.buf.len());
            match self.src.read(&mut self.buf[self.len..end]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(FileError::Io {
                        action: "read",
                        path: self.path.clone(),
                        offset: Some(self.base + self.len as u64),
                        detail: crate::error::describe_io(&e),
                    })
                }
            }
        }
        Ok(self.len >= need)
    }

    /// Check the pcapng block at `pos` and make it fully available; returns
    /// its length. `big`: the current section's byte order.
    fn whole_block(&mut self, big: bool, first: bool) -> Result<usize, FileError> {
        let at = self.offset();
        // 12 bytes: type, length, and a section header's byte-order magic;
        // any valid block is at least 12 bytes long.
        if !self.fill(12)? {
            let what = format!(
                "a pcapng block is at least 12 bytes, only {} are left",
                self.avail()
            );
            let kind = if first {
                Damage::HeaderCut
            } else {
                Damage::RecordCut
            };
            return Err(self.damage(at, kind, what));
        }
        let b = &self.buf[self.pos..self.pos + 12];
        let word = |at: usize, big: bool| {
            let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
            if big {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            }
        };
        let ty = word(0, big);
        let len = if ty == SHB_TYPE {
            // The byte-order magic 1a2b3c4d says how this section is written.
            word(4, b[8..12] == [0x1a, 0x2b, 0x3c, 0x4d])
        } else {
            word(4, big)
        };
        if first && ty != SHB_TYPE {
            let what = "a pcapng file must start with a section header block".to_string();
            return Err(self.damage(at, Damage::NotACapture, what));
        }
        if len < 12 || len % 4 != 0 || len as usize > MAX_RECORD {
            let what = format!(
                "block of type 0x{ty:08x} says it is {len} {len_bytes} long; a block is a multiple of 4 \
                 bytes, at least 12 and at most {MAX_RECORD} (a {MAX_CAPLEN}-byte packet with its headers)", len_bytes = crate::plural::noun(len, "byte"));
            return Err(self.damage(at + 4, Damage::AbsurdLength, what));
        }
        let len = len as usize;
        if !self.fill(len)? {
            let what = format!(
                "block of type 0x{ty:08x} says it is {len} {len_bytes} long, only {} are left in the file",
                self.avail(), len_bytes = crate::plural::noun(len, "byte"));
            let kind = if first {
                Damage::HeaderCut
            } else {
                Damage::RecordCut
            };
            return Err(self.damage(at, kind, what));
        }
        Ok(len)
    }
}

/// Reads packets from a pcap or pcapng stream (see the module docs).
pub struct Reader<R: Read = File> {
    input: Input<R>,
    state: State,
    format: FileFormat,
    skipped: Vec<Skipped>,
}

impl<R: Read> std::fmt::Debug for Reader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("path", &self.input.path)
            .field("format", &self.format)
            .field("offset", &self.offset())
            .field("packets", &self.input.packets)
            .finish()
    }
}

impl Reader<File> {
    /// Open a capture file and read its header; `-` reads standard input
    /// (`cat f.pcap | socklab replay -`, as `tcpdump -r -`).
    pub fn open(path: &Path) -> Result<Reader<File>, FileError> {
        if path.as_os_str() == "-" {
            let name = "standard input".to_string();
            let f = super::stdio_file(std::io::stdin().as_fd()).map_err(|e| FileError::Open {
                action: "read",
                path: name.clone(),
                detail: crate::error::describe_io(&e),
            })?;
            return Reader::new(f, name);
        }
        let name = path.display().to_string();
        let f = File::open(path).map_err(|e| FileError::Open {
            action: "open",
            path: name.clone(),
            detail: crate::error::describe_io(&e),
        })?;
        Reader::new(f, name)
    }
}

fn damaged(path: &str, offset: u64, kind: Damage, what: String, packets: u64) -> FileError {
    let hint = match kind {
        Damage::Empty => "the capture was probably stopped before anything was written, or the file was created but never filled",
        Damage::NotACapture => "a capture file starts with a pcap or pcapng magic number; this may be text output (`tcpdump > file` instead of `tcpdump -w file`), or another format",
        Damage::HeaderCut => "the file was cut before its header was complete (a copy or download that stopped early?)",
        Damage::RecordCut => "the file ends in the middle of a record: the capture was probably killed while writing, or the file was cut; every packet before it was shown",
        Damage::AbsurdLength => "no capture tool writes such a record: the file is corrupted from here on (every packet before it was shown)",
        Damage::BadBlock => "the file is corrupted from here on (every packet before it was shown)",
    };
    FileError::Damaged {
        path: path.to_string(),
        offset,
        kind,
        what,
        packets,
        hint,
    }
}

fn hex4(b: &[u8]) -> String {
    let shown: Vec<String> = b.iter().take(4).map(|x| format!("{x:02x}")).collect();
    let text: String = b
        .iter()
        .take(4)
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                c as char
            } else {
                '.'
            }
        })
        .collect();
    format!("{} ('{text}')", shown.join(" "))
}

fn duration_ts(d: Duration) -> Timestamp {
    Timestamp::new(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        d.subsec_nanos(),
    )
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut what = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        what.push_str(": ");
        what.push_str(&s.to_string());
        src = s.source();
    }
    what
}

impl<R: Read> Reader<R> {
    /// Read the file header from `src`; `path` names the file in errors.
    pub fn new(src: R, path: impl Into<String>) -> Result<Reader<R>, FileError> {
        let mut input = Input {
            src,
            path: path.into(),
            buf: vec![0u8; BUF_SIZE],
            pos: 0,
            len: 0,
            base: 0,
            eof: false,
            packets: 0,
        };
        input.fill(24)?;
        let have = input.avail();
        if have == 0 {
            return Err(input.damage(0, Damage::Empty, "the file has 0 bytes".into()));
        }
        let head = &input.buf[..have.min(4)];
        let (state, format) = if head.len() == 4 && PCAP_MAGICS.iter().any(|m| m == head) {
            pcap_header(&mut input)?
        } else if head.len() == 4 && head == PCAPNG_SHB {
            pcapng_header(&mut input)?
        } else {
            let what = if have < 4 {
                format!(
                    "the file has only {have} {have_bytes}; a capture file starts with a 4-byte magic number", have_bytes = crate::plural::noun(have, "byte"))
            } else {
                format!(
                    "the file starts with {}, which is neither a pcap magic number (a1 b2 c3 d4 or \
                     a1 b2 3c 4d, in either byte order) nor a pcapng section header (0a 0d 0d 0a)",
                    hex4(head)
                )
            };
            return Err(input.damage(0, Damage::NotACapture, what));
        };
        Ok(Reader {
            input,
            state,
            format,
            skipped: Vec::new(),
        })
    }

    /// The file's format, byte order, resolution and link type.
    pub fn format(&self) -> FileFormat {
        self.format
    }

    /// Bytes of the file consumed so far (the offset of the next record).
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// Packets returned so far.
    pub fn packets(&self) -> u64 {
        self.input.packets
    }

    /// The comments of the current pcapng section header (`opt_comment`),
    /// e.g. the decode table socklab wrote; none for pcap.
    pub fn section_comments(&self) -> Vec<String> {
        use pcap_file::pcapng::blocks::opt_common::CommonOption;
        use pcap_file::pcapng::blocks::section_header::SectionHeaderOption;
        match &self.state {
            State::PcapNg { parser, .. } => parser
                .section()
                .options
                .iter()
                .filter_map(|o| match o {
                    SectionHeaderOption::Common(CommonOption::Comment(c)) => Some(c.to_string()),
                    _ => None,
                })
                .collect(),
            State::Pcap { .. } => Vec::new(),
        }
    }

    /// pcapng packets skipped because their interface's link type is not
    /// one socklab decodes, per link type.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// The file name used in errors.
    pub fn path(&self) -> &str {
        &self.input.path
    }

    /// The next packet, `Ok(None)` at the clean end of the file, or an
    /// error at the first damaged record (packets before it were returned).
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, FileError> {
        match &mut self.state {
            State::Pcap {
                parser,
                link,
                nano,
                big,
            } => next_pcap(&mut self.input, parser, *link, *nano, *big),
            State::PcapNg { parser, last_ts } => {
                next_pcapng(&mut self.input, parser, last_ts, &mut self.skipped)
            }
        }
    }
}

fn pcap_header<R: Read>(input: &mut Input<R>) -> Result<(State, FileFormat), FileError> {
    if input.avail() < 24 {
        let what = format!(
            "the pcap file header needs 24 bytes, the file has {}",
            input.avail()
        );
        return Err(input.damage(0, Damage::HeaderCut, what));
    }
    let parser = match PcapParser::new(&input.buf[..24]) {
        Ok((_, p)) => p,
        Err(e) => return Err(input.damage(0, Damage::NotACapture, error_chain(&e))),
    };
    let h = parser.header();
    let big = h.endianness == Endianness::Big;
    let nano = h.ts_resolution == PcapTsResolution::NanoSecond;
    // The low 16 bits are the link type; the bits above carry FCS information.
    let link_n = u32::from(h.datalink) & 0xffff;
    let format = FileFormat::Pcap {
        nano,
        big_endian: big,
        link: link_n,
        snaplen: h.snaplen,
    };
    let link = LinkType::from_pcap(link_n).ok_or_else(|| FileError::UnknownLinkType {
        path: input.path.clone(),
        link: link_n,
    })?;
    input.pos = 24;
    let state = State::Pcap {
        parser,
        link,
        nano,
        big,
    };
    Ok((state, format))
}

fn pcapng_header<R: Read>(input: &mut Input<R>) -> Result<(State, FileFormat), FileError> {
    let len = input.whole_block(false, true)?;
    let parser = match PcapNgParser::new(&input.buf[input.pos..input.pos + len]) {
        Ok((_, p)) => p,
        Err(e) => {
            let what = format!("section header block: {}", error_chain(&e));
            return Err(input.damage(0, Damage::BadBlock, what));
        }
    };
    let format = FileFormat::PcapNg {
        big_endian: parser.section().endianness == Endianness::Big,
    };
    input.pos += len;
    let state = State::PcapNg {
        parser,
        last_ts: Timestamp::default(),
    };
    Ok((state, format))
}

fn next_pcap<'a, R: Read>(
    input: &'a mut Input<R>,
    parser: &PcapParser,
    link: LinkType,
    nano: bool,
    big: bool,
) -> Result<Option<Packet<'a>>, FileError> {
    let at = input.offset();
    if !input.fill(16)? {
        if input.avail() == 0 {
            return Ok(None);
        }
        let what = format!(
            "packet {}: a record header needs 16 bytes, only {} are left",
            input.packets + 1,
            input.avail()
        );
        return Err(input.damage(at, Damage::RecordCut, what));
    }
    let h = &input.buf[input.pos..input.pos + 16];
    let incl_bytes = [h[8], h[9], h[10], h[11]];
    let incl = if big {
        u32::from_be_bytes(incl_bytes)
    } else {
        u32::from_le_bytes(incl_bytes)
    };
    if incl > MAX_CAPLEN {
        let what =
            format!(
            "packet {}: the record header says {incl} {incl_bytes} were captured (0x{incl:08x}); \
             the most any capture holds is {MAX_CAPLEN}",
            input.packets + 1, incl_bytes = crate::plural::noun(incl, "byte"));
        return Err(input.damage(at + 8, Damage::AbsurdLength, what));
    }
    let total = 16 + incl as usize;
    if !input.fill(total)? {
        let what = format!(
            "packet {}: the record says {incl} {incl_bytes} were captured, only {} of them are in the file",
            input.packets + 1,
            input.avail().saturating_sub(16), incl_bytes = crate::plural::noun(incl, "byte"));
        return Err(input.damage(at, Damage::RecordCut, what));
    }
    let rec = &input.buf[input.pos..input.pos + total];
    let raw = match parser.next_raw_packet(rec) {
        Ok((_, raw)) => raw,
        Err(e) => {
            let what = format!("packet {}: {}", input.packets + 1, error_chain(&e));
            return Err(input.damage(at, Damage::BadBlock, what));
        }
    };
    let ts = record_time(raw.ts_sec, raw.ts_frac, nano);
    let orig_len = (raw.orig_len as usize).max(incl as usize);
    let start = input.pos + 16;
    input.pos += total;
    input.packets += 1;
    Ok(Some(Packet {
        ts,
        data: &input.buf[start..start + incl as usize],
        orig_len,
        link,
    }))
}

/// A pcap record's time. A fraction of a second out of range (a microsecond
/// field of 1,000,000 or more, even 2^31 or more) carries whole seconds
/// instead of being clamped; tcpdump prints such a field raw (`.2147483648`).
fn record_time(secs: u32, frac: u32, nano: bool) -> Timestamp {
    let per_sec: u32 = if nano { 1_000_000_000 } else { 1_000_000 };
    let carry = i64::from(frac / per_sec);
    let sub = frac % per_sec;
    let nanos = if nano { sub } else { sub * 1000 };
    Timestamp::new(i64::from(secs) + carry, nanos)
}

fn next_pcapng<'a, R: Read>(
    input: &'a mut Input<R>,
    parser: &mut PcapNgParser,
    last_ts: &mut Timestamp,
    skipped: &mut Vec<Skipped>,
) -> Result<Option<Packet<'a>>, FileError> {
    loop {
        let at = input.offset();
        if !input.fill(1)? {
            return Ok(None);
        }
        let big = parser.section().endianness == Endianness::Big;
        let len = input.whole_block(big, false)?;
        let block_start = input.pos;
        let block_bytes = &input.buf[block_start..block_start + len];
        let block = match parser.next_block(block_bytes) {
            Ok((_, b)) => b,
            Err(e) => {
                return Err(input.damage(at, Damage::BadBlock, error_chain(&e)));
            }
        };
        let base = block_bytes.as_ptr() as usize;
        // (interface, time, data offset in the block, data length, original length)
        let found = match &block {
            Block::EnhancedPacket(p) => Some((
                p.interface_id,
                Some(duration_ts(p.timestamp)),
                (p.data.as_ptr() as usize).wrapping_sub(base),
                p.data.len(),
                p.original_len as usize,
            )),
            Block::Packet(p) => Some((
                u32::from(p.interface_id),
                Some(duration_ts(p.timestamp)),
                (p.data.as_ptr() as usize).wrapping_sub(base),
                p.data.len(),
                p.original_len as usize,
            )),
            Block::SimplePacket(p) => Some((
                0,
                None,
                (p.data.as_ptr() as usize).wrapping_sub(base),
                p.data.len(),
                p.original_len as usize,
            )),
            _ => None,
        };
        drop(block);
        if parser.interfaces().len() > MAX_INTERFACES {
            let what = format!("more than {MAX_INTERFACES} interfaces in one section");
            return Err(input.damage(at, Damage::BadBlock, what));
        }
        input.pos += len;
        let Some((iface, ts, off, dlen, orig)) = found else {
            continue;
        };
        // The data lies inside the block (the crate parses borrowed slices).
        if off.checked_add(dlen).is_none_or(|end| end > len) {
            let what = "packet data outside its block".to_string();
            return Err(input.damage(at, Damage::BadBlock, what));
        }
        let Some(idb) = parser.interfaces().get(iface as usize) else {
            let what = format!("packet on interface {iface}, which was never described");
            return Err(input.damage(at, Damage::BadBlock, what));
        };
        let link_n = u32::from(idb.linktype) & 0xffff;
        let Some(link) = LinkType::from_pcap(link_n) else {
            match skipped.iter_mut().find(|s| s.link == link_n) {
                Some(s) => s.packets += 1,
                None => skipped.push(Skipped {
                    link: link_n,
                    packets: 1,
                }),
            }
            continue;
        };
        let ts = match ts {
            Some(t) => {
                *last_ts = t;
                t
            }
            None => *last_ts,
        };
        input.packets += 1;
        let start = block_start + off;
        return Ok(Some(Packet {
            ts,
            data: &input.buf[start..start + dlen],
            orig_len: orig.max(dlen),
            link,
        }));
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn regression_microsecond_field_of_2_pow_31_was_clamped() {
        // tcpdump prints the raw field (`00:16:40.2147483648`); socklab
        // carries whole seconds: 2^31 us = 2147 s + 483648 us.
        let t = record_time(1000, 1 << 31, false);
        assert_eq!((t.secs, t.nanos), (1000 + 2147, 483_648_000));
        let t = record_time(1000, u32::MAX, false);
        assert_eq!((t.secs, t.nanos), (1000 + 4294, 967_295_000));
        let t = record_time(1000, 1_500_000, false);
        assert_eq!((t.secs, t.nanos), (1001, 500_000_000));
        let t = record_time(u32::MAX, u32::MAX, true);
        assert_eq!((t.secs, t.nanos), (i64::from(u32::MAX) + 4, 294_967_295));
        let t = record_time(7, 999_999, false);
        assert_eq!((t.secs, t.nanos), (7, 999_999_000));
    }
    use std::io::Read;

    use super::*;
    use crate::capture::file::{Format, WriteOptions, Writer};

    /// Hands out at most 3 bytes per read, to exercise refills mid-record.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(3).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn packets(n: usize) -> Vec<(Timestamp, Vec<u8>)> {
        (0..n)
            .map(|i| {
                let len = 60 + (i * 7919) % 1400;
                let data: Vec<u8> = (0..len).map(|k| (k + i) as u8).collect();
                (
                    Timestamp::new(1_700_000_000 + i as i64, (i as u32 * 1000) % 1_000_000_000),
                    data,
                )
            })
            .collect()
    }

    fn file(format: Format, pkts: &[(Timestamp, Vec<u8>)]) -> Vec<u8> {
        let opts = WriteOptions {
            format,
            link: LinkType::Ethernet,
            nano: true,
            snaplen: MAX_CAPLEN,
            iface: None,
            comment: None,
        };
        let mut w = Writer::new(Vec::new(), "mem", &opts).expect("header");
        for (ts, d) in pkts {
            w.write(&Packet {
                ts: *ts,
                data: d,
                orig_len: d.len() + 3,
                link: LinkType::Ethernet,
            })
            .expect("write");
        }
        w.finish().expect("finish")
    }

    fn read_all<R: Read>(r: R) -> Vec<(Timestamp, Vec<u8>, usize)> {
        let mut rd = Reader::new(r, "mem").expect("header");
        let mut v = Vec::new();
        while let Some(p) = rd.next_packet().expect("packet") {
            v.push((p.ts, p.data.to_vec(), p.orig_len));
        }
        v
    }

    #[test]
    fn records_straddling_the_buffer_and_tiny_reads() {
        // ~2.2 MB: records cross the 1 MiB read boundary more than once.
        let pkts = packets(3000);
        for format in [Format::Pcap, Format::PcapNg] {
            let bytes = file(format, &pkts);
            assert!(bytes.len() > 2 * READ_CHUNK);
            let whole = read_all(bytes.as_slice());
            assert_eq!(whole.len(), pkts.len());
            for ((ts, d, orig), (want_ts, want)) in whole.iter().zip(&pkts) {
                assert_eq!((ts, d, *orig), (want_ts, want, want.len() + 3));
            }
            let small = packets(40);
            let bytes = file(format, &small);
            assert_eq!(read_all(Trickle(&bytes)), read_all(bytes.as_slice()));
        }
    }

    /// Untrusted bytes: every prefix, and thousands of random corruptions,
    /// of a pcap and a pcapng file end in packets or a typed error, never a
    /// panic or an endless loop.
    #[test]
    fn truncations_and_corruptions_never_panic() {
        use rand::{Rng, SeedableRng};
        let seed = std::env::var("SOCKLAB_FILE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random::<u64>);
        eprintln!("seed {seed} (SOCKLAB_FILE_SEED reproduces it)");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let pkts = packets(6);
        for format in [Format::Pcap, Format::PcapNg] {
            let good = file(format, &pkts);
            let drain = |bytes: &[u8]| {
                let Ok(mut r) = Reader::new(bytes, "fuzz") else {
                    return;
                };
                for _ in 0..bytes.len() {
                    match r.next_packet() {
                        Ok(Some(p)) => assert!(p.data.len() <= MAX_CAPLEN as usize),
                        _ => return,
                    }
                }
                panic!("more packets than bytes: a loop that does not advance");
            };
            for cut in 0..good.len() {
                drain(&good[..cut]);
            }
            for _ in 0..3000 {
                let mut bad = good.clone();
                for _ in 0..rng.random_range(1..8) {
                    let i = rng.random_range(0..bad.len());
                    bad[i] = rng.random();
                }
                let cut = rng.random_range(0..=bad.len());
                drain(&bad[..cut]);
            }
        }
    }

    #[test]
    fn read_errors_name_the_offset() {
        struct Fails(usize);
        impl Read for Fails {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::from_raw_os_error(libc::EIO));
                }
                let n = buf.len().min(self.0);
                buf[..n].fill(0xa1);
                self.0 -= n;
                Ok(n)
            }
        }
        let e = Reader::new(Fails(0), "disk.pcap").expect_err("EIO");
        assert!(
            e.to_string().starts_with("read disk.pcap at byte 0: "),
            "{e}"
        );
        assert!(e.to_string().contains("EIO"), "{e}");
    }
}
