//! Socket set-up shared by every client and server: parsing `HOST:PORT`,
//! resolving names, creating, binding, listening and connecting, each
//! failure reported as a [`NetError`] naming its stage.

use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::error::{describe_io, NetError, Stage};
use crate::proto::calls::{self, Side};

/// A host and port as the user wrote them, not yet resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port number.
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Parse `HOST:PORT`, `[V6]:PORT`, a bare `PORT` (default host), or a bare
/// host (default port). A bare IPv6 address without brackets is accepted too.
pub fn parse_endpoint(s: &str, default: &Endpoint) -> Result<Endpoint, String> {
    let s = s.trim();
    let port_of = |p: &str| -> Result<u16, String> {
        p.parse::<u16>()
            .map_err(|_| format!("bad address '{s}': port '{p}' is not a number from 0 to 65535"))
    };
    if s.is_empty() {
        return Err("empty address: expected HOST:PORT, [V6]:PORT or PORT".into());
    }
    if let Some((scheme, rest)) = s.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let example = if authority.is_empty() {
            "HOST:PORT".to_string()
        } else if authority.contains(':') && !authority.ends_with(']') {
            authority.to_string()
        } else {
            let port = match scheme.to_ascii_lowercase().as_str() {
                "http" => "80",
                "https" => "443",
                _ => "PORT",
            };
            format!("{authority}:{port}")
        };
        return Err(format!(
            "bad address '{s}': this is a URL; give HOST:PORT without '{scheme}://' or a path, here {example}"
        ));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (host, tail) = rest
            .split_once(']')
            .ok_or_else(|| format!("bad address '{s}': '[' without a closing ']'"))?;
        let port = match tail {
            "" => default.port,
            t => port_of(
                t.strip_prefix(':')
                    .ok_or_else(|| format!("bad address '{s}': expected ':PORT' after ']'"))?,
            )?,
        };
        return Ok(Endpoint {
            host: host.to_string(),
            port,
        });
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return Ok(Endpoint {
            host: default.host.clone(),
            port: port_of(s)?,
        });
    }
    if s.matches(':').count() > 1 {
        // `::1:21019` is not an address, but `::1` then a port: say how to
        // write it (a bare `::1:8080` is a valid address and stays one).
        if s.parse::<std::net::Ipv6Addr>().is_err() {
            if let Some((h, p)) = s.rsplit_once(':') {
                if h.parse::<std::net::Ipv6Addr>().is_ok() && p.parse::<u16>().is_ok() {
                    return Err(format!(
                        "bad address '{s}': an IPv6 address with a port needs brackets: [{h}]:{p}"
                    ));
                }
            }
        }
        // A bare IPv6 address such as ::1.
        return Ok(Endpoint {
            host: s.to_string(),
            port: default.port,
        });
    }
    match s.split_once(':') {
        Some((h, p)) => Ok(Endpoint {
            host: if h.is_empty() {
                default.host.clone()
            } else {
                h.to_string()
            },
            port: port_of(p)?,
        }),
        None => Ok(Endpoint {
            host: s.to_string(),
            port: default.port,
        }),
    }
}

/// Resolve a host name to addresses, like `getaddrinfo`, keeping its order.
pub fn resolve(ep: &Endpoint) -> Result<Vec<SocketAddr>, NetError> {
    let addrs: Vec<SocketAddr> = (ep.host.as_str(), ep.port)
        .to_socket_addrs()
        .map_err(|e| {
            NetError::msg(Stage::ResolveName, &ep.host, describe_io(&e)).with_hint(
                "unknown host: check the spelling, /etc/hosts or DNS; an address like 127.0.0.1 or ::1 needs no lookup",
            )
        })?
        .collect();
    if addrs.is_empty() {
        return Err(NetError::msg(
            Stage::ResolveName,
            &ep.host,
            "the name has no addresses",
        ));
    }
    Ok(addrs)
}

/// Put IPv4 addresses first, like the course's AF_INET clients do with
/// `localhost` (used where a UDP client cannot try each address in turn).
pub fn ipv4_first(mut addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    addrs.sort_by_key(|a| a.is_ipv6());
    addrs
}

/// Parse and resolve an endpoint given on the command line; first address.
pub fn resolve_one(s: &str, default: &Endpoint) -> anyhow::Result<SocketAddr> {
    let ep = parse_endpoint(s, default).map_err(anyhow::Error::msg)?;
    Ok(resolve(&ep)?[0])
}

/// Parse and resolve an endpoint; every address, in resolver order.
pub fn resolve_all(s: &str, default: &Endpoint) -> anyhow::Result<Vec<SocketAddr>> {
    let ep = parse_endpoint(s, default).map_err(anyhow::Error::msg)?;
    Ok(resolve(&ep)?)
}

fn new_socket(
    side: Side,
    addr: &SocketAddr,
    ty: Type,
    proto: Protocol,
) -> Result<Socket, NetError> {
    let what = if ty == Type::STREAM { "TCP" } else { "UDP" };
    calls::report(side, || {
        let t = if ty == Type::STREAM {
            "SOCK_STREAM"
        } else {
            "SOCK_DGRAM"
        };
        format!("socket({}, {t})", calls::family(addr))
    });
    Socket::new(Domain::for_address(*addr), ty, Some(proto))
        .map_err(|e| NetError::os(Stage::CreateSocket, format!("{what} socket for {addr}"), e))
}

fn reuse(sock: &Socket, on: bool, addr: &SocketAddr) -> Result<(), NetError> {
    if on {
        calls::report(Side::Server, || "setsockopt(SO_REUSEADDR, 1)".into());
    }
    sock.set_reuse_address(on)
        .map_err(|e| NetError::os(Stage::SetOption, format!("SO_REUSEADDR on {addr}"), e))
}

/// Hint for a UDP bind that found the port held.
pub const UDP_IN_USE_HINT: &str =
    "another socket already holds this UDP port (a course server still running? \
`ss -ulpn` shows which program). Stop it or pick another port. socklab does not set SO_REUSEADDR \
on UDP: with it both sockets would bind and share the port silently, and only one of them would \
get the datagrams; pass --reuseaddr to share it on purpose";

/// A UDP socket bound to `addr`. Without `reuseaddr` a port another socket
/// holds fails with EADDRINUSE (and [`UDP_IN_USE_HINT`]), even when that
/// socket set SO_REUSEADDR. With it the port may be shared: see [`udp_bind_shared`].
pub fn udp_bind(addr: SocketAddr, reuseaddr: bool) -> Result<UdpSocket, NetError> {
    Ok(udp_bind_shared(addr, reuseaddr)?.0)
}

/// [`udp_bind`], also saying whether another socket already held the port
/// (possible only with `reuseaddr`): the two sockets then share it.
pub fn udp_bind_shared(addr: SocketAddr, reuseaddr: bool) -> Result<(UdpSocket, bool), NetError> {
    let shared = reuseaddr && addr.port() != 0 && udp_port_held(addr);
    let s = new_socket(Side::Server, &addr, Type::DGRAM, Protocol::UDP)?;
    reuse(&s, reuseaddr, &addr)?;
    calls::report(Side::Server, || format!("bind({addr})"));
    s.bind(&SockAddr::from(addr)).map_err(|e| {
        let in_use = e.raw_os_error() == Some(libc::EADDRINUSE);
        let err = NetError::os(Stage::Bind, addr, e);
        if in_use {
            err.with_hint(UDP_IN_USE_HINT)
        } else {
            err
        }
    })?;
    Ok((s.into(), shared))
}

/// True when some socket holds UDP `addr`: a probe bind without
/// SO_REUSEADDR fails with EADDRINUSE (not reported as a call).
pub fn udp_port_held(addr: SocketAddr) -> bool {
    match UdpSocket::bind(addr) {
        Ok(_) => false,
        Err(e) => e.raw_os_error() == Some(libc::EADDRINUSE),
    }
}

/// What a server says when its UDP port is shared with another socket.
pub fn udp_shared_note(addr: SocketAddr) -> String {
    format!(
        "warning: another socket already holds UDP {addr}; with SO_REUSEADDR (--reuseaddr) both \
         sockets now share the port. Linux gives each datagram to one socket only: the one bound to \
         the most specific address, among equals the one bound last (this server). The other \
         program gets nothing until this server stops"
    )
}

/// A TCP listener on `addr` with the given backlog.
pub fn tcp_listen(
    addr: SocketAddr,
    reuseaddr: bool,
    backlog: i32,
) -> Result<TcpListener, NetError> {
    let s = new_socket(Side::Server, &addr, Type::STREAM, Protocol::TCP)?;
    reuse(&s, reuseaddr, &addr)?;
    calls::report(Side::Server, || format!("bind({addr})"));
    s.bind(&SockAddr::from(addr))
        .map_err(|e| NetError::os(Stage::Bind, addr, e))?;
    calls::report(Side::Server, || format!("listen({backlog})"));
    s.listen(backlog)
        .map_err(|e| NetError::os(Stage::Listen, addr, e))?;
    Ok(s.into())
}

/// Connect to the first address that answers, like Python's
/// `socket.create_connection`; `timeout` bounds each attempt and then every
/// read and write on the stream.
pub fn tcp_connect(addrs: &[SocketAddr], timeout: Duration) -> Result<TcpStream, NetError> {
    let mut last = None;
    for addr in addrs {
        let s = new_socket(Side::Client, addr, Type::STREAM, Protocol::TCP)?;
        calls::report(Side::Client, || format!("connect({addr})"));
        let r = if timeout.is_zero() {
            s.connect(&SockAddr::from(*addr))
        } else {
            s.connect_timeout(&SockAddr::from(*addr), timeout)
        };
        match r {
            Ok(()) => {
                let stream: TcpStream = s.into();
                set_timeouts_stream(&stream, timeout)?;
                return Ok(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut && e.raw_os_error().is_none() => {
                last = Some(
                    NetError::timeout(addr, "the connection to be accepted", timeout).with_hint(
                        "no answer to the SYN: the host is down, or a firewall drops the packets",
                    ),
                )
            }
            Err(e) => last = Some(NetError::os(Stage::Connect, addr, e)),
        }
    }
    Err(last
        .unwrap_or_else(|| NetError::msg(Stage::Connect, "(no address)", "nothing to connect to")))
}

/// A UDP socket connected to the first usable address (so that refusals
/// come back as ECONNREFUSED), with a receive timeout.
pub fn udp_connect(addrs: &[SocketAddr], timeout: Duration) -> Result<UdpSocket, NetError> {
    let mut last = None;
    for addr in addrs {
        let s = new_socket(Side::Client, addr, Type::DGRAM, Protocol::UDP)?;
        calls::report(Side::Client, || {
            format!("connect({addr})  (UDP: no packet)")
        });
        match s.connect(&SockAddr::from(*addr)) {
            Ok(()) => {
                let u: UdpSocket = s.into();
                let t = nonzero(timeout);
                u.set_read_timeout(t)
                    .and_then(|_| u.set_write_timeout(t))
                    .map_err(|e| NetError::os(Stage::SetOption, "SO_RCVTIMEO", e))?;
                return Ok(u);
            }
            Err(e) => last = Some(NetError::os(Stage::Connect, addr, e)),
        }
    }
    Err(last
        .unwrap_or_else(|| NetError::msg(Stage::Connect, "(no address)", "nothing to connect to")))
}

/// `None` for zero (no timeout), as std's setters want.
pub fn nonzero(d: Duration) -> Option<Duration> {
    if d.is_zero() {
        None
    } else {
        Some(d)
    }
}

/// Set read and write timeouts on a stream (zero = none).
pub fn set_timeouts_stream(s: &TcpStream, timeout: Duration) -> Result<(), NetError> {
    let t = nonzero(timeout);
    s.set_read_timeout(t)
        .and_then(|_| s.set_write_timeout(t))
        .map_err(|e| NetError::os(Stage::SetOption, "SO_RCVTIMEO/SO_SNDTIMEO", e))
}

/// True for the errors a receive timeout produces.
pub fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// A human description of a socket's type for server banners.
pub fn reuse_note(reuseaddr: bool) -> &'static str {
    if reuseaddr {
        "SO_REUSEADDR on"
    } else {
        "SO_REUSEADDR off"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> Endpoint {
        Endpoint {
            host: "127.0.0.1".into(),
            port: 10009,
        }
    }

    #[test]
    fn endpoints() {
        let p = |s| parse_endpoint(s, &d()).unwrap();
        assert_eq!(
            p("localhost:80"),
            Endpoint {
                host: "localhost".into(),
                port: 80
            }
        );
        assert_eq!(
            p("[::1]:10009"),
            Endpoint {
                host: "::1".into(),
                port: 10009
            }
        );
        assert_eq!(
            p("[::1]"),
            Endpoint {
                host: "::1".into(),
                port: 10009
            }
        );
        assert_eq!(
            p("::1"),
            Endpoint {
                host: "::1".into(),
                port: 10009
            }
        );
        assert_eq!(
            p("5000"),
            Endpoint {
                host: "127.0.0.1".into(),
                port: 5000
            }
        );
        assert_eq!(
            p(":5000"),
            Endpoint {
                host: "127.0.0.1".into(),
                port: 5000
            }
        );
        assert_eq!(
            p("example"),
            Endpoint {
                host: "example".into(),
                port: 10009
            }
        );
        assert_eq!(p("[::1]:1").to_string(), "[::1]:1");
    }

    #[test]
    fn bad_endpoints_say_why() {
        let e = |s| parse_endpoint(s, &d()).unwrap_err();
        assert!(e("host:99999").contains("port '99999'"));
        assert!(e("[::1").contains("closing ']'"));
        assert!(e("[::1]x").contains("':PORT'"));
        assert!(e("").contains("empty"));
    }

    #[test]
    fn ipv6_with_a_port_and_no_brackets_gets_the_bracketed_form() {
        let e = parse_endpoint("::1:21019", &d()).unwrap_err();
        assert!(
            e.contains("an IPv6 address with a port needs brackets: [::1]:21019"),
            "{e}"
        );
        // A valid address stays an address.
        assert_eq!(parse_endpoint("::1:8080", &d()).unwrap().host, "::1:8080");
    }

    #[test]
    fn a_url_is_refused_with_the_host_and_port_to_give() {
        let e = |s| parse_endpoint(s, &d()).unwrap_err();
        assert!(
            e("http://127.0.0.1:21080/").contains(
                "this is a URL; give HOST:PORT without 'http://' or a path, here 127.0.0.1:21080"
            ),
            "{}",
            e("http://127.0.0.1:21080/")
        );
        assert!(e("http://example.org/x").contains("here example.org:80"));
        assert!(e("tcp://[::1]/").contains("here [::1]:PORT"));
    }
}
