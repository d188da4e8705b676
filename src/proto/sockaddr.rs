//! Kernel socket addresses (`sockaddr_in`, `sockaddr_in6`) to std's
//! `SocketAddr`: the one conversion used by the resolver and by batched I/O.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

/// Read a sockaddr of `len` bytes.
///
/// # Safety
/// `sa` must point at `len` readable bytes of a socket address (or be null).
pub unsafe fn from_raw(sa: *const libc::sockaddr, len: usize) -> Option<SocketAddr> {
    if sa.is_null() {
        return None;
    }
    // SAFETY (for the reads below): the caller guarantees `len` readable
    // bytes, and each arm checks the family and that `len` covers its struct.
    match i32::from((*sa).sa_family) {
        libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
            let sin = &*(sa.cast::<libc::sockaddr_in>());
            Some(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))),
                u16::from_be(sin.sin_port),
            ))
        }
        libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
            let sin6 = &*(sa.cast::<libc::sockaddr_in6>());
            // Keep the scope id: a link-local peer is unreachable without it.
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_and_v6_with_scope() {
        let v4: SocketAddr = "127.0.0.1:10009".parse().unwrap();
        let v6: SocketAddr = "[fe80::1%3]:5000".parse().unwrap();
        for a in [v4, v6] {
            let sa = socket2::SockAddr::from(a);
            // SAFETY: SockAddr holds a valid address of the stated length.
            let back = unsafe { from_raw(sa.as_ptr().cast(), sa.len() as usize) };
            assert_eq!(back, Some(a));
        }
        // SAFETY: null is allowed and yields None.
        assert_eq!(unsafe { from_raw(std::ptr::null(), 16) }, None);
        let sa = socket2::SockAddr::from(v4);
        // SAFETY: a length too short for the family is refused, not read.
        assert_eq!(unsafe { from_raw(sa.as_ptr().cast(), 4) }, None);
    }
}
