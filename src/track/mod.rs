//! Conversation tracking: what the packets mean, over time.
//!
//! [`tcp::Tracker`] follows TCP connections through their handshake, data,
//! orderly close, resets and half-closes, and says so as [`tcp::Event`]s
//! attached to the packet that caused them; at the end it gives a summary
//! per connection. It sees decoded packets only (no I/O), so live capture
//! and replay tell the same story.

pub mod follow;
pub mod http;
pub mod tcp;

use std::fmt;
use std::net::IpAddr;

/// One end of a conversation: address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// IP address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
}

impl Endpoint {
    /// Source and destination of a TCP or UDP packet with an IP layer.
    pub fn pair(d: &crate::wire::packet::Decoded<'_>) -> Option<(Endpoint, Endpoint)> {
        let (sip, dip) = d.ips()?;
        let (sport, dport) = d.ports()?;
        Some((
            Endpoint {
                ip: sip,
                port: sport,
            },
            Endpoint {
                ip: dip,
                port: dport,
            },
        ))
    }
}

impl fmt::Display for Endpoint {
    /// tcpdump's notation: `127.0.0.1.40000`, `::1.40000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            // Narration names endpoints on most packets: build IPv4 ones by
            // hand (`core::fmt` on Ipv4Addr and u16 costs several times more).
            IpAddr::V4(a) => f.write_str(crate::wire::num::ipv4_port(&mut [0u8; 21], a, self.port)),
            IpAddr::V6(_) => write!(f, "{}.{}", self.ip, self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_notation() {
        for (ip, port) in [
            ("127.0.0.1", 10009u16),
            ("0.0.0.0", 0),
            ("255.255.255.255", 65535),
            ("::1", 80),
        ] {
            let e = Endpoint {
                ip: ip.parse().expect("ip"),
                port,
            };
            assert_eq!(e.to_string(), format!("{ip}.{port}"));
        }
    }
}
