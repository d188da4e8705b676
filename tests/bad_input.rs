//! Bad input at every server: a clear log line (with a hex dump when short),
//! only the offending client is dropped, and the server keeps serving.

mod common;
#[path = "common/servers.rs"]
#[allow(dead_code)]
mod servers;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, UdpSocket};
use std::time::Duration;

use common::*;
use servers::*;

const T: Duration = Duration::from_secs(3);

fn connect(port: u16) -> TcpStream {
    connect_with(port, T)
}

fn tcp_calc_ok(port: u16) {
    let o = socklab(&[
        "tcp-calc",
        "ask",
        "40",
        "2",
        "add",
        "--to",
        &format!("127.0.0.1:{port}"),
    ]);
    assert_eq!(last_line(&o), "result: 42", "{}", stderr(&o));
}

#[test]
fn udp_calc_wrong_sizes_are_dumped_and_skipped() {
    let port = udp_port();
    let srv = serve(port, &["udp-calc", "serve"]);
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    s.send_to(b"hello", ("127.0.0.1", port)).unwrap();
    s.send_to(&[1u8; 13], ("127.0.0.1", port)).unwrap();
    s.send_to(&[0x41u8; 3000], ("127.0.0.1", port)).unwrap();
    srv.wait_for("datagram of 5 bytes, expected exactly 12", T);
    srv.wait_for("00000000  68 65 6c 6c 6f", T);
    srv.wait_for("datagram of 13 bytes", T);
    srv.wait_for("datagram of 3000 bytes", T);
    srv.wait_for("more bytes not shown", T);
    // No reply to bad input...
    let mut b = [0u8; 16];
    assert!(s.recv(&mut b).is_err());
    // ...and valid requests still work.
    let o = socklab(&[
        "udp-calc",
        "ask",
        "10",
        "500",
        "0",
        "--to",
        &format!("127.0.0.1:{port}"),
    ]);
    assert_eq!(last_line(&o), "result: 510");
}

#[test]
fn tcp_calc_bad_numbers_each_get_a_clear_line() {
    let port = tcp_port();
    let srv = serve(port, &["tcp-calc", "serve", "--idle-timeout", "0.5"]);
    // Not decimal.
    let mut s = connect(port);
    s.write_all(b"12a\0").unwrap();
    let mut b = Vec::new();
    let _ = s.read_to_end(&mut b);
    srv.wait_for("number 1 of 3: not a decimal number", T);
    srv.wait_for("31 32 61", T);
    // Absurdly long: capped at 32 bytes, no unbounded buffering.
    let mut s = connect(port);
    s.write_all(b"5\0").unwrap();
    let _ = s.write_all(&[b'9'; 5000]);
    let _ = s.read_to_end(&mut b);
    srv.wait_for(
        "number 2 of 3: number longer than 32 bytes without a NUL",
        T,
    );
    // Ends in the middle of a number.
    let mut s = connect(port);
    s.write_all(b"7\x004").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let _ = s.read_to_end(&mut b);
    srv.wait_for(
        "stream ended in the middle of the request: number 2 of 3 has 1 byte(s)",
        T,
    );
    // Says nothing: closed after the idle timeout.
    let mut s = connect(port);
    let n = s.read(&mut [0u8; 8]).unwrap_or(0);
    assert_eq!(n, 0, "the server should close a silent client");
    srv.wait_for(
        "sent nothing for 0.5 s while number 1 of 3 was expected: closing",
        T,
    );
    tcp_calc_ok(port);
}

#[test]
fn tcp_calc_iterative_is_not_blocked_forever_by_a_silent_client() {
    let port = tcp_port();
    let srv = serve(
        port,
        &[
            "tcp-calc",
            "serve",
            "--mode",
            "iterative",
            "--idle-timeout",
            "0.5",
        ],
    );
    let _silent = connect(port);
    std::thread::sleep(Duration::from_millis(100));
    tcp_calc_ok(port);
    srv.wait_for("sent nothing for 0.5 s", T);
    // The log says why the second client waited.
    srv.wait_for("iterative server: 127.0.0.1:", T);
    srv.wait_for("one slow or silent client blocks everyone", T);
}

#[test]
fn tcp_calc_many_connections_at_once() {
    let port = tcp_port();
    let _srv = serve(port, &["tcp-calc", "serve", "-q"]);
    // 64 clients connected at the same time, all answered.
    let mut conns: Vec<TcpStream> = (0..64).map(|_| connect(port)).collect();
    for (i, c) in conns.iter_mut().enumerate() {
        c.write_all(format!("{i}\0{i}\00\0").as_bytes()).unwrap();
    }
    for (i, c) in conns.iter_mut().enumerate() {
        let mut r = Vec::new();
        c.read_to_end(&mut r).unwrap();
        assert_eq!(r, format!("{}\0\0", 2 * i).into_bytes());
    }
    let o = socklab(&[
        "tcp-calc",
        "ask",
        "0",
        "0",
        "0",
        "--to",
        &format!("127.0.0.1:{port}"),
        "--count",
        "400",
        "--concurrency",
        "8",
    ]);
    assert!(
        stdout(&o).contains("ok: 400  wrong: 0  missing: 0"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn tcp_calc_threads_mode_caps_clients() {
    let port = tcp_port();
    let srv = serve(
        port,
        &[
            "tcp-calc",
            "serve",
            "--max-clients",
            "2",
            "--idle-timeout",
            "2",
        ],
    );
    let _a = connect(port);
    let _b = connect(port);
    std::thread::sleep(Duration::from_millis(200));
    let mut c = connect(port);
    let mut r = String::new();
    let _ = c.read_to_string(&mut r);
    assert!(r.starts_with("busy: too many clients"), "{r}");
    srv.wait_for("2 clients already connected (--max-clients)", T);
}

#[test]
fn monitor_bad_records_then_good_ones_both_modes() {
    for mode in ["poll", "threads"] {
        let port = tcp_port();
        let mut srv = serve(
            port,
            &["monitor", "serve", "--mode", mode, "--idle-timeout", "0.5"],
        );
        // A record in pieces, a record that is not the layout, bad UTF-8, then a cut record.
        let mut s = connect(port);
        let good = record("Hostname:box Carga de CPU: 1.5% Memória Disponível: 20.0%");
        s.write_all(&good[..10]).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        s.write_all(&good[10..]).unwrap();
        s.write_all(&record("hello this is not a record")).unwrap();
        let mut bad = good.clone();
        bad[9] = 0xff;
        s.write_all(&bad).unwrap();
        s.write_all(&good[..30]).unwrap();
        s.shutdown(Shutdown::Both).unwrap();
        srv.wait_for("host box  CPU 1.5%  memory available 20.0%", T);
        srv.wait_for("does not start with 'Hostname:'", T);
        srv.wait_for("not valid UTF-8 text (byte 9", T);
        srv.wait_for(
            "the stream ended in the middle of a record: 30 of 67 bytes",
            T,
        );
        // Silent client closed after the idle timeout.
        let mut q = connect(port);
        assert_eq!(q.read(&mut [0u8; 4]).unwrap_or(0), 0);
        srv.wait_for("sent nothing for 0.5 s", T);
        // Still serving.
        let o = socklab(&[
            "monitor",
            "report",
            "--to",
            &format!("127.0.0.1:{port}"),
            "--interval",
            "0.1",
            "--count",
            "1",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        srv.wait_for("memory available", T);
        assert_eq!(srv.interrupt(), Some(0));
        assert!(
            srv.output().contains("2 records from 3 clients, 3 bad"),
            "{mode}: {}",
            srv.output()
        );
    }
}

#[test]
fn echo_idle_client_is_closed_and_others_served() {
    let port = tcp_port();
    let srv = serve(port, &["echo", "serve", "--idle-timeout", "0.5"]);
    let mut q = connect(port);
    let o = socklab(&[
        "echo",
        "send",
        "still here",
        "--to",
        &format!("127.0.0.1:{port}"),
    ]);
    assert_eq!(stdout(&o), "still here\n");
    assert_eq!(q.read(&mut [0u8; 4]).unwrap_or(0), 0);
    srv.wait_for("sent nothing for 0.5 s: closing", T);
}

#[test]
fn echo_ok_style_and_udp() {
    let port = tcp_port();
    let _srv = serve(port, &["echo", "serve", "--style", "ok"]);
    let o = socklab(&["echo", "send", "hola", "--to", &format!("127.0.0.1:{port}")]);
    assert_eq!(
        stdout(&o),
        "Welcome to the server. Type something and hit enter\nOK...hola\n"
    );
    let uport = udp_port();
    let _u = serve(uport, &["echo", "serve", "--udp", "--style", "upper"]);
    let o = socklab(&[
        "echo",
        "send",
        "hola",
        "--udp",
        "--to",
        &format!("127.0.0.1:{uport}"),
    ]);
    assert_eq!(stdout(&o), "HOLA\n", "{}", stderr(&o));
}

#[test]
fn chat_broadcasts_announces_and_survives_long_lines() {
    let port = tcp_port();
    let srv = serve(port, &["chat", "serve"]);
    let mut a = connect(port);
    let mut buf = [0u8; 8192];
    let n = a.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("Welcome to socklab chat"));
    let mut b = connect(port);
    let n = b.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("1 other(s) online"));
    let n = a.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).ends_with("is online\n"));
    let a_addr = a.local_addr().unwrap();
    a.write_all(b"hi b\n").unwrap();
    let n = b.read(&mut buf).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&buf[..n]),
        format!("[{a_addr}] hi b\n")
    );
    // A 10,000-byte line is cut at 4096 bytes and the rest dropped (bounded
    // memory, no amplification); the next line is relayed whole.
    a.write_all(&[b'x'; 10_000]).unwrap();
    a.write_all(b"\nafter\n").unwrap();
    let mut got = Vec::new();
    let end = std::time::Instant::now() + T;
    while !got.ends_with(b"after\n") && std::time::Instant::now() < end {
        let n = b.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    let x = "x".repeat(4096);
    assert_eq!(text, format!("[{a_addr}] {x}\n[{a_addr}] after\n"));
    srv.wait_for(
        "line longer than 4096 bytes: the rest of it is dropped, its first 4096 bytes are relayed when it ends",
        T,
    );
    srv.wait_for(
        &format!("bad input from {a_addr}: line of 10000 bytes ended: relayed cut at 4096"),
        T,
    );
    drop(a);
    let n = b.read(&mut buf).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&buf[..n]),
        format!("* {a_addr} is offline\n")
    );
}
