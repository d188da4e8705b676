//! `socklab replay` on capture files built in the test (no privileges
//! needed): every link type, both pcap byte orders and magics, pcapng
//! timestamp resolutions, snap-length cuts, filters, `--stats`, the
//! progress bar, damaged files, and the file writer's round trip.

#[allow(dead_code)]
#[path = "common/capfiles.rs"]
mod capfiles;

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use capfiles::*;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_socklab");

fn replay(file: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("replay")
        .arg(file)
        .args(["--color", "never"])
        .args(args)
        // The golden times are UTC; socklab prints local time as tcpdump does.
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .output()
        .expect("run socklab replay")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write capture");
    p
}

fn json(o: &Output) -> Vec<Value> {
    out(o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// What replay prints for [`conversation`] at 250 µs intervals.
const GOLDEN: &str = "\
05:40:27.000000 IP 127.0.0.1.40000 > 127.0.0.1.10009: Flags [S], seq 0, win 65483, length 0
    -- handshake 1/3: 127.0.0.1.40000 asks 127.0.0.1.10009 to connect (SYN): connect() was called
05:40:27.000250 IP 127.0.0.1.10009 > 127.0.0.1.40000: Flags [S.], seq 0, ack 1, win 65483, length 0
    -- handshake 2/3: 127.0.0.1.10009 accepts (SYN-ACK): a socket is listening there and answers 127.0.0.1.40000
05:40:27.000500 IP 127.0.0.1.40000 > 127.0.0.1.10009: Flags [.], ack 1, win 65483, length 0
    -- handshake 3/3: connection established in 500 µs (ACK): connect() returns, accept() can return
05:40:27.000750 IP 127.0.0.1.40000 > 127.0.0.1.10009: Flags [P.], seq 1:7, ack 1, win 65483, length 6
    .. tcp-calc numbers: 5, 8, 1
05:40:27.001000 IP 127.0.0.1.10009 > 127.0.0.1.40000: Flags [P.], seq 1:5, ack 7, win 65483, length 4
    .. tcp-calc reply: -3
05:40:27.001250 IP 127.0.0.1.10009 > 127.0.0.1.40000: Flags [F.], seq 5, ack 7, win 65483, length 0
    -- 127.0.0.1.10009 closes first (FIN): close() or shutdown(SHUT_WR); 127.0.0.1.40000 will read end-of-file
05:40:27.001500 IP 127.0.0.1.40000 > 127.0.0.1.10009: Flags [F.], seq 7, ack 6, win 65483, length 0
    -- 127.0.0.1.40000 closes too (second FIN); 127.0.0.1.10009, which closed first, will be left in TIME_WAIT
05:40:27.001750 IP 127.0.0.1.10009 > 127.0.0.1.40000: Flags [.], ack 8, win 65483, length 0
    -- last FIN acknowledged: connection closed; 127.0.0.1.10009 is in TIME_WAIT (60 s on Linux), so a server there needs SO_REUSEADDR to bind that port again
TCP connections:
  #1 127.0.0.1.40000 > 127.0.0.1.10009: handshake 500 µs, 4 packets / 6 payload bytes from the client, 4 / 4 from the server; closed: the server 127.0.0.1.10009 closed first and is left in TIME_WAIT
";

fn eth_conversation() -> Vec<Vec<u8>> {
    conversation().iter().map(|p| wrap(1, p, false)).collect()
}

#[test]
fn golden_conversation_from_pcap() {
    let dir = temp_dir("golden");
    let f = write(
        &dir,
        "c.pcap",
        &pcap(false, false, 1, &recs(&eth_conversation(), false)),
    );
    let o = replay(&f, &[]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), GOLDEN);
    assert!(err(&o).contains("8 packets read from"), "{}", err(&o));
}

#[test]
fn every_link_type_tells_the_same_story() {
    let dir = temp_dir("links");
    // (pcap link type, NULL in big-endian order, JSON link.type)
    let cases = [
        (1, false, "ethernet"),
        (0, false, "null"),
        (0, true, "null"),
        (101, false, "raw-ip"),
        (228, false, "raw-ip"),
        (113, false, "linux-sll"),
        (276, false, "linux-sll2"),
    ];
    for (link, big, name) in cases {
        let frames: Vec<Vec<u8>> = conversation().iter().map(|p| wrap(link, p, big)).collect();
        let f = write(
            &dir,
            &format!("l{link}-{big}.pcap"),
            &pcap(false, false, link, &recs(&frames, false)),
        );
        let o = replay(&f, &[]);
        assert!(o.status.success(), "link {link}: {}", err(&o));
        // A cooked v2 line names the interface (ifindex 1: lo on Linux) and
        // the direction after the time, as tcpdump does.
        let want = if link == 276 {
            GOLDEN
                .lines()
                .map(|l| match l.split_at_checked(16) {
                    Some((t, rest)) if l.starts_with('0') => format!("{t}lo    In  {rest}\n"),
                    _ => format!("{l}\n"),
                })
                .collect()
        } else {
            GOLDEN.to_string()
        };
        assert_eq!(out(&o), want, "link type {link} (big-endian NULL: {big})");
        let j = json(&replay(&f, &["--json"]));
        assert_eq!(j.len(), 8);
        assert_eq!(j[0]["link"]["type"], name, "link type {link}");
        assert_eq!(j[3]["tcp"]["payload_len"], 6);
    }
    // 229: raw IPv6.
    let mut v6 = vec![0x60, 0, 0, 0, 0, 8, 17, 64];
    v6.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    v6.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    v6.extend_from_slice(&[0x13, 0x88, 0x27, 0x19, 0, 8, 0, 0]);
    let f = write(
        &dir,
        "l229.pcap",
        &pcap(false, false, 229, &recs(&[v6], false)),
    );
    let o = replay(&f, &[]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        out(&o),
        "05:40:27.000000 IP6 ::1.5000 > ::1.10009: UDP, length 0\n"
    );
}

#[test]
fn unknown_link_type_is_reported_not_guessed() {
    let dir = temp_dir("unknown-link");
    let f = write(
        &dir,
        "wifi.pcap",
        &pcap(false, false, 105, &recs(&eth_conversation(), false)),
    );
    let o = replay(&f, &[]);
    assert!(!o.status.success());
    assert_eq!(out(&o), "");
    let e = err(&o);
    assert!(
        e.contains("wifi.pcap: link type 105 (IEEE 802.11 wireless) is not one socklab decodes"),
        "{e}"
    );
    // pcapng: packets on an undecodable interface are counted, not shown, and said.
    let mut pkts = Vec::new();
    for (i, f) in eth_conversation().into_iter().enumerate() {
        pkts.push(Epb {
            iface: 0,
            ts: 1_763_703_627_000_000 + i as u64 * 250,
            orig_len: f.len() as u32,
            data: f.clone(),
        });
        pkts.push(Epb {
            iface: 1,
            ts: 1_763_703_627_000_000 + i as u64 * 250,
            orig_len: f.len() as u32,
            data: f,
        });
    }
    let ng = pcapng(
        false,
        &[
            Iface {
                link: 1,
                tsresol: None,
            },
            Iface {
                link: 147,
                tsresol: None,
            },
        ],
        &pkts,
    );
    let f = write(&dir, "mixed.pcapng", &ng);
    let o = replay(&f, &[]);
    assert_eq!(out(&o), GOLDEN);
    assert!(!o.status.success());
    assert!(
        err(&o).contains("8 packets not shown: their interface's link type 147 (user-defined)"),
        "{}",
        err(&o)
    );
}

#[test]
fn pcap_byte_orders_and_timestamp_magics() {
    let dir = temp_dir("orders");
    for big in [false, true] {
        for nano in [false, true] {
            let mut r = recs(&eth_conversation(), nano);
            if nano {
                // A time below the microsecond survives in JSON (on the last
                // packet, so no narrated duration changes).
                r[7].frac += 789;
            }
            let f = write(&dir, &format!("{big}-{nano}.pcap"), &pcap(big, nano, 1, &r));
            let o = replay(&f, &[]);
            assert!(o.status.success(), "{}", err(&o));
            assert_eq!(out(&o), GOLDEN, "big-endian {big}, nano {nano}");
            let format = err(&o);
            assert!(
                format.contains(if big { "big-endian" } else { "little-endian" })
                    && format.contains(if nano { "nanosecond" } else { "microsecond" }),
                "{format}"
            );
            let j = json(&replay(&f, &["--json"]));
            let want: i64 = 1_763_703_627_001_750_000 + if nano { 789 } else { 0 };
            assert_eq!(
                j[7]["ts_ns"].as_str().and_then(|s| s.parse::<i64>().ok()),
                Some(want)
            );
            assert_eq!(
                j[1]["ts_ns"].as_str().and_then(|s| s.parse::<i64>().ok()),
                Some(1_763_703_627_000_250_000)
            );
        }
    }
}

#[test]
fn pcapng_per_interface_timestamp_resolution() {
    let dir = temp_dir("pcapng");
    let base_ns: u64 = 1_763_703_627_000_000_000;
    // (if_tsresol, units per second)
    let resolutions: [(Option<u8>, u64); 3] = [
        (None, 1_000_000),
        (Some(6), 1_000_000),
        (Some(9), 1_000_000_000),
    ];
    for big in [false, true] {
        for (res, per_sec) in resolutions {
            let pkts: Vec<Epb> = eth_conversation()
                .into_iter()
                .enumerate()
                .map(|(i, f)| {
                    let ns = base_ns + i as u64 * 250_000;
                    let ts = (ns as u128 * per_sec as u128 / 1_000_000_000) as u64;
                    Epb {
                        iface: 0,
                        ts,
                        orig_len: f.len() as u32,
                        data: f,
                    }
                })
                .collect();
            let f = write(
                &dir,
                &format!("{big}-{res:?}.pcapng"),
                &pcapng(
                    big,
                    &[Iface {
                        link: 1,
                        tsresol: res,
                    }],
                    &pkts,
                ),
            );
            let o = replay(&f, &[]);
            assert!(o.status.success(), "{}", err(&o));
            assert_eq!(out(&o), GOLDEN, "big-endian {big}, if_tsresol {res:?}");
        }
        // A binary resolution, 2^-20 s: ticks converted exactly.
        let ticks: u64 = (1_763_703_627u64 << 20) + 12_345;
        let frame = eth_conversation().remove(0);
        let f = write(
            &dir,
            &format!("{big}-bin.pcapng"),
            &pcapng(
                big,
                &[Iface {
                    link: 1,
                    tsresol: Some(0x80 | 20),
                }],
                &[Epb {
                    iface: 0,
                    ts: ticks,
                    orig_len: frame.len() as u32,
                    data: frame,
                }],
            ),
        );
        let j = json(&replay(&f, &["--json"]));
        assert_eq!(
            j[0]["ts_ns"].as_str().and_then(|s| s.parse::<i64>().ok()),
            Some(((ticks as u128 * 1_000_000_000) >> 20) as i64)
        );
    }
    // Two interfaces, two resolutions and two link types, one instant each.
    let a = wrap(1, &conversation()[0], false);
    let b = wrap(276, &conversation()[1], false);
    let ng = pcapng(
        false,
        &[
            Iface {
                link: 1,
                tsresol: Some(9),
            },
            Iface {
                link: 276,
                tsresol: Some(3),
            },
        ],
        &[
            Epb {
                iface: 0,
                ts: base_ns + 123_456_789,
                orig_len: a.len() as u32,
                data: a,
            },
            Epb {
                iface: 1,
                ts: base_ns / 1_000_000 + 124,
                orig_len: b.len() as u32,
                data: b,
            },
        ],
    );
    let f = write(&dir, "two.pcapng", &ng);
    let j = json(&replay(&f, &["--json"]));
    assert_eq!(
        j[0]["ts_ns"].as_str().and_then(|s| s.parse::<i64>().ok()),
        Some((base_ns + 123_456_789) as i64)
    );
    assert_eq!(j[0]["link"]["type"], "ethernet");
    assert_eq!(
        j[1]["ts_ns"].as_str().and_then(|s| s.parse::<i64>().ok()),
        Some((base_ns + 124_000_000) as i64)
    );
    assert_eq!(j[1]["link"]["type"], "linux-sll2");
}

#[test]
fn snap_length_cut_packets_are_decoded_as_far_as_they_go() {
    let dir = temp_dir("snaplen");
    let full = wrap(
        1,
        &ip_tcp(40000, 10009, 1, 1, PSH | ACK, &[b'x'; 100]),
        false,
    );
    let mut r = recs(&[full.clone(), full.clone()], false);
    r[0].data.truncate(60); // headers whole, payload cut
    r[1].data.truncate(40); // cut inside the TCP header
    let f = write(&dir, "cut.pcap", &pcap(false, false, 1, &r));
    let o = replay(&f, &[]);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("Flags [P.], seq 0:100, ack 0, win 65483, length 100 [truncated: captured 60 of 154 bytes]"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("[truncated: captured 40 of 154 bytes]")),
        "{text}"
    );
    let j = json(&replay(&f, &["--json"]));
    assert_eq!(j[0]["truncated"], true);
    assert_eq!(j[0]["caplen"], 60);
    assert_eq!(j[0]["len"], 154);
    assert_eq!(j[0]["payload_len"], 6);
}

#[test]
fn filters_count_and_stats() {
    let dir = temp_dir("filters");
    let f = write(
        &dir,
        "c.pcap",
        &pcap(false, false, 1, &recs(&eth_conversation(), false)),
    );
    let o = replay(&f, &["udp"]);
    assert!(o.status.success());
    assert_eq!(out(&o), "");
    assert!(
        err(&o).contains("0 packets shown (filter: udp)"),
        "{}",
        err(&o)
    );
    let o = replay(&f, &["src", "port", "10009"]);
    assert_eq!(out(&o).lines().filter(|l| l.contains(": Flags")).count(), 4);
    let o = replay(&f, &["-c", "2"]);
    assert_eq!(out(&o).lines().filter(|l| l.contains(": Flags")).count(), 2);
    // A bad filter is refused before the file is read.
    let o = replay(&f, &["tcp", "and", "prot", "80"]);
    assert!(!o.status.success());
    assert!(err(&o).contains("^^^^"), "{}", err(&o));

    let o = replay(&f, &["--stats"]);
    assert!(o.status.success(), "{}", err(&o));
    let s = out(&o);
    assert!(
        !s.contains("Flags ["),
        "--stats prints no packet lines:\n{s}"
    );
    for want in [
        "8 packets, ",
        "IPv4                                    8",
        "  TCP                                   8",
        "    tcp-calc numbers                    1",
        "    tcp-calc reply                      1",
        "TCP conversations: 1",
        "127.0.0.1.40000 <-> 127.0.0.1.10009",
        "closed (FIN both ways), server closed first -> TIME_WAIT",
        "UDP conversations: 0",
    ] {
        assert!(s.contains(want), "--stats lacks {want:?}:\n{s}");
    }
}

#[test]
fn stats_outcomes_refused_and_reset_and_udp() {
    let dir = temp_dir("stats");
    let (c, s) = (40001, 9);
    let mut frames = vec![
        ip_tcp(c, s, 7, 0, SYN, &[]),
        ip_tcp(s, c, 0, 8, RST | ACK, &[]),
        ip_tcp(40002, 10009, 1, 0, SYN, &[]),
        ip_tcp(10009, 40002, 1, 2, SYN | ACK, &[]),
        ip_tcp(40002, 10009, 2, 2, ACK, &[]),
        ip_tcp(40002, 10009, 2, 2, RST | ACK, &[]),
    ];
    // udp-calc request and reply.
    let mut udp = vec![
        0x45, 0, 0, 40, 0, 1, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
    ];
    udp.extend_from_slice(&[0x9c, 0x40, 0x27, 0x19, 0, 20, 0, 0]);
    udp.extend_from_slice(&[10, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0]);
    frames.push(udp);
    let frames: Vec<Vec<u8>> = frames.iter().map(|p| wrap(1, p, false)).collect();
    let f = write(
        &dir,
        "s.pcap",
        &pcap(false, false, 1, &recs(&frames, false)),
    );
    let s = out(&replay(&f, &["--stats"]));
    for want in [
        "TCP conversations: 2",
        "refused (RST answered the SYN)",
        "reset by the client (abort: unread data or SO_LINGER 0)",
        "UDP conversations: 1",
        "127.0.0.1.40000 <-> 127.0.0.1.10009",
        "    udp-calc request                    1",
    ] {
        assert!(s.contains(want), "--stats lacks {want:?}:\n{s}");
    }
}

#[test]
fn writer_round_trip_pcap_and_pcapng_micro_and_nano() {
    use socklab::capture::file::{Reader, WriteOptions, Writer};
    use socklab::capture::{LinkType, Packet, Timestamp};
    let dir = temp_dir("roundtrip");
    let frames = eth_conversation();
    // Whole microseconds, so the micro files keep every time exactly.
    let ts = |i: usize| Timestamp::new(1_763_703_627, i as u32 * 250_000);
    for name in ["a.pcap", "a.pcapng"] {
        for nano in [false, true] {
            let path = dir.join(format!("{nano}-{name}"));
            let mut w = Writer::create(&path, LinkType::Ethernet, nano).expect("create");
            for (i, f) in frames.iter().enumerate() {
                w.write(&Packet {
                    ts: ts(i),
                    data: f,
                    orig_len: f.len(),
                    link: LinkType::Ethernet,
                })
                .expect("write");
            }
            w.finish().expect("finish");
            let o = replay(&path, &[]);
            assert!(o.status.success(), "{}", err(&o));
            assert_eq!(out(&o), GOLDEN, "{name}, nano {nano}");
        }
    }
    // Sub-microsecond times: kept by nano files, cut to the microsecond by micro ones;
    // a snap length cuts bytes but keeps the original length.
    for name in ["b.pcap", "b.pcapng"] {
        for nano in [false, true] {
            let path = dir.join(format!("{nano}-{name}"));
            let mut o = WriteOptions::new(&path, LinkType::Ethernet, nano);
            o.snaplen = 50;
            let mut w = Writer::create_with(&path, &o).expect("create");
            let t = Timestamp::new(1_763_703_627, 123_456_789);
            w.write(&Packet {
                ts: t,
                data: &frames[3],
                orig_len: frames[3].len(),
                link: LinkType::Ethernet,
            })
            .expect("write");
            w.finish().expect("finish");
            let mut r = Reader::open(&path).expect("open");
            let p = r.next_packet().expect("read").expect("one packet");
            assert_eq!(
                p.ts,
                Timestamp::new(1_763_703_627, if nano { 123_456_789 } else { 123_456_000 }),
                "{name} nano {nano}"
            );
            assert_eq!(p.data, &frames[3][..50]);
            assert_eq!(p.orig_len, frames[3].len());
            assert!(r.next_packet().expect("end").is_none());
        }
    }
}

#[test]
fn progress_bar_only_on_a_terminal() {
    let dir = temp_dir("progress");
    // Just over the 8 MiB threshold.
    let frame = wrap(1, &ip_tcp(1, 2, 0, 0, ACK, &[0u8; 1000]), false);
    let n = (9 * 1024 * 1024) / (16 + frame.len());
    let r: Vec<Rec> = (0..n)
        .map(|i| Rec {
            secs: 1_763_703_627 + (i / 1000) as u32,
            frac: 0,
            data: frame.clone(),
            orig_len: frame.len() as u32,
        })
        .collect();
    let f = write(&dir, "big.pcap", &pcap(false, false, 1, &r));
    // stderr is a pipe: no bar, only the closing counts.
    let o = replay(&f, &["udp"]);
    assert!(o.status.success());
    assert!(!err(&o).contains("eta"), "{}", err(&o));
    // stderr on a pseudo-terminal (script(1)): the bar is drawn.
    let script_ok = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !script_ok {
        common::skip("the terminal half needs script(1) from util-linux (.ci/run installs it)");
        return;
    }
    let cmd = format!("{BIN} replay {} udp > /dev/null", f.display());
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script");
    let tty = out(&o);
    assert!(
        tty.contains("replay ") && tty.contains("eta"),
        "no progress bar on the terminal:\n{tty}"
    );
    assert!(tty.contains(&format!("{n} packets read from")), "{tty}");
}

/// Run replay with its address space capped at 256 MB: a reader that
/// believed a 4 GB length and allocated it would fail (abort), not pass.
fn replay_capped(file: &Path) -> Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(BIN);
    cmd.arg("replay")
        .arg(file)
        .args(["--color", "never"])
        .stdin(Stdio::null());
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 256 << 20,
                rlim_max: 256 << 20,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().expect("run socklab replay")
}

/// A damaged file: non-zero exit, every packet before the damage on
/// stdout, and an error naming the file, the offset and what was wrong.
fn assert_damage(file: &Path, shown: usize, needles: &[&str]) {
    let o = replay_capped(file);
    let (so, se) = (out(&o), err(&o));
    assert!(!o.status.success(), "damaged file accepted:\n{so}\n{se}");
    assert_eq!(
        so.lines().filter(|l| l.contains(": Flags")).count(),
        shown,
        "packets before the damage:\n{so}\n{se}"
    );
    assert!(
        se.contains(&file.display().to_string()),
        "error does not name the file:\n{se}"
    );
    for n in needles {
        assert!(se.contains(n), "error lacks {n:?}:\n{se}");
    }
    for bad in ["panicked", "RUST_BACKTRACE", "memory allocation"] {
        assert!(!se.contains(bad), "{bad}:\n{se}");
    }
}

#[test]
fn damaged_pcap_files() {
    let dir = temp_dir("damaged");
    let r = recs(&eth_conversation(), false);
    let good = pcap(false, false, 1, &r);
    let second = pcap_offset(&r, 1);
    let third = pcap_offset(&r, 2);

    let f = write(&dir, "empty.pcap", &[]);
    assert_damage(&f, 0, &["empty file at byte 0", "the file has 0 bytes"]);

    let f = write(
        &dir,
        "text.pcap",
        b"12:00:00.000000 IP 127.0.0.1 > 127.0.0.1: ICMP\n",
    );
    assert_damage(
        &f,
        0,
        &[
            "not a capture file at byte 0",
            "31 32 3a 30 ('12:0')",
            "tcpdump -w",
        ],
    );

    let f = write(&dir, "tiny.pcap", b"ab");
    assert_damage(&f, 0, &["not a capture file at byte 0", "only 2 bytes"]);

    let f = write(&dir, "header.pcap", &good[..10]);
    assert_damage(
        &f,
        0,
        &[
            "header cut short at byte 0",
            "needs 24 bytes, the file has 10",
        ],
    );

    // Cut inside the second record's 16-byte header.
    let f = write(&dir, "rechdr.pcap", &good[..second + 7]);
    assert_damage(
        &f,
        1,
        &[
            &format!("record cut short at byte {second} (after 1 packet)"),
            "packet 2: a record header needs 16 bytes, only 7 are left",
        ],
    );

    // Cut inside the third record's data.
    let f = write(&dir, "recdata.pcap", &good[..third + 16 + 20]);
    let len = r[2].data.len();
    assert_damage(&f, 2, &[&format!("record cut short at byte {third} (after 2 packets)"), &format!("packet 3: the record says {len} bytes were captured, only 20 of them are in the file")]);

    // 4 GB captured length in the second record header.
    let mut bad = good.clone();
    bad[second + 8..second + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let f = write(&dir, "absurd.pcap", &bad);
    assert_damage(
        &f,
        1,
        &[
            &format!("impossible length at byte {} (after 1 packet)", second + 8),
            "4294967295 bytes were captured (0xffffffff)",
            "262144",
        ],
    );

    // The same in a big-endian file.
    let mut bad = pcap(true, true, 1, &r);
    bad[second + 8..second + 12].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    let f = write(&dir, "absurd-be.pcap", &bad);
    assert_damage(
        &f,
        1,
        &[
            &format!("impossible length at byte {}", second + 8),
            "2147483648 bytes",
        ],
    );
}

#[test]
fn damaged_pcapng_files() {
    let dir = temp_dir("damaged-ng");
    let pkts: Vec<Epb> = eth_conversation()
        .into_iter()
        .enumerate()
        .map(|(i, f)| Epb {
            iface: 0,
            ts: 1_763_703_627_000_000 + i as u64 * 250,
            orig_len: f.len() as u32,
            data: f,
        })
        .collect();
    let good = pcapng(
        false,
        &[Iface {
            link: 1,
            tsresol: None,
        }],
        &pkts,
    );
    let shb_idb = 28 + 20;
    let epb_len = |i: usize| 32 + pkts[i].data.len().div_ceil(4) * 4;
    let second = shb_idb + epb_len(0);

    let f = write(&dir, "shb.pcapng", &good[..20]);
    assert_damage(
        &f,
        0,
        &[
            "header cut short at byte 0",
            "says it is 28 bytes long, only 20 are left",
        ],
    );

    let f = write(&dir, "cut.pcapng", &good[..second + 40]);
    assert_damage(
        &f,
        1,
        &[&format!(
            "record cut short at byte {second} (after 1 packet)"
        )],
    );

    let mut bad = good.clone();
    bad[second + 4..second + 8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let f = write(&dir, "absurd.pcapng", &bad);
    assert_damage(
        &f,
        1,
        &[
            &format!("impossible length at byte {}", second + 4),
            "4294967280 bytes long",
        ],
    );

    // Trailing length that disagrees with the leading one: the crate's check, our offset.
    let mut bad = good.clone();
    let end = second + epb_len(1);
    bad[end - 4..end].copy_from_slice(&8u32.to_le_bytes());
    let f = write(&dir, "mismatch.pcapng", &bad);
    assert_damage(&f, 1, &[&format!("malformed block at byte {second}")]);

    // A packet on an interface that was never described.
    let mut bad = good.clone();
    bad[second + 8..second + 12].copy_from_slice(&7u32.to_le_bytes());
    let f = write(&dir, "iface.pcapng", &bad);
    assert_damage(&f, 1, &[&format!("malformed block at byte {second}")]);
}
