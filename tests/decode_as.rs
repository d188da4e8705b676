//! Decode as (issue 12, point 1): `--decode PORT=PROTO` on replay, sniff
//! and `--sniff`; what `--sniff` knows is written into the pcapng it saves
//! and replay honours it.

#[path = "common/capfiles.rs"]
#[allow(dead_code)]
mod capfiles;
mod common;

use std::time::Duration;

use capfiles::*;
use common::*;

const LIMIT: Duration = Duration::from_secs(20);

/// The narration lines of a course payload (`    .. ...`), trimmed.
fn course_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.trim_start().strip_prefix(".. "))
        .map(str::to_string)
        .collect()
}

#[test]
fn replay_decodes_course_protocols_on_other_ports_only_when_told() {
    let mut req = Vec::new();
    for v in [10u32, 500, 0] {
        req.extend_from_slice(&v.to_be_bytes());
    }
    let frames = [
        wrap(
            1,
            &ip_tcp(40000, 21009, 1, 1, PSH | ACK, b"5\x008\x001\x00"),
            false,
        ),
        wrap(1, &ip_tcp(21009, 40000, 1, 7, PSH | ACK, b"-3\0\0"), false),
        wrap(1, &ip_udp(40001, 21011, &req), false),
    ];
    let dir = temp_dir("decode-as-replay");
    let file = dir.join("other-ports.pcap");
    std::fs::write(&file, pcap(false, false, 1, &recs(&frames, false))).expect("write");
    let f = file.to_str().unwrap();
    let plain = socklab(&["replay", f, "--color", "never", "--no-heuristics"]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert_eq!(course_lines(&stdout(&plain)), Vec::<String>::new());
    let o = socklab(&[
        "replay",
        f,
        "--color",
        "never",
        "--no-heuristics",
        "--decode",
        "21009=tcp-calc",
        "--decode",
        "21011=udp-calc-net",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = course_lines(&stdout(&o));
    assert_eq!(lines[0], "tcp-calc numbers: 5, 8, 1");
    assert_eq!(lines[1], "tcp-calc reply: -3");
    assert!(
        lines[2].starts_with("udp-calc request: a=10 b=500 op=0 (add) = 510 [big-endian"),
        "{lines:?}"
    );
    // A bad rule is refused with what was wrong.
    let o = socklab(&["replay", f, "--decode", "21009=gopher"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown protocol 'gopher'; one of: udp-calc"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn sniff_decode_shows_tcp_calc_on_another_port() {
    if !can_capture() {
        return;
    }
    let port = tcp_port();
    let p = port.to_string();
    let at = format!("127.0.0.1:{port}");
    let rule = format!("{port}=tcp-calc");
    let sniffer = Server::start(
        bin(),
        &["sniff", "--color", "never", "--decode", &rule, "port", &p],
        "listening on",
    );
    let _server = Server::socklab(&["tcp-calc", "serve", "--bind", &at]);
    let o = socklab(&["tcp-calc", "ask", "5", "8", "add", "--to", &at]);
    assert!(o.status.success(), "{}", stderr(&o));
    sniffer.wait_for(".. tcp-calc reply: 13", LIMIT);
    assert!(
        sniffer.output().contains(".. tcp-calc numbers: 5"),
        "{}",
        sniffer.output()
    );
}

#[test]
fn a_sniff_w_pcapng_replays_with_the_decoding_shown_live() {
    if !can_capture() {
        return;
    }
    let port = tcp_port();
    let at = format!("127.0.0.1:{port}");
    let _server = Server::socklab(&["tcp-calc", "serve", "--bind", &at]);
    let dir = temp_dir("decode-as-sniff-w");
    let file = dir.join("lesson.pcapng");
    let f = file.to_str().unwrap();
    let live = run_limited(
        bin(),
        &[
            "tcp-calc", "ask", "5", "8", "sub", "--to", &at, "--sniff", "-w", f,
        ],
        LIMIT,
    );
    assert!(live.status.success(), "{}", stderr(&live));
    let shown = course_lines(&stdout(&live));
    assert!(
        shown.contains(&"tcp-calc reply: -3".to_string()),
        "{shown:?}"
    );
    let replay = socklab(&["replay", f, "--color", "never"]);
    assert!(replay.status.success(), "{}", stderr(&replay));
    assert_eq!(course_lines(&stdout(&replay)), shown);
    // The record is the file's section comment (Wireshark shows it too).
    let bytes = std::fs::read(&file).expect("read");
    let needle = format!("socklab decode-as: {port}=udp-calc {port}=tcp-calc");
    assert!(
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
        "no decode-as comment in the file"
    );
}

#[test]
fn chat_lines_are_decoded_on_the_port_named_chat() {
    let (c, s) = (40200, 21888);
    let welcome = b"Welcome to socklab chat, you are 127.0.0.1:40200; 1 other(s) online. Lines you type go to everyone.\n";
    let frames: Vec<Vec<u8>> = [
        ip_tcp(c, s, 1000, 0, SYN, &[]),
        ip_tcp(s, c, 5000, 1001, SYN | ACK, &[]),
        ip_tcp(c, s, 1001, 5001, ACK, &[]),
        ip_tcp(s, c, 5001, 1001, PSH | ACK, welcome),
        // One line in two segments, then two lines in one.
        ip_tcp(c, s, 1001, 5102, PSH | ACK, b"hel"),
        ip_tcp(c, s, 1004, 5102, PSH | ACK, b"lo\nsecond\nthird\n"),
        ip_tcp(s, c, 5102, 1020, PSH | ACK, b"[127.0.0.1:40300] hi all\n"),
    ]
    .iter()
    .map(|p| wrap(1, p, false))
    .collect();
    let dir = temp_dir("decode-as-chat");
    let file = dir.join("chat.pcap");
    std::fs::write(&file, pcap(false, false, 1, &recs(&frames, false))).expect("write");
    let f = file.to_str().unwrap();
    let plain = socklab(&["replay", f, "--color", "never"]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert_eq!(course_lines(&stdout(&plain)), Vec::<String>::new());
    let o = socklab(&["replay", f, "--color", "never", "--decode", "21888=chat"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        course_lines(&stdout(&o)),
        [
            "chat from the server: \"Welcome to socklab chat, you are 127.0.0.1:40200; 1 other(s) online. Lines you type go to everyone.\"",
            "chat lines: \"hel\" (its newline comes later)",
            "chat lines: \"lo\", \"second\", \"third\"",
            "chat from the server: \"[127.0.0.1:40300] hi all\"",
        ]
    );
    // --stats counts them; --follow frames them line by line across segments.
    let o = socklab(&["replay", f, "--decode", "21888=chat", "--stats"]);
    let s = stdout(&o);
    assert!(
        s.contains("    chat lines sent                     2"),
        "{s}"
    );
    assert!(
        s.contains("    chat lines relayed                  2"),
        "{s}"
    );
    let o = socklab(&[
        "replay",
        f,
        "--color",
        "never",
        "--decode",
        "21888=chat",
        "--follow",
        "1",
    ]);
    let s = stdout(&o);
    for want in [
        "decoded as chat",
        "\"hel\" so far: its newline comes later",
        "chat line: \"hello\" (from 2 segments)",
        "chat line: \"second\"",
        "chat line: \"third\"",
        "client > server: 19 bytes in 2 segments, 3 messages",
    ] {
        assert!(s.contains(want), "lacks {want:?}:\n{s}");
    }
}

#[test]
fn http_body_is_counted_across_segments_after_the_half_close() {
    let (c, s) = (40300, 21080);
    let frames: Vec<Vec<u8>> = [
        ip_tcp(c, s, 1000, 0, SYN, &[]),
        ip_tcp(s, c, 5000, 1001, SYN | ACK, &[]),
        ip_tcp(c, s, 1001, 5001, ACK, &[]),
        ip_tcp(c, s, 1001, 5001, PSH | ACK, b"GET /x HTTP/1.0\r\n\r\n"),
        // shutdown(SHUT_WR): the client's FIN before the response.
        ip_tcp(c, s, 1020, 5001, FIN | ACK, &[]),
        ip_tcp(
            s,
            c,
            5001,
            1021,
            PSH | ACK,
            b"HTTP/1.0 200 OK\r\nContent-Le",
        ),
        ip_tcp(s, c, 5028, 1021, PSH | ACK, b"ngth: 10\r\n\r\n0123"),
        ip_tcp(s, c, 5044, 1021, PSH | ACK, b"45"),
        // The server closes 4 bytes short.
        ip_tcp(s, c, 5046, 1021, FIN | ACK, &[]),
    ]
    .iter()
    .map(|p| wrap(1, p, false))
    .collect();
    let dir = temp_dir("decode-as-http");
    let file = dir.join("http.pcap");
    std::fs::write(&file, pcap(false, false, 1, &recs(&frames, false))).expect("write");
    let f = file.to_str().unwrap();
    let o = socklab(&["replay", f, "--color", "never", "--decode", "21080=http"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("-- half-close: "), "{out}");
    assert_eq!(
        course_lines(&out),
        [
            "http request: GET /x HTTP/1.0 (0 headers)",
            "http response: HTTP/1.0 200 OK (0 headers, the blank line ending them comes later)",
            "http response: HTTP/1.0 200 OK (1 header); Content-Length 10, 0 body bytes here [head complete, it came in 2 segments]; http body: 4 bytes here, 4 so far of 10 (Content-Length)",
            "http body: 2 bytes here, 6 so far of 10 (Content-Length)",
            "http body cut short: the sender closed (FIN) after 6 of the 10 Content-Length announced",
        ]
    );
}
