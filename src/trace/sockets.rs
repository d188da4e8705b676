//! Which of a traced program's fds are sockets, and what each socket is:
//! family, type, local and peer address (`fd 3 = 127.0.0.1:41234 ->
//! 127.0.0.1:10009`).
//!
//! The table is keyed by (process, fd): threads share their process's
//! entries, a forked child gets a copy. It is kept up to date from the
//! calls themselves (socket, accept, dup, close...); an fd it has not seen
//! (inherited, or opened before an attach) is looked up once through
//! `/proc/PID/fd`. Addresses come from a duplicate of the program's fd
//! (`pidfd_getfd`, Linux 5.6) asked with `getsockname`/`getpeername`: the
//! only way to learn the ephemeral port `connect` picked.

use std::collections::HashMap;
use std::fmt;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::unistd::Pid;

use super::addr::Addr;

/// What socklab knows about one socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketInfo {
    /// Unique per socket for the whole run (aliases made by dup or fork share it).
    pub serial: u64,
    /// `AF_INET`, `AF_INET6`, `AF_UNIX`...
    pub family: i32,
    /// `SOCK_STREAM`, `SOCK_DGRAM`... (flags removed).
    pub kind: i32,
    /// Its own address, once it has one.
    pub local: Option<Addr>,
    /// The peer's address, once connected.
    pub peer: Option<Addr>,
    /// Non-blocking mode (FIONBIO, O_NONBLOCK, SOCK_NONBLOCK).
    pub nonblocking: bool,
    /// Used for name lookups (DNS, nscd): hidden unless `--dns`.
    pub name_service: bool,
}

impl SocketInfo {
    /// `TCP`, `UDP`, `UNIX-STREAM`...
    pub fn proto(&self) -> &'static str {
        match (self.family, self.kind) {
            (libc::AF_INET | libc::AF_INET6, libc::SOCK_STREAM) => "TCP",
            (libc::AF_INET | libc::AF_INET6, libc::SOCK_DGRAM) => "UDP",
            (libc::AF_UNIX, libc::SOCK_STREAM) => "UNIX-STREAM",
            (libc::AF_UNIX, libc::SOCK_DGRAM) => "UNIX-DGRAM",
            (libc::AF_NETLINK, _) => "NETLINK",
            _ => "SOCKET",
        }
    }

    /// True for TCP.
    pub fn is_tcp(&self) -> bool {
        self.proto() == "TCP"
    }
}

impl fmt::Display for SocketInfo {
    /// `TCP 127.0.0.1:41234 -> 127.0.0.1:10009`, `UDP 0.0.0.0:0`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.proto())?;
        match &self.local {
            Some(Addr::Inet(a)) => write!(f, " {a}")?,
            Some(a @ Addr::Unix(_)) => write!(f, " {a}")?,
            _ => {}
        }
        if let Some(p) = &self.peer {
            write!(f, " -> {p}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Slot {
    Socket(SocketInfo),
    NotSocket,
}

/// The fd table of every traced process.
#[derive(Debug, Default)]
pub struct FdTable {
    map: HashMap<(i32, i32), Slot>,
    next_serial: u64,
}

impl FdTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn serial(&mut self) -> u64 {
        self.next_serial += 1;
        self.next_serial
    }

    /// The socket behind `fd` in process `tgid`, or `None` if it is not a
    /// socket. Unknown fds are looked up in `/proc` once.
    pub fn get(&mut self, tgid: Pid, fd: i32) -> Option<&SocketInfo> {
        if fd < 0 {
            return None;
        }
        let key = (tgid.as_raw(), fd);
        if !self.map.contains_key(&key) {
            let slot = if is_socket(tgid, fd) {
                let mut info = SocketInfo {
                    serial: self.serial(),
                    family: 0,
                    kind: 0,
                    local: None,
                    peer: None,
                    nonblocking: false,
                    name_service: false,
                };
                query(tgid, fd, &mut info, true);
                Slot::Socket(info)
            } else {
                Slot::NotSocket
            };
            self.map.insert(key, slot);
        }
        match self.map.get(&key) {
            Some(Slot::Socket(s)) => Some(s),
            _ => None,
        }
    }

    /// Mutable access to a known socket.
    pub fn get_mut(&mut self, tgid: Pid, fd: i32) -> Option<&mut SocketInfo> {
        self.get(tgid, fd)?;
        match self.map.get_mut(&(tgid.as_raw(), fd)) {
            Some(Slot::Socket(s)) => Some(s),
            _ => None,
        }
    }

    /// A new socket made by `socket()` or `socketpair()`.
    pub fn created(&mut self, tgid: Pid, fd: i32, family: i32, ty: i32) -> &SocketInfo {
        let info = SocketInfo {
            serial: self.serial(),
            family,
            kind: ty & 0xf,
            local: None,
            peer: None,
            nonblocking: ty & libc::SOCK_NONBLOCK != 0,
            name_service: false,
        };
        self.map.insert((tgid.as_raw(), fd), Slot::Socket(info));
        self.get(tgid, fd).expect("just inserted")
    }

    /// A new connection from `accept`: asks the kernel for both addresses.
    pub fn accepted(&mut self, tgid: Pid, fd: i32, nonblocking: bool) -> Option<&SocketInfo> {
        self.map.remove(&(tgid.as_raw(), fd));
        let s = self.get_mut(tgid, fd)?;
        s.nonblocking = nonblocking;
        self.get(tgid, fd)
    }

    /// Ask the kernel again for the addresses of `fd` (after bind,
    /// connect, or a send that bound an ephemeral port).
    pub fn refresh(&mut self, tgid: Pid, fd: i32) {
        if let Some(s) = self.get_mut(tgid, fd) {
            query(tgid, fd, s, false);
        }
    }

    /// `fd` was closed; returns what it was.
    pub fn closed(&mut self, tgid: Pid, fd: i32) -> Option<SocketInfo> {
        match self.map.remove(&(tgid.as_raw(), fd)) {
            Some(Slot::Socket(s)) => Some(s),
            _ => None,
        }
    }

    /// Every fd in `lo..=hi` was closed (`close_range`).
    pub fn closed_range(&mut self, tgid: Pid, lo: i32, hi: i32) {
        self.map
            .retain(|(p, fd), _| *p != tgid.as_raw() || *fd < lo || *fd > hi);
    }

    /// `new` is now an alias of `old` (dup, dup2, dup3, F_DUPFD).
    pub fn duplicated(&mut self, tgid: Pid, old: i32, new: i32) {
        let slot = match self.get(tgid, old) {
            Some(s) => Slot::Socket(s.clone()),
            None => Slot::NotSocket,
        };
        self.map.insert((tgid.as_raw(), new), slot);
    }

    /// A forked child starts with a copy of its parent's table.
    pub fn forked(&mut self, parent: Pid, child: Pid) {
        let copies: Vec<_> = self
            .map
            .iter()
            .filter(|((p, _), _)| *p == parent.as_raw())
            .map(|((_, fd), s)| ((child.as_raw(), *fd), s.clone()))
            .collect();
        self.map.extend(copies);
    }

    /// The process exec'd or ended: forget what it had (close-on-exec
    /// fds are gone; the rest are looked up again when used).
    pub fn forget(&mut self, tgid: Pid) {
        self.map.retain(|(p, _), _| *p != tgid.as_raw());
    }
}

/// True if `/proc/PID/fd/FD` is a socket.
fn is_socket(tgid: Pid, fd: i32) -> bool {
    std::fs::read_link(format!("/proc/{tgid}/fd/{fd}"))
        .map(|l| l.as_os_str().as_encoded_bytes().starts_with(b"socket:"))
        .unwrap_or(false)
}

/// A duplicate of `fd` from process `tgid`, or `None` if the kernel refuses.
fn steal(tgid: Pid, fd: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags; returns a new fd or -1.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, tgid.as_raw(), 0) };
    if pidfd < 0 {
        return None;
    }
    // SAFETY: pidfd was just returned to us and is owned from here on.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as i32) };
    getfd(pidfd.as_raw_fd(), fd)
}

/// A duplicate of `fd` of the process behind `pidfd` (`pidfd_getfd`).
pub fn getfd(pidfd: i32, fd: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_getfd takes a pidfd, a target fd and flags; returns a
    // new fd in this process or -1.
    let dup = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) };
    // SAFETY: a new fd owned by us.
    (dup >= 0).then(|| unsafe { OwnedFd::from_raw_fd(dup as i32) })
}

fn name_of(fd: &OwnedFd, peer: bool) -> Option<Addr> {
    // SAFETY: sockaddr_storage is plain data; all-zero is valid.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let p = (&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr>();
    // SAFETY: p/len describe `ss`, which outlives the call.
    let r = unsafe {
        if peer {
            libc::getpeername(fd.as_raw_fd(), p, &mut len)
        } else {
            libc::getsockname(fd.as_raw_fd(), p, &mut len)
        }
    };
    if r != 0 {
        return None;
    }
    let n = (len as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: the kernel wrote `n` bytes of `ss`; we view them as bytes.
    let bytes = unsafe {
        std::slice::from_raw_parts((&ss as *const libc::sockaddr_storage).cast::<u8>(), n)
    };
    Addr::from_bytes(bytes)
}

/// An integer socket option (`level`, `name`) of `fd`.
pub fn int_opt(fd: &OwnedFd, level: i32, name: i32) -> Option<i32> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v/len describe a c_int we own.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(v)
}

/// Fill in `info` from the kernel; `kind` also asks for family and type.
fn query(tgid: Pid, fd: i32, info: &mut SocketInfo, kind: bool) {
    let Some(dup) = steal(tgid, fd) else {
        return;
    };
    if kind {
        info.family = int_opt(&dup, libc::SOL_SOCKET, libc::SO_DOMAIN).unwrap_or(0);
        info.kind = int_opt(&dup, libc::SOL_SOCKET, libc::SO_TYPE).unwrap_or(0);
        // SAFETY: F_GETFL on an fd we own.
        let fl = unsafe { libc::fcntl(dup.as_raw_fd(), libc::F_GETFL) };
        info.nonblocking = fl >= 0 && fl & libc::O_NONBLOCK != 0;
    }
    info.local = name_of(&dup, false);
    info.peer = name_of(&dup, true);
    if info.peer.as_ref().is_some_and(Addr::is_name_service) {
        info.name_service = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    #[test]
    fn own_sockets_are_found_with_addresses() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let me = Pid::this();
        let mut t = FdTable::new();
        let s = t.get(me, c.as_raw_fd()).expect("a socket").clone();
        assert_eq!(s.proto(), "TCP");
        assert_eq!(s.peer, Some(Addr::Inet(l.local_addr().unwrap())));
        assert_eq!(s.local, Some(Addr::Inet(c.local_addr().unwrap())));
        assert!(s.to_string().starts_with("TCP 127.0.0.1:"));
        // stdin-like fds that are not sockets are remembered as such.
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert!(t.get(me, f.as_raw_fd()).is_none());
        t.duplicated(me, c.as_raw_fd(), 999);
        assert_eq!(t.get(me, 999).map(|x| x.serial), Some(s.serial));
        assert!(t.closed(me, 999).is_some());
        assert!(t.closed(me, 999).is_none());
    }
}
