//! The select-loop chat server: ONE poll loop (mio) over the listening
//! socket and every client. A line from one client is broadcast to all the
//! others; arrivals and departures are announced.
//!
//! Per-client memory is bounded in bytes: a line is cut at [`MAX_LINE`]
//! (the rest of it is dropped, and it is relayed only when it ends), a message is stored once and shared by
//! every queue, and a client whose unsent output passes [`MAX_QUEUE`] bytes
//! is disconnected as too slow at once. So one client costs at most
//! `MAX_LINE + MAX_QUEUE` bytes plus its socket, whose send buffer is
//! capped at [`KERNEL_SEND_BUFFER`]. The loop is fair: each
//! client gets at most [`READ_PER_TURN`] bytes read per turn, and a sender
//! past [`RELAY_RATE`] bytes a second (burst [`RELAY_BURST`]) has its lines
//! dropped, like an IRC server's flood control. A line that is not text
//! (control bytes, invalid UTF-8) is not relayed. Output is written once per
//! turn per client (one `writev` of what is queued), and at most
//! [`PRESENCE_PER_SECOND`] arrivals/departures are announced one by one. Memory freed by departed
//! clients is given back to the system.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::duration::fmt_secs;
use crate::error::{describe_io, NetError, Stage};
use crate::proto::limits::{
    accept_error_is_per_connection, emfile_lesson, fd_cap, fd_cap_note, out_of_fds, return_memory,
    Spare,
};
use crate::proto::log::Log;
use crate::proto::{net, stop};

/// Longest line relayed; the rest of a longer line is dropped.
pub const MAX_LINE: usize = 4096;
/// Most unsent bytes kept for one client before it is dropped as too slow.
pub const MAX_QUEUE: usize = 64 * 1024;
/// SO_SNDBUF asked for each client (Linux doubles it for bookkeeping).
pub const KERNEL_SEND_BUFFER: usize = 64 * 1024;
/// Bytes read from one client per turn before the others get theirs.
pub const READ_PER_TURN: usize = 16 * 1024;
/// Bytes a second one client may have relayed (flood control).
pub const RELAY_RATE: f64 = 16.0 * 1024.0;
/// Bytes one client may have relayed in a burst.
pub const RELAY_BURST: f64 = 64.0 * 1024.0;
/// Arrivals and departures announced one by one per second; the rest are
/// announced as one count (each announcement goes to every client, so a
/// reconnect storm would otherwise cost clients x reconnects writes).
pub const PRESENCE_PER_SECOND: u64 = 10;
/// Messages handed to the kernel in one `writev` per client.
const WRITE_SLICES: usize = 64;
/// Connections accepted per turn before clients are read again.
const ACCEPTS_PER_TURN: usize = 64;
const LISTENER: Token = Token(usize::MAX);

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind.
    pub bind: SocketAddr,
    /// Set SO_REUSEADDR.
    pub reuseaddr: bool,
    /// Close a client silent this long (zero = never).
    pub idle: Duration,
    /// Most clients at once.
    pub max_clients: usize,
    /// Event log.
    pub log: Log,
}

/// Where `line` stops being text a terminal can show (UTF-8 without
/// control bytes other than tab); `None` if it is text.
fn not_text(line: &[u8]) -> Option<usize> {
    let valid = match std::str::from_utf8(line) {
        Ok(_) => line.len(),
        Err(e) => e.valid_up_to(),
    };
    line[..valid]
        .iter()
        .position(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
        .or((valid < line.len()).then_some(valid))
}

struct Client {
    stream: TcpStream,
    addr: SocketAddr,
    line: Vec<u8>,
    /// Dropping the rest of an over-long line until its newline.
    cutting: bool,
    /// Bytes of the over-long line dropped so far.
    dropped: usize,
    /// Messages waiting to be sent, each shared with the other queues.
    out: VecDeque<Rc<[u8]>>,
    /// Bytes of the front message already sent.
    sent: usize,
    /// Unsent bytes in `out`.
    queued_bytes: usize,
    want_write: bool,
    /// In the `dirty` list: has output queued since the last flush.
    dirty: bool,
    last: Instant,
    /// Set once: why this client is being closed (closed after the turn).
    doomed: Option<String>,
    /// In the ready queue (has or may have unread input).
    queued: bool,
    /// Flood control: relay allowance in bytes, and when it was topped up.
    allowance: f64,
    topped: Instant,
    /// Lines dropped by flood control since the sender was last told.
    flood_dropped: u64,
}

struct Server {
    poll: Poll,
    clients: Slab<Client>,
    doomed: Vec<usize>,
    ready: VecDeque<usize>,
    /// Clients with output queued this turn, flushed at the end of it.
    dirty: Vec<usize>,
    /// Presence announcements this second: (window start, shown, held back).
    presence: (Instant, u64, u64),
    closed_since_trim: usize,
    log: Log,
}

/// Run until Ctrl-C.
pub fn serve(cfg: &Config) -> Result<(), NetError> {
    let std_listener = net::tcp_listen(cfg.bind, cfg.reuseaddr, 1024)?;
    let local = std_listener.local_addr().unwrap_or(cfg.bind);
    std_listener
        .set_nonblocking(true)
        .map_err(|e| NetError::os(Stage::SetOption, "O_NONBLOCK", e))?;
    let mut listener = TcpListener::from_std(std_listener);
    let poll = Poll::new().map_err(|e| NetError::os(Stage::CreateSocket, "epoll", e))?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .map_err(|e| NetError::os(Stage::SetOption, "epoll registration", e))?;
    let log = cfg.log.counting("lines");
    log.always(&format!(
        "chat server listening on {local} (TCP, one poll loop for every client, {})",
        net::reuse_note(cfg.reuseaddr)
    ));
    let (max_clients, soft) = fd_cap(cfg.max_clients, 1);
    if let Some(note) = fd_cap_note(cfg.max_clients, max_clients, soft) {
        log.always(&note);
    }
    let mut srv = Server {
        poll,
        clients: Slab::new(),
        doomed: Vec::new(),
        ready: VecDeque::new(),
        dirty: Vec::new(),
        presence: (Instant::now(), 0, 0),
        closed_since_trim: 0,
        log,
    };
    let mut events = Events::with_capacity(1024);
    let mut last_sweep = Instant::now();
    let mut accept_ready = false;
    let mut spare = Spare::new();
    while !stop::requested() {
        log.tick();
        let wait = if srv.ready.is_empty() && !accept_ready {
            stop::TICK
        } else {
            Duration::ZERO
        };
        if let Err(e) = srv.poll.poll(&mut events, Some(wait)) {
            if e.kind() != ErrorKind::Interrupted {
                log.problem(&format!("poll failed: {}", describe_io(&e)));
            }
            continue;
        }
        for ev in events.iter() {
            if ev.token() == LISTENER {
                accept_ready = true;
                continue;
            }
            let id = ev.token().0;
            if ev.is_writable() {
                srv.flush(id);
            }
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                if let Some(c) = srv.clients.get_mut(id) {
                    if !c.queued {
                        c.queued = true;
                        srv.ready.push_back(id);
                    }
                }
            }
        }
        if accept_ready {
            accept_ready = srv.accept_some(&listener, max_clients, &mut spare, soft);
        }
        for _ in 0..srv.ready.len() {
            let Some(id) = srv.ready.pop_front() else {
                break;
            };
            if srv.read_turn(id) {
                if let Some(c) = srv.clients.get_mut(id) {
                    c.queued = true;
                    srv.ready.push_back(id);
                }
            } else if let Some(c) = srv.clients.get_mut(id) {
                c.queued = false;
            }
        }
        if !cfg.idle.is_zero() && last_sweep.elapsed() >= Duration::from_secs(1) {
            last_sweep = Instant::now();
            let idle: Vec<usize> = srv
                .clients
                .iter()
                .filter(|(_, c)| c.last.elapsed() >= cfg.idle)
                .map(|(id, _)| id)
                .collect();
            for id in idle {
                srv.doom(id, format!("sent nothing for {}", fmt_secs(cfg.idle)));
            }
        }
        srv.close_doomed();
        srv.presence_summary();
        srv.flush_dirty();
        // A failed send dooms a client: close it now rather than next wake-up.
        srv.close_doomed();
        srv.flush_dirty();
    }
    log.always(&format!(
        "chat server stopped with {} connected",
        crate::plural::count(srv.clients.len(), "client")
    ));
    Ok(())
}

impl Server {
    /// Accept up to [`ACCEPTS_PER_TURN`] clients; true if more may wait.
    fn accept_some(
        &mut self,
        listener: &TcpListener,
        max: usize,
        spare: &mut Spare,
        soft: u64,
    ) -> bool {
        for _ in 0..ACCEPTS_PER_TURN {
            let (mut stream, addr) = match listener.accept() {
                Ok(c) => c,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(e) if out_of_fds(&e) => {
                    let refused = spare.refuse_one(|| listener.accept().map(|(_, p)| p));
                    self.log.problem(&emfile_lesson(refused, soft));
                    return refused.is_some();
                }
                Err(e) => {
                    self.log
                        .problem(&format!("accept failed: {}", describe_io(&e)));
                    if accept_error_is_per_connection(&e) {
                        continue;
                    }
                    // Out of memory or buffers: try again next turn, not in a spin.
                    std::thread::sleep(Duration::from_millis(10));
                    return true;
                }
            };
            if self.clients.len() >= max {
                self.log.problem(&format!(
                    "refusing {addr}: {max} {max_clients} already connected (--max-clients)",
                    max_clients = crate::plural::noun(max, "client")
                ));
                let _ = stream.write(b"busy: too many clients, try again later\n");
                continue;
            }
            // Bound the kernel's share too: without this the send buffer
            // grows to megabytes per client before a slow reader shows.
            let _ = socket2::SockRef::from(&stream).set_send_buffer_size(KERNEL_SEND_BUFFER);
            let entry = self.clients.vacant_entry();
            let id = entry.key();
            if let Err(e) =
                self.poll
                    .registry()
                    .register(&mut stream, Token(id), Interest::READABLE)
            {
                self.log
                    .problem(&format!("cannot watch {addr}: {}", describe_io(&e)));
                continue;
            }
            let now = Instant::now();
            entry.insert(Client {
                stream,
                addr,
                line: Vec::new(),
                cutting: false,
                dropped: 0,
                out: VecDeque::new(),
                sent: 0,
                queued_bytes: 0,
                want_write: false,
                dirty: false,
                last: now,
                doomed: None,
                queued: false,
                allowance: RELAY_BURST,
                topped: now,
                flood_dropped: 0,
            });
            let others = self.clients.len() - 1;
            self.log.event(&format!("connection from {addr}"));
            let welcome = format!(
                "Welcome to socklab chat, you are {addr}; {others} other(s) online. Lines you type go to everyone.\n"
            );
            self.queue(id, welcome.as_bytes().into());
            self.announce(Some(id), format!("* {addr} is online\n"));
        }
        true
    }

    /// Mark `id` for closing (once; the first reason is kept).
    fn doom(&mut self, id: usize, why: String) {
        if let Some(c) = self.clients.get_mut(id) {
            if c.doomed.is_none() {
                c.doomed = Some(why);
                self.doomed.push(id);
            }
        }
    }

    /// Read up to [`READ_PER_TURN`] bytes from `id`; true if input is left.
    fn read_turn(&mut self, id: usize) -> bool {
        let mut buf = [0u8; 4096];
        let mut taken = 0;
        while taken < READ_PER_TURN {
            let Some(c) = self.clients.get_mut(id) else {
                return false;
            };
            if c.doomed.is_some() {
                return false;
            }
            match c.stream.read(&mut buf) {
                Ok(0) => {
                    self.doom(id, "closed its side".into());
                    return false;
                }
                Ok(n) => {
                    taken += n;
                    c.last = Instant::now();
                    let from = c.addr;
                    self.log.event(&format!(
                        "received {n} {n_bytes} from {from}",
                        n_bytes = crate::plural::noun(n, "byte")
                    ));
                    self.take_lines(id, &buf[..n]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.doom(id, format!("receive failed: {}", describe_io(&e)));
                    return false;
                }
            }
        }
        true
    }

    /// Split incoming bytes into lines and relay each complete one. A line
    /// is relayed when it ends (its newline), never before: an over-long
    /// line keeps its first [`MAX_LINE`] bytes, the rest is dropped, and it
    /// is relayed cut once its newline comes. A line that never ends (an
    /// endless stream without a newline) is never relayed, so a client
    /// that reconnects to send one cannot make the server write to every
    /// client on each connection.
    fn take_lines(&mut self, id: usize, mut data: &[u8]) {
        while !data.is_empty() {
            let Some(c) = self.clients.get_mut(id) else {
                return;
            };
            let nl = data.iter().position(|&b| b == b'\n');
            if c.cutting {
                // The rest of an over-long line: dropped up to its end.
                let Some(p) = nl else {
                    c.dropped += data.len();
                    return;
                };
                c.cutting = false;
                c.dropped += p;
                data = &data[p + 1..];
                let dropped = std::mem::take(&mut c.dropped);
                let line = std::mem::take(&mut c.line);
                self.relay_line(id, line, dropped);
                continue;
            }
            let room = MAX_LINE - c.line.len();
            match nl {
                Some(p) if p <= room => {
                    c.line.extend_from_slice(&data[..p]);
                    data = &data[p + 1..];
                    let line = std::mem::take(&mut c.line);
                    self.relay_line(id, line, 0);
                }
                _ if data.len() <= room => {
                    c.line.extend_from_slice(data);
                    return;
                }
                _ => {
                    // Full and not ended: keep the first MAX_LINE bytes.
                    c.line.extend_from_slice(&data[..room]);
                    data = &data[room..];
                    c.cutting = true;
                    let from = c.addr;
                    self.log.bad_input(
                        from,
                        &format!("line longer than {MAX_LINE} bytes: the rest of it is dropped, its first {MAX_LINE} bytes are relayed when it ends"),
                        &data[..data.len().min(32)],
                    );
                }
            }
        }
    }

    /// Relay one line that ended; `dropped` bytes of it past [`MAX_LINE`]
    /// were not kept.
    fn relay_line(&mut self, id: usize, line: Vec<u8>, dropped: usize) {
        let Some(c) = self.clients.get(id) else {
            return;
        };
        let from = c.addr;
        let body = line.strip_suffix(b"\r").unwrap_or(&line);
        if dropped > 0 {
            self.log.bad_input(
                from,
                &format!(
                    "line of {} ended: relayed cut at {MAX_LINE}",
                    crate::plural::count(line.len() + dropped, "byte")
                ),
                &[],
            );
        }
        if let Some(pos) = not_text(body) {
            self.log.bad_input(
                from,
                &format!(
                    "not text (a control byte or invalid UTF-8 at byte {pos}): line not relayed"
                ),
                &body[..body.len().min(32)],
            );
            return;
        }
        if !self.allow(id, body.len()) {
            return;
        }
        let mut msg = format!("[{from}] ").into_bytes();
        msg.extend_from_slice(body);
        msg.push(b'\n');
        let len = msg.len();
        let n = self.broadcast(Some(id), msg.into());
        self.log.event(&format!(
            "relayed {} from {from} to {}",
            crate::plural::count(len, "byte"),
            crate::plural::count(n, "client")
        ));
    }

    /// Flood control: may `id` have `len` more bytes relayed now?
    fn allow(&mut self, id: usize, len: usize) -> bool {
        let Some(c) = self.clients.get_mut(id) else {
            return false;
        };
        let now = Instant::now();
        let refill = now.duration_since(c.topped).as_secs_f64() * RELAY_RATE;
        c.allowance = (c.allowance + refill).min(RELAY_BURST);
        c.topped = now;
        if c.allowance >= len as f64 {
            c.allowance -= len as f64;
            if c.flood_dropped > 0 {
                let note = format!(
                    "* flood control: {} of your lines were not relayed (more than {} bytes a second)\n",
                    c.flood_dropped, RELAY_RATE as u64
                );
                c.flood_dropped = 0;
                self.queue(id, note.as_bytes().into());
            }
            return true;
        }
        c.flood_dropped += 1;
        let from = c.addr;
        self.log.bad_input(
            from,
            &format!(
                "flooding: more than {} bytes a second, line not relayed",
                RELAY_RATE as u64
            ),
            &[],
        );
        false
    }

    /// Tell everyone but `except` of an arrival or departure, while this
    /// second's [`PRESENCE_PER_SECOND`] lasts; later ones are counted.
    fn announce(&mut self, except: Option<usize>, text: String) {
        self.presence_summary();
        if self.presence.1 < PRESENCE_PER_SECOND {
            self.presence.1 += 1;
            self.broadcast(except, text.as_bytes().into());
        } else {
            self.presence.2 += 1;
        }
    }

    /// Once a second is over: one line for the announcements held back.
    fn presence_summary(&mut self) {
        let (start, _, held) = self.presence;
        if start.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.presence = (Instant::now(), 0, 0);
        if held > 0 {
            let text = format!(
                "* {held} more {} in the last second, not announced one by one\n",
                if held == 1 {
                    "arrival or departure"
                } else {
                    "arrivals and departures"
                }
            );
            self.broadcast(None, text.as_bytes().into());
        }
    }

    /// Write out what was queued for every client this turn.
    fn flush_dirty(&mut self) {
        let dirty = std::mem::take(&mut self.dirty);
        for &id in &dirty {
            if let Some(c) = self.clients.get_mut(id) {
                c.dirty = false;
            }
            self.flush(id);
        }
        self.dirty = dirty;
        self.dirty.clear();
        self.dirty.shrink_to(1024);
    }

    /// Queue `msg` for every client but `except`; returns how many got it.
    fn broadcast(&mut self, except: Option<usize>, msg: Rc<[u8]>) -> usize {
        let ids: Vec<usize> = self
            .clients
            .iter()
            .filter(|(id, c)| Some(*id) != except && c.doomed.is_none())
            .map(|(id, _)| id)
            .collect();
        for &id in &ids {
            self.queue(id, Rc::clone(&msg));
        }
        ids.len()
    }

    fn queue(&mut self, id: usize, msg: Rc<[u8]>) {
        let Some(c) = self.clients.get_mut(id) else {
            return;
        };
        if c.doomed.is_some() {
            return;
        }
        if c.queued_bytes + msg.len() > MAX_QUEUE {
            // Output waits for the end of the turn; a reader that keeps up
            // must not pay for that: hand the kernel what it takes first.
            self.flush(id);
            let Some(c) = self.clients.get_mut(id) else {
                return;
            };
            if c.doomed.is_some() {
                return;
            }
            if c.queued_bytes + msg.len() > MAX_QUEUE {
                self.doom(
                    id,
                    format!("too slow: more than {MAX_QUEUE} bytes waiting to be sent"),
                );
                return;
            }
        }
        let Some(c) = self.clients.get_mut(id) else {
            return;
        };
        c.queued_bytes += msg.len();
        c.out.push_back(msg);
        if !c.dirty {
            c.dirty = true;
            self.dirty.push(id);
        }
    }

    fn flush(&mut self, id: usize) {
        let Some(c) = self.clients.get_mut(id) else {
            return;
        };
        while !c.out.is_empty() {
            let mut slices = [std::io::IoSlice::new(&[]); WRITE_SLICES];
            let mut k = 0;
            for (i, m) in c.out.iter().take(WRITE_SLICES).enumerate() {
                slices[i] = std::io::IoSlice::new(if i == 0 { &m[c.sent..] } else { m });
                k = i + 1;
            }
            match c.stream.write_vectored(&slices[..k]) {
                Ok(0) => break,
                Ok(mut n) => {
                    c.queued_bytes -= n;
                    while n > 0 {
                        let Some(front) = c.out.front() else { break };
                        let left = front.len() - c.sent;
                        if n >= left {
                            n -= left;
                            c.out.pop_front();
                            c.sent = 0;
                        } else {
                            c.sent += n;
                            n = 0;
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.doom(id, format!("send failed: {}", describe_io(&e)));
                    return;
                }
            }
        }
        if c.out.is_empty() && c.out.capacity() > 16 {
            c.out.shrink_to_fit();
        }
        let want = !c.out.is_empty();
        if want != c.want_write {
            c.want_write = want;
            let interest = if want {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let _ = self
                .poll
                .registry()
                .reregister(&mut c.stream, Token(id), interest);
        }
    }

    fn close_doomed(&mut self) {
        if self.doomed.is_empty() {
            return;
        }
        while let Some(id) = self.doomed.pop() {
            if !self.clients.contains(id) {
                continue;
            }
            let mut c = self.clients.remove(id);
            let _ = self.poll.registry().deregister(&mut c.stream);
            let why = c.doomed.take().unwrap_or_default();
            let line = format!("closed connection with {} ({why})", c.addr);
            // A client dropped by the server is a problem; one that left is routine.
            if why.starts_with("too slow") || why.contains("failed") {
                self.log.problem(&line);
            } else {
                self.log.event(&line);
            }
            let addr = c.addr;
            drop(c);
            self.announce(None, format!("* {addr} is offline\n"));
        }
        self.doomed.shrink_to(64);
        self.closed_since_trim += 1;
        if self.clients.is_empty() || self.closed_since_trim >= 64 {
            self.closed_since_trim = 0;
            self.clients.shrink_to_fit();
            self.ready.shrink_to_fit();
            return_memory();
        }
    }
}
