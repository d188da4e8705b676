//! Fast text for the per-packet hot path: integers, IPv4 addresses and
//! zero-padded fields pushed straight into a `String` (`core::fmt` costs
//! several times more per number, and a capture prints millions).

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

/// Append the decimal digits of `n`.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
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

/// Append a dotted-quad IPv4 address.
pub fn push_ipv4(out: &mut String, a: Ipv4Addr) {
    for (k, o) in a.octets().iter().enumerate() {
        if k > 0 {
            out.push('.');
        }
        push_u64(out, u64::from(*o));
    }
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
        for n in [0u64, 7, 10, 65535, u64::MAX] {
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
