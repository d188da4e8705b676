//! Who holds a port on this machine, from /proc/net/{tcp,tcp6,udp,udp6}
//! (what `ss -ltu` reads): to tell "nothing is listening" apart from "a
//! server of the other protocol is listening" when a connection is refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A transport protocol that can hold a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A TCP socket in LISTEN.
    Tcp,
    /// A bound UDP socket.
    Udp,
}

/// TCP state LISTEN in /proc/net/tcp.
const LISTEN: u8 = 0x0A;

/// Parse `0100007F:9C40` (IPv4) or the 32-hex-digit IPv6 form: each 32-bit
/// word is printed as a host-order number; the port is plain hex.
fn endpoint(s: &str) -> Option<SocketAddr> {
    let (a, p) = s.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(a.get(i * 8..i * 8 + 8)?, 16)
                .ok()?
                .to_ne_bytes(),
        )
    };
    let ip = match a.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// True if a row of `table` (a /proc/net file) holds `target`: same port,
/// and the same address or a wildcard one; for TCP only listeners count.
pub fn table_holds(table: &str, target: SocketAddr, transport: Transport) -> bool {
    table.lines().skip(1).any(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(st)) = (f.get(1).and_then(|s| endpoint(s)), f.get(3)) else {
            return false;
        };
        let state = u8::from_str_radix(st, 16).unwrap_or(0);
        let same_ip = local.ip() == target.ip() || local.ip().is_unspecified();
        local.port() == target.port() && same_ip && (transport == Transport::Udp || state == LISTEN)
    })
}

/// True if this machine has a `transport` socket on `target` (IPv4 and IPv6
/// tables both read: a `::` socket also receives IPv4).
pub fn held(target: SocketAddr, transport: Transport) -> bool {
    let files: &[&str] = match transport {
        Transport::Tcp => &["/proc/net/tcp", "/proc/net/tcp6"],
        Transport::Udp => &["/proc/net/udp", "/proc/net/udp6"],
    };
    files.iter().any(|f| {
        std::fs::read_to_string(f)
            .map(|t| {
                table_holds(&t, target, transport)
                    || (target.is_ipv4()
                        && table_holds(
                            &t,
                            SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), target.port()),
                            transport,
                        ))
            })
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:5214 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:9C40 0100007F:2719 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n";
    const UDP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n  1: 00000000000000000000000001000000:2719 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 0\n";

    #[test]
    fn listeners_count_and_connections_do_not() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(table_holds(TCP, a("127.0.0.1:21012"), Transport::Tcp));
        // 40000 is a TIME_WAIT connection, not a listener.
        assert!(!table_holds(TCP, a("127.0.0.1:40000"), Transport::Tcp));
        assert!(!table_holds(TCP, a("127.0.0.2:21012"), Transport::Tcp));
        assert!(table_holds(UDP6, a("[::1]:10009"), Transport::Udp));
        assert!(!table_holds(UDP6, a("[::1]:10010"), Transport::Udp));
    }
}
