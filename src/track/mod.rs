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
        write!(f, "{}.{}", self.ip, self.port)
    }
}
