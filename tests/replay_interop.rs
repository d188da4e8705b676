//! Capture files and the standard tools: files socklab writes are read by
//! `tcpdump -r` (same packet count, no warning) and tshark; files tcpdump
//! and tshark write (`-i lo`, `-i any` in both cooked formats, nanosecond
//! pcap, pcapng) are replayed by socklab with the same addresses, ports,
//! flags, seq/ack and times as tcpdump prints. Live captures (`sniff -w`,
//! `--sniff -w`, tcpdump running alongside) need CAP_NET_RAW and are
//! skipped with the reason without it; the tools' absence is a skip too.

#[allow(dead_code)]
#[path = "common/capfiles.rs"]
mod capfiles;

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::can_capture;

use capfiles::*;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_socklab");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `tcpdump -r FILE --count`: the packet count, and stderr must hold
/// nothing but the "reading from file" line.
fn tcpdump_count(f: &Path) -> u64 {
    let o = run(Command::new("tcpdump").arg("-r").arg(f).arg("--count"));
    let (so, se) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "tcpdump -r {}: {se}", f.display());
    for l in se.lines() {
        assert!(
            l.starts_with("reading from file"),
            "tcpdump warns about {}: {l}",
            f.display()
        );
    }
    so.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("tcpdump --count said {so:?}"))
}

/// tshark reads the file with no complaint; returns its packet count.
fn tshark_count(f: &Path) -> u64 {
    let o =
        run(Command::new("tshark")
            .arg("-r")
            .arg(f)
            .args(["-T", "fields", "-e", "frame.number"]));
    let se = text(&o.stderr);
    assert!(o.status.success(), "tshark -r {}: {se}", f.display());
    for l in se.lines() {
        // tshark's warning about running as root is about itself, not the file.
        assert!(
            l.contains("Running as user \"root\""),
            "tshark complains about {}: {l}",
            f.display()
        );
    }
    text(&o.stdout).lines().count() as u64
}

/// One packet as tcpdump `-nn -S -tt` prints it.
#[derive(Debug)]
struct Dumped {
    micros: u64,
    src: String,
    dst: String,
    flags: Option<String>,
    seq: Option<u64>,
    ack: Option<u64>,
}

fn parse_tcpdump(line: &str) -> Dumped {
    let (time, rest) = line.split_once(' ').expect("time");
    let (s, us) = time.split_once('.').expect("seconds.micros");
    let micros = s.parse::<u64>().expect("secs") * 1_000_000 + us.parse::<u64>().expect("micros");
    let ip = &rest[rest.find("IP ").expect("an IP packet") + 3..];
    let mut w = ip.split_whitespace();
    let src = w.next().expect("src").to_string();
    w.next();
    let dst = w.next().expect("dst").trim_end_matches(':').to_string();
    let field = |name: &str| {
        ip.split(", ").find_map(|p| p.strip_prefix(name)).map(|v| {
            v.split(':')
                .next()
                .unwrap_or(v)
                .parse::<u64>()
                .expect("number")
        })
    };
    let flags = ip
        .find("Flags [")
        .map(|i| ip[i + 7..].split(']').next().unwrap_or("").to_string());
    Dumped {
        micros,
        src,
        dst,
        flags,
        seq: field("seq "),
        ack: field("ack "),
    }
}

/// socklab replay --json --absolute-seq agrees with tcpdump -nn -S -tt on every packet.
fn assert_same_as_tcpdump(f: &Path) -> usize {
    let o = run(Command::new("tcpdump")
        .args(["-nn", "-S", "-tt", "-r"])
        .arg(f));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let theirs: Vec<Dumped> = text(&o.stdout).lines().map(parse_tcpdump).collect();
    let o = run(Command::new(BIN)
        .arg("replay")
        .arg(f)
        .args(["--json", "--absolute-seq"]));
    assert!(
        o.status.success(),
        "socklab replay {}: {}",
        f.display(),
        text(&o.stderr)
    );
    let ours: Vec<Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(ours.len(), theirs.len(), "packet count of {}", f.display());
    for (i, (j, t)) in ours.iter().zip(&theirs).enumerate() {
        let ctx = format!(
            "{} packet {}: tcpdump {t:?}\nsocklab {j}",
            f.display(),
            i + 1
        );
        let (proto, src_port, dst_port) = if j["tcp"].is_object() {
            ("tcp", &j["tcp"]["src_port"], &j["tcp"]["dst_port"])
        } else {
            ("udp", &j["udp"]["src_port"], &j["udp"]["dst_port"])
        };
        assert_eq!(
            format!("{}.{}", j["ip"]["src"].as_str().unwrap_or(""), src_port),
            t.src,
            "{ctx}"
        );
        assert_eq!(
            format!("{}.{}", j["ip"]["dst"].as_str().unwrap_or(""), dst_port),
            t.dst,
            "{ctx}"
        );
        assert_eq!(
            j["ts_ns"]
                .as_str()
                .and_then(|s| s.parse::<u64>().ok())
                .map(|n| n / 1000),
            Some(t.micros),
            "{ctx}"
        );
        if proto == "tcp" {
            assert_eq!(j["tcp"]["flags"].as_str(), t.flags.as_deref(), "{ctx}");
            if let Some(seq) = t.seq {
                assert_eq!(j["tcp"]["seq"].as_u64(), Some(seq), "{ctx}");
            }
            if let Some(ack) = t.ack {
                assert_eq!(j["tcp"]["ack"].as_u64(), Some(ack), "{ctx}");
            }
        }
    }
    ours.len()
}

#[test]
fn files_socklab_writes_open_in_tcpdump_and_tshark() {
    use socklab::capture::file::{WriteOptions, Writer};
    use socklab::capture::{LinkType, Packet, Timestamp};
    let (tcpdump, tshark) = (
        common::have_tool("tcpdump", "--version"),
        common::have_tool("tshark", "--version"),
    );
    if !tcpdump && !tshark {
        return;
    }
    let dir = temp_dir("interop-write");
    let frames: Vec<Vec<u8>> = conversation().iter().map(|p| wrap(1, p, false)).collect();
    for name in ["w.pcap", "w.pcapng"] {
        for nano in [false, true] {
            let path = dir.join(format!("{nano}-{name}"));
            let mut o = WriteOptions::new(&path, LinkType::Ethernet, nano);
            o.iface = Some("lo".into());
            o.snaplen = 60; // the data segments are cut, keeping their length
            let mut w = Writer::create_with(&path, &o).expect("create");
            for (i, f) in frames.iter().enumerate() {
                let ts = Timestamp::new(1_763_703_627, i as u32 * 250_123);
                w.write(&Packet {
                    ts,
                    data: f,
                    orig_len: f.len(),
                    link: LinkType::Ethernet,
                })
                .expect("write");
            }
            w.finish().expect("finish");
            if tcpdump {
                assert_eq!(tcpdump_count(&path), 8, "{}", path.display());
                assert_same_as_tcpdump(&path);
            }
            if tshark {
                assert_eq!(tshark_count(&path), 8, "{}", path.display());
            }
        }
    }
}

#[test]
fn files_tcpdump_and_tshark_write_replay_the_same() {
    if !common::have_tool("tcpdump", "--version") {
        return;
    }
    for (name, link) in [
        ("tcpdump-lo.pcap", "ethernet"),
        ("tcpdump-lo-nano.pcap", "ethernet"),
        ("tcpdump-any-sll.pcap", "linux-sll"),
        ("tcpdump-any-sll2.pcap", "linux-sll2"),
        ("tshark-lo.pcapng", "ethernet"),
    ] {
        let f = fixture(name);
        assert_eq!(assert_same_as_tcpdump(&f), 16, "{name}");
        let o = run(Command::new(BIN).arg("replay").arg(&f).args(["--json"]));
        let first: Value =
            serde_json::from_str(text(&o.stdout).lines().next().expect("a packet")).expect("JSON");
        assert_eq!(first["link"]["type"], link, "{name}");
        // And the story: the handshake, the course payloads, the close.
        let o = run(Command::new(BIN)
            .arg("replay")
            .arg(&f)
            .args(["--color", "never"]));
        let story = text(&o.stdout);
        for want in [
            "-- handshake 3/3: connection established in",
            "closes first (FIN)",
            "is left in TIME_WAIT",
        ] {
            assert!(story.contains(want), "{name} lacks {want:?}:\n{story}");
        }
    }
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    fn interrupt_and_wait(mut self) -> Output {
        // SAFETY: sending SIGINT to our own child by pid.
        unsafe {
            libc::kill(self.0.id() as libc::pid_t, libc::SIGINT);
        }
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let child = std::mem::replace(
            &mut self.0,
            Command::new("true").spawn().expect("placeholder"),
        );
        child.wait_with_output().expect("output")
    }
}

fn spawn(cmd: &mut Command) -> Proc {
    Proc(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn"),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

/// The packet lines and narration of a sniff or replay output (no summary).
fn packet_lines(s: &str) -> Vec<String> {
    s.lines()
        .take_while(|l| !l.starts_with("TCP connections:"))
        .map(str::to_string)
        .collect()
}

/// Durations are computed from timestamps: a microsecond file may round them differently.
fn without_durations(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| match l.find("established in ") {
            Some(i) => l[..i].to_string(),
            None => l.clone(),
        })
        .collect()
}

#[test]
fn live_capture_written_then_replayed_gives_the_same_lines() {
    if !can_capture() {
        return;
    }
    let dir = temp_dir("interop-live");
    let port = free_port();
    let p = port.to_string();
    let bind = format!("127.0.0.1:{port}");
    let server = spawn(Command::new(BIN).args(["tcp-calc", "serve", "--bind", &bind, "-q"]));
    let files: Vec<(PathBuf, bool)> = [
        ("a.pcap", false),
        ("b.pcap", true),
        ("c.pcapng", false),
        ("d.pcapng", true),
    ]
    .iter()
    .map(|(n, nano)| (dir.join(n), *nano))
    .collect();
    let mut sniffers = Vec::new();
    for (f, nano) in &files {
        let mut c = Command::new(BIN);
        c.args(["sniff", "--color", "never", "-w"]).arg(f);
        if *nano {
            c.arg("--nano");
        }
        c.args(["tcp", "port", &p]);
        sniffers.push(spawn(&mut c));
    }
    // A snap length: the file keeps 60 bytes of each packet and its real length.
    let cut = dir.join("cut.pcap");
    let cut_sniffer = spawn(
        Command::new(BIN)
            .args(["sniff", "--color", "never", "-s", "60", "-w"])
            .arg(&cut)
            .args(["tcp", "port", &p]),
    );
    let tcpdump = common::have_tool("tcpdump", "--version");
    let mut dumps = Vec::new();
    if tcpdump {
        for (name, args) in [
            ("lo.pcap", vec!["-i", "lo"]),
            ("any.pcap", vec!["-i", "any", "-y", "LINUX_SLL2"]),
        ] {
            let mut c = Command::new("tcpdump");
            c.args(&args)
                .arg("-w")
                .arg(dir.join(name))
                .args(["tcp", "port", &p]);
            dumps.push((dir.join(name), spawn(&mut c)));
        }
    }
    thread::sleep(Duration::from_millis(1500));
    let o = run(Command::new(BIN).args(["tcp-calc", "ask", "5", "8", "1", "--to", &bind]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    // The same traffic once more, watched and saved by --sniff -w.
    let sniffed = dir.join("sniff.pcap");
    let o = run(Command::new(BIN)
        .args([
            "tcp-calc", "ask", "2", "3", "0", "--to", &bind, "--sniff", "-w",
        ])
        .arg(&sniffed));
    let sniff_out = text(&o.stdout);
    assert!(o.status.success(), "{}", text(&o.stderr));
    thread::sleep(Duration::from_millis(500));
    drop(server);

    let mut first_live: Option<Vec<String>> = None;
    for ((f, nano), s) in files.iter().zip(sniffers) {
        let o = s.interrupt_and_wait();
        let live = text(&o.stdout);
        assert!(
            text(&o.stderr).contains("packets written to"),
            "{}",
            text(&o.stderr)
        );
        let o = run(Command::new(BIN)
            .arg("replay")
            .arg(f)
            .args(["--color", "never"]));
        assert!(o.status.success(), "{}", text(&o.stderr));
        let replayed = text(&o.stdout);
        let (a, b) = (packet_lines(&live), packet_lines(&replayed));
        assert!(a.len() >= 20, "too few lines captured:\n{live}");
        if *nano {
            assert_eq!(
                replayed,
                live,
                "{}: replay differs from the live output",
                f.display()
            );
        } else {
            assert_eq!(
                without_durations(&b),
                without_durations(&a),
                "{}",
                f.display()
            );
        }
        if tcpdump {
            assert_eq!(
                tcpdump_count(f) as usize,
                a.iter().filter(|l| l.contains(": Flags")).count()
            );
        }
        if common::have_tool("tshark", "--version") {
            tshark_count(f);
        }
        first_live.get_or_insert(a);
    }
    let live = text(&cut_sniffer.interrupt_and_wait().stdout);
    let o = run(Command::new(BIN)
        .arg("replay")
        .arg(&cut)
        .args(["--color", "never"]));
    let replayed = text(&o.stdout);
    assert_eq!(
        without_durations(&packet_lines(&replayed)),
        without_durations(&packet_lines(&live))
    );
    assert!(
        replayed.contains("[truncated: captured 60 of "),
        "{replayed}"
    );
    let j: Vec<Value> = text(&run(Command::new(BIN).arg("replay").arg(&cut).arg("--json")).stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert!(j.iter().all(|p| p["caplen"].as_u64() <= Some(60)));
    assert!(j
        .iter()
        .any(|p| p["len"].as_u64() > Some(60) && p["truncated"] == true));

    // --sniff -w: the file holds what --sniff showed.
    let shown: Vec<&str> = sniff_out
        .lines()
        .filter(|l| l.contains(": Flags ["))
        .collect();
    let o = run(Command::new(BIN)
        .arg("replay")
        .arg(&sniffed)
        .args(["--color", "never"]));
    let replayed: Vec<String> = text(&o.stdout)
        .lines()
        .filter(|l| l.contains(": Flags ["))
        .map(str::to_string)
        .collect();
    assert!(!shown.is_empty(), "{sniff_out}");
    assert_eq!(replayed, shown, "--sniff -w file vs --sniff output");
    if tcpdump {
        assert_eq!(tcpdump_count(&sniffed) as usize, shown.len());
    }
    // Captures tcpdump wrote at the same time: same packets as socklab saw.
    for (f, d) in dumps {
        d.interrupt_and_wait();
        let n = assert_same_as_tcpdump(&f);
        assert!(n >= 20, "{}: {n} packets", f.display());
    }
}
