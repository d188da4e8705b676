//! Capture files built byte by byte for the replay tests, independently of
//! the pcap-file crate socklab reads them with (so a bug shared by reader
//! and writer cannot hide): pcap in both byte orders and both magics,
//! pcapng with chosen interfaces and `if_tsresol`, and frames of a small
//! TCP conversation under every link-layer header socklab decodes.

use std::path::PathBuf;

/// TCP flag bits.
pub const FIN: u8 = 0x01;
/// SYN.
pub const SYN: u8 = 0x02;
/// RST.
pub const RST: u8 = 0x04;
/// PSH.
pub const PSH: u8 = 0x08;
/// ACK.
pub const ACK: u8 = 0x10;

/// A directory removed with everything in it when the test ends.
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh, empty directory for this test.
pub fn temp_dir(name: &str) -> TempDir {
    let d = std::env::temp_dir().join(format!("socklab-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    // Writable by all (sticky, like /tmp): `sniff -w` run as root writes
    // as nobody after dropping privileges, as tcpdump -Z does.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o1777)).expect("chmod temp dir");
    TempDir(d)
}

/// Every capture file of the repository (`captures/` and `tests/fixtures/`,
/// `.pcap` and `.pcapng`), sorted by path; at least 10 of them.
pub fn repository_captures() -> Vec<PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["captures", "tests/fixtures"] {
        for e in std::fs::read_dir(root.join(dir))
            .expect("read dir")
            .flatten()
        {
            let p = e.path();
            let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
            if ext == "pcap" || ext == "pcapng" {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 10, "capture files: {files:?}");
    files
}

/// An IPv4 header from 127.0.0.1 to 127.0.0.1 (DF, TTL 64, no checksum)
/// for `payload_len` bytes of protocol `proto` after it.
fn ipv4_loopback(proto: u8, payload_len: usize) -> Vec<u8> {
    let total = 20 + payload_len;
    let mut p = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0x40,
        0,
        64,
        proto,
        0,
        0,
    ];
    p.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
    p
}

/// An IPv4 + UDP datagram between 127.0.0.1 ports (no link header).
pub fn ip_udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = ipv4_loopback(17, 8 + payload.len());
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

/// An IPv4 + TCP packet between 127.0.0.1 ports (no link header).
pub fn ip_tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = ipv4_loopback(6, 20 + payload.len());
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[0x50, flags, 0xff, 0xcb, 0, 0, 0, 0]);
    p.extend_from_slice(payload);
    p
}

/// The tcp-calc lesson as IP packets: handshake, numbers, reply, FIN both ways.
pub fn conversation() -> Vec<Vec<u8>> {
    let (c, s) = (40000, 10009);
    vec![
        ip_tcp(c, s, 1000, 0, SYN, &[]),
        ip_tcp(s, c, 5000, 1001, SYN | ACK, &[]),
        ip_tcp(c, s, 1001, 5001, ACK, &[]),
        ip_tcp(c, s, 1001, 5001, PSH | ACK, b"5\x008\x001\x00"),
        ip_tcp(s, c, 5001, 1007, PSH | ACK, b"-3\0\0"),
        ip_tcp(s, c, 5005, 1007, FIN | ACK, &[]),
        ip_tcp(c, s, 1007, 5006, FIN | ACK, &[]),
        ip_tcp(s, c, 5006, 1008, ACK, &[]),
    ]
}

/// Put a link-layer header of pcap type `link` in front of an IPv4 packet.
/// `big` only matters for NULL (its family is in the capturing host's order).
pub fn wrap(link: u32, ip: &[u8], big: bool) -> Vec<u8> {
    let mut f = match link {
        1 => {
            let mut h = vec![0u8; 12];
            h.extend_from_slice(&[0x08, 0x00]);
            h
        }
        0 => {
            if big {
                2u32.to_be_bytes().to_vec()
            } else {
                2u32.to_le_bytes().to_vec()
            }
        }
        101 | 228 => Vec::new(),
        113 => {
            // packet type 0 (to us), ARPHRD_LOOPBACK 772, 6-byte address, padding, protocol.
            let mut h = vec![0, 0, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
            h.extend_from_slice(&[0x08, 0x00]);
            h
        }
        276 => {
            // protocol, reserved, ifindex 1, ARPHRD_LOOPBACK, packet type, address length, address.
            let mut h = vec![0x08, 0x00, 0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6];
            h.extend_from_slice(&[0u8; 8]);
            h
        }
        other => panic!("no header for link type {other}"),
    };
    f.extend_from_slice(ip);
    f
}

/// One pcap record.
#[derive(Debug, Clone)]
pub struct Rec {
    /// Seconds.
    pub secs: u32,
    /// Micro- or nanoseconds, as the file says.
    pub frac: u32,
    /// Captured bytes.
    pub data: Vec<u8>,
    /// Length on the wire.
    pub orig_len: u32,
}

/// Records at 1 ms intervals from 1_763_703_627 s, 250 µs apart.
pub fn recs(frames: &[Vec<u8>], nano: bool) -> Vec<Rec> {
    frames
        .iter()
        .enumerate()
        .map(|(i, f)| Rec {
            secs: 1_763_703_627,
            frac: (i as u32) * 250 * if nano { 1000 } else { 1 },
            data: f.clone(),
            orig_len: f.len() as u32,
        })
        .collect()
}

fn put32(v: &mut Vec<u8>, big: bool, x: u32) {
    v.extend_from_slice(&if big {
        x.to_be_bytes()
    } else {
        x.to_le_bytes()
    });
}

fn put16(v: &mut Vec<u8>, big: bool, x: u16) {
    v.extend_from_slice(&if big {
        x.to_be_bytes()
    } else {
        x.to_le_bytes()
    });
}

/// A pcap file: header (magic for `nano`, in `big` or little byte order), then records.
pub fn pcap(big: bool, nano: bool, link: u32, recs: &[Rec]) -> Vec<u8> {
    let mut v = Vec::new();
    put32(&mut v, big, if nano { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    put16(&mut v, big, 2);
    put16(&mut v, big, 4);
    put32(&mut v, big, 0);
    put32(&mut v, big, 0);
    put32(&mut v, big, 262_144);
    put32(&mut v, big, link);
    for r in recs {
        put32(&mut v, big, r.secs);
        put32(&mut v, big, r.frac);
        put32(&mut v, big, r.data.len() as u32);
        put32(&mut v, big, r.orig_len);
        v.extend_from_slice(&r.data);
    }
    v
}

/// Offset of record `i` (from 0) in a pcap file made by [`pcap`].
pub fn pcap_offset(recs: &[Rec], i: usize) -> usize {
    24 + recs[..i].iter().map(|r| 16 + r.data.len()).sum::<usize>()
}

fn block(v: &mut Vec<u8>, big: bool, ty: u32, body: &[u8]) {
    let pad = (4 - body.len() % 4) % 4;
    let len = (12 + body.len() + pad) as u32;
    put32(v, big, ty);
    put32(v, big, len);
    v.extend_from_slice(body);
    v.extend(std::iter::repeat_n(0u8, pad));
    put32(v, big, len);
}

/// A pcapng interface: link type and `if_tsresol` (None: the default, microseconds).
#[derive(Debug, Clone, Copy)]
pub struct Iface {
    /// pcap LINKTYPE_.
    pub link: u16,
    /// Raw if_tsresol byte (6 = µs, 9 = ns, 0x80 | n = 2^-n s).
    pub tsresol: Option<u8>,
}

/// One Enhanced Packet Block: interface, timestamp in that interface's
/// units, bytes, original length.
#[derive(Debug, Clone)]
pub struct Epb {
    /// Interface index.
    pub iface: u32,
    /// Timestamp in the interface's units.
    pub ts: u64,
    /// Captured bytes.
    pub data: Vec<u8>,
    /// Length on the wire.
    pub orig_len: u32,
}

/// A pcapng file: section header, interfaces, enhanced packet blocks.
pub fn pcapng(big: bool, ifaces: &[Iface], pkts: &[Epb]) -> Vec<u8> {
    let mut v = Vec::new();
    let mut shb = Vec::new();
    put32(&mut shb, big, 0x1a2b_3c4d);
    put16(&mut shb, big, 1);
    put16(&mut shb, big, 0);
    shb.extend_from_slice(&[0xff; 8]);
    block(&mut v, big, 0x0a0d_0d0a, &shb);
    for i in ifaces {
        let mut idb = Vec::new();
        put16(&mut idb, big, i.link);
        put16(&mut idb, big, 0);
        put32(&mut idb, big, 262_144);
        if let Some(r) = i.tsresol {
            put16(&mut idb, big, 9);
            put16(&mut idb, big, 1);
            idb.extend_from_slice(&[r, 0, 0, 0]);
            put16(&mut idb, big, 0);
            put16(&mut idb, big, 0);
        }
        block(&mut v, big, 1, &idb);
    }
    for p in pkts {
        let mut epb = Vec::new();
        put32(&mut epb, big, p.iface);
        put32(&mut epb, big, (p.ts >> 32) as u32);
        put32(&mut epb, big, p.ts as u32);
        put32(&mut epb, big, p.data.len() as u32);
        put32(&mut epb, big, p.orig_len);
        epb.extend_from_slice(&p.data);
        block(&mut v, big, 6, &epb);
    }
    v
}
