//! The lessons. Each runs both ends in this process on loopback, with
//! threads where the course would use two programs.

mod bytes;
mod close;
mod connect;

use super::scenario::Scenario;

/// Every scenario, in teaching order.
pub const ALL: &[Scenario] = &[
    connect::HANDSHAKE,
    close::CLOSE,
    connect::REFUSED,
    close::ABORT,
    close::HALF_CLOSE,
    close::REUSEADDR,
    connect::TIMEOUT,
    bytes::UDP_CALC,
    bytes::SPLIT,
];

/// The scenario called `name`.
pub fn find(name: &str) -> Option<&'static Scenario> {
    ALL.iter().find(|s| s.name == name)
}
