//! `socklab trace --decode PORT=PROTO` (issue 12, point 1): the traced
//! program's call bytes and its packets are decoded as the rule says, on a
//! port no course default names. Written in tests/trace.rs's style; the
//! traced program is socklab's own tcp-calc client (no python3 needed),
//! the server is this test, on a port it bound (port 0) and keeps.
//!
//! Needs CAP_NET_RAW and ptrace (root); without them it says why and
//! returns, except under CI, where it fails.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::Duration;

use common::*;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

/// A tcp-calc server for `n` connections: reads three NUL-terminated
/// numbers, answers "13\0\0", closes. Every wait is bounded.
fn serve(l: TcpListener, n: usize) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for _ in 0..n {
            let mut s = accept_within(&l, LIMIT);
            s.set_read_timeout(Some(LIMIT)).expect("timeout");
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            while got.iter().filter(|&&b| b == 0).count() < 3 {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => got.extend_from_slice(&buf[..k]),
                }
            }
            let _ = s.write_all(b"13\0\0");
        }
    })
}

/// `socklab trace --json ARGS -- socklab tcp-calc ask 5 8 add --to ADDR`: its JSON objects.
fn trace(to: &str, args: &[&str]) -> (Vec<Value>, String) {
    let me = bin();
    let me = me.to_str().expect("utf-8 path");
    let mut a = vec!["trace", "--json"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--", me, "tcp-calc", "ask", "5", "8", "add", "--to", to]);
    let o = run_limited(bin(), &a, LIMIT);
    let text = format!("{}\n{}", stdout(&o), stderr(&o));
    assert!(o.status.success(), "{text}");
    let objs = stdout(&o)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    (objs, text)
}

fn call_courses(objs: &[Value]) -> Vec<String> {
    objs.iter()
        .filter(|v| v["type"] == "call")
        .filter_map(|v| v["course"].as_str().map(String::from))
        .collect()
}

fn packet_courses(objs: &[Value]) -> Vec<String> {
    objs.iter()
        .filter(|v| v["type"] == "packet")
        .filter_map(|v| v["course"]["text"].as_str().map(String::from))
        .collect()
}

#[test]
fn decode_names_the_protocol_of_calls_and_packets_on_another_port() {
    if !can_capture() {
        return;
    }
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let to = format!("127.0.0.1:{port}");
    let server = serve(l, 2);

    // Without a rule (and without recognition by conversation): bytes only.
    let (objs, text) = trace(&to, &["--no-heuristics"]);
    assert!(call_courses(&objs).is_empty(), "{text}");
    assert!(packet_courses(&objs).is_empty(), "{text}");

    let rule = format!("{port}=tcp-calc");
    let (objs, text) = trace(&to, &["--no-heuristics", "--decode", &rule]);
    let calls = call_courses(&objs);
    for want in [
        "tcp-calc numbers: 5",
        "tcp-calc numbers: 8",
        "tcp-calc numbers: 0",
        "tcp-calc reply: 13",
    ] {
        assert!(
            calls.iter().any(|c| c == want),
            "no call decoded as {want:?}: {calls:?}\n{text}"
        );
    }
    let packets = packet_courses(&objs);
    assert!(
        packets.iter().any(|c| c.starts_with("tcp-calc numbers: 5")),
        "{packets:?}\n{text}"
    );
    assert!(
        packets.iter().any(|c| c == "tcp-calc reply: 13"),
        "{packets:?}\n{text}"
    );
    server.join().expect("server thread");
}
