//! Every JSON line socklab prints follows one schema, `docs/json-schema.json`
//! (issue 15 point 6): `"v": 1`, a `type`, `ts` in RFC 3339 with
//! nanoseconds and `ts_ns` as a string, events as objects.
//!
//! A battery runs each command that has `--json` (replay on every capture
//! in the repository, `replay --stats --json`, every lesson, trace, the
//! socket-call lines of a merged timeline) and validates every line; then
//! the outputs every other test binary kept (`common::keep_output`) are
//! checked too: each line of a `--json` run that is a JSON object.
//! (Test binaries run in name order: this file's name puts it after every
//! binary that runs `--json`.)

#[path = "common/capfiles.rs"]
#[allow(dead_code)]
mod capfiles;
mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use capfiles::repository_captures;
use common::{bin, keep_output, outputs_dir, run_limited, stderr, stdout};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The schema, compiled once.
fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text = std::fs::read_to_string(repo().join("docs/json-schema.json"))
            .expect("docs/json-schema.json");
        let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
        jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
    })
}

/// The schema's complaints about one value (empty: valid).
fn problems(v: &Value) -> Vec<String> {
    validator()
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Validate every line of `out`: each must be a JSON object of the schema.
/// Returns the objects.
fn check_lines(what: &str, out: &str) -> Vec<Value> {
    let mut objs = Vec::new();
    for line in out.lines() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{what}: not a JSON line ({e}): {line}"));
        let p = problems(&v);
        assert!(p.is_empty(), "{what}: {line}\n  {}", p.join("\n  "));
        objs.push(v);
    }
    objs
}

/// Run socklab; it must succeed.
fn run(args: &[&str]) -> std::process::Output {
    let o = run_limited(bin(), args, Duration::from_secs(60));
    assert!(
        o.status.success(),
        "socklab {args:?} failed ({:?}):\n{}",
        o.status,
        stderr(&o)
    );
    o
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn the_schema_rejects_what_version_1_does_not_allow() {
    let ok = serde_json::json!({"v": 1, "type": "fact", "text": "a fact"});
    assert!(problems(&ok).is_empty(), "{:?}", problems(&ok));
    for bad in [
        serde_json::json!({"type": "fact", "text": "no version"}),
        serde_json::json!({"v": 2, "type": "fact", "text": "version 2"}),
        serde_json::json!({"v": 1, "type": "fact", "text": "x", "extra": 1}),
        serde_json::json!({"v": 1, "type": "no-such-type"}),
        serde_json::json!({"v": 1, "type": "call", "ts": "2026-01-01T00:00:00.000000001Z",
                           "ts_ns": 1767225600000000001u64, "text": "ts_ns as a number"}),
        serde_json::json!({"v": 1, "type": "call", "ts": "2026-01-01T00:00:00Z",
                           "ts_ns": "1767225600000000000", "text": "ts without nanoseconds"}),
        serde_json::json!({"v": 1, "type": "lab_packet", "ts": "2026-01-01T00:00:00.000000001Z",
                           "ts_ns": "1767225600000000001", "t_ns": 0, "from": "client", "proto": "tcp",
                           "flags": "S", "seq": 0, "ack": null, "len": 0, "label": "[S] seq 0",
                           "events": ["syn"], "narration": []}),
    ] {
        assert!(!problems(&bad).is_empty(), "accepted: {bad}");
    }
}

#[test]
fn replay_json_of_every_capture_follows_the_schema() {
    let mut packets = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for f in repository_captures() {
        let o = run(&["replay", path_str(&f), "--json"]);
        let objs = check_lines(&format!("replay {} --json", f.display()), &stdout(&o));
        for v in &objs {
            assert_eq!(v["type"], "packet");
            packets += 1;
            for e in v["events"].as_array().into_iter().flatten() {
                kinds.insert(e["kind"].as_str().unwrap_or("").to_string());
            }
            if let Some(c) = v["course"]["kind"].as_str() {
                kinds.insert(format!("course:{c}"));
            }
        }
        let o = run(&["replay", path_str(&f), "--json", "--absolute-seq", "-v"]);
        check_lines(&format!("replay {} --json -v", f.display()), &stdout(&o));
    }
    eprintln!("{packets} packets; events and course kinds seen: {kinds:?}");
    for k in [
        "syn",
        "syn_ack",
        "established",
        "first_fin",
        "reset",
        "course:udp_calc_request",
    ] {
        assert!(kinds.contains(k), "no {k} among {kinds:?}");
    }
}

#[test]
fn stats_json_is_one_object_of_the_schema() {
    for f in repository_captures() {
        let o = run(&["replay", path_str(&f), "--stats", "--json"]);
        let out = stdout(&o);
        let objs = check_lines(&format!("replay {} --stats --json", f.display()), &out);
        assert_eq!(objs.len(), 1, "one object: {out}");
        let s = &objs[0];
        assert_eq!(s["type"], "stats");
        // The same counts the text report gives.
        let text = stdout(&run(&["replay", path_str(&f), "--stats"]));
        assert!(!text.starts_with('{'), "text without --json: {text}");
        let head = text.lines().next().unwrap_or("");
        let n = s["packets"].as_u64().expect("packets");
        assert!(head.starts_with(&format!("{n} packet")), "{head} vs {n}");
        let tcp_line = text
            .lines()
            .find(|l| l.starts_with("TCP conversations: "))
            .expect("TCP line");
        assert_eq!(
            tcp_line,
            format!("TCP conversations: {}", s["tcp_conversations"]),
            "{text}"
        );
    }
    // A capture with a reset: its outcome is spelled out.
    let o = run(&[
        "replay",
        path_str(&repo().join("captures/lab-abort.pcap")),
        "--stats",
        "--json",
    ]);
    let s: Value = serde_json::from_str(stdout(&o).trim()).expect("JSON");
    assert_eq!(s["tcp"][0]["outcome"]["state"], "reset", "{s}");
    assert_eq!(s["tcp"][0]["outcome"]["cause"], "abort", "{s}");
}

#[test]
fn every_lesson_json_follows_the_schema() {
    let list = stdout(&run(&["lab"]));
    let names: Vec<&str> = list
        .lines()
        .filter(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.len() >= 8, "lessons: {list}");
    for name in names {
        let o = run(&["lab", name, "--json"]);
        let objs = check_lines(&format!("lab {name} --json"), &stdout(&o));
        assert_eq!(objs[0]["type"], "lab", "lab {name}");
        assert_eq!(
            objs.last().map(|v| v["type"].clone()),
            Some("explanation".into())
        );
        let packets: Vec<&Value> = objs.iter().filter(|v| v["type"] == "lab_packet").collect();
        assert!(
            !packets.is_empty() || name == "timeout",
            "lab {name}: no packet"
        );
        // Events are objects with a kind and the sentence.
        for e in packets
            .iter()
            .flat_map(|p| p["events"].as_array().into_iter().flatten())
        {
            assert!(
                e["kind"].is_string() && e["text"].is_string(),
                "lab {name}: {e}"
            );
        }
    }
}

#[test]
fn merged_timeline_call_lines_follow_the_schema() {
    use socklab::capture::Timestamp;
    use socklab::render::packet::{PacketPrinter, PrintOptions};
    let mut p = PacketPrinter::new(PrintOptions {
        json: true,
        ..Default::default()
    });
    let mut out = Vec::new();
    p.socket_call(
        &mut out,
        Timestamp::new(1_767_225_600, 7),
        "connect(127.0.0.1:10009) = 0",
    )
    .expect("vec");
    let objs = check_lines("socket_call", &String::from_utf8_lossy(&out));
    assert_eq!(objs[0]["ts_ns"], "1767225600000000007");
    assert_eq!(objs[0]["ts"], "2026-01-01T00:00:00.000000007Z");
}

/// A TCP peer held by the test (port 0, kept): accepts one client, waits a
/// little (so the client's recv blocks), echoes what came, closes.
fn echo_once() -> (u16, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let h = std::thread::spawn(move || {
        let s = common::accept_within(&l, Duration::from_secs(30));
        let mut s = s;
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        std::thread::sleep(Duration::from_millis(200));
        let _ = s.write_all(&buf[..n]);
    });
    (port, h)
}

#[test]
fn trace_json_follows_the_schema() {
    let packets = socklab::capture::live::can_capture();
    if !packets {
        common::skip("trace's packets need CAP_NET_RAW (run as root); calls only");
    }
    let (port, peer) = echo_once();
    let to = format!("127.0.0.1:{port}");
    let b = bin();
    // -c: the per-socket table goes to stderr, stdout stays JSON.
    let mut args = vec!["trace", "--json", "--inline-output", "-c"];
    if !packets {
        args.push("--no-packets");
    }
    args.extend([
        "--",
        path_str(&b),
        "echo",
        "send",
        "hello",
        "--to",
        &to,
        "--timeout",
        "10",
    ]);
    let o = run_limited(bin(), &args, Duration::from_secs(60));
    let _ = peer.join();
    if !o.status.success() && stderr(&o).contains("ptrace") {
        common::skip(&format!("ptrace is not allowed here: {}", stderr(&o)));
        return;
    }
    assert!(o.status.success(), "{}", stderr(&o));
    let objs = check_lines("trace --json -c", &stdout(&o));
    assert!(!stderr(&o).is_empty(), "the -c table on stderr");
    let types: std::collections::BTreeSet<&str> =
        objs.iter().filter_map(|v| v["type"].as_str()).collect();
    for t in ["call", "output"] {
        assert!(
            types.contains(t),
            "no {t} record: {types:?}\n{}",
            stdout(&o)
        );
    }
    if packets {
        let linked = objs
            .iter()
            .filter(|v| v["type"] == "packet" && v["caused_by"].is_string())
            .count();
        assert!(linked > 0, "no packet tied to a call:\n{}", stdout(&o));
    }
}

/// Every JSON object in the outputs the other test binaries kept.
#[test]
fn json_the_whole_suite_printed_follows_the_schema() {
    let own = stdout(&run(&[
        "replay",
        path_str(&repo().join("captures/echo-nul.pcap")),
        "--json",
    ]));
    keep_output(&["(schema battery)", "--json"], own.as_bytes(), b"");
    let mut checked = 0;
    let mut bad = Vec::new();
    let Ok(entries) = std::fs::read_dir(outputs_dir()) else {
        panic!("no kept outputs in {}", outputs_dir().display());
    };
    // Files older than the binary were written by an older socklab (a
    // test binary not run since the last build).
    let built = std::fs::metadata(bin()).and_then(|m| m.modified()).ok();
    for e in entries.flatten() {
        let modified = e.metadata().and_then(|m| m.modified()).ok();
        if let (Some(b), Some(m)) = (built, modified) {
            if m < b {
                eprintln!(
                    "not checked (older than the binary): {}",
                    e.path().display()
                );
                continue;
            }
        }
        let text =
            String::from_utf8_lossy(&std::fs::read(e.path()).unwrap_or_default()).into_owned();
        let mut json_run = false;
        for line in text.lines() {
            if let Some(cmd) = line.strip_prefix("$ socklab ") {
                json_run = cmd.split(' ').any(|w| w == "--json");
                continue;
            }
            if !json_run || !line.starts_with('{') {
                continue;
            }
            // A line cut short (a test that closed the pipe) is not an object.
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            checked += 1;
            let p = problems(&v);
            if !p.is_empty() {
                bad.push(format!(
                    "{}: {line}\n  {}",
                    e.file_name().to_string_lossy(),
                    p.join("\n  ")
                ));
            }
        }
    }
    eprintln!("checked {checked} JSON lines the suite printed");
    assert!(
        checked > 0,
        "no JSON line found in {}",
        outputs_dir().display()
    );
    assert!(
        bad.is_empty(),
        "{} lines off the schema:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
