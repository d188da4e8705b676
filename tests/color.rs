//! `--color auto|always|never` on every command that colours (issue 15
//! point 7): `always` gives ANSI escapes, `never` and a pipe give none,
//! NO_COLOR turns `auto` off.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

use std::time::Duration;

use clap::CommandFactory;

use common::{bin, stderr, stdout};

const ESC: &str = "\x1b[";

/// Run socklab with `args` and extra environment, stdout and stderr piped
/// (so `auto` means no colour), bounded by `run_limited`'s rules.
fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin());
    c.args(args).env_remove("NO_COLOR");
    for (k, v) in env {
        c.env(k, v);
    }
    common::run_command_limited(c, Duration::from_secs(60))
}

/// `args` with `--color WHEN` put before a `--` (or at the end).
fn with_color<'a>(args: &[&'a str], when: &'a str) -> Vec<&'a str> {
    let mut a: Vec<&str> = args.to_vec();
    let at = a.iter().position(|x| *x == "--").unwrap_or(a.len());
    a.splice(at..at, ["--color", when]);
    a
}

/// Colour for `always`, none for `never` and for `auto` into a pipe.
fn check_choices(args: &[&str]) {
    for (when, want) in [("always", true), ("never", false), ("auto", false)] {
        let a = with_color(args, when);
        let o = run_env(&a, &[]);
        assert!(o.status.success(), "{a:?}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(!out.is_empty(), "{a:?}: no output");
        assert_eq!(out.contains(ESC), want, "{a:?}:\n{out}");
    }
}

/// Every subcommand with `--sniff` (or another colouring option) takes
/// `--color`; and so do the commands that colour on their own.
#[test]
fn every_colouring_command_accepts_color() {
    let root = socklab::cli::Cli::command();
    let mut with_sniff = 0;
    let mut missing = Vec::new();
    fn walk(c: &clap::Command, path: String, with_sniff: &mut usize, missing: &mut Vec<String>) {
        let has = |id: &str| c.get_arguments().any(|a| a.get_id() == id);
        let colours = has("sniff") || has("verbose") || has("hex") || has("json");
        if has("sniff") {
            *with_sniff += 1;
        }
        let must = colours
            || [
                "lab", "sniff", "replay", "trace", "pack", "unpack", "hexdump",
            ]
            .contains(&path.trim());
        if must && !has("color") {
            missing.push(path.clone());
        }
        for s in c.get_subcommands() {
            walk(s, format!("{path} {}", s.get_name()), with_sniff, missing);
        }
    }
    for s in root.get_subcommands() {
        walk(s, s.get_name().to_string(), &mut with_sniff, &mut missing);
    }
    assert!(with_sniff >= 10, "commands with --sniff: {with_sniff}");
    assert!(missing.is_empty(), "no --color on: {missing:?}");
}

#[test]
fn lab_colours_its_packets_only_when_asked() {
    check_choices(&["lab", "handshake", "-v"]);
    // NO_COLOR turns auto off even where it would colour; always still colours.
    let o = run_env(
        &["lab", "handshake", "-v", "--color", "always"],
        &[("NO_COLOR", "1")],
    );
    assert!(stdout(&o).contains(ESC));
    // A bad choice is refused with the choices named.
    let o = run_env(&["lab", "handshake", "--color", "sometimes"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("always") && err.contains("never"), "{err}");
}

#[test]
fn replay_and_workbench_colour_only_when_asked() {
    let cap = concat!(env!("CARGO_MANIFEST_DIR"), "/captures/lab-abort.pcap");
    check_choices(&["replay", cap]);
    check_choices(&["pack", "!III", "10", "500", "0"]);
    check_choices(&["hexdump", cap, "-n", "32"]);
}

/// A TCP peer held by the test (port 0, kept): echoes one message, closes.
fn echo_peer() -> (u16, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let h = std::thread::spawn(move || {
        let mut s = common::accept_within(&l, Duration::from_secs(30));
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        let _ = s.write_all(&buf[..n]);
    });
    (port, h)
}

/// Runs `args` (with `{PORT}` replaced) against a fresh echo peer, with
/// `--color always` and `--color never`.
fn against_peer(args: &[&str]) {
    for when in ["always", "never"] {
        let (port, peer) = echo_peer();
        let to = format!("127.0.0.1:{port}");
        let a: Vec<String> = with_color(args, when)
            .iter()
            .map(|x| x.replace("{PORT}", &to))
            .collect();
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = run_env(&a, &[]);
        let _ = peer.join();
        assert!(o.status.success(), "{a:?}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains("hello"), "{a:?}:\n{out}");
        assert_eq!(out.contains(ESC), when == "always", "{a:?}:\n{out}");
    }
}

#[test]
fn sniff_timeline_of_a_client_colours_only_when_asked() {
    if !socklab::capture::live::can_capture() {
        common::skip("--sniff needs CAP_NET_RAW (run as root)");
        return;
    }
    against_peer(&[
        "echo",
        "send",
        "hello",
        "--to",
        "{PORT}",
        "--timeout",
        "10",
        "--sniff",
    ]);
}

#[test]
fn trace_colours_only_when_asked() {
    let b = bin();
    let b = b.to_str().expect("utf-8");
    against_peer(&[
        "trace",
        "--no-packets",
        "--",
        b,
        "echo",
        "send",
        "hello",
        "--to",
        "{PORT}",
        "--timeout",
        "10",
    ]);
}
