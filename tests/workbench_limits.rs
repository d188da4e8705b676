//! Bounded inputs for the workbench (issue 13 point 3): no format panics,
//! structs and inputs beyond socklab's stated limit (64 KiB) are refused
//! with a clear error before anything that size is allocated, and stdin is
//! read only up to one byte past the limit.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Regression: `pack --orders 16384s x` panicked in the --orders table
/// ("Formatting argument out of range": a cell wider than 65,535).
#[test]
fn pack_orders_16384s_does_not_panic() {
    let o = socklab(&["pack", "--orders", "16384s", "x"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("written little, read big"), "{}", &out[..200]);
    assert!(!stderr(&o).contains("panicked"));
}

/// Every code, at the largest count that fits the limit, with --orders:
/// no panic, and the table widths stay bounded.
#[test]
fn every_code_at_the_limit_packs_and_unpacks_without_panic() {
    for (fmt, value) in [
        ("65536s", "x"),
        ("65536p", "x"),
        ("65536x", ""),
        ("<8192Q", ""),
        ("<16384f", ""),
        ("<32768e", ""),
    ] {
        let mut args = vec!["pack", "--orders", fmt];
        if !value.is_empty() {
            args.push(value);
        }
        let o = socklab(&args);
        // Numeric codes need one value each: a CPython count error, no panic.
        assert!(!stderr(&o).contains("panicked"), "{fmt}: {}", stderr(&o));
        if value.is_empty() && !fmt.ends_with('x') {
            assert_teaching_error(&o, &["struct.error: pack expected"]);
        } else {
            assert!(o.status.success(), "{fmt}: {}", stderr(&o));
        }
    }
    let o = socklab(&["unpack", "--orders", "<16384I", "-"]);
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn structs_beyond_the_limit_are_refused_with_the_limit_named() {
    let o = socklab(&["pack", "67108864x"]);
    assert_teaching_error(
        &o,
        &[
            "describes 67108864 bytes",
            "socklab's limit for pack and unpack is 65536 bytes",
            "CPython has none",
        ],
    );
    assert!(o.stdout.is_empty(), "nothing printed before the error");
    let o = socklab(&["unpack", "<65537x", "00"]);
    assert_teaching_error(&o, &["describes 65537 bytes"]);
    // CPython's own error where CPython has one.
    let o = socklab(&["pack", "99999999999999999999x"]);
    assert_teaching_error(&o, &["struct.error"]);
}

#[test]
fn hex_arguments_beyond_the_limit_are_refused() {
    let piece = "00".repeat(40_000);
    let o = socklab(&["unpack", "I", &piece, &piece]);
    assert_teaching_error(
        &o,
        &[
            "the hex arguments: more than 65536 bytes",
            "limit for unpack input",
        ],
    );
}

/// `unpack I -` fed an endless stream stops reading just past the limit:
/// the error comes at once and the writer sees the pipe close after a
/// few hundred KiB at most (pipe buffers), not after a gigabyte.
#[test]
fn unpack_stdin_stops_reading_as_soon_as_the_limit_passes() {
    let mut child = Command::new(bin())
        .args(["unpack", "I", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let chunk = [0u8; 65536];
        let mut sent = 0u64;
        let end = Instant::now() + Duration::from_secs(20);
        // Bounded: 1 GiB or 20 s, whichever first; a closed pipe ends it.
        while sent < 1 << 30 && Instant::now() < end {
            match stdin.write(&chunk) {
                Ok(n) => sent += n as u64,
                Err(_) => break,
            }
        }
        sent
    });
    let sent = writer.join().expect("writer");
    let o = child.wait_with_output().expect("output");
    assert_teaching_error(
        &o,
        &["stdin: more than 65536 bytes", "stopped reading there"],
    );
    assert!(
        sent < 4 << 20,
        "socklab kept reading: {sent} bytes accepted"
    );
}
