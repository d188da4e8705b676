//! `socklab trace` starts a program under a filter that stops only the
//! calls that need a socket, and adds the full filter (read, write, close,
//! dup, fcntl, ioctl, poll...) at each process's first socket call, for all
//! its threads (`SECCOMP_FILTER_FLAG_TSYNC`). A program that inherits a
//! socket starts with the full filter. Start-up without sockets makes
//! (almost) no ptrace stop.
//!
//! Needs python3 (no root: calls only); without it each test says why and
//! returns, except under CI, where it fails.

mod common;

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::Value;

fn prog() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/trace_progs/first_filter.py")
        .to_string_lossy()
        .into_owned()
}

/// The JSON call objects of `socklab trace --json --no-packets -- ARGS`
/// and its closing line.
fn traced(cmd: Command) -> (Vec<Value>, String) {
    let o = run_command_limited(cmd, Duration::from_secs(30));
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let calls = stdout(&o)
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "call")
        .collect();
    (calls, stderr(&o))
}

fn socklab(args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(["trace", "--json", "--no-packets", "--", python3()]);
    c.args(args);
    c
}

/// The `write` calls and what each wrote (its arguments' text).
fn writes(calls: &[Value]) -> Vec<(i64, String)> {
    calls
        .iter()
        .filter(|c| c["call"] == "write")
        .map(|c| {
            (
                c["pid"].as_i64().unwrap_or(0),
                c["args"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn stops(err: &str) -> u64 {
    let line = err
        .lines()
        .find(|l| l.starts_with("socklab trace: "))
        .unwrap_or("");
    line.find(" ptrace stop")
        .and_then(|i| line[..i].split_whitespace().last()?.parse().ok())
        .unwrap_or_else(|| panic!("no stop count in {err}"))
}

#[test]
fn start_up_without_sockets_makes_almost_no_stop() {
    if !have_python_peers() {
        return;
    }
    // Python reads and closes a few hundred module files at start-up.
    let (calls, err) = traced(socklab(&["-c", "import socket, json, threading"]));
    assert!(calls.is_empty(), "{calls:?}");
    assert!(stops(&err) < 20, "{err}");
}

#[test]
fn a_thread_started_before_the_first_socket_is_traced_too() {
    if !have_python_peers() {
        return;
    }
    let p = prog();
    let (calls, _) = traced(socklab(&[p.as_str(), "thread"]));
    let w = writes(&calls);
    assert!(
        w.iter().any(|(_, a)| a.contains("from the early thread")),
        "{w:?}\n{calls:?}"
    );
}

#[test]
fn a_child_forked_before_any_socket_gets_its_own_full_filter() {
    if !have_python_peers() {
        return;
    }
    let p = prog();
    let (calls, _) = traced(socklab(&[p.as_str(), "fork"]));
    let w = writes(&calls);
    let child = w.iter().find(|(_, a)| a.contains("from the child"));
    let parent = w.iter().find(|(_, a)| a.contains("from the parent"));
    assert!(child.is_some() && parent.is_some(), "{w:?}");
    assert_ne!(child.map(|c| c.0), parent.map(|c| c.0));
    // The reads that followed were seen too.
    assert_eq!(
        calls.iter().filter(|c| c["call"] == "read").count(),
        2,
        "{calls:?}"
    );
}

#[test]
fn an_inherited_socket_is_traced_from_the_first_call() {
    if !have_python_peers() {
        return;
    }
    let (a, b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let raw = a.as_raw_fd();
    let p = prog();
    let mut cmd = socklab(&[p.as_str(), "inherited"]);
    // SAFETY: dup2 and fcntl are async-signal-safe; the child gets `a` as
    // its fd 3, inherited by the traced program.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::fcntl(3, libc::F_SETFD, 0);
            Ok(())
        });
    }
    let (calls, _) = traced(cmd);
    drop(a);
    let w = writes(&calls);
    assert!(
        w.iter().any(|(_, a)| a.contains("to the inherited socket")),
        "{w:?}"
    );
    let mut got = [0u8; 64];
    let n = std::io::Read::read(&mut &b, &mut got).unwrap_or(0);
    assert_eq!(&got[..n], b"to the inherited socket");
}
