//! The Linux cooked capture v2 header (`LINKTYPE_LINUX_SLL2`, 276), built
//! as libpcap builds it for `-i any` from what the kernel says about each
//! packet (a `struct sockaddr_ll`), and the names tcpdump gives its packet
//! types.
//!
//! Layout (20 bytes, network order; offsets in [`super::packet::field::sll2`]):
//! protocol (2), reserved (2, zero), interface index (4), ARPHRD_* type (2),
//! packet type (1), address length (1), address (8).
//!
//! Pure: no I/O, no allocation, never panics. Decoding is
//! [`super::packet::decode`]'s (`Link::Sll { version: 2, .. }`).

use super::packet::field::sll2 as f;

/// Length of the header.
pub const LEN: usize = f::LEN;

/// Packet types (`sll_pkttype`, `<linux/if_packet.h>`).
pub mod pkttype {
    /// To this host.
    pub const HOST: u8 = 0;
    /// Broadcast.
    pub const BROADCAST: u8 = 1;
    /// Multicast.
    pub const MULTICAST: u8 = 2;
    /// To another host (seen in promiscuous mode).
    pub const OTHERHOST: u8 = 3;
    /// Sent by this host.
    pub const OUTGOING: u8 = 4;
}

/// The fields of an SLL2 header (host order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sll2 {
    /// The protocol (an EtherType, e.g. 0x0800 for IPv4).
    pub protocol: u16,
    /// The interface the packet came in on or went out of.
    pub ifindex: u32,
    /// The interface's ARPHRD_* hardware type (1 Ethernet, 772 loopback).
    pub hatype: u16,
    /// Direction and kind, see [`pkttype`].
    pub pkttype: u8,
    /// Bytes of `addr` used (at most 8).
    pub addr_len: u8,
    /// The link-layer source address, zero-padded.
    pub addr: [u8; 8],
}

impl Sll2 {
    /// The 20 header bytes (an address length above 8 is written as given,
    /// as the kernel reports it; only 8 address bytes fit).
    pub fn to_bytes(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[f::PROTO].copy_from_slice(&self.protocol.to_be_bytes());
        b[f::IFINDEX].copy_from_slice(&self.ifindex.to_be_bytes());
        b[f::HATYPE].copy_from_slice(&self.hatype.to_be_bytes());
        b[f::PKTTYPE] = self.pkttype;
        b[f::HALEN] = self.addr_len;
        b[f::ADDR].copy_from_slice(&self.addr);
        b
    }

    /// The header at the start of `b`, or `None` when `b` is shorter than 20 bytes.
    pub fn parse(b: &[u8]) -> Option<Sll2> {
        let h = b.get(..LEN)?;
        let be16 = |r: std::ops::Range<usize>| u16::from_be_bytes([h[r.start], h[r.start + 1]]);
        let i = f::IFINDEX.start;
        let mut addr = [0u8; 8];
        addr.copy_from_slice(&h[f::ADDR]);
        Some(Sll2 {
            protocol: be16(f::PROTO),
            ifindex: u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]),
            hatype: be16(f::HATYPE),
            pkttype: h[f::PKTTYPE],
            addr_len: h[f::HALEN],
            addr,
        })
    }
}

/// The direction column of `tcpdump -i any`: `In`, `Out`, `B` (broadcast),
/// `M` (multicast), `P` (to another host), `?` for anything else.
pub fn direction(pkttype: u16) -> &'static str {
    match u8::try_from(pkttype) {
        Ok(pkttype::HOST) => "In",
        Ok(pkttype::BROADCAST) => "B",
        Ok(pkttype::MULTICAST) => "M",
        Ok(pkttype::OTHERHOST) => "P",
        Ok(pkttype::OUTGOING) => "Out",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::packet::{decode, Link, LinkType, Net};

    /// The first header of tests/fixtures/tcpdump-any-sll2.pcap (libpcap's
    /// own): IPv4, lo (index 1), ARPHRD_LOOPBACK, incoming, 6 zero bytes.
    const LIBPCAP_LO_IN: [u8; 20] = [
        0x08, 0x00, 0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    #[test]
    fn emits_what_libpcap_writes() {
        let h = Sll2 {
            protocol: 0x0800,
            ifindex: 1,
            hatype: 772,
            pkttype: pkttype::HOST,
            addr_len: 6,
            addr: [0; 8],
        };
        assert_eq!(h.to_bytes(), LIBPCAP_LO_IN);
        assert_eq!(Sll2::parse(&LIBPCAP_LO_IN), Some(h));
    }

    #[test]
    fn round_trips_through_the_decoder() {
        let h = Sll2 {
            protocol: 0x86dd,
            ifindex: 0x0102_0304,
            hatype: 1,
            pkttype: pkttype::OUTGOING,
            addr_len: 6,
            addr: [2, 0, 0, 0, 0, 9, 0, 0],
        };
        let mut frame = h.to_bytes().to_vec();
        assert_eq!(Sll2::parse(&frame), Some(h));
        frame.extend_from_slice(&[0x60; 40]);
        let d = decode(LinkType::LinuxSll2, &frame);
        assert_eq!(
            d.link,
            Link::Sll {
                version: 2,
                pkttype: 4,
                hatype: 1,
                ifindex: 0x0102_0304,
                protocol: 0x86dd
            }
        );
        assert!(matches!(d.net, Net::Ipv6(_)), "{d:?}");
    }

    #[test]
    fn truncated_header_is_none() {
        for n in 0..LEN {
            assert_eq!(Sll2::parse(&LIBPCAP_LO_IN[..n]), None, "{n} bytes");
        }
    }

    #[test]
    fn directions_as_tcpdump_names_them() {
        let names: Vec<&str> = (0..6).map(direction).collect();
        assert_eq!(names, ["In", "B", "M", "P", "Out", "?"]);
        assert_eq!(direction(0x104), "?");
    }
}
