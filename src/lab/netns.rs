//! The lab's no-root mode: without CAP_NET_RAW, enter a new user and
//! network namespace (`unshare(CLONE_NEWUSER | CLONE_NEWNET)`), map the
//! caller to root inside it, and bring the private `lo` up. Inside, packet
//! sockets are allowed on the namespace's own interfaces.
//!
//! `unshare(CLONE_NEWUSER)` needs a single-threaded process: call
//! [`enter_private_net`] before any thread is started (including the
//! Ctrl-C handler thread).

use std::fs;

use thiserror::Error;

/// Why the private namespace could not be made.
#[derive(Debug, Error)]
pub enum NsError {
    /// `unshare` refused (user namespaces disabled, or threads already running).
    #[error("cannot create a private user and network namespace: {0}")]
    Unshare(String),
    /// Writing uid_map/gid_map failed.
    #[error("cannot map this user to root inside the namespace ({what}): {err}")]
    Map {
        /// Which file.
        what: &'static str,
        /// The OS error, described.
        err: String,
    },
    /// Bringing `lo` up failed.
    #[error("cannot bring up the namespace's loopback interface: {0}")]
    LoopbackUp(String),
}

impl NsError {
    /// How to run the lab instead.
    pub fn hint(&self) -> &'static str {
        "run the lab with privileges instead: `sudo socklab lab NAME`, or once \
         `sudo setcap cap_net_raw,cap_net_admin+ep $(which socklab)`; user namespaces \
         may be disabled here (see /proc/sys/user/max_user_namespaces and \
         kernel.unprivileged_userns_clone)"
    }
}

/// True if this process may open packet sockets here (CAP_NET_RAW).
pub fn can_capture() -> bool {
    // SAFETY: plain socket(2) call; the descriptor is closed right away.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
    if fd < 0 {
        return false;
    }
    // SAFETY: fd was just returned by socket(2) and is owned here.
    unsafe { libc::close(fd) };
    true
}

/// Enter a fresh user + network namespace as root and bring `lo` up.
pub fn enter_private_net() -> Result<(), NsError> {
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // SAFETY: unshare(2) with flags only; errors come back through errno.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(NsError::Unshare(crate::error::describe_io(
            &std::io::Error::last_os_error(),
        )));
    }
    let map = |what: &'static str, text: String| {
        fs::write(format!("/proc/self/{what}"), text).map_err(|e| NsError::Map {
            what,
            err: crate::error::describe_io(&e),
        })
    };
    map("uid_map", format!("0 {uid} 1"))?;
    // gid_map needs setgroups denied first for an unprivileged writer.
    let _ = fs::write("/proc/self/setgroups", "deny");
    map("gid_map", format!("0 {gid} 1"))?;
    loopback_up()
}

/// Set IFF_UP on `lo` with SIOCGIFFLAGS/SIOCSIFFLAGS.
fn loopback_up() -> Result<(), NsError> {
    let err = || NsError::LoopbackUp(crate::error::describe_io(&std::io::Error::last_os_error()));
    // SAFETY: a datagram socket used only for the interface ioctls, closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) };
    if fd < 0 {
        return Err(err());
    }
    // SAFETY: ifreq is a plain C struct; all-zero is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: fd is a valid socket and req a valid ifreq naming "lo".
    let r = unsafe { libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) };
    let result = if r < 0 {
        Err(err())
    } else {
        // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
        unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
        // SAFETY: same fd and request, now with IFF_UP set.
        if unsafe { libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) } < 0 {
            Err(err())
        } else {
            Ok(())
        }
    };
    // SAFETY: fd is owned here and closed once.
    unsafe { libc::close(fd) };
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_namespaces_say_how_to_run_instead() {
        let e = NsError::Unshare("Operation not permitted (EPERM)".into());
        assert!(e.to_string().contains("private user and network namespace"));
        assert!(e.hint().contains("sudo socklab lab NAME"));
        assert!(e.hint().contains("setcap"));
    }
}
