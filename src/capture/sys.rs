//! The few raw system calls live capture needs that neither pnet nor std
//! offer: opening an AF_PACKET socket, packet-socket options, the kernel
//! receive timestamp, the drop counters and the kernel filter. Every `unsafe` block of the
//! capture layer's socket handling is here.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::{KernelStats, Timestamp};

/// `SOL_PACKET` option: do not deliver packets the host sends (Linux >= 4.20).
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
/// `SOL_PACKET` option: read and reset `struct tpacket_stats`.
const PACKET_STATISTICS: libc::c_int = 6;
/// `ioctl`: the receive timestamp of the last packet read, as a `timespec`.
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;

/// `struct tpacket_stats` from `<linux/if_packet.h>`.
#[repr(C)]
#[derive(Default)]
struct TpacketStats {
    tp_packets: libc::c_uint,
    tp_drops: libc::c_uint,
}

/// Open `socket(AF_PACKET, SOCK_RAW, 0)`: protocol 0 receives nothing until
/// the socket is bound with a protocol and an interface, so no packet of
/// another interface slips in before the bind.
pub(super) fn open_packet_socket() -> io::Result<OwnedFd> {
    packet_socket(libc::SOCK_RAW)
}

/// Open a cooked `socket(AF_PACKET, SOCK_DGRAM, 0)` (for `-i any`: the
/// kernel removes each interface's own link header and says in a
/// `sockaddr_ll` what it was).
pub(super) fn open_cooked_socket() -> io::Result<OwnedFd> {
    packet_socket(libc::SOCK_DGRAM)
}

fn packet_socket(kind: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket() takes plain integers and returns a new descriptor or -1.
    let fd = unsafe { libc::socket(libc::AF_PACKET, kind | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a freshly created descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_int(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the pointer and length describe a live c_int on our stack.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Ask the kernel not to deliver outgoing packets (each loopback packet is
/// then seen once, as it comes in).
pub(super) fn ignore_outgoing(fd: &OwnedFd) -> io::Result<()> {
    set_int(fd.as_raw_fd(), libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
}

/// Grow the socket's receive buffer to `bytes` (forced past `rmem_max`
/// when privileged, else as far as `rmem_max` allows).
pub(super) fn set_rcvbuf(fd: &OwnedFd, bytes: usize) {
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    if set_int(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, v).is_err() {
        // Not fatal: the default buffer works, it only drops sooner under load.
        let _ = set_int(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, v);
    }
}

/// Enable kernel timestamps on the socket (the first `SIOCGSTAMPNS` does
/// that; before any packet it reports "no timestamp yet", which is expected).
pub(super) fn enable_timestamps(fd: RawFd) {
    let _ = last_timestamp(fd);
}

/// The kernel receive timestamp of the last packet read from `fd`.
pub(super) fn last_timestamp(fd: RawFd) -> io::Result<Timestamp> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: SIOCGSTAMPNS writes one struct timespec to the pointer given,
    // which points to a live timespec on our stack.
    let r = unsafe { libc::ioctl(fd, SIOCGSTAMPNS as _, &mut ts as *mut libc::timespec) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Timestamp::new(
        ts.tv_sec,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    ))
}

/// Read (and reset) the kernel's packet and drop counters.
pub(super) fn take_stats(fd: RawFd) -> io::Result<KernelStats> {
    let mut st = TpacketStats::default();
    let mut len = mem::size_of::<TpacketStats>() as libc::socklen_t;
    // SAFETY: the pointer and length describe a live TpacketStats, which has
    // the layout of the kernel's struct tpacket_stats; len is updated in place.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            PACKET_STATISTICS,
            (&mut st as *mut TpacketStats).cast(),
            &mut len,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(KernelStats {
        received: u64::from(st.tp_packets),
        dropped: u64::from(st.tp_drops),
    })
}

/// Bind the packet socket to interface `ifindex` for every protocol (what
/// pnet does on the recvfrom path; the ring path binds itself).
pub(super) fn bind_all(fd: &OwnedFd, ifindex: u32) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain data; all zeroes is a valid value.
    let mut sa: libc::sockaddr_ll = unsafe { mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as libc::c_ushort;
    sa.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sa.sll_ifindex =
        libc::c_int::try_from(ifindex).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: the pointer and length describe the live sockaddr_ll above.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_ll).cast(),
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The index of interface `name`, if there is one.
pub(super) fn if_index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: c is a live NUL-terminated string for the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// Wait up to `timeout` for a packet on the cooked socket `fd` and read it
/// into `buf`: its length on the wire (more than `buf` holds when it was
/// cut) and the kernel's `sockaddr_ll` bytes; `None` when nothing came.
pub(super) fn recv_cooked(
    fd: RawFd,
    buf: &mut [u8],
    timeout: std::time::Duration,
) -> io::Result<Option<(usize, [u8; mem::size_of::<libc::sockaddr_ll>()])>> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one live pollfd on our stack, count 1.
    if unsafe { libc::poll(&mut pfd, 1, ms) } <= 0 {
        return Ok(None);
    }
    // SAFETY: sockaddr_ll is plain data; all zeroes is a valid value.
    let mut sa: libc::sockaddr_ll = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: buf and sa are live for the call with the lengths given;
    // MSG_TRUNC makes the kernel return the packet's whole length.
    let n = unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_TRUNC | libc::MSG_DONTWAIT,
            (&mut sa as *mut libc::sockaddr_ll).cast(),
            &mut len,
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
            _ => Err(e),
        };
    }
    // SAFETY: viewing the live sockaddr_ll as its bytes, for its size.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&sa as *const libc::sockaddr_ll).cast::<u8>(),
            mem::size_of::<libc::sockaddr_ll>(),
        )
    };
    let mut out = [0u8; mem::size_of::<libc::sockaddr_ll>()];
    out.copy_from_slice(bytes);
    Ok(Some((n as usize, out)))
}

/// `struct sock_fprog` from `<linux/filter.h>`.
#[repr(C)]
struct SockFprog {
    len: libc::c_ushort,
    filter: *const crate::filter::bpf::Insn,
}

/// Attach a classic BPF program (`SO_ATTACH_FILTER`): from now on the kernel
/// queues only the packets it accepts, cut to the length it returns.
pub(super) fn attach_filter(fd: &OwnedFd, prog: &[crate::filter::bpf::Insn]) -> io::Result<()> {
    let len = libc::c_ushort::try_from(prog.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let fprog = SockFprog {
        len,
        filter: prog.as_ptr(),
    };
    // SAFETY: `Insn` is #[repr(C)] with the layout of `struct sock_filter`
    // (u16, u8, u8, u32); fprog points to `len` of them, alive for the call,
    // and the kernel copies the program before setsockopt returns.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&fprog as *const SockFprog).cast(),
            mem::size_of::<SockFprog>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// True when this process may open a packet socket (it has CAP_NET_RAW).
pub fn can_capture() -> bool {
    open_packet_socket().is_ok()
}

/// `SIOCETHTOOL` from `<linux/sockios.h>`.
const SIOCETHTOOL: libc::c_ulong = 0x8946;
/// `ETHTOOL_GLINK` from `<linux/ethtool.h>`: is the link up (carrier)?
const ETHTOOL_GLINK: u32 = 0x0000_000a;

/// `struct ethtool_value` from `<linux/ethtool.h>`.
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// Ask the driver of interface `name` whether its link is detected
/// (`ETHTOOL_GLINK`, as libpcap asks for `tcpdump -D`): `Ok(true)` connected,
/// `Ok(false)` disconnected; `EOPNOTSUPP`/`EINVAL` when the driver cannot tell.
/// Needs no privilege.
pub(super) fn link_detected(name: &str) -> io::Result<bool> {
    let bytes = name.as_bytes();
    if bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(io::Error::from_raw_os_error(libc::ENODEV));
    }
    // SAFETY: socket() takes plain integers and returns a new descriptor or -1.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a freshly created descriptor that nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut value = EthtoolValue {
        cmd: ETHTOOL_GLINK,
        data: 0,
    };
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut ifr: libc::ifreq = unsafe { mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    ifr.ifr_ifru.ifru_data = (&mut value as *mut EthtoolValue).cast();
    // SAFETY: ifr holds a NUL-terminated name (checked shorter than
    // IFNAMSIZ, rest zero) and points to `value`, alive for the call, which
    // the kernel reads (cmd) and writes (data) as a `struct ethtool_value`.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), SIOCETHTOOL as _, &mut ifr) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value.data != 0)
}
