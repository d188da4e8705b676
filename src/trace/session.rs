//! One timeline out of three sources: the tracer's call events, the
//! packets of the background capture, and the program's output lines.
//!
//! Items wait [`HORIZON`] before they are printed, so that packets
//! (delivered late by the capture thread) and calls (reported at their
//! exit) are put in time order. Before printing, each packet is tied to
//! the call that caused it ([`super::link`]); a call that may block is
//! printed whole when nothing but its own packets happened while it ran,
//! otherwise as `call(...) ...` at its start and `... call(...) = r` at
//! its end. Runs on its own thread; never does ptrace requests.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::capture::background::BackgroundCapture;
use crate::capture::file::Writer;
use crate::capture::{OwnedPacket, Timestamp};
use crate::sniff::Pipeline;
use crate::wire::packet::decode_captured;

use super::addr::Addr;
use super::event::{CallEvent, ProcKind, TraceEvent};
use super::link::{self, Facts};
use super::render::{self, Look};
use super::summary::Summary;
use super::watermark::Watermark;

/// How long an item waits before it is printed.
pub const HORIZON: Duration = Duration::from_millis(150);
/// How long calls are kept for linking after they end.
const KEEP_CALLS_NS: i128 = 1_000_000_000;

/// What the session shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Show {
    /// How calls look.
    pub look: Look,
    /// One JSON object per line.
    pub json: bool,
    /// Every packet on the interface, not only the program's.
    pub all_packets: bool,
    /// Name-service calls and packets too.
    pub dns: bool,
    /// `-c`: the per-socket table at the end.
    pub summary: bool,
}

#[derive(Debug)]
enum Item {
    Enter {
        id: u64,
        pid: i32,
        tid: i32,
        text: String,
        serial: Option<u64>,
    },
    Call {
        call: Box<CallEvent>,
        announced: bool,
    },
    Packet {
        p: OwnedPacket,
        link: Option<(u64, String)>,
    },
    Output {
        line: String,
        stderr: bool,
    },
    Process {
        kind: ProcKind,
        pid: i32,
        tid: i32,
        text: String,
    },
}

#[derive(Debug)]
struct Slot {
    /// Where it sorts.
    key: Timestamp,
    /// Its own time (printed).
    ts: Timestamp,
    class: u8,
    seq: u64,
    item: Item,
}

/// The merging printer.
pub struct Session {
    show: Show,
    pipe: Option<Pipeline>,
    save: Option<(Writer, PathBuf)>,
    slots: Vec<Slot>,
    seq: u64,
    announced: HashSet<u64>,
    /// Calls not printed yet, by id.
    calls: HashMap<u64, CallEvent>,
    /// Calls that can cause packets (connect, sends, close, shutdown),
    /// kept a while after they end for linking, by id.
    linkable: HashMap<u64, CallEvent>,
    /// Their ids by port (the socket's local port, a connect's target port).
    by_port: HashMap<u16, Vec<u64>>,
    hidden_serials: HashSet<u64>,
    /// Processes that made socket calls (only their births and ends are shown).
    active: HashSet<i32>,
    /// Births not shown yet, by new thread id.
    deferred: HashMap<i32, Slot>,
    /// Local endpoints of the program's sockets (tcp?, address).
    locals: Vec<(bool, std::net::SocketAddr)>,
    summary: Summary,
    /// Calls printed.
    pub calls_shown: u64,
    /// Packets printed.
    pub packets_shown: u64,
    /// Packets tied to a call.
    pub packets_linked: u64,
    /// When the last call that can send a packet ended.
    last_sending_call: Timestamp,
    /// stdout is gone (broken pipe): keep counting, stop printing.
    out_gone: bool,
    text: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("show", &self.show).finish()
    }
}

impl Session {
    /// A session; `pipe` decodes and narrates packets (None: calls only).
    pub fn new(show: Show, pipe: Option<Pipeline>, save: Option<(Writer, PathBuf)>) -> Self {
        Session {
            show,
            pipe,
            save,
            slots: Vec::new(),
            seq: 0,
            announced: HashSet::new(),
            calls: HashMap::new(),
            linkable: HashMap::new(),
            by_port: HashMap::new(),
            hidden_serials: HashSet::new(),
            active: HashSet::new(),
            deferred: HashMap::new(),
            locals: Vec::new(),
            summary: Summary::new(),
            calls_shown: 0,
            packets_shown: 0,
            packets_linked: 0,
            out_gone: false,
            last_sending_call: Timestamp::default(),
            text: String::new(),
        }
    }

    fn push(&mut self, key: Timestamp, ts: Timestamp, class: u8, item: Item) {
        self.seq += 1;
        self.slots.push(Slot {
            key,
            ts,
            class,
            seq: self.seq,
            item,
        });
    }

    /// Take one event from the tracer.
    pub fn event(&mut self, e: TraceEvent) {
        match e {
            TraceEvent::Enter {
                id,
                ts,
                pid,
                tid,
                text,
                serial,
            } => {
                self.announced.insert(id);
                self.push(
                    ts,
                    ts,
                    0,
                    Item::Enter {
                        id,
                        pid,
                        tid,
                        text,
                        serial,
                    },
                );
            }
            TraceEvent::Call(c) => {
                if let Some(s) = &c.socket {
                    if let Some(a) = s.local.as_ref().and_then(Addr::inet) {
                        if a.port() != 0 && !self.locals.contains(&(s.is_tcp(), a)) {
                            self.locals.push((s.is_tcp(), a));
                        }
                    }
                    if c.name_service() {
                        self.hidden_serials.insert(s.serial);
                    }
                }
                self.active.insert(c.pid);
                // A birth not shown (nobody had made socket calls yet) goes
                // back on the timeline with this first call of the new one.
                if let Some(born) = self.deferred.remove(&c.tid) {
                    self.slots.push(born);
                }
                self.calls.insert(c.id, (*c).clone());
                self.index(&c);
                let announced = self.announced.remove(&c.id);
                let key = if announced { c.end } else { c.start };
                self.push(key, c.start, 0, Item::Call { call: c, announced });
            }
            TraceEvent::Output { ts, line, stderr } => {
                self.push(ts, ts, 2, Item::Output { line, stderr })
            }
            TraceEvent::Process {
                kind,
                ts,
                pid,
                tid,
                text,
            } => self.push(
                ts,
                ts,
                0,
                Item::Process {
                    kind,
                    pid,
                    tid,
                    text,
                },
            ),
        }
    }

    /// Keep a call that can cause packets, indexed by its ports.
    fn index(&mut self, c: &CallEvent) {
        if !link::may_cause(c) {
            return;
        }
        self.last_sending_call = self.last_sending_call.max(c.end);
        let ports = [
            c.socket
                .as_ref()
                .and_then(|s| s.local.as_ref())
                .and_then(Addr::inet),
            c.target.as_ref().and_then(Addr::inet),
        ];
        for a in ports.into_iter().flatten() {
            if a.port() != 0 {
                self.by_port.entry(a.port()).or_default().push(c.id);
            }
        }
        self.linkable.insert(c.id, c.clone());
    }

    /// Forget linkable calls that ended long before `horizon`.
    fn prune(&mut self, horizon: Timestamp) {
        let oldest = horizon.as_nanos() - KEEP_CALLS_NS;
        let old: HashSet<u64> = self
            .linkable
            .iter()
            .filter(|(_, c)| c.end.as_nanos() < oldest)
            .map(|(id, _)| *id)
            .collect();
        if old.is_empty() {
            return;
        }
        self.linkable.retain(|id, _| !old.contains(id));
        self.by_port.retain(|_, ids| {
            ids.retain(|id| !old.contains(id));
            !ids.is_empty()
        });
    }

    /// Take one captured packet.
    pub fn packet(&mut self, p: OwnedPacket) {
        let ts = p.ts;
        self.push(ts, ts, 1, Item::Packet { p, link: None });
    }

    fn facts(p: &OwnedPacket) -> Option<Facts> {
        Facts::of(p.ts, &decode_captured(p.link, &p.data, p.orig_len))
    }

    /// Tie unlinked packets to the calls that caused them.
    fn link(&mut self) {
        for slot in &mut self.slots {
            let Item::Packet { p, link } = &mut slot.item else {
                continue;
            };
            if link.is_some() {
                continue;
            }
            let Some(f) = Self::facts(p) else {
                continue;
            };
            let ids = [f.src.port(), f.dst.port()]
                .into_iter()
                .filter_map(|p| self.by_port.get(&p))
                .flatten();
            let best = ids
                .filter_map(|id| self.linkable.get(id))
                .filter(|c| link::caused(c, &f))
                .min_by_key(|c| (link::distance(c, &f), c.id));
            if let Some(c) = best {
                let fd = c.fd.map(|f| format!("fd {f}")).unwrap_or_default();
                *link = Some((c.id, format!("{}({fd}) in pid {}", c.call, c.pid)));
                // Print it after the call's line.
                if slot.key < c.start {
                    slot.key = c.start;
                }
            }
        }
    }

    fn own(&self, f: &Facts) -> bool {
        self.locals.iter().any(|(tcp, a)| {
            *tcp == f.tcp && (link::same_endpoint(*a, f.src) || link::same_endpoint(*a, f.dst))
        })
    }

    fn hidden_call(&self, c: &CallEvent) -> bool {
        !self.show.dns
            && (c.name_service()
                || c.socket
                    .as_ref()
                    .is_some_and(|s| self.hidden_serials.contains(&s.serial)))
    }

    /// Print everything sorted before `horizon`.
    pub fn flush<W: Write>(&mut self, w: &mut W, horizon: Timestamp) -> io::Result<()> {
        self.link();
        self.slots.sort_by_key(|s| (s.key, s.class, s.seq));
        let n = self.slots.iter().take_while(|s| s.key < horizon).count();
        let batch: Vec<Slot> = self.slots.drain(..n).collect();
        let mut combined: HashSet<u64> = HashSet::new();
        let mut keep: Vec<Slot> = Vec::new();
        for (i, slot) in batch.iter().enumerate() {
            self.text.clear();
            match &slot.item {
                Item::Enter {
                    id,
                    pid,
                    tid,
                    text,
                    serial,
                } => {
                    if !self.show.dns && serial.is_some_and(|s| self.hidden_serials.contains(&s)) {
                        continue;
                    }
                    if self.adjacent(&batch[i + 1..], *id) {
                        combined.insert(*id);
                        if let Some(c) = self.calls.get(id).cloned() {
                            self.emit_call(w, &c, false)?;
                        }
                    } else if self.show.json {
                        let v = render::enter_json(slot.ts, *pid, *tid, text);
                        self.line(w, &v.to_string())?;
                    } else {
                        let mut s = String::new();
                        render::enter(&mut s, slot.ts, *pid, *tid, text, self.show.look);
                        self.write(w, &s)?;
                    }
                }
                Item::Call { call, announced } => {
                    if combined.contains(&call.id) {
                        continue;
                    }
                    let c = call.clone();
                    self.emit_call(w, &c, *announced)?;
                }
                Item::Packet { p, link } => self.emit_packet(w, p, link.as_ref())?,
                Item::Output { line, stderr } => {
                    let mut s = String::new();
                    if self.show.json {
                        s = render::output_json(slot.ts, line, *stderr).to_string();
                        s.push('\n');
                    } else {
                        render::output(&mut s, slot.ts, line, *stderr);
                    }
                    self.write(w, &s)?;
                }
                Item::Process {
                    kind,
                    pid,
                    tid,
                    text,
                } => {
                    let shown = match kind {
                        ProcKind::Born { parent } => {
                            self.active.contains(parent) || self.active.contains(pid)
                        }
                        ProcKind::Exec => false,
                        ProcKind::Ended { root } => {
                            self.deferred.remove(tid);
                            *root || self.active.contains(pid)
                        }
                        ProcKind::Job { root } => *root || self.active.contains(pid),
                    };
                    if !shown {
                        if matches!(kind, ProcKind::Born { .. }) {
                            keep.push(Slot {
                                key: slot.key,
                                ts: slot.ts,
                                class: slot.class,
                                seq: slot.seq,
                                item: Item::Process {
                                    kind: *kind,
                                    pid: *pid,
                                    tid: *tid,
                                    text: text.clone(),
                                },
                            });
                        }
                        continue;
                    }
                    let mut s = String::new();
                    if self.show.json {
                        s = render::process_json(slot.ts, *pid, *tid, text).to_string();
                        s.push('\n');
                    } else {
                        render::process(&mut s, slot.ts, *pid, *tid, text);
                    }
                    self.write(w, &s)?;
                }
            }
        }
        for k in keep {
            if let Item::Process { tid, .. } = &k.item {
                // The process ended without socket calls: forget it then.
                self.deferred.insert(*tid, k);
            }
        }
        // Calls combined with an Enter of this batch but sorted after the horizon.
        self.slots
            .retain(|s| !matches!(&s.item, Item::Call { call, .. } if combined.contains(&call.id)));
        self.prune(horizon);
        if let Some((wr, _)) = &mut self.save {
            wr.flush().map_err(io::Error::other)?;
        }
        w.flush().or_else(|e| self.gone(e))
    }

    /// True if the call `id` follows in `rest` (then the slots still
    /// waiting) with only its own packets, or hidden ones, in between.
    fn adjacent(&self, rest: &[Slot], id: u64) -> bool {
        for s in rest.iter().chain(self.slots.iter()) {
            match &s.item {
                Item::Call { call, .. } if call.id == id => return true,
                Item::Packet {
                    link: Some((l, _)), ..
                } if *l == id => {}
                Item::Packet { p, link: None }
                    if !self.packet_shown(p) || self.same_socket(id, p) => {}
                _ => return false,
            }
        }
        false
    }

    /// True if `p` travels on the socket of call `id` (the peer's answer
    /// to what the call did does not make the call look blocked).
    fn same_socket(&self, id: u64, p: &OwnedPacket) -> bool {
        let (Some(c), Some(f)) = (self.calls.get(&id), Self::facts(p)) else {
            return false;
        };
        c.socket
            .as_ref()
            .is_some_and(|s| link::direction(s, &f).is_some())
    }

    fn dns_packet(&self, f: &Facts) -> bool {
        !self.show.dns && (matches!(f.src.port(), 53 | 5353) || matches!(f.dst.port(), 53 | 5353))
    }

    fn packet_shown(&self, p: &OwnedPacket) -> bool {
        let Some(f) = Self::facts(p) else {
            return self.show.all_packets;
        };
        !self.dns_packet(&f) && (self.show.all_packets || self.own(&f))
    }

    fn emit_call<W: Write>(&mut self, w: &mut W, c: &CallEvent, resumed: bool) -> io::Result<()> {
        self.calls.remove(&c.id);
        if self.hidden_call(c) {
            return Ok(());
        }
        self.calls_shown += 1;
        if self.show.summary {
            self.summary.call(c);
        }
        let mut s = String::new();
        if self.show.json {
            s = render::call_json(c).to_string();
            s.push('\n');
        } else if resumed {
            render::resumed(&mut s, c, self.show.look);
        } else {
            render::call(&mut s, c, self.show.look);
        }
        self.write(w, &s)
    }

    fn emit_packet<W: Write>(
        &mut self,
        w: &mut W,
        p: &OwnedPacket,
        link: Option<&(u64, String)>,
    ) -> io::Result<()> {
        // A linked packet is the program's own by definition (DNS aside).
        let shown = match link {
            None => self.packet_shown(p),
            Some(_) => !Self::facts(p).is_some_and(|f| self.dns_packet(&f)),
        };
        if !shown {
            return Ok(());
        }
        let Some(pipe) = &mut self.pipe else {
            return Ok(());
        };
        let mut buf = Vec::with_capacity(512);
        if !pipe.handle(&mut buf, &p.as_packet())? {
            return Ok(()); // the user's filter said no
        }
        self.packets_shown += 1;
        if let Some(f) = Self::facts(p) {
            if self.show.summary {
                self.summary.packet(&f);
            }
        }
        if let Some((_, tag)) = link {
            self.packets_linked += 1;
            if self.show.json {
                // Add "call": "..." to the packet's object.
                if let Some(end) = buf.iter().rposition(|b| *b == b'}') {
                    let field = format!(",\"caused_by\":{}", serde_json::Value::from(tag.as_str()));
                    buf.splice(end..end, field.into_bytes());
                }
            } else if let Some(nl) = buf.iter().position(|b| *b == b'\n') {
                let tagged = format!("  <- {tag}");
                buf.splice(nl..nl, tagged.into_bytes());
            }
        }
        if let Some((wr, _)) = &mut self.save {
            wr.write_commented(&p.as_packet(), link.map(|(_, t)| t.as_str()))
                .map_err(io::Error::other)?;
        }
        if self.out_gone {
            return Ok(());
        }
        w.write_all(&buf).or_else(|e| self.gone(e))
    }

    fn line<W: Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        let mut t = s.to_string();
        t.push('\n');
        self.write(w, &t)
    }

    fn write<W: Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        if self.out_gone {
            return Ok(());
        }
        w.write_all(s.as_bytes()).or_else(|e| self.gone(e))
    }

    fn gone(&mut self, e: io::Error) -> io::Result<()> {
        if e.kind() == io::ErrorKind::BrokenPipe {
            self.out_gone = true;
            Ok(())
        } else {
            Err(e)
        }
    }

    /// With `--follow N`: `Some(conversations seen)` when conversation N
    /// was not among them; `None` when it was, or when not following.
    pub fn unfollowed(&self) -> Option<usize> {
        let pipe = self.pipe.as_ref()?;
        (pipe.following().is_some() && !pipe.followed()).then(|| pipe.summaries().0.len())
    }

    /// Finish: print everything left, the `--follow` conversation, the
    /// `-c` table, and close the `-w` file.
    /// Returns the closing note (`-w` count).
    pub fn finish<W: Write>(&mut self, w: &mut W) -> io::Result<String> {
        self.flush(
            w,
            Timestamp {
                secs: i64::MAX,
                nanos: 0,
            },
        )?;
        if let Some(pipe) = self.pipe.as_mut().filter(|_| !self.out_gone) {
            let r = pipe.write_follow(w).and_then(|_| w.flush());
            r.or_else(|e| self.gone(e))?;
        }
        if self.show.summary && !self.out_gone {
            let conns = self
                .pipe
                .as_ref()
                .map(|p| p.summaries().0)
                .unwrap_or_default();
            if self.show.json {
                // The table is for people: stdout stays one JSON object per line.
                w.flush().or_else(|e| self.gone(e))?;
                let mut err = io::stderr().lock();
                let _ = self.summary.write(&mut err, &conns, self.pipe.is_some());
            } else {
                let r = self
                    .summary
                    .write(w, &conns, self.pipe.is_some())
                    .and_then(|_| w.flush());
                r.or_else(|e| self.gone(e))?;
            }
        }
        match self.save.take() {
            Some((wr, path)) => {
                let n = wr.written();
                let plain = wr.options().format == crate::capture::file::Format::Pcap;
                wr.finish().map_err(io::Error::other)?;
                let mut note = format!(
                    "; {} written to {}",
                    crate::plural::count(n, "packet"),
                    path.display()
                );
                if plain {
                    note.push_str(
                        " (plain pcap, so without the calls as comments: name it .pcapng to keep them)",
                    );
                }
                Ok(note)
            }
            None => Ok(String::new()),
        }
    }
}

/// The printer thread's loop: events from the tracer, packets from the
/// capture, printed in time order; ends when the tracer's channel closes.
pub fn print_loop(
    mut session: Session,
    rx: Receiver<TraceEvent>,
    cap: Option<BackgroundCapture>,
    caught_up: Watermark,
) -> io::Result<(Session, String, u64)> {
    let stdout = io::stdout();
    let tick = Duration::from_millis(30);
    let mut last_flush = std::time::Instant::now();
    loop {
        match rx.recv_timeout(tick) {
            Ok(e) => {
                session.event(e);
                while let Ok(e) = rx.try_recv() {
                    session.event(e);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if let Some(c) = &cap {
            while let Some(p) = c.try_next() {
                session.packet(p);
            }
        }
        if last_flush.elapsed() >= tick {
            last_flush = std::time::Instant::now();
            // The tracer's progress first, then the events it covers.
            let tracer_at = caught_up.get();
            while let Ok(e) = rx.try_recv() {
                session.event(e);
            }
            let cut = Watermark::cut(tracer_at, Timestamp::now(), HORIZON);
            session.flush(&mut stdout.lock(), cut)?;
        }
    }
    // Let the last packets (a FIN, an RST) arrive, then drain the capture:
    // wait up to 100 ms after the last call that could send one.
    let mut dropped = 0;
    if let Some(c) = cap {
        let since = Timestamp::now().nanos_since(session.last_sending_call);
        if since < 100_000_000 {
            std::thread::sleep(Duration::from_nanos((100_000_000 - since) as u64));
        }
        let (rest, stats) = c.stop().map_err(io::Error::other)?;
        dropped = stats.dropped;
        for p in rest {
            session.packet(p);
        }
    }
    let note = session.finish(&mut stdout.lock())?;
    Ok((session, note, dropped))
}
