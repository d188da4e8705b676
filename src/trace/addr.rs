//! Socket addresses as a traced program passes them: raw `sockaddr` bytes
//! copied out of its memory, decoded without trusting their length.
//!
//! Pure: no I/O; allocates only for Unix paths.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

/// A decoded `sockaddr`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Addr {
    /// IPv4 or IPv6 address and port.
    Inet(SocketAddr),
    /// A Unix socket path (`@name` for the abstract namespace, empty if unnamed).
    Unix(String),
    /// Another family, or too short for its family.
    Other(u16),
}

impl Addr {
    /// Decode `b` (the first bytes of a sockaddr, as long as the program said).
    pub fn from_bytes(b: &[u8]) -> Option<Addr> {
        let fam = u16::from_ne_bytes([*b.first()?, *b.get(1)?]);
        let port = || u16::from_be_bytes([b[2], b[3]]);
        Some(match i32::from(fam) {
            libc::AF_INET if b.len() >= 8 => Addr::Inet(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(b[4], b[5], b[6], b[7])),
                port(),
            )),
            libc::AF_INET6 if b.len() >= 24 => {
                let mut ip = [0u8; 16];
                ip.copy_from_slice(&b[8..24]);
                let flow = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                let scope = b
                    .get(24..28)
                    .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
                    .unwrap_or(0);
                Addr::Inet(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(ip),
                    port(),
                    flow,
                    scope,
                )))
            }
            libc::AF_UNIX => {
                let path = &b[2..];
                if path.first() == Some(&0) && path.len() > 1 {
                    Addr::Unix(format!("@{}", String::from_utf8_lossy(&path[1..])))
                } else {
                    let end = path.iter().position(|c| *c == 0).unwrap_or(path.len());
                    Addr::Unix(String::from_utf8_lossy(&path[..end]).into_owned())
                }
            }
            _ => Addr::Other(fam),
        })
    }

    /// The IP address and port, for IPv4 and IPv6.
    pub fn inet(&self) -> Option<SocketAddr> {
        match self {
            Addr::Inet(a) => Some(*a),
            _ => None,
        }
    }

    /// True for name-service endpoints: DNS (port 53, mDNS 5353) and the
    /// glibc name-service cache daemon's Unix socket.
    pub fn is_name_service(&self) -> bool {
        match self {
            Addr::Inet(a) => matches!(a.port(), 53 | 5353),
            Addr::Unix(p) => p.contains("nscd") || p.contains("systemd/resolve"),
            Addr::Other(_) => false,
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Inet(a) => write!(f, "{a}"),
            Addr::Unix(p) if p.is_empty() => write!(f, "unix:(unnamed)"),
            Addr::Unix(p) => write!(f, "unix:{p}"),
            Addr::Other(fam) => write!(f, "(family {fam})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(a: SocketAddr) -> Vec<u8> {
        let sa = socket2::SockAddr::from(a);
        // SAFETY: SockAddr holds `len` valid bytes.
        unsafe { std::slice::from_raw_parts(sa.as_ptr().cast::<u8>(), sa.len() as usize) }.to_vec()
    }

    #[test]
    fn inet_round_trip() {
        for s in ["127.0.0.1:10009", "[::1]:5000", "[fe80::1%3]:80"] {
            let a: SocketAddr = s.parse().unwrap();
            assert_eq!(Addr::from_bytes(&raw(a)), Some(Addr::Inet(a)));
        }
    }

    #[test]
    fn truncated_and_unix() {
        let v4 = raw("127.0.0.1:1".parse().unwrap());
        assert_eq!(Addr::from_bytes(&v4[..6]), Some(Addr::Other(2)));
        assert_eq!(Addr::from_bytes(&v4[..1]), None);
        let mut u = vec![1u8, 0];
        u.extend_from_slice(b"/var/run/nscd/socket\0junk");
        let a = Addr::from_bytes(&u).unwrap();
        assert_eq!(a.to_string(), "unix:/var/run/nscd/socket");
        assert!(a.is_name_service());
        let abs = [1u8, 0, 0, b'x'];
        assert_eq!(Addr::from_bytes(&abs).unwrap().to_string(), "unix:@x");
        assert!(Addr::Inet("1.1.1.1:53".parse().unwrap()).is_name_service());
    }
}
