//! Capture files: pcap and pcapng, read and written through the
//! `pcap-file` crate.
//!
//! - [`Writer`] saves [`Packet`](super::Packet)s: pcap (microseconds, or
//!   nanoseconds with the nanosecond magic) or pcapng (one interface, its
//!   `if_tsresol` set to match), keeping the original length of packets cut
//!   by a snap length.
//! - [`Reader`] streams packets out of a file with one fixed buffer,
//!   whatever the file size. It reads pcap in both byte orders with either
//!   magic, and pcapng with each interface's own timestamp resolution and
//!   link type.
//!
//! Rules of this module: no length read from a file is trusted: a record
//! or block longer than [`MAX_RECORD`] is reported as damage before any
//! allocation, and the buffer never grows. Every error names the file, the
//! byte offset and what was wrong ([`FileError`]). Nothing here panics on
//! file bytes.

mod read;
mod write;

pub use read::{FileFormat, Reader, Skipped};
pub use write::{Format, WriteOptions, Writer};

/// Largest captured length of one packet socklab accepts in a file:
/// libpcap's own maximum snap length (262144 bytes). Anything larger in a
/// record header is damage, not a packet.
pub const MAX_CAPLEN: u32 = 262_144;

/// Largest pcapng block socklab accepts: a maximal packet plus room for
/// block headers and options.
pub const MAX_RECORD: usize = MAX_CAPLEN as usize + 64 * 1024;

/// What is wrong with a damaged file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The file has no bytes at all.
    Empty,
    /// The first bytes are not a pcap or pcapng magic number.
    NotACapture,
    /// The file header (pcap) or section header (pcapng) ends early.
    HeaderCut,
    /// A record (packet header + data, or a pcapng block) ends early.
    RecordCut,
    /// A length field holds an impossible value (e.g. 4 GB captured).
    AbsurdLength,
    /// A block is malformed in another way (the crate's reason is given).
    BadBlock,
}

impl Damage {
    /// Short name: `empty`, `not a capture`, `header cut short`...
    pub fn name(self) -> &'static str {
        match self {
            Damage::Empty => "empty file",
            Damage::NotACapture => "not a capture file",
            Damage::HeaderCut => "header cut short",
            Damage::RecordCut => "record cut short",
            Damage::AbsurdLength => "impossible length",
            Damage::BadBlock => "malformed block",
        }
    }
}

/// Why a capture file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Opening or creating the file failed.
    #[error("{action} capture file {path}: {detail}")]
    Open {
        /// `open` or `create`.
        action: &'static str,
        /// The file.
        path: String,
        /// The OS error, in words.
        detail: String,
    },
    /// Reading or writing failed at the OS level.
    #[error("{action} {path}{}: {detail}", offset.map(|o| format!(" at byte {o}")).unwrap_or_default())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: String,
        /// Where in the file, when known.
        offset: Option<u64>,
        /// The OS error, in words.
        detail: String,
    },
    /// The file's bytes are not a valid capture from `offset` on.
    #[error("{path}: {} at byte {offset}{}: {what}\n  hint: {hint}", kind.name(), packet_note(*packets))]
    Damaged {
        /// The file.
        path: String,
        /// Byte offset of the damaged header, record or field.
        offset: u64,
        /// Which kind of damage.
        kind: Damage,
        /// What was found, in words.
        what: String,
        /// Packets read before the damage.
        packets: u64,
        /// What it probably means and what to try.
        hint: &'static str,
    },
    /// The link type is not one socklab decodes.
    #[error(
        "{path}: link type {link} ({}) is not one socklab decodes; it reads Ethernet (1), raw IP \
         (101, 228, 229), BSD loopback (0), Linux cooked SLL (113) and SLL2 (276)\n  \
         hint: `tcpdump -r {path}` or Wireshark may decode it; capture on lo or an Ethernet \
         interface (or `-i any`) to get a type socklab reads",
        link_name(*link)
    )]
    UnknownLinkType {
        /// The file.
        path: String,
        /// The pcap LINKTYPE_ number.
        link: u32,
    },
    /// A packet could not be written (its link type or time does not fit the file).
    #[error("cannot write packet {packet} to {path}: {what}")]
    Unwritable {
        /// The file.
        path: String,
        /// Packet number in the file, from 1.
        packet: u64,
        /// Why.
        what: String,
    },
}

/// A `File` on a duplicate of a standard stream's descriptor (`-` for
/// `replay` and `-w`): reads and writes go to the stream, and closing the
/// `File` leaves the stream open.
fn stdio_file(fd: std::os::fd::BorrowedFd<'_>) -> std::io::Result<std::fs::File> {
    Ok(std::fs::File::from(fd.try_clone_to_owned()?))
}

impl FileError {
    /// True when writing failed because the reader of a pipe went away
    /// (`socklab replay f -w - | head -c 100`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, FileError::Io { detail, .. } if detail.ends_with("(EPIPE)"))
    }
}

fn packet_note(packets: u64) -> String {
    match packets {
        0 => " (before the first packet)".into(),
        1 => " (after 1 packet)".into(),
        n => format!(
            " (after {n} {n_packets})",
            n_packets = crate::plural::noun(n, "packet")
        ),
    }
}

/// A readable name for common link types that socklab does not decode.
pub fn link_name(link: u32) -> &'static str {
    match link {
        0 => "BSD loopback",
        1 => "Ethernet",
        101 | 228 | 229 => "raw IP",
        105 => "IEEE 802.11 wireless",
        113 => "Linux cooked SLL",
        127 => "802.11 with radiotap",
        147..=162 => "user-defined",
        192 => "PPI",
        195 => "IEEE 802.15.4",
        220 => "USB Linux mmapped",
        249 => "USBPcap",
        276 => "Linux cooked SLL2",
        9 => "PPP",
        12 | 14 => "raw IP (BSD)",
        _ => "unknown",
    }
}
