//! Chat decoding on live traffic (issue 12, point 1): socklab's chat server
//! on an ephemeral port, two Python clients (raw sockets, the course's way)
//! chatting through it, captured by `socklab sniff -i lo --decode P=chat`;
//! the `-w` file of the same capture replays with the same decoding. Chat
//! has no conversation heuristic, so without `--decode` nothing is
//! recognised (asserted: no course line at all). Needs CAP_NET_RAW and
//! python3 (skipped with the reason outside CI, a failure under CI); the
//! capture filters on the server's own ephemeral port.

#[path = "common/capfiles.rs"]
#[allow(dead_code)]
mod capfiles;
mod common;

use std::time::Duration;

use capfiles::temp_dir;
use common::*;

const LIMIT: Duration = Duration::from_secs(20);

/// Two clients: A joins, B joins (A hears of it), A speaks, B answers, B
/// leaves (A hears of it). Every read waits for what the step before
/// caused, with a socket timeout, so the exchange happens in this order.
/// Prints each client's own port.
const CLIENTS: &str = r#"
import socket, sys
port = int(sys.argv[1])
def join():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s, s.makefile("rb")
def line(f):
    got = f.readline()
    if not got.endswith(b"\n"):
        sys.exit("cut line: %r" % got)
    return got
a, fa = join()
line(fa)
b, fb = join()
line(fb)
line(fa)
a.sendall(b"hello from a\n")
line(fb)
b.sendall(b"hi back from b\n")
line(fa)
print("A", a.getsockname()[1])
print("B", b.getsockname()[1])
fb.close()
b.close()
line(fa)
fa.close()
a.close()
"#;

/// The narration lines of a course payload (`    .. ...`), trimmed.
fn course_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.trim_start().strip_prefix(".. "))
        .map(str::to_string)
        .collect()
}

/// The port after `listening on 127.0.0.1:` in the server's output.
fn listening_port(out: &str) -> u16 {
    out.split("listening on 127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .unwrap_or_else(|| panic!("no listening port in:\n{out}"))
}

/// The port printed after `who ` by the clients.
fn client_port(out: &str, who: &str) -> u16 {
    out.lines()
        .find_map(|l| l.strip_prefix(who)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no port of {who} in:\n{out}"))
}

#[test]
fn live_chat_is_decoded_by_sniff_and_by_replay_of_its_file() {
    if !can_capture() || !have_tool(python3(), "--version") {
        return;
    }
    // The server binds port 0 and keeps it: no other program can take it.
    let server = Server::socklab(&["chat", "serve", "--bind", "127.0.0.1:0"]);
    let port = listening_port(&server.output());
    let p = port.to_string();
    let rule = format!("{port}=chat");
    let dir = temp_dir("chat-live");
    let file = dir.join("chat.pcap");
    let f = file.to_str().expect("utf-8 path");
    let mut sniffer = Server::start(
        bin(),
        &[
            "sniff", "-i", "lo", "--color", "never", "--decode", &rule, "-w", f, "port", &p,
        ],
        "listening on",
    );
    let clients = run_limited(python3(), &["-c", CLIENTS, &p], Duration::from_secs(30));
    assert!(
        clients.status.success(),
        "clients: {}{}\nserver:\n{}",
        stdout(&clients),
        stderr(&clients),
        server.output()
    );
    let out = stdout(&clients);
    let (a, b) = (client_port(&out, "A"), client_port(&out, "B"));
    let want = [
        format!("chat from the server: \"Welcome to socklab chat, you are 127.0.0.1:{a}; 0 other(s) online. Lines you type go to everyone.\""),
        format!("chat from the server: \"Welcome to socklab chat, you are 127.0.0.1:{b}; 1 other(s) online. Lines you type go to everyone.\""),
        format!("chat from the server: \"* 127.0.0.1:{b} is online\""),
        "chat line: \"hello from a\"".to_string(),
        format!("chat from the server: \"[127.0.0.1:{a}] hello from a\""),
        "chat line: \"hi back from b\"".to_string(),
        format!("chat from the server: \"[127.0.0.1:{b}] hi back from b\""),
        format!("chat from the server: \"* 127.0.0.1:{b} is offline\""),
    ];
    // The last line A read is the last one the sniffer decodes.
    sniffer.wait_for(&format!(".. {}", want[7]), LIMIT);
    assert_eq!(sniffer.interrupt(), Some(0), "{}", sniffer.output());
    let live = course_lines(&sniffer.output());
    for w in &want {
        assert!(live.contains(w), "live sniff lacks {w:?}:\n{live:#?}");
    }
    assert_eq!(live.len(), want.len(), "{live:#?}");

    // The file replays with the same decoding, line for line.
    let replay = socklab(&["replay", f, "--color", "never", "--decode", &rule]);
    assert!(replay.status.success(), "{}", stderr(&replay));
    assert_eq!(course_lines(&stdout(&replay)), live);
    let stats = socklab(&["replay", f, "--decode", &rule, "--stats"]);
    let s = stdout(&stats);
    // Sent: A's and B's lines; relayed: 2 welcomes, 2 announcements, 2 relays.
    for w in [
        "    chat lines sent                     2",
        "    chat lines relayed                  6",
    ] {
        assert!(s.contains(w), "lacks {w:?}:\n{s}");
    }

    // Chat has no heuristic: without --decode nothing is taken for a
    // course protocol (not even echo, though the server repeats lines).
    let plain = socklab(&["replay", f, "--color", "never", "-v"]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    let plain = stdout(&plain);
    assert_eq!(course_lines(&plain), Vec::<String>::new(), "{plain}");
    assert!(!plain.contains("recognised"), "{plain}");
}
