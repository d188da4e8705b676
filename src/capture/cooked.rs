//! Cooked capture (`-i any`): a `SOCK_DGRAM` packet socket hands out each
//! packet from its network header on, with a `struct sockaddr_ll` saying
//! which interface, which direction and which protocol; socklab puts an
//! SLL2 header ([`crate::wire::sll2`]) in front, as libpcap does, so the
//! packet decodes, filters and saves as `tcpdump -i any`'s do.
//!
//! Pure: reads the kernel's bytes, never panics (missing bytes read as 0).

use crate::wire::sll2::Sll2;

/// Offsets in `struct sockaddr_ll` (host order but for the protocol).
mod sll {
    pub const PROTOCOL: usize = 2;
    pub const IFINDEX: usize = 4;
    pub const HATYPE: usize = 8;
    pub const PKTTYPE: usize = 10;
    pub const HALEN: usize = 11;
    pub const ADDR: usize = 12;
}

/// Size of `struct sockaddr_ll`.
pub const SOCKADDR_LL_LEN: usize = 20;

/// The SLL2 header for the packet a `struct sockaddr_ll` describes (the
/// fields libpcap copies; the kernel writes the sockaddr in host order
/// apart from the protocol).
pub fn sll2_of(sa: &[u8]) -> Sll2 {
    let at = |i: usize| sa.get(i).copied().unwrap_or(0);
    let mut addr = [0u8; 8];
    for (k, a) in addr.iter_mut().enumerate() {
        *a = at(sll::ADDR + k);
    }
    Sll2 {
        protocol: u16::from_be_bytes([at(sll::PROTOCOL), at(sll::PROTOCOL + 1)]),
        ifindex: u32::from_ne_bytes([
            at(sll::IFINDEX),
            at(sll::IFINDEX + 1),
            at(sll::IFINDEX + 2),
            at(sll::IFINDEX + 3),
        ]),
        hatype: u16::from_ne_bytes([at(sll::HATYPE), at(sll::HATYPE + 1)]),
        pkttype: at(sll::PKTTYPE),
        addr_len: at(sll::HALEN),
        addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_ll_becomes_the_sll2_fields() {
        // AF_PACKET, ETH_P_IP, ifindex 3, ARPHRD_ETHER, outgoing, 6-byte MAC.
        let mut sa = [0u8; SOCKADDR_LL_LEN];
        sa[0..2].copy_from_slice(&17u16.to_ne_bytes());
        sa[2..4].copy_from_slice(&0x0800u16.to_be_bytes());
        sa[4..8].copy_from_slice(&3i32.to_ne_bytes());
        sa[8..10].copy_from_slice(&1u16.to_ne_bytes());
        sa[10] = 4;
        sa[11] = 6;
        sa[12..18].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        assert_eq!(
            sll2_of(&sa),
            Sll2 {
                protocol: 0x0800,
                ifindex: 3,
                hatype: 1,
                pkttype: 4,
                addr_len: 6,
                addr: [2, 0, 0, 0, 0, 1, 0, 0],
            }
        );
        // Short input never panics.
        assert_eq!(sll2_of(&sa[..3]).ifindex, 0);
    }
}
