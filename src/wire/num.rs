//! Fast text for the per-packet hot path: integers, IPv4 addresses (and
//! `ADDRESS.PORT` endpoints), zero-padded fields and MAC addresses, pushed
//! straight into a `String` (`core::fmt` costs several times more per
//! number, and a capture prints millions). The one number writer of the
//! crate: the tracker's endpoints and every printer use it.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

/// Two ASCII digits for each value 0..100.
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The decimal digits of `n`, right-aligned in `buf`; returns where they start.
pub fn digits(buf: &mut [u8; 20], mut n: u64) -> usize {
    let mut i = buf.len();
    while n >= 100 {
        let p = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i] = PAIRS[p];
        buf[i + 1] = PAIRS[p + 1];
    }
    if n >= 10 {
        let p = n as usize * 2;
        i -= 2;
        buf[i] = PAIRS[p];
        buf[i + 1] = PAIRS[p + 1];
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    i
}

/// Append the decimal digits of `n`.
pub fn push_u64(out: &mut String, n: u64) {
    let mut buf = [0u8; 20];
    let i = digits(&mut buf, n);
    // Pushing ASCII chars one by one beats `from_utf8` + `push_str` on
    // slices this short (no validation, no memcpy call).
    out.reserve(buf.len() - i);
    for &d in &buf[i..] {
        out.push(char::from(d));
    }
}

/// Append `n` with at least `width` digits, zero-padded.
pub fn push_padded(out: &mut String, n: u64, width: usize) {
    let mut digits = 1;
    let mut m = n / 10;
    while m > 0 {
        digits += 1;
        m /= 10;
    }
    for _ in digits..width {
        out.push('0');
    }
    push_u64(out, n);
}

/// A MAC address as `aa:bb:cc:dd:ee:ff` (the one MAC formatter).
pub fn mac(m: &[u8; 6]) -> impl std::fmt::Display + '_ {
    struct M<'a>(&'a [u8; 6]);
    impl std::fmt::Display for M<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let m = self.0;
            write!(
                f,
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                m[0], m[1], m[2], m[3], m[4], m[5]
            )
        }
    }
    M(m)
}

/// Append a dotted-quad IPv4 address.
pub fn push_ipv4(out: &mut String, a: Ipv4Addr) {
    let mut buf = [0u8; 21];
    let n = put_ipv4(&mut buf, a);
    out.extend(buf[..n].iter().map(|&b| char::from(b)));
}

/// `a` in dotted-quad form at the start of `buf`; returns the length (at most 15).
fn put_ipv4(buf: &mut [u8; 21], a: Ipv4Addr) -> usize {
    let mut n = 0;
    for (k, o) in a.octets().into_iter().enumerate() {
        if k > 0 {
            buf[n] = b'.';
            n += 1;
        }
        n += put_u64(&mut buf[n..], u64::from(o));
    }
    n
}

/// The digits of `n` at the start of `out` (which has room); returns how many.
fn put_u64(out: &mut [u8], n: u64) -> usize {
    let mut d = [0u8; 20];
    let i = digits(&mut d, n);
    out[..20 - i].copy_from_slice(&d[i..]);
    20 - i
}

/// tcpdump's `ADDRESS.PORT` for an IPv4 endpoint, written on the stack:
/// `127.0.0.1.40000`.
pub fn ipv4_port(buf: &mut [u8; 21], a: Ipv4Addr, port: u16) -> &str {
    let mut n = put_ipv4(buf, a);
    buf[n] = b'.';
    n += 1;
    n += put_u64(&mut buf[n..], u64::from(port));
    std::str::from_utf8(&buf[..n]).unwrap_or_default()
}

/// Append an IP address (IPv6 in its canonical compressed form).
pub fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => push_ipv4(out, a),
        IpAddr::V6(a) => {
            let _ = write!(out, "{a}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_addresses() {
        let mut s = String::new();
        for n in [
            0u64,
            7,
            9,
            10,
            99,
            100,
            101,
            999,
            1000,
            65535,
            1 << 32,
            u64::MAX,
        ] {
            s.clear();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        s.clear();
        push_padded(&mut s, 42, 6);
        push_padded(&mut s, 1234567, 3);
        assert_eq!(s, "0000421234567");
        s.clear();
        push_ip(&mut s, IpAddr::from([192, 168, 0, 10]));
        s.push(' ');
        push_ip(&mut s, "::1".parse().expect("v6"));
        assert_eq!(s, "192.168.0.10 ::1");
    }
}
