//! Packet sources: where captured frames come from.
//!
//! A source yields [`Packet`]s: the captured bytes (possibly cut to a snap
//! length), the length the packet had on the wire, the kernel's receive
//! timestamp, and the link type needed to decode it. Live capture lives in
//! [`live`]; file sources (pcap/pcapng replay) can produce the same
//! [`Packet`] values so that decoding, tracking, filtering and rendering are
//! shared.
//!
//! Rules: sources never panic on packet bytes; a source reuses its receive
//! buffer, so a [`Packet`] borrows it until the next call.

pub mod background;
pub mod file;
pub mod ifaces;
pub mod live;
pub mod privs;
pub mod ring;
pub mod source;
mod sys;

use std::fmt;

pub use crate::wire::packet::LinkType;

/// A point in time as the kernel reports it: seconds and nanoseconds since
/// the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub secs: i64,
    /// Nanoseconds within the second, 0..1_000_000_000.
    pub nanos: u32,
}

impl Timestamp {
    /// A timestamp from seconds and nanoseconds (nanoseconds are normalised).
    pub fn new(secs: i64, nanos: u32) -> Self {
        Timestamp {
            secs: secs + i64::from(nanos / 1_000_000_000),
            nanos: nanos % 1_000_000_000,
        }
    }

    /// Now, from the wall clock (for events that are not packets).
    pub fn now() -> Self {
        Timestamp::from(std::time::SystemTime::now())
    }

    /// Nanoseconds since the epoch.
    pub fn as_nanos(self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// Time from `earlier` to `self` in nanoseconds (negative if `earlier` is later).
    pub fn nanos_since(self, earlier: Timestamp) -> i128 {
        self.as_nanos() - earlier.as_nanos()
    }
}

impl From<std::time::SystemTime> for Timestamp {
    /// The one wall-clock conversion (times before 1970 are negative seconds).
    fn from(t: std::time::SystemTime) -> Self {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Timestamp {
                secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                nanos: d.subsec_nanos(),
            },
            Err(e) => {
                let d = e.duration();
                let secs = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                match d.subsec_nanos() {
                    0 => Timestamp { secs, nanos: 0 },
                    n => Timestamp {
                        secs: secs - 1,
                        nanos: 1_000_000_000 - n,
                    },
                }
            }
        }
    }
}

impl fmt::Display for Timestamp {
    /// `secs.nanos` with nine decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs, self.nanos)
    }
}

/// One captured packet, borrowing the source's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Kernel receive time.
    pub ts: Timestamp,
    /// The captured bytes, starting with the link-layer header.
    pub data: &'a [u8],
    /// Length of the packet on the wire; larger than `data.len()` when the
    /// capture was cut by a snap length.
    pub orig_len: usize,
    /// How to decode `data`.
    pub link: LinkType,
}

impl Packet<'_> {
    /// True when fewer bytes were captured than the packet had.
    pub fn truncated(&self) -> bool {
        self.data.len() < self.orig_len
    }

    /// An owned copy (for sending to another thread or keeping).
    pub fn to_owned_packet(&self) -> OwnedPacket {
        OwnedPacket {
            ts: self.ts,
            data: self.data.to_vec(),
            orig_len: self.orig_len,
            link: self.link,
        }
    }
}

/// An owned captured packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedPacket {
    /// Kernel receive time.
    pub ts: Timestamp,
    /// The captured bytes.
    pub data: Vec<u8>,
    /// Length on the wire.
    pub orig_len: usize,
    /// How to decode `data`.
    pub link: LinkType,
}

impl OwnedPacket {
    /// Borrow as a [`Packet`].
    pub fn as_packet(&self) -> Packet<'_> {
        Packet {
            ts: self.ts,
            data: &self.data,
            orig_len: self.orig_len,
            link: self.link,
        }
    }
}

/// Why a capture could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The process may not open packet sockets.
    #[error(
        "capturing packets needs the CAP_NET_RAW capability, and this process does not have it \
         (opening an AF_PACKET socket failed: {detail})\n  \
         hint: run it as root: `sudo {command}`\n  \
         hint: or give the binary the capability once: `sudo setcap cap_net_raw+ep {binary}`\n  \
         hint: or explore without privileges: `socklab lab` (the lab's no-root mode)"
    )]
    NoPermission {
        /// The OS error, in words.
        detail: String,
        /// The command line the user ran, quoted for a shell.
        command: String,
        /// This program's path, for setcap.
        binary: String,
    },
    /// No interface with that name.
    #[error("no network interface named '{name}' (available: {available})\n  hint: `ip link` lists them; loopback is `lo`")]
    NoSuchInterface {
        /// What the user asked for.
        name: String,
        /// Names that exist.
        available: String,
    },
    /// A system call failed.
    #[error("{what}: {detail}")]
    Os {
        /// What was being done.
        what: &'static str,
        /// The OS error, in words.
        detail: String,
    },
    /// Dropping privileges after opening the socket failed.
    #[error("could not drop privileges ({what}): {detail}")]
    Privileges {
        /// The step that failed.
        what: &'static str,
        /// The OS error, in words.
        detail: String,
    },
}

impl CaptureError {
    /// No permission to open a packet socket: the hint repeats the user's
    /// own command line under sudo.
    pub(crate) fn no_permission(e: &std::io::Error) -> Self {
        let quote = |a: String| {
            let plain = a
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%[]".contains(c));
            if plain && !a.is_empty() {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        };
        let command: Vec<String> = std::env::args().map(quote).collect();
        CaptureError::NoPermission {
            detail: crate::error::describe_io(e),
            command: command.join(" "),
            binary: std::env::current_exe()
                .map(|p| quote(p.display().to_string()))
                .unwrap_or_else(|_| "$(which socklab)".into()),
        }
    }

    pub(crate) fn os(what: &'static str, e: &std::io::Error) -> Self {
        CaptureError::Os {
            what,
            detail: crate::error::describe_io(e),
        }
    }
}

/// Counters at the end of a capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets the kernel handed to the socket (`tp_packets`).
    pub received: u64,
    /// Packets the kernel dropped because the socket's buffer was full (`tp_drops`).
    pub dropped: u64,
}
