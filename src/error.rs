//! Errors that teach: every network failure names the stage it happened in,
//! the OS error with its errno name, and a hint a learner can act on.
//!
//! Nothing here panics; `Display` is the only formatting users ever see.

use crate::duration::fmt_secs;
use std::fmt;
use std::io;
use std::time::Duration;

/// The step of a socket program at which something failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Turning a host name into addresses (`getaddrinfo`).
    ResolveName,
    /// Turning a service name into a port (`getservbyname`).
    ResolveService,
    /// `socket()` itself.
    CreateSocket,
    /// `setsockopt()`.
    SetOption,
    /// `bind()`.
    Bind,
    /// `listen()`.
    Listen,
    /// `accept()`.
    Accept,
    /// `connect()`.
    Connect,
    /// `send()`/`sendto()`.
    Send,
    /// `recv()`/`recvfrom()`.
    Receive,
    /// `shutdown()`.
    Shutdown,
    /// A receive or connect that hit its timeout.
    Timeout,
    /// The peer answered, but not in the protocol.
    Protocol,
}

impl Stage {
    /// The stage as a learner would say it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::ResolveName => "resolve name",
            Stage::ResolveService => "resolve service",
            Stage::CreateSocket => "create socket",
            Stage::SetOption => "set socket option",
            Stage::Bind => "bind",
            Stage::Listen => "listen",
            Stage::Accept => "accept",
            Stage::Connect => "connect",
            Stage::Send => "send",
            Stage::Receive => "receive",
            Stage::Shutdown => "shutdown",
            Stage::Timeout => "timeout",
            Stage::Protocol => "protocol",
        }
    }
}

/// What went wrong underneath.
#[derive(Debug)]
pub enum Cause {
    /// An OS error (errno).
    Os(io::Error),
    /// A plain explanation (resolver message, protocol violation...).
    Msg(String),
}

/// A failure of a socket operation, with what it was doing and a hint.
#[derive(Debug)]
pub struct NetError {
    /// Where it failed.
    pub stage: Stage,
    /// What it was working on, e.g. `127.0.0.1:10009` or `www.example`.
    pub target: String,
    /// Why.
    pub cause: Cause,
    /// What to try, if there is something to say.
    pub hint: Option<String>,
}

impl std::error::Error for NetError {}

impl NetError {
    /// An OS error at `stage` on `target`; the hint is derived from the errno.
    pub fn os(stage: Stage, target: impl fmt::Display, err: io::Error) -> Self {
        let target = target.to_string();
        let hint = hint_for(stage, &target, &err);
        NetError {
            stage,
            target,
            cause: Cause::Os(err),
            hint,
        }
    }

    /// A failure explained in words.
    pub fn msg(stage: Stage, target: impl fmt::Display, msg: impl Into<String>) -> Self {
        NetError {
            stage,
            target: target.to_string(),
            cause: Cause::Msg(msg.into()),
            hint: None,
        }
    }

    /// A receive (or connect) that waited `after` and got nothing.
    pub fn timeout(target: impl fmt::Display, waiting_for: &str, after: Duration) -> Self {
        NetError {
            stage: Stage::Timeout,
            target: target.to_string(),
            cause: Cause::Msg(format!(
                "timed out after {} waiting for {waiting_for}",
                fmt_secs(after)
            )),
            hint: None,
        }
    }

    /// Replace or set the hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The errno of an OS cause, if any.
    pub fn errno(&self) -> Option<i32> {
        match &self.cause {
            Cause::Os(e) => e.raw_os_error(),
            Cause::Msg(_) => None,
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.stage.name(), self.target)?;
        match &self.cause {
            Cause::Os(e) => f.write_str(&describe_io(e))?,
            Cause::Msg(m) => f.write_str(m)?,
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// `Connection refused (ECONNREFUSED)`: the OS text and the errno name, as
/// `perror` and Python's `OSError` would show them, without Rust's wording.
pub fn describe_io(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let errno = nix::errno::Errno::from_raw(code);
            format!("{} ({})", errno.desc(), errno_name(code))
        }
        None => {
            let s = e.to_string();
            // std adds "(os error N)" only for raw errors; strip Rust-isms anyway.
            s.trim_start_matches("failed to lookup address information: ")
                .to_string()
        }
    }
}

/// The symbolic name of an errno value (`ECONNREFUSED`), or `errno N`.
pub fn errno_name(code: i32) -> String {
    let errno = nix::errno::Errno::from_raw(code);
    if errno == nix::errno::Errno::UnknownErrno {
        format!("errno {code}")
    } else {
        // nix's enum variants are named exactly like the C constants.
        format!("{errno:?}")
    }
}

/// A refused connection to a port where a socket of the other protocol is
/// waiting: the user picked the wrong one. A TCP listener there means the
/// refusal came from UDP (ICMP port unreachable), and the other way round.
fn other_protocol_holds(target: &str) -> Option<String> {
    use crate::proto::ports::{held, Transport};
    let addr: std::net::SocketAddr = target.parse().ok()?;
    if held(addr, Transport::Tcp) {
        Some(format!(
            "a TCP server is listening on {target}, but no UDP socket is bound there: the datagram \
             was answered with ICMP port unreachable. Talk TCP to it (`echo send` without --udp, \
             `tcp-calc ask`), or start a UDP server on that port (`echo serve --udp`, `udp-calc serve`)"
        ))
    } else if held(addr, Transport::Udp) {
        Some(format!(
            "a UDP socket is bound to {target}, but no TCP server is listening there: the SYN was \
             answered with RST. Talk UDP to it (`echo send --udp`, `udp-calc ask`), or start a TCP \
             server on that port (`echo serve`, `tcp-calc serve`)"
        ))
    } else {
        None
    }
}

fn hint_for(stage: Stage, target: &str, err: &io::Error) -> Option<String> {
    use libc::*;
    let code = err.raw_os_error()?;
    let h = match (stage, code) {
        (Stage::Connect | Stage::Receive | Stage::Send, ECONNREFUSED) => {
            match other_protocol_holds(target) {
                Some(h) => h,
                None => format!(
            "nothing is listening on {target}: start the server first, or check the host and port \
             (for TCP the peer answered the SYN with RST; for UDP the kernel answered with ICMP port unreachable)"
        ),
            }
        }
        (Stage::Bind, EADDRINUSE) => "another socket, or a connection in TIME_WAIT, holds this address and port; \
             stop the other program or pick another port. socklab sets SO_REUSEADDR unless you pass \
             --no-reuseaddr, which lets a server restart while old connections sit in TIME_WAIT"
            .into(),
        (Stage::Bind, EADDRNOTAVAIL) => {
            "this machine has no interface with that address; use 127.0.0.1, ::1 or 0.0.0.0".into()
        }
        (Stage::Bind, EACCES) => {
            "ports below 1024 need root (or CAP_NET_BIND_SERVICE); use a port >= 1024".into()
        }
        (_, ECONNRESET) => "the peer reset the connection (RST): it closed while data was unread, set \
             SO_LINGER to 0, or crashed"
            .into(),
        (_, EPIPE) => "the peer has closed the connection; writing to it now fails".into(),
        (_, ENOTCONN) => "Transport endpoint is not connected: the peer is gone (or the socket never connected)".into(),
        (Stage::Connect, ETIMEDOUT) => {
            "no answer to the SYN: the host is down, or a firewall drops the packets".into()
        }
        (_, ENETUNREACH | EHOSTUNREACH) => {
            "no route to that network or host; check the address".into()
        }
        (_, EAFNOSUPPORT) => "this address family is not available on this machine (IPv6 disabled?)".into(),
        (_, EMFILE | ENFILE) => "too many open files: raise the limit with `ulimit -n`".into(),
        _ => return None,
    };
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_names_stage_errno_and_hint() {
        let e = NetError::os(
            Stage::Connect,
            "127.0.0.1:9",
            io::Error::from_raw_os_error(libc::ECONNREFUSED),
        );
        let s = e.to_string();
        assert!(s.starts_with("connect 127.0.0.1:9: Connection refused (ECONNREFUSED)"));
        assert!(s.contains("hint: nothing is listening on 127.0.0.1:9"));
    }

    #[test]
    fn unknown_errno_is_numbered() {
        assert_eq!(errno_name(9999), "errno 9999");
        assert_eq!(errno_name(libc::EADDRINUSE), "EADDRINUSE");
    }
}
