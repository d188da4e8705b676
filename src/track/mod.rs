//! Conversation tracking: what the packets mean, over time.
//!
//! [`tcp::Tracker`] follows TCP connections through their handshake, data,
//! orderly close, resets and half-closes, and says so as [`tcp::Event`]s
//! attached to the packet that caused them; at the end it gives a summary
//! per connection. It sees decoded packets only (no I/O), so live capture
//! and replay tell the same story.

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

impl fmt::Display for Endpoint {
    /// tcpdump's notation: `127.0.0.1.40000`, `::1.40000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            // Narration names endpoints on most packets: build IPv4 ones by
            // hand (`core::fmt` on Ipv4Addr and u16 costs several times more).
            IpAddr::V4(a) => {
                let mut buf = [0u8; 21];
                let mut n = 0;
                for (k, o) in a.octets().into_iter().enumerate() {
                    if k > 0 {
                        buf[n] = b'.';
                        n += 1;
                    }
                    n += put_decimal(&mut buf[n..], u32::from(o));
                }
                buf[n] = b'.';
                n += 1;
                n += put_decimal(&mut buf[n..], u32::from(self.port));
                f.write_str(std::str::from_utf8(&buf[..n]).unwrap_or_default())
            }
            IpAddr::V6(_) => write!(f, "{}.{}", self.ip, self.port),
        }
    }
}

/// Write `v` in decimal at the start of `out` (room for 5 digits); returns the length.
fn put_decimal(out: &mut [u8], v: u32) -> usize {
    let mut tmp = [0u8; 10];
    let mut i = tmp.len();
    let mut v = v;
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let len = tmp.len() - i;
    out[..len].copy_from_slice(&tmp[i..]);
    len
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
