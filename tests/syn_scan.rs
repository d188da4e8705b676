//! A port scan through the tracker with its bound lowered
//! (`--max-connections`): 20,000 unanswered SYNs between two complete
//! conversations. Eviction must keep every summary right: the evicted
//! connections' lines are exactly what an unbounded run prints, and no
//! connection is lost or counted twice. (Speed and memory at 1,000,000
//! SYNs are measured by bench/syn_scan.py, not here.)

use std::path::Path;

#[path = "common/capfiles.rs"]
#[allow(dead_code)]
mod capfiles;
mod common;

use capfiles::{ip_tcp, temp_dir, ACK, FIN, PSH, SYN};

const SYNS: u32 = 20_000;

/// Raw-IP pcap: conversation on port 40001, SYNS distinct SYNs, conversation on 40002.
fn scan(path: &Path) {
    let mut frames = Vec::new();
    let conversation = |port: u16| {
        vec![
            ip_tcp(port, 80, 100, 0, SYN, b""),
            ip_tcp(80, port, 500, 101, SYN | ACK, b""),
            ip_tcp(port, 80, 101, 501, ACK, b""),
            ip_tcp(port, 80, 101, 501, PSH | ACK, b"GET /\r\n"),
            ip_tcp(80, port, 501, 108, PSH | ACK, b"hello"),
            ip_tcp(port, 80, 108, 506, FIN | ACK, b""),
            ip_tcp(80, port, 506, 109, FIN | ACK, b""),
            ip_tcp(port, 80, 109, 507, ACK, b""),
        ]
    };
    let (first, last) = (conversation(40001), conversation(40002));
    frames.extend(first[..5].iter().cloned());
    for i in 0..SYNS {
        // Distinct ports and sequence numbers: every SYN a new connection.
        let port = 1024 + (i % 60_000) as u16;
        frames.push(ip_tcp(port, 81 + (i / 60_000) as u16, i, 0, SYN, b""));
    }
    // The first conversation ends long after it was evicted: those packets
    // start a new (mid-stream) connection; the last one is whole.
    frames.extend(first[5..].iter().cloned());
    frames.extend(last);
    let mut v = Vec::new();
    for x in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, 101] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        for x in [
            1_763_703_627 + (i / 1000) as u32,
            (i % 1000) as u32 * 1000,
            f.len() as u32,
            f.len() as u32,
        ] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(f);
    }
    std::fs::write(path, v).expect("write the capture");
}

/// The summary lines (`#N ...`) and the "more not kept" count.
fn summaries(path: &Path, extra: &[&str]) -> (Vec<String>, u64) {
    let mut args = vec![
        "replay",
        path.to_str().unwrap_or_default(),
        "--color",
        "never",
    ];
    args.extend_from_slice(extra);
    let o = common::socklab(&args);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let out = common::stdout(&o);
    let section = out
        .split_once("TCP connections:\n")
        .map(|(_, s)| s.to_string())
        .unwrap_or_else(|| panic!("no summary:\n{}", common::stderr(&o)));
    let mut lines = Vec::new();
    let mut more = 0;
    for l in section.lines() {
        let l = l.trim();
        if let Some(n) = l
            .strip_prefix("... and ")
            .and_then(|r| r.strip_suffix(" more not kept"))
        {
            more = n.parse().expect("count");
        } else if l.starts_with('#') {
            lines.push(l.to_string());
        }
    }
    (lines, more)
}

#[test]
fn eviction_keeps_summaries_right() {
    let dir = temp_dir("syn-scan");
    let file = dir.join("scan.pcap");
    scan(&file);
    let (all, none_left) = summaries(&file, &[]);
    let (bounded, left_out) = summaries(&file, &["--max-connections", "1000"]);
    // Unbounded: every connection, the first conversation's FIN and last ACK
    // belong to it (open -> closed).
    assert_eq!(none_left, 0);
    assert_eq!(all.len() as u32, SYNS + 2);
    assert!(
        all[0].starts_with("#1 127.0.0.1.40001 > 127.0.0.1.80: handshake "),
        "{}",
        all[0]
    );
    assert!(all[0].contains("closed: the client"), "{}", all[0]);
    // Bounded: no connection lost or counted twice (the first conversation's
    // late packets became one more connection) ...
    assert_eq!(bounded.len() as u64 + left_out, u64::from(SYNS) + 3);
    assert!(left_out > 0, "the summary list is bounded too");
    // ... its first part, evicted, reads as it stood when evicted ...
    assert!(
        bounded[0].starts_with("#1 127.0.0.1.40001 > 127.0.0.1.80: handshake "),
        "{}",
        bounded[0]
    );
    assert!(
        bounded[0].contains("3 packets / 7 payload bytes from the client, 2 / 5 from the server"),
        "{}",
        bounded[0]
    );
    assert!(bounded[0].contains("still open"), "{}", bounded[0]);
    // ... every evicted SYN's line is exactly the unbounded run's line ...
    for (b, a) in bounded[1..1000].iter().zip(&all[1..1000]) {
        assert_eq!(b, a);
        assert!(b.contains("still connecting"), "{b}");
    }
    // ... and the last conversation, never evicted, is the same in both.
    let last_all = all.last().expect("lines");
    let last_bounded = bounded.last().expect("lines");
    assert_eq!(
        last_all.split_once(' ').map(|x| x.1),
        last_bounded.split_once(' ').map(|x| x.1)
    );
    assert!(
        last_bounded.contains("127.0.0.1.40002 > 127.0.0.1.80"),
        "{last_bounded}"
    );
    assert!(last_bounded.contains("left in TIME_WAIT"), "{last_bounded}");
}
