//! A UDP server never shares its port by accident (issue 12, point 6):
//! without `--reuseaddr` a port another socket holds fails with EADDRINUSE
//! and the lesson; with it the server says plainly that the port is shared
//! and which socket gets the datagrams.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(10);

/// Send one udp-calc request (native order) to `port`; the reply's value.
fn ask(port: u16, a: u32, b: u32) -> Option<u32> {
    let s = UdpSocket::bind("127.0.0.1:0").ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    let mut req = Vec::new();
    for v in [a, b, 0] {
        req.extend_from_slice(&v.to_ne_bytes());
    }
    s.send_to(&req, ("127.0.0.1", port)).ok()?;
    let mut buf = [0u8; 16];
    let n = s.recv(&mut buf).ok()?;
    (n == 4).then(|| u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]))
}

#[test]
fn second_udp_server_on_a_held_port_fails_with_eaddrinuse_and_the_hint() {
    let port = udp_port();
    let at = format!("127.0.0.1:{port}");
    let first = Server::socklab(&["udp-calc", "serve", "--bind", &at]);
    for args in [
        vec!["udp-calc", "serve", "--bind", &at],
        vec!["echo", "serve", "--udp", "--bind", &at],
    ] {
        let o = run_limited(bin(), &args, LIMIT);
        assert!(!o.status.success(), "{args:?} bound a held port");
        assert_teaching_error(
            &o,
            &[
                "EADDRINUSE",
                "another socket already holds this UDP port",
                "--reuseaddr to share it",
            ],
        );
    }
    // The first server still gets the datagrams.
    assert_eq!(ask(port, 2, 3), Some(5));
    first.wait_for("received 12 bytes", LIMIT);
}

#[test]
fn a_python_server_with_so_reuseaddr_still_makes_the_port_busy() {
    if !have_python_peers() {
        return;
    }
    let port = udp_port();
    let _py = Server::python("udp_calc_server.py", port);
    let at = format!("127.0.0.1:{port}");
    let o = run_limited(bin(), &["udp-calc", "serve", "--bind", &at], LIMIT);
    assert!(
        !o.status.success(),
        "socklab shared the Python server's port"
    );
    assert_teaching_error(&o, &["EADDRINUSE", "holds this UDP port"]);
}

#[test]
fn reuseaddr_on_udp_says_plainly_that_the_sockets_share_the_port() {
    let port = udp_port();
    let at = format!("127.0.0.1:{port}");
    let first = Server::socklab(&["udp-calc", "serve", "--reuseaddr", "--bind", &at]);
    assert_eq!(first.count("share the port"), 0, "{}", first.output());
    let second = Server::socklab(&["udp-calc", "serve", "--reuseaddr", "--bind", &at]);
    second.wait_for("both sockets now share the port", LIMIT);
    assert!(
        second.output().contains("the one bound last (this server)"),
        "{}",
        second.output()
    );
    // What it says is true: the socket bound last gets the datagram.
    assert_eq!(ask(port, 40, 2), Some(42));
    second.wait_for("received 12 bytes", LIMIT);
    assert_eq!(first.count("received 12 bytes"), 0, "{}", first.output());
}
