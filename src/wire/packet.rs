//! Decoding a captured frame into its layers: link (Ethernet + VLAN, Linux
//! cooked SLL/SLL2, BSD NULL, raw IP), network (IPv4, IPv6 with extension
//! headers, ARP), transport (TCP, UDP, ICMPv4/v6) and the payload.
//!
//! Rules of this module:
//! - pure: no I/O, no global state; the same bytes always decode the same;
//! - never panics on any input; a layer that does not parse stops decoding
//!   and is reported in [`Decoded::malformed`] with its layer, offset and a
//!   reason a learner can read; everything before it stays decoded;
//! - allocates only for the reason text of a malformed layer;
//! - header parsing is etherparse's; the tiny SLL/SLL2/NULL link headers are
//!   read here; byte offsets of every field are named once, in [`field`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use etherparse::{
    Ethernet2HeaderSlice, Icmpv4Slice, Icmpv6Slice, Ipv4HeaderSlice, Ipv6ExtensionsSlice,
    Ipv6HeaderSlice, SingleVlanHeaderSlice, TcpHeaderSlice, UdpHeaderSlice,
};

/// How the first bytes of a frame are laid out (pcap's `LINKTYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// Ethernet II (1); also Linux `lo`, which uses a zeroed Ethernet header.
    Ethernet,
    /// No link header: the frame starts with an IPv4 or IPv6 header (101, 228, 229).
    RawIp,
    /// Linux cooked capture v1, 16-byte header (113).
    LinuxSll,
    /// Linux cooked capture v2, 20-byte header (276).
    LinuxSll2,
    /// BSD loopback: 4-byte address family in the capturing host's order (0).
    Null,
}

impl LinkType {
    /// From a pcap link-type number; `None` for one socklab does not decode.
    pub fn from_pcap(n: u32) -> Option<LinkType> {
        Some(match n {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            101 | 228 | 229 => LinkType::RawIp,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }

    /// The pcap link-type number.
    pub fn to_pcap(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::RawIp => 101,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
        }
    }

    /// Short name: `ethernet`, `raw-ip`, `linux-sll`, `linux-sll2`, `null`.
    pub fn name(self) -> &'static str {
        match self {
            LinkType::Ethernet => "ethernet",
            LinkType::RawIp => "raw-ip",
            LinkType::LinuxSll => "linux-sll",
            LinkType::LinuxSll2 => "linux-sll2",
            LinkType::Null => "null",
        }
    }
}

/// Byte ranges of header fields, relative to the start of their header.
pub mod field {
    use std::ops::Range;
    /// Ethernet II.
    pub mod eth {
        use super::Range;
        /// Destination MAC.
        pub const DST: Range<usize> = 0..6;
        /// Source MAC.
        pub const SRC: Range<usize> = 6..12;
        /// EtherType.
        pub const TYPE: Range<usize> = 12..14;
        /// Header length.
        pub const LEN: usize = 14;
    }
    /// 802.1Q VLAN tag (after the outer EtherType).
    pub mod vlan {
        use super::Range;
        /// Priority, DEI, VLAN id.
        pub const TCI: Range<usize> = 0..2;
        /// Inner EtherType.
        pub const TYPE: Range<usize> = 2..4;
        /// Tag length.
        pub const LEN: usize = 4;
    }
    /// Linux cooked capture v1.
    pub mod sll {
        use super::Range;
        /// Packet type (0 to us, 1 broadcast, 2 multicast, 3 other host, 4 outgoing).
        pub const PKTTYPE: Range<usize> = 0..2;
        /// ARPHRD_* hardware type.
        pub const HATYPE: Range<usize> = 2..4;
        /// Link-layer address length.
        pub const HALEN: Range<usize> = 4..6;
        /// Link-layer address (8 bytes, `halen` used).
        pub const ADDR: Range<usize> = 6..14;
        /// Protocol (an EtherType).
        pub const PROTO: Range<usize> = 14..16;
        /// Header length.
        pub const LEN: usize = 16;
    }
    /// Linux cooked capture v2.
    pub mod sll2 {
        use super::Range;
        /// Protocol (an EtherType).
        pub const PROTO: Range<usize> = 0..2;
        /// Interface index.
        pub const IFINDEX: Range<usize> = 4..8;
        /// ARPHRD_* hardware type.
        pub const HATYPE: Range<usize> = 8..10;
        /// Packet type.
        pub const PKTTYPE: usize = 10;
        /// Link-layer address length.
        pub const HALEN: usize = 11;
        /// Link-layer address.
        pub const ADDR: Range<usize> = 12..20;
        /// Header length.
        pub const LEN: usize = 20;
    }
    /// IPv4.
    pub mod ipv4 {
        use super::Range;
        /// Version (high nibble) and IHL (low nibble).
        pub const VER_IHL: Range<usize> = 0..1;
        /// DSCP and ECN.
        pub const TOS: Range<usize> = 1..2;
        /// Total length.
        pub const TOTAL_LEN: Range<usize> = 2..4;
        /// Identification.
        pub const ID: Range<usize> = 4..6;
        /// Flags (3 bits) and fragment offset (13 bits).
        pub const FLAGS_FRAG: Range<usize> = 6..8;
        /// Time to live.
        pub const TTL: Range<usize> = 8..9;
        /// Protocol.
        pub const PROTO: Range<usize> = 9..10;
        /// Header checksum.
        pub const CHECKSUM: Range<usize> = 10..12;
        /// Source address.
        pub const SRC: Range<usize> = 12..16;
        /// Destination address.
        pub const DST: Range<usize> = 16..20;
        /// Header length without options.
        pub const MIN_LEN: usize = 20;
    }
    /// IPv6.
    pub mod ipv6 {
        use super::Range;
        /// Version, traffic class, flow label.
        pub const VER_TC_FLOW: Range<usize> = 0..4;
        /// Payload length.
        pub const PAYLOAD_LEN: Range<usize> = 4..6;
        /// Next header.
        pub const NEXT: Range<usize> = 6..7;
        /// Hop limit.
        pub const HOP_LIMIT: Range<usize> = 7..8;
        /// Source address.
        pub const SRC: Range<usize> = 8..24;
        /// Destination address.
        pub const DST: Range<usize> = 24..40;
        /// Header length.
        pub const LEN: usize = 40;
    }
    /// TCP.
    pub mod tcp {
        use super::Range;
        /// Source port.
        pub const SRC_PORT: Range<usize> = 0..2;
        /// Destination port.
        pub const DST_PORT: Range<usize> = 2..4;
        /// Sequence number.
        pub const SEQ: Range<usize> = 4..8;
        /// Acknowledgement number.
        pub const ACK: Range<usize> = 8..12;
        /// Data offset (high nibble of byte 12) and flags.
        pub const OFF_FLAGS: Range<usize> = 12..14;
        /// Window.
        pub const WINDOW: Range<usize> = 14..16;
        /// Checksum.
        pub const CHECKSUM: Range<usize> = 16..18;
        /// Urgent pointer.
        pub const URGENT: Range<usize> = 18..20;
        /// Header length without options.
        pub const MIN_LEN: usize = 20;
    }
    /// UDP.
    pub mod udp {
        use super::Range;
        /// Source port.
        pub const SRC_PORT: Range<usize> = 0..2;
        /// Destination port.
        pub const DST_PORT: Range<usize> = 2..4;
        /// Length (header + data).
        pub const LENGTH: Range<usize> = 4..6;
        /// Checksum.
        pub const CHECKSUM: Range<usize> = 6..8;
        /// Header length.
        pub const LEN: usize = 8;
    }
    /// ICMPv4 and ICMPv6.
    pub mod icmp {
        use super::Range;
        /// Type.
        pub const TYPE: Range<usize> = 0..1;
        /// Code.
        pub const CODE: Range<usize> = 1..2;
        /// Checksum.
        pub const CHECKSUM: Range<usize> = 2..4;
        /// Rest of header (id/seq for echo, unused, MTU...).
        pub const REST: Range<usize> = 4..8;
        /// Header length.
        pub const LEN: usize = 8;
    }
}

/// TCP flag bits as in byte 13 of the header.
pub mod tcp_flags {
    /// FIN: no more data from the sender.
    pub const FIN: u8 = 0x01;
    /// SYN: synchronise sequence numbers.
    pub const SYN: u8 = 0x02;
    /// RST: reset the connection.
    pub const RST: u8 = 0x04;
    /// PSH: push.
    pub const PSH: u8 = 0x08;
    /// ACK: the acknowledgement field is valid.
    pub const ACK: u8 = 0x10;
    /// URG: the urgent pointer is valid.
    pub const URG: u8 = 0x20;
    /// ECE: ECN echo.
    pub const ECE: u8 = 0x40;
    /// CWR: congestion window reduced.
    pub const CWR: u8 = 0x80;
}

/// The link layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Nothing decoded (empty or malformed frame).
    None,
    /// Ethernet II, with up to two VLAN tags.
    Ethernet {
        /// Destination MAC.
        dst: [u8; 6],
        /// Source MAC.
        src: [u8; 6],
        /// Outer EtherType (0x8100 when tagged).
        ethertype: u16,
        /// VLAN tag control fields (offset of the tag, TCI), if tagged.
        vlans: [Option<(usize, u16)>; 2],
    },
    /// Linux cooked capture v1 or v2.
    Sll {
        /// 1 or 2.
        version: u8,
        /// Packet type (0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing).
        pkttype: u16,
        /// ARPHRD_* hardware type.
        hatype: u16,
        /// Interface index (SLL2 only, else 0).
        ifindex: u32,
        /// Protocol (an EtherType).
        protocol: u16,
    },
    /// BSD loopback address family.
    Null {
        /// The family value as read.
        family: u32,
    },
    /// No link header.
    Raw,
}

/// The network layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// Nothing decoded.
    None,
    /// IPv4 header.
    Ipv4(Ipv4Info),
    /// IPv6 header (and extension headers).
    Ipv6(Ipv6Info),
    /// ARP request or reply.
    Arp(ArpInfo),
    /// A link-layer protocol socklab does not decode.
    Unknown {
        /// Its EtherType (or NULL family).
        ethertype: u16,
    },
}

/// Decoded IPv4 header fields (host order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Info {
    /// Offset of the header in the frame.
    pub offset: usize,
    /// Header length in bytes (IHL * 4).
    pub header_len: usize,
    /// DSCP/ECN byte.
    pub tos: u8,
    /// Total length (header + payload).
    pub total_len: u16,
    /// Identification.
    pub id: u16,
    /// Don't fragment.
    pub df: bool,
    /// More fragments.
    pub mf: bool,
    /// Fragment offset in 8-byte units.
    pub frag_offset: u16,
    /// Time to live.
    pub ttl: u8,
    /// Protocol number.
    pub protocol: u8,
    /// Header checksum.
    pub checksum: u16,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
}

/// Decoded IPv6 header fields (host order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Info {
    /// Offset of the header in the frame.
    pub offset: usize,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// Payload length (extension headers + upper layer).
    pub payload_len: u16,
    /// Next header of the fixed header.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Bytes of extension headers after the fixed header.
    pub ext_len: usize,
    /// Upper-layer protocol after the extension headers.
    pub protocol: u8,
    /// The hop-by-hop jumbo payload length (RFC 2675, used by BIG TCP) when
    /// `payload_len` is 0 and the option is present.
    pub jumbo: Option<u32>,
}

/// ARP (Ethernet/IPv4 fields; other kinds keep only the operation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpInfo {
    /// Offset of the packet in the frame.
    pub offset: usize,
    /// 1 request, 2 reply.
    pub operation: u16,
    /// Sender protocol address, when IPv4.
    pub sender_ip: Option<Ipv4Addr>,
    /// Target protocol address, when IPv4.
    pub target_ip: Option<Ipv4Addr>,
}

/// The transport layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Nothing decoded.
    None,
    /// TCP header.
    Tcp(TcpInfo),
    /// UDP header.
    Udp(UdpInfo),
    /// ICMP for IPv4.
    Icmp4(IcmpInfo),
    /// ICMP for IPv6.
    Icmp6(IcmpInfo),
    /// A later IPv4 fragment: no transport header in it.
    Fragment {
        /// IP protocol of the datagram.
        protocol: u8,
    },
    /// An IP protocol socklab does not decode.
    Unknown {
        /// IP protocol number.
        protocol: u8,
    },
}

/// Decoded TCP header fields (host order, absolute numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpInfo {
    /// Offset of the header in the frame.
    pub offset: usize,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Header length in bytes (data offset * 4).
    pub header_len: usize,
    /// Flag bits, see [`tcp_flags`].
    pub flags: u8,
    /// Window (unscaled).
    pub window: u16,
    /// Checksum.
    pub checksum: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Payload length according to the IP header (may exceed what was captured).
    pub payload_len: usize,
}

impl TcpInfo {
    /// True when every bit of `f` is set.
    pub fn has(&self, f: u8) -> bool {
        self.flags & f == f
    }
    /// Sequence space this segment uses: payload bytes, plus one for SYN and FIN.
    pub fn seq_len(&self) -> u32 {
        let mut n = self.payload_len as u32;
        if self.has(tcp_flags::SYN) {
            n = n.wrapping_add(1);
        }
        if self.has(tcp_flags::FIN) {
            n = n.wrapping_add(1);
        }
        n
    }
}

/// Decoded UDP header fields (host order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpInfo {
    /// Offset of the header in the frame.
    pub offset: usize,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Length field (header + data).
    pub length: u16,
    /// Checksum (0 = none, IPv4 only).
    pub checksum: u16,
}

/// Decoded ICMP header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpInfo {
    /// Offset of the header in the frame.
    pub offset: usize,
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
    /// Checksum.
    pub checksum: u16,
    /// Bytes 4..8 (id and sequence for echo); zero where `header_len` < 8.
    pub rest: [u8; 4],
    /// Length of the ICMP message (header + data) per the IP header.
    pub len: usize,
    /// Bytes of the 8-byte header present (2..=8): a short message still
    /// has its type and code.
    pub header_len: usize,
}

/// Where and why decoding stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// The layer that did not parse: `ethernet`, `ipv4`, `tcp`...
    pub layer: &'static str,
    /// Offset of that layer in the frame.
    pub offset: usize,
    /// What was wrong, in words.
    pub reason: String,
}

/// A decoded frame. Borrows the frame bytes; `Copy`-cheap apart from the
/// rare malformed reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// How the frame was laid out.
    pub link_type: LinkType,
    /// The captured bytes.
    pub frame: &'a [u8],
    /// Length on the wire (>= `frame.len()`).
    pub orig_len: usize,
    /// Link layer.
    pub link: Link,
    /// Network layer.
    pub net: Net,
    /// Transport layer.
    pub transport: Transport,
    /// Range of the application payload (TCP/UDP data, ICMP data) in `frame`.
    pub payload: Range<usize>,
    /// The first layer that did not parse, if any.
    pub malformed: Option<Malformed>,
    /// Oddities that did not stop decoding, in tcpdump's words where it has
    /// some (`truncated-ip - 14 bytes missing!`). Empty (no allocation) on
    /// ordinary packets.
    pub notes: Vec<String>,
}

impl<'a> Decoded<'a> {
    /// True when the capture kept fewer bytes than the packet had.
    pub fn truncated(&self) -> bool {
        self.frame.len() < self.orig_len
    }

    /// The application payload bytes that were captured.
    pub fn payload_bytes(&self) -> &'a [u8] {
        self.frame.get(self.payload.clone()).unwrap_or(&[])
    }

    /// Source and destination IP addresses, if there is an IP layer.
    pub fn ips(&self) -> Option<(IpAddr, IpAddr)> {
        match self.net {
            Net::Ipv4(h) => Some((IpAddr::V4(h.src), IpAddr::V4(h.dst))),
            Net::Ipv6(h) => Some((IpAddr::V6(h.src), IpAddr::V6(h.dst))),
            _ => None,
        }
    }

    /// Source and destination ports, for TCP and UDP.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self.transport {
            Transport::Tcp(t) => Some((t.src_port, t.dst_port)),
            Transport::Udp(u) => Some((u.src_port, u.dst_port)),
            _ => None,
        }
    }

    /// The TCP header, if this is TCP.
    pub fn tcp(&self) -> Option<&TcpInfo> {
        match &self.transport {
            Transport::Tcp(t) => Some(t),
            _ => None,
        }
    }

    /// The captured TCP option bytes (empty when there are none or this is not TCP).
    /// When a snap length cut the header inside its options, only the
    /// options captured whole (the line is marked truncated anyway).
    pub fn tcp_options(&self) -> &'a [u8] {
        match self.transport {
            Transport::Tcp(t) => {
                let start = t.offset + field::tcp::MIN_LEN;
                let header_end = t.offset + t.header_len;
                let end = header_end.min(self.frame.len());
                let opts = self.frame.get(start..end).unwrap_or(&[]);
                if header_end <= self.frame.len() {
                    return opts;
                }
                let mut it = etherparse::TcpOptionsIterator::from_slice(opts);
                let mut whole = 0;
                while let Some(Ok(_)) = it.next() {
                    whole = opts.len() - it.rest().len();
                }
                &opts[..whole]
            }
            _ => &[],
        }
    }

    /// The UDP header, if this is UDP.
    pub fn udp(&self) -> Option<&UdpInfo> {
        match &self.transport {
            Transport::Udp(u) => Some(u),
            _ => None,
        }
    }

    fn fail(&mut self, layer: &'static str, offset: usize, reason: impl Into<String>) {
        self.malformed = Some(Malformed {
            layer,
            offset,
            reason: reason.into(),
        });
    }
}

/// Ethernet/SLL protocol numbers socklab decodes.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// 802.1Q VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service VLAN tag.
    pub const QINQ: u16 = 0x88a8;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
}

/// IP protocol numbers socklab decodes.
pub mod ipproto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
}

fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(s) => u16::from_be_bytes([s[0], s[1]]),
        None => 0,
    }
}

/// Decode a frame that was captured whole.
pub fn decode(link: LinkType, frame: &[u8]) -> Decoded<'_> {
    decode_captured(link, frame, frame.len())
}

/// Decode a frame of which `frame.len()` of `orig_len` bytes were captured.
/// Never panics; see the module rules.
pub fn decode_captured(link: LinkType, frame: &[u8], orig_len: usize) -> Decoded<'_> {
    let mut d = Decoded {
        link_type: link,
        frame,
        orig_len: orig_len.max(frame.len()),
        link: Link::None,
        net: Net::None,
        transport: Transport::None,
        payload: 0..0,
        malformed: None,
        notes: Vec::new(),
    };
    if frame.is_empty() {
        d.fail("frame", 0, "empty frame: 0 bytes captured");
        return d;
    }
    let Some((ethertype, net_off)) = decode_link(&mut d) else {
        return d;
    };
    decode_net(&mut d, ethertype, net_off);
    d
}

/// Cut reason: either the snap length or a header that lies.
fn short(d: &Decoded<'_>, what: &str) -> String {
    if d.truncated() {
        format!(
            "{what} (the capture kept {} of {} bytes: snap length)",
            d.frame.len(),
            d.orig_len
        )
    } else {
        what.to_string()
    }
}

/// Decode the link header; returns the EtherType of what follows and its offset.
fn decode_link(d: &mut Decoded<'_>) -> Option<(u16, usize)> {
    let frame = d.frame;
    match d.link_type {
        LinkType::Ethernet => {
            let eth = match Ethernet2HeaderSlice::from_slice(frame) {
                Ok(e) => e,
                // The only error is a short slice; say it in our words.
                Err(_) => {
                    let r = short(
                        d,
                        &format!("Ethernet header needs 14 bytes, frame has {}", frame.len()),
                    );
                    d.fail("ethernet", 0, r);
                    return None;
                }
            };
            let mut ethertype = eth.ether_type().0;
            let mut off = field::eth::LEN;
            let mut vlans = [None, None];
            for slot in vlans.iter_mut() {
                if ethertype != ethertype::VLAN && ethertype != ethertype::QINQ {
                    break;
                }
                match SingleVlanHeaderSlice::from_slice(&frame[off..]) {
                    Ok(v) => {
                        *slot = Some((off, be16(frame, off)));
                        ethertype = v.ether_type().0;
                        off += field::vlan::LEN;
                    }
                    Err(_) => {
                        let r = short(d, "VLAN tag needs 4 bytes");
                        d.fail("vlan", off, r);
                        return None;
                    }
                }
            }
            d.link = Link::Ethernet {
                dst: eth.destination(),
                src: eth.source(),
                ethertype: eth.ether_type().0,
                vlans,
            };
            Some((ethertype, off))
        }
        LinkType::LinuxSll => {
            if frame.len() < field::sll::LEN {
                let r = short(
                    d,
                    &format!(
                        "Linux cooked (SLL) header needs 16 bytes, frame has {}",
                        frame.len()
                    ),
                );
                d.fail("sll", 0, r);
                return None;
            }
            let protocol = be16(frame, field::sll::PROTO.start);
            d.link = Link::Sll {
                version: 1,
                pkttype: be16(frame, field::sll::PKTTYPE.start),
                hatype: be16(frame, field::sll::HATYPE.start),
                ifindex: 0,
                protocol,
            };
            Some((protocol, field::sll::LEN))
        }
        LinkType::LinuxSll2 => {
            if frame.len() < field::sll2::LEN {
                let r = short(
                    d,
                    &format!(
                        "Linux cooked v2 (SLL2) header needs 20 bytes, frame has {}",
                        frame.len()
                    ),
                );
                d.fail("sll2", 0, r);
                return None;
            }
            let protocol = be16(frame, field::sll2::PROTO.start);
            let i = field::sll2::IFINDEX.start;
            d.link = Link::Sll {
                version: 2,
                pkttype: u16::from(frame[field::sll2::PKTTYPE]),
                hatype: be16(frame, field::sll2::HATYPE.start),
                ifindex: u32::from_be_bytes([frame[i], frame[i + 1], frame[i + 2], frame[i + 3]]),
                protocol,
            };
            Some((protocol, field::sll2::LEN))
        }
        LinkType::Null => {
            if frame.len() < 4 {
                let r = short(
                    d,
                    &format!(
                        "NULL/loopback header needs 4 bytes, frame has {}",
                        frame.len()
                    ),
                );
                d.fail("null", 0, r);
                return None;
            }
            let raw = [frame[0], frame[1], frame[2], frame[3]];
            // Written in the capturing host's order: accept either.
            let le = u32::from_le_bytes(raw);
            let family = if le < 0x100 {
                le
            } else {
                u32::from_be_bytes(raw)
            };
            d.link = Link::Null { family };
            let ethertype = match family {
                2 => ethertype::IPV4,
                10 | 24 | 28 | 30 => ethertype::IPV6,
                other => other as u16,
            };
            Some((ethertype, 4))
        }
        LinkType::RawIp => {
            d.link = Link::Raw;
            match frame[0] >> 4 {
                4 => Some((ethertype::IPV4, 0)),
                6 => Some((ethertype::IPV6, 0)),
                v => {
                    d.fail(
                        "ip",
                        0,
                        format!("raw IP frame with IP version {v} (expected 4 or 6)"),
                    );
                    None
                }
            }
        }
    }
}

fn decode_net(d: &mut Decoded<'_>, ethertype: u16, off: usize) {
    let frame = d.frame;
    let rest = frame.get(off..).unwrap_or(&[]);
    match ethertype {
        ethertype::IPV4 => {
            let h = match Ipv4HeaderSlice::from_slice(rest) {
                Ok(h) => h,
                Err(e) => {
                    let r = short(d, &ipv4_reason(rest, &e.to_string()));
                    d.fail("ipv4", off, r);
                    return;
                }
            };
            let header_len = usize::from(h.ihl()) * 4;
            let total = usize::from(h.total_len());
            let frag = h.fragments_offset().value();
            let info = Ipv4Info {
                offset: off,
                header_len,
                tos: rest[1],
                total_len: h.total_len(),
                id: h.identification(),
                df: h.dont_fragment(),
                mf: h.more_fragments(),
                frag_offset: frag,
                ttl: h.ttl(),
                protocol: h.protocol().0,
                checksum: h.header_checksum(),
                src: h.source_addr(),
                dst: h.destination_addr(),
            };
            d.net = Net::Ipv4(info);
            if total < header_len {
                d.fail(
                    "ipv4",
                    off,
                    format!("total length {total} is smaller than the header ({header_len} {header_len_bytes})", header_len_bytes = crate::plural::noun(header_len, "byte")),
                );
                return;
            }
            // The header claims more than the wire carried (not a snap
            // length cut): decode what came, as tcpdump does, and say so.
            let on_wire = d.orig_len.saturating_sub(off);
            if total > on_wire {
                d.notes
                    .push(format!("truncated-ip - {} bytes missing!", total - on_wire));
            }
            if frag != 0 {
                d.transport = Transport::Fragment {
                    protocol: info.protocol,
                };
                return;
            }
            // Trim Ethernet padding; keep what was captured of a cut packet.
            let end = off + total.min(rest.len());
            let declared = total - header_len;
            let first_fragment = info.mf;
            decode_transport(
                d,
                info.protocol,
                off + header_len..end,
                declared,
                first_fragment,
            );
        }
        ethertype::IPV6 => {
            let h = match Ipv6HeaderSlice::from_slice(rest) {
                Ok(h) => h,
                Err(e) => {
                    let r = short(d, &e.to_string());
                    d.fail("ipv6", off, r);
                    return;
                }
            };
            let mut payload_len = usize::from(h.payload_length());
            let body = &rest[field::ipv6::LEN..];
            let jumbo = if payload_len == 0 && h.next_header().0 == HOP_BY_HOP {
                jumbo_payload(body)
            } else {
                None
            };
            if let Some(j) = jumbo {
                payload_len = j as usize;
            }
            let mut info = Ipv6Info {
                offset: off,
                traffic_class: h.traffic_class(),
                flow_label: h.flow_label().value(),
                payload_len: h.payload_length(),
                next_header: h.next_header().0,
                hop_limit: h.hop_limit(),
                src: h.source_addr(),
                dst: h.destination_addr(),
                ext_len: 0,
                protocol: h.next_header().0,
                jumbo,
            };
            d.net = Net::Ipv6(info);
            let on_wire = d
                .orig_len
                .saturating_sub(off)
                .saturating_sub(field::ipv6::LEN);
            if payload_len > on_wire {
                d.notes.push(format!(
                    "truncated-ip6 - {} bytes missing!",
                    payload_len - on_wire
                ));
            }
            let body = &body[..payload_len.min(body.len())];
            match Ipv6ExtensionsSlice::from_slice(h.next_header(), body) {
                Ok((exts, proto, after)) => {
                    info.ext_len = body.len() - after.len();
                    info.protocol = proto.0;
                    d.net = Net::Ipv6(info);
                    if exts.is_fragmenting_payload() {
                        d.transport = Transport::Fragment { protocol: proto.0 };
                        return;
                    }
                    let start = off + field::ipv6::LEN + info.ext_len;
                    let end = off + field::ipv6::LEN + body.len();
                    let declared = payload_len.saturating_sub(info.ext_len);
                    decode_transport(d, proto.0, start..end, declared, false);
                }
                Err(e) => {
                    let r = short(d, &format!("extension headers: {e}"));
                    d.fail("ipv6", off + field::ipv6::LEN, r);
                }
            }
        }
        ethertype::ARP => {
            if rest.len() < 8 {
                let r = short(
                    d,
                    &format!("ARP needs at least 8 bytes, {} left", rest.len()),
                );
                d.fail("arp", off, r);
                return;
            }
            let hlen = usize::from(rest[4]);
            let plen = usize::from(rest[5]);
            let need = 8 + 2 * (hlen + plen);
            let ip_at = |at: usize| -> Option<Ipv4Addr> {
                if plen != 4 || be16(rest, 2) != ethertype::IPV4 {
                    return None;
                }
                rest.get(at..at + 4)
                    .map(|s| Ipv4Addr::new(s[0], s[1], s[2], s[3]))
            };
            let info = ArpInfo {
                offset: off,
                operation: be16(rest, 6),
                sender_ip: ip_at(8 + hlen),
                target_ip: ip_at(8 + 2 * hlen + plen),
            };
            d.net = Net::Arp(info);
            if rest.len() < need {
                let r = short(
                    d,
                    &format!(
                        "ARP needs {need} {need_bytes}, {} left",
                        rest.len(),
                        need_bytes = crate::plural::noun(need, "byte")
                    ),
                );
                d.fail("arp", off, r);
            }
        }
        other => {
            d.net = Net::Unknown { ethertype: other };
            d.payload = off.min(frame.len())..frame.len();
        }
    }
}

fn ipv4_reason(rest: &[u8], etherparse_msg: &str) -> String {
    match rest.first() {
        Some(b) if b >> 4 == 4 && b & 0x0f < 5 => format!(
            "IHL {} is smaller than 5 (a header is at least 5 x 4 = 20 bytes)",
            b & 0x0f
        ),
        Some(b) if b >> 4 != 4 => format!("version {} in an IPv4 header", b >> 4),
        _ => etherparse_msg.to_string(),
    }
}

/// IPv6 next-header value of the hop-by-hop options header.
const HOP_BY_HOP: u8 = 0;
/// Hop-by-hop option type of the jumbo payload (RFC 2675).
const OPT_JUMBO: u8 = 0xc2;

/// The jumbo payload length in a hop-by-hop options header at the start of
/// `body`, if it holds one (RFC 2675: option 0xC2, 4 bytes of length).
fn jumbo_payload(body: &[u8]) -> Option<u32> {
    let len = (usize::from(*body.get(1)?) + 1) * 8;
    let opts = body.get(2..len.min(body.len()))?;
    let mut i = 0;
    while i < opts.len() {
        let kind = opts[i];
        if kind == 0 {
            i += 1; // Pad1
            continue;
        }
        let olen = usize::from(*opts.get(i + 1)?);
        if kind == OPT_JUMBO && olen == 4 {
            let v = opts.get(i + 2..i + 6)?;
            return Some(u32::from_be_bytes([v[0], v[1], v[2], v[3]]));
        }
        i += 2 + olen;
    }
    None
}

/// Decode TCP/UDP/ICMP in `frame[span]`; `declared` is the transport
/// length according to the IP header; `first_fragment` when the IPv4
/// more-fragments flag is set (the rest of the datagram is in later packets).
fn decode_transport(
    d: &mut Decoded<'_>,
    proto: u8,
    span: Range<usize>,
    declared: usize,
    first_fragment: bool,
) {
    let (start, end) = (span.start, span.end);
    let frame = d.frame;
    let seg = frame.get(start..end).unwrap_or(&[]);
    match proto {
        ipproto::TCP => match TcpHeaderSlice::from_slice(seg) {
            Ok(t) => {
                let header_len = usize::from(t.data_offset()) * 4;
                let flags = seg[13];
                d.transport = Transport::Tcp(TcpInfo {
                    offset: start,
                    src_port: t.source_port(),
                    dst_port: t.destination_port(),
                    seq: t.sequence_number(),
                    ack: t.acknowledgment_number(),
                    header_len,
                    flags,
                    window: t.window_size(),
                    checksum: t.checksum(),
                    urgent: t.urgent_pointer(),
                    payload_len: declared.saturating_sub(header_len),
                });
                d.payload = (start + header_len).min(end)..end;
            }
            // A snap length cut the header inside its options: the fixed
            // 20 bytes are there, so ports, numbers and flags still decode.
            Err(_)
                if d.truncated()
                    && seg.len() >= field::tcp::MIN_LEN
                    && seg[field::tcp::OFF_FLAGS.start] >> 4 >= 5 =>
            {
                let be32 = |r: Range<usize>| {
                    u32::from_be_bytes([
                        seg[r.start],
                        seg[r.start + 1],
                        seg[r.start + 2],
                        seg[r.start + 3],
                    ])
                };
                let header_len = usize::from(seg[field::tcp::OFF_FLAGS.start] >> 4) * 4;
                d.transport = Transport::Tcp(TcpInfo {
                    offset: start,
                    src_port: be16(seg, field::tcp::SRC_PORT.start),
                    dst_port: be16(seg, field::tcp::DST_PORT.start),
                    seq: be32(field::tcp::SEQ),
                    ack: be32(field::tcp::ACK),
                    header_len,
                    flags: seg[field::tcp::OFF_FLAGS.start + 1],
                    window: be16(seg, field::tcp::WINDOW.start),
                    checksum: be16(seg, field::tcp::CHECKSUM.start),
                    urgent: be16(seg, field::tcp::URGENT.start),
                    payload_len: declared.saturating_sub(header_len),
                });
                d.payload = end..end;
            }
            Err(_) => {
                let reason = match seg.get(12) {
                    Some(b) if b >> 4 < 5 => format!(
                        "data offset {} is smaller than 5 (a TCP header is at least 20 bytes)",
                        b >> 4
                    ),
                    Some(b) => format!(
                        "data offset {} says the header is {} bytes, only {} left",
                        b >> 4,
                        usize::from(b >> 4) * 4,
                        seg.len()
                    ),
                    None => format!("TCP header needs 20 bytes, only {} left", seg.len()),
                };
                let r = short(d, &reason);
                d.fail("tcp", start, r);
            }
        },
        ipproto::UDP => match UdpHeaderSlice::from_slice(seg) {
            Ok(u) => {
                let mut length = usize::from(u.length());
                // RFC 2675: a jumbogram's UDP length is 0; the IPv6 jumbo
                // payload length counts instead.
                if length == 0 && declared > usize::from(u16::MAX) {
                    length = declared;
                }
                d.transport = Transport::Udp(UdpInfo {
                    offset: start,
                    src_port: u.source_port(),
                    dst_port: u.destination_port(),
                    length: u.length(),
                    checksum: u.checksum(),
                });
                if length < field::udp::LEN {
                    d.fail(
                        "udp",
                        start,
                        format!("length {length} is smaller than the 8-byte UDP header"),
                    );
                    return;
                }
                // Checked against the IP header, not the captured bytes, so
                // a snap length cut does not hide it; a first fragment
                // carries only the start of the datagram the length covers.
                if length > declared && !first_fragment {
                    d.fail(
                        "udp",
                        start,
                        format!(
                            "bad length {} > {}: the UDP length {length} goes past the end of the IP payload ({declared} {declared_bytes})",
                            length - field::udp::LEN,
                            declared.saturating_sub(field::udp::LEN), declared_bytes = crate::plural::noun(declared, "byte")),
                    );
                    return;
                }
                let body_end = (start + length).min(end);
                d.payload = start + field::udp::LEN..body_end;
            }
            Err(_) => {
                let r = short(
                    d,
                    &format!("UDP header needs 8 bytes, only {} left", seg.len()),
                );
                d.fail("udp", start, r);
            }
        },
        ipproto::ICMP | ipproto::ICMPV6 => {
            let parsed = if proto == ipproto::ICMP {
                Icmpv4Slice::from_slice(seg).map(|_| ())
            } else {
                Icmpv6Slice::from_slice(seg).map(|_| ())
            };
            let whole = parsed.is_ok() && seg.len() >= field::icmp::LEN;
            let layer = if proto == ipproto::ICMP {
                "icmp"
            } else {
                "icmpv6"
            };
            if seg.len() < field::icmp::CODE.end {
                let r = short(
                    d,
                    &format!("ICMP header needs 8 bytes, only {} left", seg.len()),
                );
                d.fail(layer, start, r);
                return;
            }
            // A short header still has its type and code (and the filter
            // `icmp[icmptype]` sees them): decode what is there.
            let header_len = seg.len().min(field::icmp::LEN);
            let mut rest = [0u8; 4];
            if let Some(r) = seg.get(field::icmp::REST) {
                rest.copy_from_slice(r);
            }
            let info = IcmpInfo {
                offset: start,
                icmp_type: seg[0],
                code: seg[1],
                checksum: be16(seg, field::icmp::CHECKSUM.start),
                rest,
                len: declared,
                header_len,
            };
            d.transport = if proto == ipproto::ICMP {
                Transport::Icmp4(info)
            } else {
                Transport::Icmp6(info)
            };
            if !whole {
                let r = short(
                    d,
                    &format!(
                        "ICMP header needs 8 bytes, only {} left (type and code decoded)",
                        seg.len()
                    ),
                );
                d.fail(layer, start, r);
                return;
            }
            d.payload = start + field::icmp::LEN..end;
        }
        other => {
            d.transport = Transport::Unknown { protocol: other };
            d.payload = start.min(end)..end;
        }
    }
}

/// Build frames for tests (here and in other modules): Ethernet + IPv4 +
/// TCP/UDP with correct lengths (checksums left zero).
#[cfg(test)]
pub mod testframes {
    /// Ethernet header for `lo` (zero MACs) and IPv4.
    pub fn eth_ipv4() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f
    }

    fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], payload_len: usize) -> Vec<u8> {
        let total = (20 + payload_len) as u16;
        let mut h = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0];
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h
    }

    /// A TCP segment on 127.0.0.1 wrapped in Ethernet + IPv4.
    pub fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        tcp_between(
            [127, 0, 0, 1],
            [127, 0, 0, 1],
            sport,
            dport,
            seq,
            ack,
            flags,
            payload,
        )
    }

    /// A TCP segment between two IPv4 addresses.
    #[allow(clippy::too_many_arguments)]
    pub fn tcp_between(
        src: [u8; 4],
        dst: [u8; 4],
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut f = eth_ipv4();
        f.extend(ipv4(6, src, dst, 20 + payload.len()));
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&ack.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xd7, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        f
    }

    /// A UDP datagram on 127.0.0.1 wrapped in Ethernet + IPv4.
    pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = eth_ipv4();
        f.extend(ipv4(17, [127, 0, 0, 1], [127, 0, 0, 1], 8 + payload.len()));
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(payload);
        f
    }
}

#[cfg(test)]
mod tests {
    use super::testframes::*;
    use super::*;

    const ETH: usize = 14;

    #[test]
    fn ethernet_ipv4_tcp() {
        let f = tcp(40000, 10009, 1000, 0, tcp_flags::SYN, &[]);
        let d = decode(LinkType::Ethernet, &f);
        assert_eq!(d.malformed, None);
        assert!(matches!(
            d.link,
            Link::Ethernet {
                ethertype: 0x0800,
                ..
            }
        ));
        let Net::Ipv4(ip) = d.net else {
            panic!("not ipv4")
        };
        assert_eq!(ip.src, Ipv4Addr::LOCALHOST);
        assert_eq!(ip.total_len, 40);
        assert_eq!(ip.ttl, 64);
        assert!(ip.df);
        let t = d.tcp().copied().expect("tcp");
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.flags),
            (40000, 10009, 1000, 2)
        );
        assert_eq!(t.offset, ETH + 20);
        assert_eq!(t.header_len, 20);
        assert_eq!(t.seq_len(), 1);
        assert!(d.payload_bytes().is_empty());
    }

    #[test]
    fn udp_payload_and_ethernet_padding() {
        let mut f = udp(5555, 10009, &[1, 2, 3]);
        f.extend_from_slice(&[0xee; 10]); // padding after the IP datagram
        let d = decode(LinkType::Ethernet, &f);
        assert_eq!(d.malformed, None);
        let u = d.udp().copied().expect("udp");
        assert_eq!((u.src_port, u.dst_port, u.length), (5555, 10009, 11));
        assert_eq!(d.payload_bytes(), &[1, 2, 3]);
    }

    #[test]
    fn raw_ip_and_sll_and_null() {
        let f = udp(1, 2, b"hi");
        let d = decode(LinkType::RawIp, &f[ETH..]);
        assert_eq!(d.payload_bytes(), b"hi");
        let mut sll = vec![0, 0, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&f[ETH..]);
        let d = decode(LinkType::LinuxSll, &sll);
        assert!(matches!(
            d.link,
            Link::Sll {
                version: 1,
                hatype: 772,
                protocol: 0x0800,
                ..
            }
        ));
        assert_eq!(d.payload_bytes(), b"hi");
        let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6];
        sll2.extend_from_slice(&[0; 8]);
        sll2.extend_from_slice(&f[ETH..]);
        let d = decode(LinkType::LinuxSll2, &sll2);
        assert!(matches!(
            d.link,
            Link::Sll {
                version: 2,
                ifindex: 1,
                ..
            }
        ));
        assert_eq!(d.payload_bytes(), b"hi");
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(&f[ETH..]);
        assert_eq!(decode(LinkType::Null, &null).payload_bytes(), b"hi");
    }

    #[test]
    fn ipv6_with_extension_header_and_icmpv6() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x86, 0xdd]);
        // fixed header: next = hop-by-hop (0), payload = 8 (ext) + 8 (icmp)
        f.extend_from_slice(&[0x60, 0, 0, 0, 0, 16, 0, 255]);
        f.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        f.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        f.extend_from_slice(&[58, 0, 1, 4, 0, 0, 0, 0]); // hop-by-hop, next = ICMPv6
        f.extend_from_slice(&[128, 0, 0xab, 0xcd, 0, 1, 0, 2]); // echo request
        let d = decode(LinkType::Ethernet, &f);
        assert_eq!(d.malformed, None);
        let Net::Ipv6(h) = d.net else {
            panic!("not ipv6")
        };
        assert_eq!(
            (h.next_header, h.protocol, h.ext_len, h.hop_limit),
            (0, 58, 8, 255)
        );
        let Transport::Icmp6(i) = d.transport else {
            panic!("not icmpv6")
        };
        assert_eq!((i.icmp_type, i.code, i.checksum), (128, 0, 0xabcd));
    }

    #[test]
    fn icmpv4_port_unreachable() {
        let mut f = eth_ipv4();
        f.extend_from_slice(&[
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ]);
        f.extend_from_slice(&[3, 3, 0, 0, 0, 0, 0, 0]);
        let d = decode(LinkType::Ethernet, &f);
        let Transport::Icmp4(i) = d.transport else {
            panic!("not icmp")
        };
        assert_eq!((i.icmp_type, i.code), (3, 3));
    }

    fn reason(d: &Decoded<'_>) -> (&'static str, String) {
        let m = d.malformed.clone().expect("should be malformed");
        (m.layer, m.reason)
    }

    #[test]
    fn empty_frame() {
        let d = decode(LinkType::Ethernet, &[]);
        assert_eq!(reason(&d).0, "frame");
        assert!(reason(&d).1.contains("empty"));
    }

    #[test]
    fn short_ethernet() {
        let d = decode(LinkType::Ethernet, &[0; 5]);
        assert_eq!(reason(&d).0, "ethernet");
        assert!(reason(&d).1.contains("14 bytes"));
    }

    #[test]
    fn ipv4_ihl_below_5() {
        let mut f = tcp(1, 2, 0, 0, 0, &[]);
        f[ETH] = 0x44;
        let (layer, r) = reason(&decode(LinkType::Ethernet, &f));
        assert_eq!(layer, "ipv4");
        assert!(r.contains("IHL 4"), "{r}");
    }

    /// Set the IPv4 total length and the flags/fragment-offset field of a
    /// frame built by `testframes`.
    fn set_ipv4(f: &mut [u8], total: usize, flags_frag: u16) {
        f[ETH + 2..ETH + 4].copy_from_slice(&(total as u16).to_be_bytes());
        f[ETH + 6..ETH + 8].copy_from_slice(&flags_frag.to_be_bytes());
    }

    #[test]
    fn regression_udp_first_fragment_was_called_malformed() {
        // A 5700-byte datagram (UDP length 5708) whose first fragment
        // carries 1480 bytes: MF set, offset 0 (tcpdump: UDP, length 5700).
        let mut f = udp(5000, 6000, &[b'x'; 1472]);
        f[ETH + 20 + 4..ETH + 20 + 6].copy_from_slice(&5708u16.to_be_bytes());
        set_ipv4(&mut f, 1500, 0x2000);
        let d = decode(LinkType::Ethernet, &f);
        assert_eq!(d.malformed, None);
        assert_eq!(d.udp().map(|u| u.length), Some(5708));
        assert_eq!(d.payload_bytes().len(), 1472);
        // The same datagram without MF is a lie about its length.
        set_ipv4(&mut f, 1500, 0x4000);
        let (layer, r) = reason(&decode(LinkType::Ethernet, &f));
        assert_eq!(layer, "udp");
        assert!(r.starts_with("bad length 5700 > 1472"), "{r}");
    }

    #[test]
    fn regression_ip_total_length_past_the_bytes_present_stopped_at_the_ip_header() {
        // IP says 48 bytes, the wire carried 34: tcpdump decodes the UDP
        // header and says `truncated-ip - 14 bytes missing!`.
        let mut f = udp(5000, 6000, b"abcdef");
        set_ipv4(&mut f, 48, 0x4000);
        f[ETH + 20 + 4..ETH + 20 + 6].copy_from_slice(&28u16.to_be_bytes());
        let d = decode(LinkType::Ethernet, &f);
        assert_eq!(d.malformed, None);
        assert_eq!(
            d.notes,
            vec!["truncated-ip - 14 bytes missing!".to_string()]
        );
        assert_eq!(d.udp().map(|u| (u.src_port, u.length)), Some((5000, 28)));
        assert_eq!(d.payload_bytes(), b"abcdef");
        // TCP: the length is what the IP header declares.
        let mut f = tcp(1, 2, 100, 0, tcp_flags::ACK, b"data");
        set_ipv4(&mut f, 20 + 20 + 10, 0x4000);
        let d = decode(LinkType::Ethernet, &f);
        assert_eq!(d.notes, vec!["truncated-ip - 6 bytes missing!".to_string()]);
        assert_eq!(d.tcp().map(|t| t.payload_len), Some(10));
        assert_eq!(d.payload_bytes(), b"data");
        // A snap length cut is not "missing": the wire had the bytes.
        let f = udp(1, 2, &[0; 100]);
        let d = decode_captured(LinkType::Ethernet, &f[..60], f.len());
        assert!(d.notes.is_empty(), "{:?}", d.notes);
        // Smaller than its own header is still malformed.
        let mut f = udp(1, 2, b"x");
        set_ipv4(&mut f, 12, 0x4000);
        let (layer, r) = reason(&decode(LinkType::Ethernet, &f));
        assert_eq!(layer, "ipv4");
        assert!(r.contains("smaller than the header"), "{r}");
    }

    #[test]
    fn regression_icmp_short_header_lost_its_type() {
        let mut f = eth_ipv4();
        f.extend_from_slice(&[
            0x45, 0, 0, 24, 0, 0, 0, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ]);
        f.extend_from_slice(&[3, 3, 0xab, 0xcd]); // port unreachable, 4 of 8 bytes
        let d = decode(LinkType::Ethernet, &f);
        let Transport::Icmp4(i) = d.transport else {
            panic!("not icmp: {:?}", d.transport)
        };
        assert_eq!((i.icmp_type, i.code, i.checksum), (3, 3, 0xabcd));
        assert_eq!((i.header_len, i.rest), (4, [0; 4]));
        let (layer, r) = reason(&d);
        assert_eq!(layer, "icmp");
        assert!(r.contains("only 4 left (type and code decoded)"), "{r}");
        assert!(d.payload_bytes().is_empty());
        // One byte has no code: nothing to decode.
        f.truncate(f.len() - 3);
        f[ETH + 2..ETH + 4].copy_from_slice(&21u16.to_be_bytes());
        let d = decode(LinkType::Ethernet, &f);
        assert_eq!(d.transport, Transport::None);
        assert_eq!(reason(&d).0, "icmp");
    }

    #[test]
    fn regression_length_checks_were_skipped_on_snap_length_cut_frames() {
        // tcpdump: `UDP, bad length 60644 > 32784` on a frame cut to 100 bytes.
        let mut f = udp(5000, 6000, &[b'y'; 32784]);
        f[ETH + 20 + 4..ETH + 20 + 6].copy_from_slice(&60652u16.to_be_bytes());
        let d = decode_captured(LinkType::Ethernet, &f[..100], f.len());
        assert!(d.truncated());
        let (layer, r) = reason(&d);
        assert_eq!(layer, "udp");
        assert!(r.starts_with("bad length 60644 > 32784"), "{r}");
        // IP total length smaller than its header, on a cut frame.
        let mut f = udp(1, 2, &[0; 100]);
        set_ipv4(&mut f, 16, 0x4000);
        let (layer, r) = reason(&decode_captured(LinkType::Ethernet, &f[..60], f.len()));
        assert_eq!(layer, "ipv4");
        assert!(r.contains("total length 16 is smaller"), "{r}");
        // An IP total length past the frame on the wire is noted on a cut frame too.
        let mut f = udp(1, 2, &[0; 100]);
        set_ipv4(&mut f, 20 + 108 + 40, 0x4000);
        let d = decode_captured(LinkType::Ethernet, &f[..60], f.len());
        assert_eq!(
            d.notes,
            vec!["truncated-ip - 40 bytes missing!".to_string()]
        );
    }

    /// Ethernet + IPv6 (payload length 0) + hop-by-hop with a jumbo payload
    /// option of `jumbo` bytes, then `upper` (the upper-layer header).
    fn ipv6_jumbo(next: u8, jumbo: u32, upper: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 0, 0, 64]);
        f.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        f.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        f.extend_from_slice(&[next, 0, 0xc2, 4]);
        f.extend_from_slice(&jumbo.to_be_bytes());
        f.extend_from_slice(upper);
        f
    }

    #[test]
    fn regression_ipv6_jumbogram_big_tcp_was_called_malformed() {
        // BIG TCP: 80000 bytes after the fixed header = 8 HBH + 20 TCP + 79972 data
        // (tcpdump: `HBH (jumbo: 80000) ... seq 1:79973 ... length 79972`).
        let mut tcp_h = [0u8; 20];
        tcp_h[0..2].copy_from_slice(&40000u16.to_be_bytes());
        tcp_h[2..4].copy_from_slice(&80u16.to_be_bytes());
        tcp_h[4..8].copy_from_slice(&1u32.to_be_bytes());
        tcp_h[12] = 0x50;
        tcp_h[13] = tcp_flags::PSH | tcp_flags::ACK;
        let mut f = ipv6_jumbo(6, 80000, &tcp_h);
        f.extend_from_slice(&[b'z'; 100]);
        let orig = 14 + 40 + 80000;
        let d = decode_captured(LinkType::Ethernet, &f, orig);
        assert_eq!(d.malformed, None);
        assert!(d.notes.is_empty(), "{:?}", d.notes);
        let Net::Ipv6(h) = d.net else {
            panic!("not ipv6")
        };
        assert_eq!(
            (h.payload_len, h.jumbo, h.ext_len, h.protocol),
            (0, Some(80000), 8, 6)
        );
        let t = d.tcp().expect("tcp");
        assert_eq!((t.src_port, t.dst_port, t.payload_len), (40000, 80, 79972));
        assert_eq!(d.payload_bytes().len(), 100);
        // UDP in a jumbogram has length 0 (RFC 2675).
        let mut f = ipv6_jumbo(17, 70008, &[0x13, 0x88, 0x17, 0x70, 0, 0, 0, 0]);
        f.extend_from_slice(&[1; 50]);
        let d = decode_captured(LinkType::Ethernet, &f, 14 + 40 + 70008);
        assert_eq!(d.malformed, None);
        assert_eq!(d.udp().map(|u| u.dst_port), Some(6000));
        assert_eq!(d.payload_bytes().len(), 50);
        // Payload length 0 without the option: nothing follows the header.
        let mut f = ipv6_jumbo(6, 80000, &tcp_h);
        f[14 + 40 + 2] = 1; // PadN instead of jumbo
        let d = decode(LinkType::Ethernet, &f);
        let Net::Ipv6(h) = d.net else {
            panic!("not ipv6")
        };
        assert_eq!(h.jumbo, None);
        assert!(d.tcp().is_none());
    }

    #[test]
    fn tcp_data_offset_below_5_and_past_end() {
        let mut f = tcp(1, 2, 0, 0, 0, &[]);
        f[ETH + 20 + 12] = 0x40;
        let (layer, r) = reason(&decode(LinkType::Ethernet, &f));
        assert_eq!(layer, "tcp");
        assert!(r.contains("data offset 4 is smaller than 5"), "{r}");
        f[ETH + 20 + 12] = 0xf0;
        let (_, r) = reason(&decode(LinkType::Ethernet, &f));
        assert!(r.contains("60 bytes, only 20 left"), "{r}");
    }

    #[test]
    fn udp_length_below_8() {
        let mut f = udp(1, 2, b"abc");
        f[ETH + 20 + 4..ETH + 20 + 6].copy_from_slice(&4u16.to_be_bytes());
        let (layer, r) = reason(&decode(LinkType::Ethernet, &f));
        assert_eq!(layer, "udp");
        assert!(r.contains("length 4 is smaller than the 8-byte"), "{r}");
    }

    #[test]
    fn unknown_ethertype_and_ip_protocol() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xb5, 1, 2, 3]);
        let d = decode(LinkType::Ethernet, &f);
        assert_eq!(d.net, Net::Unknown { ethertype: 0x88b5 });
        assert_eq!(d.payload_bytes(), &[1, 2, 3]);
        let mut f = udp(1, 2, b"x");
        f[ETH + 9] = 132; // SCTP
        let d = decode(LinkType::Ethernet, &f);
        assert_eq!(d.transport, Transport::Unknown { protocol: 132 });
    }

    #[test]
    fn snap_length_cut_inside_tcp_options_keeps_ports_and_whole_options() {
        // mss (4 bytes), sackOK (2), then a timestamp option cut after 2 of its 10 bytes.
        let mut f = tcp(40000, 10009, 7, 0, tcp_flags::SYN, &[]);
        let opts = [
            2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        f[14 + 32] = 0xa0; // data offset 10: 40-byte header
        f.extend_from_slice(&opts);
        let total = (f.len() - 14) as u16;
        f[14 + 2..14 + 4].copy_from_slice(&total.to_be_bytes());
        let keep = 14 + 20 + 20 + 8;
        let d = decode_captured(LinkType::Ethernet, &f[..keep], f.len());
        assert!(d.malformed.is_none(), "{:?}", d.malformed);
        let t = d.tcp().expect("tcp decoded from the fixed header");
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.flags),
            (40000, 10009, 7, tcp_flags::SYN)
        );
        assert_eq!(t.header_len, 40);
        assert_eq!(d.tcp_options(), &opts[..6], "mss and sackOK, whole");
        assert!(d.truncated());
    }

    #[test]
    fn snap_length_cut_is_truncated_not_malformed() {
        let f = udp(1, 2, &[7u8; 1000]);
        let d = decode_captured(LinkType::Ethernet, &f[..100], f.len());
        assert!(d.truncated());
        assert_eq!(d.malformed, None);
        assert_eq!(d.udp().map(|u| u.length), Some(1008));
        assert_eq!(d.payload_bytes().len(), 100 - ETH - 20 - 8);
        // Cut inside the TCP header: malformed, and the reason names the snap length.
        let f = tcp(1, 2, 0, 0, 0, b"data");
        let d = decode_captured(LinkType::Ethernet, &f[..ETH + 24], f.len());
        assert!(reason(&d).1.contains("snap length"));
    }

    #[test]
    fn later_packets_still_decode_after_bad_ones() {
        let bad: [&[u8]; 4] = [&[], &[0xff; 3], &[0x45; 40], &[0; 13]];
        for b in bad {
            let _ = decode(LinkType::Ethernet, b);
            let _ = decode(LinkType::RawIp, b);
            let _ = decode(LinkType::LinuxSll, b);
        }
        let good = udp(9, 10, b"ok");
        assert_eq!(decode(LinkType::Ethernet, &good).payload_bytes(), b"ok");
    }

    #[test]
    fn tcp_options_are_the_header_bytes_after_20() {
        let mut f = tcp(1, 2, 0, 0, tcp_flags::SYN, &[]);
        let opts = [
            2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        f.extend_from_slice(&opts);
        f[ETH + 2..ETH + 4].copy_from_slice(&60u16.to_be_bytes());
        f[ETH + 20 + 12] = 0xa0; // data offset 10: 40-byte header
        let d = decode(LinkType::Ethernet, &f);
        assert_eq!(d.malformed, None);
        // (Their text, tcpdump's, is render::tcpopt's.)
        assert_eq!(d.tcp_options(), &opts);
    }

    #[test]
    fn vlan_tagged_ipv4() {
        let plain = udp(1, 2, b"v");
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x81, 0x00, 0x20, 0x05, 0x08, 0x00]); // priority 1, VLAN 5
        f.extend_from_slice(&plain[ETH..]);
        let d = decode(LinkType::Ethernet, &f);
        assert_eq!(d.malformed, None);
        let Link::Ethernet {
            ethertype, vlans, ..
        } = d.link
        else {
            panic!("not ethernet")
        };
        assert_eq!(ethertype, 0x8100);
        assert_eq!(vlans[0], Some((14, 0x2005)));
        assert_eq!(d.udp().map(|u| u.offset), Some(18 + 20));
        assert_eq!(d.payload_bytes(), b"v");
    }

    #[test]
    fn arp_request() {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
        f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
        let d = decode(LinkType::Ethernet, &f);
        assert_eq!(d.malformed, None);
        let Net::Arp(a) = d.net else {
            panic!("not arp")
        };
        assert_eq!(a.operation, 1);
        assert_eq!(a.sender_ip, Some(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(a.target_ip, Some(Ipv4Addr::new(10, 0, 0, 1)));
        // Cut short: malformed, fields read so far kept.
        let d = decode(LinkType::Ethernet, &f[..30]);
        assert_eq!(d.malformed.map(|m| m.layer), Some("arp"));
    }

    #[test]
    fn ipv4_fragment_has_no_transport_header() {
        let mut f = udp(1, 2, b"frag");
        f[ETH + 6] = 0x00;
        f[ETH + 7] = 0x10; // offset 16 x 8 bytes
        let d = decode(LinkType::Ethernet, &f);
        assert_eq!(d.transport, Transport::Fragment { protocol: 17 });
    }

    #[test]
    fn pseudo_random_frames_never_panic() {
        // A small LCG: deterministic, no extra dependency.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) as u8
        };
        let base = tcp(1, 2, 3, 4, 0x18, b"hello world");
        for round in 0..20_000 {
            let mut f = base.clone();
            // Flip a few bytes in the headers, sometimes cut the frame.
            for _ in 0..(1 + round % 4) {
                let i = usize::from(next()) % f.len();
                f[i] = next();
            }
            let n = if round % 3 == 0 {
                usize::from(next()) % f.len()
            } else {
                f.len()
            };
            for lt in [LinkType::Ethernet, LinkType::RawIp, LinkType::LinuxSll2] {
                let d = decode_captured(lt, &f[..n], f.len());
                let _ = d.payload_bytes();
            }
        }
    }

    #[test]
    fn every_prefix_of_a_frame_decodes_without_panic() {
        let frames = [tcp(1, 2, 3, 4, 0x18, b"hello"), udp(1, 2, b"hello"), {
            let mut f = vec![0u8; 12];
            f.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
            f.extend_from_slice(&[0; 20]);
            f
        }];
        for f in &frames {
            for n in 0..=f.len() {
                for lt in [
                    LinkType::Ethernet,
                    LinkType::RawIp,
                    LinkType::LinuxSll,
                    LinkType::LinuxSll2,
                    LinkType::Null,
                ] {
                    let _ = decode_captured(lt, &f[..n], f.len());
                    let _ = decode(lt, &f[..n]);
                }
            }
        }
    }
}
