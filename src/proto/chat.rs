//! The select-loop chat server: ONE poll loop (mio) over the listening
//! socket and every client. A line from one client is broadcast to all the
//! others; arrivals and departures are announced. Per-client memory is
//! bounded: lines are cut at [`MAX_LINE`], and a client whose unsent
//! output passes [`MAX_QUEUE`] is disconnected as too slow.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::error::{describe_io, fmt_secs, NetError, Stage};
use crate::proto::log::Log;
use crate::proto::{net, stop};

/// Longest line relayed as one message.
pub const MAX_LINE: usize = 4096;
/// Most unsent bytes kept for one client.
pub const MAX_QUEUE: usize = 256 * 1024;
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

struct Client {
    stream: TcpStream,
    addr: SocketAddr,
    line: Vec<u8>,
    out: VecDeque<u8>,
    want_write: bool,
    last: Instant,
}

struct Server {
    poll: Poll,
    clients: Slab<Client>,
    doomed: Vec<(usize, String)>,
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
    let log = cfg.log;
    log.always(&format!(
        "chat server listening on {local} (TCP, one poll loop for every client, {})",
        net::reuse_note(cfg.reuseaddr)
    ));
    let mut srv = Server {
        poll,
        clients: Slab::new(),
        doomed: Vec::new(),
        log,
    };
    let mut events = Events::with_capacity(1024);
    let mut last_sweep = Instant::now();
    while !stop::requested() {
        if let Err(e) = srv.poll.poll(&mut events, Some(stop::TICK)) {
            if e.kind() != ErrorKind::Interrupted {
                log.problem(&format!("poll failed: {}", describe_io(&e)));
            }
            continue;
        }
        for ev in events.iter() {
            if ev.token() == LISTENER {
                srv.accept_all(&listener, cfg.max_clients);
                continue;
            }
            let id = ev.token().0;
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                srv.read(id);
            }
            if ev.is_writable() {
                srv.flush(id);
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
                srv.doomed
                    .push((id, format!("sent nothing for {}", fmt_secs(cfg.idle))));
            }
        }
        srv.close_doomed();
    }
    log.always(&format!(
        "chat server stopped with {} connected",
        crate::plural::count(srv.clients.len(), "client")
    ));
    Ok(())
}

impl Server {
    fn accept_all(&mut self, listener: &TcpListener, max: usize) {
        loop {
            let (mut stream, addr) = match listener.accept() {
                Ok(c) => c,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    self.log
                        .problem(&format!("accept failed: {}", describe_io(&e)));
                    return;
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
            entry.insert(Client {
                stream,
                addr,
                line: Vec::new(),
                out: VecDeque::new(),
                want_write: false,
                last: Instant::now(),
            });
            let others = self.clients.len() - 1;
            self.log.event(&format!("connection from {addr}"));
            let welcome = format!(
                "Welcome to socklab chat, you are {addr}; {others} other(s) online. Lines you type go to everyone.\n"
            );
            self.queue(id, welcome.as_bytes());
            self.broadcast(Some(id), format!("* {addr} is online\n").as_bytes());
        }
    }

    fn read(&mut self, id: usize) {
        let mut buf = [0u8; 4096];
        loop {
            let Some(c) = self.clients.get_mut(id) else {
                return;
            };
            match c.stream.read(&mut buf) {
                Ok(0) => {
                    self.doomed.push((id, "closed its side".into()));
                    return;
                }
                Ok(n) => {
                    c.last = Instant::now();
                    let from = c.addr;
                    self.log.event(&format!(
                        "received {n} {n_bytes} from {from}",
                        n_bytes = crate::plural::noun(n, "byte")
                    ));
                    self.take_lines(id, &buf[..n]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.doomed
                        .push((id, format!("receive failed: {}", describe_io(&e))));
                    return;
                }
            }
        }
    }

    /// Split incoming bytes into lines and relay each complete one.
    fn take_lines(&mut self, id: usize, mut data: &[u8]) {
        while !data.is_empty() {
            let Some(c) = self.clients.get_mut(id) else {
                return;
            };
            let room = MAX_LINE - c.line.len();
            let (part, rest, complete) = match data.iter().position(|&b| b == b'\n') {
                Some(p) if p < room => (&data[..p], &data[p + 1..], true),
                _ if data.len() < room => (data, &data[data.len()..], false),
                _ => (&data[..room], &data[room..], true),
            };
            c.line.extend_from_slice(part);
            data = rest;
            if complete {
                let cut = c.line.len() == MAX_LINE;
                let from = c.addr;
                let mut msg = format!("[{from}] ").into_bytes();
                let line = std::mem::take(&mut c.line);
                msg.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(&line));
                msg.push(b'\n');
                if cut {
                    self.log.bad_input(
                        from,
                        &format!("line longer than {MAX_LINE} bytes: relayed in pieces"),
                        &line[..line.len().min(32)],
                    );
                }
                let n = self.broadcast(Some(id), &msg);
                self.log.event(&format!(
                    "relayed {} from {from} to {}",
                    crate::plural::count(msg.len(), "byte"),
                    crate::plural::count(n, "client")
                ));
            }
        }
    }

    /// Queue `msg` for every client but `except`; returns how many got it.
    fn broadcast(&mut self, except: Option<usize>, msg: &[u8]) -> usize {
        let ids: Vec<usize> = self
            .clients
            .iter()
            .map(|(id, _)| id)
            .filter(|&id| Some(id) != except)
            .collect();
        for &id in &ids {
            self.queue(id, msg);
        }
        ids.len()
    }

    fn queue(&mut self, id: usize, msg: &[u8]) {
        let Some(c) = self.clients.get_mut(id) else {
            return;
        };
        if c.out.len() + msg.len() > MAX_QUEUE {
            self.doomed.push((
                id,
                format!("too slow: more than {MAX_QUEUE} bytes waiting to be sent"),
            ));
            return;
        }
        c.out.extend(msg);
        self.flush(id);
    }

    fn flush(&mut self, id: usize) {
        let Some(c) = self.clients.get_mut(id) else {
            return;
        };
        while !c.out.is_empty() {
            let (front, _) = c.out.as_slices();
            match c.stream.write(front) {
                Ok(n) => {
                    c.out.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.doomed
                        .push((id, format!("send failed: {}", describe_io(&e))));
                    return;
                }
            }
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
        while let Some((id, why)) = self.doomed.pop() {
            if !self.clients.contains(id) {
                continue;
            }
            let mut c = self.clients.remove(id);
            let _ = self.poll.registry().deregister(&mut c.stream);
            self.log
                .event(&format!("closed connection with {} ({why})", c.addr));
            self.broadcast(None, format!("* {} is offline\n", c.addr).as_bytes());
        }
    }
}
