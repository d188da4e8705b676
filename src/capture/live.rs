//! Live capture from a network interface through pnet's datalink channel
//! on an AF_PACKET socket that socklab opens and configures itself.
//!
//! What socklab adds to pnet's channel:
//! - on `lo`, `PACKET_IGNORE_OUTGOING`, so each packet is seen once (a
//!   packet socket otherwise sees a loopback packet leave and come back);
//!   on other interfaces both directions are kept;
//! - a read buffer as large as any frame the interface can deliver (pnet's
//!   default of 4096 bytes would silently cut a 20,000-byte datagram on
//!   `lo`, whose MTU is 65536); a snap length cuts in user space, keeping
//!   the original length, so a cut packet is always marked as such;
//! - the kernel receive timestamp of each packet (`SIOCGSTAMPNS`, ns);
//! - the kernel's drop counter (`PACKET_STATISTICS`);
//! - the filter compiled to classic BPF and attached (`SO_ATTACH_FILTER`)
//!   before the bind, so packets that do not match never leave the kernel;
//! - a read timeout, so a caller polls its stop flag at least that often.
//!
//! Per packet this costs pnet's `poll` + `recvfrom` and one `ioctl`; the
//! receive buffer is allocated once.
//!
//! `any` ([`ANY`]) captures on every interface as `tcpdump -i any` does: a
//! cooked (`SOCK_DGRAM`) socket bound to no interface, each packet behind
//! an SLL2 header built from what the kernel says ([`super::cooked`]),
//! both directions kept on every interface but `lo`, whose outgoing copies
//! the attached filter drops (each loopback packet is seen once, `In`).

use std::os::fd::{AsRawFd, IntoRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pnet::datalink::{self, Channel, DataLinkReceiver};

use super::{sys, CaptureError, KernelStats, LinkType, Packet};

/// Largest frame socklab expects from any interface (GRO/GSO packets on
/// `lo` and Ethernet reach 64 KiB plus headers); anything that arrives
/// bigger than the IP header says is reported as truncated by the decoder.
pub const MAX_FRAME: usize = 256 * 1024 + 64;

/// How long `open` waits for kernel timestamping to be in force.
const TIMESTAMP_SETTLE: Duration = Duration::from_millis(50);

/// Default time a read waits before giving the caller a chance to stop.
pub const DEFAULT_POLL: Duration = Duration::from_millis(100);

/// The pseudo-interface that captures on every interface (cooked, SLL2).
pub const ANY: &str = "any";

/// What to capture.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Interface name, e.g. `lo`.
    pub iface: String,
    /// Keep at most this many bytes of each packet (`None`: everything).
    pub snaplen: Option<usize>,
    /// Longest a read waits before returning `Ok(None)`.
    pub poll: Duration,
    /// Kernel receive buffer size in bytes (bigger drops less under load).
    pub rcvbuf: usize,
    /// Put the interface in promiscuous mode.
    pub promiscuous: bool,
    /// Read through a memory-mapped TPACKET_V3 ring of about this many
    /// bytes (`None`: one `recvfrom` per packet). If the ring cannot be set
    /// up, the capture falls back to `recvfrom` and says why
    /// ([`LiveCapture::ring_fallback`]).
    pub ring: Option<usize>,
    /// A classic BPF program the kernel runs on each packet before queueing
    /// it (attached before the socket is bound, so nothing slips past).
    pub kernel_filter: Option<Vec<crate::filter::bpf::Insn>>,
}

impl LiveConfig {
    /// Capture everything on `iface` with the defaults.
    pub fn new(iface: impl Into<String>) -> Self {
        LiveConfig {
            iface: iface.into(),
            snaplen: None,
            poll: DEFAULT_POLL,
            rcvbuf: 8 * 1024 * 1024,
            promiscuous: false,
            ring: None,
            kernel_filter: None,
        }
    }
}

/// Where packets are read from.
enum Rx {
    /// pnet's channel: poll + recvfrom per packet (pnet owns the socket).
    Recv(Box<dyn DataLinkReceiver>),
    /// A memory-mapped ring on a socket socklab owns (the ring is dropped,
    /// unmapped, before the socket closes).
    Ring {
        ring: super::ring::Ring,
        _sock: std::os::fd::OwnedFd,
    },
    /// `recvfrom` on a cooked socket (`any` without a ring): each packet
    /// is read behind room for the SLL2 header, which is filled in.
    Cooked {
        buf: Vec<u8>,
        _sock: std::os::fd::OwnedFd,
    },
}

/// A running capture. `Send`: it can be moved to a background thread.
pub struct LiveCapture {
    rx: Rx,
    poll: Duration,
    ring_fallback: Option<String>,
    fd: RawFd,
    snaplen: usize,
    link: LinkType,
    iface: String,
    stats: KernelStats,
    ignores_outgoing: bool,
}

impl std::fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCapture")
            .field("iface", &self.iface)
            .field("link", &self.link)
            .field("snaplen", &self.snaplen)
            .finish()
    }
}

/// A flag another thread (or a signal handler) sets to end a capture loop.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A new, unset flag.
    pub fn new() -> Self {
        Self::default()
    }
    /// Ask the loop to stop (it notices within one poll interval).
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// True once [`StopFlag::stop`] was called.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The link type the kernel gives an interface (`/sys/class/net/IF/type`,
/// the ARPHRD_* number).
pub fn link_type_of(iface: &str) -> LinkType {
    if iface == ANY {
        return LinkType::LinuxSll2;
    }
    let path = format!("/sys/class/net/{iface}/type");
    match std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
    {
        // ARPHRD_NONE (tun), ARPHRD_RAWIP: no link header, IP directly.
        Some(t) if t == "65534" || t == "519" => LinkType::RawIp,
        // ARPHRD_ETHER, ARPHRD_LOOPBACK (fake Ethernet header) and the rest.
        _ => LinkType::Ethernet,
    }
}

impl LiveCapture {
    /// Open a capture on `cfg.iface`. Needs CAP_NET_RAW; without it the
    /// error says how to get it.
    pub fn open(cfg: &LiveConfig) -> Result<LiveCapture, CaptureError> {
        Self::open_on(cfg, None)
    }

    /// [`LiveCapture::open`] on `probe`, the socket [`probe`] opened to
    /// learn that capturing is allowed, when it fits (`cfg.iface` is not
    /// `any`): closing a packet socket waits for the kernel (an RCU grace
    /// period, about 10-20 ms), so a run that closes one socket instead of
    /// two starts that much sooner.
    pub fn open_on(
        cfg: &LiveConfig,
        probe: Option<std::os::fd::OwnedFd>,
    ) -> Result<LiveCapture, CaptureError> {
        let any = cfg.iface == ANY;
        let interfaces = datalink::interfaces();
        let ni = interfaces.iter().find(|i| i.name == cfg.iface);
        if ni.is_none() && !any {
            return Err(no_such_interface(&cfg.iface, &interfaces));
        }
        let sock = match probe {
            Some(p) if !any => Ok(p),
            _ if any => sys::open_cooked_socket(),
            _ => sys::open_packet_socket(),
        }
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => CaptureError::no_permission(&e),
            _ => CaptureError::os("open AF_PACKET socket", &e),
        })?;
        // Ask for kernel receive timestamps now: the kernel turns them on
        // through deferred work, and packets that arrive before that are
        // stamped when they are read instead (see the wait below).
        sys::enable_timestamps(sock.as_raw_fd());
        let timestamps_asked = Instant::now();
        let is_loopback = ni.is_some_and(|n| n.is_loopback());
        let ignores_outgoing = if is_loopback {
            sys::ignore_outgoing(&sock)
                .map_err(|e| CaptureError::Os {
                    what: "set PACKET_IGNORE_OUTGOING on lo (needs Linux 4.20 or later; \
                           without it every loopback packet would be shown twice)",
                    detail: crate::error::describe_io(&e),
                })
                .map(|_| true)?
        } else {
            false
        };
        sys::set_rcvbuf(&sock, cfg.rcvbuf);
        let program = match (any, sys::if_index("lo")) {
            // On `any`, drop what lo sends (it comes back in as well).
            (true, Some(lo)) => Some(crate::filter::bpf::drop_outgoing_on(
                lo,
                cfg.kernel_filter
                    .as_deref()
                    .unwrap_or(&[crate::filter::bpf::accept_all()]),
            )),
            _ => cfg.kernel_filter.clone(),
        };
        if let Some(prog) = &program {
            sys::attach_filter(&sock, prog).map_err(|e| CaptureError::Os {
                what: "attach the compiled filter to the capture socket (SO_ATTACH_FILTER)",
                detail: crate::error::describe_io(&e),
            })?;
        }

        let settle = Settle(timestamps_asked);
        let (rx, fd, ring_fallback) = match ni {
            Some(ni) if !any => open_rx(sock, ni, cfg, cfg.promiscuous && !is_loopback, settle)?,
            _ => open_cooked_rx(sock, cfg, settle)?,
        };
        Ok(LiveCapture {
            rx,
            poll: cfg.poll,
            ring_fallback,
            fd,
            snaplen: cfg.snaplen.unwrap_or(usize::MAX).max(1),
            link: link_type_of(&cfg.iface),
            iface: cfg.iface.clone(),
            stats: KernelStats::default(),
            ignores_outgoing,
        })
    }

    /// The next packet, or `Ok(None)` when the poll interval passed with
    /// nothing to read. The packet borrows the capture's buffer.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        let fd = self.fd;
        let snaplen = self.snaplen;
        let link = self.link;
        let rx = match &mut self.rx {
            Rx::Ring { ring, .. } => {
                return match ring.next(fd, self.poll) {
                    Ok(Some(p)) => Ok(Some(Packet {
                        ts: p.ts,
                        data: &p.data[..p.data.len().min(snaplen)],
                        orig_len: p.wire_len.max(p.data.len()),
                        link,
                    })),
                    Ok(None) => Ok(None),
                    Err(e) => Err(CaptureError::os("read the capture ring", &e)),
                };
            }
            Rx::Cooked { buf, .. } => {
                let hdr = crate::wire::sll2::LEN;
                return match sys::recv_cooked(fd, &mut buf[hdr..], self.poll) {
                    Ok(Some((len, sa))) => {
                        buf[..hdr].copy_from_slice(&super::cooked::sll2_of(&sa).to_bytes());
                        let ts =
                            sys::last_timestamp(fd).unwrap_or_else(|_| super::Timestamp::now());
                        let got = hdr + len.min(buf.len() - hdr);
                        Ok(Some(Packet {
                            ts,
                            data: &buf[..got.min(snaplen)],
                            orig_len: hdr + len,
                            link,
                        }))
                    }
                    Ok(None) => Ok(None),
                    Err(e) => Err(CaptureError::os("receive a packet", &e)),
                };
            }
            Rx::Recv(rx) => rx,
        };
        match rx.next() {
            Ok(frame) => {
                let ts = sys::last_timestamp(fd).unwrap_or_else(|_| super::Timestamp::now());
                let keep = frame.len().min(snaplen);
                Ok(Some(Packet {
                    ts,
                    data: &frame[..keep],
                    orig_len: frame.len(),
                    link,
                }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(CaptureError::os("receive a packet", &e)),
        }
    }

    /// Kernel counters since the capture opened (received includes dropped).
    pub fn stats(&mut self) -> KernelStats {
        if let Ok(s) = sys::take_stats(self.fd) {
            self.stats.received += s.received;
            self.stats.dropped += s.dropped;
        }
        self.stats
    }

    /// The ring's size in bytes, when packets come through one.
    pub fn ring_bytes(&self) -> Option<usize> {
        match &self.rx {
            Rx::Ring { ring, .. } => Some(ring.bytes()),
            Rx::Recv(_) | Rx::Cooked { .. } => None,
        }
    }

    /// Why a ring was asked for but packets are read with recvfrom.
    pub fn ring_fallback(&self) -> Option<&str> {
        self.ring_fallback.as_deref()
    }

    /// How frames from this capture are decoded.
    pub fn link_type(&self) -> LinkType {
        self.link
    }

    /// The interface name.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// True when the kernel drops outgoing copies (loopback).
    pub fn ignores_outgoing(&self) -> bool {
        self.ignores_outgoing
    }

    /// Which packets of which direction are kept, in words.
    pub fn directions(&self) -> &'static str {
        if self.ignores_outgoing {
            "each loopback packet once (outgoing copies ignored)"
        } else if self.iface == ANY {
            "both directions on every interface, loopback packets once (as they come in)"
        } else {
            "both directions"
        }
    }
}

/// When kernel timestamps were asked for (see [`Settle::wait`]).
#[derive(Debug, Clone, Copy)]
struct Settle(Instant);

impl Settle {
    /// Before a socket read with `recvfrom` is bound: give the kernel's
    /// deferred enabling of timestamps time to land (a workqueue item,
    /// normally done within microseconds), or the first packets would be
    /// stamped when read. A ring needs no wait: the kernel stamps each
    /// packet as it writes it into the ring, with the time of arrival when
    /// the packet carries no timestamp.
    fn wait(self) {
        if let Some(rest) = TIMESTAMP_SETTLE.checked_sub(self.0.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}

/// The receive path: a memory-mapped ring where one can be set up (bound to
/// the interface here), else pnet's recvfrom channel (which binds it), with
/// the one line that says why the ring is missing.
fn open_rx(
    sock: std::os::fd::OwnedFd,
    ni: &datalink::NetworkInterface,
    cfg: &LiveConfig,
    promiscuous: bool,
    settle: Settle,
) -> Result<(Rx, RawFd, Option<String>), CaptureError> {
    let mut ring_fallback = None;
    if let Some(bytes) = cfg.ring.filter(|_| !promiscuous) {
        match try_ring(&sock, bytes, false) {
            Ok(ring) => {
                sys::bind_all(&sock, ni.index).map_err(|e| {
                    CaptureError::os("bind the capture socket to the interface", &e)
                })?;
                let fd = sock.as_raw_fd();
                return Ok((Rx::Ring { ring, _sock: sock }, fd, None));
            }
            // The failed request may have set TPACKET_V3; a fresh socket is
            // simplest, but the version only matters to rings, so the
            // recvfrom path below is unaffected.
            Err(why) => ring_fallback = Some(why),
        }
    }
    settle.wait();
    let fd = sock.into_raw_fd();
    let config = datalink::Config {
        read_buffer_size: MAX_FRAME,
        write_buffer_size: 64,
        read_timeout: Some(cfg.poll),
        promiscuous,
        socket_fd: Some(fd),
        ..Default::default()
    };
    // pnet binds the socket to the interface with ETH_P_ALL and from here
    // on owns the descriptor (it closes it on error and on drop).
    let rx = match datalink::channel(ni, config) {
        Ok(Channel::Ethernet(_tx, rx)) => rx,
        Ok(_) => {
            return Err(CaptureError::Os {
                what: "open datalink channel",
                detail: "pnet returned an unknown channel type".into(),
            })
        }
        Err(e) => {
            return Err(CaptureError::os(
                "bind the capture socket to the interface",
                &e,
            ))
        }
    };
    Ok((Rx::Recv(rx), fd, ring_fallback))
}

/// A memory-mapped ring on `sock`, or the line that says why there is
/// none and what is read instead.
fn try_ring(
    sock: &std::os::fd::OwnedFd,
    bytes: usize,
    cooked: bool,
) -> Result<super::ring::Ring, String> {
    super::ring::Ring::new(sock, bytes, cooked).map_err(|e| {
        format!(
            "no memory-mapped ring ({}): reading one packet per recvfrom",
            crate::error::describe_io(&e)
        )
    })
}

/// The receive path of a cooked socket (`any`), bound to every interface:
/// a ring where one can be set up, else `recvfrom`.
fn open_cooked_rx(
    sock: std::os::fd::OwnedFd,
    cfg: &LiveConfig,
    settle: Settle,
) -> Result<(Rx, RawFd, Option<String>), CaptureError> {
    let bind = |sock: &std::os::fd::OwnedFd| {
        sys::bind_all(sock, 0)
            .map_err(|e| CaptureError::os("bind the capture socket to every interface", &e))
    };
    let fd = sock.as_raw_fd();
    let mut ring_fallback = None;
    if let Some(bytes) = cfg.ring {
        match try_ring(&sock, bytes, true) {
            Ok(ring) => {
                bind(&sock)?;
                return Ok((Rx::Ring { ring, _sock: sock }, fd, None));
            }
            Err(why) => ring_fallback = Some(why),
        }
    }
    settle.wait();
    bind(&sock)?;
    let buf = vec![0u8; crate::wire::sll2::LEN + MAX_FRAME];
    Ok((Rx::Cooked { buf, _sock: sock }, fd, ring_fallback))
}

/// The socket descriptor (valid while the capture lives), e.g. to poll it.
impl AsRawFd for LiveCapture {
    fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

fn no_such_interface(name: &str, interfaces: &[datalink::NetworkInterface]) -> CaptureError {
    let available = interfaces
        .iter()
        .map(|i| i.name.as_str())
        .chain(std::iter::once(ANY))
        .collect::<Vec<_>>()
        .join(", ");
    CaptureError::NoSuchInterface {
        name: name.to_string(),
        available,
    }
}

/// `Ok` when `iface` exists (or is `any`), else the error
/// [`LiveCapture::open`] would give, for a caller that opens later.
pub fn check_iface(iface: &str) -> Result<(), CaptureError> {
    let interfaces = datalink::interfaces();
    if iface == ANY || interfaces.iter().any(|i| i.name == iface) {
        return Ok(());
    }
    Err(no_such_interface(iface, &interfaces))
}

/// True when this process may capture (it can open an AF_PACKET socket).
pub fn can_capture() -> bool {
    sys::can_capture()
}

/// The socket [`can_capture`] opens, kept (`None` when capturing is not
/// allowed), to be handed to [`LiveCapture::open_on`] so it is not closed
/// and opened again. It receives nothing until bound.
pub fn probe() -> Option<std::os::fd::OwnedFd> {
    sys::open_packet_socket().ok()
}
