//! Saving packets: pcap or pcapng through pcap-file's writers.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapTsResolution, PcapWriter};
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption, InterfaceTsResolution,
};
use pcap_file::pcapng::blocks::opt_common::CommonOption;
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, Endianness};

use super::{FileError, MAX_CAPLEN};
use crate::capture::{LinkType, Packet};
use crate::error::describe_io;

/// The two file formats socklab writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic pcap (libpcap's format; tcpdump's default).
    Pcap,
    /// pcapng (Wireshark's default).
    PcapNg,
}

impl Format {
    /// pcapng when the file name ends in `.pcapng`, pcap otherwise.
    pub fn for_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("pcapng") => Format::PcapNg,
            _ => Format::Pcap,
        }
    }
}

/// How to write a capture file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// pcap or pcapng.
    pub format: Format,
    /// Link type of every packet.
    pub link: LinkType,
    /// Nanosecond timestamps (pcap: the nanosecond magic; pcapng: `if_tsresol` 9).
    pub nano: bool,
    /// Snap length recorded in the header (longer packets are cut, keeping
    /// their original length); at most [`MAX_CAPLEN`].
    pub snaplen: u32,
    /// Interface name (pcapng `if_name`).
    pub iface: Option<String>,
    /// A comment on the pcapng section (`opt_comment`): socklab records its
    /// decode table there ([`crate::wire::decode_as::DecodeTable::to_comment`]).
    /// pcap has no place for it.
    pub comment: Option<String>,
}

impl WriteOptions {
    /// Defaults for `path`: format from the extension, whole packets.
    pub fn new(path: &Path, link: LinkType, nano: bool) -> Self {
        WriteOptions {
            format: Format::for_path(path),
            link,
            nano,
            snaplen: MAX_CAPLEN,
            iface: None,
            comment: None,
        }
    }
}

enum Sink<W: Write> {
    Pcap(PcapWriter<W>),
    PcapNg(PcapNgWriter<W>),
}

/// Writes packets to a pcap or pcapng file.
///
/// ```no_run
/// use socklab::capture::file::Writer;
/// use socklab::capture::{LinkType, Packet, Timestamp};
/// # fn main() -> Result<(), socklab::capture::file::FileError> {
/// let mut w = Writer::create("lesson.pcap".as_ref(), LinkType::Ethernet, false)?;
/// let frame = [0u8; 60];
/// w.write(&Packet { ts: Timestamp::now(), data: &frame, orig_len: 60, link: LinkType::Ethernet })?;
/// w.finish()?;
/// # Ok(()) }
/// ```
pub struct Writer<W: Write = BufWriter<File>> {
    sink: Sink<W>,
    path: String,
    opts: WriteOptions,
    written: u64,
}

impl<W: Write> std::fmt::Debug for Writer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("path", &self.path)
            .field("opts", &self.opts)
            .field("written", &self.written)
            .finish()
    }
}

/// `uid` as the rest of the machine sees it: inside a user namespace (the
/// lab's no-root mode) uid 0 is really the user who started socklab.
fn outer_uid(uid: nix::unistd::Uid) -> nix::unistd::Uid {
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    map.lines()
        .find_map(|line| {
            let f: Vec<u32> = line
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            let (inner, outer, count) = (*f.first()?, *f.get(1)?, *f.get(2)?);
            let offset = uid.as_raw().checked_sub(inner)?;
            (offset < count).then(|| nix::unistd::Uid::from_raw(outer + offset))
        })
        .unwrap_or(uid)
}

/// Why a capture file could not be created where asked: who this process
/// is, which directory refused, and where to write instead.
fn no_write_hint(path: &Path) -> String {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::env::current_dir().unwrap_or_else(|_| ".".into()),
    };
    let uid = outer_uid(nix::unistd::geteuid());
    let user = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid {uid}"));
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "capture.pcap".into());
    let sudo = if std::env::var_os("SUDO_UID").is_some() {
        " (a capture file is created after privileges are dropped, as the user who ran sudo)"
    } else {
        ""
    };
    format!(
        "\n  hint: user {user} may not create files in {}{sudo}: write it to a directory {user} \
         can write to, e.g. -w /tmp/{file}",
        dir.display()
    )
}

impl Writer<BufWriter<File>> {
    /// Create (or truncate) `path`: pcapng if it ends in `.pcapng`, else
    /// pcap; microsecond timestamps unless `nano`.
    pub fn create(path: &Path, link: LinkType, nano: bool) -> Result<Self, FileError> {
        Self::create_with(path, &WriteOptions::new(path, link, nano))
    }

    /// Create (or truncate) `path` with explicit options; `-` writes the
    /// capture to standard output (a pcap stream for `| tcpdump -r -`).
    pub fn create_with(path: &Path, opts: &WriteOptions) -> Result<Self, FileError> {
        if path.as_os_str() == "-" {
            let name = "standard output".to_string();
            let f = super::stdio_file(std::io::stdout().as_fd()).map_err(|e| FileError::Open {
                action: "write the capture to",
                path: name.clone(),
                detail: crate::error::describe_io(&e),
            })?;
            return Writer::new(BufWriter::with_capacity(64 * 1024, f), name, opts);
        }
        let name = path.display().to_string();
        let f = File::create(path).map_err(|e| {
            let mut detail = crate::error::describe_io(&e);
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                detail.push_str(&no_write_hint(path));
            }
            FileError::Open {
                action: "create",
                path: name.clone(),
                detail,
            }
        })?;
        Writer::new(BufWriter::with_capacity(64 * 1024, f), name, opts)
    }
}

impl<W: Write> Writer<W> {
    /// Write the file header to `w`; `path` names the file in errors.
    pub fn new(w: W, path: impl Into<String>, opts: &WriteOptions) -> Result<Self, FileError> {
        let path = path.into();
        let mut opts = opts.clone();
        opts.snaplen = opts.snaplen.clamp(1, MAX_CAPLEN);
        let werr = |e: String| FileError::Io {
            action: "write the header of",
            path: path.clone(),
            offset: None,
            detail: e,
        };
        let datalink = DataLink::from(opts.link.to_pcap());
        let sink = match opts.format {
            Format::Pcap => {
                let header = PcapHeader {
                    snaplen: opts.snaplen,
                    datalink,
                    ts_resolution: if opts.nano {
                        PcapTsResolution::NanoSecond
                    } else {
                        PcapTsResolution::MicroSecond
                    },
                    endianness: Endianness::native(),
                    ..Default::default()
                };
                Sink::Pcap(PcapWriter::with_header(w, header).map_err(|e| werr(detail(&e)))?)
            }
            Format::PcapNg => {
                let section = SectionHeaderBlock {
                    endianness: Endianness::native(),
                    major_version: 1,
                    minor_version: 0,
                    section_length: -1,
                    options: std::iter::once(SectionHeaderOption::UserApplication(Cow::Owned(
                        format!("socklab {}", env!("CARGO_PKG_VERSION")),
                    )))
                    .chain(opts.comment.iter().map(|c| {
                        SectionHeaderOption::Common(CommonOption::Comment(Cow::Owned(c.clone())))
                    }))
                    .collect(),
                };
                let mut ng =
                    PcapNgWriter::with_section_header(w, section).map_err(|e| werr(detail(&e)))?;
                let mut options = Vec::new();
                if let Some(name) = &opts.iface {
                    options.push(InterfaceDescriptionOption::IfName(Cow::Owned(name.clone())));
                }
                options.push(InterfaceDescriptionOption::IfTsResol(if opts.nano {
                    InterfaceTsResolution::NANO
                } else {
                    InterfaceTsResolution::MICRO
                }));
                let idb = InterfaceDescriptionBlock {
                    linktype: datalink,
                    snaplen: opts.snaplen,
                    options,
                };
                ng.write_pcapng_block(idb).map_err(|e| werr(detail(&e)))?;
                Sink::PcapNg(ng)
            }
        };
        Ok(Writer {
            sink,
            path,
            opts,
            written: 0,
        })
    }

    /// The options in force.
    pub fn options(&self) -> &WriteOptions {
        &self.opts
    }

    /// Packets written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Append one packet. Bytes beyond the snap length are not stored; the
    /// original length always is.
    pub fn write(&mut self, p: &Packet<'_>) -> Result<(), FileError> {
        self.write_commented(p, None)
    }

    /// Append one packet with a comment (pcapng `opt_comment`; a pcap file
    /// has no place for it and stores the packet alone).
    pub fn write_commented(
        &mut self,
        p: &Packet<'_>,
        comment: Option<&str>,
    ) -> Result<(), FileError> {
        let n = self.written + 1;
        let unwritable = |what: String| FileError::Unwritable {
            path: self.path.clone(),
            packet: n,
            what,
        };
        if p.link != self.opts.link {
            return Err(unwritable(format!(
                "its link type is {} but the file was opened for {}",
                p.link.name(),
                self.opts.link.name()
            )));
        }
        let secs = u64::try_from(p.ts.secs)
            .map_err(|_| unwritable(format!("its time {} is before 1970", p.ts)))?;
        let ts = Duration::new(secs, p.ts.nanos);
        let keep = p.data.len().min(self.opts.snaplen as usize);
        let data = &p.data[..keep];
        let orig_len = u32::try_from(p.orig_len.max(keep)).unwrap_or(u32::MAX);
        let result = match &mut self.sink {
            Sink::Pcap(w) => {
                let pkt =
                    PcapPacket::new(ts, orig_len, data).map_err(|e| unwritable(e.to_string()))?;
                w.write_packet(&pkt).map(|_| ()).map_err(|e| detail(&e))
            }
            Sink::PcapNg(w) => {
                let epb = EnhancedPacketBlock {
                    interface_id: 0,
                    timestamp: ts,
                    original_len: orig_len,
                    data: Cow::Borrowed(data),
                    options: comment
                        .map(|c| {
                            vec![EnhancedPacketOption::Common(CommonOption::Comment(
                                Cow::Owned(c.to_string()),
                            ))]
                        })
                        .unwrap_or_default(),
                };
                w.write_pcapng_block(epb)
                    .map(|_| ())
                    .map_err(|e| detail(&e))
            }
        };
        result.map_err(|detail| FileError::Io {
            action: "write",
            path: self.path.clone(),
            offset: None,
            detail: format!("packet {n}: {detail}"),
        })?;
        self.written = n;
        Ok(())
    }

    /// Push buffered packets to the file (so it is readable while capturing).
    pub fn flush(&mut self) -> Result<(), FileError> {
        let r = match &mut self.sink {
            Sink::Pcap(w) => w.flush().map_err(|e| detail(&e)),
            Sink::PcapNg(w) => w.get_mut().flush().map_err(|e| describe_io(&e)),
        };
        r.map_err(|detail| FileError::Io {
            action: "write",
            path: self.path.clone(),
            offset: None,
            detail,
        })
    }

    /// Flush and return the underlying writer.
    pub fn finish(mut self) -> Result<W, FileError> {
        self.flush()?;
        Ok(match self.sink {
            Sink::Pcap(w) => w.into_inner(),
            Sink::PcapNg(w) => w.into_inner(),
        })
    }
}

/// The OS error behind a pcap-file error, with its errno name
/// (`No space left on device (ENOSPC)`), else the error's own words.
fn detail(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return describe_io(io);
        }
        cause = c.source();
    }
    e.to_string()
}
