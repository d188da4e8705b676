//! The capture library (`captures/`): every file is replayed and its
//! narration must tell the lesson the README promises. A file without an
//! entry here, or an entry without its file, fails the test, so the
//! library cannot rot. Re-record with `sudo captures/record.sh`; client
//! ports and times change, the assertions below do not depend on them.

use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_socklab");

/// File, then text the replay (colour off) must contain, then text it must not.
const LESSONS: &[(&str, &[&str], &[&str])] = &[
    (
        "tcp-calc-handshake-fin.pcap",
        &[
            "-- handshake 1/3:",
            "-- handshake 2/3: 127.0.0.1.10009 accepts (SYN-ACK)",
            "-- handshake 3/3: connection established in",
            ".. tcp-calc numbers: 5",
            ".. tcp-calc numbers: 8",
            ".. tcp-calc numbers: 1",
            ".. tcp-calc reply: -3",
            "-- 127.0.0.1.10009 closes first (FIN)",
            "-- last FIN acknowledged: connection closed; 127.0.0.1.10009 is in TIME_WAIT",
            "closed: the server 127.0.0.1.10009 closed first and is left in TIME_WAIT",
        ],
        &["malformed", "truncated", "reset", "retransmission"],
    ),
    (
        "udp-calc-native.pcap",
        &[
            ".. udp-calc request: a=10 b=500 op=0 (add) = 510 [native order (little-endian)",
            ".. udp-calc reply: result 510 (native order)",
        ],
        &["malformed"],
    ),
    (
        "udp-calc-network-order.pcap",
        &[
            "UDP, length 12",
            "read big-endian: a=10 b=500 op=0",
            "read big-endian: 510",
        ],
        &["malformed"],
    ),
    (
        "udp-calc-big-to-native-server.pcap",
        &[
            ".. udp-calc request: a=167772160 b=4194304000 op=0 (add)",
            "read big-endian: a=10 b=250 op=0",
            ".. udp-calc reply: result 67108864 (native order); read big-endian: 4",
        ],
        &["malformed"],
    ),
    (
        "echo-half-close.pcap",
        &[
            ".. echo: \"hello, echo\"",
            "closes first (FIN): close() or shutdown(SHUT_WR)",
            "-- half-close: ",
            "used shutdown(SHUT_WR) and can still receive",
            ".. echo reply: \"hello, echo\"",
            "closed: the client 127.0.0.1.",
        ],
        &["reset"],
    ),
    (
        "echo-nul.pcap",
        &[
            ".. echo: \"hello, echo\\x00\"",
            ".. echo reply: \"hello, echo\\x00\"",
            "closed: the client 127.0.0.1.",
        ],
        &["half-close"],
    ),
    (
        "get-half-close.pcap",
        &[
            "> 127.0.0.1.8000: Flags [P.], seq 1:",
            "closes first (FIN): close() or shutdown(SHUT_WR)",
            "-- half-close: ",
            "127.0.0.1.8000 closes too (second FIN)",
        ],
        &["reset"],
    ),
    (
        "rst-closed-port.pcap",
        &[
            "> 127.0.0.1.10099: Flags [S]",
            "127.0.0.1.10099 > ",
            "Flags [R.]",
            "-- connection refused: nothing listens on 127.0.0.1.10099",
            "refused (RST): nothing listened on 127.0.0.1.10099",
        ],
        &["SYN-ACK"],
    ),
    (
        "monitor-records.pcap",
        &[
            "> 127.0.0.1.5000: Flags [P.]",
            "length 67",
            ".. monitor record: host ",
            "closed: the client 127.0.0.1.",
        ],
        &["malformed", "monitor record piece"],
    ),
    (
        "lab-abort.pcap",
        &[
            "Flags [R.]",
            "-- connection aborted by 127.0.0.1.",
            "likely close() with unread data in its receive buffer, or SO_LINGER set to 0",
            "(abort: unread data or SO_LINGER 0)",
        ],
        &["closes first (FIN)", "malformed"],
    ),
    (
        "lab-split.pcap",
        &[
            ".. tcp-calc numbers: \"12\" (its NUL comes later)",
            ".. tcp-calc numbers: 3",
            ".. tcp-calc reply: 168",
            ".. monitor stream: 20 bytes (a record is 67 bytes; TCP may deliver it in pieces)",
            ".. monitor stream: 30 bytes",
            ".. monitor stream: 17 bytes",
        ],
        &["malformed", "reset"],
    ),
    (
        "lab-reuseaddr.pcap",
        &[
            "closes first (FIN)",
            "is in TIME_WAIT (60 s on Linux), so a server there needs SO_REUSEADDR to bind that port again",
            "closed: the server 127.0.0.1.",
        ],
        &["reset", "malformed"],
    ),
];

#[test]
fn every_capture_tells_its_lesson() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("captures/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    files.sort();
    for f in &files {
        assert!(
            LESSONS.iter().any(|(name, _, _)| name == f),
            "captures/{f} has no assertions in tests/captures.rs: say what its lesson shows"
        );
    }
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("captures/README.md");
    for (name, must, must_not) in LESSONS {
        assert!(
            files.iter().any(|f| f == name),
            "captures/{name} is missing: run sudo captures/record.sh"
        );
        assert!(
            readme.contains(&format!("`{name}`")),
            "captures/README.md has no row for {name}"
        );
        let o = Command::new(BIN)
            .arg("replay")
            .arg(dir.join(name))
            .args(["--color", "never"])
            .stdin(Stdio::null())
            .output()
            .expect("socklab replay");
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        for want in *must {
            assert!(
                text.contains(want),
                "{name}: the replay lacks {want:?}:\n{text}"
            );
        }
        for bad in *must_not {
            assert!(
                !text.contains(bad),
                "{name}: the replay shows {bad:?}:\n{text}"
            );
        }
        if *name == "monitor-records.pcap" {
            assert_eq!(text.matches(".. monitor record: ").count(), 3, "{text}");
        }
    }
}

/// Run `socklab replay captures/NAME ARGS...` (colour off); stdout.
fn replay(name: &str, args: &[&str]) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let o = Command::new(BIN)
        .arg("replay")
        .arg(dir.join(name))
        .args(args)
        .args(["--color", "never"])
        .stdin(Stdio::null())
        .output()
        .expect("socklab replay");
    assert!(
        o.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The outcome column of `--stats`: one per TCP conversation, in order.
fn outcomes(stats: &str) -> Vec<String> {
    let mut rows = stats
        .lines()
        .skip_while(|l| !l.starts_with("TCP conversations:"))
        .skip(2)
        .take_while(|l| !l.trim().is_empty());
    let mut out = Vec::new();
    for l in rows.by_ref() {
        // The outcome follows the handshake column (`29 µs` or `-`).
        let at = l
            .find(" µs  ")
            .map(|i| i + " µs  ".len())
            .or_else(|| l.find(" -  ").map(|i| i + " -  ".len()))
            .unwrap_or_else(|| panic!("no outcome in {l:?}"));
        out.push(l[at..].to_string());
    }
    out
}

#[test]
fn stats_name_each_conversations_lesson() {
    let cases: &[(&str, &[&str])] = &[
        (
            "echo-half-close.pcap",
            &["half-close: the client shut down sending (FIN) and the server still sent 11 bytes after it; \
               then closed (FIN both ways), client closed first -> TIME_WAIT"],
        ),
        (
            "get-half-close.pcap",
            &["half-close: the client shut down sending (FIN) and the server still sent 427 bytes after it; \
               then closed (FIN both ways), client closed first -> TIME_WAIT"],
        ),
        (
            "echo-nul.pcap",
            &["closed (FIN both ways), client closed first -> TIME_WAIT"],
        ),
        (
            "tcp-calc-handshake-fin.pcap",
            &["closed (FIN both ways), server closed first -> TIME_WAIT"],
        ),
        (
            "lab-reuseaddr.pcap",
            &["closed (FIN both ways), server closed first -> TIME_WAIT"],
        ),
        (
            "rst-closed-port.pcap",
            &["refused (RST answered the SYN)"],
        ),
        (
            "lab-abort.pcap",
            &[
                "reset by the server (abort: unread data or SO_LINGER 0)",
                "reset by the client (abort: unread data or SO_LINGER 0)",
            ],
        ),
        (
            "lab-split.pcap",
            &[
                "closed (FIN both ways), server closed first -> TIME_WAIT",
                "closed (FIN both ways), client closed first -> TIME_WAIT",
            ],
        ),
    ];
    for (name, want) in cases {
        let s = replay(name, &["--stats"]);
        assert_eq!(outcomes(&s), *want, "{name}:\n{s}");
    }
    // The per-connection summary of a plain replay says it too.
    let s = replay("echo-half-close.pcap", &[]);
    assert!(
        s.contains("half-close: the client shut down sending (FIN) and the server still sent 11 bytes after it"),
        "{s}"
    );
}
