//! How far the tracer has caught up with its tracees: every ptrace stop
//! that happened before the watermark has been handled and its events
//! sent. The printer holds newer packets back (a packet may still be
//! waiting for the call that caused it, when a loaded machine runs the
//! tracer late), for at most [`MAX_LAG`].
//!
//! Shared between the tracer thread (writes) and the printer (reads):
//! one atomic, no locks, no allocation.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::capture::Timestamp;

/// Longest time a packet is held for a tracer that is behind.
pub const MAX_LAG: Duration = Duration::from_secs(2);

/// The tracer's progress (nanoseconds since the epoch; 0 = not yet known).
#[derive(Debug, Clone, Default)]
pub struct Watermark(Arc<AtomicI64>);

impl Watermark {
    /// Not known yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stop before `ts` has been handled (its events are sent).
    pub fn set(&self, ts: Timestamp) {
        let ns = i64::try_from(ts.as_nanos()).unwrap_or(i64::MAX);
        self.0.store(ns, Ordering::Release);
    }

    /// The last [`set`](Self::set) time, if any. Read it *before* draining
    /// the tracer's channel: the events it covers are then all received.
    pub fn get(&self) -> Option<Timestamp> {
        let ns = self.0.load(Ordering::Acquire);
        (ns > 0).then(|| {
            Timestamp::new(
                ns.div_euclid(1_000_000_000),
                ns.rem_euclid(1_000_000_000) as u32,
            )
        })
    }

    /// Where the printer may cut at `now`: `horizon` before it, no later
    /// than the tracer's progress, yet never more than [`MAX_LAG`] behind.
    pub fn cut(caught_up: Option<Timestamp>, now: Timestamp, horizon: Duration) -> Timestamp {
        let back = |d: Duration| {
            let ns = now.as_nanos() - d.as_nanos() as i128;
            Timestamp::new(
                ns.div_euclid(1_000_000_000) as i64,
                ns.rem_euclid(1_000_000_000) as u32,
            )
        };
        let cut = back(horizon);
        match caught_up {
            Some(w) => cut.min(w).max(back(MAX_LAG)),
            None => cut,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_waits_for_a_late_tracer_but_not_forever() {
        let now = Timestamp::new(100, 0);
        let h = Duration::from_millis(150);
        let w = Watermark::new();
        assert_eq!(w.get(), None);
        assert_eq!(
            Watermark::cut(w.get(), now, h),
            Timestamp::new(99, 850_000_000)
        );
        // Caught up: the horizon decides.
        w.set(Timestamp::new(99, 990_000_000));
        assert_eq!(w.get(), Some(Timestamp::new(99, 990_000_000)));
        assert_eq!(
            Watermark::cut(w.get(), now, h),
            Timestamp::new(99, 850_000_000)
        );
        // Half a second behind: hold everything after its progress.
        w.set(Timestamp::new(99, 500_000_000));
        assert_eq!(
            Watermark::cut(w.get(), now, h),
            Timestamp::new(99, 500_000_000)
        );
        // Far behind: no more than MAX_LAG.
        w.set(Timestamp::new(90, 0));
        assert_eq!(Watermark::cut(w.get(), now, h), Timestamp::new(98, 0));
    }
}
