//! Errors that teach: each failure names its stage, the errno name and a
//! hint; non-zero exit; no panic, no Rust debug formatting.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::*;

#[test]
fn refused_tcp() {
    let port = tcp_port();
    let to = format!("127.0.0.1:{port}");
    let o = socklab(&["tcp-calc", "ask", "1", "2", "add", "--to", &to]);
    assert_teaching_error(
        &o,
        &[
            &format!("connect {to}: Connection refused (ECONNREFUSED)"),
            "hint: nothing is listening on",
        ],
    );
}

#[test]
fn refused_udp_is_reported_not_a_hang() {
    let port = udp_port();
    let o = socklab(&[
        "udp-calc",
        "ask",
        "1",
        "2",
        "add",
        "--to",
        &format!("127.0.0.1:{port}"),
        "--timeout",
        "5",
    ]);
    assert_teaching_error(
        &o,
        &[
            "receive 127.0.0.1",
            "Connection refused (ECONNREFUSED)",
            "ICMP port unreachable",
        ],
    );
}

#[test]
fn unknown_host() {
    let o = socklab(&[
        "tcp-calc",
        "ask",
        "1",
        "2",
        "add",
        "--to",
        "no-such-host.invalid:10009",
    ]);
    assert_teaching_error(
        &o,
        &["resolve name no-such-host.invalid", "hint: unknown host"],
    );
}

#[test]
fn bad_address_syntax() {
    let o = socklab(&["echo", "send", "x", "--to", "127.0.0.1:99999"]);
    assert_teaching_error(&o, &["port '99999' is not a number from 0 to 65535"]);
}

#[test]
fn operand_out_of_range_like_struct_error() {
    let o = socklab(&["udp-calc", "ask", "4294967296", "1", "add"]);
    assert_teaching_error(&o, &["format 'I' requires 0 <= number <= 4294967295"]);
}

#[test]
fn timeout_on_a_silent_tcp_server() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let to = l.local_addr().unwrap().to_string();
    let t = std::thread::spawn(move || {
        let mut s = accept_within(&l, Duration::from_secs(10));
        let mut b = [0u8; 64];
        let _ = s.read(&mut b);
        std::thread::sleep(Duration::from_secs(2));
    });
    let o = socklab(&[
        "tcp-calc",
        "ask",
        "1",
        "2",
        "add",
        "--to",
        &to,
        "--timeout",
        "0.5",
    ]);
    assert_teaching_error(
        &o,
        &[&format!(
            "timeout {to}: timed out after 0.5 s waiting for the result"
        )],
    );
    t.join().unwrap();
}

#[test]
fn udp_wrap_kills_the_python_server_and_the_client_times_out() {
    if !have_python_peers() {
        return;
    }
    let port = udp_port();
    let mut srv = Server::python("udp_calc_server.py", port);
    let o = socklab(&[
        "udp-calc",
        "ask",
        "3",
        "7",
        "sub",
        "--to",
        &format!("127.0.0.1:{port}"),
        "--timeout",
        "1",
    ]);
    assert!(
        stdout(&o).contains("-4 is outside 0..4294967295"),
        "{}",
        stdout(&o)
    );
    assert_teaching_error(
        &o,
        &[
            "timed out after 1 s waiting for the 4-byte reply",
            "the Python course server dies on it (struct.error)",
        ],
    );
    // The Python server really died on struct.error.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        srv.exited(),
        "python server still running:\n{}",
        srv.output()
    );
    assert!(srv.output().contains("struct.error"), "{}", srv.output());
}

#[test]
fn udp_wrap_against_socklab_is_documented() {
    let port = udp_port();
    let srv = Server::socklab(&["udp-calc", "serve", "--bind", &format!("127.0.0.1:{port}")]);
    let o = socklab(&[
        "udp-calc",
        "ask",
        "3",
        "7",
        "sub",
        "--to",
        &format!("127.0.0.1:{port}"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(last_line(&o), "result: 4294967292");
    srv.wait_for(
        "-4 does not fit in 'I' (0..4294967295): replying 4294967292 (wrapped modulo 2^32",
        Duration::from_secs(2),
    );
}

/// Make one request and wait for the server's FIN before closing, so the
/// server closes first and its side of the connection sits in TIME_WAIT.
fn one_request(port: u16) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"1\x002\x000\x00").unwrap();
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, b"3\0\0");
}

#[test]
fn bind_in_use_and_time_wait_with_and_without_reuseaddr() {
    let port = tcp_port();
    let bind = format!("127.0.0.1:{port}");
    let mut first = Server::socklab(&["tcp-calc", "serve", "--bind", &bind]);
    // A second listener on the same port fails even with SO_REUSEADDR.
    let o = socklab(&["tcp-calc", "serve", "--bind", &bind]);
    assert_teaching_error(
        &o,
        &[
            &format!("bind {bind}: Address already in use (EADDRINUSE)"),
            "TIME_WAIT",
            "--no-reuseaddr",
        ],
    );
    one_request(port);
    assert_eq!(first.interrupt(), Some(0));
    // The server closed first: TIME_WAIT holds the port. Without SO_REUSEADDR, bind fails...
    let o = socklab(&["tcp-calc", "serve", "--bind", &bind, "--no-reuseaddr"]);
    assert_teaching_error(&o, &["Address already in use (EADDRINUSE)", "TIME_WAIT"]);
    // ...and with it (the default) the server restarts and answers.
    let _again = Server::socklab(&["tcp-calc", "serve", "--bind", &bind]);
    one_request(port);
}

#[test]
fn unknown_service_and_bad_path_for_get() {
    let o = socklab(&["get", "127.0.0.1", "no-such-service-xyz"]);
    assert_teaching_error(
        &o,
        &["resolve service no-such-service-xyz", "getservbyname"],
    );
    let o = socklab(&["get", "127.0.0.1", "80", "/a b"]);
    assert_teaching_error(&o, &["must start with '/' and contain no spaces"]);
}

#[test]
fn server_stops_cleanly_on_ctrl_c() {
    let port = udp_port();
    let mut srv = Server::socklab(&["udp-calc", "serve", "--bind", &format!("127.0.0.1:{port}")]);
    assert_eq!(srv.interrupt(), Some(0));
    assert!(
        srv.output()
            .contains("udp-calc server stopped: 0 requests answered"),
        "{}",
        srv.output()
    );
}

#[test]
fn get_sends_the_request_then_half_closes_and_prints_everything() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let mut s = accept_within(&l, Duration::from_secs(10));
        // Reading to EOF only ends if the client sent FIN (shutdown SHUT_WR).
        let mut req = Vec::new();
        s.read_to_end(&mut req).unwrap();
        s.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello from the test\n")
            .unwrap();
        req
    });
    let o = socklab(&[
        "get",
        "127.0.0.1",
        &port.to_string(),
        "/lesson",
        "--timeout",
        "5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(t.join().unwrap(), b"GET /lesson HTTP/1.0\r\n\r\n");
    assert!(stdout(&o).starts_with("HTTP/1.0 200 OK\r\n"));
    assert!(stdout(&o).ends_with("hello from the test\n"));
    assert!(stderr(&o).contains("shutdown(SHUT_WR)"));
}

#[test]
fn get_resolves_service_names_like_getservbyname() {
    if !std::path::Path::new("/etc/services").exists() {
        skip("/etc/services missing (apt-get install netbase)");
        return;
    }
    // Nothing listens on port 80 here: the error shows the name became port 80.
    let o = socklab(&["get", "127.0.0.1", "http", "--timeout", "2"]);
    if o.status.success() {
        skip("something listens on port 80 on this machine");
        return;
    }
    assert!(
        stderr(&o).contains("service http is port 80"),
        "{}",
        stderr(&o)
    );
    assert_teaching_error(
        &o,
        &["connect 127.0.0.1:80: Connection refused (ECONNREFUSED)"],
    );
}

#[test]
fn resolve_prints_getaddrinfo_rows_and_reverse_lookup() {
    let o = socklab(&["resolve", "127.0.0.1", "80"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("this machine: "), "{out}");
    assert!(
        out.contains("AF_INET   SOCK_STREAM  tcp (6)   127.0.0.1:80"),
        "{out}"
    );
    assert!(
        out.contains("AF_INET   SOCK_DGRAM   udp (17)  127.0.0.1:80"),
        "{out}"
    );
    assert!(out.contains("gethostbyaddr(\"127.0.0.1\")"), "{out}");
    let o = socklab(&["resolve", "no-such-host.invalid"]);
    assert_teaching_error(&o, &["resolve name no-such-host.invalid", "gaierror"]);
}

#[test]
fn ipv6_everywhere() {
    let port = udp_port();
    let bind = format!("[::1]:{port}");
    let Ok(_probe) = std::net::UdpSocket::bind(&bind) else {
        skip("no IPv6 loopback on this machine");
        return;
    };
    drop(_probe);
    let _srv = Server::socklab(&["udp-calc", "serve", "--bind", &bind]);
    let o = socklab(&["udp-calc", "ask", "2", "3", "add", "--to", &bind]);
    assert_eq!(last_line(&o), "result: 5", "{}", stderr(&o));
    let tport = tcp_port();
    let tbind = format!("[::1]:{tport}");
    let _t = Server::socklab(&["tcp-calc", "serve", "--bind", &tbind]);
    let o = socklab(&["tcp-calc", "ask", "2", "3", "sub", "--to", &tbind]);
    assert_eq!(last_line(&o), "result: -1", "{}", stderr(&o));
}

#[test]
fn demo_runs_both_ends_with_no_setup() {
    let o = socklab(&["demo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("result: 510"), "{out}");
    assert!(out.contains("a=167772160 b=4194304000 op=0"), "{out}");
    assert!(
        out.contains("note: expected 260 but the server answered 4"),
        "{out}"
    );
    assert!(out.contains("it reads requests as little-endian"), "{out}");
    assert!(out.contains("request from 127.0.0.1"), "{out}");
    assert!(out.trim_end().ends_with("against it."), "{out}");
    assert!(out.contains("result: -3"), "{out}");
}

#[test]
fn reset_by_peer() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let to = l.local_addr().unwrap().to_string();
    let t = std::thread::spawn(move || {
        let s = accept_within(&l, Duration::from_secs(10));
        let mut b = [0u8; 2];
        let mut r = &s;
        let _ = r.read(&mut b);
        // SO_LINGER 0 then close: the kernel answers with RST, not FIN.
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(s);
    });
    let o = socklab(&[
        "tcp-calc",
        "ask",
        "1",
        "2",
        "add",
        "--to",
        &to,
        "--timeout",
        "3",
    ]);
    t.join().unwrap();
    assert_teaching_error(
        &o,
        &[
            "Connection reset by peer (ECONNRESET)",
            "hint: the peer reset the connection (RST)",
        ],
    );
}

#[test]
fn server_order_flag_changes_the_wire_format() {
    let port = udp_port();
    let to = format!("127.0.0.1:{port}");
    let _srv = Server::socklab(&["udp-calc", "serve", "--bind", &to, "--order", "big"]);
    let o = socklab(&[
        "udp-calc", "ask", "10", "250", "add", "--to", &to, "--order", "big",
    ]);
    assert!(
        stdout(&o).contains("12 bytes: 00 00 00 0a 00 00 00 fa 00 00 00 00"),
        "{}",
        stdout(&o)
    );
    assert_eq!(last_line(&o), "result: 260");
    // A native (little-endian) client talking to a big-endian server gets nonsense, explained.
    let o = socklab(&["udp-calc", "ask", "10", "250", "add", "--to", &to]);
    assert_eq!(last_line(&o), "result: 4");
    assert!(
        stdout(&o).contains("it reads requests as big-endian (network order)"),
        "{}",
        stdout(&o)
    );
}

/// Honest CI: a missing prerequisite is a printed skip outside CI and a
/// failure naming the reason under CI.
#[test]
fn missing_prerequisite_skips_outside_ci_and_fails_under_ci() {
    skip_as(false, "outside CI this only prints");
    let caught = std::panic::catch_unwind(|| skip_as(true, "tshark is not installed"));
    let msg = caught.expect_err("under CI a skip must fail");
    let text = msg
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| msg.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(text.contains("tshark is not installed"), "{text}");
    assert!(text.contains("CI"), "{text}");
}
