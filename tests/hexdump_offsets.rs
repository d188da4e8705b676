//! hexdump -s from the end on stdin redirected from a file (seekable, as
//! `xxd -s -16 < FILE` allows), and sizes in -n/-s (issue 15 point 8).

use std::process::{Command, Stdio};

const INPUT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/golden/hexdump_input.bin"
);

fn dump(args: &[&str], stdin_file: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_socklab"));
    cmd.args(args).args(["--color", "never"]);
    cmd.stdin(match stdin_file {
        Some(f) => Stdio::from(std::fs::File::open(f).expect("input")),
        None => Stdio::null(),
    });
    let o = cmd.output().expect("run socklab");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn negative_offset_on_stdin_redirected_from_a_file() {
    let (ok, out, err) = dump(&["hexdump", "-s", "-16"], Some(INPUT));
    assert!(ok, "{err}");
    let (_, from_file, _) = dump(&["hexdump", INPUT, "-s", "-16"], None);
    assert_eq!(out, from_file);
    assert!(
        out.starts_with("0000001a  "),
        "42-byte file, last 16 bytes: {out}"
    );
}

#[test]
fn offset_before_the_start_shows_the_whole_file_like_tail_c() {
    let (ok, out, err) = dump(&["hexdump", INPUT, "-s", "-1k"], None);
    assert!(ok, "{err}");
    let (_, whole, _) = dump(&["hexdump", INPUT], None);
    assert_eq!(out, whole);
}

#[test]
fn sizes_with_suffixes_and_hex() {
    let (ok, out, err) = dump(&["hexdump", INPUT, "-s", "0x8", "-n", "0x10"], None);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("00000008  "), "{out}");
    let (ok, out, err) = dump(&["hexdump", INPUT, "-n", "1kB"], None);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 3, "the whole 42 bytes: {out}");
}
