//! Names a filter may use instead of numbers: services (`port http`), IP
//! protocols (`ip proto udp`), EtherTypes (`ether proto arp`) and the
//! named constants of byte-offset expressions (`tcp[tcpflags] & tcp-syn`).
//!
//! Services come from `/etc/services` as libpcap's do (so `port http` is
//! TCP only, as in tcpdump); a short built-in table stands in where the
//! file is missing.

use std::sync::OnceLock;

/// A service's port for TCP and for UDP (either may be missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// Port for TCP.
    pub tcp: Option<u16>,
    /// Port for UDP.
    pub udp: Option<u16>,
}

const BUILTIN_SERVICES: &str = "\
echo 7/tcp\necho 7/udp\ndiscard 9/tcp\ndiscard 9/udp\ndaytime 13/tcp\ndaytime 13/udp\n\
ftp-data 20/tcp\nftp 21/tcp\nssh 22/tcp\ntelnet 23/tcp\nsmtp 25/tcp mail\n\
domain 53/tcp\ndomain 53/udp\nbootps 67/udp\nbootpc 68/udp\ntftp 69/udp\n\
http 80/tcp www\npop3 110/tcp\nntp 123/udp\nimap2 143/tcp imap\nsnmp 161/tcp\nsnmp 161/udp\n\
https 443/tcp\nhttps 443/udp\n";

fn services() -> &'static [(String, u16, bool)] {
    static TABLE: OnceLock<Vec<(String, u16, bool)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let text = std::fs::read_to_string("/etc/services")
            .unwrap_or_else(|_| BUILTIN_SERVICES.to_string());
        let mut out = Vec::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut f = line.split_whitespace();
            let (Some(name), Some(pp)) = (f.next(), f.next()) else {
                continue;
            };
            let Some((port, proto)) = pp.split_once('/') else {
                continue;
            };
            let (Ok(port), tcp) = (port.parse::<u16>(), proto == "tcp") else {
                continue;
            };
            if proto != "tcp" && proto != "udp" {
                continue;
            }
            out.push((name.to_ascii_lowercase(), port, tcp));
            for alias in f {
                out.push((alias.to_ascii_lowercase(), port, tcp));
            }
        }
        out
    })
}

/// The ports of a service name such as `http` or `domain`.
pub fn service(name: &str) -> Option<Service> {
    let name = name.to_ascii_lowercase();
    let mut s = Service {
        tcp: None,
        udp: None,
    };
    for (n, port, tcp) in services() {
        if *n == name {
            let slot = if *tcp { &mut s.tcp } else { &mut s.udp };
            slot.get_or_insert(*port);
        }
    }
    (s.tcp.is_some() || s.udp.is_some()).then_some(s)
}

/// An IP protocol number by name (`tcp`, `udp`, `icmp`, ...), with or
/// without tcpdump's backslash (`\udp`).
pub fn ip_proto(name: &str) -> Option<u8> {
    Some(match name.trim_start_matches('\\') {
        "icmp" => 1,
        "igmp" => 2,
        "ipip" | "ipencap" => 4,
        "tcp" => 6,
        "egp" => 8,
        "udp" => 17,
        "ipv6" | "ip6" => 41,
        "rsvp" => 46,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "icmp6" | "ipv6-icmp" => 58,
        "ospf" => 89,
        "pim" => 103,
        "vrrp" => 112,
        "sctp" => 132,
        _ => return None,
    })
}

/// An EtherType by name, for `ether proto NAME`.
pub fn ethertype(name: &str) -> Option<u16> {
    Some(match name.trim_start_matches('\\') {
        "ip" => 0x0800,
        "arp" => 0x0806,
        "rarp" => 0x8035,
        "ip6" => 0x86dd,
        "atalk" => 0x809b,
        "aarp" => 0x80f3,
        "ipx" => 0x8137,
        "mopdl" => 0x6001,
        "moprc" => 0x6002,
        "lat" => 0x6004,
        "sca" => 0x6007,
        "decnet" => 0x6003,
        _ => return None,
    })
}

/// A named constant usable in arithmetic (`tcpflags`, `tcp-syn`,
/// `icmptype`, `icmp-echo`, `icmp6type`, `icmp6-echo`, ...).
pub fn constant(name: &str) -> Option<u32> {
    Some(match name {
        "tcpflags" => 13,
        "icmptype" | "icmp6type" => 0,
        "icmpcode" | "icmp6code" => 1,
        "tcp-fin" => 0x01,
        "tcp-syn" => 0x02,
        "tcp-rst" => 0x04,
        "tcp-push" => 0x08,
        "tcp-ack" => 0x10,
        "tcp-urg" => 0x20,
        "tcp-ece" => 0x40,
        "tcp-cwr" => 0x80,
        "icmp-echoreply" => 0,
        "icmp-unreach" => 3,
        "icmp-sourcequench" => 4,
        "icmp-redirect" => 5,
        "icmp-echo" => 8,
        "icmp-routeradvert" => 9,
        "icmp-routersolicit" => 10,
        "icmp-timxceed" => 11,
        "icmp-paramprob" => 12,
        "icmp-tstamp" => 13,
        "icmp-tstampreply" => 14,
        "icmp-ireq" => 15,
        "icmp-ireqreply" => 16,
        "icmp-maskreq" => 17,
        "icmp-maskreply" => 18,
        "icmp6-destinationunreach" => 1,
        "icmp6-packettoobig" => 2,
        "icmp6-timeexceeded" => 3,
        "icmp6-parameterproblem" => 4,
        "icmp6-echo" => 128,
        "icmp6-echoreply" => 129,
        "icmp6-multicastlistenerquery" => 130,
        "icmp6-multicastlistenerreportv1" => 131,
        "icmp6-multicastlistenerdone" => 132,
        "icmp6-routersolicit" => 133,
        "icmp6-routeradvert" => 134,
        "icmp6-neighborsolicit" => 135,
        "icmp6-neighboradvert" => 136,
        "icmp6-redirect" => 137,
        "icmp6-routerrenum" => 138,
        "icmp6-nodeinformationquery" => 139,
        "icmp6-nodeinformationresponse" => 140,
        "icmp6-ineighbordiscoverysolicit" => 141,
        "icmp6-ineighbordiscoveryadvert" => 142,
        "icmp6-multicastlistenerreportv2" => 143,
        "icmp6-homeagentdiscoveryrequest" => 144,
        "icmp6-homeagentdiscoveryreply" => 145,
        "icmp6-mobileprefixsolicit" => 146,
        "icmp6-mobileprefixadvert" => 147,
        "icmp6-certpathsolicit" => 148,
        "icmp6-certpathadvert" => 149,
        "icmp6-multicastrouteradvert" => 151,
        "icmp6-multicastroutersolicit" => 152,
        "icmp6-multicastrouterterm" => 153,
        _ => return None,
    })
}

/// Words of tcpdump's filter language that socklab does not implement.
pub const UNSUPPORTED: &[&str] = &[
    "gateway",
    "protochain",
    "mpls",
    "pppoed",
    "pppoes",
    "geneve",
    "vxlan",
    "decnet",
    "iso",
    "atalk",
    "aarp",
    "ipx",
    "netbeui",
    "stp",
    "lat",
    "mopdl",
    "moprc",
    "sca",
    "clnp",
    "esis",
    "isis",
    "l1",
    "l2",
    "iih",
    "lsp",
    "snp",
    "csnp",
    "psnp",
    "llc",
    "wlan",
    "type",
    "subtype",
    "dir",
    "ifname",
    "on",
    "rnr",
    "rulenum",
    "reason",
    "rset",
    "ruleset",
    "srnr",
    "subrulenum",
    "action",
    "fddi",
    "tr",
    "ppp",
    "slip",
    "radio",
    "atm",
    "lane",
    "oamf4",
    "oamf4ec",
    "oamf4sc",
    "oam",
    "metac",
    "bcc",
    "sc",
    "ilmic",
    "connectmsg",
    "metaconnect",
    "vpi",
    "vci",
    "fisu",
    "lssu",
    "msu",
    "hfisu",
    "hlssu",
    "hmsu",
    "sio",
    "opc",
    "dpc",
    "sls",
    "hsio",
    "hopc",
    "hdpc",
    "hsls",
    "ah",
    "esp",
    "vrrp",
    "carp",
    "pim",
    "ra",
    "ta",
    "addr1",
    "addr2",
    "addr3",
    "addr4",
    "ifindex",
    "ipv6",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(ip_proto("\\udp"), Some(17));
        assert_eq!(ethertype("arp"), Some(0x806));
        assert_eq!(constant("tcp-ack"), Some(0x10));
        assert_eq!(constant("tcpflags"), Some(13));
        assert_eq!(constant("icmp6-echo"), Some(128));
        let d = service("domain").expect("domain is a service");
        assert_eq!((d.tcp, d.udp), (Some(53), Some(53)));
        assert!(service("no-such-service-here").is_none());
    }
}
