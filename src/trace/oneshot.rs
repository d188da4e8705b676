//! One stop instead of two for the sends and receives that cannot block.
//!
//! A traced call normally costs two ptrace stops: the seccomp stop at its
//! entry (arguments, the bytes sent) and a syscall-exit stop (the result,
//! the bytes received). For `send`/`sendto`/`write` and `recv`/`recvfrom`/
//! `read` on an IPv4 or IPv6 socket, socklab can instead make the call
//! itself at the entry stop, on a duplicate of the program's fd
//! (`pidfd_getfd`: the same open file, so the same socket, with
//! `MSG_DONTWAIT`), copy the received bytes into the program's buffer, and
//! skip the program's own system call with that result (the documented
//! ptrace way: syscall number -1, result in `rax`). The program sees
//! exactly what the kernel would have returned; the second stop is saved.
//!
//! Only calls whose outcome cannot differ are done this way; everything
//! else is left to the program (`Outcome::Program`), nothing consumed:
//! - a call that would block (`EAGAIN` on a blocking socket), so it blocks
//!   in the program, with its timeouts and signals;
//! - a send that ends in `EPIPE` without `MSG_NOSIGNAL` (the program must
//!   get its SIGPIPE);
//! - flags other than those known to behave the same (`MSG_WAITALL`,
//!   `MSG_ERRQUEUE`, `MSG_OOB`...), `SO_RCVLOWAT` above 1 on a blocking
//!   stream socket, buffers socklab cannot read or write in the program,
//!   datagrams larger than the scratch buffer;
//! - other families (`AF_UNIX` passes the *caller's* credentials).
//!
//! A send on a blocking stream socket that only fits in part is finished by
//! the program (`Outcome::Partial`): its arguments are moved past the bytes
//! already sent and the exit stop adds them to its result, as one blocking
//! send would have returned.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::unistd::Pid;

use super::addr::Addr;
use super::decode::{Known, KEEP};
use super::mem;
use super::sockets::{self, SocketInfo};
use super::syscalls::Sys;

/// Largest buffer moved in one stop (bigger receives and sends take two).
pub const MAX_BYTES: usize = 1 << 20;

/// What became of the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done: the program's call is skipped with this result (negative errno on error).
    Done(i64),
    /// A blocking stream send sent this many bytes; the program sends the rest.
    Partial(usize),
    /// Left to the program (nothing was consumed or sent).
    Program,
}

/// Flags a send may carry and still be done here.
const SEND_FLAGS: i32 =
    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL | libc::MSG_MORE | libc::MSG_CONFIRM;
/// Flags a receive may carry and still be done here.
const RECV_FLAGS: i32 =
    libc::MSG_DONTWAIT | libc::MSG_PEEK | libc::MSG_TRUNC | libc::MSG_CMSG_CLOEXEC;

/// Calls done in one stop, with what they need between calls.
#[derive(Debug, Default)]
pub struct OneShot {
    /// A pidfd per traced process (for `pidfd_getfd`).
    pidfds: HashMap<i32, OwnedFd>,
    scratch: Vec<u8>,
    /// What the last call done here moved (for its report; none after
    /// an error: then the report reads the program's memory).
    seen: Option<Known>,
    /// Calls done in one stop.
    pub done: u64,
    /// Calls left to the program.
    pub left: u64,
}

/// The call's arguments as the fast path sees them.
struct Args {
    buf: u64,
    len: usize,
    flags: i32,
    /// sendto: destination and its length; recvfrom: where the source
    /// address and its length go.
    addr: u64,
    addrlen: u64,
}

impl OneShot {
    /// A fast path with no process known yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// True if `sys` on `sock` may be done in one stop (the cheap test).
    pub fn applies(sys: Sys, sock: &SocketInfo) -> bool {
        matches!(sys, Sys::Sendto | Sys::Recvfrom | Sys::Read | Sys::Write)
            && matches!(sock.family, libc::AF_INET | libc::AF_INET6)
            && matches!(sock.kind, libc::SOCK_STREAM | libc::SOCK_DGRAM)
    }

    /// Try call `sys` with `a` of process `tgid` (stopped at its entry) here.
    pub fn attempt(&mut self, tgid: Pid, sys: Sys, a: &[u64; 6]) -> Outcome {
        let args = match sys {
            Sys::Sendto | Sys::Recvfrom => Args {
                buf: a[1],
                len: a[2] as usize,
                flags: a[3] as i32,
                addr: a[4],
                addrlen: a[5],
            },
            Sys::Read | Sys::Write => Args {
                buf: a[1],
                len: a[2] as usize,
                flags: 0,
                addr: 0,
                addrlen: 0,
            },
            _ => return Outcome::Program,
        };
        // `read` of nothing returns 0 before the socket is asked (a
        // receive of 0 bytes would take a datagram or an error).
        if sys == Sys::Read && args.len == 0 {
            self.left += 1;
            return Outcome::Program;
        }
        self.seen = None;
        let out = match self.dup(tgid, a[0] as i32) {
            // What the fd is now, not what socklab's table says it was.
            Some(fd) => match sockets::int_opt(&fd, libc::SOL_SOCKET, libc::SO_PROTOCOL) {
                Some(p @ (libc::IPPROTO_TCP | libc::IPPROTO_UDP)) => {
                    let stream = p == libc::IPPROTO_TCP;
                    if matches!(sys, Sys::Sendto | Sys::Write) {
                        self.send(tgid, &fd, &args, stream)
                    } else {
                        self.recv(tgid, &fd, &args, stream)
                    }
                }
                _ => Outcome::Program,
            },
            None => Outcome::Program,
        };
        if out == Outcome::Program {
            self.left += 1;
        } else {
            self.done += 1;
        }
        out
    }

    /// What the call just done here moved: its first bytes and address.
    pub fn take_seen(&mut self) -> Option<Known> {
        self.seen.take()
    }

    /// The process exec'd or ended.
    pub fn forget(&mut self, tgid: Pid) {
        self.pidfds.remove(&tgid.as_raw());
    }

    /// A duplicate of the program's `fd`, for this call only (holding it
    /// longer would keep the socket open after the program closed it).
    fn dup(&mut self, tgid: Pid, fd: i32) -> Option<OwnedFd> {
        let pidfd = match self.pidfds.get(&tgid.as_raw()) {
            Some(p) => p.as_raw_fd(),
            None => {
                // SAFETY: pidfd_open takes a pid and flags; returns a new fd or -1.
                let p = unsafe { libc::syscall(libc::SYS_pidfd_open, tgid.as_raw(), 0) };
                if p < 0 {
                    return None;
                }
                // SAFETY: a new fd owned from here on.
                let owned = unsafe { OwnedFd::from_raw_fd(p as i32) };
                let raw = owned.as_raw_fd();
                self.pidfds.insert(tgid.as_raw(), owned);
                raw
            }
        };
        sockets::getfd(pidfd, fd)
    }

    fn send(&mut self, tgid: Pid, fd: &OwnedFd, a: &Args, stream: bool) -> Outcome {
        if a.flags & !SEND_FLAGS != 0 || a.len > MAX_BYTES || a.addrlen > 128 {
            return Outcome::Program;
        }
        self.scratch.resize(a.len, 0);
        if mem::read_into(tgid, a.buf, &mut self.scratch[..a.len]) != a.len {
            return Outcome::Program;
        }
        let mut dest = [0u8; 128];
        let dlen = a.addrlen as usize;
        if a.addr != 0 && mem::read_into(tgid, a.addr, &mut dest[..dlen]) != dlen {
            return Outcome::Program;
        }
        let (dp, dl) = if a.addr != 0 {
            (
                dest.as_ptr().cast::<libc::sockaddr>(),
                dlen as libc::socklen_t,
            )
        } else {
            (std::ptr::null(), 0)
        };
        // A failed datagram send drops what is corked on the socket
        // (MSG_MORE, UDP_CORK): a blocking one with anything queued is
        // the program's, which would wait instead of failing.
        if !stream && !nonblocking(fd, a.flags) && outq(fd) != Some(0) {
            return Outcome::Program;
        }
        let flags = a.flags | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
        // SAFETY: the buffer and address describe memory we own, sized above.
        let n = unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                self.scratch.as_ptr().cast(),
                a.len,
                flags,
                dp,
                dl,
            )
        };
        if n >= 0 {
            let n = n as usize;
            self.seen = Some(Known {
                bytes: self.scratch[..a.len.min(KEEP)].to_vec(),
                addr: (a.addr != 0)
                    .then(|| Addr::from_bytes(&dest[..dlen]))
                    .flatten(),
            });
            if n < a.len && stream && !nonblocking(fd, a.flags) {
                return Outcome::Partial(n);
            }
            return Outcome::Done(n as i64);
        }
        match errno() {
            libc::EAGAIN if !nonblocking(fd, a.flags) => Outcome::Program,
            libc::EPIPE if a.flags & libc::MSG_NOSIGNAL == 0 => Outcome::Program,
            // Not a socket after all (an fd socklab took for one): `write`
            // to it is the program's.
            libc::ENOTSOCK => Outcome::Program,
            e => Outcome::Done(-i64::from(e)),
        }
    }

    fn recv(&mut self, tgid: Pid, fd: &OwnedFd, a: &Args, stream: bool) -> Outcome {
        // MSG_TRUNC on a stream discards the bytes instead of copying them.
        let trunc = a.flags & libc::MSG_TRUNC != 0;
        if a.flags & !RECV_FLAGS != 0 || (!stream && a.len > MAX_BYTES) || (stream && trunc) {
            return Outcome::Program;
        }
        let len = a.len.min(MAX_BYTES);
        // A blocking stream receive waits for SO_RCVLOWAT bytes.
        if stream
            && sockets::int_opt(fd, libc::SOL_SOCKET, libc::SO_RCVLOWAT).is_none_or(|l| l > 1)
            && !nonblocking(fd, a.flags)
        {
            return Outcome::Program;
        }
        // Where the source address goes: its room, read before anything is consumed.
        let room = match (a.addr, a.addrlen) {
            (0, _) => None,
            // The kernel takes the bytes, then fails to write the length.
            (_, 0) => return Outcome::Program,
            // A negative length is the kernel's EINVAL; more room than
            // any address needs is only written up to the address.
            (p, lp) => match mem::u32_at(tgid, lp).map(|r| r as i32) {
                Some(r) if r >= 0 => {
                    let r = (r as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
                    if !(writable(tgid, lp, 4) && writable(tgid, p, r)) {
                        return Outcome::Program;
                    }
                    Some((p, lp, r))
                }
                _ => return Outcome::Program,
            },
        };
        if !writable(tgid, a.buf, len) {
            return Outcome::Program;
        }
        self.scratch.resize(len, 0);
        // SAFETY: sockaddr_storage is plain data; all-zero is valid.
        let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut sl = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let (sp, slp) = if room.is_some() {
            (
                (&mut ss as *mut libc::sockaddr_storage).cast(),
                &mut sl as *mut _,
            )
        } else {
            (std::ptr::null_mut(), std::ptr::null_mut())
        };
        // SAFETY: the buffer and address describe memory we own, sized above.
        let n = unsafe {
            libc::recvfrom(
                fd.as_raw_fd(),
                self.scratch.as_mut_ptr().cast(),
                len,
                a.flags | libc::MSG_DONTWAIT,
                sp,
                slp,
            )
        };
        if n < 0 {
            return match errno() {
                libc::EAGAIN if !nonblocking(fd, a.flags) => Outcome::Program,
                libc::ENOTSOCK => Outcome::Program,
                e => Outcome::Done(-i64::from(e)),
            };
        }
        // MSG_TRUNC: the datagram's whole length, more than was copied.
        let copied = (n as usize).min(len);
        if mem::write(tgid, a.buf, &self.scratch[..copied]) != copied {
            // Checked writable above: only a concurrent unmap gets here,
            // where the kernel would have failed the same way.
            return Outcome::Done(-i64::from(libc::EFAULT));
        }
        let mut from = None;
        if let Some((p, lp, r)) = room {
            let have = (sl as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
            // SAFETY: viewing `ss` as bytes; `have` is within it.
            let bytes = unsafe {
                std::slice::from_raw_parts(
                    (&ss as *const libc::sockaddr_storage).cast::<u8>(),
                    have,
                )
            };
            mem::write(tgid, p, &bytes[..have.min(r)]);
            mem::write(tgid, lp, &sl.to_ne_bytes());
            from = Addr::from_bytes(bytes);
        }
        self.seen = Some(Known {
            bytes: self.scratch[..copied.min(KEEP)].to_vec(),
            addr: from,
        });
        Outcome::Done(n as i64)
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The program's call would not block: `MSG_DONTWAIT` or `O_NONBLOCK` on
/// the open file (shared with the duplicate).
fn nonblocking(fd: &OwnedFd, flags: i32) -> bool {
    if flags & libc::MSG_DONTWAIT != 0 {
        return true;
    }
    // SAFETY: F_GETFL on an fd we own.
    let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    fl >= 0 && fl & libc::O_NONBLOCK != 0
}

/// Bytes queued on the socket for sending (`SIOCOUTQ`).
fn outq(fd: &OwnedFd) -> Option<i32> {
    let mut v: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one c_int, which we own.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCOUTQ, &mut v) };
    (r == 0).then_some(v)
}

const PAGE: u64 = 4096;

/// True if `len` bytes at `addr` in `pid` can be written: one byte of each
/// page is read and written back unchanged (before a receive consumes
/// anything, so that a bad buffer is left for the program to fail on).
fn writable(pid: Pid, addr: u64, len: usize) -> bool {
    if len == 0 {
        return true;
    }
    let Some(last) = addr.checked_add(len as u64 - 1) else {
        return false;
    };
    let mut spots = vec![addr];
    let mut page = (addr / PAGE + 1) * PAGE;
    while page <= last {
        spots.push(page);
        page += PAGE;
    }
    let mut bytes = vec![0u8; spots.len()];
    let iov = |b: &mut [u8]| -> Vec<libc::iovec> {
        b.iter_mut()
            .map(|x| libc::iovec {
                iov_base: (x as *mut u8).cast(),
                iov_len: 1,
            })
            .collect()
    };
    let remote: Vec<libc::iovec> = spots
        .iter()
        .map(|&s| libc::iovec {
            iov_base: s as *mut libc::c_void,
            iov_len: 1,
        })
        .collect();
    let n = spots.len();
    let local = iov(&mut bytes);
    // SAFETY: each local iovec is one byte of `bytes`; the kernel checks the remote ones.
    let r = unsafe {
        libc::process_vm_readv(
            pid.as_raw(),
            local.as_ptr(),
            n as _,
            remote.as_ptr(),
            n as _,
            0,
        )
    };
    if r != n as isize {
        return false;
    }
    // SAFETY: as above; the same bytes go back where they were.
    let w = unsafe {
        libc::process_vm_writev(
            pid.as_raw(),
            local.as_ptr(),
            n as _,
            remote.as_ptr(),
            n as _,
            0,
        )
    };
    w == n as isize
}
