//! ICMP and ICMPv6 in tcpdump's words, after `IP a > b: `:
//! `ICMP echo request, id 7, seq 1, length 64`,
//! `ICMP 10.0.0.9 udp port 9 unreachable, length 40`,
//! `ICMP6, neighbor solicitation, who has fe80::1, length 24`.
//! A message too short for what its type holds ends as tcpdump ends it
//! (` [|icmp]`). Never panics; reads only the captured bytes.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::wire::packet::{ipproto, Decoded, IcmpInfo};

/// The captured bytes of the ICMP message (header and body).
fn message<'a>(d: &Decoded<'a>, i: &IcmpInfo) -> &'a [u8] {
    d.frame.get(i.offset..).unwrap_or(&[])
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn v4(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    be32(b, at).map(Ipv4Addr::from)
}

fn v6(b: &[u8], at: usize) -> Option<Ipv6Addr> {
    let a: [u8; 16] = b.get(at..at + 16)?.try_into().ok()?;
    Some(Ipv6Addr::from(a))
}

/// Write tcpdump's text for an ICMP (IPv4) message.
pub fn write_icmp4(out: &mut String, d: &Decoded<'_>, i: &IcmpInfo) {
    let m = message(d, i);
    let start = out.len();
    out.push_str("ICMP ");
    if icmp4_text(out, m).is_none() {
        out.truncate(start);
        out.push_str(" [|icmp]");
        return;
    }
    let _ = write!(out, ", length {}", i.len);
}

/// The words between `ICMP ` and `, length`; None when the bytes run out.
fn icmp4_text(out: &mut String, m: &[u8]) -> Option<()> {
    let (t, code) = (*m.first()?, *m.get(1)?);
    // The IPv4 header the error message quotes, at byte 8.
    let inner = 8;
    let inner_dst = || v4(m, inner + 16);
    match t {
        0 | 8 => {
            let _ = write!(
                out,
                "echo {}, id {}, seq {}",
                if t == 8 { "request" } else { "reply" },
                be16(m, 4)?,
                be16(m, 6)?
            );
        }
        3 => {
            let dst = inner_dst()?;
            match code {
                0 => {
                    let _ = write!(out, "net {dst} unreachable");
                }
                1 => {
                    let _ = write!(out, "host {dst} unreachable");
                }
                2 => {
                    let _ = write!(out, "{dst} protocol {} unreachable", m.get(inner + 9)?);
                }
                3 => {
                    let proto = *m.get(inner + 9)?;
                    let ihl = usize::from(m.get(inner)? & 0xf) * 4;
                    let dport = be16(m, inner + ihl + 2)?;
                    match proto {
                        ipproto::TCP => {
                            let _ = write!(out, "{dst} tcp port {dport} unreachable");
                        }
                        ipproto::UDP => {
                            let _ = write!(out, "{dst} udp port {dport} unreachable");
                        }
                        p => {
                            let _ = write!(out, "{dst} protocol {p} port {dport} unreachable");
                        }
                    }
                }
                4 => match be16(m, 6)? {
                    0 => {
                        let _ = write!(out, "{dst} unreachable - need to frag");
                    }
                    mtu => {
                        let _ = write!(out, "{dst} unreachable - need to frag (mtu {mtu})");
                    }
                },
                _ => {
                    let (what, why) = match code {
                        5 => ("", "source route failed"),
                        6 => ("net ", "unknown"),
                        7 => ("host ", "unknown"),
                        8 => ("", "source host isolated"),
                        9 => ("net ", "admin prohibited"),
                        10 => ("host ", "admin prohibited"),
                        11 => ("net ", "tos prohibited"),
                        12 => ("host ", "tos prohibited"),
                        13 => ("host ", "admin prohibited filter"),
                        14 => ("host ", "host precedence violation"),
                        15 => ("host ", "precedence cutoff"),
                        _ => {
                            let _ = write!(out, "{dst} unreachable - #{code}");
                            return Some(());
                        }
                    };
                    let _ = write!(out, "{what}{dst} unreachable - {why}");
                }
            }
        }
        5 => {
            let dst = inner_dst()?;
            let gw = v4(m, 4)?;
            let _ = match code {
                0 => write!(out, "redirect {dst} to net {gw}"),
                1 => write!(out, "redirect {dst} to host {gw}"),
                2 => write!(out, "redirect-tos {dst} to net {gw}"),
                3 => write!(out, "redirect-tos {dst} to host {gw}"),
                c => write!(out, "redirect-#{c} {dst} to {gw}"),
            };
        }
        11 => {
            inner_dst()?;
            let _ = match code {
                0 => write!(out, "time exceeded in-transit"),
                1 => write!(out, "ip reassembly time exceeded"),
                c => write!(out, "time exceeded-#{c}"),
            };
        }
        12 => {
            let _ = if code != 0 {
                write!(out, "parameter problem - code {code}")
            } else {
                write!(out, "parameter problem - octet {}", m.get(4)?)
            };
        }
        13 => {
            let _ = write!(
                out,
                "time stamp query id {} seq {}",
                be16(m, 4)?,
                be16(m, 6)?
            );
        }
        14 => {
            let ms = |v: u32| {
                let (msec, s) = (v % 1000, v / 1000);
                format!("{:02}:{:02}:{:02}.{msec:03}", s / 3600, s / 60 % 60, s % 60)
            };
            let _ = write!(
                out,
                "time stamp reply id {} seq {}: org {}, recv {}, xmit {}",
                be16(m, 4)?,
                be16(m, 6)?,
                ms(be32(m, 8)?),
                ms(be32(m, 12)?),
                ms(be32(m, 16)?)
            );
        }
        18 => {
            let _ = write!(out, "address mask is 0x{:08x}", be32(m, 8)?);
        }
        4 => out.push_str("source quench"),
        10 => out.push_str("router solicitation"),
        15 => out.push_str("information request"),
        16 => out.push_str("information reply"),
        17 => out.push_str("address mask request"),
        9 => router_advert(out, m)?,
        t => {
            let _ = write!(out, "type-#{t}");
        }
    }
    Some(())
}

/// `router advertisement lifetime 30:00 1: {10.0.0.1 0}` (RFC 1256).
fn router_advert(out: &mut String, m: &[u8]) -> Option<()> {
    let (num, size, life) = (*m.get(4)?, *m.get(5)?, be16(m, 6)?);
    out.push_str("router advertisement lifetime ");
    let _ = if life < 60 {
        write!(out, "{life}")
    } else if life < 3600 {
        write!(out, "{}:{:02}", life / 60, life % 60)
    } else {
        write!(
            out,
            "{}:{:02}:{:02}",
            life / 3600,
            life % 3600 / 60,
            life % 60
        )
    };
    let _ = write!(out, " {num}:");
    if size != 2 {
        let _ = write!(out, " [size {size}]");
        return Some(());
    }
    for k in 0..usize::from(num) {
        let at = 8 + k * 8;
        let _ = write!(out, " {{{} {}}}", v4(m, at)?, be32(m, at + 4)?);
    }
    Some(())
}

/// Write tcpdump's text for an ICMPv6 message; false when socklab does not
/// print this type as tcpdump does (the caller writes its own words).
pub fn write_icmp6(out: &mut String, d: &Decoded<'_>, i: &IcmpInfo) -> bool {
    let m = message(d, i);
    let start = out.len();
    out.push_str("ICMP6, ");
    match icmp6_text(out, m) {
        Some(true) => {
            let _ = write!(out, ", length {}", i.len);
            true
        }
        Some(false) => {
            out.truncate(start);
            false
        }
        None => {
            out.push_str(" [|icmp6]");
            true
        }
    }
}

/// None: the bytes ran out; Some(false): a type printed otherwise.
fn icmp6_text(out: &mut String, m: &[u8]) -> Option<bool> {
    let (t, code) = (*m.first()?, *m.get(1)?);
    match t {
        128 | 129 => {
            let _ = write!(
                out,
                "echo {}, id {}, seq {}",
                if t == 128 { "request" } else { "reply" },
                be16(m, 4)?,
                be16(m, 6)?
            );
        }
        1 => {
            out.push_str("destination unreachable, ");
            // The quoted IPv6 header starts at byte 8.
            match code {
                0..=3 => {
                    out.push_str(match code {
                        0 => "unreachable route",
                        // tcpdump's table has the extra space.
                        1 => " unreachable prohibited",
                        2 => "beyond scope",
                        _ => "unreachable address",
                    });
                    let dst = v6(m, 8 + 24)?;
                    let _ = write!(out, " {dst}");
                    if code == 2 {
                        let _ = write!(out, ", source address {}", v6(m, 8 + 8)?);
                    }
                }
                4 => {
                    out.push_str("unreachable port");
                    let dst = v6(m, 8 + 24)?;
                    let next = *m.get(8 + 6)?;
                    let dport = be16(m, 8 + 40 + 2)?;
                    let _ = match next {
                        ipproto::TCP => write!(out, ", {dst} tcp port {dport}"),
                        ipproto::UDP => write!(out, ", {dst} udp port {dport}"),
                        _ => return Some(false),
                    };
                }
                _ => return Some(false),
            }
        }
        2 => {
            let _ = write!(out, "packet too big, mtu {}", be32(m, 4)?);
        }
        3 => match code {
            0 => {
                out.push_str("time exceeded in-transit");
                let _ = write!(out, " for {}", v6(m, 8 + 24)?);
            }
            1 => out.push_str("time exceeded in-transit (reassembly)"),
            _ => return Some(false),
        },
        4 => {
            if code > 2 {
                return Some(false);
            }
            out.push_str("parameter problem");
            v6(m, 8 + 24)?;
            out.push_str(match code {
                0 => ", erroneous",
                1 => ", next header",
                _ => ", option",
            });
            let _ = write!(out, " - octet {}", be32(m, 4)?);
        }
        133 => out.push_str("router solicitation"),
        134 => out.push_str("router advertisement"),
        137 => {
            let _ = write!(out, "redirect, {} to {}", v6(m, 8)?, v6(m, 24)?);
        }
        135 => {
            let _ = write!(out, "neighbor solicitation, who has {}", v6(m, 8)?);
        }
        136 => {
            let _ = write!(out, "neighbor advertisement, tgt is {}", v6(m, 8)?);
        }
        // Multicast listener discovery (MLDv1: 24 bytes; a longer query is v2).
        130..=132 => {
            out.push_str(match t {
                130 => "multicast listener query",
                131 => "multicast listener report",
                _ => "multicast listener done",
            });
            if t == 130 && m.len() != 24 {
                return Some(false);
            }
            if let (Some(delay), Some(group)) = (be16(m, 4), v6(m, 8)) {
                // tcpdump's words follow the name with no space between.
                let _ = write!(out, "max resp delay: {delay} addr: {group}");
            }
        }
        143 => {
            let _ = write!(
                out,
                "multicast listener report v2, {} group record(s)",
                be16(m, 6)?
            );
        }
        // Types tcpdump names and prints no more of on the line.
        141 | 142 | 200 | 201 => out.push_str(match t {
            141 => "inverse neighbor solicitation",
            142 => "inverse neighbor advertisement",
            200 => "mtrace response",
            _ => "mtrace message",
        }),
        // Types tcpdump decodes further (renumbering, node information,
        // home agent and mobile prefix messages, RPL).
        138..=140 | 144..=147 | 155 => return Some(false),
        _ => {
            let _ = write!(out, "unknown icmp6 type ({t})");
        }
    }
    Some(true)
}
