//! `socklab demo`: each end's lines carry its name and come in the order
//! things happened (issue 15 point 4). Run several times: the two ends are
//! threads, so a wrong order would show up as a flaky failure.

mod common;

use common::{socklab, stderr, stdout};

/// Index of the first line at or after `from` that starts with `prefix`
/// and contains `needle`.
fn find(lines: &[&str], from: usize, prefix: &str, needle: &str) -> usize {
    lines[from..]
        .iter()
        .position(|l| l.starts_with(prefix) && l.contains(needle))
        .map(|i| i + from)
        .unwrap_or_else(|| {
            panic!(
                "no {prefix:?} line with {needle:?} after line {from}:\n{}",
                lines.join("\n")
            )
        })
}

#[test]
fn demo_lines_name_their_end_and_follow_the_wire() {
    for _ in 0..5 {
        let o = socklab(&["demo"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        let lines: Vec<&str> = out.lines().collect();
        for l in &lines {
            assert!(
                l.is_empty()
                    || l.starts_with("client | ")
                    || l.starts_with("server | ")
                    || l.starts_with("== ")
                    || l.starts_with("   (watch")
                    || l.starts_with("Next:"),
                "a line that does not say which end wrote it: {l:?}\n{out}"
            );
        }
        let c = "client | ";
        let s = "server | ";
        // One UDP exchange per step: request out, server reads, replies, client reads.
        let mut at = 0;
        for step in ["== 1.", "== 2."] {
            at = find(&lines, at, "== ", step);
            at = find(&lines, at, c, "sending 12 bytes");
            at = find(&lines, at, s, "received 12 bytes");
            at = find(&lines, at, s, "sent 4 bytes");
            at = find(&lines, at, c, "reply from");
            at = find(&lines, at, c, "result:");
        }
        // TCP: connect, three numbers, the reply, the client's result.
        at = find(&lines, at, "== ", "== 3.");
        at = find(&lines, at, c, "connected to");
        at = find(&lines, at, c, "sent 2 bytes: \"1");
        at = find(&lines, at, s, "request from");
        at = find(&lines, at, s, "sent 4 bytes");
        at = find(&lines, at, c, "received 4 bytes");
        at = find(&lines, at, c, "result: -3");
        find(&lines, at, "Next:", "");
        assert!(lines
            .iter()
            .any(|l| l.starts_with(s) && l.contains("connection from")));
    }
}
