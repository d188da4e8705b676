//! The calls that can cause packets, kept a while for linking, indexed so
//! that a packet is compared only with the calls of its ports that ran
//! within [`SLACK_NS`] of it (not with every call of the last second: a
//! busy connection makes thousands).
//!
//! Per port, calls sit in maps ordered by start, one per duration class
//! ([`TIERS`]: under 100 µs, under 10 ms), so that a call starting at `s`
//! in a class of longest duration `D` is at least `t - s - D` away from a
//! packet at `t`. Each map is read outward from `t` (later starts
//! ascending, earlier ones descending) and a direction stops as soon as
//! that bound passes the best distance found so far: a packet inside a
//! short call is settled after a handful of calls, not every call of the
//! last 12 ms (about 500 on a busy connection). The few longer calls (a
//! blocking connect, a send waiting for room) are kept in a list of their
//! own and always looked at. Which call a packet is tied to is decided as
//! before: among the calls that [`caused`] it, the nearest in time, then
//! the lowest id.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::addr::Addr;
use super::event::CallEvent;
use super::link::{self, Facts, SLACK_NS};

/// Calls shorter than this go in the ordered maps; longer ones in the list.
const LONG_NS: i128 = 10_000_000;
/// The duration classes of the ordered maps: calls shorter than each.
const TIERS: [i128; 2] = [100_000, LONG_NS];

#[derive(Debug, Default)]
struct PortCalls {
    /// Calls by (start, id), one map per class of [`TIERS`].
    tiers: [BTreeMap<(i128, u64), Arc<CallEvent>>; 2],
    /// Calls that took `LONG_NS` or more.
    long: Vec<Arc<CallEvent>>,
}

/// The linkable calls, by port.
#[derive(Debug, Default)]
pub struct Linkable {
    by_port: HashMap<u16, PortCalls>,
    /// Calls that ended before this are forgotten (some may still be
    /// stored until their entry is dropped; they are not linked).
    kept_from: i128,
    /// Calls compared with a packet so far (for the bound tests).
    pub checks: u64,
}

impl Linkable {
    /// Keep call `c` (one that [`link::may_cause`] packets) under its
    /// socket's local port and its target's port.
    pub fn insert(&mut self, c: &CallEvent) {
        let ports = [
            c.socket
                .as_ref()
                .and_then(|s| s.local.as_ref())
                .and_then(Addr::inet),
            c.target.as_ref().and_then(Addr::inet),
        ];
        let mut shared: Option<Arc<CallEvent>> = None;
        let (start, end) = (c.start.as_nanos(), c.end.as_nanos());
        let mut done: Option<u16> = None;
        for a in ports.into_iter().flatten() {
            let port = a.port();
            if port == 0 || done == Some(port) {
                continue;
            }
            done = Some(port);
            let call = shared.get_or_insert_with(|| Arc::new(c.clone())).clone();
            let at = self.by_port.entry(port).or_default();
            match TIERS.iter().position(|d| end - start < *d) {
                Some(k) => {
                    at.tiers[k].insert((start, c.id), call);
                }
                None => at.long.push(call),
            }
        }
    }

    /// Forget the calls that ended before `oldest` (ns).
    pub fn prune(&mut self, oldest: i128) {
        if oldest <= self.kept_from {
            return;
        }
        self.kept_from = oldest;
        self.by_port.retain(|_, at| {
            // A short call that started LONG_NS before `oldest` ended before it.
            for (map, d) in at.tiers.iter_mut().zip(TIERS) {
                *map = map.split_off(&(oldest - d, 0));
            }
            at.long.retain(|c| c.end.as_nanos() >= oldest);
            at.tiers.iter().any(|m| !m.is_empty()) || !at.long.is_empty()
        });
    }

    /// The call that caused the packet with facts `f`, if one is kept.
    pub fn find(&mut self, f: &Facts) -> Option<Arc<CallEvent>> {
        let t = f.ts.as_nanos();
        let kept_from = self.kept_from;
        let mut best: Option<(i128, u64, Arc<CallEvent>)> = None;
        let mut checks = 0;
        let mut consider =
            |c: &Arc<CallEvent>, bound: i128, best: &mut Option<(i128, u64, Arc<CallEvent>)>| {
                // `bound` is a lower bound of the distance of this call and of
                // every later one in its direction: past the best so far (or
                // past SLACK_NS, never linked), the direction is done.
                if bound > best.as_ref().map_or(SLACK_NS, |b| b.0) {
                    return false;
                }
                checks += 1;
                if c.end.as_nanos() >= kept_from && link::caused(c, f) {
                    let key = (link::distance(c, f), c.id);
                    if best.as_ref().is_none_or(|b| key < (b.0, b.1)) {
                        *best = Some((key.0, key.1, Arc::clone(c)));
                    }
                }
                true
            };
        let ports = [f.src.port(), f.dst.port()];
        for (i, port) in ports.iter().enumerate() {
            if i == 1 && ports[0] == ports[1] {
                break;
            }
            let Some(at) = self.by_port.get(port) else {
                continue;
            };
            for c in &at.long {
                consider(c, 0, &mut best);
            }
            for (map, d) in at.tiers.iter().zip(TIERS) {
                // Starting at or after t: `s - t` away, growing.
                for ((s, _), c) in map.range((t, 0)..) {
                    if !consider(c, s - t, &mut best) {
                        break;
                    }
                }
                // Starting before t: at least `t - s - d` away, growing.
                for ((s, _), c) in map.range(..(t, 0)).rev() {
                    if !consider(c, t - s - d, &mut best) {
                        break;
                    }
                }
            }
        }
        self.checks += checks;
        best.map(|(_, _, c)| c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;
    use crate::trace::sockets::SocketInfo;
    use crate::wire::packet::tcp_flags;

    const C: &str = "127.0.0.1:41234";
    const S: &str = "127.0.0.1:10009";

    fn sock() -> SocketInfo {
        SocketInfo {
            serial: 1,
            family: libc::AF_INET,
            kind: libc::SOCK_STREAM,
            local: Some(Addr::Inet(C.parse().unwrap())),
            peer: Some(Addr::Inet(S.parse().unwrap())),
            nonblocking: false,
            name_service: false,
        }
    }

    fn at(ns: i128) -> Timestamp {
        Timestamp::new((ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as u32)
    }

    fn send(id: u64, start: i128, end: i128) -> CallEvent {
        CallEvent {
            fd: Some(3),
            socket: Some(sock()),
            ..CallEvent::new(id, (1, 1), "send", (at(start), at(end)), 16)
        }
    }

    fn data(ns: i128) -> Facts {
        Facts {
            ts: at(ns),
            tcp: true,
            src: C.parse().unwrap(),
            dst: S.parse().unwrap(),
            flags: tcp_flags::ACK | tcp_flags::PSH,
            len: 16,
        }
    }

    /// The reference: every kept call compared, as before the index.
    fn brute(calls: &[CallEvent], f: &Facts) -> Option<u64> {
        calls
            .iter()
            .filter(|c| link::caused(c, f))
            .min_by_key(|c| (link::distance(c, f), c.id))
            .map(|c| c.id)
    }

    const BASE: i128 = 100_000_000_000;

    /// 5,000 sends on one connection, 200 µs apart and 50 µs long, plus
    /// long ones (12 ms) now and then: each packet gets the same call as
    /// comparing with every call, including packets within SLACK_NS of
    /// several calls, in gaps, and inside a long call; and only the
    /// calls near the packet are compared.
    #[test]
    fn picks_the_same_call_as_comparing_every_call_yet_looks_at_few() {
        let mut calls = Vec::new();
        let mut idx = Linkable::default();
        for i in 0..5000u64 {
            let start = BASE + i as i128 * 200_000;
            let long = i % 1000 == 500;
            let end = start + if long { 12_000_000 } else { 50_000 };
            let c = send(i + 1, start, end);
            idx.insert(&c);
            calls.push(c);
        }
        let mut probes = 0u64;
        for k in 0..4000i128 {
            // Everywhere, at 250 µs + 7 µs steps: inside, just outside,
            // between calls, before the first and after the last.
            let t = BASE - 3_000_000 + k * 257_000;
            let f = data(t);
            let want = brute(&calls, &f);
            let got = idx.find(&f).map(|c| c.id);
            assert_eq!(got, want, "packet at {t}");
            probes += 1;
        }
        // Not the 5,000 calls per packet of a linear scan, nor the ~70 of
        // every call that started in the last LONG_NS + SLACK_NS.
        assert!(
            idx.checks <= probes * 12, // 6.6 a packet when measured
            "{} calls compared for {probes} packets",
            idx.checks
        );
        // Ties on distance (two calls both containing the packet): the lower id.
        let mut idx = Linkable::default();
        let a = send(7, BASE, BASE + 1_000_000);
        let b = send(3, BASE + 100_000, BASE + 900_000);
        idx.insert(&a);
        idx.insert(&b);
        assert_eq!(idx.find(&data(BASE + 500_000)).map(|c| c.id), Some(3));
        // Nearest wins over the lower id: 1 ms after one, 0.5 ms before the other.
        let mut idx = Linkable::default();
        let early = send(1, BASE, BASE + 10_000);
        let late = send(2, BASE + 1_510_000, BASE + 1_600_000);
        idx.insert(&early);
        idx.insert(&late);
        let f = data(BASE + 1_010_000);
        assert_eq!(brute(&[early, late], &f), Some(2));
        assert_eq!(idx.find(&f).map(|c| c.id), Some(2));
    }

    /// Calls of every duration class (under 100 µs, under 10 ms, longer),
    /// overlapping at random, and packets at random times: the same
    /// answer as comparing every call.
    #[test]
    fn any_mix_of_durations_gets_the_brute_force_answer() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut calls = Vec::new();
        let mut idx = Linkable::default();
        for i in 0..3000u64 {
            let start = BASE + next(600_000_000) as i128;
            let dur = match next(10) {
                0..=5 => next(100_000),
                6..=8 => 100_000 + next(9_900_000),
                _ => 10_000_000 + next(20_000_000),
            } as i128;
            let c = send(i + 1, start, start + dur);
            idx.insert(&c);
            calls.push(c);
        }
        for _ in 0..3000 {
            let t = BASE - 5_000_000 + next(640_000_000) as i128;
            let f = data(t);
            assert_eq!(
                idx.find(&f).map(|c| c.id),
                brute(&calls, &f),
                "packet at {t}"
            );
        }
    }

    #[test]
    fn pruned_calls_are_not_linked_and_their_ports_go() {
        let mut idx = Linkable::default();
        idx.insert(&send(1, BASE, BASE + 50_000));
        idx.insert(&send(2, BASE, BASE + 20_000_000));
        assert!(idx.find(&data(BASE + 10_000)).is_some());
        idx.prune(BASE + 30_000_000);
        assert!(idx.find(&data(BASE + 10_000)).is_none());
        assert!(idx.by_port.is_empty());
    }
}
