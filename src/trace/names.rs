//! Names for the numbers socket calls take and return: address families,
//! socket types, option levels and names, `shutdown` modes, message flags,
//! poll events, errno names, and the teaching notes attached to results.
//!
//! Pure lookups; allocate only when a flag set is joined into text.

/// `AF_INET`, `AF_INET6`, ... (`AF_?` unknown as a number).
pub fn family(f: i32) -> String {
    match f {
        libc::AF_UNIX => "AF_UNIX".into(),
        libc::AF_INET => "AF_INET".into(),
        libc::AF_INET6 => "AF_INET6".into(),
        libc::AF_NETLINK => "AF_NETLINK".into(),
        libc::AF_PACKET => "AF_PACKET".into(),
        _ => format!("{f}"),
    }
}

/// `SOCK_STREAM|SOCK_CLOEXEC`, ...
pub fn sock_type(t: i32) -> String {
    let base = match t & 0xf {
        libc::SOCK_STREAM => "SOCK_STREAM".to_string(),
        libc::SOCK_DGRAM => "SOCK_DGRAM".into(),
        libc::SOCK_RAW => "SOCK_RAW".into(),
        libc::SOCK_SEQPACKET => "SOCK_SEQPACKET".into(),
        n => n.to_string(),
    };
    let mut s = base;
    if t & libc::SOCK_NONBLOCK != 0 {
        s.push_str("|SOCK_NONBLOCK");
    }
    if t & libc::SOCK_CLOEXEC != 0 {
        s.push_str("|SOCK_CLOEXEC");
    }
    s
}

/// `SOL_SOCKET`, `IPPROTO_TCP`, ...
pub fn level(l: i32) -> String {
    match l {
        libc::SOL_SOCKET => "SOL_SOCKET".into(),
        libc::IPPROTO_TCP => "IPPROTO_TCP".into(),
        libc::IPPROTO_IP => "IPPROTO_IP".into(),
        libc::IPPROTO_IPV6 => "IPPROTO_IPV6".into(),
        libc::IPPROTO_UDP => "IPPROTO_UDP".into(),
        _ => l.to_string(),
    }
}

/// How an option's value is laid out, for decoding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptValue {
    /// A C int (flags, sizes).
    Int,
    /// `struct linger`.
    Linger,
    /// `struct timeval`.
    Timeval,
    /// Something else: shown as its length.
    Other,
}

/// `SO_REUSEADDR`, `TCP_NODELAY`, ... and how the value is laid out.
pub fn option(level: i32, name: i32) -> (String, OptValue) {
    use OptValue::*;
    let known = match (level, name) {
        (libc::SOL_SOCKET, libc::SO_REUSEADDR) => Some(("SO_REUSEADDR", Int)),
        (libc::SOL_SOCKET, libc::SO_REUSEPORT) => Some(("SO_REUSEPORT", Int)),
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => Some(("SO_KEEPALIVE", Int)),
        (libc::SOL_SOCKET, libc::SO_BROADCAST) => Some(("SO_BROADCAST", Int)),
        (libc::SOL_SOCKET, libc::SO_LINGER) => Some(("SO_LINGER", Linger)),
        (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => Some(("SO_RCVTIMEO", Timeval)),
        (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => Some(("SO_SNDTIMEO", Timeval)),
        (libc::SOL_SOCKET, libc::SO_RCVBUF) => Some(("SO_RCVBUF", Int)),
        (libc::SOL_SOCKET, libc::SO_SNDBUF) => Some(("SO_SNDBUF", Int)),
        (libc::SOL_SOCKET, libc::SO_ERROR) => Some(("SO_ERROR", Int)),
        (libc::SOL_SOCKET, libc::SO_TYPE) => Some(("SO_TYPE", Int)),
        (libc::SOL_SOCKET, libc::SO_DOMAIN) => Some(("SO_DOMAIN", Int)),
        (libc::SOL_SOCKET, libc::SO_PROTOCOL) => Some(("SO_PROTOCOL", Int)),
        (libc::SOL_SOCKET, libc::SO_ACCEPTCONN) => Some(("SO_ACCEPTCONN", Int)),
        (libc::SOL_SOCKET, libc::SO_OOBINLINE) => Some(("SO_OOBINLINE", Int)),
        (libc::IPPROTO_TCP, libc::TCP_NODELAY) => Some(("TCP_NODELAY", Int)),
        (libc::IPPROTO_TCP, libc::TCP_MAXSEG) => Some(("TCP_MAXSEG", Int)),
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE) => Some(("TCP_KEEPIDLE", Int)),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL) => Some(("TCP_KEEPINTVL", Int)),
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT) => Some(("TCP_KEEPCNT", Int)),
        (libc::IPPROTO_IP, libc::IP_TTL) => Some(("IP_TTL", Int)),
        (libc::IPPROTO_IP, libc::IP_TOS) => Some(("IP_TOS", Int)),
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) => Some(("IPV6_V6ONLY", Int)),
        _ => None,
    };
    match known {
        Some((n, v)) => (n.to_string(), v),
        None => (name.to_string(), Other),
    }
}

/// `SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`.
pub fn shutdown_how(how: i32) -> String {
    match how {
        libc::SHUT_RD => "SHUT_RD".into(),
        libc::SHUT_WR => "SHUT_WR".into(),
        libc::SHUT_RDWR => "SHUT_RDWR".into(),
        _ => how.to_string(),
    }
}

/// `MSG_PEEK|MSG_DONTWAIT`, or `0`.
pub fn msg_flags(f: i32) -> String {
    const NAMES: &[(i32, &str)] = &[
        (libc::MSG_OOB, "MSG_OOB"),
        (libc::MSG_PEEK, "MSG_PEEK"),
        (libc::MSG_DONTROUTE, "MSG_DONTROUTE"),
        (libc::MSG_TRUNC, "MSG_TRUNC"),
        (libc::MSG_DONTWAIT, "MSG_DONTWAIT"),
        (libc::MSG_WAITALL, "MSG_WAITALL"),
        (libc::MSG_NOSIGNAL, "MSG_NOSIGNAL"),
        (libc::MSG_MORE, "MSG_MORE"),
        (libc::MSG_CMSG_CLOEXEC, "MSG_CMSG_CLOEXEC"),
    ];
    join_flags(f, NAMES)
}

/// `POLLIN|POLLOUT`, or `0`.
pub fn poll_events(e: i16) -> String {
    const NAMES: &[(i32, &str)] = &[
        (libc::POLLIN as i32, "POLLIN"),
        (libc::POLLPRI as i32, "POLLPRI"),
        (libc::POLLOUT as i32, "POLLOUT"),
        (libc::POLLERR as i32, "POLLERR"),
        (libc::POLLHUP as i32, "POLLHUP"),
        (libc::POLLNVAL as i32, "POLLNVAL"),
        (libc::POLLRDHUP as i32, "POLLRDHUP"),
    ];
    join_flags(i32::from(e) & 0xffff, NAMES)
}

/// `EPOLLIN|EPOLLOUT`, or `0`.
pub fn epoll_events(e: u32) -> String {
    const NAMES: &[(i32, &str)] = &[
        (libc::EPOLLIN, "EPOLLIN"),
        (libc::EPOLLPRI, "EPOLLPRI"),
        (libc::EPOLLOUT, "EPOLLOUT"),
        (libc::EPOLLERR, "EPOLLERR"),
        (libc::EPOLLHUP, "EPOLLHUP"),
        (libc::EPOLLRDHUP, "EPOLLRDHUP"),
    ];
    join_flags(e as i32, NAMES)
}

fn join_flags(v: i32, names: &[(i32, &str)]) -> String {
    if v == 0 {
        return "0".into();
    }
    let mut parts: Vec<String> = Vec::new();
    let mut rest = v;
    for (bit, name) in names {
        if v & bit != 0 {
            parts.push((*name).into());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    parts.join("|")
}

/// The kernel's "restart" codes, seen at a syscall-exit stop when a
/// signal interrupted the call (the program never sees them).
const RESTARTS: &[(i32, &str, &str)] = &[
    (512, "ERESTARTSYS", "to be restarted if SA_RESTART is set"),
    (513, "ERESTARTNOINTR", "to be restarted"),
    (514, "ERESTARTNOHAND", "to be restarted if no handler"),
    (516, "ERESTART_RESTARTBLOCK", "interrupted by signal"),
];

/// `ECONNREFUSED`, ... (the C constant's name).
pub fn errno(e: i32) -> String {
    match RESTARTS.iter().find(|(n, _, _)| *n == e) {
        Some((_, name, _)) => (*name).into(),
        None => crate::error::errno_name(e),
    }
}

/// What an errno means (`Connection refused`).
pub fn errno_desc(e: i32) -> &'static str {
    match RESTARTS.iter().find(|(n, _, _)| *n == e) {
        Some((_, _, d)) => d,
        None => nix::errno::Errno::from_raw(e).desc(),
    }
}

/// A short teaching note for an error result, where one helps.
pub fn errno_note(e: i32, nonblocking: bool) -> Option<&'static str> {
    Some(match e {
        libc::EINPROGRESS => {
            "normal for a non-blocking connect: the handshake goes on; poll for POLLOUT, then read SO_ERROR"
        }
        libc::EAGAIN if nonblocking => {
            "normal on a non-blocking socket: nothing to do right now; poll and try again"
        }
        libc::EAGAIN => "the receive timeout (SO_RCVTIMEO) expired: no data arrived in time",
        libc::ECONNREFUSED => {
            "nobody listens on that port: the peer answered the SYN with the RST shown (or, for UDP, an ICMP port unreachable)"
        }
        libc::EADDRINUSE => {
            "another socket holds this address (or TIME_WAIT does): set SO_REUSEADDR before bind, or pick another port"
        }
        libc::ECONNRESET => "the peer reset the connection (an RST arrived): it closed with unread data or crashed",
        libc::EPIPE => "writing to a connection the peer has closed (SIGPIPE unless MSG_NOSIGNAL)",
        libc::ENOTCONN => "the socket is not connected: connect (TCP) or use sendto with an address",
        libc::ETIMEDOUT => "the peer never answered: no SYN-ACK (or ACKs) came back in time",
        libc::EISCONN => "already connected",
        libc::EALREADY => "a non-blocking connect is still in progress",
        libc::EINTR => "interrupted by a signal before anything happened",
        libc::EADDRNOTAVAIL => "that address is not on this machine (bind) or no free ephemeral port (connect)",
        libc::EACCES => "ports below 1024 need root (CAP_NET_BIND_SERVICE)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(family(2), "AF_INET");
        assert_eq!(
            sock_type(1 | libc::SOCK_CLOEXEC),
            "SOCK_STREAM|SOCK_CLOEXEC"
        );
        assert_eq!(option(1, 2).0, "SO_REUSEADDR");
        assert_eq!(option(1, 13), ("SO_LINGER".into(), OptValue::Linger));
        assert_eq!(option(1, 20).1, OptValue::Timeval);
        assert_eq!(option(6, 1).0, "TCP_NODELAY");
        assert_eq!(shutdown_how(1), "SHUT_WR");
        assert_eq!(msg_flags(0), "0");
        assert_eq!(
            msg_flags(libc::MSG_PEEK | 0x1000_0000),
            "MSG_PEEK|0x10000000"
        );
        assert_eq!(poll_events(libc::POLLIN | libc::POLLOUT), "POLLIN|POLLOUT");
        assert_eq!(errno(libc::ECONNREFUSED), "ECONNREFUSED");
        assert_eq!(errno(512), "ERESTARTSYS");
        assert_eq!(errno_desc(512), "to be restarted if SA_RESTART is set");
        assert!(errno_note(libc::EINPROGRESS, true)
            .unwrap()
            .contains("non-blocking"));
        assert!(errno_note(libc::EAGAIN, false).unwrap().contains("timeout"));
        assert_eq!(errno_note(libc::ENOENT, false), None);
    }
}
