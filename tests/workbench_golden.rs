//! Golden output tests for the workbench commands: the real binary, colour
//! off, output compared byte for byte with `tests/golden/NAME.out` (stdout)
//! and `tests/golden/NAME.err` (stderr, for the error cases).
//!
//! After an intended change of output, regenerate with
//! `SOCKLAB_BLESS=1 cargo test --test workbench_golden` and review the diff.
//! Native layouts depend on the machine: these goldens are for little-endian
//! 64-bit Linux (x86-64, aarch64), like the course machines.

#![cfg(all(
    target_os = "linux",
    target_endian = "little",
    target_pointer_width = "64"
))]

use std::path::PathBuf;

use assert_cmd::Command;

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    stdin: Option<&'static [u8]>,
    ok: bool,
}

const fn ok(name: &'static str, args: &'static [&'static str]) -> Case {
    Case {
        name,
        args,
        stdin: None,
        ok: true,
    }
}

const fn fails(name: &'static str, args: &'static [&'static str]) -> Case {
    Case {
        name,
        args,
        stdin: None,
        ok: false,
    }
}

const CASES: &[Case] = &[
    // pack / unpack
    ok(
        "pack_udp_request_orders",
        &["pack", "!III", "10", "500", "0", "--orders"],
    ),
    ok(
        "pack_native_alignment",
        &["pack", "@bIhq", "1", "2", "-3", "4"],
    ),
    ok("pack_cd_orders", &["pack", "@cd", "A", "1.5", "--orders"]),
    ok(
        "pack_strings_and_padding",
        &["pack", "<c3p?e2x10s", "a", "hello", "5", "0.1", "hi\\x00"],
    ),
    ok(
        "unpack_wrong_order",
        &["unpack", "<III", "0a000000f401000000000000", "--orders"],
    ),
    ok(
        "unpack_native_hq",
        &["unpack", "@hq", "fdff0000 00000000", "0700000000000000"],
    ),
    Case {
        name: "unpack_stdin",
        args: &["unpack", "!HH4s", "-"],
        stdin: Some(b"\x1f\x90\x00\x50GET "),
        ok: true,
    },
    fails("pack_bad_char", &["pack", "<In", "1", "2"]),
    fails("pack_out_of_range", &["pack", "!I b", "1", "300"]),
    fails("pack_wrong_count", &["pack", "3I", "1", "2"]),
    fails("pack_not_a_number", &["pack", "I", "ten"]),
    fails("unpack_odd_hex", &["unpack", "I", "0a0000 0"]),
    fails(
        "unpack_short_buffer",
        &["unpack", "!III", "0000000a000001f4"],
    ),
    // hexdump
    ok(
        "hexdump_file",
        &[
            "hexdump",
            "tests/golden/hexdump_input.bin",
            "--color",
            "never",
        ],
    ),
    ok(
        "hexdump_skip_length_columns",
        &[
            "hexdump",
            "tests/golden/hexdump_input.bin",
            "-s",
            "0x10",
            "-n",
            "20",
            "-c",
            "8",
            "-g",
            "4",
            "--color",
            "never",
        ],
    ),
    Case {
        name: "hexdump_stdin",
        args: &["hexdump", "-", "-s", "3", "-g", "0", "--color", "never"],
        stdin: Some(b"skip\x00\x01 me\n"),
        ok: true,
    },
    fails(
        "hexdump_bad_offset",
        &["hexdump", "-s", "12q", "tests/golden/hexdump_input.bin"],
    ),
    // -s from the end (xxd -s -16 starts at 0x1a in this 42-byte file),
    // sizes with suffixes and 0x.
    ok(
        "hexdump_from_end",
        &[
            "hexdump",
            "tests/golden/hexdump_input.bin",
            "-s",
            "-16",
            "--color",
            "never",
        ],
    ),
    ok(
        "hexdump_sizes",
        &[
            "hexdump",
            "tests/golden/hexdump_input.bin",
            "-s",
            "0x20",
            "-n",
            "1k",
            "--color",
            "never",
        ],
    ),
    Case {
        name: "hexdump_from_end_stdin_pipe",
        args: &["hexdump", "-s", "-0x4", "--color", "never"],
        stdin: Some(b"0123456789"),
        ok: false,
    },
    fails(
        "hexdump_negative_length",
        &["hexdump", "-n", "-1", "tests/golden/hexdump_input.bin"],
    ),
    // order
    ok("order_htonl_10", &["order", "10"]),
    ok("order_htons_minus_1", &["order", "-1", "--16"]),
    ok("order_64", &["order", "0x0102030405060708", "--64"]),
    fails("order_too_wide", &["order", "70000", "--16"]),
    // addr
    ok("addr_course", &["addr", "176.58.10.138"]),
    ok("addr_aton_short_forms", &["addr", "0x7f.1"]),
    ok("addr_ipv6_documentation", &["addr", "2001:db8::1"]),
    ok("addr_ipv4_mapped", &["addr", "::ffff:192.168.1.10"]),
    fails("addr_bad_part", &["addr", "1.2.3.256"]),
    fails("addr_host_name", &["addr", "localhost"]),
];

fn golden_path(name: &str, ext: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.{ext}"))
}

fn check(name: &str, ext: &str, actual: &[u8], bless: bool, failures: &mut Vec<String>) {
    let path = golden_path(name, ext);
    if bless {
        if actual.is_empty() {
            let _ = std::fs::remove_file(&path);
        } else {
            std::fs::write(&path, actual).expect("write golden file");
        }
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_default();
    if expected != actual {
        failures.push(format!(
            "{name}.{ext} differs\n--- expected\n{}\n--- actual\n{}",
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(actual)
        ));
    }
}

#[test]
fn workbench_output_matches_golden_files() {
    let bless = std::env::var_os("SOCKLAB_BLESS").is_some();
    let mut failures = Vec::new();
    for case in CASES {
        let mut cmd = Command::cargo_bin("socklab").expect("socklab binary");
        cmd.args(case.args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1");
        if let Some(input) = case.stdin {
            cmd.write_stdin(input);
        }
        let out = cmd.output().expect("run socklab");
        if out.status.success() != case.ok {
            failures.push(format!(
                "{}: exit status {:?}, expected {}\n{}",
                case.name,
                out.status.code(),
                if case.ok { "success" } else { "failure" },
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        check(case.name, "out", &out.stdout, bless, &mut failures);
        check(case.name, "err", &out.stderr, bless, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_golden_file_belongs_to_a_case() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for entry in std::fs::read_dir(dir).expect("tests/golden") {
        let name = entry
            .expect("dir entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some((stem, ext)) = name.rsplit_once('.') else {
            continue;
        };
        if ext == "bin" {
            continue;
        }
        assert!(
            CASES.iter().any(|c| c.name == stem),
            "stale golden file {name}: no case produces it"
        );
    }
}

#[test]
fn hexdump_colours_bytes_by_class_when_asked() {
    let out = Command::cargo_bin("socklab")
        .expect("socklab binary")
        .args(["hexdump", "--color", "always", "-n", "4"])
        .write_stdin(&b"A\x00 \xff"[..])
        .output()
        .expect("run socklab");
    let text = String::from_utf8_lossy(&out.stdout);
    for (class, colour) in [
        ("printable", "\x1b[36m41"),
        ("NUL", "\x1b[90m00"),
        ("whitespace", "\x1b[32m20"),
        ("other", "\x1b[33mff"),
    ] {
        assert!(text.contains(colour), "{class} byte coloured: {text:?}");
    }
}

#[test]
fn closed_pipe_ends_hexdump_quietly_with_success() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command as Std, Stdio};
    let bin = assert_cmd::cargo::cargo_bin("socklab");
    let mut child = Std::new(bin)
        .args([
            "hexdump",
            "/dev/zero",
            "-n",
            "100000000",
            "--color",
            "never",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn socklab");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("one line");
    assert!(first.starts_with("00000000  00 00"));
    // The reader is gone now (like `| head -1`).
    let out = child.wait_with_output().expect("socklab exits");
    assert!(out.status.success(), "exit {:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
