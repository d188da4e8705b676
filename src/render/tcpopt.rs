//! TCP options in tcpdump's notation, character for character:
//! `options [mss 65495,sackOK,TS val 1 ecr 0,nop,wscale 7]`, every kind
//! tcpdump names (`mptcp 12 capable v1 {0x...}`, `tfo cookie ...`,
//! `exp-tfo ...`, `tcp-ao ...`, `uto ...`, `md5 ...`), others as
//! `unknown-30 0x0102`, `sack 2 {a:b}{c:d}`, `eol`, and `[len N]` where
//! an option's length byte disagrees with what its kind holds.
//!
//! Rules: the bytes are walked as tcpdump walks them (a cursor that
//! advances by what each kind reads, not by the length byte); an option
//! that cannot be read ends the list with `[bad opt]` exactly where
//! tcpdump does, and then tcpdump prints nothing more of the packet
//! (no `length`): [`write_options`] says so by returning `false`. Never
//! panics, never reads outside the slice it is given.

use std::fmt::Write as _;

use crate::wire::packet::tcp_flags as fl;

/// What the options printer needs to know about the segment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Segment {
    /// The TCP flags (MPTCP options are read differently on SYN and ACK).
    pub flags: u8,
    /// Subtracted from SACK block edges (0 for absolute numbers).
    pub sack_base: u32,
    /// The capture cut the segment (tcpdump's md5 check then says so).
    pub cut: bool,
}

/// The option list alone, `mss 65495,sackOK,TS val 1 ecr 0` (what `-v`
/// and `--json` show): the same words as the line, without its brackets.
#[derive(Debug, Clone, Copy)]
pub struct OptionList<'a>(pub &'a [u8], pub Segment);

impl std::fmt::Display for OptionList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        let whole = write_options(&mut s, self.0, self.1);
        let inner = s.strip_prefix(", options [").unwrap_or(&s);
        let inner = if whole {
            inner.strip_suffix(']').unwrap_or(inner)
        } else {
            inner
        };
        f.write_str(inner)
    }
}

/// Kind numbers with a name in tcpdump.
fn name(kind: u8) -> Option<&'static str> {
    Some(match kind {
        0 => "eol",
        1 => "nop",
        2 => "mss",
        3 => "wscale",
        4 => "sackOK",
        5 => "sack",
        6 => "echo",
        7 => "echoreply",
        8 => "TS",
        11 => "cc",
        12 => "ccnew",
        13 => "",
        19 => "md5",
        20 => "scps",
        28 => "uto",
        29 => "tcp-ao",
        30 => "mptcp",
        34 => "tfo",
        254 => "exp",
        _ => return None,
    })
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    (u64::from(be32(b, at)) << 32) | u64::from(be32(b, at + 4))
}

fn hex(out: &mut String, b: &[u8]) {
    for x in b {
        let _ = write!(out, "{x:02x}");
    }
}

/// The option could not be read: tcpdump's `goto bad`.
struct Bad;

/// Write `, options [...]` for the option bytes `b` (the TCP header after
/// its first 20 bytes). Returns false when tcpdump would stop the line at
/// `[bad opt]` (the caller then prints nothing more on that line).
pub fn write_options(out: &mut String, b: &[u8], seg: Segment) -> bool {
    if b.is_empty() {
        return true;
    }
    out.push_str(", options [");
    let mut listed = false;
    let mut at = 0;
    while at < b.len() {
        if listed {
            out.push(',');
        }
        match one(out, b, &mut at, seg) {
            Ok(true) => listed = true,
            Ok(false) => break,
            Err(Bad) => {
                out.push_str("[bad opt]");
                if listed {
                    out.push(']');
                }
                return false;
            }
        }
    }
    out.push(']');
    true
}

/// One option at `*at`; moves `*at` past what was read. Ok(false) after `eol`.
fn one(out: &mut String, b: &[u8], at: &mut usize, seg: Segment) -> Result<bool, Bad> {
    let kind = b[*at];
    *at += 1;
    let zero_len = kind == 0 || kind == 1;
    let len = if zero_len {
        1
    } else {
        // The length byte: at least 2 (kind and length), within the header.
        let len = usize::from(*b.get(*at).ok_or(Bad)?);
        *at += 1;
        if len < 2 || len > b.len() - (*at - 2) {
            return Err(Bad);
        }
        len
    };
    // What is left of the header after the kind (and length) bytes.
    let left = b.len() - *at;
    let data = &b[*at..];
    let check = |n: usize| if n > left { Err(Bad) } else { Ok(()) };
    match name(kind) {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "unknown-{kind}");
        }
    }
    let read = match kind {
        0 | 1 | 4 => 0,
        2 => {
            check(2)?;
            let _ = write!(out, " {}", be16(data, 0));
            2
        }
        3 => {
            check(1)?;
            let _ = write!(out, " {}", data[0]);
            1
        }
        5 => {
            let n = len - 2;
            if n % 8 != 0 {
                out.push_str(" invalid sack");
            } else {
                let _ = write!(out, " {} ", n / 8);
                for i in (0..n).step_by(8) {
                    check(i + 8)?;
                    let s = be32(data, i).wrapping_sub(seg.sack_base);
                    let e = be32(data, i + 4).wrapping_sub(seg.sack_base);
                    let _ = write!(out, "{{{s}:{e}}}");
                }
            }
            n
        }
        6 | 7 | 11 | 12 | 13 => {
            check(4)?;
            let _ = write!(out, " {}", be32(data, 0));
            4
        }
        8 => {
            check(8)?;
            let _ = write!(out, " val {} ecr {}", be32(data, 0), be32(data, 4));
            8
        }
        19 => {
            check(16)?;
            out.push(' ');
            out.push_str(if seg.cut {
                "snaplen too short, "
            } else {
                "shared secret not supplied with -M, "
            });
            out.push_str("can't check - ");
            hex(out, &data[..16]);
            16
        }
        20 => {
            check(2)?;
            let _ = write!(out, " cap {:02x} id {}", data[0], data[1]);
            2
        }
        28 => {
            check(2)?;
            let v = be16(data, 0);
            let secs = if v & 1 != 0 {
                u32::from(v >> 1) * 60
            } else {
                u32::from(v >> 1)
            };
            let _ = write!(out, " 0x{v:x} {secs}");
            2
        }
        29 => {
            let n = len - 2;
            if n < 2 {
                out.push_str(" (invalid)");
            } else {
                let _ = write!(out, " keyid {} rnextkeyid {}", data[0], data[1]);
                if n > 2 {
                    out.push_str(" mac 0x");
                    hex(out, &data[2..n]);
                }
            }
            n
        }
        30 => {
            let n = len - 2;
            check(n)?;
            mptcp(out, &b[*at - 2..*at + n], seg.flags)?;
            n
        }
        34 => {
            let n = len - 2;
            check(n)?;
            out.push(' ');
            fast_open(out, &data[..n]);
            n
        }
        254 => {
            let n = len - 2;
            check(n)?;
            if n < 2 {
                return Err(Bad);
            }
            out.push('-');
            match be16(data, 0) {
                0xf989 => {
                    out.push_str("tfo");
                    fast_open(out, &data[2..n]);
                }
                magic => {
                    let _ = write!(out, "{magic:04x}");
                }
            }
            n
        }
        _ => {
            let n = len - 2;
            if n > 0 {
                out.push_str(" 0x");
                hex(out, &data[..n]);
            }
            n
        }
    };
    *at += read;
    let used = read + if zero_len { 1 } else { 2 };
    if used != len {
        let _ = write!(out, "[len {len}]");
    }
    Ok(kind != 0)
}

/// TCP Fast Open (RFC 7413): a cookie request or a cookie.
fn fast_open(out: &mut String, cookie: &[u8]) {
    if cookie.is_empty() {
        out.push_str(" cookiereq");
    } else if cookie.len() % 2 != 0 || !(4..=16).contains(&cookie.len()) {
        out.push_str(" (invalid)");
    } else {
        out.push_str(" cookie ");
        hex(out, cookie);
    }
}

/// Multipath TCP (RFC 8684), option `o` whole (kind and length included).
fn mptcp(out: &mut String, o: &[u8], flags: u8) -> Result<(), Bad> {
    let n = o.len();
    if n < 3 {
        return Err(Bad);
    }
    let sub = (o[2] >> 4).min(8);
    let names = [
        "capable",
        "join",
        "dss",
        "add-addr",
        "rem-addr",
        "prio",
        "fail",
        "fast-close",
        "unknown",
    ];
    let _ = write!(out, " {n} {}", names[usize::from(sub)]);
    let syn = flags & fl::SYN != 0;
    let ack_only = flags & (fl::SYN | fl::ACK) == fl::ACK;
    let ok = |c: bool| if c { Ok(()) } else { Err(Bad) };
    match sub {
        0 => {
            ok(((n == 12 || n == 4) && syn) || ((n == 20 || n == 22) && ack_only))?;
            let version = o[2] & 0xf;
            if version > 1 {
                let _ = write!(out, " Unknown Version ({version})");
                return Ok(());
            }
            let _ = write!(out, " v{version}");
            if o[3] & 0x80 != 0 {
                out.push_str(" csum");
            }
            if n == 12 || n >= 20 {
                let _ = write!(out, " {{0x{:x}", be64(o, 4));
                if n >= 20 {
                    let _ = write!(out, ",0x{:x}", be64(o, 12));
                }
                out.push('}');
            }
        }
        1 => {
            let synack = flags & (fl::SYN | fl::ACK) == (fl::SYN | fl::ACK);
            ok((n == 12 && syn) || (n == 16 && synack) || (n == 24 && flags & fl::ACK != 0))?;
            if n != 24 {
                if o[2] & 1 != 0 {
                    out.push_str(" backup");
                }
                let _ = write!(out, " id {}", o[3]);
            }
            match n {
                12 => {
                    let _ = write!(out, " token 0x{:x} nonce 0x{:x}", be32(o, 4), be32(o, 8));
                }
                16 => {
                    let _ = write!(out, " hmac 0x{:x} nonce 0x{:x}", be64(o, 4), be32(o, 12));
                }
                _ => {
                    out.push_str(" hmac 0x");
                    hex(out, &o[4..24]);
                }
            }
        }
        2 => dss(out, o, syn)?,
        3 => {
            ok(matches!(n, 8 | 10 | 16 | 18 | 20 | 22 | 28 | 30))?;
            out.push(' ');
            out.push_str(match o[2] & 0xf {
                6 => "v0-ip6",
                4 => "v0-ip4",
                1 => "v1-echo",
                0 => "v1",
                _ => "[bad version/echo]",
            });
            let _ = write!(out, " id {}", o[3]);
            if n <= 18 {
                let a = std::net::Ipv4Addr::new(o[4], o[5], o[6], o[7]);
                let _ = write!(out, " {a}");
                match n {
                    10 | 18 => {
                        let _ = write!(out, ":{}", be16(o, 8));
                    }
                    _ => {}
                }
                match n {
                    16 => {
                        let _ = write!(out, " hmac 0x{:x}", be64(o, 8));
                    }
                    18 => {
                        let _ = write!(out, " hmac 0x{:x}", be64(o, 10));
                    }
                    _ => {}
                }
            } else {
                let mut a = [0u8; 16];
                a.copy_from_slice(&o[4..20]);
                let _ = write!(out, " {}", std::net::Ipv6Addr::from(a));
                match n {
                    22 | 30 => {
                        let _ = write!(out, ":{}", be16(o, 20));
                    }
                    _ => {}
                }
                match n {
                    28 => {
                        let _ = write!(out, " hmac 0x{:x}", be64(o, 20));
                    }
                    30 => {
                        let _ = write!(out, " hmac 0x{:x}", be64(o, 22));
                    }
                    _ => {}
                }
            }
        }
        4 => {
            ok(n >= 4)?;
            out.push_str(" id");
            for id in &o[3..] {
                let _ = write!(out, " {id}");
            }
        }
        5 => {
            ok(n == 3 || n == 4)?;
            out.push_str(if o[2] & 1 != 0 {
                " backup"
            } else {
                " non-backup"
            });
            if n == 4 {
                let _ = write!(out, " id {}", o[3]);
            }
        }
        6 => {
            ok(n == 12)?;
            let _ = write!(out, " seq {}", be64(o, 4));
        }
        7 => {
            ok(n == 12)?;
            let _ = write!(out, " key 0x{:x}", be64(o, 4));
        }
        _ => {}
    }
    Ok(())
}

/// MPTCP data sequence signal: what it holds is said by its flag bits.
fn dss(out: &mut String, o: &[u8], syn: bool) -> Result<(), Bad> {
    if o.len() < 4 || syn {
        return Err(Bad);
    }
    let f = o[3];
    if f & 0x10 != 0 {
        out.push_str(" fin");
    }
    let mut r = &o[4..];
    // A 4- or 8-byte number, as the flag bit `wide` says.
    let number = |out: &mut String, r: &mut &[u8], wide: bool| -> Result<(), Bad> {
        let w = if wide { 8 } else { 4 };
        if r.len() < w {
            return Err(Bad);
        }
        let v = if wide {
            be64(r, 0)
        } else {
            u64::from(be32(r, 0))
        };
        let _ = write!(out, "{v}");
        *r = &r[w..];
        Ok(())
    };
    if f & 0x01 != 0 {
        out.push_str(" ack ");
        number(out, &mut r, f & 0x02 != 0)?;
    }
    if f & 0x04 != 0 {
        out.push_str(" seq ");
        number(out, &mut r, f & 0x08 != 0)?;
        if r.len() < 4 {
            return Err(Bad);
        }
        let _ = write!(out, " subseq {}", be32(r, 0));
        r = &r[4..];
        if r.len() < 2 {
            return Err(Bad);
        }
        let _ = write!(out, " len {}", be16(r, 0));
        r = &r[2..];
        if r.len() >= 2 {
            let _ = write!(out, " csum 0x{:x}", be16(r, 0));
            r = &r[2..];
        }
    }
    if r.is_empty() {
        Ok(())
    } else {
        Err(Bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(b: &[u8], flags: u8) -> String {
        let mut s = String::new();
        let whole = write_options(
            &mut s,
            b,
            Segment {
                flags,
                ..Segment::default()
            },
        );
        if whole {
            s.push_str(", length 0");
        }
        s
    }

    /// Each expected text is what tcpdump 4.99 printed for the same bytes.
    #[test]
    fn as_tcpdump_prints_them() {
        let a = fl::ACK;
        let cases: &[(&[u8], u8, &str)] = &[
            (
                &[
                    2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
                ],
                fl::SYN,
                ", options [mss 65495,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0",
            ),
            (
                &[99, 4, 0xab, 0xcd, 1, 1, 0, 0],
                a,
                ", options [unknown-99 0xabcd,nop,nop,eol], length 0",
            ),
            (
                &[13, 6, 0, 0, 0, 9, 0, 0],
                a,
                ", options [ 9,eol], length 0",
            ),
            (
                &[30, 8, 0x20, 0x01, 0, 0, 0, 77],
                a,
                ", options [mptcp 8 dss ack 77], length 0",
            ),
            (
                &[30, 12, 0x00, 0x81, 0, 1, 2, 3, 4, 5, 6, 7],
                a,
                ", options [mptcp 12 capable[bad opt]",
            ),
            (
                &[30, 5, 0x40, 3, 4, 0, 0, 0],
                a,
                ", options [mptcp 5 rem-addr id 3 4,eol], length 0",
            ),
            (
                &[34, 2, 0, 0],
                a,
                ", options [tfo  cookiereq,eol], length 0",
            ),
            (&[254, 4, 0x12, 0x34], a, ", options [exp-1234], length 0"),
            (&[254, 3, 1, 0], a, ", options [exp[bad opt]"),
            (
                &[5, 10, 0, 0, 3, 0xe8, 0, 0, 3, 0xf0, 0, 0],
                a,
                ", options [sack 1 {1000:1008},eol], length 0",
            ),
            (
                &[5, 7, 1, 2, 3, 4, 5, 0],
                a,
                ", options [sack invalid sack,eol], length 0",
            ),
            (&[2, 3, 5, 1], a, ", options [mss 1281[len 3]], length 0"),
            (&[2, 1, 0, 0], a, ", options [[bad opt]"),
            (&[4, 2, 4, 3], a, ", options [sackOK,[bad opt]]"),
            (
                &[2, 5, 1, 2, 3, 1, 0, 0],
                a,
                ", options [mss 258[len 5],[bad opt]]",
            ),
            (
                &[28, 4, 0x01, 0x03],
                a,
                ", options [uto 0x103 7740], length 0",
            ),
            (
                &[29, 3, 1, 0],
                a,
                ", options [tcp-ao (invalid),eol], length 0",
            ),
            (
                &[20, 4, 0xab, 7],
                a,
                ", options [scps cap ab id 7], length 0",
            ),
        ];
        for (b, flags, want) in cases {
            assert_eq!(&opts(b, *flags), want, "{b:?}");
        }
    }

    #[test]
    fn never_panics_on_any_short_input() {
        for kind in 0..=255u8 {
            for len in 0..=12u8 {
                for tail in 0..12usize {
                    let mut b = vec![kind, len];
                    b.extend((0..tail).map(|i| i as u8));
                    for flags in [0, fl::SYN, fl::ACK, fl::SYN | fl::ACK] {
                        let _ = opts(&b, flags);
                        let _ = opts(&b[..1], flags);
                    }
                }
            }
        }
    }
}
