//! Turning a stopped call (number, six arguments, result) into a
//! [`CallEvent`]: arguments decoded from the program's memory, the fd's
//! socket identity, the result and errno named, payload previews, course
//! decoding, and the fd table kept up to date.
//!
//! Inputs are read at the syscall-exit stop (the program cannot touch its
//! memory while stopped), except what the call destroys (close's socket).

use std::fmt::Write as _;

use nix::unistd::Pid;

use crate::capture::Timestamp;
use crate::wire::course::{self, Proto, CALC_PORT};

use super::addr::Addr;
use super::epoll::{self, EpollSets};
use super::event::{CallEvent, Dir, Payload};
use super::mem;
use super::names;
use super::sockets::{FdTable, SocketInfo};
use super::syscalls::{Sys, FIONBIO, F_DUPFD, F_SETFL};

/// Most payload bytes kept per call (for `-s`, `-X` and course decoding).
pub const KEEP: usize = 4096;
/// Most pollfds / epoll events / fds shown per call.
const MAX_LIST: usize = 64;
/// Most messages of a sendmmsg/recvmmsg shown per call.
const MAX_MMSG: u64 = 16;

/// A call between its entry and exit stops.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Call id.
    pub id: u64,
    /// Which call.
    pub sys: Sys,
    /// Its arguments.
    pub args: [u64; 6],
    /// Entry time.
    pub start: Timestamp,
    /// The fd's socket at entry (close, dup2 over a socket).
    pub before: Option<SocketInfo>,
    /// Bytes socklab already sent for it at the entry stop (a blocking
    /// stream send finished by the program, see `oneshot`).
    pub sent: usize,
    /// Made by socklab at the entry stop (`oneshot`): the bytes it moved
    /// and the address, already known (not read back from the program).
    pub known: Option<Box<Known>>,
}

/// What socklab saw of a send or receive it made itself.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// The first bytes (at most [`KEEP`]).
    pub bytes: Vec<u8>,
    /// Where a `sendto` went, where a `recvfrom`'s bytes came from.
    pub addr: Option<Addr>,
}

/// Decoding state: the fd table and what was learned about ports.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Every traced process's sockets.
    pub fds: FdTable,
    /// Every traced process's epoll sets.
    pub epoll: EpollSets,
    next_id: u64,
    /// UDP ports that received a 12-byte udp-calc request.
    udp_calc_ports: Vec<u16>,
    /// Payload bytes shown in a call's arguments (`-s`).
    snap: usize,
    /// `--decode PORT=PROTO` rules, before the course's default ports.
    pub decode: crate::wire::decode_as::DecodeTable,
}

/// What to do with a call at its entry stop.
#[derive(Debug)]
// Made and taken apart once per call, never stored: boxing the pending
// call would cost an allocation a call.
#[allow(clippy::large_enum_variant)]
pub enum Entry {
    /// Not about a socket: let it run without an exit stop.
    Skip,
    /// Stop at its exit; `announce` is the start line of a call that may block.
    Follow(Pending, Option<String>),
}

fn fd_of(a: u64) -> i32 {
    a as i32
}

fn ts_arg(pid: Pid, p: u64) -> String {
    if p == 0 {
        return "NULL".into();
    }
    let b = mem::read(pid, p, 16);
    if b.len() < 16 {
        return "?".into();
    }
    let s = i64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let frac = i64::from_ne_bytes(b[8..].try_into().unwrap_or([0; 8]));
    format!("{}.{:03} s", s, frac / 1_000_000)
}

fn timeval_text(b: &[u8]) -> String {
    if b.len() < 16 {
        return format!("{} bytes", b.len());
    }
    let s = i64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let us = i64::from_ne_bytes(b[8..16].try_into().unwrap_or([0; 8]));
    format!("{{{s} s, {us} us}}")
}

/// A payload preview: `"text"` for printable bytes, else hex; `...` when cut.
pub fn preview(b: &[u8], total: usize, snap: usize) -> String {
    let shown = &b[..b.len().min(snap)];
    let printable = shown
        .iter()
        .all(|c| c.is_ascii_graphic() || matches!(c, b' ' | b'\n' | b'\r' | b'\t' | 0));
    let mut s = String::new();
    if printable {
        // One notation for bytes everywhere: Python's repr (NUL is \x00).
        s.push_str(&crate::wire::escape::quoted(shown));
    } else {
        s.push_str("x'");
        for c in shown {
            let _ = write!(s, "{c:02x}");
        }
        s.push('\'');
    }
    if total > shown.len() {
        s.push_str("...");
    }
    s
}

impl Decoder {
    /// A decoder with an empty fd table, showing `snap` payload bytes per call.
    pub fn new(snap: usize) -> Self {
        Decoder {
            snap,
            ..Self::default()
        }
    }

    /// The entry stop of `sys` in thread `tid` of process `tgid`.
    pub fn enter(&mut self, tgid: Pid, sys: Sys, args: [u64; 6], start: Timestamp) -> Entry {
        let fd = fd_of(args[0]);
        let mut before = None;
        match sys {
            Sys::Close => {
                before = self.fds.get(tgid, fd).cloned();
                self.fds.closed(tgid, fd);
                self.epoll.closed(tgid, fd);
                if before.is_none() {
                    return Entry::Skip;
                }
            }
            Sys::CloseRange => {
                // CLOSE_RANGE_CLOEXEC (4) only marks them.
                if args[2] & 4 == 0 {
                    let hi = args[1].min(i32::MAX as u64) as i32;
                    self.fds.closed_range(tgid, fd, hi);
                    self.epoll.closed_range(tgid, fd, hi);
                }
                return Entry::Skip;
            }
            Sys::Dup | Sys::Dup2 | Sys::Dup3 | Sys::Fcntl => {
                before = match sys {
                    Sys::Dup2 | Sys::Dup3 => self.fds.get(tgid, fd_of(args[1])).cloned(),
                    _ => None,
                };
                // Exit needed even for non-sockets: the new fd replaces whatever it was.
            }
            Sys::Poll | Sys::Ppoll
                if !poll_fds(tgid, args[0], args[1])
                    .iter()
                    .any(|(fd, _, _)| self.fds.get(tgid, *fd).is_some()) =>
            {
                return Entry::Skip;
            }
            Sys::Select | Sys::Pselect6 => {
                let any = [args[1], args[2], args[3]].iter().any(|p| {
                    fd_set(tgid, *p, args[0])
                        .iter()
                        .any(|fd| self.fds.get(tgid, *fd).is_some())
                });
                if !any {
                    return Entry::Skip;
                }
            }
            Sys::EpollCtl => {
                // Learned at entry (the set is the program's whether or not
                // the call is shown); shown only for sockets.
                let (op, target) = (args[1] as i32, fd_of(args[2]));
                let data = epoll_event(tgid, args[3]).map_or(0, |(_, d)| d);
                let socket = self.fds.get(tgid, target).is_some();
                self.epoll.ctl(tgid, fd, op, target, data, socket);
                if !socket {
                    return Entry::Skip;
                }
            }
            Sys::EpollWait | Sys::EpollPwait | Sys::EpollPwait2
                if !self.epoll.shows_wait(tgid, fd) =>
            {
                return Entry::Skip;
            }
            _ if sys.fd_first() && self.fds.get(tgid, fd).is_none() => return Entry::Skip,
            _ => {}
        }
        self.next_id += 1;
        let announce = sys.may_block().then(|| self.short(tgid, sys, &args));
        Entry::Follow(
            Pending {
                id: self.next_id,
                sys,
                args,
                start,
                before,
                sent: 0,
                known: None,
            },
            announce,
        )
    }

    /// A forked child starts with copies of its parent's fds and epoll sets.
    pub fn forked(&mut self, parent: Pid, child: Pid) {
        self.fds.forked(parent, child);
        self.epoll.forked(parent, child);
    }

    /// The process exec'd or ended: forget its fds and epoll sets.
    pub fn forget(&mut self, tgid: Pid) {
        self.fds.forget(tgid);
        self.epoll.forget(tgid);
    }

    /// The start line of a call that may block: `accept(3)`, `recv(4, 1024)`.
    fn short(&mut self, tgid: Pid, sys: Sys, a: &[u64; 6]) -> String {
        let name = display_name(sys, a);
        let fd = fd_of(a[0]);
        match sys {
            Sys::Recvfrom | Sys::Read => format!("{name}({fd}, {})", a[2]),
            Sys::Poll | Sys::Ppoll => {
                let list = self.poll_list(tgid, a[0], a[1], false);
                format!("{name}({list})")
            }
            Sys::Select | Sys::Pselect6 => format!("{name}(...)"),
            Sys::EpollWait | Sys::EpollPwait | Sys::EpollPwait2 => format!("{name}({fd})"),
            Sys::Connect => match mem::sockaddr(tgid, a[1], a[2]) {
                Some(t) => format!("{name}({fd}, {t})"),
                None => format!("{name}({fd})"),
            },
            _ => format!("{name}({fd})"),
        }
    }

    fn poll_list(&mut self, tgid: Pid, p: u64, n: u64, revents: bool) -> String {
        let mut parts = Vec::new();
        for (fd, ev, rev) in poll_fds(tgid, p, n) {
            if self.fds.get(tgid, fd).is_none() {
                continue;
            }
            let e = if revents { rev } else { ev };
            if revents && rev == 0 {
                continue;
            }
            parts.push(format!("{fd} {}", names::poll_events(e)));
        }
        format!("[{}]", parts.join(", "))
    }

    /// The exit stop: `ret` is the return value (negative errno on error).
    pub fn exit(
        &mut self,
        tgid: Pid,
        tid: Pid,
        p: &Pending,
        ret: i64,
        is_error: bool,
        end: Timestamp,
    ) -> Option<CallEvent> {
        let a = p.args;
        let fd = fd_of(a[0]);
        let errno = is_error.then_some((-ret) as i32);
        let ok = errno.is_none();
        let mut ev = CallEvent {
            fd: p.sys.fd_first().then_some(fd),
            errno,
            ..CallEvent::new(
                p.id,
                (tgid.as_raw(), tid.as_raw()),
                display_name(p.sys, &a),
                (p.start, end),
                if ok { ret } else { -1 },
            )
        };
        let out = |ev: &mut CallEvent, bytes: Vec<u8>, total: usize, dir: Dir| {
            ev.data = Some(Payload { dir, bytes, total });
        };
        match p.sys {
            Sys::Socket => {
                let (fam, ty) = (a[0] as i32, a[1] as i32);
                ev.args = format!("{}, {}, {}", names::family(fam), names::sock_type(ty), a[2]);
                if ok {
                    ev.fd = Some(ret as i32);
                    ev.socket = Some(self.fds.created(tgid, ret as i32, fam, ty).clone());
                }
            }
            Sys::Socketpair => {
                let (fam, ty) = (a[0] as i32, a[1] as i32);
                let pair = mem::read(tgid, a[3], 8);
                let (f0, f1) = if pair.len() == 8 {
                    (
                        i32::from_ne_bytes(pair[..4].try_into().unwrap_or([0; 4])),
                        i32::from_ne_bytes(pair[4..].try_into().unwrap_or([0; 4])),
                    )
                } else {
                    (-1, -1)
                };
                ev.args = format!("{}, {}, {}", names::family(fam), names::sock_type(ty), a[2]);
                if ok {
                    self.fds.created(tgid, f0, fam, ty);
                    self.fds.created(tgid, f1, fam, ty);
                    ev.result = format!("fds [{f0}, {f1}]");
                }
            }
            Sys::Bind => {
                let addr = mem::sockaddr(tgid, a[1], a[2]);
                ev.args = format!("{fd}, {}", show(&addr));
                if ok {
                    self.fds.refresh(tgid, fd);
                }
            }
            Sys::Listen => ev.args = format!("{fd}, {}", a[1] as i32),
            Sys::Accept | Sys::Accept4 => {
                ev.args = format!("{fd}");
                if ok {
                    let nb = p.sys == Sys::Accept4 && a[3] as i32 & libc::SOCK_NONBLOCK != 0;
                    let s = self.fds.accepted(tgid, ret as i32, nb).cloned();
                    if let Some(peer) = mem::sockaddr_out(tgid, a[1], a[2]) {
                        ev.result = format!("peer {peer}");
                    }
                    if let Some(s) = &s {
                        let _ = write!(ev.result, "{}fd {ret} = {s}", sep(&ev.result));
                    }
                }
            }
            Sys::Connect => {
                let target = mem::sockaddr(tgid, a[1], a[2]);
                ev.args = format!("{fd}, {}", show(&target));
                if target.as_ref().is_some_and(Addr::is_name_service) {
                    if let Some(s) = self.fds.get_mut(tgid, fd) {
                        s.name_service = true;
                    }
                }
                ev.target = target;
                // Also after EINPROGRESS: the port is chosen and the SYN sent.
                self.fds.refresh(tgid, fd);
            }
            Sys::Getsockname | Sys::Getpeername => {
                ev.args = format!("{fd}");
                if ok {
                    ev.result = show(&mem::sockaddr_out(tgid, a[1], a[2]));
                }
            }
            Sys::Setsockopt | Sys::Getsockopt => {
                let (lvl, name) = (a[1] as i32, a[2] as i32);
                let (oname, kind) = names::option(lvl, name);
                let len = if p.sys == Sys::Setsockopt {
                    a[4] as usize
                } else {
                    mem::u32_at(tgid, a[4]).unwrap_or(0) as usize
                };
                let val = if p.sys == Sys::Setsockopt || ok {
                    option_value(&mem::read(tgid, a[3], len.min(64)), kind, name)
                } else {
                    "?".into()
                };
                if p.sys == Sys::Setsockopt {
                    ev.args = format!("{fd}, {}, {oname}, {val}", names::level(lvl));
                } else {
                    ev.args = format!("{fd}, {}, {oname}, [{val}]", names::level(lvl));
                }
            }
            Sys::Sendto | Sys::Write => {
                let (dest, bytes) = match &p.known {
                    Some(k) => (k.addr.clone(), k.bytes.clone()),
                    None if p.sys == Sys::Sendto => (
                        mem::sockaddr(tgid, a[4], a[5]),
                        mem::read(tgid, a[1], (a[2] as usize).min(KEEP)),
                    ),
                    None => (None, mem::read(tgid, a[1], (a[2] as usize).min(KEEP))),
                };
                let n = if ok { ret as usize } else { 0 };
                let shown = if ok {
                    (ret as usize).min(bytes.len())
                } else {
                    bytes.len()
                };
                ev.args = format!(
                    "{fd}, {}, {}",
                    preview(&bytes[..shown], a[2] as usize, self.snap),
                    a[2]
                );
                if p.sys == Sys::Sendto && a[3] != 0 {
                    let _ = write!(ev.args, ", {}", names::msg_flags(a[3] as i32));
                }
                if let Some(d) = &dest {
                    let _ = write!(ev.args, ", {d}");
                }
                ev.target = dest;
                self.after_send(tgid, fd, &mut ev);
                out(&mut ev, bytes, if ok { n } else { a[2] as usize }, Dir::Out);
            }
            Sys::Recvfrom | Sys::Read => {
                ev.args = format!("{fd}, {}", a[2]);
                if p.sys == Sys::Recvfrom && a[3] != 0 {
                    let _ = write!(ev.args, ", {}", names::msg_flags(a[3] as i32));
                }
                if ok {
                    let (bytes, from) = match &p.known {
                        Some(k) => (k.bytes.clone(), k.addr.clone()),
                        None if p.sys == Sys::Recvfrom => (
                            mem::read(tgid, a[1], (ret as usize).min(KEEP)),
                            mem::sockaddr_out(tgid, a[4], a[5]),
                        ),
                        None => (mem::read(tgid, a[1], (ret as usize).min(KEEP)), None),
                    };
                    ev.result = preview(&bytes, ret as usize, self.snap);
                    out(&mut ev, bytes, ret as usize, Dir::In);
                    if p.sys == Sys::Recvfrom {
                        if let Some(from) = from {
                            let _ = write!(ev.result, " from {from}");
                            ev.target = Some(from);
                        }
                    }
                }
            }
            Sys::Sendmsg | Sys::Writev => {
                let (iov, dest) = if p.sys == Sys::Sendmsg {
                    let h = mem::msghdr(tgid, a[1]).unwrap_or_default();
                    let dest = mem::sockaddr(tgid, h.name, u64::from(h.namelen));
                    (mem::iovecs(tgid, h.iov, h.iovlen, MAX_LIST), dest)
                } else {
                    (mem::iovecs(tgid, a[1], a[2], MAX_LIST), None)
                };
                let len: u64 = iov.iter().map(|(_, l)| *l).sum();
                let bytes = mem::gather(tgid, &iov, KEEP);
                ev.args = format!("{fd}, {}, {len}", preview(&bytes, len as usize, self.snap));
                if let Some(d) = &dest {
                    let _ = write!(ev.args, ", {d}");
                }
                ev.target = dest;
                self.after_send(tgid, fd, &mut ev);
                let n = if ok { ret as usize } else { len as usize };
                out(&mut ev, bytes, n, Dir::Out);
            }
            Sys::Recvmsg | Sys::Readv => {
                let (iov, from) = if p.sys == Sys::Recvmsg {
                    let h = mem::msghdr(tgid, a[1]).unwrap_or_default();
                    let from = if ok {
                        mem::sockaddr(tgid, h.name, u64::from(h.namelen))
                    } else {
                        None
                    };
                    (mem::iovecs(tgid, h.iov, h.iovlen, MAX_LIST), from)
                } else {
                    (mem::iovecs(tgid, a[1], a[2], MAX_LIST), None)
                };
                let len: u64 = iov.iter().map(|(_, l)| *l).sum();
                ev.args = format!("{fd}, {len}");
                if ok {
                    let bytes = mem::gather(tgid, &iov, (ret as usize).min(KEEP));
                    ev.result = preview(&bytes, ret as usize, self.snap);
                    out(&mut ev, bytes, ret as usize, Dir::In);
                    if let Some(f) = from {
                        let _ = write!(ev.result, " from {f}");
                        ev.target = Some(f);
                    }
                }
            }
            Sys::Sendmmsg | Sys::Recvmmsg => {
                let send = p.sys == Sys::Sendmmsg;
                if send {
                    self.after_send(tgid, fd, &mut ev);
                }
                // sendmmsg's messages are read whether it succeeded or not
                // (what the program tried to send); recvmmsg's only on success.
                let count = match (send, ok) {
                    (_, true) => ret as u64,
                    (true, false) => a[2],
                    (false, false) => 0,
                };
                let msgs = mmsgs(tgid, a[1], count, ok);
                let sock = self.fds.get(tgid, fd).cloned();
                let dir = if send { Dir::Out } else { Dir::In };
                let mut shown = Vec::new();
                let mut courses = Vec::new();
                let (mut all, mut total) = (Vec::new(), 0usize);
                for m in &msgs {
                    let mut one = preview(&m.bytes, m.len, self.snap);
                    if let Some(addr) = &m.addr {
                        let _ = write!(one, " {} {addr}", if send { "to" } else { "from" });
                    }
                    shown.push(format!("{{{one}}}"));
                    let payload = Payload {
                        dir,
                        bytes: m.bytes.clone(),
                        total: m.len,
                    };
                    let target = m.addr.as_ref().or(ev.target.as_ref());
                    if let Some(c) = self.course(sock.as_ref(), target, &payload) {
                        courses.push(c);
                    }
                    if ev.target.is_none() {
                        ev.target = m.addr.clone();
                    }
                    all.extend(m.bytes.iter().take(KEEP.saturating_sub(all.len())));
                    total += m.len;
                }
                if msgs.len() < count as usize {
                    shown.push("...".into());
                }
                let list = format!("[{}]", shown.join(", "));
                if send {
                    ev.args = format!("{fd}, {list}, {}", a[2]);
                } else {
                    ev.args = format!("{fd}, {}", a[2]);
                }
                if ok {
                    ev.result = format!("{total} bytes in {ret} messages");
                    if !send {
                        let _ = write!(ev.result, ": {list}");
                    }
                }
                if !msgs.is_empty() {
                    out(&mut ev, all, total, dir);
                }
                if !courses.is_empty() {
                    ev.course = Some(courses.join("; "));
                }
            }
            Sys::Close => {
                ev.args = format!("{fd}");
                ev.socket = p.before.clone();
            }
            Sys::CloseRange => {}
            Sys::Shutdown => {
                ev.args = format!("{fd}, {}", names::shutdown_how(a[1] as i32));
            }
            Sys::Poll | Sys::Ppoll => {
                let list = self.poll_list(tgid, a[0], a[1], false);
                let t = if p.sys == Sys::Poll {
                    format!("{} ms", a[2] as i32)
                } else {
                    ts_arg(tgid, a[2])
                };
                ev.args = format!("{list}, {t}");
                if ok {
                    ev.result = if ret == 0 {
                        "timeout".into()
                    } else {
                        self.poll_list(tgid, a[0], a[1], true)
                    };
                }
            }
            Sys::Select | Sys::Pselect6 => {
                let sets: Vec<String> = [a[1], a[2], a[3]]
                    .iter()
                    .map(|p| {
                        let l: Vec<String> = fd_set(tgid, *p, a[0])
                            .iter()
                            .map(|f| f.to_string())
                            .collect();
                        format!("[{}]", l.join(" "))
                    })
                    .collect();
                let t = if p.sys == Sys::Select {
                    if a[4] == 0 {
                        "NULL".into()
                    } else {
                        timeval_text(&mem::read(tgid, a[4], 16))
                    }
                } else {
                    ts_arg(tgid, a[4])
                };
                ev.args = format!("{}, {}, {t}", a[0], sets.join(", "));
                if ok {
                    ev.result = if ret == 0 {
                        "timeout".into()
                    } else {
                        let r: Vec<String> = fd_set(tgid, a[1], a[0])
                            .iter()
                            .map(|f| f.to_string())
                            .collect();
                        let w: Vec<String> = fd_set(tgid, a[2], a[0])
                            .iter()
                            .map(|f| f.to_string())
                            .collect();
                        format!("readable [{}], writable [{}]", r.join(" "), w.join(" "))
                    };
                }
            }
            Sys::EpollCtl => {
                let target = fd_of(a[2]);
                let op = a[1] as i32;
                // EPOLL_CTL_DEL ignores the event (it may point anywhere).
                let event = match epoll_event(tgid, a[3]).filter(|_| op != epoll::CTL_DEL) {
                    Some((events, data)) => {
                        format!("{{{}, data={data}}}", names::epoll_events(events))
                    }
                    None => "NULL".into(),
                };
                ev.args = format!("{fd}, {}, {target}, {event}", epoll::op_name(op));
                ev.fd = Some(target);
                if ok {
                    ev.note = Some(match op {
                        epoll::CTL_DEL => "no longer watched by this epoll set",
                        _ => "watched by this epoll set: epoll_wait on it reports when it is ready (Python: selectors.DefaultSelector().register)",
                    });
                }
            }
            Sys::EpollWait | Sys::EpollPwait | Sys::EpollPwait2 => {
                ev.args = format!("{fd}, {}, {}", a[2] as i32, a[3] as i32);
                ev.fd = None;
                if ok {
                    let n = (ret as usize).min(MAX_LIST);
                    let b = mem::read(tgid, a[1], n * 12);
                    let mut parts = Vec::new();
                    let mut sockets = 0;
                    for e in b.chunks_exact(12) {
                        let events = u32::from_ne_bytes(e[..4].try_into().unwrap_or([0; 4]));
                        let data = u64::from_ne_bytes(e[4..12].try_into().unwrap_or([0; 8]));
                        let efd = self.epoll.fd_for(tgid, fd, data).unwrap_or(data as i32);
                        if self.fds.get(tgid, efd).is_some() {
                            sockets += 1;
                        }
                        parts.push(format!("{efd} {}", names::epoll_events(events)));
                    }
                    if ret > 0 && sockets == 0 {
                        return None;
                    }
                    ev.result = if ret == 0 {
                        "timeout".into()
                    } else {
                        format!("[{}]", parts.join(", "))
                    };
                }
            }
            Sys::Dup | Sys::Dup2 | Sys::Dup3 | Sys::Fcntl => {
                let cmd = a[1] as u32;
                if p.sys == Sys::Fcntl && cmd == F_SETFL {
                    let nb = a[2] as i32 & libc::O_NONBLOCK != 0;
                    let s = self.fds.get_mut(tgid, fd)?;
                    if ok {
                        s.nonblocking = nb;
                    }
                    ev.args = format!(
                        "{fd}, F_SETFL, {}",
                        if nb { "O_RDWR|O_NONBLOCK" } else { "O_RDWR" }
                    );
                    ev.note = Some(if nb {
                        "non-blocking mode on (Python: setblocking(False) or settimeout)"
                    } else {
                        "blocking mode (Python: setblocking(True) or settimeout(None))"
                    });
                } else {
                    let is_sock = self.fds.get(tgid, fd).is_some();
                    if ok {
                        self.fds.duplicated(tgid, fd, ret as i32);
                    }
                    if !is_sock && p.before.is_none() {
                        return None;
                    }
                    ev.args = match p.sys {
                        Sys::Dup => format!("{fd}"),
                        Sys::Fcntl => format!(
                            "{fd}, {}, {}",
                            if cmd == F_DUPFD {
                                "F_DUPFD"
                            } else {
                                "F_DUPFD_CLOEXEC"
                            },
                            a[2] as i32
                        ),
                        _ => format!("{fd}, {}", a[1] as i32),
                    };
                    if ok {
                        ev.result = format!("fd {ret} is now the same socket as fd {fd}");
                    }
                }
            }
            Sys::Ioctl => {
                if a[1] as u32 != FIONBIO {
                    return None;
                }
                let on = mem::u32_at(tgid, a[2]).unwrap_or(0) != 0;
                let s = self.fds.get_mut(tgid, fd)?;
                if ok {
                    s.nonblocking = on;
                }
                ev.args = format!("{fd}, FIONBIO, {}", u8::from(on));
                ev.note = Some(if on {
                    "non-blocking mode on (Python: settimeout(t) or setblocking(False); the wait happens in poll)"
                } else {
                    "blocking mode (Python: settimeout(None) or setblocking(True))"
                });
            }
        }
        if ev.socket.is_none() {
            if let Some(f) = ev.fd {
                ev.socket = self.fds.get(tgid, f).cloned();
            }
        }
        if let Some(e) = errno {
            let nb = ev.socket.as_ref().is_some_and(|s| s.nonblocking);
            ev.note = names::errno_note(e, nb).or(ev.note);
        }
        if ev.course.is_none() {
            if let Some(data) = &ev.data {
                ev.course = self.course(ev.socket.as_ref(), ev.target.as_ref(), data);
            }
        }
        Some(ev)
    }

    /// A send may bind an ephemeral port (UDP's first sendto): look again.
    fn after_send(&mut self, tgid: Pid, fd: i32, _ev: &mut CallEvent) {
        let unbound = self.fds.get(tgid, fd).is_some_and(|s| {
            s.local
                .as_ref()
                .and_then(Addr::inet)
                .is_none_or(|a| a.port() == 0)
        });
        if unbound {
            self.fds.refresh(tgid, fd);
        }
    }

    /// The course-protocol meaning of bytes a call sent or received on
    /// socket `s` (to or from `target` when the socket is not connected).
    fn course(
        &mut self,
        s: Option<&SocketInfo>,
        target: Option<&Addr>,
        data: &Payload,
    ) -> Option<String> {
        if data.bytes.is_empty() || data.bytes.len() < data.total.min(KEEP) {
            return None;
        }
        let s = s?;
        let proto = match s.proto() {
            "TCP" => Proto::Tcp,
            "UDP" => Proto::Udp,
            _ => return None,
        };
        let local = s.local.as_ref().and_then(Addr::inet).map(|a| a.port())?;
        let remote = s
            .peer
            .as_ref()
            .or(target)
            .and_then(Addr::inet)
            .map(|a| a.port())?;
        let (src, dst) = match data.dir {
            Dir::Out => (local, remote),
            Dir::In => (remote, local),
        };
        let bytes = &data.bytes;
        let udp = proto == Proto::Udp;
        if let Some((p, server)) = self.decode.lookup(udp, src, dst) {
            return crate::wire::decode_as::recognise_as(p, udp, src == server, bytes)
                .map(|c| c.to_string());
        }
        if let Some(c) = course::recognise(proto, src, dst, bytes) {
            return Some(c.to_string());
        }
        // A udp-calc server on another port: known by the request's shape.
        if proto == Proto::Udp {
            if bytes.len() == 12 {
                if let Some(c) = course::recognise(proto, src, CALC_PORT, bytes) {
                    if !self.udp_calc_ports.contains(&dst) {
                        self.udp_calc_ports.push(dst);
                    }
                    return Some(c.to_string());
                }
            }
            if bytes.len() == 4 && self.udp_calc_ports.contains(&src) {
                return course::recognise(proto, CALC_PORT, dst, bytes).map(|c| c.to_string());
            }
        }
        None
    }
}

fn sep(s: &str) -> &'static str {
    if s.is_empty() {
        ""
    } else {
        "; "
    }
}

fn show(a: &Option<Addr>) -> String {
    match a {
        Some(a) => a.to_string(),
        None => "NULL".into(),
    }
}

/// The name the learner wrote: `send` for `sendto` without an address,
/// `recv` for `recvfrom` without one, `accept` for `accept4`.
fn display_name(sys: Sys, a: &[u64; 6]) -> &'static str {
    match sys {
        Sys::Sendto if a[4] == 0 => "send",
        Sys::Recvfrom if a[4] == 0 => "recv",
        Sys::Accept4 => "accept",
        // glibc's select() is pselect6 on x86_64.
        Sys::Pselect6 => "select",
        s => s.name(),
    }
}

/// One message of a sendmmsg/recvmmsg call.
struct Mmsg {
    bytes: Vec<u8>,
    len: usize,
    addr: Option<Addr>,
}

/// The first messages of the `struct mmsghdr` array at `p` (64 bytes each:
/// a msghdr, then `msg_len`). With `done`, each message's length is its
/// `msg_len` (what the kernel sent or received), else its iovecs' total.
fn mmsgs(pid: Pid, p: u64, count: u64, done: bool) -> Vec<Mmsg> {
    let mut v = Vec::new();
    for i in 0..count.min(MAX_MMSG) {
        let at = p + i * 64;
        let Some(h) = mem::msghdr(pid, at) else { break };
        let iov = mem::iovecs(pid, h.iov, h.iovlen, MAX_LIST);
        let len = if done {
            mem::u32_at(pid, at + 56).unwrap_or(0) as usize
        } else {
            iov.iter().map(|(_, l)| *l as usize).sum()
        };
        v.push(Mmsg {
            bytes: mem::gather(pid, &iov, len.min(KEEP)),
            len,
            addr: mem::sockaddr(pid, h.name, u64::from(h.namelen)),
        });
    }
    v
}

/// (events, data) of the `struct epoll_event` at `p` (packed: 12 bytes).
fn epoll_event(pid: Pid, p: u64) -> Option<(u32, u64)> {
    if p == 0 {
        return None;
    }
    let b = mem::read(pid, p, 12);
    Some((
        u32::from_ne_bytes(b.get(..4)?.try_into().ok()?),
        u64::from_ne_bytes(b.get(4..12)?.try_into().ok()?),
    ))
}

/// (fd, events, revents) of a pollfd array.
fn poll_fds(pid: Pid, p: u64, n: u64) -> Vec<(i32, i16, i16)> {
    mem::read(pid, p, (n as usize).min(MAX_LIST) * 8)
        .chunks_exact(8)
        .map(|c| {
            (
                i32::from_ne_bytes(c[..4].try_into().unwrap_or([0; 4])),
                i16::from_ne_bytes([c[4], c[5]]),
                i16::from_ne_bytes([c[6], c[7]]),
            )
        })
        .collect()
}

/// The fds set in the `fd_set` at `p` (first `nfds` bits).
fn fd_set(pid: Pid, p: u64, nfds: u64) -> Vec<i32> {
    if p == 0 {
        return Vec::new();
    }
    let nfds = nfds.min(1024) as usize;
    let b = mem::read(pid, p, nfds.div_ceil(64) * 8);
    (0..nfds.min(b.len() * 8))
        .filter(|i| b[i / 8] & (1 << (i % 8)) != 0)
        .map(|i| i as i32)
        .collect()
}

fn option_value(b: &[u8], kind: names::OptValue, name: i32) -> String {
    use names::OptValue;
    match kind {
        OptValue::Int if b.len() >= 4 => {
            let v = i32::from_ne_bytes(b[..4].try_into().unwrap_or([0; 4]));
            if name == libc::SO_ERROR && v != 0 {
                format!("{v} ({})", names::errno(v))
            } else {
                v.to_string()
            }
        }
        OptValue::Linger if b.len() >= 8 => {
            let on = i32::from_ne_bytes(b[..4].try_into().unwrap_or([0; 4]));
            let secs = i32::from_ne_bytes(b[4..8].try_into().unwrap_or([0; 4]));
            format!("{{onoff={on}, linger={secs}}}")
        }
        OptValue::Timeval => timeval_text(b),
        _ => format!("<{} bytes>", b.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews() {
        assert_eq!(preview(b"hi\0", 3, 32), "\"hi\\x00\"");
        assert_eq!(preview(b"hello", 5, 3), "\"hel\"...");
        assert_eq!(preview(&[1, 2, 255], 3, 32), "x'0102ff'");
        assert_eq!(preview(b"abc", 10, 32), "\"abc\"...");
    }

    #[test]
    fn option_values() {
        use names::OptValue;
        assert_eq!(option_value(&1i32.to_ne_bytes(), OptValue::Int, 2), "1");
        assert_eq!(
            option_value(&111i32.to_ne_bytes(), OptValue::Int, libc::SO_ERROR),
            "111 (ECONNREFUSED)"
        );
        let mut l = 1i32.to_ne_bytes().to_vec();
        l.extend(0i32.to_ne_bytes());
        assert_eq!(
            option_value(&l, OptValue::Linger, 13),
            "{onoff=1, linger=0}"
        );
        let mut tv = 5i64.to_ne_bytes().to_vec();
        tv.extend(0i64.to_ne_bytes());
        assert_eq!(option_value(&tv, OptValue::Timeval, 20), "{5 s, 0 us}");
        assert_eq!(option_value(&[1], OptValue::Int, 2), "<1 bytes>");
    }

    #[test]
    fn python_names() {
        let mut a = [3u64, 0, 2, 0, 0, 0];
        assert_eq!(display_name(Sys::Sendto, &a), "send");
        a[4] = 0x1000;
        assert_eq!(display_name(Sys::Sendto, &a), "sendto");
        assert_eq!(display_name(Sys::Accept4, &a), "accept");
        assert_eq!(display_name(Sys::Recvfrom, &[3, 0, 1, 0, 0, 0]), "recv");
    }
}
