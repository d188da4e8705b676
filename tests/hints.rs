//! Hints that say what really went wrong (issue 15 point 3): each case a
//! user met, with the wording checked.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{assert_teaching_error, bin, run_limited, socklab, stderr, Server};

const NOBODY: [&str; 3] = ["--reuid=65534", "--regid=65534", "--clear-groups"];

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn udp_to_a_tcp_only_port_says_a_tcp_server_is_there() {
    let port = common::tcp_port();
    let to = format!("127.0.0.1:{port}");
    let _srv = Server::socklab(&["echo", "serve", "-q", "--bind", &to]);
    let o = socklab(&[
        "echo",
        "send",
        "hello",
        "--udp",
        "--to",
        &to,
        "--timeout",
        "2",
    ]);
    assert_teaching_error(
        &o,
        &[
            "(ECONNREFUSED)",
            &format!("a TCP server is listening on {to}, but no UDP socket is bound there"),
            "without --udp",
        ],
    );
    assert!(
        !stderr(&o).contains("nothing is listening"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn tcp_to_a_udp_only_port_says_a_udp_socket_is_there() {
    let port = common::udp_port();
    let to = format!("127.0.0.1:{port}");
    let _srv = Server::socklab(&["udp-calc", "serve", "-q", "--bind", &to]);
    let o = socklab(&[
        "tcp-calc",
        "ask",
        "1",
        "2",
        "add",
        "--to",
        &to,
        "--timeout",
        "2",
    ]);
    assert_teaching_error(
        &o,
        &[
            "connect ",
            &format!("a UDP socket is bound to {to}, but no TCP server is listening there"),
            "`udp-calc ask`",
        ],
    );
}

#[test]
fn a_closed_port_still_says_nothing_is_listening() {
    let port = common::tcp_port();
    let to = format!("127.0.0.1:{port}");
    let o = socklab(&["echo", "send", "hi", "--to", &to, "--timeout", "2"]);
    assert_teaching_error(&o, &[&format!("nothing is listening on {to}")]);
}

#[test]
fn ipv6_with_a_port_but_no_brackets_shows_the_bracketed_form() {
    let o = socklab(&["tcp-calc", "ask", "1", "2", "add", "--to", "::1:21019"]);
    assert_teaching_error(
        &o,
        &["bad address '::1:21019': an IPv6 address with a port needs brackets: [::1]:21019"],
    );
    assert!(!stderr(&o).contains("Name or service not known"));
}

#[test]
fn timeout_zero_is_refused_with_what_zero_means_elsewhere() {
    for args in [
        &["udp-calc", "ask", "1", "2", "add", "--timeout", "0"][..],
        &["tcp-calc", "ask", "1", "2", "add", "--timeout", "0.0"][..],
        &["echo", "send", "x", "--timeout", "0"][..],
        &["get", "127.0.0.1", "80", "--timeout", "0"][..],
        &["monitor", "report", "--timeout", "0"][..],
    ] {
        let o = run_limited(bin(), args, Duration::from_secs(5));
        assert_teaching_error(
            &o,
            &[
                "would not wait at all",
                "settimeout(0) means non-blocking",
                "BlockingIOError",
            ],
        );
    }
    // Idle timeouts keep 0 = never.
    let port = common::tcp_port();
    let mut srv = Server::socklab(&[
        "echo",
        "serve",
        "--idle-timeout",
        "0",
        "--bind",
        &format!("127.0.0.1:{port}"),
    ]);
    assert_eq!(srv.interrupt(), Some(0));
}

#[test]
fn a_url_given_for_host_and_port() {
    // get understands it.
    // Bound on port 0 and kept: no window for another test to take the port.
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let port = l.local_addr().expect("local addr").port();
    let t = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut s = common::accept_within(&l, Duration::from_secs(10));
        let mut req = Vec::new();
        let _ = s.read_to_end(&mut req);
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\nhi");
        String::from_utf8_lossy(&req).into_owned()
    });
    let o = socklab(&["get", &format!("http://127.0.0.1:{port}/lesson?x=1")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(t.join().unwrap(), "GET /lesson?x=1 HTTP/1.0\r\n\r\n");
    // With extra words, or https, it says what to do.
    let o = socklab(&["get", "http://127.0.0.1:1/", "80"]);
    assert_teaching_error(
        &o,
        &["is a URL, which already says the port and path; drop '80'"],
    );
    let o = socklab(&["get", "https://127.0.0.1/"]);
    assert_teaching_error(&o, &["plain HTTP/1.0 (http://), not https://", "TLS"]);
    let o = socklab(&["get", "127.0.0.1"]);
    assert_teaching_error(
        &o,
        &[
            "needs a port after the host: socklab get 127.0.0.1 PORT [PATH]",
            "http://127.0.0.1/",
        ],
    );
    // --to takes HOST:PORT and says which part of the URL that is.
    let o = socklab(&["echo", "send", "x", "--to", "http://127.0.0.1:21080/"]);
    assert_teaching_error(
        &o,
        &["this is a URL; give HOST:PORT without 'http://' or a path, here 127.0.0.1:21080"],
    );
}

#[test]
fn did_you_mean_for_lessons_subcommands_and_protocol_names() {
    let o = socklab(&["lab", "handshak"]);
    assert_teaching_error(
        &o,
        &["no lesson called 'handshak' (did you mean 'handshake'?)"],
    );
    let o = socklab(&["lab", "halfclose"]);
    assert_teaching_error(&o, &["(did you mean 'half-close'?)"]);
    let o = socklab(&["snif"]);
    assert_teaching_error(
        &o,
        &[
            "unrecognized subcommand 'snif'",
            "similar subcommand exists: 'sniff'",
        ],
    );
    let o = socklab(&["udp-cal", "ask", "1", "2", "add"]);
    assert_teaching_error(&o, &["similar subcommand", "'udp-calc'"]);
    let o = socklab(&["replay", "/dev/null", "tcpp"]);
    assert_teaching_error(&o, &["unknown word 'tcpp' (did you mean 'tcp'?)"]);
    let o = socklab(&["udp-calc", "ask", "1", "2", "ad"]);
    assert_teaching_error(&o, &["'ad' is not an operation (did you mean 'add'?)"]);
    let o = socklab(&["get", "127.0.0.1", "htp"]);
    assert_teaching_error(&o, &["unknown service (did you mean 'http'?)"]);
    let o = socklab(&["udp-calc", "ask", "1", "2", "add", "--order", "nativ"]);
    assert_teaching_error(&o, &["invalid value 'nativ'", "'native'"]);
}

#[test]
fn hexdump_of_a_directory_names_it_with_the_errno() {
    let o = socklab(&["hexdump", "/"]);
    assert_teaching_error(
        &o,
        &[
            "hexdump /: Is a directory (EISDIR)",
            "hint: hexdump reads one file",
        ],
    );
    assert!(!stderr(&o).contains("os error"), "{}", stderr(&o));
    let o = socklab(&["hexdump", "/nonexistent-socklab"]);
    assert_teaching_error(
        &o,
        &["hexdump /nonexistent-socklab: No such file or directory (ENOENT)"],
    );
}

#[test]
fn sniff_permission_hint_repeats_the_command_that_was_run() {
    if !is_root() {
        common::skip("running as nobody needs root (CI runs as root)");
        return;
    }
    let b = bin();
    let port = common::tcp_port().to_string();
    let mut args: Vec<&str> = NOBODY.to_vec();
    args.extend([
        b.to_str().unwrap(),
        "tcp-calc",
        "ask",
        "1",
        "2",
        "add",
        "--to",
        &port,
        "--sniff",
    ]);
    let o = run_limited("setpriv", &args, Duration::from_secs(20));
    assert_teaching_error(
        &o,
        &[
            "CAP_NET_RAW",
            &format!(
                "`sudo {} tcp-calc ask 1 2 add --to {port} --sniff`",
                b.display()
            ),
            &format!("`sudo setcap cap_net_raw+ep {}`", b.display()),
        ],
    );
    assert!(!stderr(&o).contains("sudo socklab sniff"), "{}", stderr(&o));
}

#[test]
fn lab_write_in_a_directory_nobody_can_write_names_user_and_directory() {
    if !is_root() {
        common::skip("running as nobody needs root (CI runs as root)");
        return;
    }
    let ns_ok = Command::new("setpriv")
        .args(NOBODY)
        .args(["unshare", "-Urn", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ns_ok {
        common::skip("unprivileged user namespaces are disabled here");
        return;
    }
    let dir = std::env::temp_dir().join(format!("socklab-hints-ro-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let b = bin();
    let file = dir.join("x.pcap");
    let mut args: Vec<&str> = NOBODY.to_vec();
    args.extend([
        b.to_str().unwrap(),
        "lab",
        "handshake",
        "-w",
        file.to_str().unwrap(),
    ]);
    let o = run_limited("setpriv", &args, Duration::from_secs(30));
    let _ = std::fs::remove_dir_all(&dir);
    assert_teaching_error(
        &o,
        &[
            "Permission denied (EACCES)",
            &format!("user nobody may not create files in {}", dir.display()),
            "-w /tmp/x.pcap",
        ],
    );
    assert!(
        !stderr(&o).contains("sudo"),
        "no sudo advice for a user without sudo: {}",
        stderr(&o)
    );
}
