//! Wording across the suite (issue 15 point 5): no `1 packets`, `1 rows`,
//! `after 1 connections`... and no octal-looking `\0` for a NUL byte.
//!
//! It runs commands that print counts of exactly one of something, then
//! greps their output together with every output the other test binaries
//! kept (`common::keep_output`, one file per test binary under the cargo
//! test temp dir, rewritten each time that binary runs).

#[path = "common/capfiles.rs"]
#[allow(dead_code)]
mod capfiles;
mod common;

use std::time::Duration;

use common::{keep_output, outputs_dir, run_limited, socklab, stderr, Server};

/// `1 packets`, `1 rows`: a 1, a space, a word ending in s. Units (`1 us`)
/// and CPython's own messages (quoted word for word) are not counts.
fn bad_plurals(text: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for line in text.lines() {
        if line.contains("struct.error") {
            continue;
        }
        let b = line.as_bytes();
        for (i, _) in line.match_indices("1 ") {
            let starts_word = i == 0
                || !(b[i - 1].is_ascii_alphanumeric() || matches!(b[i - 1], b'.' | b',' | b':'));
            let word: String = line[i + 2..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase())
                .collect();
            let ends_word = line[i + 2 + word.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_ascii_alphanumeric());
            if starts_word
                && ends_word
                && word.len() > 1
                && word.ends_with('s')
                && !matches!(
                    word.as_str(),
                    "us" | "ms" | "ns" | "is" | "was" | "has" | "this" | "its"
                )
            {
                bad.push(line.to_string());
            }
        }
    }
    bad
}

#[test]
fn the_pattern_catches_what_it_should() {
    assert_eq!(
        bad_plurals("14 packets on port,\n1 packets captured").len(),
        1
    );
    assert_eq!(bad_plurals("after 1 connections").len(), 1);
    assert!(bad_plurals("1 packet, 21 packets, 0.1 s, 5.1 us, 1 is, ::1 needs").is_empty());
}

/// Commands whose honest output has a count of one.
fn run_singulars() -> String {
    let mut all = String::new();
    fn add(all: &mut String, o: std::process::Output) -> std::process::Output {
        all.push_str(&String::from_utf8_lossy(&o.stdout));
        all.push_str(&String::from_utf8_lossy(&o.stderr));
        o
    }
    // A one-packet capture: read, shown, and the stats table.
    let dir = capfiles::temp_dir("wording");
    let file = dir.join("one.pcap");
    let frame = capfiles::ip_tcp(40000, 10009, 1, 0, 0x02, b"");
    std::fs::write(
        &file,
        capfiles::pcap(false, false, 101, &capfiles::recs(&[frame], false)),
    )
    .expect("write capture");
    let f = file.to_str().expect("utf-8");
    let o = add(&mut all, socklab(&["replay", f]));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = add(&mut all, socklab(&["replay", f, "--stats"]));
    assert!(o.status.success(), "{}", stderr(&o));
    // A struct of one byte.
    let o = add(&mut all, socklab(&["pack", "b", "1"]));
    assert!(o.status.success(), "{}", stderr(&o));
    // One byte each way, one connection.
    let port = common::tcp_port();
    let to = format!("127.0.0.1:{port}");
    let mut srv = Server::socklab(&["echo", "serve", "--bind", &to]);
    let o = add(&mut all, socklab(&["echo", "send", "a", "--to", &to]));
    assert!(o.status.success(), "{}", stderr(&o));
    srv.wait_for("closed", Duration::from_secs(5));
    srv.interrupt();
    all.push_str(&srv.output());
    // One tcp-calc request in load mode: one request, one reply.
    let mut srv = Server::socklab(&["tcp-calc", "serve", "--bind", &to]);
    let o = add(
        &mut all,
        run_limited(
            common::bin(),
            &[
                "tcp-calc", "ask", "1", "2", "add", "--to", &to, "--count", "1",
            ],
            Duration::from_secs(20),
        ),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    srv.interrupt();
    all.push_str(&srv.output());
    all
}

#[test]
fn no_count_of_one_takes_a_plural_anywhere_in_the_suite() {
    let own = run_singulars();
    keep_output(&["(wording battery)"], own.as_bytes(), b"");
    let mut bad = bad_plurals(&own);
    assert!(
        own.contains("1 packet"),
        "the battery shows a count of one:\n{own}"
    );
    let mut files = 0;
    if let Ok(entries) = std::fs::read_dir(outputs_dir()) {
        for e in entries.flatten() {
            let text =
                String::from_utf8_lossy(&std::fs::read(e.path()).unwrap_or_default()).into_owned();
            files += 1;
            bad.extend(
                bad_plurals(&text)
                    .into_iter()
                    .map(|l| format!("{}: {l}", e.file_name().to_string_lossy())),
            );
        }
    }
    eprintln!("checked the battery and {files} kept output files");
    assert!(
        bad.is_empty(),
        "counts of one in the plural:\n{}",
        bad.join("\n")
    );
}

#[test]
fn nul_bytes_read_as_hex_escapes_not_octal() {
    let port = common::tcp_port();
    let to = format!("127.0.0.1:{port}");
    let _srv = Server::socklab(&["tcp-calc", "serve", "--bind", &to]);
    let o = socklab(&["tcp-calc", "ask", "1", "2", "add", "--to", &to]);
    let out = common::stdout(&o);
    assert!(out.contains(r#"sent 2 bytes: "1\x00""#), "{out}");
    assert!(out.contains(r#"received 3 bytes: "3\x00\x00""#), "{out}");
    assert!(!out.contains(r"\0"), "{out}");
    // And in what a capture narrates.
    let o = socklab(&[
        "replay",
        concat!(env!("CARGO_MANIFEST_DIR"), "/captures/echo-nul.pcap"),
    ]);
    let out = common::stdout(&o);
    assert!(out.contains(r#"echo: "hello, echo\x00""#), "{out}");
    assert!(!out.contains(r"\0"), "{out}");
}
