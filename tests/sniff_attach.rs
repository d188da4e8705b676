//! `--sniff` on the protocol commands: socket calls, the packets they cause
//! and the program's output, in time order. Needs CAP_NET_RAW (CI is root);
//! without it each test says why and returns.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::*;

/// Index of the first line containing `needle` (panics with the output if none).
fn at(lines: &[&str], needle: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{}", lines.join("\n")))
}

#[test]
fn tcp_calc_client_calls_come_before_their_packets() {
    if !can_capture() {
        return;
    }
    let port = tcp_port();
    let to = format!("127.0.0.1:{port}");
    let _srv = Server::socklab(&["tcp-calc", "serve", "-q", "--bind", &to]);
    let o = socklab(&["tcp-calc", "ask", "5", "8", "sub", "--to", &to, "--sniff"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    let connect = at(&lines, "call client: connect(");
    let syn = at(&lines, "Flags [S],");
    let synack = at(&lines, "Flags [S.],");
    assert!(connect < syn && syn < synack, "{out}");
    assert_eq!(
        lines.iter().filter(|l| l.contains("Flags [S],")).count(),
        1,
        "{out}"
    );
    let send = at(&lines, "call client: send(2 bytes)");
    let data = at(&lines, "Flags [P.], seq 1:3");
    assert!(send < data, "{out}");
    assert!(at(&lines, "handshake 3/3") < send, "{out}");
    assert!(
        at(&lines, "call client: recv() -> 4 bytes") > at(&lines, "seq 1:5"),
        "{out}"
    );
    assert!(at(&lines, "result: -3") > send, "{out}");
    assert!(
        out.contains("tcp-calc numbers"),
        "course payload decoded:\n{out}"
    );
    assert!(out.contains("TCP connections:"), "{out}");
    assert_eq!(
        lines.iter().filter(|l| l.contains("[F.]")).count(),
        2,
        "{out}"
    );
}

#[test]
fn refused_connect_shows_syn_then_rst_and_the_error() {
    if !can_capture() {
        return;
    }
    let port = tcp_port();
    let o = socklab(&[
        "tcp-calc",
        "ask",
        "1",
        "2",
        "add",
        "--to",
        &format!("127.0.0.1:{port}"),
        "--sniff",
    ]);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        at(&lines, "call client: connect(") < at(&lines, "Flags [S],"),
        "{out}"
    );
    assert!(at(&lines, "Flags [S],") < at(&lines, "Flags [R.]"), "{out}");
    assert!(out.contains("connection refused"), "{out}");
    assert_eq!(
        lines.iter().filter(|l| l.contains(" IP ")).count(),
        2,
        "{out}"
    );
    assert_teaching_error(&o, &["Connection refused (ECONNREFUSED)"]);
}

#[test]
fn udp_calc_server_sniff_shows_recvfrom_after_and_sendto_before_packets() {
    if !can_capture() {
        return;
    }
    let port = udp_port();
    let to = format!("127.0.0.1:{port}");
    let mut srv = Server::start(
        bin(),
        &["udp-calc", "serve", "--bind", &to, "--sniff"],
        "listening on",
    );
    let o = socklab(&["udp-calc", "ask", "10", "500", "add", "--to", &to]);
    assert_eq!(last_line(&o), "result: 510");
    srv.wait_for("udp-calc reply", Duration::from_secs(5));
    assert_eq!(srv.interrupt(), Some(0));
    let out = srv.output();
    let lines: Vec<&str> = out.lines().collect();
    let req = at(&lines, "UDP, length 12");
    let recv = at(&lines, "call server: recvfrom() -> 12 bytes");
    let send = at(&lines, "call server: sendto(4 bytes");
    let reply = at(&lines, "UDP, length 4");
    assert!(at(&lines, "call server: bind(") < req, "{out}");
    assert!(req < recv && recv < send && send < reply, "{out}");
    assert!(out.contains("udp-calc request: a=10 b=500 op=0"), "{out}");
}

#[test]
fn get_sniff_shows_the_half_close() {
    if !can_capture() {
        return;
    }
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let mut s = accept_within(&l, Duration::from_secs(10));
        let mut req = Vec::new();
        s.read_to_end(&mut req).unwrap();
        s.write_all(b"HTTP/1.0 200 OK\r\n\r\nhi\n").unwrap();
    });
    let o = socklab(&["get", "127.0.0.1", &port.to_string(), "/", "--sniff"]);
    t.join().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    let shut = at(&lines, "call client: shutdown(SHUT_WR)");
    let fin = at(&lines, "[F.]");
    assert!(shut < fin, "{out}");
    assert!(lines[fin + 1].contains("closes first"), "{out}");
    assert!(out.contains("HTTP/1.0 200 OK"), "{out}");
}

#[test]
fn monitor_report_sniff_shows_each_record_send() {
    if !can_capture() {
        return;
    }
    let port = tcp_port();
    let to = format!("127.0.0.1:{port}");
    let _srv = Server::socklab(&["monitor", "serve", "-q", "--bind", &to]);
    let o = socklab(&[
        "monitor",
        "report",
        "--to",
        &to,
        "--count",
        "2",
        "--interval",
        "0.1",
        "--sniff",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("call client: send(67 bytes)"))
            .count(),
        2,
        "{out}"
    );
    assert!(
        at(&lines, "call client: send(67 bytes)") < at(&lines, "length 67"),
        "{out}"
    );
    assert!(out.contains("monitor record"), "{out}");
}
