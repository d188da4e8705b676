//! Lays a parsed filter onto one link type's byte offsets, as libpcap's
//! code generator does: the result ([`Cond`]) only compares bytes of the
//! frame and its length, so the user-space evaluator ([`super::eval`]) and
//! the BPF compiler ([`super::bpf`]) read the same meaning from it.
//!
//! Where a primitive makes no sense on a link type (an Ethernet address on
//! a cooked capture), lowering fails with the error libpcap gives.

use std::net::IpAddr;

use super::ast::{Arith, Dir, Expr, Layer, Op, Prim, PrimKind, Proto, Rel};
use crate::wire::packet::LinkType;

/// A condition over the bytes of one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// Always.
    True,
    /// Never.
    False,
    /// Negation.
    Not(Box<Cond>),
    /// Left, then right if left held.
    And(Box<Cond>, Box<Cond>),
    /// Left, then right if left failed.
    Or(Box<Cond>, Box<Cond>),
    /// A comparison (unsigned 32-bit).
    Cmp(Val, Jmp, Val),
}

/// BPF's comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jmp {
    /// `a == b`
    Eq,
    /// `a > b`
    Gt,
    /// `a >= b`
    Ge,
    /// `a & b != 0`
    Set,
}

/// Where a load's offset counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The start of the frame.
    Frame,
    /// Four times the low nibble of the byte at this offset (the IPv4
    /// header length: BPF's `ldxb 4*([k]&0xf)`).
    Ipv4HeaderLen(u32),
}

/// A 32-bit value computed from a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// A constant.
    K(u32),
    /// The length on the wire.
    Len,
    /// A big-endian load of `size` bytes at `base + off + k`; a load past
    /// the captured bytes rejects the whole packet (as BPF does).
    Load {
        /// Base of the offset.
        base: Base,
        /// A computed part of the offset, if any.
        off: Option<Box<Val>>,
        /// The constant part of the offset.
        k: u32,
        /// 1, 2 or 4.
        size: u8,
    },
    /// A binary operation (wrapping; division by zero rejects the packet).
    Bin(Op, Box<Val>, Box<Val>),
    /// Negation (wrapping).
    Neg(Box<Val>),
}

/// A primitive that the link type cannot carry, with libpcap's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowerError(pub String);

type R<T> = Result<T, LowerError>;

fn and(a: Cond, b: Cond) -> Cond {
    match (&a, &b) {
        (Cond::True, _) => b,
        (_, Cond::True) => a,
        _ => Cond::And(Box::new(a), Box::new(b)),
    }
}

fn or(a: Cond, b: Cond) -> Cond {
    match (&a, &b) {
        (Cond::False, _) => b,
        (_, Cond::False) => a,
        _ => Cond::Or(Box::new(a), Box::new(b)),
    }
}

fn not(a: Cond) -> Cond {
    match a {
        Cond::Not(x) => *x,
        Cond::True => Cond::False,
        Cond::False => Cond::True,
        x => Cond::Not(Box::new(x)),
    }
}

fn ld(k: u32, size: u8) -> Val {
    Val::Load {
        base: Base::Frame,
        off: None,
        k,
        size,
    }
}

fn eq(v: Val, k: u32) -> Cond {
    Cond::Cmp(v, Jmp::Eq, Val::K(k))
}

fn masked_eq(v: Val, mask: u32, k: u32) -> Cond {
    if mask == u32::MAX {
        eq(v, k)
    } else {
        eq(Val::Bin(Op::And, Box::new(v), Box::new(Val::K(mask))), k)
    }
}

fn dir(d: Dir, src: Cond, dst: Cond) -> Cond {
    match d {
        Dir::Src => src,
        Dir::Dst => dst,
        Dir::Any => or(src, dst),
        Dir::Both => and(src, dst),
    }
}

/// Lowers for one link type.
struct Link {
    lt: LinkType,
}

impl Link {
    fn name(&self) -> &'static str {
        match self.lt {
            LinkType::Ethernet => "Ethernet",
            LinkType::RawIp => "Raw IP",
            LinkType::LinuxSll => "Linux cooked v1",
            LinkType::LinuxSll2 => "Linux cooked v2",
            LinkType::Null => "BSD loopback",
        }
    }

    fn ethernet(&self, what: &str) -> R<()> {
        if self.lt == LinkType::Ethernet {
            Ok(())
        } else {
            Err(LowerError(format!(
                "{what} is not supported on {} captures (only on Ethernet)",
                self.name()
            )))
        }
    }

    /// Offset of the network layer.
    fn net(&self, vlan: u8) -> u32 {
        match self.lt {
            LinkType::Ethernet => 14 + 4 * u32::from(vlan),
            LinkType::RawIp => 0,
            LinkType::LinuxSll => 16,
            LinkType::LinuxSll2 => 20,
            LinkType::Null => 4,
        }
    }

    /// The frame carries EtherType `ty`.
    fn ethertype(&self, vlan: u8, ty: u16) -> Cond {
        let ty32 = u32::from(ty);
        match self.lt {
            LinkType::Ethernet => eq(ld(12 + 4 * u32::from(vlan), 2), ty32),
            LinkType::LinuxSll => eq(ld(14, 2), ty32),
            LinkType::LinuxSll2 => eq(ld(0, 2), ty32),
            LinkType::RawIp => match ty {
                0x0800 => masked_eq(ld(0, 1), 0xf0, 0x40),
                0x86dd => masked_eq(ld(0, 1), 0xf0, 0x60),
                _ => Cond::False,
            },
            // The address family in the capturing host's order, as libpcap
            // compares it reading a file on a little-endian host: AF_INET
            // is 2 everywhere, AF_INET6 is 24, 28 or 30 depending on the BSD.
            LinkType::Null => match ty {
                0x0800 => eq(ld(0, 4), 0x0200_0000),
                0x86dd => or(
                    or(eq(ld(0, 4), 0x1800_0000), eq(ld(0, 4), 0x1c00_0000)),
                    eq(ld(0, 4), 0x1e00_0000),
                ),
                _ => Cond::False,
            },
        }
    }

    fn ip(&self, v: u8) -> Cond {
        self.ethertype(v, 0x0800)
    }

    fn ip6(&self, v: u8) -> Cond {
        self.ethertype(v, 0x86dd)
    }

    /// IPv4 with protocol `p`.
    fn ip_proto(&self, v: u8, p: u8) -> Cond {
        and(self.ip(v), eq(ld(self.net(v) + 9, 1), p.into()))
    }

    /// IPv6 with next header `p`, directly or behind a fragment header.
    fn ip6_proto(&self, v: u8, p: u8) -> Cond {
        let n = self.net(v);
        let direct = eq(ld(n + 6, 1), p.into());
        let frag = and(eq(ld(n + 6, 1), 44), eq(ld(n + 40, 1), p.into()));
        and(self.ip6(v), or(direct, frag))
    }

    /// Not a later IPv4 fragment.
    fn first_fragment(&self, v: u8) -> Cond {
        not(Cond::Cmp(ld(self.net(v) + 6, 2), Jmp::Set, Val::K(0x1fff)))
    }

    fn prim(&self, p: &Prim) -> R<Cond> {
        let v = p.vlan;
        let n = self.net(v);
        Ok(match &p.kind {
            PrimKind::Proto(pr) => match pr {
                Proto::Ether => Cond::True,
                Proto::Ip => self.ip(v),
                Proto::Ip6 => self.ip6(v),
                Proto::Arp => self.ethertype(v, 0x0806),
                Proto::Rarp => self.ethertype(v, 0x8035),
                Proto::Tcp | Proto::Udp | Proto::Sctp => {
                    let t = pr.ip_proto().unwrap_or(0);
                    or(self.ip_proto(v, t), self.ip6_proto(v, t))
                }
                Proto::Icmp | Proto::Igmp => self.ip_proto(v, pr.ip_proto().unwrap_or(0)),
                Proto::Icmp6 => self.ip6_proto(v, 58),
            },
            PrimKind::IpProto(t) => self.ip_proto(v, *t),
            PrimKind::Ip6Proto(t) => self.ip6_proto(v, *t),
            PrimKind::AnyProto(t) => or(self.ip_proto(v, *t), self.ip6_proto(v, *t)),
            PrimKind::EtherProto(t) => self.ethertype(v, *t),
            PrimKind::Host(pr, d, a) | PrimKind::Net(pr, d, a, _) => {
                let mask = match &p.kind {
                    PrimKind::Net(_, _, _, m) => Some(*m),
                    _ => None,
                };
                self.addr(v, *pr, *d, *a, mask)?
            }
            PrimKind::EtherHost(d, mac) => {
                self.ethernet("'ether host'")?;
                let at = |o: u32| {
                    and(
                        eq(
                            ld(o + 2, 4),
                            u32::from_be_bytes([mac[2], mac[3], mac[4], mac[5]]),
                        ),
                        eq(ld(o, 2), u32::from(u16::from_be_bytes([mac[0], mac[1]]))),
                    )
                };
                dir(*d, at(6), at(0))
            }
            PrimKind::Port(pr, d, lo, hi) => {
                let protos: Vec<u8> = match pr {
                    Some(x) => vec![x.ip_proto().unwrap_or(0)],
                    None => vec![132, 6, 17],
                };
                let any_of = |at: u32| {
                    protos
                        .iter()
                        .fold(Cond::False, |c, t| or(c, eq(ld(at, 1), u32::from(*t))))
                };
                let port = |v: Val| {
                    if lo == hi {
                        eq(v, u32::from(*lo))
                    } else {
                        and(
                            Cond::Cmp(v.clone(), Jmp::Ge, Val::K(u32::from(*lo))),
                            not(Cond::Cmp(v, Jmp::Gt, Val::K(u32::from(*hi)))),
                        )
                    }
                };
                let v6 = and(
                    self.ip6(v),
                    and(
                        any_of(n + 6),
                        dir(*d, port(ld(n + 40, 2)), port(ld(n + 42, 2))),
                    ),
                );
                let tl = |k: u32| Val::Load {
                    base: Base::Ipv4HeaderLen(n),
                    off: None,
                    k: n + k,
                    size: 2,
                };
                let v4 = and(
                    self.ip(v),
                    and(
                        any_of(n + 9),
                        and(self.first_fragment(v), dir(*d, port(tl(0)), port(tl(2)))),
                    ),
                );
                or(v6, v4)
            }
            PrimKind::Less(x) => not(Cond::Cmp(Val::Len, Jmp::Gt, Val::K(*x))),
            PrimKind::Greater(x) => Cond::Cmp(Val::Len, Jmp::Ge, Val::K(*x)),
            PrimKind::Vlan(id) => {
                if self.lt != LinkType::Ethernet {
                    return Err(LowerError(format!("no VLAN support for {}", self.name())));
                }
                let t = 12 + 4 * u32::from(v);
                let tagged = or(
                    or(eq(ld(t, 2), 0x8100), eq(ld(t, 2), 0x88a8)),
                    eq(ld(t, 2), 0x9100),
                );
                match id {
                    Some(id) => and(tagged, masked_eq(ld(t + 2, 2), 0x0fff, u32::from(*id))),
                    None => tagged,
                }
            }
            PrimKind::Broadcast(Layer::Ether) => {
                self.ethernet("'broadcast'")?;
                and(eq(ld(2, 4), u32::MAX), eq(ld(0, 2), 0xffff))
            }
            PrimKind::Multicast(Layer::Ether) => {
                self.ethernet("'multicast'")?;
                Cond::Cmp(ld(0, 1), Jmp::Set, Val::K(1))
            }
            PrimKind::Broadcast(Layer::Ip) => {
                // The netmask is unknown (as for tcpdump -r): all zeros or all ones.
                and(
                    self.ip(v),
                    or(eq(ld(n + 16, 4), 0), eq(ld(n + 16, 4), u32::MAX)),
                )
            }
            PrimKind::Broadcast(Layer::Ip6) => {
                return Err(LowerError("IPv6 has no broadcast".into()))
            }
            PrimKind::Multicast(Layer::Ip) => {
                and(self.ip(v), Cond::Cmp(ld(n + 16, 1), Jmp::Ge, Val::K(224)))
            }
            PrimKind::Multicast(Layer::Ip6) => and(self.ip6(v), eq(ld(n + 24, 1), 0xff)),
            PrimKind::Inbound(inbound) => {
                let outgoing = match self.lt {
                    LinkType::LinuxSll => eq(ld(0, 2), 4),
                    LinkType::LinuxSll2 => eq(ld(10, 1), 4),
                    _ => {
                        return Err(LowerError(format!(
                            "inbound/outbound is not supported on {} captures (only on Linux cooked ones, -i any)",
                            self.name()
                        )))
                    }
                };
                if *inbound {
                    not(outgoing)
                } else {
                    outgoing
                }
            }
        })
    }

    /// Host or net on IPv4 (and ARP/RARP) or IPv6.
    fn addr(&self, v: u8, pr: Option<Proto>, d: Dir, a: IpAddr, mask: Option<IpAddr>) -> R<Cond> {
        let n = self.net(v);
        Ok(match a {
            IpAddr::V4(a) => {
                let m = match mask {
                    Some(IpAddr::V4(m)) => u32::from(m),
                    _ => u32::MAX,
                };
                let a = u32::from(a);
                let at = |o: u32| masked_eq(ld(o, 4), m, a);
                let ip = and(self.ip(v), dir(d, at(n + 12), at(n + 16)));
                let arp_like = |c: Cond| and(c, dir(d, at(n + 14), at(n + 24)));
                let arp = self.ethertype(v, 0x0806);
                let rarp = self.ethertype(v, 0x8035);
                match pr {
                    Some(Proto::Ip) => ip,
                    Some(Proto::Arp) => arp_like(arp),
                    Some(Proto::Rarp) => arp_like(rarp),
                    _ => or(ip, arp_like(or(arp, rarp))),
                }
            }
            IpAddr::V6(a) => {
                let m = match mask {
                    Some(IpAddr::V6(m)) => m.octets(),
                    _ => [0xff; 16],
                };
                let a = a.octets();
                let at = |o: u32| {
                    (0..4).fold(Cond::True, |c, i| {
                        let w = |b: &[u8; 16]| {
                            u32::from_be_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
                        };
                        let mw = w(&m);
                        if mw == 0 {
                            c
                        } else {
                            and(c, masked_eq(ld(o + 4 * i as u32, 4), mw, w(&a)))
                        }
                    })
                };
                and(self.ip6(v), dir(d, at(n + 8), at(n + 24)))
            }
        })
    }

    /// A value and the protocol checks that must hold before it is read.
    fn arith(&self, a: &Arith) -> R<(Cond, Val)> {
        Ok(match a {
            Arith::Num(k) => (Cond::True, Val::K(*k)),
            Arith::Len => (Cond::True, Val::Len),
            Arith::Neg(x) => {
                let (g, v) = self.arith(x)?;
                (g, fold(Val::Neg(Box::new(v))))
            }
            Arith::Bin(op, x, y) => {
                // As libpcap's gen_arth: only the left operand's protocol
                // check is kept (`ip[2:2] - tcp[12]` reads byte 12 past
                // any IPv4 header, TCP or not). tcpdump parity over taste.
                let (g1, v1) = self.arith(x)?;
                let (_, v2) = self.arith(y)?;
                (g1, fold(Val::Bin(*op, Box::new(v1), Box::new(v2))))
            }
            Arith::Load {
                proto,
                off,
                size,
                vlan,
            } => {
                let (g, off) = self.arith(off)?;
                let v = *vlan;
                let n = self.net(v);
                let (check, base, k) = match proto {
                    Proto::Ether => (Cond::True, Base::Frame, 0),
                    Proto::Ip => (self.ip(v), Base::Frame, n),
                    Proto::Ip6 => (self.ip6(v), Base::Frame, n),
                    Proto::Arp => (self.ethertype(v, 0x0806), Base::Frame, n),
                    Proto::Rarp => (self.ethertype(v, 0x8035), Base::Frame, n),
                    Proto::Icmp6 => (and(self.ip6(v), eq(ld(n + 6, 1), 58)), Base::Frame, n + 40),
                    Proto::Tcp | Proto::Udp | Proto::Sctp | Proto::Icmp | Proto::Igmp => (
                        and(
                            self.ip_proto(v, proto.ip_proto().unwrap_or(0)),
                            self.first_fragment(v),
                        ),
                        Base::Ipv4HeaderLen(n),
                        n,
                    ),
                };
                let (off, k) = match off {
                    Val::K(c) => (None, k.wrapping_add(c)),
                    other => (Some(Box::new(other)), k),
                };
                (
                    and(g, check),
                    Val::Load {
                        base,
                        off,
                        k,
                        size: *size,
                    },
                )
            }
        })
    }

    fn expr(&self, e: &Expr) -> R<Cond> {
        Ok(match e {
            Expr::Not(x) => not(self.expr(x)?),
            Expr::And(a, b) => and(self.expr(a)?, self.expr(b)?),
            Expr::Or(a, b) => or(self.expr(a)?, self.expr(b)?),
            Expr::Prim(p) => self.prim(p)?,
            Expr::Rel(a, r, b) => {
                let (g1, x) = self.arith(a)?;
                let (g2, y) = self.arith(b)?;
                and(and(g1, g2), relation(x, *r, y))
            }
        })
    }
}

/// `x REL y` with BPF's jumps; `x & m == 0` becomes a `jset`, as libpcap's
/// optimiser makes it.
fn relation(x: Val, r: Rel, y: Val) -> Cond {
    if let (Val::K(a), Val::K(b)) = (&x, &y) {
        let t = match r {
            Rel::Eq => a == b,
            Rel::Ne => a != b,
            Rel::Gt => a > b,
            Rel::Ge => a >= b,
            Rel::Lt => a < b,
            Rel::Le => a <= b,
        };
        return if t { Cond::True } else { Cond::False };
    }
    let jset = |x: &Val, y: &Val| match (x, y) {
        (Val::Bin(Op::And, a, m), Val::K(0)) if matches!(**m, Val::K(_)) => {
            Some(Cond::Cmp((**a).clone(), Jmp::Set, (**m).clone()))
        }
        _ => None,
    };
    match r {
        Rel::Eq => jset(&x, &y).map_or_else(|| Cond::Cmp(x, Jmp::Eq, y), not),
        Rel::Ne => jset(&x, &y).unwrap_or_else(|| not(Cond::Cmp(x, Jmp::Eq, y))),
        Rel::Gt => Cond::Cmp(x, Jmp::Gt, y),
        Rel::Ge => Cond::Cmp(x, Jmp::Ge, y),
        Rel::Lt => not(Cond::Cmp(x, Jmp::Ge, y)),
        Rel::Le => not(Cond::Cmp(x, Jmp::Gt, y)),
    }
}

/// Folds constant arithmetic (the parser has refused constant division by
/// zero and shifts of 32 or more).
fn fold(v: Val) -> Val {
    match v {
        Val::Neg(x) => match *x {
            Val::K(a) => Val::K(a.wrapping_neg()),
            x => Val::Neg(Box::new(x)),
        },
        Val::Bin(op, x, y) => match (*x, *y) {
            (Val::K(a), Val::K(b)) => match super::eval::alu(op, a, b) {
                Some(r) => Val::K(r),
                None => Val::Bin(op, Box::new(Val::K(a)), Box::new(Val::K(b))),
            },
            (x, y) => Val::Bin(op, Box::new(x), Box::new(y)),
        },
        v => v,
    }
}

/// The condition `e` means on frames of link type `lt`.
pub fn lower(e: &Expr, lt: LinkType) -> Result<Cond, LowerError> {
    Link { lt }.expr(e)
}
