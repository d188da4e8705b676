//! The filter expression table shared by the tcpdump-parity and BPF tests,
//! and the packet corpus they run over: every packet of the project's
//! capture files (captures/*.pcap, tests/fixtures/*) plus generated frames
//! with more variety (ARP, RARP, VLAN, ICMP, ICMPv6, IGMP, SCTP, IPv6
//! fragments, IPv4 fragments and options, broadcast and multicast, real
//! MAC addresses, cut frames), each under every link type socklab reads.
//!
//! Corpus files are rewritten so that packet N has the timestamp N seconds:
//! the packet numbers a tool selects can then be read back from its output.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use socklab::capture::file::Reader;
use socklab::wire::packet::LinkType;

/// Filter expressions in tcpdump's syntax, each valid for tcpdump 4.99.
pub const EXPRS: &[&str] = &[
    "tcp",
    "udp",
    "icmp",
    "icmp6",
    "arp",
    "rarp",
    "ip",
    "ip6",
    "igmp",
    "sctp",
    "port 80",
    "src port 80",
    "dst port 53",
    "tcp port 80 or 443",
    "udp dst port 53",
    "portrange 1-1024",
    "tcp portrange 8000-9000",
    "dst portrange 5000-6000",
    "src or dst port 10000",
    "host 127.0.0.1",
    "src host 10.0.0.1",
    "dst host 192.168.1.255",
    "src and dst host 127.0.0.1",
    "host 10.0.0.1 or 10.0.0.2",
    "host ::1",
    "ip6 host fe80::1",
    "net 10.0.0.0/8",
    "src net 192.168.0.0/16",
    "dst net 172.16.0.0 mask 255.240.0.0",
    "net 10.1",
    "net 127",
    "ip6 net fe80::/10",
    "arp host 10.0.0.2",
    "less 100",
    "greater 1000",
    "len > 60",
    "len <= 54",
    "len - 14 > 100 * 2",
    "ip proto 17",
    "ip proto \\tcp",
    "ip6 proto 58",
    "ip6 proto 17",
    "proto \\udp",
    "ip proto 2",
    "port http",
    "port domain",
    "tcp port https",
    "ether host 00:11:22:33:44:55",
    "ether src 00:11:22:33:44:55",
    "ether dst ff:ff:ff:ff:ff:ff",
    "ether proto 0x86dd",
    "ether proto \\arp",
    "broadcast",
    "multicast",
    "ether multicast",
    "ip multicast",
    "ip6 multicast",
    "ip broadcast",
    "vlan",
    "vlan 10",
    "vlan and tcp",
    "vlan 20 and udp port 53",
    "tcp[tcpflags] & tcp-syn != 0",
    "tcp[13] & 2 != 0",
    "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
    "tcp[tcpflags] & (tcp-fin|tcp-rst) != 0",
    "port 80 and tcp[tcpflags] & tcp-push != 0",
    "tcp[12] >> 4 > 5",
    "tcp[0:2] > 1023 and tcp[2:2] < 1024",
    "ip[8] < 64",
    "ip[8] >= 64",
    "ip[0] & 0xf > 5",
    "ip[6:2] & 0x1fff != 0",
    "ip[6] & 0x20 != 0",
    "ip[2:2] - ((ip[0]&0xf)<<2) - ((tcp[12]&0xf0)>>2) > 0",
    "ip[1] % 4 = 0",
    "ip[4:2] ^ 0xffff > 0",
    "ip[2:2] / 4 > 100",
    "ip[ip[0] & 0xf] = 0",
    "udp[8:4] = 0x0a000000",
    "udp[4:2] * 2 > 100",
    "icmp[icmptype] == icmp-echo",
    "icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply",
    "icmp[icmpcode] = 3",
    "icmp[0] = 3 and icmp[1] = 3",
    "icmp6[icmp6type] = icmp6-echo",
    "ether[12:2] = 0x0800",
    "arp[6:2] = 1",
    "arp[7] = 2",
    "rarp[7] = 3",
    "(tcp or udp) and not port 22",
    "not (arp or rarp)",
    "ip and not tcp and not udp",
    "tcp and (port 80 or port 443) and host 10.0.0.1",
    "udp or icmp and host 10.0.0.2",
    "!ip6 && (tcp || icmp)",
    "inbound",
    "outbound and udp",
];

/// One packet of the corpus: bytes, length on the wire, and where it came from.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Captured bytes.
    pub data: Vec<u8>,
    /// Length on the wire.
    pub wire: u32,
    /// "file #N" for messages.
    pub origin: String,
}

/// All frames of one link type, written to one pcap file.
#[derive(Debug)]
pub struct CorpusFile {
    /// The pcap file (packet N stamped N seconds).
    pub path: PathBuf,
    /// How its frames are laid out.
    pub link: LinkType,
    /// The frames, in file order (packet numbers are 1-based indices).
    pub frames: Vec<Frame>,
}

/// pcap link-type number for a link type.
pub fn dlt(link: LinkType) -> u32 {
    match link {
        LinkType::Ethernet => 1,
        LinkType::RawIp => 101,
        LinkType::LinuxSll => 113,
        LinkType::LinuxSll2 => 276,
        LinkType::Null => 0,
    }
}

/// tcpdump's `-y` name for a link type.
pub fn dlt_name(link: LinkType) -> &'static str {
    match link {
        LinkType::Ethernet => "EN10MB",
        LinkType::RawIp => "RAW",
        LinkType::LinuxSll => "LINUX_SLL",
        LinkType::LinuxSll2 => "LINUX_SLL2",
        LinkType::Null => "NULL",
    }
}

/// Write a microsecond pcap whose packet N (from 1) is stamped N seconds.
pub fn write_pcap(path: &Path, link: LinkType, frames: &[Frame]) {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&262_144u32.to_le_bytes());
    b.extend_from_slice(&dlt(link).to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        b.extend_from_slice(&(i as u32 + 1).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
        b.extend_from_slice(&f.wire.to_le_bytes());
        b.extend_from_slice(&f.data);
    }
    std::fs::write(path, b).expect("write corpus pcap");
}

/// Packet numbers (timestamps in seconds) of a pcap written by a tool.
pub fn stamped_numbers(path: &Path) -> Vec<u64> {
    let mut r = Reader::open(path).expect("open tool output");
    let mut out = Vec::new();
    while let Some(p) = r.next_packet().expect("read tool output") {
        out.push(p.ts.as_nanos() as u64 / 1_000_000_000);
    }
    out
}

// ---- generated frames -------------------------------------------------

const MAC_A: [u8; 6] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const MAC_B: [u8; 6] = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee];
const BCAST: [u8; 6] = [0xff; 6];
const MCAST4: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb];
const MCAST6: [u8; 6] = [0x33, 0x33, 0x00, 0x00, 0x00, 0x01];

fn ipv4(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    ttl: u8,
    frag: u16,
    opts: usize,
    l4: &[u8],
) -> Vec<u8> {
    let ihl = 5 + opts;
    let total = (ihl * 4 + l4.len()) as u16;
    let mut h = vec![0x40 | ihl as u8, 0x10];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0x12, 0x34]);
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[ttl, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend(std::iter::repeat_n(1u8, opts * 4)); // NOPs
    h.extend_from_slice(l4);
    h
}

fn ipv6(src: [u8; 16], dst: [u8; 16], nh: u8, l4: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    h.extend_from_slice(&[nh, 64]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(l4);
    h
}

fn v6(s: &str) -> [u8; 16] {
    s.parse::<std::net::Ipv6Addr>().expect("v6").octets()
}

fn tcp(sp: u16, dp: u16, flags: u8, opts: usize, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&sp.to_be_bytes());
    h.extend_from_slice(&dp.to_be_bytes());
    h.extend_from_slice(&1000u32.to_be_bytes());
    h.extend_from_slice(&2000u32.to_be_bytes());
    h.push(((5 + opts) as u8) << 4);
    h.push(flags);
    h.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    h.extend(std::iter::repeat_n(1u8, opts * 4));
    h.extend_from_slice(payload);
    h
}

fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&sp.to_be_bytes());
    h.extend_from_slice(&dp.to_be_bytes());
    h.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(payload);
    h
}

fn icmp(ty: u8, code: u8) -> Vec<u8> {
    vec![ty, code, 0, 0, 0, 1, 0, 1, b'p', b'i', b'n', b'g']
}

fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
    let mut h = vec![0, 1, 8, 0, 6, 4];
    h.extend_from_slice(&op.to_be_bytes());
    h.extend_from_slice(&sha);
    h.extend_from_slice(&spa);
    h.extend_from_slice(&[0; 6]);
    h.extend_from_slice(&tpa);
    h
}

/// Network-layer packets: (EtherType, bytes, destination MAC).
fn generated_l3() -> Vec<(u16, Vec<u8>, [u8; 6])> {
    let a = [10, 0, 0, 1];
    let b = [10, 0, 0, 2];
    let lo = [127, 0, 0, 1];
    let mut v = Vec::new();
    let mut ip4 = |l3: Vec<u8>, mac: [u8; 6]| v.push((0x0800u16, l3, mac));
    ip4(
        ipv4(a, b, 6, 64, 0x4000, 0, &tcp(40000, 80, 0x02, 1, &[])),
        MAC_B,
    );
    ip4(
        ipv4(b, a, 6, 64, 0x4000, 0, &tcp(80, 40000, 0x12, 1, &[])),
        MAC_A,
    );
    ip4(
        ipv4(
            a,
            b,
            6,
            64,
            0x4000,
            0,
            &tcp(40000, 80, 0x18, 0, b"GET / HTTP/1.1\r\n"),
        ),
        MAC_B,
    );
    ip4(
        ipv4(a, b, 6, 64, 0x4000, 0, &tcp(40000, 443, 0x11, 0, &[])),
        MAC_B,
    );
    ip4(
        ipv4(b, a, 6, 32, 0x4000, 0, &tcp(443, 40000, 0x04, 0, &[])),
        MAC_A,
    );
    ip4(
        ipv4(a, b, 6, 128, 0, 1, &tcp(22, 5555, 0x10, 0, &[7; 300])),
        MAC_B,
    );
    ip4(
        ipv4(
            lo,
            lo,
            6,
            64,
            0x4000,
            0,
            &tcp(10000, 45000, 0x18, 2, b"hello"),
        ),
        [0; 6],
    );
    ip4(
        ipv4(
            [192, 168, 1, 7],
            [172, 20, 1, 1],
            6,
            64,
            0,
            0,
            &tcp(8080, 1023, 0x10, 0, &[1; 1200]),
        ),
        MAC_A,
    );
    ip4(
        ipv4(
            [192, 168, 1, 7],
            [192, 168, 1, 255],
            17,
            64,
            0,
            0,
            &udp(5000, 5353, b"mdns?"),
        ),
        BCAST,
    );
    ip4(
        ipv4(
            [0, 0, 0, 0],
            [255, 255, 255, 255],
            17,
            64,
            0,
            0,
            &udp(68, 67, &[0; 240]),
        ),
        BCAST,
    );
    ip4(
        ipv4(
            a,
            [224, 0, 0, 251],
            17,
            255,
            0,
            0,
            &udp(5353, 5353, b"query"),
        ),
        MCAST4,
    );
    ip4(
        ipv4(
            a,
            b,
            17,
            64,
            0,
            0,
            &udp(33000, 53, &[0, 1, 0, 0, 0x0a, 0, 0, 0, 9, 9]),
        ),
        MAC_B,
    );
    ip4(ipv4(b, a, 17, 60, 0, 0, &udp(53, 33000, &[1; 90])), MAC_A);
    ip4(ipv4(a, b, 17, 64, 0, 0, &udp(123, 123, &[0; 48])), MAC_B);
    ip4(
        ipv4(a, b, 17, 64, 0x2000, 0, &udp(6000, 6001, &[3; 1400])),
        MAC_B,
    );
    ip4(ipv4(a, b, 17, 64, 185, 0, &[3; 200]), MAC_B);
    ip4(ipv4(a, b, 1, 64, 0, 0, &icmp(8, 0)), MAC_B);
    ip4(ipv4(b, a, 1, 64, 0, 0, &icmp(0, 0)), MAC_A);
    ip4(ipv4(b, a, 1, 64, 0, 0, &icmp(3, 3)), MAC_A);
    ip4(ipv4(b, a, 1, 3, 0, 0, &icmp(11, 0)), MAC_A);
    ip4(
        ipv4(a, [224, 0, 0, 22], 2, 1, 0, 1, &[0x22, 0, 0, 0, 0, 0, 0, 0]),
        MCAST4,
    );
    ip4(
        ipv4(
            a,
            b,
            132,
            64,
            0,
            0,
            &[0x26, 0xaa, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0],
        ),
        MAC_B,
    );
    ip4(ipv4(a, b, 47, 64, 0, 0, &[0; 24]), MAC_B);
    let s6 = v6("fe80::1");
    let d6 = v6("fe80::2");
    let l6 = v6("::1");
    let m6 = v6("ff02::1");
    let mut ip6 = |l3: Vec<u8>, mac: [u8; 6]| v.push((0x86ddu16, l3, mac));
    ip6(ipv6(s6, d6, 6, &tcp(40001, 80, 0x02, 0, &[])), MAC_B);
    ip6(ipv6(l6, l6, 6, &tcp(10000, 45001, 0x18, 0, b"hi")), [0; 6]);
    ip6(ipv6(s6, d6, 17, &udp(5353, 53, b"q")), MAC_B);
    ip6(ipv6(s6, d6, 58, &[128, 0, 0, 0, 0, 1, 0, 1]), MAC_B);
    ip6(ipv6(d6, s6, 58, &[129, 0, 0, 0, 0, 1, 0, 1]), MAC_A);
    ip6(
        ipv6(
            s6,
            m6,
            58,
            &[134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        MCAST6,
    );
    let mut frag = vec![17, 0, 0, 1, 0, 0, 0, 7];
    frag.extend_from_slice(&udp(7000, 53, &[5; 40]));
    ip6(ipv6(v6("2001:db8::1"), v6("2001:db8::2"), 44, &frag), MAC_B);
    let mut frag6 = vec![6, 0, 0, 1, 0, 0, 0, 8];
    frag6.extend_from_slice(&tcp(8000, 8443, 0x10, 0, &[]));
    ip6(
        ipv6(v6("2001:db8::1"), v6("2001:db8::2"), 44, &frag6),
        MAC_B,
    );
    v.push((0x0806, arp(1, MAC_A, a, b), BCAST));
    v.push((0x0806, arp(2, MAC_B, b, a), MAC_A));
    v.push((0x8035, arp(3, MAC_A, [0; 4], [0; 4]), BCAST));
    v
}

fn eth(dst: [u8; 6], src: [u8; 6], ty: u16, l3: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ty.to_be_bytes());
    f.extend_from_slice(l3);
    f
}

fn vlan(dst: [u8; 6], src: [u8; 6], tags: &[u16], ty: u16, l3: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    for t in tags {
        f.extend_from_slice(&0x8100u16.to_be_bytes());
        f.extend_from_slice(&t.to_be_bytes());
    }
    f.extend_from_slice(&ty.to_be_bytes());
    f.extend_from_slice(l3);
    f
}

fn frame(data: Vec<u8>, origin: String) -> Frame {
    Frame {
        wire: data.len() as u32,
        data,
        origin,
    }
}

/// Cut copies of a frame (snap lengths through the headers).
fn cuts(f: &Frame, at: &[usize]) -> Vec<Frame> {
    at.iter()
        .filter(|n| **n < f.data.len())
        .map(|n| Frame {
            data: f.data[..*n].to_vec(),
            wire: f.wire,
            origin: format!("{} cut to {n}", f.origin),
        })
        .collect()
}

/// Generated frames for one link type.
pub fn generated(link: LinkType) -> Vec<Frame> {
    let mut out = Vec::new();
    let l3s = generated_l3();
    for (i, (ty, l3, mac)) in l3s.iter().enumerate() {
        let origin = format!("generated #{}", i + 1);
        let (src_mac, pkttype) = if i % 3 == 0 {
            (MAC_A, 4u8)
        } else {
            (MAC_B, 0u8)
        };
        let data = match link {
            LinkType::Ethernet => eth(*mac, src_mac, *ty, l3),
            LinkType::LinuxSll => {
                let mut f = vec![0, pkttype, 0, 1, 0, 6];
                f.extend_from_slice(&src_mac);
                f.extend_from_slice(&[0, 0]);
                f.extend_from_slice(&ty.to_be_bytes());
                f.extend_from_slice(l3);
                f
            }
            LinkType::LinuxSll2 => {
                let mut f = ty.to_be_bytes().to_vec();
                f.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, pkttype, 6]);
                f.extend_from_slice(&src_mac);
                f.extend_from_slice(&[0, 0]);
                f.extend_from_slice(l3);
                f
            }
            LinkType::RawIp | LinkType::Null => {
                if *ty != 0x0800 && *ty != 0x86dd {
                    continue;
                }
                let mut f = Vec::new();
                if link == LinkType::Null {
                    // AF_INET, and AF_INET6 as macOS numbers it.
                    let fam: u32 = if *ty == 0x0800 { 2 } else { 30 };
                    f.extend_from_slice(&fam.to_le_bytes());
                }
                f.extend_from_slice(l3);
                f
            }
        };
        out.push(frame(data, origin));
    }
    // Cut frames: through the link, IP and transport headers.
    let base: Vec<Frame> = out.iter().take(3).cloned().collect();
    for f in &base {
        out.extend(cuts(f, &[10, 20, 30, 40, 50, 60]));
    }
    if link == LinkType::Ethernet {
        let (_, tcp_syn, _) = &l3s[0];
        let (_, dns, _) = &l3s[11];
        out.push(frame(
            vlan(MAC_B, MAC_A, &[10], 0x0800, tcp_syn),
            "vlan 10 tcp".into(),
        ));
        out.push(frame(
            vlan(MAC_B, MAC_A, &[20], 0x0800, dns),
            "vlan 20 dns".into(),
        ));
        out.push(frame(
            vlan(MAC_B, MAC_A, &[20, 10], 0x0800, dns),
            "vlan 20.10 dns".into(),
        ));
        out.push(frame(
            vlan(BCAST, MAC_A, &[10], 0x0806, &l3s[l3s.len() - 3].1),
            "vlan 10 arp".into(),
        ));
        out.push(frame(vec![0xff; 8], "8-byte runt".into()));
    }
    out
}

/// Every frame of the project's capture files of `link`, then the
/// generated ones, written to `dir/NAME.pcap`.
pub fn corpus(dir: &Path) -> Vec<CorpusFile> {
    let links = [
        LinkType::Ethernet,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
        LinkType::RawIp,
        LinkType::Null,
    ];
    let mut files: Vec<CorpusFile> = links
        .iter()
        .map(|l| CorpusFile {
            path: dir.join(format!("{}.pcap", dlt_name(*l))),
            link: *l,
            frames: Vec::new(),
        })
        .collect();
    for path in crate::capfiles::repository_captures() {
        let mut r = Reader::open(&path).expect("open project capture");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut n = 0;
        while let Some(p) = r.next_packet().expect("read project capture") {
            n += 1;
            let f = files
                .iter_mut()
                .find(|f| f.link == p.link)
                .expect("a link type socklab reads");
            f.frames.push(Frame {
                data: p.data.to_vec(),
                wire: p.orig_len as u32,
                origin: format!("{name} #{n}"),
            });
        }
    }
    for f in &mut files {
        f.frames.extend(generated(f.link));
        write_pcap(&f.path, f.link, &f.frames);
    }
    files
}
