//! Real captures: run the `socklab sniff` binary on `lo` while the test
//! makes traffic with std sockets on ephemeral ports, and check the exact
//! packets and narration events it reports (JSON, one object per line).
//!
//! Needs CAP_NET_RAW (CI runs as root); without it each capture test says
//! why and returns. Every socket has a timeout, every wait is bounded, and
//! the sniffer is killed when a test ends, whatever happens.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

mod common;

use common::can_capture;

const BIN: &str = env!("CARGO_BIN_EXE_socklab");
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A running sniffer, killed on drop.
struct Sniffer {
    child: Child,
    stdout: Option<thread::JoinHandle<String>>,
    stderr_rx: mpsc::Receiver<String>,
}

impl Drop for Sniffer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `socklab sniff ARGS` and wait until it says it is listening.
fn start(args: &[&str]) -> Sniffer {
    let mut child = Command::new(BIN)
        .arg("sniff")
        .args(["--color", "never"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn socklab");
    let mut out = child.stdout.take().expect("stdout");
    let err = child.stderr.take().expect("stderr");
    let stdout = thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let (tx, stderr_rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let s = Sniffer {
        child,
        stdout: Some(stdout),
        stderr_rx,
    };
    match s.stderr_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(l) if l.contains("listening on") => {}
        Ok(l) => panic!("sniffer said before listening: {l}"),
        Err(_) => panic!("sniffer did not start listening within 10 s"),
    }
    s
}

impl Sniffer {
    /// Wait for the sniffer to exit by itself (`-c`), or stop it with
    /// SIGINT (Ctrl-C) when `interrupt`; returns stdout and stderr.
    fn finish(mut self, interrupt: bool) -> (String, String) {
        if interrupt {
            // Give the last packets time to be read, then Ctrl-C.
            thread::sleep(Duration::from_millis(300));
            // SAFETY: sending a signal to our own child process by pid.
            unsafe {
                libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                break Some(st);
            }
            if Instant::now() > deadline {
                break None;
            }
            thread::sleep(Duration::from_millis(20));
        };
        let _ = self.child.kill();
        let out = self
            .stdout
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        let mut err = String::new();
        while let Ok(l) = self.stderr_rx.recv_timeout(Duration::from_millis(500)) {
            err.push_str(&l);
            err.push('\n');
        }
        let status = status.unwrap_or_else(|| {
            panic!("sniffer did not exit within 10 s; stdout:\n{out}\nstderr:\n{err}")
        });
        assert!(status.success(), "sniffer failed: {status}\n{err}");
        (out, err)
    }
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l}"))
        })
        .collect()
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

fn events(pkts: &[Value], kind: &str) -> Vec<Value> {
    pkts.iter()
        .flat_map(|p| p["events"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["kind"] == kind)
        .collect()
}

fn count(pkts: &[Value], pred: impl Fn(&Value) -> bool) -> usize {
    pkts.iter().filter(|p| pred(p)).count()
}

#[test]
fn tcp_conversation_each_step_exactly_once() {
    if !can_capture() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let filter = format!("tcp port {port}");
    let sniffer = start(&["--json", &filter]);

    let t0 = now_ns();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        s.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).expect("read hello");
        s.write_all(b"world!").expect("write");
        // Wait for the client's FIN (read returns 0), then close.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let mut c =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), IO_TIMEOUT).expect("connect");
    c.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    c.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    let client_port = c.local_addr().expect("addr").port();
    c.write_all(b"hello").expect("write");
    let mut buf = [0u8; 6];
    c.read_exact(&mut buf).expect("read world");
    c.shutdown(Shutdown::Both).expect("shutdown");
    drop(c);
    server.join().expect("server thread");
    // Let the last ACK go out before stopping.
    thread::sleep(Duration::from_millis(200));
    let (out, err) = sniffer.finish(true);
    let t1 = now_ns();
    let pkts = json_lines(&out);

    let from_client = |p: &Value| p["tcp"]["src_port"] == client_port;
    let flags = |p: &Value| p["tcp"]["flags"].as_str().unwrap_or("").to_string();
    assert_eq!(count(&pkts, |p| flags(p) == "S"), 1, "one SYN:\n{out}");
    assert_eq!(count(&pkts, |p| flags(p) == "S."), 1, "one SYN-ACK:\n{out}");
    assert_eq!(
        count(&pkts, |p| from_client(p) && p["tcp"]["payload_len"] == 5),
        1,
        "the client's data once:\n{out}"
    );
    assert_eq!(
        count(&pkts, |p| !from_client(p) && p["tcp"]["payload_len"] == 6),
        1,
        "the server's data once:\n{out}"
    );
    assert_eq!(
        count(&pkts, |p| from_client(p) && p["tcp"]["fin"] == true),
        1,
        "client FIN once:\n{out}"
    );
    assert_eq!(
        count(&pkts, |p| !from_client(p) && p["tcp"]["fin"] == true),
        1,
        "server FIN once:\n{out}"
    );
    assert_eq!(
        count(&pkts, |p| p["tcp"]["rst"] == true),
        0,
        "no RST:\n{out}"
    );

    // Handshake order and the narration.
    assert_eq!(flags(&pkts[0]), "S");
    assert_eq!(pkts[0]["tcp"]["seq"], 0, "relative sequence numbers");
    // The SYN's options are decoded (it always carries an MSS).
    assert!(
        pkts[0]["tcp"]["options"]
            .as_str()
            .is_some_and(|o| o.starts_with("mss ")),
        "SYN options: {}",
        pkts[0]["tcp"]
    );
    assert_eq!(flags(&pkts[1]), "S.");
    assert_eq!(pkts[1]["tcp"]["ack"], 1);
    assert_eq!(flags(&pkts[2]), ".");
    for kind in [
        "syn",
        "syn_ack",
        "established",
        "first_fin",
        "second_fin",
        "time_wait",
    ] {
        assert_eq!(
            events(&pkts, kind).len(),
            1,
            "event {kind} exactly once:\n{out}"
        );
    }
    assert_eq!(pkts[0]["events"][0]["kind"], "syn");
    assert_eq!(pkts[1]["events"][0]["kind"], "syn_ack");
    assert_eq!(pkts[2]["events"][0]["kind"], "established");
    let client = format!("127.0.0.1.{client_port}");
    assert_eq!(events(&pkts, "first_fin")[0]["from"], client.as_str());
    assert_eq!(events(&pkts, "time_wait")[0]["time_wait"], client.as_str());
    assert_eq!(events(&pkts, "half_close").len(), 0);

    // Kernel timestamps: increasing, inside the wall-clock window.
    let ts: Vec<i128> = pkts
        .iter()
        .map(|p| {
            p["ts_ns"]
                .as_str()
                .and_then(|s| s.parse::<i128>().ok())
                .unwrap_or(0)
        })
        .collect();
    assert!(
        ts.windows(2).all(|w| w[0] <= w[1]),
        "timestamps increase: {ts:?}"
    );
    assert!(
        ts.iter().all(|&t| t >= t0 && t <= t1),
        "timestamps within [{t0}, {t1}]: {ts:?}"
    );
    assert!(ts.windows(2).any(|w| w[0] < w[1]), "sub-second resolution");

    // Ctrl-C ends with the summary on stderr.
    assert!(
        err.contains(&format!("{} packets shown", pkts.len())),
        "{err}"
    );
    assert!(
        err.contains("packets captured") && err.contains("dropped by the kernel"),
        "{err}"
    );
    assert!(
        err.contains("closed first and is left in TIME_WAIT"),
        "{err}"
    );
}

/// A port with nothing listening (bound, then released).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[test]
fn refused_port_gets_rst_ack_narrated_as_refused() {
    if !can_capture() {
        return;
    }
    let port = closed_port();
    let filter = format!("tcp port {port}");
    let sniffer = start(&["--json", "-c", "2", &filter]);
    let r = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), IO_TIMEOUT);
    assert!(r.is_err(), "nothing should listen on {port}");
    let (out, _) = sniffer.finish(false);
    let pkts = json_lines(&out);
    assert_eq!(pkts.len(), 2, "{out}");
    assert_eq!(pkts[0]["tcp"]["flags"], "S");
    assert_eq!(pkts[1]["tcp"]["flags"], "R.");
    assert_eq!(pkts[1]["tcp"]["src_port"], port);
    assert_eq!(pkts[1]["events"][0]["kind"], "reset");
    assert_eq!(pkts[1]["events"][0]["cause"], "refused");
}

/// A bound UDP receiver (so no ICMP port unreachable comes back).
fn udp_pair() -> (UdpSocket, UdpSocket, u16) {
    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    rx.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    let port = rx.local_addr().expect("addr").port();
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    tx.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    (rx, tx, port)
}

#[test]
fn big_udp_datagram_is_captured_whole() {
    if !can_capture() {
        return;
    }
    let (rx, tx, port) = udp_pair();
    let filter = format!("udp port {port}");
    let sniffer = start(&["--json", "-c", "1", &filter]);
    tx.send_to(&vec![0x5a; 20_000], ("127.0.0.1", port))
        .expect("send");
    let mut buf = vec![0u8; 30_000];
    assert_eq!(rx.recv(&mut buf).expect("recv"), 20_000);
    let (out, _) = sniffer.finish(false);
    let pkts = json_lines(&out);
    assert_eq!(pkts.len(), 1, "{out}");
    let p = &pkts[0];
    assert_eq!(p["udp"]["payload_len"], 20_000);
    assert_eq!(p["payload_len"], 20_000, "every payload byte captured");
    assert_eq!(p["len"], 14 + 20 + 8 + 20_000);
    assert_eq!(p["caplen"], 14 + 20 + 8 + 20_000);
    assert_eq!(p["truncated"], false);
    assert!(p["malformed"].is_null());
}

#[test]
fn snap_length_marks_packets_truncated() {
    if !can_capture() {
        return;
    }
    let (rx, tx, port) = udp_pair();
    let filter = format!("udp port {port}");
    let sniffer = start(&["--json", "-c", "1", "-s", "100", &filter]);
    tx.send_to(&vec![1u8; 20_000], ("127.0.0.1", port))
        .expect("send");
    let mut buf = vec![0u8; 30_000];
    let _ = rx.recv(&mut buf);
    let (out, _) = sniffer.finish(false);
    let pkts = json_lines(&out);
    assert_eq!(pkts[0]["caplen"], 100);
    assert_eq!(pkts[0]["len"], 20_042);
    assert_eq!(pkts[0]["truncated"], true);
    assert_eq!(pkts[0]["udp"]["length"], 20_008);
}

#[test]
fn each_loopback_packet_appears_once() {
    if !can_capture() {
        return;
    }
    let (rx, tx, port) = udp_pair();
    let filter = format!("udp and dst port {port}");
    // Text mode: two lines for two datagrams, not four.
    let sniffer = start(&["-c", "2", &filter]);
    tx.send_to(b"one", ("127.0.0.1", port)).expect("send");
    tx.send_to(b"three", ("127.0.0.1", port)).expect("send");
    let mut buf = [0u8; 16];
    let _ = rx.recv(&mut buf);
    let _ = rx.recv(&mut buf);
    let (out, _) = sniffer.finish(false);
    let lines: Vec<&str> = out.lines().filter(|l| l.contains(" > ")).collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].ends_with("UDP, length 3"), "{out}");
    assert!(
        lines[1].ends_with("UDP, length 5"),
        "the second datagram, not a copy of the first:\n{out}"
    );
}

#[test]
fn bad_filter_points_at_the_token() {
    let out = Command::new(BIN)
        .args(["sniff", "tcp", "and", "prot", "80"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown word 'prot'"), "{err}");
    assert!(err.contains("  tcp and prot 80\n          ^^^^"), "{err}");
}

#[test]
fn without_cap_net_raw_the_error_says_how_to_get_it() {
    let mut cmd = Command::new(BIN);
    cmd.args(["sniff", "-c", "1"]).stdin(Stdio::null());
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // Run as nobody, who has no capabilities.
        cmd.uid(65534).gid(65534);
    } else if socklab::capture::live::can_capture() {
        common::skip("this unprivileged user has CAP_NET_RAW (file capabilities?); run it as root or as a user without it");
        return;
    }
    let out = cmd.output().expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CAP_NET_RAW"), "{err}");
    // The hint repeats the command that was run, under sudo.
    assert!(err.contains(&format!("`sudo {BIN} sniff -c 1`")), "{err}");
    assert!(err.contains("setcap cap_net_raw+ep"), "{err}");
    assert!(err.contains("socklab lab"), "{err}");
    assert!(!err.contains("Os {"), "no debug dump: {err}");
}

#[test]
fn background_capture_hands_over_packets_with_kernel_timestamps() {
    use socklab::capture::background::BackgroundCapture;
    use socklab::capture::live::LiveConfig;
    use socklab::wire::packet::decode_captured;
    if !can_capture() {
        return;
    }
    // A capture that lost packets (another program flooding lo, e.g. a
    // benchmark beside the suite) proves nothing either way: again, at
    // most three times, and the last one must be whole.
    let mut attempt = 0;
    let (packets, stats, port, t0, t1) = loop {
        attempt += 1;
        let (rx, tx, port) = udp_pair();
        let cap = BackgroundCapture::start(&LiveConfig::new("lo")).expect("open lo");
        let t0 = now_ns();
        tx.send_to(b"ping", ("127.0.0.1", port)).expect("send");
        let mut buf = [0u8; 8];
        let _ = rx.recv(&mut buf);
        // The kernel stamps a loopback packet as it is received, which can be
        // just after sendto() returns: the window closes after recv().
        let t1 = now_ns();
        // stop() drains: the datagram is there even though nobody read it yet.
        let (packets, stats) = cap.stop().expect("stop");
        if stats.dropped == 0 || attempt == 3 {
            break (packets, stats, port, t0, t1);
        }
        eprintln!(
            "the kernel dropped {} packets (busy lo); again",
            stats.dropped
        );
    };
    let mine: Vec<_> = packets
        .iter()
        .filter(|p| {
            let d = decode_captured(p.link, &p.data, p.orig_len);
            d.udp().is_some_and(|u| u.dst_port == port)
        })
        .collect();
    assert_eq!(mine.len(), 1, "exactly one copy of the datagram");
    let ts = mine[0].ts.as_nanos();
    assert!(
        ts >= t0 && ts <= t1,
        "kernel timestamp {ts} within [{t0}, {t1}]"
    );
    assert_eq!(
        decode_captured(mine[0].link, &mine[0].data, mine[0].orig_len).payload_bytes(),
        b"ping"
    );
    assert_eq!(stats.dropped, 0);
}

/// Run `client` against a server thread running `server` on a fresh
/// listener at `bind`, while sniffing `tcp port P` as JSON; returns the
/// packets and the sniffer's stderr. `None` when `bind` is unavailable.
fn tcp_scenario(
    bind: &str,
    server: impl FnOnce(TcpStream) + Send + 'static,
    client: impl FnOnce(TcpStream),
) -> Option<(Vec<Value>, String, String)> {
    let listener = match TcpListener::bind(bind) {
        Ok(l) => l,
        Err(e) => {
            common::skip(&format!("cannot bind {bind}: {e}"));
            return None;
        }
    };
    let addr = listener.local_addr().expect("addr");
    let filter = format!("tcp port {}", addr.port());
    let sniffer = start(&["--json", &filter]);
    let srv = thread::spawn(move || {
        let (s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        s.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
        server(s);
    });
    let c = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    c.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    c.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    let client_end = format!(
        "{}.{}",
        c.local_addr().expect("addr").ip(),
        c.local_addr().expect("addr").port()
    );
    client(c);
    srv.join().expect("server thread");
    thread::sleep(Duration::from_millis(200));
    let (out, err) = sniffer.finish(true);
    Some((json_lines(&out), err, client_end))
}

#[test]
fn close_with_unread_data_is_an_abort_rst() {
    if !can_capture() {
        return;
    }
    let Some((pkts, _, client)) = tcp_scenario(
        "127.0.0.1:0",
        |s| {
            // Wait until the client's bytes are in our receive buffer, then
            // close without reading them: the kernel sends RST, not FIN.
            let mut b = [0u8; 1];
            let _ = s.peek(&mut b);
            drop(s);
        },
        |mut c| {
            c.write_all(b"never read").expect("write");
            let mut buf = [0u8; 16];
            let r = c.read(&mut buf);
            assert!(
                r.is_err() || r.is_ok_and(|n| n == 0),
                "the server sent no data"
            );
        },
    ) else {
        return;
    };
    let resets = events(&pkts, "reset");
    assert_eq!(resets.len(), 1, "{pkts:#?}");
    assert_eq!(resets[0]["cause"], "abort");
    assert_ne!(
        resets[0]["from"],
        client.as_str(),
        "the server sent the RST"
    );
    assert_eq!(
        count(&pkts, |p| p["tcp"]["fin"] == true
            && p["tcp"]["src_port"] != pkts[0]["tcp"]["src_port"]),
        0,
        "no FIN from the server"
    );
}

#[test]
fn shutdown_write_then_reply_is_a_half_close() {
    if !can_capture() {
        return;
    }
    let Some((pkts, _, client)) = tcp_scenario(
        "127.0.0.1:0",
        |mut s| {
            let mut req = Vec::new();
            s.read_to_end(&mut req)
                .expect("read until the client's FIN");
            s.write_all(b"reply after your FIN").expect("write");
        },
        |mut c| {
            c.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("write");
            c.shutdown(Shutdown::Write).expect("shutdown(SHUT_WR)");
            let mut body = Vec::new();
            c.read_to_end(&mut body).expect("read reply");
            assert_eq!(body, b"reply after your FIN");
        },
    ) else {
        return;
    };
    let hc = events(&pkts, "half_close");
    assert_eq!(hc.len(), 1, "{pkts:#?}");
    assert_eq!(hc[0]["closed"], client.as_str());
    assert_eq!(events(&pkts, "first_fin")[0]["from"], client.as_str());
    assert_eq!(events(&pkts, "second_fin").len(), 1);
    assert_eq!(events(&pkts, "time_wait")[0]["time_wait"], client.as_str());
}

#[test]
fn ipv6_loopback_handshake() {
    if !can_capture() {
        return;
    }
    let Some((pkts, _, _)) = tcp_scenario(
        "[::1]:0",
        |mut s| {
            let mut b = [0u8; 2];
            let _ = s.read_exact(&mut b);
        },
        |mut c| {
            c.write_all(b"hi").expect("write");
        },
    ) else {
        return;
    };
    assert!(pkts.iter().all(|p| p["ip"]["version"] == 6), "{pkts:#?}");
    assert_eq!(pkts[0]["ip"]["src"], "::1");
    assert_eq!(pkts[0]["tcp"]["flags"], "S");
    for kind in ["syn", "syn_ack", "established"] {
        assert_eq!(events(&pkts, kind).len(), 1, "{kind}");
    }
    assert_eq!(count(&pkts, |p| p["tcp"]["payload_len"] == 2), 1);
}

/// The `--sniff` design, end to end: a background capture, socket calls
/// stamped by the program, packets rendered by the pipeline, merged by
/// time: each call comes before the packets it caused.
#[test]
fn socket_calls_interleave_before_the_packets_they_cause() {
    use socklab::capture::background::BackgroundCapture;
    use socklab::capture::live::LiveConfig;
    use socklab::capture::Timestamp;
    use socklab::filter::Filter;
    use socklab::render::packet::{PrintOptions, Timeline, TimelineItem};
    use socklab::sniff::Pipeline;
    if !can_capture() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let cap = BackgroundCapture::start(&LiveConfig::new("lo")).expect("open lo");
    let mut timeline = Timeline::new();

    timeline.push(
        Timestamp::now(),
        TimelineItem::Call(format!("connect(127.0.0.1:{port})")),
    );
    let mut c =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), IO_TIMEOUT).expect("connect");
    c.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    let (s, _) = listener.accept().expect("accept");
    timeline.push(Timestamp::now(), TimelineItem::Call("send(5 bytes)".into()));
    c.write_all(b"hello").expect("write");
    thread::sleep(Duration::from_millis(50));
    timeline.push(Timestamp::now(), TimelineItem::Call("close()".into()));
    drop(c);
    thread::sleep(Duration::from_millis(50));
    drop(s);
    let (packets, _) = cap.stop().expect("stop");

    let filter = Filter::parse(&format!("tcp port {port}")).expect("filter");
    let mut pipe = Pipeline::new(filter, PrintOptions::default());
    for p in &packets {
        let mut buf = Vec::new();
        if pipe.handle(&mut buf, &p.as_packet()).expect("render") {
            timeline.push(p.ts, TimelineItem::Rendered(buf));
        }
    }
    let mut out = Vec::new();
    timeline.flush_all(&mut out, pipe.printer()).expect("vec");
    let text = String::from_utf8(out).expect("utf8");
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing from:\n{text}"))
    };
    assert!(at("call connect(") < at("Flags [S]"), "{text}");
    assert!(at("Flags [S]") < at("call send(5 bytes)"), "{text}");
    assert!(at("call send(5 bytes)") < at("length 5"), "{text}");
    assert!(at("length 5") < at("call close()"), "{text}");
    assert!(at("call close()") < at("closes first (FIN)"), "{text}");
}

#[test]
fn socklab_client_and_server_conversation_each_step_exactly_once() {
    if !can_capture() {
        return;
    }
    let port = common::tcp_port();
    let to = format!("127.0.0.1:{port}");
    let _server = common::Server::socklab(&["tcp-calc", "serve", "-q", "--bind", &to]);
    let sniffer = start(&["--json", "tcp", "port", &port.to_string()]);
    let out = common::stdout(&common::socklab(&[
        "tcp-calc", "ask", "5", "8", "sub", "--to", &to,
    ]));
    assert!(out.ends_with("result: -3\n"), "{out}");
    let (out, _err) = sniffer.finish(true);
    let pkts = json_lines(&out);
    let flags = |p: &Value| p["tcp"]["flags"].as_str().unwrap_or("").to_string();
    let to_server = |p: &Value| p["tcp"]["dst_port"] == port;
    assert_eq!(count(&pkts, |p| flags(p) == "S"), 1, "one SYN:\n{out}");
    assert_eq!(count(&pkts, |p| flags(p) == "S."), 1, "one SYN-ACK:\n{out}");
    assert_eq!(
        events(&pkts, "established").len(),
        1,
        "one handshake ACK:\n{out}"
    );
    // The course client sends each NUL-terminated number in its own segment.
    assert_eq!(
        count(&pkts, |p| to_server(p) && p["tcp"]["payload_len"] == 2),
        3,
        "three 2-byte numbers:\n{out}"
    );
    assert_eq!(
        count(&pkts, |p| !to_server(p) && p["tcp"]["payload_len"] == 4),
        1,
        "one 4-byte reply \"-3\\x00\\x00\":\n{out}"
    );
    assert_eq!(
        count(&pkts, |p| to_server(p) && p["tcp"]["fin"] == true),
        1,
        "{out}"
    );
    assert_eq!(
        count(&pkts, |p| !to_server(p) && p["tcp"]["fin"] == true),
        1,
        "{out}"
    );
    assert_eq!(
        count(&pkts, |p| p["tcp"]["rst"] == true),
        0,
        "no RST:\n{out}"
    );
    for kind in [
        "syn",
        "syn_ack",
        "established",
        "first_fin",
        "second_fin",
        "time_wait",
    ] {
        assert_eq!(events(&pkts, kind).len(), 1, "event {kind} once:\n{out}");
    }
}
