//! Line identity with tcpdump: for every capture file of the repository and
//! for captures built here (course traffic with realistic TCP options, every
//! odd TCP option tcpdump names, ICMP and ICMPv6 messages, IPv6), each line
//! of a plain TCP, UDP or ICMP packet that `socklab replay -S` prints is,
//! character for character, the line `tcpdump -nn -S -r` prints: time column
//! included, in the same time zone (several zones, one with a half-hour
//! offset, DST rules given as POSIX TZ strings so no tzdata is needed), in
//! each of tcpdump's `-t` styles, and with `--utc` against tcpdump in UTC.
//!
//! Exceptions, each justified (anything else must be equal):
//! - tcpdump decodes the payload of its well-known ports (HTTP on 80, DNS
//!   on 53, ...) after `length N`: for TCP the line is compared up to
//!   there; a UDP line that tcpdump decodes as an application protocol has
//!   no `UDP, length` and is not a plain line (counted and printed).
//! - ICMPv6 types socklab prints in its own words (MLDv2 queries, router
//!   renumbering, node information, home agent and mobile prefix messages,
//!   RPL, unknown unreachable codes: tcpdump decodes their bodies) are not
//!   generated here.
//!
//! tcpdump is installed by `.ci/run`; without it the test is skipped (and
//! fails under CI).

#[allow(dead_code)]
#[path = "common/capfiles.rs"]
mod capfiles;

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use capfiles::*;

const BIN: &str = env!("CARGO_BIN_EXE_socklab");

fn have_tcpdump() -> bool {
    common::have_tool("tcpdump", "--version")
}

// ---------------------------------------------------------------- packets

/// A small deterministic generator (xorshift), so the captures are the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

const LO4: [u8; 4] = [127, 0, 0, 1];

fn ether(ethertype: u16, ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(ip);
    f
}

fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(payload);
    p
}

fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next, 64]);
    let lo = std::net::Ipv6Addr::LOCALHOST.octets();
    p.extend_from_slice(&lo);
    p.extend_from_slice(&lo);
    p.extend_from_slice(payload);
    p
}

/// A TCP segment: header with `opts` (padded with EOL to a multiple of 4), then `data`.
#[derive(Clone, Default)]
struct Seg {
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    win: u16,
    urg: u16,
    opts: Vec<u8>,
    data: Vec<u8>,
}

impl Seg {
    fn bytes(&self) -> Vec<u8> {
        let mut opts = self.opts.clone();
        while opts.len() % 4 != 0 {
            opts.push(0);
        }
        let hl = 20 + opts.len();
        let mut t = Vec::with_capacity(hl + self.data.len());
        t.extend_from_slice(&self.sport.to_be_bytes());
        t.extend_from_slice(&self.dport.to_be_bytes());
        t.extend_from_slice(&self.seq.to_be_bytes());
        t.extend_from_slice(&self.ack.to_be_bytes());
        t.extend_from_slice(&[((hl / 4) as u8) << 4, self.flags]);
        t.extend_from_slice(&self.win.to_be_bytes());
        t.extend_from_slice(&[0, 0]);
        t.extend_from_slice(&self.urg.to_be_bytes());
        t.extend_from_slice(&opts);
        t.extend_from_slice(&self.data);
        t
    }
    fn v4(&self) -> Vec<u8> {
        ether(0x0800, &ipv4(6, LO4, LO4, &self.bytes()))
    }
    fn v6(&self) -> Vec<u8> {
        ether(0x86dd, &ipv6(6, &self.bytes()))
    }
}

fn udp(sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(data);
    u
}

fn ts_opt(val: u32, ecr: u32) -> Vec<u8> {
    let mut o = vec![1, 1, 8, 10];
    o.extend_from_slice(&val.to_be_bytes());
    o.extend_from_slice(&ecr.to_be_bytes());
    o
}

/// Course traffic as Linux sends it: the UDP calculator, and TCP
/// connections with mss/sackOK/TS/wscale on the SYNs, timestamps on every
/// segment, data both ways, SACK blocks after a loss, an urgent byte, and
/// a FIN or RST close; IPv4 and IPv6.
fn course_traffic(connections: u32) -> Vec<Vec<u8>> {
    let mut r = Rng(0x5eed_1234_abcd_0001);
    let mut out = Vec::new();
    for k in 0..connections {
        let cport = 32768 + (k % 28000) as u16;
        // UDP calculator request and reply.
        let req: Vec<u8> = (0..12).map(|_| r.below(256) as u8).collect();
        out.push(ether(0x0800, &ipv4(17, LO4, LO4, &udp(cport, 10009, &req))));
        out.push(ether(
            0x0800,
            &ipv4(17, LO4, LO4, &udp(10009, cport, &req[..4])),
        ));
        let (c, s) = (cport, 10000 + (k % 3) as u16);
        let (ci, si) = (r.next(), r.next());
        let (mut ct, mut st) = (r.next(), r.next());
        let v6 = k % 7 == 3;
        let mut segs = Vec::new();
        let mut push = |seg: Seg| segs.push(seg);
        let syn_opts = |t: u32, e: u32| {
            let mut o = vec![2, 4, 0xff, 0xd7, 4, 2, 8, 10];
            o.extend_from_slice(&t.to_be_bytes());
            o.extend_from_slice(&e.to_be_bytes());
            o.extend_from_slice(&[1, 3, 3, 7]);
            o
        };
        let base = |sport, dport, seq, ack, flags| Seg {
            sport,
            dport,
            seq,
            ack,
            flags,
            win: 512,
            ..Seg::default()
        };
        push(Seg {
            win: 65495,
            opts: syn_opts(ct, 0),
            ..base(c, s, ci, 0, SYN)
        });
        push(Seg {
            win: 65483,
            opts: syn_opts(st, ct),
            ..base(s, c, si, ci.wrapping_add(1), SYN | ACK)
        });
        ct += 1;
        push(Seg {
            opts: ts_opt(ct, st),
            ..base(c, s, ci.wrapping_add(1), si.wrapping_add(1), ACK)
        });
        let mut cseq = ci.wrapping_add(1);
        let mut sseq = si.wrapping_add(1);
        for _ in 0..1 + r.below(3) {
            let n = 1 + r.below(40) as usize;
            let data: Vec<u8> = (0..n).map(|i| b'0' + (i % 10) as u8).collect();
            push(Seg {
                opts: ts_opt(ct, st),
                data,
                ..base(c, s, cseq, sseq, PSH | ACK)
            });
            cseq = cseq.wrapping_add(n as u32);
            st += 1;
            let m = 1 + r.below(20) as usize;
            push(Seg {
                opts: ts_opt(st, ct),
                data: vec![b'r'; m],
                ..base(s, c, sseq, cseq, PSH | ACK)
            });
            sseq = sseq.wrapping_add(m as u32);
            ct += 1;
            push(Seg {
                opts: ts_opt(ct, st),
                ..base(c, s, cseq, sseq, ACK)
            });
        }
        if k % 5 == 1 {
            // A lost segment: the receiver acknowledges what it has with SACK.
            let mut o = vec![1, 1, 5, 18];
            for (a, b) in [(100u32, 200u32), (300, 400)] {
                o.extend_from_slice(&sseq.wrapping_add(a).to_be_bytes());
                o.extend_from_slice(&sseq.wrapping_add(b).to_be_bytes());
            }
            push(Seg {
                opts: o,
                ..base(c, s, cseq, sseq, ACK)
            });
        }
        if k % 11 == 2 {
            push(Seg {
                urg: 1,
                data: b"!".to_vec(),
                ..base(c, s, cseq, sseq, URG | PSH | ACK)
            });
            cseq = cseq.wrapping_add(1);
        }
        if k % 10 == 9 {
            push(base(c, s, cseq, 0, RST));
        } else {
            push(Seg {
                opts: ts_opt(ct, st),
                ..base(c, s, cseq, sseq, FIN | ACK)
            });
            push(Seg {
                opts: ts_opt(st, ct),
                ..base(s, c, sseq, cseq.wrapping_add(1), FIN | ACK)
            });
            push(Seg {
                opts: ts_opt(ct, st),
                ..base(c, s, cseq.wrapping_add(1), sseq.wrapping_add(1), ACK)
            });
        }
        for seg in segs {
            out.push(if v6 { seg.v6() } else { seg.v4() });
        }
    }
    out
}

const URG: u8 = 0x20;

/// Every odd TCP option case, as option bytes and flags (each checked by
/// hand against tcpdump 4.99 when written; the test compares them live).
fn odd_options() -> Vec<Vec<u8>> {
    let a = ACK;
    let mut k: Vec<u8> = (0..8).collect();
    let key8 = k.clone();
    k.extend(8..16);
    let key16 = k;
    let mut cases: Vec<(Vec<u8>, u8)> = vec![
        ([&[30, 12, 0x00, 0x81][..], &key8].concat(), a),
        ([&[30, 12, 0x01, 0x81][..], &key8].concat(), SYN),
        (vec![30, 4, 0x01, 0x01], SYN),
        ([&[30, 20, 0x00, 0x81][..], &key16].concat(), a),
        ([&[30, 22, 0x01, 0x01][..], &key16, &[0, 9]].concat(), a),
        (vec![30, 8, 0x20, 0x01, 0, 0, 0, 77], a),
        (vec![30, 8, 0x20, 0x01, 0, 0, 0, 77], SYN),
        (
            [
                &[30, 20, 0x20, 0x0f][..],
                &[0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7],
            ]
            .concat(),
            a,
        ),
        ([&[30, 26, 0x20, 0x0f][..], &[0; 22]].concat(), a),
        ([&[30, 24, 0x20, 0x0d][..], &[0; 20]].concat(), a),
        (
            [&[30, 12, 0x10, 0x01][..], &[0, 0, 0, 9, 0, 0, 0, 8]].concat(),
            SYN,
        ),
        ([&[30, 16, 0x11, 0x02][..], &[0; 12]].concat(), SYN | ACK),
        (
            [&[30, 24, 0x10, 0x01][..], &(0..20).collect::<Vec<u8>>()].concat(),
            a,
        ),
        (vec![30, 8, 0x30, 0x07, 10, 0, 0, 1], a),
        (vec![30, 10, 0x31, 0x07, 10, 0, 0, 1, 0x1f, 0x90], a),
        ([&[30, 16, 0x34, 0x07, 10, 0, 0, 1][..], &key8].concat(), a),
        (
            [&[30, 18, 0x36, 0x07, 10, 0, 0, 1, 0x1f, 0x90][..], &key8].concat(),
            a,
        ),
        (
            [
                &[30, 20, 0x30, 0x02][..],
                &std::net::Ipv6Addr::LOCALHOST.octets(),
            ]
            .concat(),
            a,
        ),
        (
            [
                &[30, 22, 0x30, 0x02][..],
                &std::net::Ipv6Addr::LOCALHOST.octets(),
                &[0, 80],
            ]
            .concat(),
            a,
        ),
        (vec![30, 5, 0x40, 3, 4], a),
        (vec![30, 3, 0x50], a),
        (vec![30, 4, 0x51, 9], a),
        ([&[30, 12, 0x60, 0][..], &99u64.to_be_bytes()].concat(), a),
        (
            [&[30, 12, 0x70, 0][..], &0xabcu64.to_be_bytes()].concat(),
            a,
        ),
        (vec![30, 4, 0x90, 0], a),
        (vec![30, 2], a),
        (vec![99, 4, 0xab, 0xcd, 1, 1], a),
        (vec![99, 2, 1], a),
        (vec![6, 6, 0, 0, 0, 5], a),
        (vec![7, 6, 0, 0, 0, 6], a),
        (vec![11, 6, 0, 0, 0, 7], a),
        (vec![12, 6, 0, 0, 0, 8], a),
        (vec![13, 6, 0, 0, 0, 9], a),
        ([&[19, 18][..], &key16].concat(), a),
        (vec![20, 4, 0xab, 7], a),
        (vec![28, 4, 0x01, 0x03], a),
        (vec![28, 4, 0x01, 0x02], a),
        (vec![29, 4, 1, 2], a),
        (vec![29, 8, 1, 2, 0xde, 0xad, 0xbe, 0xef], a),
        (vec![29, 3, 1], a),
        (vec![34, 2], SYN),
        (vec![34, 6, 1, 2, 3, 4], a),
        (vec![34, 5, 1, 2, 3], a),
        (vec![254, 4, 0xf9, 0x89], SYN),
        (vec![254, 8, 0xf9, 0x89, 1, 2, 3, 4], a),
        (vec![254, 4, 0x12, 0x34], a),
        (vec![254, 3, 1], a),
        (vec![5, 10, 0, 0, 3, 0xe8, 0, 0, 3, 0xf0], a),
        (
            vec![5, 18, 0, 0, 3, 0xe8, 0, 0, 3, 0xf0, 0, 0, 4, 0, 0, 0, 5, 0],
            a,
        ),
        (vec![5, 7, 1, 2, 3, 4, 5], a),
        (vec![0, 1, 1, 1], a),
        (vec![1, 0, 2, 4, 5, 0xb4], a),
        (vec![2, 3, 5, 1], a),
        (vec![2, 4, 5], a),
        (vec![2, 1], a),
        (vec![3, 3], a),
        (vec![8, 10, 0, 0, 0, 1, 0, 0, 0, 2], a),
        (vec![8, 8, 1, 2, 3, 4, 5, 6], a),
        (vec![4, 2, 4, 3], a),
        (vec![4, 3, 1, 1], a),
        (vec![2, 5, 1, 2, 3, 1], a),
        ([&[30, 40, 0x00][..], &[0; 37]].concat(), a),
        (vec![200, 1], a),
        (vec![1, 1, 1, 200, 6, 1, 2, 3, 4, 2, 4, 5, 0xb4], SYN),
    ];
    // A long run of unknown kinds: the options after them are still shown.
    cases.push((
        vec![30, 3, 0x80, 253, 4, 0xbe, 0xef, 2, 4, 1, 0, 1, 3, 3, 2],
        SYN,
    ));
    let mut frames = Vec::new();
    for (i, (opts, flags)) in cases.into_iter().enumerate() {
        let seg = Seg {
            sport: 40000,
            dport: 10009,
            seq: 1000 + i as u32,
            ack: 2000,
            flags,
            win: 512,
            opts,
            data: if i % 3 == 0 {
                b"data".to_vec()
            } else {
                Vec::new()
            },
            ..Seg::default()
        };
        frames.push(seg.v4());
        if i % 4 == 0 {
            frames.push(seg.v6());
        }
    }
    // Urgent pointers, every flag, no flag.
    for (flags, urg) in [
        (URG | ACK, 7u16),
        (URG, 0),
        (0xff, 3),
        (0, 0),
        (FIN, 0),
        (RST | ACK, 0),
    ] {
        frames.push(
            Seg {
                sport: 1,
                dport: 2,
                seq: 5,
                ack: 6,
                flags,
                win: 0,
                urg,
                ..Seg::default()
            }
            .v4(),
        );
    }
    frames
}

/// ICMP messages of every type socklab prints as tcpdump does.
fn icmp_messages() -> Vec<Vec<u8>> {
    let inner_udp = ipv4(17, LO4, [10, 0, 0, 9], &udp(5555, 9, b"abcd"));
    let inner_tcp = ipv4(
        6,
        LO4,
        [10, 0, 0, 9],
        &[0x15, 0xb3, 0, 80, 0, 0, 0, 1, 0, 0, 0, 2],
    );
    let mut frames = Vec::new();
    let mut v4 = |t: u8, code: u8, rest: &[u8], data: &[u8]| {
        let mut m = vec![t, code, 0, 0];
        m.extend_from_slice(rest);
        m.extend_from_slice(data);
        frames.push(ether(0x0800, &ipv4(1, LO4, LO4, &m)));
    };
    let none = [0u8; 4];
    v4(8, 0, &[0, 7, 0, 1], &[b'x'; 56]);
    v4(0, 0, &[0, 7, 0, 1], &[]);
    v4(3, 3, &none, &inner_udp);
    v4(3, 3, &none, &inner_tcp);
    v4(3, 3, &none, &ipv4(47, LO4, [10, 0, 0, 9], &[0; 8]));
    for code in 0..16 {
        v4(3, code, &none, &inner_udp);
    }
    v4(3, 4, &[0, 0, 0x05, 0xdc], &inner_udp);
    v4(3, 99, &none, &inner_udp);
    for code in 0..5 {
        v4(5, code, &[10, 0, 0, 1], &inner_udp);
    }
    for code in 0..3 {
        v4(11, code, &none, &inner_udp);
    }
    v4(12, 0, &[5, 0, 0, 0], &inner_udp);
    v4(12, 2, &none, &inner_udp);
    v4(4, 0, &none, &inner_udp);
    v4(13, 0, &[0, 1, 0, 2], &[0; 12]);
    v4(
        14,
        0,
        &[0, 1, 0, 2],
        &[0, 0, 0, 1, 0, 0x10, 0, 0, 5, 0x26, 0x5c, 0],
    );
    v4(15, 0, &none, &[]);
    v4(16, 0, &none, &[]);
    v4(17, 0, &none, &none);
    v4(18, 0, &none, &[255, 255, 255, 0]);
    v4(42, 0, &none, &[]);
    v4(9, 0, &[1, 2, 0x07, 0x08], &[10, 0, 0, 1, 0, 0, 0, 5]);
    v4(9, 0, &[0, 0, 0, 30], &[]);
    v4(10, 0, &none, &[]);
    let lo = std::net::Ipv6Addr::LOCALHOST.octets();
    let inner6 = ipv6(17, &udp(5555, 9, &[]));
    let mut v6 = |t: u8, code: u8, rest: &[u8], data: &[u8]| {
        let mut m = vec![t, code, 0, 0];
        m.extend_from_slice(rest);
        m.extend_from_slice(data);
        frames.push(ether(0x86dd, &ipv6(58, &m)));
    };
    v6(128, 0, &[0, 7, 0, 1], &[b'x'; 8]);
    v6(129, 0, &[0, 7, 0, 1], &[]);
    for code in 0..5 {
        v6(1, code, &none, &inner6);
    }
    v6(
        1,
        4,
        &none,
        &ipv6(6, &[0x15, 0xb3, 0, 80, 0, 0, 0, 1, 0, 0, 0, 2]),
    );
    v6(2, 0, &[0, 0, 5, 0xdc], &[]);
    v6(3, 0, &none, &inner6);
    v6(3, 1, &none, &inner6);
    for code in 0..3 {
        v6(4, code, &[0, 0, 0, 5], &inner6);
    }
    v6(133, 0, &none, &[]);
    v6(134, 0, &[0x40, 0, 7, 8], &[0; 8]);
    v6(135, 0, &none, &lo);
    v6(136, 0, &[0x60, 0, 0, 0], &lo);
    v6(137, 0, &none, &[lo, lo].concat());
    // Multicast listener discovery, and types tcpdump only names.
    v6(130, 0, &[0, 5, 0, 0], &lo);
    v6(131, 0, &none, &lo);
    v6(132, 0, &none, &lo);
    v6(143, 0, &[0, 0, 0, 2], &[0; 8]);
    for t in [141, 142, 200, 201, 250] {
        v6(t, 0, &none, &[]);
    }
    frames
}

/// A pcap file of `frames`, with times that go forward (and once back) by
/// uneven steps, microseconds and whole hours, so every `-t` style is tried.
fn write_pcap(dir: &Path, name: &str, frames: &[Vec<u8>]) -> PathBuf {
    let mut secs = 1_700_000_000u32;
    let mut frac = 37u32;
    let recs: Vec<Rec> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let step = match i % 97 {
                50 => 3_600 * 7 + 13,
                96 => 86_400 + 1,
                _ => 0,
            };
            secs += step;
            frac = (frac + 185 + (i as u32 % 13) * 1_000) % 1_000_000;
            if i % 211 == 17 {
                secs -= 2; // the clock stepped back: -ttt shows a negative delta
            }
            Rec {
                secs,
                frac,
                data: f.clone(),
                orig_len: f.len() as u32,
            }
        })
        .collect();
    let p = dir.join(name);
    std::fs::write(&p, pcap(false, false, 1, &recs)).expect("write capture");
    p
}

// ------------------------------------------------------------ comparison

/// The lines that start with a time column (or, with `-t`, with `IP`/`IP6`).
fn packet_lines(text: &str, no_time: bool) -> Vec<String> {
    text.lines()
        .filter(|l| {
            let b = l.as_bytes();
            if no_time {
                !l.starts_with([' ', '\t']) && !l.starts_with("TCP connections:")
            } else {
                // `05:40:27...`, `1700000000.0...`, `2023-11-14 ...`, or -ttt's ` 00:00:00...`/`-03:46:39...`.
                b.first().is_some_and(u8::is_ascii_digit)
                    || (matches!(b.first(), Some(b' ' | b'-'))
                        && b.get(1).is_some_and(u8::is_ascii_digit))
            }
        })
        .map(str::to_string)
        .collect()
}

/// Ports whose payload tcpdump decodes after `length N` (print-tcp.c).
const TCPDUMP_APP_PORTS: [u16; 22] = [
    21, 22, 23, 25, 43, 53, 80, 139, 179, 323, 445, 554, 639, 646, 1723, 2049, 6379, 6633, 6653,
    8080, 8554, 10288,
];

#[derive(Default, Debug)]
struct Tally {
    plain: usize,
    equal: usize,
    not_plain: usize,
    app_prefix: usize,
    misses: Vec<(String, String)>,
}

/// Is this tcpdump line a plain TCP/UDP/ICMP one? Returns the part to compare.
fn plain_part(line: &str) -> Option<&str> {
    let body = line
        .find(" IP ")
        .or_else(|| line.find(" IP6 "))
        .or_else(|| (line.starts_with("IP ") || line.starts_with("IP6 ")).then_some(0))?;
    let rest = &line[body..];
    if !(rest.contains(": Flags [") || rest.contains(": UDP, length ") || rest.contains(": ICMP")) {
        return None;
    }
    Some(line)
}

/// A TCP line that goes on after `, length N` with tcpdump's decode of a
/// well-known port: the part up to `length N`.
fn app_prefix(line: &str) -> Option<&str> {
    if !line.contains(": Flags [") {
        return None;
    }
    let i = line.rfind(", length ")?;
    let digits = line[i + 9..].bytes().take_while(u8::is_ascii_digit).count();
    let end = i + 9 + digits;
    if end == line.len() {
        return None;
    }
    let ports = line.split(": ").next()?;
    let app = TCPDUMP_APP_PORTS.iter().any(|p| {
        ports
            .split(' ')
            .any(|ep| ep.rsplit('.').next() == Some(&p.to_string()))
    });
    app.then_some(&line[..end])
}

fn run(cmd: &mut Command) -> String {
    let o = cmd.stdin(Stdio::null()).output().expect("run");
    assert!(
        o.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Compare every plain line of `file` between tcpdump (`tz`, `td_args`)
/// and socklab (`tz`, `sl_args`).
fn compare(file: &Path, tz: &str, td_args: &[&str], sl_args: &[&str], t: &mut Tally) {
    let no_time = td_args.contains(&"-t");
    let theirs = run(Command::new("tcpdump")
        .args(["-nn", "-S"])
        .args(td_args)
        .arg("-r")
        .arg(file)
        .env("TZ", tz));
    let ours = run(Command::new(BIN)
        .arg("replay")
        .arg(file)
        .args(["-S", "--color", "never"])
        .args(sl_args)
        .env("TZ", tz));
    let theirs = packet_lines(&theirs, no_time);
    let ours = packet_lines(&ours, no_time);
    assert_eq!(
        theirs.len(),
        ours.len(),
        "{}: tcpdump printed {} packet lines, socklab {} (TZ={tz} {td_args:?})",
        file.display(),
        theirs.len(),
        ours.len()
    );
    for (a, b) in theirs.iter().zip(&ours) {
        let Some(want) = plain_part(a) else {
            t.not_plain += 1;
            continue;
        };
        t.plain += 1;
        let want = match app_prefix(want) {
            Some(p) => {
                t.app_prefix += 1;
                p
            }
            None => want,
        };
        if want == b {
            t.equal += 1;
        } else {
            t.misses.push((
                format!("{} TZ={tz} {td_args:?}", file.display()),
                format!("tcpdump: {want}\nsocklab: {b}"),
            ));
        }
    }
}

fn assert_all_equal(what: &str, t: &Tally, at_least: usize) {
    eprintln!(
        "{what}: {} of {} plain TCP/UDP/ICMP lines equal ({} compared up to tcpdump's application decode), {} other lines",
        t.equal, t.plain, t.app_prefix, t.not_plain
    );
    let shown: Vec<String> = t
        .misses
        .iter()
        .take(12)
        .map(|(f, d)| format!("{f}\n{d}"))
        .collect();
    assert!(
        t.misses.is_empty(),
        "{what}: {} of {} lines differ from tcpdump's:\n{}",
        t.misses.len(),
        t.plain,
        shown.join("\n")
    );
    assert!(
        t.plain >= at_least,
        "{what}: only {} plain lines compared (expected at least {at_least})",
        t.plain
    );
}

/// POSIX TZ strings (no tzdata needed): UTC, US Eastern with its DST rules,
/// India (+05:30), and a zone east of UTC with southern-hemisphere DST.
const ZONES: [&str; 4] = [
    "UTC0",
    "EST5EDT,M3.2.0,M11.1.0",
    "IST-5:30",
    "NZST-12NZDT,M9.5.0,M4.1.0/3",
];

#[test]
fn every_repository_capture_prints_tcpdumps_lines() {
    if !have_tcpdump() {
        return;
    }
    let files = repository_captures();
    let mut t = Tally::default();
    for f in &files {
        for tz in ["UTC0", "EST5EDT,M3.2.0,M11.1.0"] {
            compare(f, tz, &[], &[], &mut t);
        }
    }
    assert_all_equal("repository captures", &t, 200);
}

#[test]
fn course_traffic_and_odd_options_print_tcpdumps_lines_in_every_zone() {
    if !have_tcpdump() {
        return;
    }
    let dir = temp_dir("tcpdump-lines");
    let files = [
        write_pcap(&dir, "course.pcap", &course_traffic(400)),
        write_pcap(&dir, "options.pcap", &odd_options()),
        write_pcap(&dir, "icmp.pcap", &icmp_messages()),
    ];
    let mut t = Tally::default();
    for f in &files {
        for tz in ZONES {
            compare(f, tz, &[], &[], &mut t);
        }
    }
    assert_all_equal("built captures, four time zones", &t, 4 * 5000);
}

#[test]
fn time_styles_and_utc_are_tcpdumps() {
    if !have_tcpdump() {
        return;
    }
    let dir = temp_dir("tcpdump-times");
    let f = write_pcap(&dir, "course.pcap", &course_traffic(60));
    let mut t = Tally::default();
    for style in ["-t", "-tt", "-ttt", "-tttt", "-ttttt"] {
        compare(&f, "EST5EDT,M3.2.0,M11.1.0", &[style], &[style], &mut t);
    }
    // --utc: socklab in a far zone prints what tcpdump prints in UTC.
    let theirs = run(Command::new("tcpdump")
        .args(["-nn", "-S", "-tttt", "-r"])
        .arg(&f)
        .env("TZ", "UTC0"));
    let ours = run(Command::new(BIN)
        .arg("replay")
        .arg(&f)
        .args(["-S", "-tttt", "--utc", "--color", "never"])
        .env("TZ", "NZST-12NZDT,M9.5.0,M4.1.0/3"));
    let (theirs, ours) = (packet_lines(&theirs, false), packet_lines(&ours, false));
    assert_eq!(theirs.len(), ours.len());
    for (a, b) in theirs.iter().zip(&ours) {
        t.plain += 1;
        if a == b {
            t.equal += 1;
        } else {
            t.misses
                .push(("--utc".into(), format!("tcpdump: {a}\nsocklab: {b}")));
        }
    }
    assert_all_equal("-t styles and --utc", &t, 5 * 900);
}

#[test]
fn help_all_says_how_the_default_numbers_differ_from_tcpdumps() {
    for cmd in ["replay", "sniff"] {
        let o = Command::new(BIN)
            .args([cmd, "--help-all"])
            .stdin(Stdio::null())
            .output()
            .expect("run");
        let help = String::from_utf8_lossy(&o.stdout);
        for want in [
            "-S, --absolute-seq",
            "seq 0",
            "Wireshark",
            "tcpdump -S",
            "-ttttt",
            "--utc",
        ] {
            assert!(
                help.contains(want),
                "socklab {cmd} --help lacks {want:?}:\n{help}"
            );
        }
    }
}
