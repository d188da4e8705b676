//! A tcpdump command line just works: options after the filter words,
//! `sniff -r FILE`, `replay -` (standard input), `-w -` (a pcap stream on
//! standard output, read by `tcpdump -r -`), `-n`/`-nn`, `-A`, `-x`/`-xx`,
//! `-X`/`-XX`, `-q`, `-l`, `-vv`, `-D`, and `-c 0` refused. Each test fails
//! without its habit. Output that tcpdump also prints (dumps, quiet lines)
//! is compared with tcpdump's own; tcpdump is installed by `.ci/run` (the
//! tests skip without it, and fail under CI). The live `sniff -w - |
//! tcpdump -r -` test needs CAP_NET_RAW and filters on its own ephemeral port.

#[allow(dead_code)]
#[path = "common/capfiles.rs"]
mod capfiles;

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use capfiles::*;

const BIN: &str = env!("CARGO_BIN_EXE_socklab");

fn have_tcpdump() -> bool {
    common::have_tool("tcpdump", "--version")
}

fn socklab(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .args(["--color", "never"])
        .env("TZ", "UTC0")
        .stdin(Stdio::null())
        .output()
        .expect("run socklab")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "failed: {}", text(&o.stderr));
    text(&o.stdout)
}

/// Lines that start with a time (the packet lines).
fn packet_lines(s: &str) -> Vec<&str> {
    s.lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}

/// A capture with a TCP conversation (text payload on a course port), UDP
/// calculator datagrams and an ICMP echo: what the dumps are compared on.
fn capture(dir: &Path) -> PathBuf {
    let mut frames: Vec<Vec<u8>> = conversation().iter().map(|p| wrap(1, p, false)).collect();
    frames.push(wrap(
        1,
        &ip_tcp(
            40001,
            10000,
            7,
            9,
            PSH | ACK,
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x01\x02\tA\rB",
        ),
        false,
    ));
    for i in 0..3u8 {
        frames.push(wrap(1, &ip_udp(5555, 10009, &[i; 12]), false));
    }
    let mut icmp = vec![
        0x45, 0, 0, 33, 0, 0, 0x40, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
    ];
    icmp.extend_from_slice(&[8, 0, 0, 0, 0, 7, 0, 1]);
    icmp.extend_from_slice(b"hello");
    frames.push(wrap(1, &icmp, false));
    let p = dir.join("habits.pcap");
    std::fs::write(&p, pcap(false, false, 1, &recs(&frames, false))).expect("write");
    p
}

#[test]
fn options_after_the_filter_words_as_tcpdump_takes_them() {
    let dir = temp_dir("habits-order");
    let f = capture(&dir);
    let f = f.to_str().expect("utf-8");
    let before = ok(&socklab(&["replay", "-c", "2", "-S", f, "udp"]));
    let after = ok(&socklab(&["replay", f, "udp", "-c", "2", "-S"]));
    let between = ok(&socklab(&[
        "replay", f, "udp", "-c", "2", "and", "port", "10009", "-S",
    ]));
    assert_eq!(packet_lines(&before).len(), 2, "{before}");
    assert_eq!(before, after);
    assert_eq!(before, between);
    assert!(
        packet_lines(&after)
            .iter()
            .all(|l| l.contains(": UDP, length 12")),
        "{after}"
    );
    // sniff too: -r FILE with the options anywhere.
    let sniffed = ok(&socklab(&["sniff", "-r", f, "udp", "-c", "2", "-S"]));
    assert_eq!(sniffed, before);
}

#[test]
fn sniff_r_reads_a_file_as_replay_does() {
    let dir = temp_dir("habits-r");
    let f = capture(&dir);
    let f = f.to_str().expect("utf-8");
    let replay = socklab(&["replay", f, "-S"]);
    let sniff = socklab(&["sniff", "-r", f, "-S"]);
    assert_eq!(ok(&sniff), ok(&replay));
    assert_eq!(packet_lines(&ok(&sniff)).len(), 13);
    assert_eq!(text(&sniff.stderr), text(&replay.stderr));
}

/// `cat FILE | socklab replay -` prints what `socklab replay FILE` prints,
/// for pcap and pcapng, and `sniff -r -` too.
#[test]
fn replay_dash_reads_standard_input() {
    let dir = temp_dir("habits-stdin");
    let f = capture(&dir);
    let from_file = ok(&socklab(&["replay", f.to_str().expect("utf-8"), "-S"]));
    for args in [&["replay", "-", "-S"][..], &["sniff", "-r", "-", "-S"]] {
        let mut child = Command::new(BIN)
            .args(args)
            .args(["--color", "never"])
            .env("TZ", "UTC0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let bytes = std::fs::read(&f).expect("read");
        let mut stdin = child.stdin.take().expect("stdin");
        let feeder = std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
        let o = child.wait_with_output().expect("wait");
        feeder.join().expect("feeder");
        assert_eq!(ok(&o), from_file, "{args:?}");
        assert!(
            text(&o.stderr).contains("read from standard input"),
            "{}",
            text(&o.stderr)
        );
    }
    // pcapng through a pipe too.
    let ng = tshark_free_pcapng(&dir);
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cat '{}' | '{BIN}' replay - --color never -S",
            ng.display()
        ))
        .env("TZ", "UTC0")
        .stdin(Stdio::null())
        .output()
        .expect("sh");
    assert_eq!(packet_lines(&ok(&o)).len(), 8, "{}", text(&o.stderr));
}

/// A pcapng file of the conversation, written by socklab itself.
fn tshark_free_pcapng(dir: &Path) -> PathBuf {
    let f = capture(dir);
    let ng = dir.join("conv.pcapng");
    let o = socklab(&[
        "replay",
        f.to_str().expect("utf-8"),
        "tcp",
        "port",
        "10009",
        "-w",
        ng.to_str().expect("utf-8"),
    ]);
    ok(&o);
    ng
}

/// `socklab replay FILE FILTER -w -` writes only a pcap stream (no lines)
/// that `tcpdump -r -` reads: the packets that pass the filter.
#[test]
fn w_dash_writes_a_pcap_stream_tcpdump_reads() {
    if !have_tcpdump() {
        return;
    }
    let dir = temp_dir("habits-wdash");
    let f = capture(&dir);
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{BIN}' replay '{}' udp -w - | tcpdump -nn -S -r -",
            f.display()
        ))
        .env("TZ", "UTC0")
        .stdin(Stdio::null())
        .output()
        .expect("sh");
    let lines = ok(&o);
    let theirs = packet_lines(&lines);
    assert_eq!(theirs.len(), 3, "{lines}\n{}", text(&o.stderr));
    assert!(
        theirs.iter().all(|l| l.ends_with("UDP, length 12")),
        "{lines}"
    );
    // Only the capture on stdout: it starts with the pcap magic.
    let raw = socklab(&["replay", f.to_str().expect("utf-8"), "udp", "-w", "-"]);
    assert!(raw.status.success(), "{}", text(&raw.stderr));
    assert_eq!(&raw.stdout[..4], &0xa1b2_c3d4u32.to_ne_bytes());
    assert_eq!(raw.stdout.len(), 24 + 3 * (16 + 14 + 20 + 8 + 12));
    // A reader that stops early (`| head -c 30`) is a quiet end, not an error.
    let many: Vec<Vec<u8>> = (0..20_000u32)
        .map(|i| wrap(1, &ip_udp(5555, 10009, &i.to_be_bytes()), false))
        .collect();
    let big = dir.join("big.pcap");
    std::fs::write(&big, pcap(false, false, 1, &recs(&many, false))).expect("write");
    let mut child = Command::new(BIN)
        .args(["replay", big.to_str().expect("utf-8"), "-w", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut head = [0u8; 30];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut head)
        .expect("30 bytes");
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success(), "{:?}: {}", o.status, text(&o.stderr));
}

/// Live: `socklab sniff -i lo -w - udp port P -c 3 | tcpdump -r -` gets
/// the three datagrams sent to this test's own port.
#[test]
fn sniff_w_dash_into_tcpdump_r_dash() {
    if !have_tcpdump() || !common::can_capture() {
        return;
    }
    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = rx.local_addr().expect("addr").port();
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let mut sniff = Command::new(BIN)
        .args(["sniff", "-i", "lo", "-w", "-", "udp", "and", "dst", "port"])
        .arg(port.to_string())
        .args(["-c", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sniff");
    let tcpdump = Command::new("tcpdump")
        .args(["-nn", "-r", "-"])
        .stdin(Stdio::from(sniff.stdout.take().expect("stdout")))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tcpdump");
    // Wait (bounded) for sniff to say it listens, then send until it has 3.
    let (said, heard) = mpsc::channel();
    let err = sniff.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if line.contains("listening on") {
                let _ = said.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let listening = heard.recv_timeout(Duration::from_secs(20)).is_ok();
    let start = Instant::now();
    let mut sent = 0;
    while listening && start.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(_)) = sniff.try_wait() {
            break;
        }
        tx.send_to(b"twelve bytes", ("127.0.0.1", port))
            .expect("send");
        sent += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    if sniff.try_wait().ok().flatten().is_none() {
        let _ = sniff.kill();
    }
    let status = sniff.wait().expect("wait sniff");
    let notes = reader.join().expect("stderr reader");
    let o = tcpdump.wait_with_output().expect("tcpdump");
    let lines = text(&o.stdout);
    assert!(listening, "sniff never said it listens:\n{notes}");
    assert!(status.success(), "sniff: {status:?}\n{notes}");
    assert_eq!(
        lines.lines().count(),
        3,
        "sent {sent}; tcpdump read:\n{lines}\n{}\nsniff:\n{notes}",
        text(&o.stderr)
    );
    assert!(
        lines
            .lines()
            .all(|l| l.ends_with(&format!(".{port}: UDP, length 12"))),
        "{lines}"
    );
}

/// `-n` and `-nn` change nothing (socklab never resolves names), `-vv` is `-v`.
#[test]
fn n_nn_and_vv_are_accepted() {
    let dir = temp_dir("habits-n");
    let f = capture(&dir);
    let f = f.to_str().expect("utf-8");
    let plain = ok(&socklab(&["replay", f, "-S"]));
    assert_eq!(ok(&socklab(&["replay", "-n", f, "-S"])), plain);
    assert_eq!(ok(&socklab(&["replay", "-nn", f, "-S"])), plain);
    assert_eq!(ok(&socklab(&["sniff", "-nn", "-r", f, "-S"])), plain);
    let v = ok(&socklab(&["replay", f, "-v"]));
    assert_ne!(v, ok(&socklab(&["replay", f])));
    assert_eq!(ok(&socklab(&["replay", f, "-vv"])), v);
}

/// socklab's output with its own lines (narration, course decoding, the
/// connection summary) left out: what tcpdump prints too.
fn tcpdump_part(s: &str) -> String {
    let mut out = String::new();
    for l in s.lines() {
        if l.starts_with("TCP connections:") {
            break;
        }
        if l.starts_with("    -- ") || l.starts_with("    .. ") {
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// `-A`, `-x`, `-xx`, `-X`, `-XX` print what tcpdump prints (beside
/// socklab's own lines); `-q` prints only what tcpdump -q prints.
#[test]
fn dumps_and_quiet_lines_are_tcpdumps() {
    if !have_tcpdump() {
        return;
    }
    let dir = temp_dir("habits-dumps");
    let f = capture(&dir);
    for flag in ["-A", "-x", "-xx", "-X", "-XX", "-q"] {
        let o = Command::new("tcpdump")
            .args(["-nn", "-S", flag, "-r"])
            .arg(&f)
            .env("TZ", "UTC0")
            .stdin(Stdio::null())
            .output()
            .expect("tcpdump");
        let theirs = ok(&o);
        let ours = ok(&socklab(&[
            "replay",
            f.to_str().expect("utf-8"),
            "-S",
            flag,
        ]));
        // -q prints exactly what tcpdump -q prints: no narration, no
        // course lines and no connection summary after the packets.
        let ours = if flag == "-q" {
            // The same from `sniff -r`.
            let sniff_r = ok(&socklab(&[
                "sniff",
                "-r",
                f.to_str().expect("utf-8"),
                "-S",
                flag,
            ]));
            assert_eq!(
                sniff_r, theirs,
                "socklab sniff -r FILE -q differs from tcpdump -q"
            );
            ours
        } else {
            tcpdump_part(&ours)
        };
        assert_eq!(
            ours, theirs,
            "socklab replay {flag} differs from tcpdump {flag}"
        );
        assert!(ours.len() > 200, "{ours}");
    }
}

/// `sniff -q` prints the packet lines and nothing after them, as tcpdump
/// -q: no "TCP connections:" summary when it stops (without -q there is one).
#[test]
fn sniff_q_prints_no_connection_summary() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    if !common::can_capture() {
        return;
    }
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let p = port.to_string();
    let run = |quiet: bool| -> String {
        let mut args = vec!["sniff", "-i", "lo", "--color", "never", "tcp", "port", &p];
        if quiet {
            args.push("-q");
        }
        let mut sniffer = common::Server::start(BIN, &args, "listening on");
        let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut s = common::accept_within(&l, Duration::from_secs(10));
        c.write_all(b"hi").expect("write");
        let mut buf = [0u8; 2];
        s.read_exact(&mut buf).expect("read");
        drop(c);
        drop(s);
        sniffer.wait_for(
            if quiet { ": tcp 2" } else { "length 2" },
            Duration::from_secs(20),
        );
        assert_eq!(sniffer.interrupt(), Some(0), "{}", sniffer.output());
        sniffer.output()
    };
    let loud = run(false);
    assert!(loud.contains("TCP connections:"), "{loud}");
    let quiet = run(true);
    assert!(!quiet.contains("TCP connections:"), "{quiet}");
    assert!(!quiet.contains("  #1 "), "{quiet}");
}

/// `-l`: each packet is written as soon as it is printed, even into a pipe
/// whose input is still open (without -l it waits in a buffer).
#[test]
fn l_writes_each_packet_at_once() {
    let dir = temp_dir("habits-l");
    let f = capture(&dir);
    let bytes = std::fs::read(&f).expect("read");
    // The file header and the first record (a SYN) only.
    let first = 24 + 16 + (bytes[24 + 8] as usize | (bytes[24 + 9] as usize) << 8);
    let mut child = Command::new(BIN)
        .args(["replay", "-", "-l", "--color", "never"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&bytes[..first]).expect("write");
    stdin.flush().expect("flush");
    let mut out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut got = Vec::new();
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            let _ = tx.send(got.clone());
        }
    });
    let seen = rx.recv_timeout(Duration::from_secs(15));
    drop(stdin);
    let _ = child.wait();
    let _ = reader.join();
    let seen = seen.expect("no line within 15 s while the pipe stayed open: -l did not flush");
    assert!(text(&seen).contains("Flags [S]"), "{}", text(&seen));
}

#[test]
fn c_0_is_refused_with_a_reason() {
    for cmd in [&["replay", "x.pcap", "-c", "0"][..], &["sniff", "-c", "0"]] {
        let o = socklab(cmd);
        assert_eq!(o.status.code(), Some(2), "{cmd:?}");
        let e = text(&o.stderr);
        assert!(
            e.contains("-c takes the number of packets to show, 1 or more"),
            "{e}"
        );
    }
}

/// `sniff -D` lists every interface of this host and the `any`
/// pseudo-device, each with its link type; lo is up and loopback.
#[test]
fn d_lists_the_interfaces() {
    // An interface another program adds or removes meanwhile (a test's
    // veth) is not counted: only those there before and after.
    let before = netdevs();
    let o = socklab(&["sniff", "-D"]);
    let after = netdevs();
    let list = ok(&o);
    let mut names = Vec::new();
    for (i, l) in list.lines().enumerate() {
        let (n, rest) = l.split_once('.').expect("N.name");
        assert_eq!(n.parse::<usize>().ok(), Some(i + 1), "numbered from 1: {l}");
        assert!(l.contains(" (link type "), "{l}");
        names.push(rest.split([' ', '[']).next().unwrap_or("").to_string());
    }
    let lo = list
        .lines()
        .find(|l| l.contains(".lo "))
        .expect("lo listed");
    assert!(
        lo.contains("[Up, Running, Loopback]") && lo.ends_with("(link type ethernet)"),
        "{lo}"
    );
    let any = list
        .lines()
        .find(|l| l.contains(".any "))
        .expect("any listed");
    assert!(
        any.ends_with(
            ".any (Pseudo-device that captures on all interfaces) [Up, Running] (link type linux-sll2)"
        ),
        "{any}"
    );
    for s in before.iter().filter(|s| after.contains(s)) {
        assert!(names.contains(s), "{s} missing from:\n{list}");
    }
}

/// The interfaces of /sys/class/net (what a packet socket can open).
fn netdevs() -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .expect("/sys/class/net")
        .flatten()
        .filter(|e| e.path().join("ifindex").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// `sniff -D` is `tcpdump -D` with the link type added: the same order,
/// names, descriptions and states, `any` included; tcpdump's devices that
/// are not network interfaces (nflog, dbus, ...: nothing a packet socket
/// opens) are the only ones socklab leaves out, and the numbers are
/// tcpdump's wherever none of those came before.
#[test]
fn d_is_tcpdumps_list() {
    if !have_tcpdump() {
        return;
    }
    let version = Command::new("tcpdump")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .expect("tcpdump --version");
    let version = text(&version.stdout) + &text(&version.stderr);
    if !libpcap_sorts_as_1_10(&version) {
        eprintln!("NOT COMPARED: libpcap before 1.10 orders -D differently:\n{version}");
        return;
    }
    // Another program may add, remove or change an interface between the
    // two listings (a test's veth): only a difference that stays fails.
    let mut diff = String::new();
    for _ in 0..5 {
        match d_lists_differ() {
            None => return,
            Some(d) => diff = d,
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("{diff}");
}

/// True when `tcpdump --version` names libpcap 1.10 or later (whose
/// figure of merit socklab's order follows).
fn libpcap_sorts_as_1_10(version: &str) -> bool {
    let v = version
        .split("libpcap version ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or("");
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (1, 10)
}

/// How `socklab sniff -D` differs from `tcpdump -D`, if it does.
fn d_lists_differ() -> Option<String> {
    let ours = ok(&socklab(&["sniff", "-D"]));
    let theirs = ok(&Command::new("tcpdump")
        .arg("-D")
        .stdin(Stdio::null())
        .output()
        .expect("tcpdump -D"));
    let netdevs = netdevs();
    // tcpdump's lines socklab lists too, with tcpdump's number.
    let kept: Vec<(usize, &str)> = theirs
        .lines()
        .filter_map(|l| {
            let (n, rest) = l.split_once('.')?;
            let name = rest.split(' ').next()?;
            (name == "any" || netdevs.iter().any(|d| d == name))
                .then(|| (n.parse().expect("tcpdump's number"), rest))
        })
        .collect();
    let ours_kept: Vec<(usize, &str)> = ours
        .lines()
        .map(|l| {
            let (n, rest) = l.split_once('.').expect("N.name");
            let rest = rest
                .rsplit_once(" (link type ")
                .map_or(rest, |(before, _)| before);
            (n.parse().expect("number"), rest)
        })
        .collect();
    let strip = |v: &[(usize, &str)]| v.iter().map(|(_, l)| l.to_string()).collect::<Vec<_>>();
    if !kept.iter().any(|(_, l)| l.starts_with("any ")) || strip(&ours_kept) != strip(&kept) {
        return Some(format!(
            "socklab sniff -D (link types left out) differs from tcpdump -D:\n{ours}\n--- tcpdump -D:\n{theirs}"
        ));
    }
    // The numbers are tcpdump's wherever no device socklab leaves out came before.
    for (k, (o, t)) in ours_kept.iter().zip(&kept).enumerate() {
        if t.0 == k + 1 && o.0 != t.0 {
            return Some(format!(
                "number of {}: {} against tcpdump's {}",
                t.1, o.0, t.0
            ));
        }
    }
    None
}

/// `-w -` onto a terminal is refused before anything is read, with the fix.
#[test]
fn w_dash_onto_a_terminal_is_refused() {
    use std::os::fd::{FromRawFd, OwnedFd};
    let dir = temp_dir("habits-tty");
    let f = capture(&dir);
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two descriptors into the integers we pass; the
    // name, termios and winsize pointers may be null.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened for us and are owned once.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for args in [
        &["replay", f.to_str().expect("utf-8"), "-w", "-"][..],
        &["sniff", "-i", "lo", "-w", "-", "udp", "port", "9"],
    ] {
        let o = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(slave.try_clone().expect("dup")))
            .stderr(Stdio::piped())
            .output()
            .expect("run");
        let e = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {e}");
        assert!(
            e.contains("standard output is a terminal") && e.contains("| tcpdump -r -"),
            "{e}"
        );
        assert!(!e.contains("packet"), "refused before reading: {e}");
    }
    drop(master);
}
