//! `socklab dissector`: tshark with the printed Lua script extracts the
//! same fields socklab shows (issue 12, point 5). Needs tshark (CI installs it).

#[path = "common/capfiles.rs"]
#[allow(dead_code)]
mod capfiles;
mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use capfiles::*;
use common::*;
use serde_json::Value;

fn have_tshark() -> bool {
    let ok = Command::new("tshark")
        .arg("-v")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        skip("tshark is not installed (.ci/run installs it)");
    }
    ok
}

/// Write `socklab dissector ARGS` into `dir/socklab.lua`.
fn script(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["dissector"];
    all.extend_from_slice(args);
    let o = run_limited(bin(), &all, Duration::from_secs(10));
    assert!(o.status.success(), "{}", stderr(&o));
    let path = dir.join("socklab.lua");
    std::fs::write(&path, &o.stdout).expect("write script");
    path.to_str().expect("utf-8").to_string()
}

/// `tshark -X lua_script:SCRIPT -r FILE -T fields -e frame.number -e F...`:
/// frame number -> the fields (empty rows left out).
fn tshark(script: &str, file: &Path, fields: &[&str]) -> Vec<(u64, Vec<String>)> {
    let lua = format!("lua_script:{script}");
    let mut args = vec![
        "-X",
        &lua,
        "-r",
        file.to_str().expect("utf-8"),
        "-T",
        "fields",
        "-e",
        "frame.number",
    ];
    for f in fields {
        args.extend(["-e", f]);
    }
    let o = run_limited("tshark", &args, Duration::from_secs(60));
    assert!(o.status.success(), "tshark failed: {}", stderr(&o));
    let err = stderr(&o);
    assert!(
        !err.contains("Lua: Error") && !err.contains("lua_script"),
        "the script did not load: {err}"
    );
    stdout(&o)
        .lines()
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let n = cols.next()?.parse().ok()?;
            let rest: Vec<String> = cols.map(str::to_string).collect();
            rest.iter().any(|c| !c.is_empty()).then_some((n, rest))
        })
        .collect()
}

/// socklab's course fields per packet: frame number -> the `course` object.
fn socklab_course(file: &Path, extra: &[&str]) -> Vec<(u64, Value)> {
    let mut args = vec!["replay", file.to_str().expect("utf-8"), "--json"];
    args.extend_from_slice(extra);
    let o = run_limited(bin(), &args, Duration::from_secs(30));
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| !v["course"].is_null())
        .map(|v| (v["n"].as_u64().unwrap_or(0), v["course"].clone()))
        .collect()
}

fn captures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

#[test]
fn tshark_with_the_script_extracts_udp_calc_fields_as_socklab_shows_them() {
    if !have_tshark() {
        return;
    }
    let dir = temp_dir("dissector-udp");
    let lua = script(&dir, &[]);
    for name in [
        "udp-calc-native.pcap",
        "udp-calc-network-order.pcap",
        "udp-calc-big-to-native-server.pcap",
    ] {
        let file = captures().join(name);
        let ours: Vec<(u64, Vec<String>)> = socklab_course(&file, &[])
            .into_iter()
            .map(|(n, c)| {
                let s = |k: &str| c[k].as_u64().map(|v| v.to_string()).unwrap_or_default();
                (n, vec![s("a"), s("b"), s("op"), s("result")])
            })
            .collect();
        assert_eq!(ours.len(), 2, "{name}: {ours:?}");
        let theirs = tshark(
            &lua,
            &file,
            &["udpcalc.a", "udpcalc.b", "udpcalc.op", "udpcalc.result"],
        );
        assert_eq!(theirs, ours, "{name}");
    }
}

#[test]
fn tshark_with_the_script_extracts_tcp_calc_numbers_and_monitor_records() {
    if !have_tshark() {
        return;
    }
    let dir = temp_dir("dissector-tcp");
    let lua = script(&dir, &[]);
    let file = captures().join("tcp-calc-handshake-fin.pcap");
    let ours: Vec<(u64, Vec<String>)> = socklab_course(&file, &[])
        .into_iter()
        .map(|(n, c)| {
            let nums: Vec<&str> = c["numbers"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            (n, vec![nums.join(",")])
        })
        .collect();
    assert_eq!(ours.len(), 4, "{ours:?}");
    assert_eq!(tshark(&lua, &file, &["tcpcalc.number"]), ours);

    let file = captures().join("monitor-records.pcap");
    let ours: Vec<(u64, Vec<String>)> = socklab_course(&file, &[])
        .into_iter()
        .map(|(n, c)| {
            let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
            (n, vec![s("host"), s("cpu"), s("mem")])
        })
        .collect();
    assert_eq!(ours.len(), 3, "{ours:?}");
    assert_eq!(
        tshark(&lua, &file, &["monitor.host", "monitor.cpu", "monitor.mem"]),
        ours
    );
}

#[test]
fn decode_rules_are_registered_in_the_script() {
    if !have_tshark() {
        return;
    }
    // "!III" 10 + 500, op 0 on port 21011: op is 0 in both orders, so only
    // the rule says it is network order; the reply 510 big-endian.
    let mut req = Vec::new();
    for v in [10u32, 500, 0] {
        req.extend_from_slice(&v.to_be_bytes());
    }
    let frames = [
        wrap(1, &ip_udp(40000, 21011, &req), false),
        wrap(1, &ip_udp(21011, 40000, &510u32.to_be_bytes()), false),
        wrap(1, &ip_tcp(21009, 40001, 1, 1, PSH | ACK, b"-3\0\0"), false),
    ];
    let dir = temp_dir("dissector-decode");
    let file = dir.join("net.pcap");
    std::fs::write(&file, pcap(false, false, 1, &recs(&frames, false))).expect("write pcap");
    let fields = [
        "udpcalc.a",
        "udpcalc.result",
        "tcpcalc.number",
        "tcpcalc.reply",
    ];
    let plain = script(&dir, &[]);
    let without = tshark(&plain, &file, &fields);
    assert_eq!(
        without[0].1[0], "167772160",
        "heuristic: native order first"
    );
    let lua = script(
        &dir,
        &["--decode", "21011=udp-calc-net", "-d", "21009=tcp-calc"],
    );
    let with = tshark(&lua, &file, &fields);
    let row = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        with,
        vec![
            (1, row(&["10", "", "", ""])),
            (2, row(&["", "510", "", ""])),
            (3, row(&["", "", "-3", "1"])),
        ]
    );
}
