//! `replay --follow N` (issue 12, point 4): a TCP conversation as its two
//! byte streams in order, segments beside the messages they complete.
//! Golden files in `tests/golden/follow/`; after an intended change run
//! `SOCKLAB_BLESS=1 cargo test --test follow` and review the diff.

#[path = "common/capfiles.rs"]
#[allow(dead_code)]
mod capfiles;
mod common;

use std::path::{Path, PathBuf};

use capfiles::*;
use common::*;

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/follow")
        .join(name);
    if std::env::var_os("SOCKLAB_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, actual).expect("bless");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SOCKLAB_BLESS=1 writes it)", path.display()));
    assert_eq!(
        actual,
        want,
        "--follow output differs from {}:\n{actual}",
        path.display()
    );
}

fn capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

fn follow(file: &Path, args: &[&str]) -> std::process::Output {
    let f = file.to_str().expect("utf-8 path");
    let mut all = vec!["replay", f, "--color", "never"];
    all.extend_from_slice(args);
    socklab(&all)
}

#[test]
fn lab_split_streams_match_golden_files() {
    for (n, name) in [("1", "lab_split_1.out"), ("2", "lab_split_2.out")] {
        let o = follow(&capture("lab-split.pcap"), &["--follow", n]);
        assert!(o.status.success(), "{}", stderr(&o));
        golden(name, &stdout(&o));
    }
    // The lesson in words, so a golden file blessed wrong still fails here.
    let o = stdout(&follow(&capture("lab-split.pcap"), &["--follow", "1"]));
    assert!(
        o.contains("\"12\" so far: the NUL ending it comes later"),
        "{o}"
    );
    assert!(o.contains("tcp-calc numbers: 123 (from 2 segments)"), "{o}");
    let o = stdout(&follow(&capture("lab-split.pcap"), &["--follow", "2"]));
    assert!(
        o.contains(
            "monitor record: host pc-home cpu 0.5% memory available 50.4% (from 3 segments)"
        ),
        "{o}"
    );
    assert!(
        o.contains("client > server: 67 bytes in 3 segments, 1 message"),
        "{o}"
    );
}

#[test]
fn http_half_close_follows_body_across_segments() {
    let o = follow(&capture("get-half-close.pcap"), &["--follow", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    golden("get_half_close_1.out", &stdout(&o));
    let s = stdout(&o);
    // The client's FIN comes before the response: the half-close, in order.
    let fin = s.find("client  FIN").expect("client FIN row");
    let resp = s.find("http response: HTTP/1.0 200 OK").expect("response");
    assert!(fin < resp, "{s}");
    assert!(
        s.contains("http body: 237 bytes here, 237 so far of 237 (Content-Length): complete"),
        "{s}"
    );
}

/// tcp-calc on a port only --decode names, with a segment out of order and
/// a retransmission: the streams come out in order, each byte once.
fn disordered(dir: &Path) -> PathBuf {
    let (c, s) = (40100, 21009);
    let frames: Vec<Vec<u8>> = [
        ip_tcp(c, s, 1000, 0, SYN, &[]),
        ip_tcp(s, c, 5000, 1001, SYN | ACK, &[]),
        ip_tcp(c, s, 1001, 5001, ACK, &[]),
        ip_tcp(c, s, 1001, 5001, PSH | ACK, b"12"),
        // "45\0" overtakes "3\0".
        ip_tcp(c, s, 1005, 5001, PSH | ACK, b"45\0"),
        ip_tcp(c, s, 1003, 5001, PSH | ACK, b"3\0"),
        // "3\0" again: a retransmission.
        ip_tcp(c, s, 1003, 5001, PSH | ACK, b"3\0"),
        // The last NUL of "45\0" again, with "0\0": only "0\0" is new.
        ip_tcp(c, s, 1007, 5001, PSH | ACK, b"\x000\0"),
        ip_tcp(s, c, 5001, 1010, PSH | ACK, b"168\0\0"),
        ip_tcp(s, c, 5006, 1010, FIN | ACK, &[]),
        ip_tcp(c, s, 1010, 5007, FIN | ACK, &[]),
        ip_tcp(c, s, 1010, 5007, FIN | ACK, &[]),
        ip_tcp(s, c, 5007, 1011, ACK, &[]),
    ]
    .iter()
    .map(|p| wrap(1, p, false))
    .collect();
    let path = dir.join("disordered.pcap");
    std::fs::write(&path, pcap(false, false, 1, &recs(&frames, false))).expect("write");
    path
}

#[test]
fn out_of_order_and_retransmitted_segments_come_out_once_in_order() {
    let dir = temp_dir("follow-disorder");
    let f = disordered(&dir);
    let o = follow(&f, &["--follow", "1", "--decode", "21009=tcp-calc"]);
    assert!(o.status.success(), "{}", stderr(&o));
    golden("disordered_1.out", &stdout(&o));
    let s = stdout(&o);
    for want in [
        "(out of order: held back)",
        "(this segment came early; in stream order only now)",
        "(retransmission: shown already)",
        "(its first 1 byte had come already)",
        "tcp-calc numbers: 123 (from 2 segments)",
        "tcp-calc numbers: 45",
        "client > server: 9 bytes in 5 segments, 3 messages, 1 retransmission, 1 out of order",
    ] {
        assert!(s.contains(want), "lacks {want:?}:\n{s}");
    }
    // In stream order: 123 is complete before 45.
    assert!(s.find("numbers: 123").unwrap() < s.find("numbers: 45").unwrap());
    // One FIN row per side although the client's FIN came twice.
    assert_eq!(s.matches("client  FIN").count(), 1, "{s}");
    // Without --decode: the bytes, in order, and a hint instead of messages.
    let o = follow(&f, &["--follow", "1", "--no-heuristics"]);
    let s = stdout(&o);
    assert!(
        s.contains("no course protocol known on port 21009: bytes only (try --decode 21009=PROTO)"),
        "{s}"
    );
    assert!(!s.contains("tcp-calc numbers"), "{s}");
}

#[test]
fn a_conversation_that_is_not_there_is_a_clear_error() {
    let o = follow(&capture("lab-split.pcap"), &["--follow", "3"]);
    assert!(!o.status.success());
    assert_teaching_error(
        &o,
        &[
            "--follow 3",
            "has no TCP conversation #3 (it has 2)",
            "as the connection summary and --stats show them",
        ],
    );
    let o = follow(&capture("udp-calc-native.pcap"), &["--follow", "1"]);
    assert_teaching_error(&o, &["it has no TCP conversation at all"]);
    let o = follow(&capture("lab-split.pcap"), &["--follow", "0"]);
    assert!(!o.status.success());
    let o = follow(&capture("lab-split.pcap"), &["--follow", "1", "--stats"]);
    assert!(
        !o.status.success(),
        "--follow and --stats are one or the other"
    );
}

#[test]
fn sniff_follow_shows_a_live_conversation_at_the_end() {
    use std::io::{Read, Write};
    use std::time::Duration;
    if !can_capture() {
        return;
    }
    // A listener the test binds and keeps: the port is its own.
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let p = port.to_string();
    let rule = format!("{port}=tcp-calc");
    // The four segments that carry data or a FIN (-c 4 ends the capture by
    // itself: the packets are read, not cut off by a signal).
    let filter = format!("tcp port {p} and tcp[tcpflags] & (tcp-push|tcp-fin) != 0");
    let mut sniffer = Server::start(
        bin(),
        &[
            "sniff", "--color", "never", "--follow", "1", "--decode", &rule, "-c", "4", &filter,
        ],
        "listening on",
    );
    let limit = Duration::from_secs(10);
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.set_read_timeout(Some(limit)).expect("timeout");
    let mut s = accept_within(&l, limit);
    s.set_read_timeout(Some(limit)).expect("timeout");
    c.write_all(b"5\08\0").expect("send");
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).expect("the numbers");
    s.write_all(b"13\0\0").expect("reply");
    drop(s);
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest);
    drop(c);
    let end = std::time::Instant::now() + limit;
    while !sniffer.exited() && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        sniffer.exited(),
        "sniff -c 4 did not end:\n{}",
        sniffer.output()
    );
    // Let the reader threads collect the last lines.
    sniffer.wait_for("packets dropped by the kernel", limit);
    let out = sniffer.output();
    let ends = format!("(client) <-> 127.0.0.1.{port} (server), decoded as tcp-calc");
    for want in [
        "Follow TCP stream #1: 127.0.0.1.",
        &ends,
        "tcp-calc numbers: 5",
        "tcp-calc numbers: 8",
        "tcp-calc reply: 13",
        "client > server: 4 bytes in 1 segment, 2 messages",
        "(end of the server's stream)",
    ] {
        assert!(out.contains(want), "lacks {want:?}:\n{out}");
    }
    assert!(
        !out.contains("Flags ["),
        "no packet lines with --follow:\n{out}"
    );
}
