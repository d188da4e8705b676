//! Interop with the Python reference peers in both directions:
//! socklab client <-> Python server and Python client <-> socklab server.

mod common;

use std::time::Duration;

use common::*;

fn addr(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

#[test]
fn udp_calc_socklab_client_python_server() {
    if !have_python_peers() {
        return;
    }
    let port = udp_port();
    let _srv = Server::python("udp_calc_server.py", port);
    let o = socklab(&[
        "udp-calc",
        "ask",
        "10",
        "500",
        "add",
        "--to",
        &addr(port),
        "--timeout",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("12 bytes: 0a 00 00 00 f4 01 00 00 00 00 00 00"),
        "{out}"
    );
    assert!(out.contains("a   @0  0a 00 00 00  -> 10"), "{out}");
    assert!(out.contains("4 bytes: fe 01 00 00"), "{out}");
    assert_eq!(last_line(&o), "result: 510");
    let o = socklab(&["udp-calc", "ask", "9", "4", "sub", "--to", &addr(port)]);
    assert_eq!(last_line(&o), "result: 5");
}

#[test]
fn udp_calc_python_client_socklab_server() {
    if !have_python_peers() {
        return;
    }
    let port = udp_port();
    let srv = Server::socklab(&["udp-calc", "serve", "--bind", &addr(port)]);
    let p = peer("udp_calc_client.py");
    let o = run_limited(
        "python3",
        &[
            p.to_str().unwrap(),
            "127.0.0.1",
            &port.to_string(),
            "10",
            "500",
            "0",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(stdout(&o).trim(), "(510,)", "{}", stderr(&o));
    srv.wait_for("received 12 bytes from 127.0.0.1", Duration::from_secs(2));
    srv.wait_for("sent 4 bytes to 127.0.0.1", Duration::from_secs(2));
}

#[test]
fn tcp_calc_socklab_client_python_server() {
    if !have_python_peers() {
        return;
    }
    let port = tcp_port();
    let _srv = Server::python("tcp_calc_server.py", port);
    for (a, b, op, want) in [
        ("5", "8", "sub", "-3"),
        ("5", "8", "0", "13"),
        ("-20", "7", "add", "-13"),
    ] {
        let o = socklab(&[
            "tcp-calc",
            "ask",
            a,
            b,
            op,
            "--to",
            &addr(port),
            "--timeout",
            "3",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(last_line(&o), format!("result: {want}"));
    }
}

#[test]
fn tcp_calc_python_client_socklab_server_both_modes() {
    if !have_python_peers() {
        return;
    }
    for mode in ["iterative", "threads"] {
        let port = tcp_port();
        let srv = Server::socklab(&["tcp-calc", "serve", "--bind", &addr(port), "--mode", mode]);
        let p = peer("tcp_calc_client.py");
        let o = run_limited(
            "python3",
            &[
                p.to_str().unwrap(),
                "127.0.0.1",
                &port.to_string(),
                "5",
                "8",
                "1",
            ],
            Duration::from_secs(10),
        );
        assert_eq!(stdout(&o).trim(), "-3", "{mode}: {}", stderr(&o));
        srv.wait_for("request from 127.0.0.1", Duration::from_secs(2));
        srv.wait_for("5 - 8 = -3", Duration::from_secs(2));
        srv.wait_for("sent 4 bytes to", Duration::from_secs(2));
    }
}

#[test]
fn echo_socklab_client_python_server() {
    if !have_python_peers() {
        return;
    }
    let port = tcp_port();
    let _srv = Server::python("echo_server.py", port);
    let o = socklab(&["echo", "send", "hello, echo", "--to", &addr(port)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "hello, echo\n");
    let o = socklab(&[
        "echo",
        "send",
        "Esto es una cadena ",
        "--nul",
        "--to",
        &addr(port),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "Esto es una cadena \n");
}

#[test]
fn echo_python_client_socklab_server_styles() {
    if !have_python_peers() {
        return;
    }
    let p = peer("echo_client.py");
    for (style, want) in [
        ("plain", "Recibido= Esto es una cadena"),
        ("upper", "Recibido= ESTO ES UNA CADENA"),
    ] {
        let port = tcp_port();
        let _srv = Server::socklab(&["echo", "serve", "--bind", &addr(port), "--style", style]);
        let o = run_limited(
            "python3",
            &[p.to_str().unwrap(), "127.0.0.1", &port.to_string()],
            Duration::from_secs(10),
        );
        assert_eq!(stdout(&o).trim_end(), want, "{}", stderr(&o));
    }
}

#[test]
fn monitor_socklab_client_python_server() {
    if !have_python_peers() {
        return;
    }
    let port = tcp_port();
    let srv = Server::python("monitor_server.py", port);
    let o = socklab(&[
        "monitor",
        "report",
        "--to",
        &addr(port),
        "--interval",
        "0.1",
        "--count",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).matches("sent 67 bytes: Hostname:").count(), 3);
    // Real figures of this machine: its host name (cut to fit 67 bytes).
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let head: String = host.trim().chars().take(4).collect();
    assert!(
        stdout(&o).contains(&format!("Hostname:{head}")),
        "{}",
        stdout(&o)
    );
    // The Python server prints each complete 67-byte record it decoded.
    srv.wait_for("Carga de CPU:", Duration::from_secs(3));
    let end = std::time::Instant::now() + Duration::from_secs(3);
    while srv.count("Memória Disponível:") < 3 && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(srv.count("Memória Disponível:"), 3, "{}", srv.output());
}

#[test]
fn monitor_python_client_socklab_server_poll_and_threads() {
    if !have_python_peers() {
        return;
    }
    for mode in ["poll", "threads"] {
        let port = tcp_port();
        let mut srv = Server::socklab(&["monitor", "serve", "--bind", &addr(port), "--mode", mode]);
        let p = peer("monitor_client.py");
        let o = run_limited(
            "python3",
            &[p.to_str().unwrap(), "127.0.0.1", &port.to_string(), "3"],
            Duration::from_secs(10),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        srv.wait_for("(it closed its side)", Duration::from_secs(3));
        assert_eq!(
            srv.count("host pc-home  CPU 0.5%  memory available 50.4%"),
            3,
            "{mode}: {}",
            srv.output()
        );
        assert_eq!(srv.interrupt(), Some(0));
        assert!(
            srv.output().contains("3 records from 1 client, 0 bad"),
            "{}",
            srv.output()
        );
    }
}
