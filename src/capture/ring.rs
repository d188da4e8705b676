//! A memory-mapped receive ring (`PACKET_RX_RING`, `TPACKET_V3`), as
//! libpcap uses on Linux: the kernel writes packets into blocks of a shared
//! buffer, with their timestamps and lengths in headers, and hands over a
//! whole block at a time; reading costs no system call per packet (one
//! `poll` when the ring is empty). Every `unsafe` block of the ring is here.
//!
//! Rules: a packet borrows the ring until the next call to [`Ring::next`],
//! which gives the block back to the kernel once all its packets were read.
//! Nothing here panics on what the kernel writes: offsets are checked
//! against the block before any byte is read.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::Timestamp;

const PACKET_RX_RING: libc::c_int = 5;
const PACKET_VERSION: libc::c_int = 10;
const PACKET_RESERVE: libc::c_int = 12;
const TPACKET_V3: libc::c_int = 2;
const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;

/// Size of one block: the largest packet the ring holds whole is a little
/// less, still more than live capture's largest frame (256 KiB + 64), as
/// libpcap sizes its blocks for a 262,144-byte snap length.
pub const BLOCK_SIZE: usize = 512 << 10;
/// How long the kernel fills a block before handing it over anyway, so a
/// slow trickle of packets is still shown at once.
const BLOCK_TIMEOUT_MS: u32 = 10;
/// The frame size the kernel checks the request with (V3 packets are
/// variable-sized inside a block).
const FRAME_SIZE: u32 = 2048;

/// `struct tpacket_req3` from `<linux/if_packet.h>`.
#[repr(C)]
struct TpacketReq3 {
    tp_block_size: u32,
    tp_block_nr: u32,
    tp_frame_size: u32,
    tp_frame_nr: u32,
    tp_retire_blk_tov: u32,
    tp_sizeof_priv: u32,
    tp_feature_req_word: u32,
}

/// Offsets in `struct tpacket_block_desc` (version, offset_to_priv, then
/// `struct tpacket_hdr_v1`).
mod block {
    pub const STATUS: usize = 8;
    pub const NUM_PKTS: usize = 12;
    pub const FIRST_PKT: usize = 16;
}

/// Offsets in `struct tpacket3_hdr`.
mod pkt {
    pub const NEXT: usize = 0;
    pub const SEC: usize = 4;
    pub const NSEC: usize = 8;
    pub const SNAPLEN: usize = 12;
    pub const LEN: usize = 16;
    pub const MAC: usize = 24;
    /// The `struct sockaddr_ll` the kernel puts after the header
    /// (`TPACKET_ALIGN(sizeof(struct tpacket3_hdr))`).
    pub const SLL: usize = 48;
}

/// One packet read from the ring.
#[derive(Debug)]
pub struct RingPacket<'a> {
    /// The captured bytes (from the link-layer header).
    pub data: &'a [u8],
    /// Length on the wire.
    pub wire_len: usize,
    /// Kernel receive time.
    pub ts: Timestamp,
}

/// A mapped TPACKET_V3 receive ring on a packet socket.
#[derive(Debug)]
pub struct Ring {
    map: *mut u8,
    blocks: usize,
    cur: usize,
    /// Packets of the current block not read yet.
    left: u32,
    /// Offset in the current block of the next packet.
    next: usize,
    /// The current block is ours (to give back when done).
    holding: bool,
    /// A cooked (`SOCK_DGRAM`) socket: each packet is handed out behind an
    /// SLL2 header built in the room the kernel reserved before it.
    cooked: bool,
}

// SAFETY: the mapping is owned by the Ring alone and only touched through
// &mut self; moving it to another thread is fine.
unsafe impl Send for Ring {}

fn setsockopt<T>(fd: RawFd, name: libc::c_int, v: &T) -> io::Result<()> {
    // SAFETY: the pointer and length describe a live T on the caller's stack.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            name,
            (v as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl Ring {
    /// Set up a ring of about `bytes` (whole blocks, at least two) on the
    /// packet socket `fd`, before it is bound. `cooked`: `fd` is a
    /// `SOCK_DGRAM` packet socket, and packets come out with an SLL2
    /// header (as libpcap's `-i any`: the kernel leaves room for it).
    pub fn new(fd: &OwnedFd, bytes: usize, cooked: bool) -> io::Result<Ring> {
        let raw = fd.as_raw_fd();
        setsockopt(raw, PACKET_VERSION, &TPACKET_V3)?;
        if cooked {
            let reserve = crate::wire::sll2::LEN as libc::c_uint;
            setsockopt(raw, PACKET_RESERVE, &reserve)?;
        }
        let blocks = (bytes / BLOCK_SIZE).clamp(2, 4096);
        let req = TpacketReq3 {
            tp_block_size: BLOCK_SIZE as u32,
            tp_block_nr: blocks as u32,
            tp_frame_size: FRAME_SIZE,
            tp_frame_nr: (BLOCK_SIZE as u32 / FRAME_SIZE) * blocks as u32,
            tp_retire_blk_tov: BLOCK_TIMEOUT_MS,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(raw, PACKET_RX_RING, &req)?;
        let len = BLOCK_SIZE * blocks;
        // SAFETY: mapping the ring the kernel just allocated for this socket,
        // shared, at offset 0 with the length it was asked for.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                raw,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Ring {
            map: map.cast(),
            blocks,
            cur: 0,
            left: 0,
            next: 0,
            holding: false,
            cooked,
        })
    }

    /// Size of the ring in bytes.
    pub fn bytes(&self) -> usize {
        self.blocks * BLOCK_SIZE
    }

    /// Block `i`, not tied to a borrow of self (so the read position can
    /// move while a packet of it is returned).
    fn block<'a>(&self, i: usize) -> &'a [u8] {
        // SAFETY: block i lies inside the mapping (i < blocks), which lives
        // until self is dropped; callers read only a block the kernel has
        // handed over and return its packets borrowing &mut self, so the
        // block is not given back (or unmapped) while they are in use.
        unsafe { std::slice::from_raw_parts(self.map.add(i * BLOCK_SIZE), BLOCK_SIZE) }
    }

    /// Write `bytes` at offset `at` of block `i` (a block the kernel handed
    /// over, so it is ours until given back).
    fn write(&mut self, i: usize, at: usize, bytes: &[u8]) {
        if at + bytes.len() > BLOCK_SIZE || i >= self.blocks {
            return;
        }
        // SAFETY: the range lies inside block i of the mapping (checked
        // above); the block belongs to user space (TP_STATUS_USER) while
        // `holding`, and no packet of it is borrowed during this call
        // (&mut self).
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.map.add(i * BLOCK_SIZE + at),
                bytes.len(),
            );
        }
    }

    fn status(&self, i: usize) -> &AtomicU32 {
        // SAFETY: the status word is 4-byte aligned inside block i of the
        // mapping, shared with the kernel, which updates it atomically.
        unsafe { &*(self.map.add(i * BLOCK_SIZE + block::STATUS) as *const AtomicU32) }
    }

    /// The next packet, or `Ok(None)` when none came within `timeout`.
    pub fn next(&mut self, fd: RawFd, timeout: Duration) -> io::Result<Option<RingPacket<'_>>> {
        let mut polled = false;
        loop {
            if self.left > 0 {
                self.left -= 1;
                let at = self.next;
                let b = self.block(self.cur);
                let u32_at = |o: usize| -> Option<u32> {
                    let s = b.get(at + o..at + o + 4)?;
                    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
                };
                let mac = b
                    .get(at + pkt::MAC..at + pkt::MAC + 2)
                    .map(|s| usize::from(u16::from_ne_bytes([s[0], s[1]])));
                let (Some(next), Some(sec), Some(nsec), Some(snap), Some(len), Some(mac)) = (
                    u32_at(pkt::NEXT),
                    u32_at(pkt::SEC),
                    u32_at(pkt::NSEC),
                    u32_at(pkt::SNAPLEN),
                    u32_at(pkt::LEN),
                    mac,
                ) else {
                    // A header past the block: give up on the rest of it.
                    self.left = 0;
                    continue;
                };
                self.next = if next == 0 {
                    self.left = 0;
                    at
                } else {
                    at + next as usize
                };
                let mut start = at + mac;
                let mut extra = 0;
                if self.cooked {
                    // The SLL2 header goes in the reserved room before the
                    // packet, after the sockaddr_ll (never over it).
                    let Some(h) = b
                        .get(at + pkt::SLL..at + pkt::SLL + super::cooked::SOCKADDR_LL_LEN)
                        .map(super::cooked::sll2_of)
                    else {
                        continue;
                    };
                    extra = crate::wire::sll2::LEN;
                    if mac < pkt::SLL + super::cooked::SOCKADDR_LL_LEN + extra {
                        continue;
                    }
                    start -= extra;
                    self.write(self.cur, start, &h.to_bytes());
                }
                let b = self.block(self.cur);
                let Some(data) = b.get(start..start + snap as usize + extra) else {
                    continue;
                };
                return Ok(Some(RingPacket {
                    data,
                    wire_len: len as usize + extra,
                    ts: Timestamp::new(i64::from(sec), nsec.min(999_999_999)),
                }));
            }
            if self.holding {
                self.status(self.cur)
                    .store(TP_STATUS_KERNEL, Ordering::Release);
                self.holding = false;
                self.cur = (self.cur + 1) % self.blocks;
            }
            if self.status(self.cur).load(Ordering::Acquire) & TP_STATUS_USER != 0 {
                let b = self.block(self.cur);
                let word = |o: usize| u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
                self.left = word(block::NUM_PKTS);
                self.next = word(block::FIRST_PKT) as usize;
                self.holding = true;
                continue;
            }
            if polled {
                return Ok(None);
            }
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN | libc::POLLERR,
                revents: 0,
            };
            let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
            // SAFETY: one live pollfd on our stack, count 1.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    return Ok(None);
                }
                return Err(e);
            }
            polled = true;
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping made in Ring::new, once.
        unsafe {
            libc::munmap(self.map.cast(), self.blocks * BLOCK_SIZE);
        }
    }
}
