//! `socklab trace` makes the sends and receives that cannot block itself,
//! at their only ptrace stop (src/trace/oneshot.rs): the program must see
//! exactly what the kernel would have given it. A Python program checks
//! each case (tests/trace_progs/oneshot.py) untraced and traced; the
//! closing line shows the calls done in one stop.
//!
//! Needs python3 (no root: calls only); without it each test says why and
//! returns, except under CI, where it fails.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;

fn prog() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/trace_progs/oneshot.py")
        .to_string_lossy()
        .into_owned()
}

/// `socklab trace --no-packets -- python3 oneshot.py ARGS`: (stdout, stderr, status).
fn traced(args: &[&str]) -> (String, String, Option<i32>) {
    let p = prog();
    let mut a = vec!["trace", "--no-packets", "--", python3(), p.as_str()];
    a.extend_from_slice(args);
    let o = run_limited(bin(), &a, Duration::from_secs(60));
    (stdout(&o), stderr(&o), o.status.code())
}

/// The program's own lines (socklab's timeline lines start with a time).
fn program_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("FAIL") || *l == "done" || *l == "looped")
        .map(str::to_string)
        .collect()
}

/// From the closing line: (calls shown, ptrace stops, calls done in one stop).
fn counts(err: &str) -> (u64, u64, u64) {
    let line = err
        .lines()
        .find(|l| l.starts_with("socklab trace: "))
        .unwrap_or_else(|| panic!("no closing line in:\n{err}"));
    let number_before = |word: &str| -> u64 {
        line.find(word)
            .and_then(|i| {
                line[..i]
                    .split_whitespace()
                    .last()?
                    .trim_start_matches('(')
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    };
    (
        number_before(" calls,"),
        number_before(" ptrace stops"),
        number_before(" calls done in one stop"),
    )
}

#[test]
fn one_stop_calls_end_as_the_kernels_own() {
    if !have_python_peers() {
        return;
    }
    let p = prog();
    let plain = run_limited(python3(), &[p.as_str()], Duration::from_secs(60));
    let want = program_lines(&stdout(&plain));
    assert_eq!(
        plain.status.code(),
        Some(0),
        "untraced:\n{}{}",
        stdout(&plain),
        stderr(&plain)
    );
    assert_eq!(want.last().map(String::as_str), Some("done"));
    let (out, err, st) = traced(&[]);
    assert_eq!(program_lines(&out), want, "traced:\n{out}\n{err}");
    assert_eq!(st, Some(0), "{err}");
    // Most of its sends and receives found their bytes (or room) at once.
    let (_, _, one) = counts(&err);
    assert!(one >= 20, "only {one} calls were done in one stop:\n{err}");
}

#[test]
fn sigpipe_still_reaches_the_program() {
    if !have_python_peers() {
        return;
    }
    let (out, err, st) = traced(&["sigpipe"]);
    assert!(!out.contains("not killed"), "{out}\n{err}");
    assert_eq!(st, Some(128 + libc::SIGPIPE), "{out}\n{err}");
    assert!(err.contains("killed by a signal"), "{err}");
}

#[test]
fn a_round_trip_takes_one_stop_per_call() {
    if !have_python_peers() {
        return;
    }
    let (_, err0, _) = traced(&["loop", "0"]);
    let (out, err, st) = traced(&["loop", "300"]);
    assert_eq!(st, Some(0), "{out}\n{err}");
    assert!(out.contains("looped"), "{out}");
    let ((c0, s0, _), (calls, stops, one)) = (counts(&err0), counts(&err));
    // 300 x (send, recv, send, recv), every receive with its bytes there.
    assert!(
        one >= 1150,
        "{one} of 1,200 sends and receives done in one stop:\n{err}"
    );
    assert!(calls - c0 >= 1200, "{calls} calls, {c0} without the loop");
    // One stop each: 1,200 more stops than the same program without the
    // loop (two each would be 2,400), with room for start-up's spread.
    assert!(
        stops - s0 < 1500,
        "{stops} stops, {s0} without the loop:\n{err}"
    );
}
