//! The system-monitor server in the course's two styles: one poll loop for
//! every client (the `select()` server), or one thread per client. Each
//! reassembles 67-byte records, because TCP may deliver a record in pieces
//! or many at once. Per-client state is one 67-byte buffer; reads take up to
//! [`RECORDS_PER_TURN`] records at a time. A client that sends
//! [`BAD_RUN_LIMIT`] bad records in a row is not speaking the protocol and
//! is closed (its flood would otherwise keep a reader busy long after it
//! left).

use std::collections::VecDeque;
use std::io::{ErrorKind, Read};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::duration::fmt_secs;
use crate::error::{describe_io, NetError, Stage};
use crate::proto::accept::{self, Style};
use crate::proto::calls::{self, Side};
use crate::proto::limits::{emfile_lesson, fd_cap, fd_cap_note, out_of_fds, return_memory, Spare};
use crate::proto::log::Log;
use crate::proto::workers::{heavy_note, Meter};
use crate::proto::{limits, net, stop};
use crate::wire::monitor::{decode, RECORD_LEN};

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind.
    pub bind: SocketAddr,
    /// Set SO_REUSEADDR.
    pub reuseaddr: bool,
    /// Poll loop (`None`) or threads.
    pub threads: bool,
    /// Close a client silent this long (zero = never).
    pub idle: Duration,
    /// Most clients at once.
    pub max_clients: usize,
    /// Event log.
    pub log: Log,
}

/// Totals for the closing summary.
#[derive(Debug, Default)]
pub struct Totals {
    /// Good records.
    pub records: AtomicU64,
    /// Bad records (not the layout, not UTF-8, cut short).
    pub bad: AtomicU64,
    /// Connections accepted.
    pub clients: AtomicU64,
}

/// Bad records in a row after which a client is closed.
pub const BAD_RUN_LIMIT: u32 = 32;

/// One complete record from `peer`: print it or report it; true if good.
fn on_record(peer: SocketAddr, rec: &[u8], log: Log, totals: &Totals) -> bool {
    match decode(rec) {
        Ok(r) => {
            totals.records.fetch_add(1, Ordering::Relaxed);
            log.data(
                peer,
                &format!(
                    "{peer}  host {}  CPU {}%  memory available {}%",
                    r.host, r.cpu, r.mem
                ),
            );
            true
        }
        Err(e) => {
            totals.bad.fetch_add(1, Ordering::Relaxed);
            log.bad_input(peer, &e.to_string(), rec);
            false
        }
    }
}

/// A client's record being put together, and its run of bad records.
struct Assembler {
    peer: SocketAddr,
    rec: [u8; RECORD_LEN],
    have: usize,
    bad_run: u32,
}

impl Assembler {
    fn new(peer: SocketAddr) -> Self {
        Assembler {
            peer,
            rec: [0; RECORD_LEN],
            have: 0,
            bad_run: 0,
        }
    }

    /// Take received bytes, handling each record they complete. Returns
    /// why to close the client, if it passed [`BAD_RUN_LIMIT`].
    fn feed(&mut self, mut data: &[u8], log: Log, totals: &Totals) -> Option<String> {
        while !data.is_empty() {
            let take = (RECORD_LEN - self.have).min(data.len());
            self.rec[self.have..self.have + take].copy_from_slice(&data[..take]);
            self.have += take;
            data = &data[take..];
            if self.have < RECORD_LEN {
                break;
            }
            self.have = 0;
            if on_record(self.peer, &self.rec, log, totals) {
                self.bad_run = 0;
            } else {
                self.bad_run += 1;
                if self.bad_run >= BAD_RUN_LIMIT {
                    return Some(format!(
                        "{BAD_RUN_LIMIT} bad records in a row: not a monitor client, closing"
                    ));
                }
            }
        }
        None
    }

    /// The bytes of an unfinished record.
    fn partial(&self) -> &[u8] {
        &self.rec[..self.have]
    }
}

/// The client left: say whether it left mid-record.
fn on_close(peer: SocketAddr, partial: &[u8], why: &str, log: Log, totals: &Totals) {
    if !partial.is_empty() {
        totals.bad.fetch_add(1, Ordering::Relaxed);
        log.bad_input(
            peer,
            &format!(
                "the stream ended in the middle of a record: {} of {RECORD_LEN} bytes",
                partial.len()
            ),
            partial,
        );
    }
    let line = format!("closed connection with {peer} ({why})");
    // Dropped by the server is a problem; a client that left is routine.
    if why.starts_with("too slow") || why.contains("failed") || why.contains("in a row") {
        log.problem(&line);
    } else {
        log.event(&line);
    }
}

/// Run until Ctrl-C.
pub fn serve(cfg: &Config) -> Result<(), NetError> {
    let listener = net::tcp_listen(cfg.bind, cfg.reuseaddr, 4096)?;
    let local = listener.local_addr().unwrap_or(cfg.bind);
    let style = if cfg.threads {
        format!("one thread per client, at most {}", cfg.max_clients)
    } else {
        "one poll loop for every client".to_string()
    };
    cfg.log.always(&format!(
        "monitor server listening on {local} (TCP, {style}, {}); records are {RECORD_LEN} bytes",
        net::reuse_note(cfg.reuseaddr)
    ));
    let totals = Arc::new(Totals::default());
    let cfg = &Config {
        log: cfg.log.counting("records"),
        ..cfg.clone()
    };
    if cfg.threads {
        let (log, idle, t) = (cfg.log, cfg.idle, Arc::clone(&totals));
        accept::serve(
            &listener,
            Style::Threads(cfg.max_clients),
            log,
            move |s, p| {
                t.clients.fetch_add(1, Ordering::Relaxed);
                serve_one(s, p, idle, log, &t)
            },
        );
    } else {
        poll_loop(listener, cfg, &totals)?;
    }
    cfg.log.always(&format!(
        "monitor server stopped: {} from {}, {} bad",
        crate::plural::count(totals.records.load(Ordering::Relaxed), "record"),
        crate::plural::count(totals.clients.load(Ordering::Relaxed), "client"),
        totals.bad.load(Ordering::Relaxed)
    ));
    Ok(())
}

fn serve_one(
    conn: Arc<std::net::TcpStream>,
    peer: SocketAddr,
    idle: Duration,
    log: Log,
    totals: &Totals,
) {
    let mut s = &*conn;
    log.event(&format!("connection from {peer}"));
    let _ = net::set_timeouts_stream(s, idle);
    let mut asm = Assembler::new(peer);
    let mut buf = [0u8; READ_CHUNK];
    let mut began: Option<Instant> = None;
    let mut meter = Meter::new();
    loop {
        match s.read(&mut buf) {
            Ok(0) => return on_close(peer, asm.partial(), "it closed its side", log, totals),
            Ok(n) => {
                if meter.moved(n) {
                    log.problem(&heavy_note(peer));
                }
                calls::report(Side::Server, || {
                    format!(
                        "recv() -> {n} {n_bytes} from {peer}",
                        n_bytes = crate::plural::noun(n, "byte")
                    )
                });
                if let Some(why) = asm.feed(&buf[..n], log, totals) {
                    return on_close(peer, asm.partial(), &why, log, totals);
                }
                if asm.have == 0 {
                    began = None;
                    continue;
                }
                let start = *began.get_or_insert_with(Instant::now);
                if !idle.is_zero() && start.elapsed() >= idle {
                    let why = format!(
                        "too slow: {} of {RECORD_LEN} bytes of a record in {}",
                        asm.have,
                        fmt_secs(idle)
                    );
                    return on_close(peer, asm.partial(), &why, log, totals);
                }
            }
            Err(e) if net::is_timeout(&e) => {
                let why = format!("sent nothing for {}", fmt_secs(idle));
                return on_close(peer, asm.partial(), &why, log, totals);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                let why = format!("receive failed: {}", describe_io(&e));
                return on_close(peer, asm.partial(), &why, log, totals);
            }
        }
    }
}

struct Conn {
    stream: TcpStream,
    asm: Assembler,
    last: Instant,
    /// When the record being read began (a slow sender must finish one
    /// record within the idle time, not merely send a byte now and then).
    began: Option<Instant>,
    /// In the ready queue: has (or may have) unread input.
    queued: bool,
}

const LISTENER: Token = Token(usize::MAX);
/// Records read from one client per turn before the others get theirs.
pub const RECORDS_PER_TURN: usize = 16;
/// Bytes asked for per read: one turn's records.
const READ_CHUNK: usize = RECORDS_PER_TURN * RECORD_LEN;
/// Connections accepted per turn before clients are read again.
const ACCEPTS_PER_TURN: usize = 64;

/// What one client's turn ended with.
enum Turn {
    /// Its socket is empty: wait for the next readiness event.
    Drained,
    /// Its budget ran out with input left: read again next turn.
    More,
    /// Close it, for this reason.
    Gone(String),
}

/// Read up to [`RECORDS_PER_TURN`] records' worth of bytes from `c`, until
/// the socket is empty (readiness is edge-triggered: an end of stream
/// already waiting behind the data would never be reported again), then
/// handle the records.
fn take_turn(c: &mut Conn, log: Log, totals: &Totals) -> Turn {
    let mut buf = [0u8; READ_CHUNK];
    let mut filled = 0;
    let end = loop {
        if filled == READ_CHUNK {
            break Turn::More;
        }
        match c.stream.read(&mut buf[filled..]) {
            Ok(0) => break Turn::Gone("it closed its side".into()),
            Ok(n) => {
                c.last = Instant::now();
                calls::report(Side::Server, || {
                    format!(
                        "recv() -> {n} {n_bytes} from {}",
                        c.asm.peer,
                        n_bytes = crate::plural::noun(n, "byte")
                    )
                });
                filled += n;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break Turn::Drained,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => break Turn::Gone(format!("receive failed: {}", describe_io(&e))),
        }
    };
    if filled > 0 {
        if let Some(why) = c.asm.feed(&buf[..filled], log, totals) {
            return Turn::Gone(why);
        }
        if c.asm.have == 0 {
            c.began = None;
        } else {
            c.began.get_or_insert(c.last);
        }
    }
    end
}

fn poll_loop(
    listener: std::net::TcpListener,
    cfg: &Config,
    totals: &Totals,
) -> Result<(), NetError> {
    let log = cfg.log;
    let (max_clients, soft) = fd_cap(cfg.max_clients, 1);
    if let Some(note) = fd_cap_note(cfg.max_clients, max_clients, soft) {
        log.always(&note);
    }
    listener
        .set_nonblocking(true)
        .map_err(|e| NetError::os(Stage::SetOption, "O_NONBLOCK", e))?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new().map_err(|e| NetError::os(Stage::CreateSocket, "epoll", e))?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .map_err(|e| NetError::os(Stage::SetOption, "epoll registration", e))?;
    let mut conns: Slab<Conn> = Slab::new();
    let mut events = Events::with_capacity(1024);
    let mut gone: Vec<(usize, String)> = Vec::new();
    let mut ready: VecDeque<usize> = VecDeque::new();
    let mut accept_ready = false;
    let mut spare = Spare::new();
    let mut last_sweep = Instant::now();
    while !stop::requested() {
        log.tick();
        // Work left over from the last turn: look for events without waiting.
        let wait = if ready.is_empty() && !accept_ready {
            stop::TICK
        } else {
            Duration::ZERO
        };
        if let Err(e) = poll.poll(&mut events, Some(wait)) {
            if e.kind() != ErrorKind::Interrupted {
                log.problem(&format!("poll failed: {}", describe_io(&e)));
            }
            continue;
        }
        for ev in events.iter() {
            if ev.token() == LISTENER {
                accept_ready = true;
            } else if let Some(c) = conns.get_mut(ev.token().0) {
                if !c.queued {
                    c.queued = true;
                    ready.push_back(ev.token().0);
                }
            }
        }
        if accept_ready {
            accept_ready = false;
            for k in 0..=ACCEPTS_PER_TURN {
                if k == ACCEPTS_PER_TURN {
                    accept_ready = true;
                    break;
                }
                let (mut stream, peer) = match listener.accept() {
                    Ok(c) => c,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if out_of_fds(&e) => {
                        let refused = spare.refuse_one(|| listener.accept().map(|(_, p)| p));
                        log.problem(&emfile_lesson(refused, soft));
                        accept_ready = refused.is_some();
                        break;
                    }
                    Err(e) => {
                        log.problem(&format!("accept failed: {}", describe_io(&e)));
                        if limits::accept_error_is_per_connection(&e) {
                            continue;
                        }
                        // Out of memory or buffers: try again next turn, not in a spin.
                        std::thread::sleep(Duration::from_millis(10));
                        accept_ready = true;
                        break;
                    }
                };
                if conns.len() >= max_clients {
                    log.problem(&format!(
                        "refusing {peer}: {max_clients} {max_clients_clients} already connected (--max-clients)", max_clients_clients = crate::plural::noun(max_clients, "client")));
                    continue;
                }
                let entry = conns.vacant_entry();
                if let Err(e) =
                    poll.registry()
                        .register(&mut stream, Token(entry.key()), Interest::READABLE)
                {
                    log.problem(&format!("cannot watch {peer}: {}", describe_io(&e)));
                    continue;
                }
                totals.clients.fetch_add(1, Ordering::Relaxed);
                calls::report(Side::Server, || format!("accept() -> {peer}"));
                log.event(&format!("connection from {peer}"));
                entry.insert(Conn {
                    stream,
                    asm: Assembler::new(peer),
                    last: Instant::now(),
                    began: None,
                    queued: false,
                });
            }
        }
        // One turn for every client with input, in arrival order.
        for _ in 0..ready.len() {
            let Some(id) = ready.pop_front() else { break };
            let Some(c) = conns.get_mut(id) else { continue };
            c.queued = false;
            match take_turn(c, log, totals) {
                Turn::Drained => {}
                Turn::More => {
                    c.queued = true;
                    ready.push_back(id);
                }
                Turn::Gone(why) => gone.push((id, why)),
            }
        }
        if !cfg.idle.is_zero() && last_sweep.elapsed() >= Duration::from_millis(500) {
            last_sweep = Instant::now();
            for (id, c) in conns.iter() {
                if c.last.elapsed() >= cfg.idle {
                    gone.push((id, format!("sent nothing for {}", fmt_secs(cfg.idle))));
                } else if c.began.is_some_and(|b| b.elapsed() >= cfg.idle) {
                    gone.push((
                        id,
                        format!(
                            "too slow: {} of {RECORD_LEN} bytes of a record in {}",
                            c.asm.have,
                            fmt_secs(cfg.idle)
                        ),
                    ));
                }
            }
        }
        let freed = !gone.is_empty();
        for (id, why) in gone.drain(..) {
            if let Some(mut c) = conns.try_remove(id) {
                let _ = poll.registry().deregister(&mut c.stream);
                on_close(c.asm.peer, c.asm.partial(), &why, log, totals);
            }
        }
        if freed && conns.is_empty() {
            conns.shrink_to_fit();
            ready.shrink_to_fit();
            return_memory();
        }
    }
    Ok(())
}
