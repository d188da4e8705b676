//! What the kernel says about a connection's state, from /proc/net/tcp
//! (what `ss -t` reads): to confirm TIME_WAIT in the lessons.

use std::net::SocketAddrV4;

/// State names by their number in /proc/net/tcp.
fn state_name(code: u8) -> &'static str {
    match code {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0A => "LISTEN",
        0x0B => "CLOSING",
        _ => "UNKNOWN",
    }
}

/// Parse `0100007F:9C40`: the address is the network-order 32-bit value
/// printed as a host-order number; the port is plain hex.
fn endpoint(s: &str) -> Option<SocketAddrV4> {
    let (a, p) = s.split_once(':')?;
    let raw = u32::from_str_radix(a, 16).ok()?;
    let port = u16::from_str_radix(p, 16).ok()?;
    Some(SocketAddrV4::new(raw.to_ne_bytes().into(), port))
}

/// The state of the IPv4 TCP connection `local` -> `remote`, if listed.
pub fn state_in(table: &str, local: SocketAddrV4, remote: SocketAddrV4) -> Option<&'static str> {
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (l, r, st) = (endpoint(f.get(1)?)?, endpoint(f.get(2)?)?, f.get(3)?);
        (l == local && r == remote).then(|| state_name(u8::from_str_radix(st, 16).unwrap_or(0)))
    })
}

/// The state of `local` -> `remote` now, from /proc/net/tcp.
pub fn state(local: SocketAddrV4, remote: SocketAddrV4) -> Option<&'static str> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    state_in(&table, local, remote)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_time_wait_row() {
        let t = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:9C40 0100007F:2719 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n";
        let l: SocketAddrV4 = "127.0.0.1:40000".parse().unwrap();
        let r: SocketAddrV4 = "127.0.0.1:10009".parse().unwrap();
        assert_eq!(state_in(t, l, r), Some("TIME_WAIT"));
        assert_eq!(state_in(t, r, l), None);
    }
}
