//! What every server needs to hold under abuse: a cap on clients that the
//! process's file-descriptor limit can actually carry, the EMFILE lesson
//! (keep one spare descriptor so a full table never wedges the accept
//! loop), and giving freed memory back to the system once clients leave.

use std::fs::File;
use std::net::SocketAddr;

use nix::sys::resource::{getrlimit, Resource};

/// Descriptors kept free for everything that is not a client (listener,
/// epoll, stdout, log files, the spare, threads' needs).
pub const FD_RESERVE: u64 = 32;

/// The most clients this process can hold: `wanted`, lowered to what
/// `RLIMIT_NOFILE` (ulimit -n) leaves after [`FD_RESERVE`], counting
/// `fds_per_client` descriptors per client. Also the limit, for the log.
pub fn fd_cap(wanted: usize, fds_per_client: u64) -> (usize, u64) {
    let soft = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(s, _)| s);
    let room = soft.saturating_sub(FD_RESERVE) / fds_per_client.max(1);
    (
        wanted
            .min(usize::try_from(room).unwrap_or(usize::MAX))
            .max(1),
        soft,
    )
}

/// The line a server prints when the descriptor limit lowered its cap.
pub fn fd_cap_note(wanted: usize, cap: usize, soft: u64) -> Option<String> {
    (cap < wanted).then(|| {
        format!(
            "note: at most {cap} clients, not {wanted}: each client is an open file and this process may open {soft} (ulimit -n); raise it with `ulimit -n` to serve more"
        )
    })
}

/// One descriptor held in reserve for the EMFILE dance.
pub struct Spare(Option<File>);

impl Spare {
    /// Open the reserve (`/dev/null`).
    pub fn new() -> Self {
        Spare(File::open("/dev/null").ok())
    }

    /// After `accept` failed with EMFILE/ENFILE: give the spare descriptor
    /// back, accept the waiting client and close it at once (it sees the
    /// connection closed instead of hanging in the backlog), then take the
    /// spare again. Returns the refused peer.
    pub fn refuse_one(
        &mut self,
        accept: impl FnOnce() -> std::io::Result<SocketAddr>,
    ) -> Option<SocketAddr> {
        self.0 = None;
        let peer = accept().ok();
        *self = Spare::new();
        peer
    }
}

impl Default for Spare {
    fn default() -> Self {
        Spare::new()
    }
}

/// True for "out of descriptors" errors (EMFILE, ENFILE).
pub fn out_of_fds(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// True for accept() errors that concern one connection only (it was reset
/// or refused before it was taken: ECONNABORTED, EPROTO, EPERM): the next
/// waiting one can be accepted at once. With edge-triggered readiness a
/// loop that stopped here would never hear of those waiting again.
pub fn accept_error_is_per_connection(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ECONNABORTED | libc::EPROTO | libc::EPERM | libc::EINTR)
    )
}

/// The EMFILE lesson, logged once per burst by the caller.
pub fn emfile_lesson(peer: Option<SocketAddr>, soft: u64) -> String {
    let who = peer.map_or_else(|| "a client".to_string(), |p| p.to_string());
    format!(
        "accept failed: Too many open files (EMFILE): {who} was accepted on the spare descriptor and closed at once. Every socket is a file descriptor and this process may have {soft} (ulimit -n); without a spare, the waiting connection would stay in the backlog and the loop would spin"
    )
}

/// Receive buffer a UDP server asks for: room for about a hundred
/// 65,000-byte datagrams, so a flood of oversized ones does not push the
/// valid requests out while the server waits for a CPU (the default,
/// `net.core.rmem_default`, holds about three).
pub const UDP_RECEIVE_BUFFER: usize = 8 * 1024 * 1024;

/// Give `sock` a receive buffer of [`UDP_RECEIVE_BUFFER`]: SO_RCVBUFFORCE
/// where allowed (root), else SO_RCVBUF (capped by `net.core.rmem_max`).
/// Returns the size the kernel granted (it reports double what it keeps
/// for data, as `socket(7)` says).
pub fn grow_receive_buffer(sock: &impl std::os::fd::AsFd) -> usize {
    use nix::sys::socket::{getsockopt, setsockopt, sockopt};
    if setsockopt(sock, sockopt::RcvBufForce, &UDP_RECEIVE_BUFFER).is_err() {
        let _ = setsockopt(sock, sockopt::RcvBuf, &UDP_RECEIVE_BUFFER);
    }
    getsockopt(sock, sockopt::RcvBuf).unwrap_or(0)
}

/// The line a UDP server prints about its receive buffer.
pub fn receive_buffer_note(granted: usize) -> String {
    format!(
        "receive buffer (SO_RCVBUF): {} KiB, so a burst of bad or oversized datagrams does not crowd out valid ones while the server waits for the CPU",
        granted / 1024
    )
}

/// Give memory freed by departed clients back to the system (glibc keeps
/// it in its arenas otherwise, so RSS would stay at its peak).
pub fn return_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it has
    // no preconditions and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_follows_the_descriptor_limit() {
        let (cap, soft) = fd_cap(usize::MAX, 1);
        assert_eq!(cap as u64, soft - FD_RESERVE);
        let (half, _) = fd_cap(usize::MAX, 2);
        assert_eq!(half as u64, (soft - FD_RESERVE) / 2);
        assert_eq!(fd_cap(5, 1).0, 5);
        assert!(fd_cap_note(10, 10, 1024).is_none());
        let note = fd_cap_note(20000, 992, 1024).unwrap();
        assert!(note.contains("at most 992 clients, not 20000"), "{note}");
        assert!(note.contains("ulimit -n"), "{note}");
    }

    #[test]
    fn udp_receive_buffer_grows_past_the_default() {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let before =
            nix::sys::socket::getsockopt(&sock, nix::sys::socket::sockopt::RcvBuf).unwrap();
        let granted = grow_receive_buffer(&sock);
        // rmem_max caps it for non-root; either way never below the default.
        assert!(granted >= before, "{granted} < {before}");
        let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        // SO_RCVBUF grants min(asked, rmem_max), doubled; the force option more.
        assert!(granted >= UDP_RECEIVE_BUFFER.min(rmem_max), "{granted}");
        assert!(receive_buffer_note(granted).contains("KiB"));
    }

    #[test]
    fn emfile_is_out_of_fds() {
        assert!(out_of_fds(&std::io::Error::from_raw_os_error(libc::EMFILE)));
        assert!(!out_of_fds(&std::io::Error::from_raw_os_error(
            libc::ECONNRESET
        )));
    }
}
