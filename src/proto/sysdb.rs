//! The system databases behind Python's `socket.getservbyname`,
//! `getaddrinfo` and `gethostbyaddr`, through libc. All `unsafe` for them
//! lives here; callers get owned Rust values.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// `getservbyname(name, proto)`: the port of a service, from /etc/services.
pub fn service_port(name: &str, proto: &str) -> Option<u16> {
    let n = CString::new(name).ok()?;
    let p = CString::new(proto).ok()?;
    // SAFETY: both arguments are valid C strings; the result points into
    // libc's static storage and is read before any other lookup.
    let ent = unsafe { libc::getservbyname(n.as_ptr(), p.as_ptr()) };
    if ent.is_null() {
        return None;
    }
    // SAFETY: non-null result of getservbyname; s_port is in network order.
    let port = unsafe { (*ent).s_port };
    Some(u16::from_be(port as u16))
}

/// Every service name and alias listed for `proto` in /etc/services (the
/// file getservbyname reads); empty when the file is missing.
pub fn service_names(proto: &str) -> Vec<String> {
    let text = std::fs::read_to_string("/etc/services").unwrap_or_default();
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let (Some(name), Some(port_proto)) = (fields.next(), fields.next()) else {
            continue;
        };
        if port_proto.split_once('/').map(|(_, p)| p) == Some(proto) {
            names.push(name.to_string());
            names.extend(fields.map(str::to_string));
        }
    }
    names
}

/// One `getaddrinfo` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrInfo {
    /// `AF_INET`, `AF_INET6`.
    pub family: i32,
    /// `SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_RAW`.
    pub socktype: i32,
    /// `IPPROTO_TCP`, `IPPROTO_UDP`, 0.
    pub protocol: i32,
    /// The address.
    pub addr: SocketAddr,
    /// Canonical name (first row only, when asked).
    pub canonname: Option<String>,
}

/// A failed `getaddrinfo`: the `gai_strerror` text and the EAI code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaiError {
    /// EAI_* code.
    pub code: i32,
    /// Human text.
    pub text: String,
}

/// `getaddrinfo(host, service)` with no hints but AI_CANONNAME: every row.
pub fn getaddrinfo(host: &str, service: Option<&str>) -> Result<Vec<AddrInfo>, GaiError> {
    let bad = |t: &str| GaiError {
        code: libc::EAI_NONAME,
        text: t.to_string(),
    };
    let h = CString::new(host).map_err(|_| bad("the name contains a NUL byte"))?;
    let s = match service {
        Some(s) => Some(CString::new(s).map_err(|_| bad("the service contains a NUL byte"))?),
        None => None,
    };
    // SAFETY: zeroed addrinfo is the documented way to fill hints.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C strings (or null), valid hints, out-pointer to fill.
    let rc = unsafe {
        libc::getaddrinfo(
            h.as_ptr(),
            s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            &hints,
            &mut res,
        )
    };
    if rc != 0 {
        // SAFETY: gai_strerror returns a static C string for any code.
        let text = unsafe { CStr::from_ptr(libc::gai_strerror(rc)) }
            .to_string_lossy()
            .into_owned();
        return Err(GaiError { code: rc, text });
    }
    let mut rows = Vec::new();
    let mut p = res;
    while !p.is_null() {
        // SAFETY: p walks the list getaddrinfo returned, freed below.
        let ai = unsafe { &*p };
        // SAFETY: ai_addr holds ai_addrlen bytes of the family's sockaddr.
        if let Some(addr) = unsafe { super::sockaddr::from_raw(ai.ai_addr, ai.ai_addrlen as usize) }
        {
            let canonname = (!ai.ai_canonname.is_null()).then(|| {
                // SAFETY: non-null canonname is a C string owned by the list.
                unsafe { CStr::from_ptr(ai.ai_canonname) }
                    .to_string_lossy()
                    .into_owned()
            });
            rows.push(AddrInfo {
                family: ai.ai_family,
                socktype: ai.ai_socktype,
                protocol: ai.ai_protocol,
                addr,
                canonname,
            });
        }
        p = ai.ai_next;
    }
    // SAFETY: res came from a successful getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(res) };
    Ok(rows)
}

/// What `gethostbyaddr` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEnt {
    /// Official name.
    pub name: String,
    /// Other names.
    pub aliases: Vec<String>,
    /// Addresses.
    pub addrs: Vec<IpAddr>,
}

extern "C" {
    fn gethostbyaddr(
        addr: *const libc::c_void,
        len: libc::socklen_t,
        ty: libc::c_int,
    ) -> *mut libc::hostent;
}

/// `gethostbyaddr(addr)`: reverse lookup through /etc/hosts and DNS.
pub fn host_by_addr(ip: IpAddr) -> Option<HostEnt> {
    let (bytes, family): (Vec<u8>, i32) = match ip {
        IpAddr::V4(a) => (a.octets().to_vec(), libc::AF_INET),
        IpAddr::V6(a) => (a.octets().to_vec(), libc::AF_INET6),
    };
    // SAFETY: bytes holds the address of the stated family and length; the
    // result points into libc's static storage and is copied out at once.
    let h = unsafe {
        gethostbyaddr(
            bytes.as_ptr().cast(),
            bytes.len() as libc::socklen_t,
            family,
        )
    };
    if h.is_null() {
        return None;
    }
    // SAFETY: non-null hostent from libc; its lists are NULL-terminated.
    unsafe {
        let h = &*h;
        let name = CStr::from_ptr(h.h_name).to_string_lossy().into_owned();
        let mut aliases = Vec::new();
        let mut a = h.h_aliases;
        while !a.is_null() && !(*a).is_null() {
            aliases.push(CStr::from_ptr(*a).to_string_lossy().into_owned());
            a = a.add(1);
        }
        let mut addrs = Vec::new();
        let mut p = h.h_addr_list;
        while !p.is_null() && !(*p).is_null() {
            let raw = (*p).cast::<u8>();
            match h.h_addrtype {
                libc::AF_INET if h.h_length == 4 => {
                    let mut o = [0u8; 4];
                    std::ptr::copy_nonoverlapping(raw, o.as_mut_ptr(), 4);
                    addrs.push(IpAddr::V4(Ipv4Addr::from(o)));
                }
                libc::AF_INET6 if h.h_length == 16 => {
                    let mut o = [0u8; 16];
                    std::ptr::copy_nonoverlapping(raw, o.as_mut_ptr(), 16);
                    addrs.push(IpAddr::V6(Ipv6Addr::from(o)));
                }
                _ => {}
            }
            p = p.add(1);
        }
        Some(HostEnt {
            name,
            aliases,
            addrs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_database() {
        if !std::path::Path::new("/etc/services").exists() {
            eprintln!("skipped: /etc/services missing (install netbase)");
            return;
        }
        assert_eq!(service_port("http", "tcp"), Some(80));
        assert_eq!(service_port("no-such-service-xyz", "tcp"), None);
    }

    #[test]
    fn numeric_getaddrinfo_and_reverse() {
        let rows = getaddrinfo("127.0.0.1", Some("80")).unwrap();
        assert!(rows
            .iter()
            .any(|r| r.socktype == libc::SOCK_STREAM && r.addr.port() == 80));
        let h = host_by_addr("127.0.0.1".parse().unwrap());
        if let Some(h) = h {
            assert!(!h.name.is_empty());
        }
        assert!(getaddrinfo("no-such-host.invalid", None).is_err());
    }
}
