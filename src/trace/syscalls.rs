//! The system calls `socklab trace` stops at (x86_64 numbers), what each
//! one is, and which of its arguments decide whether it is worth a stop.
//!
//! Pure data: no I/O, no allocation.

/// A traced system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Sys {
    Socket,
    Socketpair,
    Bind,
    Listen,
    Accept,
    Accept4,
    Connect,
    Getsockname,
    Getpeername,
    Setsockopt,
    Getsockopt,
    Sendto,
    Sendmsg,
    Sendmmsg,
    Recvfrom,
    Recvmsg,
    Recvmmsg,
    Read,
    Write,
    Readv,
    Writev,
    Close,
    CloseRange,
    Shutdown,
    Poll,
    Ppoll,
    Select,
    Pselect6,
    EpollCtl,
    EpollWait,
    EpollPwait,
    EpollPwait2,
    Dup,
    Dup2,
    Dup3,
    Fcntl,
    Ioctl,
}

/// When the seccomp filter should stop the program at a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Every time.
    Always,
    /// Only when the first argument (an fd) is 3 or more: 0, 1 and 2 are
    /// the terminal, almost never a socket, and Python reads and writes
    /// them a lot.
    FdAtLeast3,
    /// Only when the second argument is one of these (ioctl and fcntl
    /// commands that matter for sockets).
    Arg1In(&'static [u32]),
}

/// `FIONBIO`: set or clear non-blocking mode (Python's `settimeout`).
pub const FIONBIO: u32 = 0x5421;
/// `F_DUPFD`.
pub const F_DUPFD: u32 = 0;
/// `F_SETFL`.
pub const F_SETFL: u32 = 4;
/// `F_DUPFD_CLOEXEC`.
pub const F_DUPFD_CLOEXEC: u32 = 1030;

/// Every traced call, its x86_64 number, and when it stops the program.
pub const TABLE: &[(Sys, u32, When)] = &[
    (Sys::Socket, 41, When::Always),
    (Sys::Socketpair, 53, When::Always),
    (Sys::Bind, 49, When::Always),
    (Sys::Listen, 50, When::Always),
    (Sys::Accept, 43, When::Always),
    (Sys::Accept4, 288, When::Always),
    (Sys::Connect, 42, When::Always),
    (Sys::Getsockname, 51, When::Always),
    (Sys::Getpeername, 52, When::Always),
    (Sys::Setsockopt, 54, When::Always),
    (Sys::Getsockopt, 55, When::Always),
    (Sys::Sendto, 44, When::Always),
    (Sys::Sendmsg, 46, When::Always),
    (Sys::Sendmmsg, 307, When::Always),
    (Sys::Recvfrom, 45, When::Always),
    (Sys::Recvmsg, 47, When::Always),
    (Sys::Recvmmsg, 299, When::Always),
    (Sys::Read, 0, When::FdAtLeast3),
    (Sys::Write, 1, When::FdAtLeast3),
    (Sys::Readv, 19, When::FdAtLeast3),
    (Sys::Writev, 20, When::FdAtLeast3),
    (Sys::Close, 3, When::FdAtLeast3),
    (Sys::CloseRange, 436, When::Always),
    (Sys::Shutdown, 48, When::Always),
    (Sys::Poll, 7, When::Always),
    (Sys::Ppoll, 271, When::Always),
    (Sys::Select, 23, When::Always),
    (Sys::Pselect6, 270, When::Always),
    (Sys::EpollCtl, 233, When::Always),
    (Sys::EpollWait, 232, When::Always),
    (Sys::EpollPwait, 281, When::Always),
    (Sys::EpollPwait2, 441, When::Always),
    (Sys::Dup, 32, When::FdAtLeast3),
    (Sys::Dup2, 33, When::Always),
    (Sys::Dup3, 292, When::Always),
    (
        Sys::Fcntl,
        72,
        When::Arg1In(&[F_DUPFD, F_SETFL, F_DUPFD_CLOEXEC]),
    ),
    (Sys::Ioctl, 16, When::Arg1In(&[FIONBIO])),
];

impl Sys {
    /// The call for an x86_64 syscall number.
    pub fn from_nr(nr: u64) -> Option<Sys> {
        TABLE
            .iter()
            .find(|(_, n, _)| u64::from(*n) == nr)
            .map(|(s, _, _)| *s)
    }

    /// The kernel's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Sys::Socket => "socket",
            Sys::Socketpair => "socketpair",
            Sys::Bind => "bind",
            Sys::Listen => "listen",
            Sys::Accept => "accept",
            Sys::Accept4 => "accept4",
            Sys::Connect => "connect",
            Sys::Getsockname => "getsockname",
            Sys::Getpeername => "getpeername",
            Sys::Setsockopt => "setsockopt",
            Sys::Getsockopt => "getsockopt",
            Sys::Sendto => "sendto",
            Sys::Sendmsg => "sendmsg",
            Sys::Sendmmsg => "sendmmsg",
            Sys::Recvfrom => "recvfrom",
            Sys::Recvmsg => "recvmsg",
            Sys::Recvmmsg => "recvmmsg",
            Sys::Read => "read",
            Sys::Write => "write",
            Sys::Readv => "readv",
            Sys::Writev => "writev",
            Sys::Close => "close",
            Sys::CloseRange => "close_range",
            Sys::Shutdown => "shutdown",
            Sys::Poll => "poll",
            Sys::Ppoll => "ppoll",
            Sys::Select => "select",
            Sys::Pselect6 => "pselect6",
            Sys::EpollCtl => "epoll_ctl",
            Sys::EpollWait => "epoll_wait",
            Sys::EpollPwait => "epoll_pwait",
            Sys::EpollPwait2 => "epoll_pwait2",
            Sys::Dup => "dup",
            Sys::Dup2 => "dup2",
            Sys::Dup3 => "dup3",
            Sys::Fcntl => "fcntl",
            Sys::Ioctl => "ioctl",
        }
    }

    /// True for calls that may wait (they print a line when they start
    /// and another when they return, if anything happens in between).
    pub fn may_block(self) -> bool {
        matches!(
            self,
            Sys::Accept
                | Sys::Accept4
                | Sys::Connect
                | Sys::Recvfrom
                | Sys::Recvmsg
                | Sys::Recvmmsg
                | Sys::Read
                | Sys::Readv
                | Sys::Sendto
                | Sys::Sendmsg
                | Sys::Sendmmsg
                | Sys::Write
                | Sys::Writev
                | Sys::Poll
                | Sys::Ppoll
                | Sys::Select
                | Sys::Pselect6
                | Sys::EpollWait
                | Sys::EpollPwait
                | Sys::EpollPwait2
        )
    }

    /// True when the first argument is the fd the call is about (so the
    /// call is shown only when that fd is a socket).
    pub fn fd_first(self) -> bool {
        !matches!(
            self,
            Sys::Socket
                | Sys::Socketpair
                | Sys::CloseRange
                | Sys::Poll
                | Sys::Ppoll
                | Sys::Select
                | Sys::Pselect6
                | Sys::EpollCtl
                | Sys::EpollWait
                | Sys::EpollPwait
                | Sys::EpollPwait2
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_agree_with_libc() {
        let expect: &[(Sys, i64)] = &[
            (Sys::Socket, libc::SYS_socket),
            (Sys::Connect, libc::SYS_connect),
            (Sys::Accept4, libc::SYS_accept4),
            (Sys::Sendmmsg, libc::SYS_sendmmsg),
            (Sys::Recvmmsg, libc::SYS_recvmmsg),
            (Sys::Pselect6, libc::SYS_pselect6),
            (Sys::EpollPwait2, libc::SYS_epoll_pwait2),
            (Sys::EpollCtl, libc::SYS_epoll_ctl),
            (Sys::EpollWait, libc::SYS_epoll_wait),
            (Sys::CloseRange, libc::SYS_close_range),
            (Sys::Dup3, libc::SYS_dup3),
            (Sys::Fcntl, libc::SYS_fcntl),
            (Sys::Ioctl, libc::SYS_ioctl),
            (Sys::Read, libc::SYS_read),
            (Sys::Close, libc::SYS_close),
        ];
        for (s, nr) in expect {
            assert_eq!(Sys::from_nr(*nr as u64), Some(*s), "{}", s.name());
        }
        assert_eq!(FIONBIO as u64, libc::FIONBIO);
        assert_eq!(F_DUPFD_CLOEXEC as i32, libc::F_DUPFD_CLOEXEC);
    }

    #[test]
    fn every_number_once() {
        for (i, (_, n, _)) in TABLE.iter().enumerate() {
            assert!(TABLE[i + 1..].iter().all(|(_, m, _)| m != n), "{n} twice");
        }
        assert_eq!(Sys::from_nr(39), None); // getpid
    }
}
