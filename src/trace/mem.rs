//! Reading a stopped tracee's memory with `process_vm_readv`: buffers,
//! socket addresses, small structs. A read that fails (bad pointer, the
//! process died) gives fewer bytes, never an error: the call line then
//! shows what could be read.

use nix::unistd::Pid;

use super::addr::Addr;

/// Most bytes read from one buffer (payload previews are far smaller).
pub const MAX_READ: usize = 64 * 1024;

/// Up to `len` bytes at `addr` in `pid` (fewer if part is unreadable).
pub fn read(pid: Pid, addr: u64, len: usize) -> Vec<u8> {
    let len = len.min(MAX_READ);
    if addr == 0 || len == 0 {
        return Vec::new();
    }
    let mut buf = vec![0u8; len];
    let n = read_into(pid, addr, &mut buf);
    buf.truncate(n);
    buf
}

/// Read `out.len()` bytes at `addr` in `pid` into `out`; how many were read.
pub fn read_into(pid: Pid, addr: u64, out: &mut [u8]) -> usize {
    if out.is_empty() {
        return 0;
    }
    let local = libc::iovec {
        iov_base: out.as_mut_ptr().cast(),
        iov_len: out.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: out.len(),
    };
    // SAFETY: `local` describes `out`, which outlives the call; the remote
    // range is only read by the kernel, which checks it.
    let n = unsafe { libc::process_vm_readv(pid.as_raw(), &local, 1, &remote, 1, 0) };
    n.max(0) as usize
}

/// Write `bytes` at `addr` in `pid`; how many were written.
pub fn write(pid: Pid, addr: u64, bytes: &[u8]) -> usize {
    if bytes.is_empty() {
        return 0;
    }
    let local = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: `local` describes `bytes` (only read); the kernel checks the remote range.
    let n = unsafe { libc::process_vm_writev(pid.as_raw(), &local, 1, &remote, 1, 0) };
    n.max(0) as usize
}

/// A native-endian u32 at `addr`.
pub fn u32_at(pid: Pid, addr: u64) -> Option<u32> {
    let b = read(pid, addr, 4);
    Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

/// A native-endian u64 at `addr`.
pub fn u64_at(pid: Pid, addr: u64) -> Option<u64> {
    let b = read(pid, addr, 8);
    Some(u64::from_ne_bytes(b.get(..8)?.try_into().ok()?))
}

/// The socket address at `addr`, `len` bytes long (an input argument).
pub fn sockaddr(pid: Pid, addr: u64, len: u64) -> Option<Addr> {
    if addr == 0 {
        return None;
    }
    Addr::from_bytes(&read(pid, addr, len.min(128) as usize))
}

/// The socket address the kernel wrote at `addr`, with its length at
/// `lenp` (an output argument: `accept`, `recvfrom`, `getsockname`).
pub fn sockaddr_out(pid: Pid, addr: u64, lenp: u64) -> Option<Addr> {
    if addr == 0 || lenp == 0 {
        return None;
    }
    let len = u32_at(pid, lenp)?;
    sockaddr(pid, addr, u64::from(len))
}

/// An iovec array: (base, len) pairs, at most `max` of them.
pub fn iovecs(pid: Pid, addr: u64, count: u64, max: usize) -> Vec<(u64, u64)> {
    let n = (count as usize).min(max);
    read(pid, addr, n * 16)
        .chunks_exact(16)
        .map(|c| {
            let base = u64::from_ne_bytes(c[..8].try_into().unwrap_or([0; 8]));
            let len = u64::from_ne_bytes(c[8..].try_into().unwrap_or([0; 8]));
            (base, len)
        })
        .collect()
}

/// The first `limit` bytes described by an iovec array (gathered).
pub fn gather(pid: Pid, iov: &[(u64, u64)], limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (base, len) in iov {
        if out.len() >= limit {
            break;
        }
        let want = (*len as usize).min(limit - out.len());
        out.extend(read(pid, *base, want));
    }
    out
}

/// A `struct msghdr` (the fields socklab shows).
#[derive(Debug, Clone, Copy, Default)]
pub struct MsgHdr {
    /// Address pointer (`msg_name`).
    pub name: u64,
    /// Address length.
    pub namelen: u32,
    /// iovec array pointer.
    pub iov: u64,
    /// iovec count.
    pub iovlen: u64,
}

/// Read the `msghdr` at `addr`.
pub fn msghdr(pid: Pid, addr: u64) -> Option<MsgHdr> {
    let b = read(pid, addr, 56);
    if b.len() < 32 {
        return None;
    }
    let u64_at = |o: usize| u64::from_ne_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
    Some(MsgHdr {
        name: u64_at(0),
        namelen: u32::from_ne_bytes(b[8..12].try_into().unwrap_or([0; 4])),
        iov: u64_at(16),
        iovlen: u64_at(24),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_memory() {
        let me = Pid::this();
        let data = *b"hello, tracee";
        assert_eq!(read(me, data.as_ptr() as u64, 5), b"hello");
        assert_eq!(read(me, 0, 5), b"");
        let v: u32 = 0xdead_beef;
        assert_eq!(u32_at(me, &v as *const u32 as u64), Some(0xdead_beef));
        let iov = [
            libc::iovec {
                iov_base: data.as_ptr() as *mut _,
                iov_len: 5,
            },
            libc::iovec {
                iov_base: data[7..].as_ptr() as *mut _,
                iov_len: 6,
            },
        ];
        let list = iovecs(me, iov.as_ptr() as u64, 2, 8);
        assert_eq!(gather(me, &list, 64), b"hellotracee");
        assert_eq!(gather(me, &list, 7), b"hellotr");
    }

    #[test]
    fn unreadable_address_gives_nothing() {
        assert_eq!(read(Pid::this(), 8, 16), b"");
    }
}
