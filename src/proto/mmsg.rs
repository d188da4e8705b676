//! Batched datagram I/O with `recvmmsg`/`sendmmsg`: many datagrams per
//! system call, which is what lets the UDP calculator serve hundreds of
//! thousands of requests per second. All `unsafe` for it lives here.
//!
//! Buffers are allocated once in [`Batch::new`]; receiving and sending
//! allocate nothing.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

/// Bytes kept of each datagram; longer ones are reported with their real length.
pub const SLOT: usize = 512;

/// A set of datagram slots for one batched receive.
pub struct Batch {
    bufs: Vec<[u8; SLOT]>,
    names: Vec<libc::sockaddr_storage>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    filled: usize,
}

// SAFETY: the raw pointers inside the headers only point into this struct's
// own heap buffers, which move with it.
unsafe impl Send for Batch {}

impl Batch {
    /// `n` slots (at least 1).
    pub fn new(n: usize) -> Self {
        let n = n.max(1);
        // SAFETY: these are plain C structs for which all-zero is valid.
        let (name, iov, hdr) = unsafe {
            (
                zeroed::<libc::sockaddr_storage>(),
                zeroed::<libc::iovec>(),
                zeroed::<libc::mmsghdr>(),
            )
        };
        Batch {
            bufs: vec![[0u8; SLOT]; n],
            names: vec![name; n],
            iovs: vec![iov; n],
            hdrs: vec![hdr; n],
            filled: 0,
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.bufs.len()
    }

    /// Receive up to `capacity()` datagrams: blocks (up to the socket's
    /// SO_RCVTIMEO) for the first, then takes what is already queued.
    /// Returns how many slots were filled.
    pub fn recv(&mut self, sock: &impl AsRawFd) -> io::Result<usize> {
        let n = self.bufs.len();
        for i in 0..n {
            self.iovs[i].iov_base = self.bufs[i].as_mut_ptr().cast();
            self.iovs[i].iov_len = SLOT;
            let h = &mut self.hdrs[i].msg_hdr;
            h.msg_name = (&mut self.names[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut self.iovs[i];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            h.msg_flags = 0;
            self.hdrs[i].msg_len = 0;
        }
        // SAFETY: every header points at live buffers of the stated sizes owned
        // by self, which outlives the call; n matches the array length.
        let r = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                self.hdrs.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_WAITFORONE | libc::MSG_TRUNC,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            self.filled = 0;
            return Err(io::Error::last_os_error());
        }
        self.filled = r as usize;
        Ok(self.filled)
    }

    /// The real length of datagram `i` (may exceed [`SLOT`]).
    pub fn len(&self, i: usize) -> usize {
        self.hdrs[i].msg_len as usize
    }

    /// True when no datagram is held.
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// The bytes kept of datagram `i` (at most [`SLOT`]).
    pub fn data(&self, i: usize) -> &[u8] {
        &self.bufs[i][..self.len(i).min(SLOT)]
    }

    /// The sender of datagram `i`.
    pub fn from(&self, i: usize) -> Option<SocketAddr> {
        let len = self.hdrs[i].msg_hdr.msg_namelen as usize;
        // SAFETY: the kernel wrote an address of `len` bytes into names[i],
        // a sockaddr_storage large enough for any family.
        unsafe {
            super::sockaddr::from_raw(
                (&self.names[i] as *const libc::sockaddr_storage).cast(),
                len,
            )
        }
    }

    /// Send `replies[k].1` back to the sender of slot `replies[k].0`, all in
    /// as few `sendmmsg` calls as the kernel allows. Returns how many went out.
    /// `replies` must be in ascending slot order; afterwards the received
    /// data is no longer valid.
    pub fn send_back(
        &mut self,
        sock: &impl AsRawFd,
        replies: &mut [(usize, [u8; 4])],
    ) -> io::Result<usize> {
        let m = replies.len().min(self.hdrs.len());
        for (k, (slot, data)) in replies.iter_mut().take(m).enumerate() {
            let slot = *slot;
            // Header k is reused for reply k; its sender is read first, and
            // slots ascend, so no sender is overwritten before it is used.
            debug_assert!(slot >= k);
            self.iovs[k].iov_base = data.as_mut_ptr().cast();
            self.iovs[k].iov_len = data.len();
            let namelen = self.hdrs[slot].msg_hdr.msg_namelen;
            let name = (&mut self.names[slot] as *mut libc::sockaddr_storage).cast();
            let h = &mut self.hdrs[k].msg_hdr;
            h.msg_name = name;
            h.msg_namelen = namelen;
            h.msg_iov = &mut self.iovs[k];
            h.msg_iovlen = 1;
        }
        send_all(sock, &mut self.hdrs[..m])
    }
}

/// Send every prepared header, retrying the rest after a partial send.
fn send_all(sock: &impl AsRawFd, hdrs: &mut [libc::mmsghdr]) -> io::Result<usize> {
    let mut sent = 0;
    while sent < hdrs.len() {
        // SAFETY: the headers point at buffers that live for this call.
        let r = unsafe {
            libc::sendmmsg(
                sock.as_raw_fd(),
                hdrs[sent..].as_mut_ptr(),
                (hdrs.len() - sent) as libc::c_uint,
                libc::MSG_NOSIGNAL,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if sent > 0 {
                return Ok(sent);
            }
            return Err(e);
        }
        sent += r as usize;
    }
    Ok(sent)
}

/// Reusable headers for sending many small messages on a connected socket.
pub struct Sender {
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

// SAFETY: the raw pointers are rewritten before every use and only point at
// buffers borrowed for the duration of one call.
unsafe impl Send for Sender {}

impl Sender {
    /// Room for `n` messages per call.
    pub fn new(n: usize) -> Self {
        let n = n.max(1);
        // SAFETY: plain C structs, all-zero is valid.
        let (iov, hdr) = unsafe { (zeroed::<libc::iovec>(), zeroed::<libc::mmsghdr>()) };
        Sender {
            iovs: vec![iov; n],
            hdrs: vec![hdr; n],
        }
    }

    /// Send each message as one datagram with one `sendmmsg` (at most `n`).
    pub fn send(&mut self, sock: &impl AsRawFd, msgs: &mut [[u8; 12]]) -> io::Result<usize> {
        let m = msgs.len().min(self.hdrs.len());
        for (k, msg) in msgs.iter_mut().take(m).enumerate() {
            self.iovs[k].iov_base = msg.as_mut_ptr().cast();
            self.iovs[k].iov_len = msg.len();
            let h = &mut self.hdrs[k].msg_hdr;
            h.msg_name = std::ptr::null_mut();
            h.msg_namelen = 0;
            h.msg_iov = &mut self.iovs[k];
            h.msg_iovlen = 1;
        }
        send_all(sock, &mut self.hdrs[..m])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::time::Duration;

    #[test]
    fn batch_round_trip_on_loopback() {
        let srv = UdpSocket::bind("127.0.0.1:0").unwrap();
        srv.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let cli = UdpSocket::bind("127.0.0.1:0").unwrap();
        cli.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        cli.connect(srv.local_addr().unwrap()).unwrap();
        let mut reqs = [[1u8; 12], [2u8; 12], [3u8; 12]];
        assert_eq!(Sender::new(4).send(&cli, &mut reqs).unwrap(), 3);
        let mut b = Batch::new(8);
        let mut got = 0;
        while got < 3 {
            got += b.recv(&srv).unwrap();
        }
        assert_eq!(b.from(0), Some(cli.local_addr().unwrap()));
        let mut replies = [(0usize, [9u8; 4])];
        assert_eq!(b.send_back(&srv, &mut replies).unwrap(), 1);
        let mut buf = [0u8; 16];
        assert_eq!(cli.recv(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], &[9, 9, 9, 9]);
    }

    #[test]
    fn long_datagrams_report_their_real_length() {
        let srv = UdpSocket::bind("127.0.0.1:0").unwrap();
        srv.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let cli = UdpSocket::bind("127.0.0.1:0").unwrap();
        cli.send_to(&[7u8; 3000], srv.local_addr().unwrap())
            .unwrap();
        let mut b = Batch::new(2);
        assert_eq!(b.recv(&srv).unwrap(), 1);
        assert_eq!(b.len(0), 3000);
        assert_eq!(b.data(0).len(), SLOT);
    }
}
