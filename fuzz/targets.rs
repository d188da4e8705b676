//! The fuzz targets, shared by the stable-Rust fuzzer (`examples/fuzz.rs`)
//! and the crash-corpus replay (`tests/fuzz_crashes.rs`). Each target takes
//! arbitrary bytes and must never panic; errors are fine.
//!
//! - `decode`: frame decoder + TCP tracker + every renderer (text, -v, -X,
//!   JSON, colour) over a short run of frames under one link type.
//! - `capfile`: the pcap/pcapng reader over a whole file.
//! - `filter`: the filter parser, lowering, BPF compiler and evaluator.
//! - `pystruct`: the struct format engine and the workbench annotations.
//! - `stream`: the course protocols' stream framing and the HTTP reader
//!   over arbitrary segments (`--follow`, HTTP bodies across segments).
#![allow(dead_code)]

use std::io::Cursor;
use std::path::Path;

use socklab::capture::file::Reader;
use socklab::capture::{Packet, Timestamp};
use socklab::filter::Filter;
use socklab::render::packet::PrintOptions;
use socklab::sniff::Pipeline;
use socklab::wire::packet::LinkType;
use socklab::wire::pystruct::{pack::pack, unpack::unpack, Layout};
use socklab::workbench::annotate::{field_table, header, pack_orders, unpack_orders};
use socklab::workbench::limits::check_struct;

/// Every target's name.
pub const TARGETS: &[&str] = &["decode", "capfile", "filter", "pystruct", "stream"];

const LINKS: [LinkType; 5] = [
    LinkType::Ethernet,
    LinkType::RawIp,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Null,
];

/// Most frames one `decode` input is cut into.
const MAX_FRAMES: usize = 32;

/// Run `target` on `data`.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "decode" => decode(data),
        "capfile" => capfile(data),
        "filter" => filter(data),
        "pystruct" => pystruct(data),
        "stream" => stream(data),
        other => panic!("no fuzz target {other:?}"),
    }
}

/// `decode` input: byte 0 picks the link type and print options; then
/// frames, each a big-endian u16 length and that many bytes.
fn decode(data: &[u8]) {
    let Some((&cfg, mut rest)) = data.split_first() else {
        return;
    };
    let link = LINKS[usize::from(cfg & 7) % LINKS.len()];
    let opts = PrintOptions {
        color: cfg & 0x08 != 0,
        hex: cfg & 0x10 != 0,
        verbose: cfg & 0x20 != 0,
        absolute_seq: cfg & 0x40 != 0,
        json: cfg & 0x80 != 0,
        // Every time column style in turn (the deltas keep state).
        time: socklab::render::time::TimeStyle::from_count(cfg & 7),
        utc: cfg & 1 != 0,
        // The dumps and short lines, by other bits of the same byte.
        hex_only: cfg & 0x09 == 0x09,
        link_header: cfg & 0x11 == 0x11,
        ascii: cfg & 0x21 == 0x21,
        quiet: cfg & 0x41 == 0x41,
    };
    let mut pipe = Pipeline::new(Filter::all(), opts);
    // The same frames again, one conversation followed (`--follow`).
    let mut follow = Pipeline::new(Filter::all(), opts).follow_only(1 + u32::from(cfg >> 7));
    let mut out = Vec::new();
    for i in 0..MAX_FRAMES {
        if rest.len() < 2 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let frame = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let p = Packet {
            ts: Timestamp::new(1_700_000_000 + i as i64, (i as u32) * 1000),
            data: frame,
            orig_len: frame.len() + usize::from(cfg & 1) * 7,
            link,
        };
        let _ = pipe.handle(&mut out, &p);
        let _ = follow.handle(&mut out, &p);
        out.clear();
    }
    let _ = follow.write_follow(&mut out);
    let _ = pipe.write_stats(&mut out);
    let _ = pipe.write_summary(&mut out);
}

/// `stream` input: byte 0 picks the protocol (and the side), then
/// segments separated by 0xff; each is fed to the framer and the HTTP
/// reader, then the sender closes.
fn stream(data: &[u8]) {
    use socklab::wire::decode_as::ALL;
    use socklab::wire::framing::Framer;
    use socklab::wire::http::HttpReader;
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let proto = ALL.get(usize::from(cfg & 7)).copied();
    let mut f = Framer::new(proto, cfg & 8 != 0);
    let mut h = HttpReader::new();
    let (mut notes, mut http) = (Vec::new(), Vec::new());
    for seg in rest.split(|&b| b == 0xff).take(256) {
        f.feed(seg, &mut notes);
        h.feed(seg, &mut http);
    }
    f.end(&mut notes);
    h.end(&mut http);
    let _ = http.iter().map(ToString::to_string).count();
}

/// `capfile` input: a whole capture file.
fn capfile(data: &[u8]) {
    let Ok(mut r) = Reader::new(Cursor::new(data), "fuzz") else {
        return;
    };
    for _ in 0..100_000 {
        match r.next_packet() {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let _ = (r.packets(), r.skipped().len(), r.offset());
}

/// Frames the `filter` target evaluates a parsed filter on.
const FRAMES: &[&[u8]] = &[
    // Ethernet, IPv4, TCP SYN 127.0.0.1:40000 -> 127.0.0.1:10009.
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x45\x00\x00\x28\x00\x01\x40\x00\x40\x06\x00\x00\x7f\x00\x00\x01\x7f\x00\x00\x01\x9c\x40\x27\x19\x00\x00\x00\x01\x00\x00\x00\x00\x50\x02\xff\xff\x00\x00\x00\x00",
    // Ethernet, IPv4, UDP 127.0.0.1:5000 -> 127.0.0.1:53, 4 bytes.
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x45\x00\x00\x20\x00\x01\x00\x00\x40\x11\x00\x00\x7f\x00\x00\x01\x7f\x00\x00\x01\x13\x88\x00\x35\x00\x0c\x00\x00abcd",
    b"",
    b"\x45",
];

/// `filter` input: an expression (as UTF-8, lossily).
fn filter(data: &[u8]) {
    let text = String::from_utf8_lossy(&data[..data.len().min(4096)]);
    let Ok(f) = Filter::parse(&text) else {
        return;
    };
    let _ = (f.is_all(), f.text().len());
    for link in LINKS {
        if f.check_link(link).is_err() {
            continue;
        }
        let _ = f.lowered(link);
        let _ = f.compile(link, 65535);
        for frame in FRAMES {
            let _ = f.matches_frame(link, frame, frame.len());
        }
    }
}

/// `pystruct` input: a format, a newline, then bytes to unpack (padded or
/// cut to the struct's size); the values read are packed again and every
/// workbench table is drawn.
fn pystruct(data: &[u8]) {
    let (fmt, bytes) = match data.iter().position(|&b| b == b'\n') {
        Some(p) => (&data[..p], &data[p + 1..]),
        None => (data, &[][..]),
    };
    let fmt = String::from_utf8_lossy(&fmt[..fmt.len().min(256)]);
    let Ok(layout) = Layout::parse(&fmt) else {
        return;
    };
    let _ = header(&layout);
    if check_struct(&layout).is_err() {
        return;
    }
    let mut buf = bytes.to_vec();
    buf.resize(layout.size as usize, 0);
    let _ = unpack_orders(&layout, bytes);
    let _ = unpack(&layout, bytes);
    match unpack(&layout, &buf) {
        Ok(values) => {
            let _ = pack(&layout, &values);
            let _ = pack_orders(&layout, &values);
            let _ = field_table(&layout, &buf, Some(&values));
        }
        Err(_) => {
            let _ = field_table(&layout, &buf, None);
        }
    }
}

/// Starting inputs for `target`: the project's capture files
/// (`tests/fixtures`, `captures/`) for the packet targets, the filter and
/// format tables below for the others, and `fuzz/corpus/TARGET/*`.
pub fn seeds(root: &Path, target: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let files: Vec<std::path::PathBuf> = ["tests/fixtures", "captures"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).into_iter().flatten())
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    match target {
        "capfile" => {
            for f in &files {
                if let Ok(b) = std::fs::read(f) {
                    out.push(b);
                }
            }
        }
        "decode" => {
            for f in &files {
                let Ok(mut r) = Reader::open(f) else { continue };
                let mut input = Vec::new();
                let mut n = 0;
                while let Ok(Some(p)) = r.next_packet() {
                    if n == 0 {
                        let link = LINKS.iter().position(|&l| l == p.link).unwrap_or(0);
                        input.push(link as u8);
                    }
                    let len = p.data.len().min(usize::from(u16::MAX));
                    input.extend_from_slice(&(len as u16).to_be_bytes());
                    input.extend_from_slice(&p.data[..len]);
                    n += 1;
                    if n == 16 {
                        out.push(std::mem::take(&mut input));
                        n = 0;
                    }
                }
                if !input.is_empty() {
                    out.push(input);
                }
            }
            // The same runs under the other print options.
            let n = out.len();
            for i in 0..n {
                for cfg in [0x20u8, 0x10, 0x80, 0x48] {
                    let mut v = out[i].clone();
                    v[0] |= cfg;
                    out.push(v);
                }
            }
        }
        "filter" => {
            for e in [
                "tcp",
                "udp port 53",
                "tcp[tcpflags] & tcp-syn != 0",
                "host 127.0.0.1 and not port 22",
                "net 10.0.0.0/8",
                "portrange 1-1024",
                "less 100",
                "greater 60",
                "vlan 5 and ip",
                "ether host 00:11:22:33:44:55",
                "ip proto 17",
                "(tcp or udp) and dst port 10009",
                "ip6 and icmp6",
                "arp or rarp",
                "ip[2:2] > 40",
                "tcp port 80 or 443",
                "src host 10.0.0.1 and (dst port 53 or dst port 5353)",
                "not not not tcp",
                "ether[0] & 1 != 0",
                "udp[8:4] = 0x01020304",
            ] {
                out.push(e.as_bytes().to_vec());
            }
        }
        "stream" => {
            for (cfg, s) in [
                (2u8, &b"12\xff3\x00\xff45\x000\x00"[..]),
                (10, b"168\x00\xff\x00"),
                (4, b"Hostname:pc Carga de CPU: 0.5%\xff Mem\xc3\xb3ria Dispon\xc3\xadvel: 50.4%     "),
                (5, b"hi\nho\xff!\nbye"),
                (3, b"hello, echo\x00\xffagain"),
                (14, b"HTTP/1.0 200 OK\r\nContent-Le\xffngth: 10\r\n\r\nabc\xffdefghij"),
                (6, b"GET / HTTP/1.0\r\n\r\n"),
                (7, b"anything\xff\x00\x00"),
            ] {
                let mut v = vec![cfg];
                v.extend_from_slice(s);
                out.push(v);
            }
        }
        "pystruct" => {
            for (f, b) in [
                (
                    "!III",
                    &b"\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x00"[..],
                ),
                ("III", b"\x01\x00\x00\x00"),
                ("@bI", b"\x01"),
                ("<h10s", b"\x01\x00hello"),
                ("@i2ch", b""),
                ("10p", b"\x05hello"),
                ("<e", b"\x00\x3c"),
                (">d?", b"\x3f\xf0\x00\x00\x00\x00\x00\x00\x01"),
                ("@nNP", b""),
                ("0p3x", b""),
                ("1000s", b"x"),
            ] {
                let mut v = f.as_bytes().to_vec();
                v.push(b'\n');
                v.extend_from_slice(b);
                out.push(v);
            }
        }
        _ => {}
    }
    let corpus = root.join("fuzz/corpus").join(target);
    for e in std::fs::read_dir(corpus).into_iter().flatten().flatten() {
        if let Ok(b) = std::fs::read(e.path()) {
            out.push(b);
        }
    }
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}
