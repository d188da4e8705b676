//! Every lab lesson runs and its packets and outcomes are checked against
//! what the lesson teaches. Runs as root in CI (host lo); as an unprivileged
//! user the lab uses a private network namespace (tested explicitly).

mod common;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use common::*;

/// Run `socklab lab NAME --json` and parse its lines.
fn lab(name: &str) -> Vec<Value> {
    // A lesson whose capture lost packets (another program flooding lo,
    // e.g. a benchmark beside the suite) says so in its `lab` record; run
    // it again then, at most three times.
    for attempt in 1..=3 {
        let o = run_limited(bin(), &["lab", name, "--json"], Duration::from_secs(30));
        assert!(o.status.success(), "lab {name} failed:\n{}", stderr(&o));
        let v: Vec<Value> = stdout(&o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line ({e}): {l}")))
            .collect();
        let dropped = v[0]["dropped"]
            .as_u64()
            .unwrap_or_else(|| panic!("no dropped count in the lab record: {}", v[0]));
        if dropped == 0 || attempt == 3 {
            return v;
        }
        eprintln!("lab {name}: the kernel dropped {dropped} packets (busy lo); again");
    }
    unreachable!()
}

/// The records of one type; a lab packet is `lab_packet`.
fn of_kind<'a>(v: &'a [Value], kind: &str) -> Vec<&'a Value> {
    let kind = if kind == "packet" { "lab_packet" } else { kind };
    v.iter().filter(|x| x["type"] == kind).collect()
}

/// `from:flags` for every TCP packet, e.g. `client:S`.
fn tcp_seq(v: &[Value]) -> Vec<String> {
    of_kind(v, "packet")
        .iter()
        .filter(|p| p["proto"] == "tcp")
        .map(|p| {
            format!(
                "{}:{}",
                p["from"].as_str().unwrap_or(""),
                p["flags"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn facts(v: &[Value]) -> String {
    of_kind(v, "fact")
        .iter()
        .map(|f| f["text"].as_str().unwrap_or("").to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn events(v: &[Value]) -> Vec<String> {
    of_kind(v, "packet")
        .iter()
        .flat_map(|p| p["events"].as_array().cloned().unwrap_or_default())
        .map(|e| e["kind"].as_str().unwrap_or("").to_string())
        .collect()
}

fn call_t(v: &[Value], prefix: &str) -> i64 {
    of_kind(v, "call")
        .iter()
        .find(|c| c["text"].as_str().unwrap_or("").starts_with(prefix))
        .and_then(|c| c["t_ns"].as_i64())
        .unwrap_or_else(|| panic!("no call {prefix:?}"))
}

fn packet_t(v: &[Value], from: &str, flags: &str) -> i64 {
    of_kind(v, "packet")
        .iter()
        .find(|p| p["from"] == from && p["flags"] == flags)
        .and_then(|p| p["t_ns"].as_i64())
        .unwrap_or_else(|| panic!("no {from} {flags} packet"))
}

fn can_capture() -> bool {
    // As root the lab uses the host's lo; otherwise it needs user namespaces.
    socklab::capture::live::can_capture()
        || Command::new("unshare")
            .args(["-Urn", "true"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
}

#[test]
fn handshake_is_syn_synack_ack_after_connect() {
    if !can_capture() {
        common::skip("no CAP_NET_RAW and no user namespaces");
        return;
    }
    let v = lab("handshake");
    assert_eq!(tcp_seq(&v), ["client:S", "server:S.", "client:."], "{v:?}");
    assert_eq!(events(&v), ["syn", "syn_ack", "established"]);
    assert!(call_t(&v, "connect(") < packet_t(&v, "client", "S"));
    assert!(call_t(&v, "accept()") > packet_t(&v, "server", "S."));
}

#[test]
fn close_is_fin_ack_fin_ack_with_time_wait_on_the_closer() {
    if !can_capture() {
        common::skip("no CAP_NET_RAW and no user namespaces");
        return;
    }
    let v = lab("close");
    let seq = tcp_seq(&v);
    assert_eq!(seq[..3], ["client:S", "server:S.", "client:."], "{seq:?}");
    assert_eq!(
        seq[seq.len() - 4..],
        ["client:F.", "server:.", "server:F.", "client:."],
        "{seq:?}"
    );
    let ev = events(&v);
    assert!(
        ev.contains(&"first_fin".to_string()) && ev.contains(&"time_wait".to_string()),
        "{ev:?}"
    );
    let f = facts(&v);
    assert!(f.contains("recv() returned 0 bytes"), "{f}");
    assert!(
        f.contains("the client's side") && f.contains("as TIME_WAIT"),
        "{f}"
    );
    assert!(call_t(&v, "close()") < packet_t(&v, "client", "F."));
}

#[test]
fn refused_is_exactly_syn_then_rst_ack() {
    if !can_capture() {
        common::skip("no CAP_NET_RAW and no user namespaces");
        return;
    }
    let v = lab("refused");
    assert_eq!(tcp_seq(&v), ["client:S", "server:R."]);
    assert!(facts(&v).contains("connect() failed: Connection refused (ECONNREFUSED)"));
}

#[test]
fn abort_resets_from_unread_data_and_from_linger_zero() {
    if !can_capture() {
        common::skip("no CAP_NET_RAW and no user namespaces");
        return;
    }
    let v = lab("abort");
    let seq = tcp_seq(&v);
    let rsts: Vec<&String> = seq.iter().filter(|s| s.contains('R')).collect();
    assert_eq!(rsts, ["server:R.", "client:R."], "{seq:?}");
    assert!(
        !seq.iter().any(|s| s.contains('F')),
        "an abort sends no FIN: {seq:?}"
    );
    assert_eq!(events(&v).iter().filter(|e| *e == "reset").count(), 2);
    let f = facts(&v);
    assert!(
        f.contains("the client's recv() failed: Connection reset by peer (ECONNRESET)"),
        "{f}"
    );
    assert!(
        f.contains("the server's recv() failed: Connection reset by peer (ECONNRESET)"),
        "{f}"
    );
    assert!(call_t(&v, "setsockopt(SO_LINGER") < packet_t(&v, "client", "R."));
}

#[test]
fn half_close_fin_then_data_flows_back() {
    if !can_capture() {
        common::skip("no CAP_NET_RAW and no user namespaces");
        return;
    }
    let v = lab("half-close");
    let seq = tcp_seq(&v);
    let fin = seq
        .iter()
        .position(|s| s == "client:F.")
        .expect("client FIN");
    let data = seq
        .iter()
        .position(|s| s == "server:P.")
        .expect("server data");
    assert!(fin < data, "{seq:?}");
    assert!(events(&v).contains(&"half_close".to_string()));
    assert!(call_t(&v, "shutdown(SHUT_WR)") < packet_t(&v, "client", "F."));
    assert!(facts(&v).contains("after its shutdown(SHUT_WR) the client still received 25 bytes"));
}

#[test]
fn reuseaddr_first_bind_fails_then_succeeds() {
    if !can_capture() {
        common::skip("no CAP_NET_RAW and no user namespaces");
        return;
    }
    let v = lab("reuseaddr");
    let f = facts(&v);
    assert!(
        f.contains("the server's side") && f.contains("as TIME_WAIT"),
        "{f}"
    );
    assert!(
        f.contains("without SO_REUSEADDR failed: Address already in use (EADDRINUSE)"),
        "{f}"
    );
    assert!(f.contains("with SO_REUSEADDR succeeded"), "{f}");
    let seq = tcp_seq(&v);
    assert_eq!(
        seq.iter()
            .filter(|s| s.ends_with('F') || s.ends_with("F."))
            .count(),
        2
    );
    assert_eq!(
        seq.iter().position(|s| s.contains('F')),
        seq.iter().position(|s| s == "server:F.")
    );
}

#[test]
fn timeout_is_silence_then_eagain() {
    if !can_capture() {
        common::skip("no CAP_NET_RAW and no user namespaces");
        return;
    }
    let v = lab("timeout");
    assert!(
        facts(&v).contains("recv() timed out after 0.5 s"),
        "{}",
        facts(&v)
    );
    let est = packet_t(&v, "client", ".");
    let fin = packet_t(&v, "client", "F.");
    assert!(
        fin - est >= 500_000_000,
        "the client waited 0.5 s in silence"
    );
    let between = of_kind(&v, "packet")
        .iter()
        .filter(|p| p["t_ns"].as_i64().is_some_and(|t| t > est && t < fin))
        .count();
    assert_eq!(between, 0, "a timeout sends nothing");
}

#[test]
fn udp_calc_native_then_network_order() {
    if !can_capture() {
        common::skip("no CAP_NET_RAW and no user namespaces");
        return;
    }
    let v = lab("udp-calc");
    let udp: Vec<(String, u64)> = of_kind(&v, "packet")
        .iter()
        .map(|p| {
            (
                p["from"].as_str().unwrap_or("").to_string(),
                p["len"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = [("client", 12), ("server", 4), ("client", 12), ("server", 4)]
        .iter()
        .map(|(a, b)| (a.to_string(), *b))
        .collect();
    assert_eq!(udp, want);
    let f = facts(&v);
    assert!(
        f.contains("native \"III\" order: the client read the result 260"),
        "{f}"
    );
    assert!(f.contains("a=167772160 b=4194304000"), "{f}");
    assert!(
        f.contains("network \"!III\" order: the client read the result 4"),
        "{f}"
    );
}

#[test]
fn split_needs_several_recv_calls() {
    if !can_capture() {
        common::skip("no CAP_NET_RAW and no user namespaces");
        return;
    }
    let v = lab("split");
    let f = facts(&v);
    assert!(
        f.contains("needed 4 recv() calls (2 + 2 + 3 + 2 bytes) for three numbers: [123, 45, 0]"),
        "{f}"
    );
    assert!(
        f.contains("needed 3 recv() calls (20 + 30 + 17 bytes) for one 67-byte record"),
        "{f}"
    );
    let data: Vec<u64> = of_kind(&v, "packet")
        .iter()
        .filter(|p| p["from"] == "client" && p["len"].as_u64().unwrap_or(0) > 0)
        .map(|p| p["len"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(
        data,
        [2, 2, 3, 2, 20, 30, 17],
        "each send() is its own segment"
    );
}

#[test]
fn listing_and_unknown_lesson() {
    let o = socklab(&["lab"]);
    let out = stdout(&o);
    for name in [
        "handshake",
        "close",
        "refused",
        "abort",
        "half-close",
        "reuseaddr",
        "timeout",
        "udp-calc",
        "split",
    ] {
        assert!(out.contains(&format!("  {name} ")), "{out}");
    }
    let o = socklab(&["lab", "nope"]);
    assert_teaching_error(
        &o,
        &["no lesson called 'nope'", "handshake, close, refused"],
    );
}

#[test]
fn text_report_has_ladder_and_explanation() {
    if !can_capture() {
        common::skip("no CAP_NET_RAW and no user namespaces");
        return;
    }
    let o = run_limited(bin(), &["lab", "handshake"], Duration::from_secs(30));
    let out = stdout(&o);
    assert!(out.contains("connect(127.0.0.1:"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("connect(") && l.contains("|--- [S] seq 0")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("|<") && l.contains("[S.] seq 0 ack 1 ---")),
        "{out}"
    );
    assert!(
        out.contains("What happened:") && out.contains("What the programs saw:"),
        "{out}"
    );
}

/// The no-root path: run the lab as `nobody` (CI is root, so setpriv can do it).
#[test]
fn without_root_the_lab_runs_in_a_private_namespace() {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    if !is_root {
        common::skip("switching to an unprivileged user needs root (CI runs as root)");
        return;
    }
    let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"];
    let ns_ok = Command::new("setpriv")
        .args(nobody)
        .args(["unshare", "-Urn", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ns_ok {
        common::skip("unprivileged user namespaces are disabled here");
        return;
    }
    let b = bin();
    let mut args: Vec<&str> = nobody.to_vec();
    args.extend([b.to_str().unwrap(), "lab", "refused", "--json"]);
    let o = run_limited("setpriv", &args, Duration::from_secs(30));
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Vec<Value> = stdout(&o)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(v[0]["mode"], "namespace", "{v:?}");
    assert_eq!(tcp_seq(&v), ["client:S", "server:R."]);
    // The text mode says so in one line.
    let mut args: Vec<&str> = nobody.to_vec();
    args.extend([b.to_str().unwrap(), "lab", "handshake"]);
    let o = run_limited("setpriv", &args, Duration::from_secs(30));
    assert!(
        stderr(&o).contains("private network namespace"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).contains("[S.] seq 0 ack 1"), "{}", stdout(&o));
}

#[test]
fn svg_picture_of_the_ladder() {
    if !can_capture() {
        common::skip("no CAP_NET_RAW and no user namespaces");
        return;
    }
    let path = std::env::temp_dir().join(format!("socklab-lab-{}.svg", std::process::id()));
    let p = path.to_str().unwrap().to_string();
    let o = run_limited(
        bin(),
        &["lab", "refused", "--svg", &p],
        Duration::from_secs(30),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&path).expect("svg written");
    let _ = std::fs::remove_file(&path);
    assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(
        svg.matches(r#"class="arrow""#).count(),
        2,
        "SYN and RST-ACK"
    );
    assert!(svg.contains("[R.] seq 0 ack 1"));
}

#[test]
fn write_saves_the_lessons_packets_for_replay() {
    if !can_capture() {
        common::skip("no CAP_NET_RAW and no user namespaces");
        return;
    }
    let path = std::env::temp_dir().join(format!("socklab-lab-{}.pcap", std::process::id()));
    let p = path.to_str().unwrap().to_string();
    let o = run_limited(
        bin(),
        &["lab", "refused", "-w", &p],
        Duration::from_secs(30),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("2 packets saved"), "{}", stderr(&o));
    let r = run_limited(
        bin(),
        &["replay", &p, "--color", "never"],
        Duration::from_secs(30),
    );
    let _ = std::fs::remove_file(&path);
    let out = stdout(&r);
    assert!(
        out.contains("Flags [S]") && out.contains("Flags [R.]"),
        "{out}"
    );
    assert!(out.contains("-- connection refused"), "{out}");
}

/// Every udp-calc request's narrated result (`= N`) equals the value the
/// next reply's bytes carry (`result N`), read in the same order.
fn narrated_results_match_replies(v: &[Value]) {
    let narr: Vec<String> = of_kind(v, "packet")
        .iter()
        .filter(|p| p["proto"] == "udp")
        .map(|p| p["narration"][0].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(narr.len(), 4, "{narr:?}");
    for pair in narr.chunks(2) {
        let said = pair[0]
            .split(" = ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no result in {:?}", pair[0]));
        let sent = pair[1]
            .strip_prefix("udp-calc reply: result ")
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("not a reply: {:?}", pair[1]));
        assert_eq!(said, sent, "narration {:?} vs reply {:?}", pair[0], pair[1]);
    }
}

#[test]
fn regression_udp_calc_narration_said_4362076160_while_the_server_sent_67108864() {
    if !can_capture() {
        common::skip("no CAP_NET_RAW and no user namespaces");
        return;
    }
    let v = lab("udp-calc");
    narrated_results_match_replies(&v);
    let narr = of_kind(&v, "packet")[2]["narration"][0]
        .as_str()
        .unwrap_or("")
        .to_string();
    if cfg!(target_endian = "little") {
        assert!(
            narr.contains("= 67108864 (4362076160 wrapped modulo 2^32)"),
            "{narr}"
        );
    }
}

/// Run in a private network namespace: bring `lo` up, start the course's
/// Python UDP calculator on 10009 (the course port is private to the
/// namespace), run `lab udp-calc` and `lab split`, print both outputs, and
/// save `lab udp-calc -w FILE` (a pcapng).
const COURSE_SERVER_RUNNING: &str = r#"
import fcntl, socket, struct, subprocess, sys
s = socket.socket()
fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", 0x1 | 0x8 | 0x40))  # SIOCSIFFLAGS up
peer, socklab = sys.argv[1], sys.argv[2]
srv = subprocess.Popen([sys.executable, "-u", peer, "10009"], stdout=subprocess.PIPE, text=True)
try:
    assert srv.stdout.readline().strip() == "ready"
    for name in ("udp-calc", "split"):
        o = subprocess.run([socklab, "lab", name, "--json"], capture_output=True, text=True, timeout=30)
        print(f"=== {name} {o.returncode}")
        print(o.stdout, end="")
        sys.stderr.write(o.stderr)
    o = subprocess.run([socklab, "lab", "udp-calc", "-w", sys.argv[3]], capture_output=True, text=True, timeout=30)
    print(f"=== saved {o.returncode}")
    sys.stderr.write(o.stderr)
    print("=== server", "alive" if srv.poll() is None else "dead")
finally:
    srv.kill()
    srv.wait()
"#;

#[test]
fn lessons_run_beside_a_course_udp_server_on_10009_without_sharing_its_port() {
    if !have_python_peers() {
        return;
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let unshare: &[&str] = if is_root { &["-n"] } else { &["-Urn"] };
    let ok = Command::new("unshare")
        .args(unshare)
        .arg("true")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        common::skip(
            "cannot create a network namespace (unshare -n needs root or user namespaces)",
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("socklab-lab-beside-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let script = dir.join("beside.py");
    std::fs::write(&script, COURSE_SERVER_RUNNING).expect("write script");
    let peer = peer("udp_calc_server.py");
    let b = bin();
    let saved = dir.join("udp-calc.pcapng");
    let mut args: Vec<&str> = unshare.to_vec();
    args.extend([
        "python3",
        script.to_str().unwrap(),
        peer.to_str().unwrap(),
        b.to_str().unwrap(),
        saved.to_str().unwrap(),
    ]);
    let o = run_limited("unshare", &args, Duration::from_secs(90));
    let out = stdout(&o);
    // The saved lesson (on an ephemeral port) replays with the lesson's decoding.
    assert!(out.contains("=== saved 0"), "{out}\n{}", stderr(&o));
    let r = run_limited(
        bin(),
        &["replay", saved.to_str().unwrap(), "--color", "never"],
        Duration::from_secs(30),
    );
    let _ = std::fs::remove_dir_all(&dir);
    let replayed: Vec<String> = stdout(&r)
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix(".. "))
        .map(str::to_string)
        .collect();
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    let part = |name: &str| -> Vec<Value> {
        let start = out
            .find(&format!("=== {name} "))
            .unwrap_or_else(|| panic!("no {name} part:\n{out}"));
        let rest = &out[start..];
        let mut lines = rest.lines();
        let head = lines.next().unwrap_or("");
        assert!(
            head.ends_with(" 0"),
            "lab {name} failed: {head}\n{}",
            stderr(&o)
        );
        lines
            .take_while(|l| !l.starts_with("==="))
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON ({e}): {l}")))
            .collect()
    };
    let udp = part("udp-calc");
    let f = facts(&udp);
    assert!(
        f.contains("UDP port 10009 is held by another program"),
        "{f}"
    );
    assert!(f.contains("the client read the result 260"), "{f}");
    assert!(f.contains("the client read the result 4"), "{f}");
    let ports = udp[0]["server_ports"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !ports.is_empty() && !ports.iter().any(|p| p == 10009),
        "the lesson shared the course server's port: {ports:?}"
    );
    narrated_results_match_replies(&udp);
    let live: Vec<String> = of_kind(&udp, "packet")
        .iter()
        .filter_map(|p| p["narration"][0].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        replayed, live,
        "replay of the saved lesson decodes as the lesson did"
    );
    let split = facts(&part("split"));
    assert!(
        split.contains("needed 3 recv() calls (20 + 30 + 17 bytes) for one 67-byte record"),
        "{split}"
    );
    assert!(out.contains("=== server alive"), "{out}");
}
