//! One-command lessons: scenarios that run both ends on loopback, capture,
//! narrate and draw the exchange, with a no-root mode in a private namespace.

pub mod netns;
