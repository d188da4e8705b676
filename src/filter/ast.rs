//! The parsed form of a filter expression: what the user wrote, before it
//! is laid onto a link type's byte offsets (see [`super::lower`]).

use std::net::IpAddr;

/// A boolean filter expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Must not match.
    Not(Box<Expr>),
    /// Both must match (evaluated left first).
    And(Box<Expr>, Box<Expr>),
    /// Either must match (evaluated left first).
    Or(Box<Expr>, Box<Expr>),
    /// A primitive such as `tcp` or `src net 10.0.0.0/8`.
    Prim(Prim),
    /// A comparison of two arithmetic expressions, `tcp[13] & 2 != 0`.
    Rel(Arith, Rel, Arith),
}

/// A primitive and the number of `vlan` primitives before it in the
/// expression (each one moves the network layer 4 bytes further, as in
/// libpcap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prim {
    /// What the primitive tests.
    pub kind: PrimKind,
    /// VLAN tags assumed in front of the network layer.
    pub vlan: u8,
}

/// A protocol name as a qualifier or before `[`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    /// The link layer (`ether`, `link`).
    Ether,
    /// IPv4.
    Ip,
    /// IPv6.
    Ip6,
    /// ARP.
    Arp,
    /// Reverse ARP.
    Rarp,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
    /// ICMP (IPv4).
    Icmp,
    /// ICMPv6.
    Icmp6,
    /// IGMP.
    Igmp,
}

impl Proto {
    /// The keyword, as written in a filter.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Ether => "ether",
            Proto::Ip => "ip",
            Proto::Ip6 => "ip6",
            Proto::Arp => "arp",
            Proto::Rarp => "rarp",
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
            Proto::Icmp => "icmp",
            Proto::Icmp6 => "icmp6",
            Proto::Igmp => "igmp",
        }
    }

    /// From a keyword (lower case).
    pub fn from_word(w: &str) -> Option<Proto> {
        Some(match w {
            "ether" | "link" => Proto::Ether,
            "ip" => Proto::Ip,
            "ip6" => Proto::Ip6,
            "arp" => Proto::Arp,
            "rarp" => Proto::Rarp,
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            "sctp" => Proto::Sctp,
            "icmp" => Proto::Icmp,
            "icmp6" => Proto::Icmp6,
            "igmp" => Proto::Igmp,
            _ => return None,
        })
    }

    /// The IP protocol number of a transport protocol.
    pub fn ip_proto(self) -> Option<u8> {
        Some(match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
            Proto::Sctp => 132,
            Proto::Icmp => 1,
            Proto::Icmp6 => 58,
            Proto::Igmp => 2,
            _ => return None,
        })
    }
}

/// Which end of a packet an address or port primitive looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Source or destination (the default, also `src or dst`).
    Any,
    /// Source only.
    Src,
    /// Destination only.
    Dst,
    /// Both ends (`src and dst`).
    Both,
}

/// Where `broadcast` / `multicast` look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Link-layer destination address.
    Ether,
    /// IPv4 destination address.
    Ip,
    /// IPv6 destination address.
    Ip6,
}

/// What a primitive tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrimKind {
    /// A protocol (`tcp`, `ip6`, `arp`...).
    Proto(Proto),
    /// `[ip|ip6|arp|rarp] [src|dst] host ADDR`.
    Host(Option<Proto>, Dir, IpAddr),
    /// `[ip|ip6|arp|rarp] [src|dst] net ADDR/LEN` or `... mask M`: the
    /// address with the mask applied, and the mask.
    Net(Option<Proto>, Dir, IpAddr, IpAddr),
    /// `ether [src|dst] host MAC`.
    EtherHost(Dir, [u8; 6]),
    /// `[tcp|udp|sctp] [src|dst] port N` (`lo == hi`) or `portrange LO-HI`.
    Port(Option<Proto>, Dir, u16, u16),
    /// `ip proto N`.
    IpProto(u8),
    /// `ip6 proto N` (also behind an IPv6 fragment header).
    Ip6Proto(u8),
    /// `proto N`: IPv4 or IPv6.
    AnyProto(u8),
    /// `ether proto N`.
    EtherProto(u16),
    /// `less N`: length on the wire at most N.
    Less(u32),
    /// `greater N`: length on the wire at least N.
    Greater(u32),
    /// `vlan [ID]`.
    Vlan(Option<u16>),
    /// `[ether|ip] broadcast`.
    Broadcast(Layer),
    /// `[ether|ip|ip6] multicast`.
    Multicast(Layer),
    /// `inbound` (true) or `outbound` (false), on cooked captures.
    Inbound(bool),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rel {
    /// `=`, `==`
    Eq,
    /// `!=`, `<>`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

/// An arithmetic operator (unsigned 32-bit, wrapping, as in BPF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `&`
    And,
    /// `|`
    Or,
    /// `^`
    Xor,
    /// `<<`
    Lsh,
    /// `>>`
    Rsh,
}

/// An arithmetic expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arith {
    /// A number or named constant.
    Num(u32),
    /// `len`: the length of the packet on the wire.
    Len,
    /// `proto[off:size]`, big-endian; `vlan` as in [`Prim::vlan`].
    Load {
        /// Which header the offset counts from.
        proto: Proto,
        /// Offset inside that header.
        off: Box<Arith>,
        /// 1, 2 or 4 bytes.
        size: u8,
        /// VLAN tags assumed in front of the network layer.
        vlan: u8,
    },
    /// A binary operation.
    Bin(Op, Box<Arith>, Box<Arith>),
    /// Unary minus.
    Neg(Box<Arith>),
}
