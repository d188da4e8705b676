//! Address text <-> bytes the way glibc does it: `inet_aton` (lenient:
//! `127.1`, `0x7f.1`, octal `010.0.0.1`), `inet_pton` (strict), `inet_ntop`
//! (RFC 5952 compression, IPv4 tail for mapped and compatible addresses),
//! and what kind of address it is. Pure: no I/O, no panics.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Why text is not an address, pointing at the offending byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Byte index into the text.
    pub pos: usize,
    /// Why, in words.
    pub why: &'static str,
}

fn reject(pos: usize, why: &'static str) -> Rejected {
    Rejected { pos, why }
}

/// What glibc's `inet_aton` made of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aton {
    /// The address.
    pub addr: Ipv4Addr,
    /// How many dot-separated parts were given (1 to 4).
    pub parts: usize,
    /// Text after whitespace that glibc ignores.
    pub ignored: Option<String>,
}

/// C `strtoul(s, &end, 0)` on text that starts with a digit: the value
/// (None on overflow of 64 bits) and how many bytes it used.
fn strtoul0(b: &[u8]) -> (Option<u64>, usize) {
    let (radix, mut i) = match b {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, 2),
        [b'0', ..] => (8, 0),
        _ => (10, 0),
    };
    let mut v: Option<u64> = Some(0);
    while let Some(d) = b.get(i).and_then(|&c| (c as char).to_digit(radix)) {
        v = v
            .and_then(|x| x.checked_mul(u64::from(radix)))
            .and_then(|x| x.checked_add(u64::from(d)));
        i += 1;
    }
    (v, i)
}

/// glibc `inet_aton`: 1 to 4 parts in decimal, octal (leading 0) or hex
/// (0x); the last part fills the remaining bytes. Text after whitespace
/// is ignored, as glibc does.
pub fn inet_aton(text: &str) -> Result<Aton, Rejected> {
    let b = text.as_bytes();
    let mut bytes: Vec<u8> = Vec::with_capacity(4);
    let mut i = 0;
    let last;
    loop {
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return Err(reject(i, "expected a number (decimal, 0 octal or 0x hex)"));
        }
        let (v, used) = strtoul0(&b[i..]);
        let Some(v) = v.filter(|v| *v <= 0xffff_ffff) else {
            return Err(reject(i, "number too large"));
        };
        let start = i;
        i += used;
        if b.get(i) == Some(&b'.') {
            if bytes.len() > 2 {
                return Err(reject(i, "more than four parts"));
            }
            let Ok(byte) = u8::try_from(v) else {
                return Err(reject(start, "a part before a dot must be 0..255"));
            };
            bytes.push(byte);
            i += 1;
        } else {
            last = (v, start);
            break;
        }
    }
    let ignored = match b.get(i) {
        None => None,
        Some(c) if c.is_ascii_whitespace() || *c == 0x0b => Some(text[i..].to_string()),
        Some(_) => return Err(reject(i, "not a digit or a dot")),
    };
    let (v, start) = last;
    let room = 4 - bytes.len();
    if room < 4 && v >= 1u64 << (8 * room) {
        return Err(reject(
            start,
            "the last part is too large for the bytes left (a.b: b < 2^24, a.b.c: c < 2^16, a.b.c.d: d < 256)",
        ));
    }
    let mut word = v as u32;
    for (k, byte) in bytes.iter().enumerate() {
        word |= u32::from(*byte) << (24 - 8 * k);
    }
    Ok(Aton {
        addr: Ipv4Addr::from(word),
        parts: bytes.len() + 1,
        ignored,
    })
}

/// glibc `inet_pton(AF_INET)`: exactly four decimal parts 0..255, no
/// leading zeros, nothing else.
pub fn inet_pton4(text: &str) -> Result<Ipv4Addr, Rejected> {
    let mut tmp = [0u8; 4];
    let mut tp = 0;
    let mut octets = 0;
    let mut saw_digit = false;
    for (i, c) in text.bytes().enumerate() {
        match c {
            b'0'..=b'9' => {
                if saw_digit && tmp[tp] == 0 {
                    return Err(reject(i, "no leading zeros in inet_pton"));
                }
                let Ok(new) = u8::try_from(u32::from(tmp[tp]) * 10 + u32::from(c - b'0')) else {
                    return Err(reject(i, "a part must be 0..255"));
                };
                tmp[tp] = new;
                if !saw_digit {
                    octets += 1;
                    saw_digit = true;
                }
            }
            b'.' if saw_digit => {
                if octets == 4 {
                    return Err(reject(i, "more than four parts"));
                }
                tp += 1;
                saw_digit = false;
            }
            _ => {
                return Err(reject(
                    i,
                    "inet_pton takes only four decimal parts and dots",
                ))
            }
        }
    }
    if octets < 4 {
        return Err(reject(
            text.len(),
            "inet_pton needs exactly four decimal parts",
        ));
    }
    Ok(Ipv4Addr::from(tmp))
}

/// `inet_pton(AF_INET6)`.
pub fn inet_pton6(text: &str) -> Result<Ipv6Addr, Rejected> {
    text.parse().map_err(|_| {
        match text
            .bytes()
            .position(|c| !(c.is_ascii_hexdigit() || c == b':' || c == b'.'))
        {
            Some(pos) => reject(pos, "only hex digits, colons and a dotted IPv4 tail"),
            None => reject(
                0,
                "eight groups of up to 4 hex digits, or fewer with one ::",
            ),
        }
    })
}

/// glibc `inet_ntop(AF_INET6)`: longest run of two or more zero groups
/// becomes `::`; mapped (`::ffff:a.b.c.d`) and compatible (`::a.b.c.d`)
/// addresses end in dotted IPv4.
pub fn inet_ntop6(a: &Ipv6Addr) -> String {
    let w = a.segments();
    // Runs of zero groups as (start, length).
    let mut best: Option<(usize, usize)> = None;
    let mut cur: Option<(usize, usize)> = None;
    for (i, &word) in w.iter().enumerate() {
        if word == 0 {
            cur = Some(cur.map_or((i, 1), |(b, l)| (b, l + 1)));
        } else if let Some(c) = cur.take() {
            if best.is_none_or(|b| c.1 > b.1) {
                best = Some(c);
            }
        }
    }
    if let Some(c) = cur {
        if best.is_none_or(|b| c.1 > b.1) {
            best = Some(c);
        }
    }
    let best = best.filter(|b| b.1 >= 2);
    let mut s = String::new();
    for i in 0..8 {
        if let Some((base, len)) = best {
            if (base..base + len).contains(&i) {
                if i == base {
                    s.push(':');
                }
                continue;
            }
        }
        if i != 0 {
            s.push(':');
        }
        if i == 6 && matches!(best, Some((0, 6)))
            || (i == 6 && best == Some((0, 5)) && w[5] == 0xffff)
        {
            let o = a.octets();
            s.push_str(&Ipv4Addr::new(o[12], o[13], o[14], o[15]).to_string());
            return s;
        }
        s.push_str(&format!("{:x}", w[i]));
    }
    if best.is_some_and(|(b, l)| b + l == 8) {
        s.push(':');
    }
    s
}

/// What kind of IPv4 address this is, and the block it belongs to.
pub fn kind4(a: &Ipv4Addr) -> (&'static str, &'static str) {
    let [o0, o1, o2, _] = a.octets();
    match (o0, o1, o2) {
        _ if a.is_unspecified() => ("unspecified", "0.0.0.0: \"any address\" for bind()"),
        (0, _, _) => ("reserved", "0.0.0.0/8: \"this network\""),
        (10, _, _) => ("private", "10.0.0.0/8, RFC 1918"),
        (172, 16..=31, _) => ("private", "172.16.0.0/12, RFC 1918"),
        (192, 168, _) => ("private", "192.168.0.0/16, RFC 1918"),
        (100, 64..=127, _) => ("shared (carrier-grade NAT)", "100.64.0.0/10, RFC 6598"),
        (127, _, _) => ("loopback", "127.0.0.0/8: never leaves this machine"),
        (169, 254, _) => ("link-local", "169.254.0.0/16: self-assigned, not routed"),
        (192, 0, 0) => ("IETF protocol assignments", "192.0.0.0/24"),
        (192, 0, 2) => ("documentation", "192.0.2.0/24 TEST-NET-1, RFC 5737"),
        (198, 51, 100) => ("documentation", "198.51.100.0/24 TEST-NET-2, RFC 5737"),
        (203, 0, 113) => ("documentation", "203.0.113.0/24 TEST-NET-3, RFC 5737"),
        (198, 18..=19, _) => ("benchmarking", "198.18.0.0/15, RFC 2544"),
        (224..=239, _, _) => ("multicast", "224.0.0.0/4"),
        _ if a.is_broadcast() => ("limited broadcast", "255.255.255.255"),
        (240..=255, _, _) => ("reserved", "240.0.0.0/4: reserved for future use"),
        _ => ("global", "routable on the public internet"),
    }
}

/// What kind of IPv6 address this is, and the block it belongs to.
pub fn kind6(a: &Ipv6Addr) -> (&'static str, &'static str) {
    let s = a.segments();
    if a.is_unspecified() {
        ("unspecified", "::: \"any address\" for bind()")
    } else if a.is_loopback() {
        ("loopback", "::1: never leaves this machine")
    } else if a.to_ipv4_mapped().is_some() {
        (
            "IPv4-mapped",
            "::ffff:0:0/96: an IPv4 address seen through an IPv6 socket",
        )
    } else if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        ("NAT64", "64:ff9b::/96, RFC 6052")
    } else if s[0] == 0x100 && s[1..4] == [0; 3] {
        ("discard-only", "100::/64, RFC 6666")
    } else if s[0] == 0x2001 && s[1] == 0xdb8 {
        ("documentation", "2001:db8::/32, RFC 3849")
    } else if s[0] == 0x2001 && s[1] == 0 {
        ("Teredo", "2001::/32, RFC 4380")
    } else if s[0] == 0x2002 {
        ("6to4", "2002::/16, RFC 3056")
    } else if s[0] & 0xfe00 == 0xfc00 {
        ("unique-local (private)", "fc00::/7, RFC 4193")
    } else if s[0] & 0xffc0 == 0xfe80 {
        (
            "link-local",
            "fe80::/10: one link only, needs a scope id (%eth0)",
        )
    } else if s[0] & 0xffc0 == 0xfec0 {
        ("site-local (deprecated)", "fec0::/10, RFC 3879")
    } else if s[0] & 0xff00 == 0xff00 {
        ("multicast", "ff00::/8")
    } else if s[0] & 0xe000 == 0x2000 {
        ("global", "2000::/3: global unicast")
    } else if s[0..6] == [0; 6] {
        ("IPv4-compatible (deprecated)", "::/96, RFC 4291")
    } else {
        ("reserved", "not in an assigned unicast block")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aton(s: &str) -> Option<String> {
        inet_aton(s).ok().map(|a| a.addr.to_string())
    }

    #[test]
    fn aton_like_glibc() {
        assert_eq!(aton("176.58.10.138").as_deref(), Some("176.58.10.138"));
        assert_eq!(aton("127.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(aton("0x7f.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(aton("010.0.0.1").as_deref(), Some("8.0.0.1"));
        assert_eq!(aton("4294967295").as_deref(), Some("255.255.255.255"));
        assert_eq!(aton("1.2.65535").as_deref(), Some("1.2.255.255"));
        assert_eq!(aton("1.2.3.4 junk").as_deref(), Some("1.2.3.4"));
        for bad in [
            "",
            "1.2.3.4.",
            "1..2",
            "08",
            "0x",
            "1.256.3.4",
            "1.2.65536",
            "4294967296",
            "a",
            "1.2.3.4x",
            "-1",
        ] {
            assert_eq!(aton(bad), None, "{bad}");
        }
        assert_eq!(inet_aton("1.2.3.256").unwrap_err().pos, 6);
    }

    #[test]
    fn pton4_is_strict() {
        assert!(inet_pton4("176.58.10.138").is_ok());
        assert_eq!(inet_pton4("127.1").unwrap_err().pos, 5);
        assert_eq!(inet_pton4("01.2.3.4").unwrap_err().pos, 1);
        assert_eq!(inet_pton4("1.2.3.256").unwrap_err().pos, 8);
        assert!(inet_pton4("1.2.3.4.").is_err());
        assert!(inet_pton4("0.0.0.0").is_ok());
    }

    #[test]
    fn ntop6_like_glibc() {
        let t = |s: &str| inet_ntop6(&s.parse().unwrap());
        assert_eq!(t("::"), "::");
        assert_eq!(t("::1"), "::1");
        assert_eq!(t("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
        assert_eq!(t("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
        assert_eq!(t("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(t("::1.2.3.4"), "::1.2.3.4");
        assert_eq!(t("fe80::"), "fe80::");
    }

    #[test]
    fn kinds() {
        let k4 = |s: &str| kind4(&s.parse().unwrap()).0;
        assert_eq!(k4("176.58.10.138"), "global");
        assert_eq!(k4("10.1.2.3"), "private");
        assert_eq!(k4("172.31.0.1"), "private");
        assert_eq!(k4("100.64.0.1"), "shared (carrier-grade NAT)");
        assert_eq!(k4("127.0.0.1"), "loopback");
        assert_eq!(k4("224.0.0.251"), "multicast");
        assert_eq!(k4("255.255.255.255"), "limited broadcast");
        let k6 = |s: &str| kind6(&s.parse().unwrap()).0;
        assert_eq!(k6("fd00::1"), "unique-local (private)");
        assert_eq!(k6("fe80::1"), "link-local");
        assert_eq!(k6("2a00:1450::1"), "global");
        assert_eq!(k6("ff02::1"), "multicast");
    }
}
