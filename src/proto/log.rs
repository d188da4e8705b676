//! A server's event log: one readable line per event on stdout (listening,
//! connection from, received N bytes, sent N bytes, closed), and problems
//! with a hex dump of the offending bytes. Shared between threads.
//!
//! The log cannot fill a disk: hex dumps are capped at [`DUMP_LIMIT`] bytes,
//! and lines are rate-limited per one-second window, in lines and in bytes:
//! at most [`BAD_PER_PEER`] bad-input lines per peer and [`BAD_PER_SECOND`]
//! ([`BAD_BYTES`]) in all, [`EVENTS_PER_SECOND`] ([`EVENT_BYTES`]) routine
//! events, [`PROBLEMS_PER_SECOND`] ([`PROBLEM_BYTES`]) other problems, and
//! apart from those [`DATA_PER_PEER`] data lines per peer
//! ([`DATA_PER_SECOND`], [`DATA_BYTES`] in all). What is held back is
//! counted and summarised once the second is over (`... 12,345 more bad
//! datagrams from 127.0.0.1:40000 in the last second, not shown`): at most
//! [`SUMMARY_PEERS`] + 4 lines. With `-q` no bad input is shown one by one:
//! only those per-second summaries print. At most [`BYTES_PER_SECOND`]
//! (about 15 KiB, under 1 MB a minute) leave this module a second whatever
//! the input.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::render::hexdump::HexDump;
use crate::render::out;

/// Bytes of bad input shown in a hex dump before the rest is summarised.
pub const DUMP_LIMIT: usize = 64;
/// Bad-input lines shown per peer per second.
pub const BAD_PER_PEER: u64 = 3;
/// Bad-input lines shown per second, all peers together.
pub const BAD_PER_SECOND: u64 = 10;
/// Routine event lines shown per second.
pub const EVENTS_PER_SECOND: u64 = 100;
/// Data lines (a monitor record, what a client asked) shown per peer per
/// second: their own budget, so connection churn and bad input from
/// abusers cannot hide a valid client's data.
pub const DATA_PER_PEER: u64 = 20;
/// Data lines shown per second, all peers together.
pub const DATA_PER_SECOND: u64 = 200;
/// Problem lines (failed accept, refused client...) shown per second.
pub const PROBLEMS_PER_SECOND: u64 = 20;
/// Bytes of routine events shown per second (a udp-calc answer is three
/// lines, about 300 bytes).
pub const EVENT_BYTES: usize = 3 * 1024;
/// Bytes of data lines shown per second, all peers together.
pub const DATA_BYTES: usize = 5 * 1024;
/// Bytes of bad-input lines (with their hex dumps) shown per second.
pub const BAD_BYTES: usize = 3 * 1024;
/// Bytes of problem lines shown per second.
pub const PROBLEM_BYTES: usize = 1536;
/// Peers named one by one in a window's summary; the rest are summed.
pub const SUMMARY_PEERS: usize = 5;
/// Longest summary line: the first bad input quoted is cut to 120
/// characters, a peer's address to 47.
const SUMMARY_LINE_BYTES: usize = 320;
/// The most a second of log can hold: every budget and the summary.
pub const BYTES_PER_SECOND: usize =
    EVENT_BYTES + DATA_BYTES + BAD_BYTES + PROBLEM_BYTES + (SUMMARY_PEERS + 4) * SUMMARY_LINE_BYTES;
// What one second can print, summaries included, is under 1 MB a minute
// (issue 13): a budget raised past it does not compile.
const _: () = assert!(BYTES_PER_SECOND * 60 <= 1_000_000);
/// Peers counted one by one in a window; more are counted together.
const TRACKED_PEERS: usize = 1024;
const WINDOW: Duration = Duration::from_secs(1);

/// Where a server writes what happens.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    quiet: bool,
    noun: &'static str,
}

/// Held-back counts for one peer in the current window.
#[derive(Debug, Default)]
struct PeerCount {
    shown: u64,
    hidden: u64,
    noun: &'static str,
    first: String,
}

/// Lines shown and held back in one category this second, and the bytes
/// shown.
#[derive(Debug, Default, Clone, Copy)]
struct Budget {
    shown: u64,
    hidden: u64,
    bytes: usize,
}

impl Budget {
    /// Show a line of `len` bytes if at most `lines` and `bytes` are spent.
    fn spend(&mut self, len: usize, lines: u64, bytes: usize) -> Verdict {
        if self.shown < lines && self.bytes + len <= bytes {
            self.shown += 1;
            self.bytes += len;
            Verdict::Show
        } else {
            self.hidden += 1;
            Verdict::Hide
        }
    }
}

/// The rate limiter: what was shown and held back in the current second.
#[derive(Debug)]
pub struct Limiter {
    start: Instant,
    events: Budget,
    problems: Budget,
    /// Data lines in all, and shown per peer.
    data: Budget,
    data_peers: HashMap<SocketAddr, u64>,
    /// Bad-input lines shown in all (the hidden ones are counted per peer).
    bad: Budget,
    peers: HashMap<SocketAddr, PeerCount>,
    /// Bad inputs from peers past [`TRACKED_PEERS`]: (count, noun).
    untracked: (u64, &'static str),
}

/// What the limiter decided for one line.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Print it.
    Show,
    /// Count it, print nothing now.
    Hide,
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Limiter {
    /// An empty window starting at `now`.
    pub fn new(now: Instant) -> Self {
        Limiter {
            start: now,
            events: Budget::default(),
            problems: Budget::default(),
            data: Budget::default(),
            data_peers: HashMap::new(),
            bad: Budget::default(),
            peers: HashMap::new(),
            untracked: (0, "inputs"),
        }
    }

    /// If the window is over, its summary lines (and a fresh window).
    pub fn roll(&mut self, now: Instant, quiet: bool) -> Vec<String> {
        if now.duration_since(self.start) < WINDOW {
            return Vec::new();
        }
        let lines = self.summary(quiet);
        *self = Limiter::new(now);
        lines
    }

    /// The summary of what was held back so far (does not reset).
    pub fn summary(&self, quiet: bool) -> Vec<String> {
        let mut out = Vec::new();
        let mut held: Vec<(&SocketAddr, &PeerCount)> =
            self.peers.iter().filter(|(_, c)| c.hidden > 0).collect();
        held.sort_by(|a, b| b.1.hidden.cmp(&a.1.hidden).then(a.0.cmp(b.0)));
        for (peer, c) in held.iter().take(SUMMARY_PEERS) {
            out.push(if quiet {
                format!(
                    "{} bad {} from {peer} in the last second (-q: not shown one by one); the first: {}",
                    thousands(c.hidden),
                    c.noun,
                    c.first
                )
            } else {
                format!(
                    "... {} more bad {} from {peer} in the last second, not shown",
                    thousands(c.hidden),
                    c.noun
                )
            });
        }
        let rest: u64 = held.iter().skip(SUMMARY_PEERS).map(|(_, c)| c.hidden).sum();
        let rest_peers = held.len().saturating_sub(SUMMARY_PEERS);
        if rest > 0 || self.untracked.0 > 0 {
            let noun = held.last().map_or(self.untracked.1, |(_, c)| c.noun);
            out.push(format!(
                "... {} {}bad {noun} from {}{} other peers in the last second, not shown",
                thousands(rest + self.untracked.0),
                if quiet { "" } else { "more " },
                thousands(rest_peers as u64),
                if self.untracked.0 > 0 { "+" } else { "" }
            ));
        }
        if self.problems.hidden > 0 {
            out.push(format!(
                "... {} more problems in the last second, not shown (more than {PROBLEMS_PER_SECOND} lines or {PROBLEM_BYTES} bytes a second)",
                thousands(self.problems.hidden)
            ));
        }
        if self.data.hidden > 0 {
            out.push(format!(
                "... {} more data lines in the last second, not shown (more than {DATA_PER_PEER} a second from one peer, or {DATA_PER_SECOND} lines or {DATA_BYTES} bytes in all)",
                thousands(self.data.hidden)
            ));
        }
        if self.events.hidden > 0 {
            out.push(format!(
                "... {} more events in the last second, not shown (more than {EVENTS_PER_SECOND} lines or {EVENT_BYTES} bytes a second)",
                thousands(self.events.hidden)
            ));
        }
        out
    }

    /// A routine event of `len` bytes.
    pub fn event(&mut self, len: usize) -> Verdict {
        self.events.spend(len, EVENTS_PER_SECOND, EVENT_BYTES)
    }

    /// A data line of `len` bytes from `peer`.
    pub fn data(&mut self, peer: SocketAddr, len: usize) -> Verdict {
        let tracked = self.data_peers.len() < TRACKED_PEERS || self.data_peers.contains_key(&peer);
        let mine = if tracked {
            *self.data_peers.entry(peer).or_insert(0)
        } else {
            DATA_PER_PEER
        };
        if mine >= DATA_PER_PEER {
            self.data.hidden += 1;
            return Verdict::Hide;
        }
        let v = self.data.spend(len, DATA_PER_SECOND, DATA_BYTES);
        if v == Verdict::Show {
            if let Some(n) = self.data_peers.get_mut(&peer) {
                *n += 1;
            }
        }
        v
    }

    /// A problem line of `len` bytes that is not a peer's bytes.
    pub fn problem(&mut self, len: usize) -> Verdict {
        self.problems.spend(len, PROBLEMS_PER_SECOND, PROBLEM_BYTES)
    }

    /// Bad input from `peer` (`what` is kept as the first of the window),
    /// `len` bytes when shown.
    pub fn bad(
        &mut self,
        peer: SocketAddr,
        noun: &'static str,
        what: &str,
        len: usize,
        quiet: bool,
    ) -> Verdict {
        if !self.peers.contains_key(&peer) && self.peers.len() >= TRACKED_PEERS {
            self.untracked = (self.untracked.0 + 1, noun);
            return Verdict::Hide;
        }
        let c = self.peers.entry(peer).or_insert_with(|| PeerCount {
            noun,
            first: what.chars().take(120).collect(),
            ..PeerCount::default()
        });
        if !quiet
            && c.shown < BAD_PER_PEER
            && self.bad.spend(len, BAD_PER_SECOND, BAD_BYTES) == Verdict::Show
        {
            c.shown += 1;
            Verdict::Show
        } else {
            c.hidden += 1;
            Verdict::Hide
        }
    }
}

static LIMITER: Mutex<Option<Limiter>> = Mutex::new(None);

impl Log {
    /// `quiet` hides routine events; problems and summaries still print.
    pub fn new(quiet: bool) -> Self {
        Log {
            quiet,
            noun: "inputs",
        }
    }

    /// The same log, calling bad inputs `noun` in summaries ("datagrams").
    pub fn counting(self, noun: &'static str) -> Self {
        Log { noun, ..self }
    }

    /// True when routine events are hidden.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Run `f` on the limiter after rolling the window; print what is due.
    fn limited(&self, f: impl FnOnce(&mut Limiter) -> Verdict) -> Verdict {
        let now = Instant::now();
        let (due, verdict) = {
            let mut g = LIMITER.lock().unwrap_or_else(|e| e.into_inner());
            let l = g.get_or_insert_with(|| Limiter::new(now));
            let due = l.roll(now, self.quiet);
            (due, f(l))
        };
        for d in due {
            out::line(&d);
        }
        verdict
    }

    /// Print the summary of a finished second, if one is due. Server loops
    /// call this every tick so summaries come even when the abuse stops.
    pub fn tick(&self) {
        self.limited(|_| Verdict::Hide);
    }

    /// A routine event line.
    pub fn event(&self, text: &str) {
        if !self.quiet && self.limited(|l| l.event(text.len() + 1)) == Verdict::Show {
            out::line(text);
        }
    }

    /// A data line from `peer` (a record, a request): hidden by `-q`,
    /// limited apart from routine events (see [`DATA_PER_PEER`]).
    pub fn data(&self, peer: SocketAddr, text: &str) {
        if !self.quiet && self.limited(|l| l.data(peer, text.len() + 1)) == Verdict::Show {
            out::line(text);
        }
    }

    /// A line that always prints (banner, summary); what was held back so
    /// far is summarised first.
    pub fn always(&self, text: &str) {
        let due = {
            let mut g = LIMITER.lock().unwrap_or_else(|e| e.into_inner());
            match g.take() {
                Some(l) => l.summary(self.quiet),
                None => Vec::new(),
            }
        };
        for d in due {
            out::line(&d);
        }
        out::line(text);
    }

    /// Bad input from `peer`: what was wrong, then the bytes (capped).
    pub fn bad_input(&self, peer: SocketAddr, what: &str, bytes: &[u8]) {
        let (noun, quiet) = (self.noun, self.quiet);
        // The text is only built when it is shown; its length is known
        // before: the dump's lines are all as long (but the last).
        let shown = &bytes[..bytes.len().min(DUMP_LIMIT)];
        let len = bad_input_len(peer, what, shown.len(), bytes.len());
        if self.limited(|l| l.bad(peer, noun, what, len, quiet)) == Verdict::Hide {
            return;
        }
        let mut text = format!("bad input from {peer}: {what}");
        if !bytes.is_empty() {
            text.push('\n');
            text.push_str(HexDump::new().indent(4).to_text(shown).trim_end());
            if bytes.len() > shown.len() {
                text.push_str(&format!(
                    "\n    ... {} more bytes not shown",
                    bytes.len() - shown.len()
                ));
            }
        }
        out::line(&text);
    }

    /// A problem that is not the peer's bytes (a failed send, a timeout).
    pub fn problem(&self, text: &str) {
        if self.limited(|l| l.problem(text.len() + 1)) == Verdict::Show {
            out::line(text);
        }
    }
}

/// The most bytes [`Log::bad_input`] prints for `what` and a dump of
/// `shown` of `total` bytes: a 4-space indented hex dump line is at most
/// 80 bytes, the "more bytes" line at most 50.
/// Called for every bad input, shown or not: it counts the address's
/// length without building it.
fn bad_input_len(peer: SocketAddr, what: &str, shown: usize, total: usize) -> usize {
    struct Len(usize);
    impl std::fmt::Write for Len {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut addr = Len(0);
    let _ = std::fmt::write(&mut addr, format_args!("{peer}"));
    let head = "bad input from : \n".len() + addr.0 + what.len();
    let dump = shown.div_ceil(16) * 80;
    let more = if total > shown { 50 } else { 0 };
    head + dump + more
}

/// Printable form of a short protocol text: `"-3\x00\x00"` (Python's repr).
pub fn quoted(bytes: &[u8]) -> String {
    crate::wire::escape::quoted(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn quoting() {
        assert_eq!(quoted(b"-3\0\0"), "\"-3\\x00\\x00\"");
        assert_eq!(quoted(&[0xff, b'a']), "\"\\xffa\"");
    }

    #[test]
    fn bad_input_is_limited_per_peer_then_summarised_with_thousands() {
        let t0 = Instant::now();
        let mut l = Limiter::new(t0);
        let shown = (0..12_348)
            .filter(|_| l.bad(peer(40000), "datagrams", "too short", 10, false) == Verdict::Show)
            .count();
        assert_eq!(shown as u64, BAD_PER_PEER);
        assert!(l.roll(t0 + Duration::from_millis(999), false).is_empty());
        let lines = l.roll(t0 + WINDOW, false);
        assert_eq!(
            lines,
            ["... 12,345 more bad datagrams from 127.0.0.1:40000 in the last second, not shown"]
        );
        // A fresh window shows again.
        assert_eq!(
            l.bad(peer(40000), "datagrams", "x", 10, false),
            Verdict::Show
        );
    }

    #[test]
    fn many_peers_share_the_overall_budget_and_the_summary_is_bounded() {
        let t0 = Instant::now();
        let mut l = Limiter::new(t0);
        let mut shown = 0;
        for p in 0..5000u16 {
            for _ in 0..4 {
                shown +=
                    u64::from(l.bad(peer(1000 + p), "records", "bad", 10, false) == Verdict::Show);
            }
        }
        assert_eq!(shown, BAD_PER_SECOND);
        let lines = l.roll(t0 + WINDOW, false);
        assert_eq!(lines.len(), SUMMARY_PEERS + 1, "{lines:#?}");
        let total = 5000 * 4 - BAD_PER_SECOND;
        let named: u64 = 5 * 4;
        assert_eq!(
            lines[SUMMARY_PEERS],
            format!(
                "... {} more bad records from {} other peers in the last second, not shown",
                thousands(total - named),
                thousands(TRACKED_PEERS as u64 - 5)
            )
            .replace(" other", "+ other")
        );
    }

    #[test]
    fn quiet_shows_no_bad_input_only_the_summary() {
        let t0 = Instant::now();
        let mut l = Limiter::new(t0);
        for _ in 0..7 {
            assert_eq!(
                l.bad(peer(5), "lines", "not UTF-8", 10, true),
                Verdict::Hide
            );
        }
        assert_eq!(
            l.roll(t0 + WINDOW, true),
            ["7 bad lines from 127.0.0.1:5 in the last second (-q: not shown one by one); the first: not UTF-8"]
        );
    }

    #[test]
    fn data_lines_have_their_own_budget_shared_fairly_between_peers() {
        let t0 = Instant::now();
        let mut l = Limiter::new(t0);
        // Connection churn and a record-flooding peer use up their budgets...
        while l.event(10) == Verdict::Show {}
        let flood = (0..10_000)
            .filter(|_| l.data(peer(1), 10) == Verdict::Show)
            .count();
        assert_eq!(flood as u64, DATA_PER_PEER);
        for _ in 0..100 {
            l.bad(peer(2), "records", "bad", 10, false);
        }
        // ...and a quiet client's data lines still show.
        for _ in 0..DATA_PER_PEER {
            assert_eq!(l.data(peer(3), 10), Verdict::Show);
        }
        assert_eq!(l.data(peer(3), 10), Verdict::Hide);
        let lines = l.roll(t0 + WINDOW, false);
        assert!(
            lines
                .iter()
                .any(|s| s.starts_with("... 9,981 more data lines in the last second")),
            "{lines:?}"
        );
    }

    #[test]
    fn data_lines_are_capped_overall_across_many_peers() {
        let t0 = Instant::now();
        let mut l = Limiter::new(t0);
        let shown = (0..5000u16)
            .filter(|p| l.data(peer(1000 + p), 10) == Verdict::Show)
            .count();
        assert_eq!(shown as u64, DATA_PER_SECOND);
    }

    #[test]
    fn events_and_problems_are_capped_per_second() {
        let t0 = Instant::now();
        let mut l = Limiter::new(t0);
        let ev = (0..1000).filter(|_| l.event(10) == Verdict::Show).count();
        let pr = (0..50).filter(|_| l.problem(10) == Verdict::Show).count();
        assert_eq!(
            (ev as u64, pr as u64),
            (EVENTS_PER_SECOND, PROBLEMS_PER_SECOND)
        );
        let lines = l.roll(t0 + WINDOW, false);
        assert!(
            lines.iter().any(|s| s.starts_with("... 900 more events")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|s| s.starts_with("... 30 more problems")),
            "{lines:?}"
        );
    }

    #[test]
    fn each_kind_of_line_is_capped_in_bytes_too() {
        let t0 = Instant::now();
        let mut l = Limiter::new(t0);
        // Long lines run out of bytes long before they run out of lines.
        let ev = (0..1000).filter(|_| l.event(300) == Verdict::Show).count();
        assert_eq!(ev, EVENT_BYTES / 300);
        let data = (0..5000u16)
            .filter(|p| l.data(peer(1000 + p), 200) == Verdict::Show)
            .count();
        assert_eq!(data, DATA_BYTES / 200);
        let pr = (0..1000)
            .filter(|_| l.problem(150) == Verdict::Show)
            .count();
        assert_eq!(pr, PROBLEM_BYTES / 150);
        let bad = (0..1000u16)
            .filter(|p| l.bad(peer(p + 1), "datagrams", "x", 400, false) == Verdict::Show)
            .count();
        assert_eq!(bad, BAD_BYTES / 400);
        let lines = l.roll(t0 + WINDOW, false);
        assert!(
            lines.iter().any(|s| s.starts_with("... 990 more events")),
            "{lines:?}"
        );
        assert!(
            lines.iter().all(|s| s.len() < SUMMARY_LINE_BYTES),
            "{lines:?}"
        );
    }

    #[test]
    fn the_length_of_a_bad_input_line_is_known_before_it_is_built() {
        let p = peer(40000);
        for (what, n) in [
            ("datagram of 5 bytes, not 12", 5),
            ("too long", 70_000),
            ("", 0),
        ] {
            let bytes = vec![0xabu8; n];
            let shown = &bytes[..n.min(DUMP_LIMIT)];
            let mut text = format!("bad input from {p}: {what}");
            if n > 0 {
                text.push('\n');
                text.push_str(HexDump::new().indent(4).to_text(shown).trim_end());
            }
            if n > shown.len() {
                text.push_str(&format!(
                    "\n    ... {} more bytes not shown",
                    n - shown.len()
                ));
            }
            let est = bad_input_len(p, what, shown.len(), n);
            // out::line adds the newline.
            assert!(text.len() < est, "{} + 1 > {est}: {text}", text.len());
        }
    }
}
