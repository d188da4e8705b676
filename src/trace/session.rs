//! One timeline out of three sources: the tracer's call events, the
//! packets of the background capture, and the program's output lines.
//!
//! The packets come through the one packet loop ([`Driver`]), with the
//! [`Session`] as its [`Merger`]: the driver holds each packet until the
//! tracer has caught up with its time ([`Watermark`], at most
//! [`super::watermark::MAX_LAG`]), then the session ties it to the call
//! that caused it ([`super::link`]) or hides it (not the program's), and
//! the driver decodes, renders and saves it (`-w`, the call as its pcapng
//! comment) as it does for every source. Items wait [`HORIZON`] before
//! they are printed, so that packets (delivered late by the capture
//! thread) and calls (reported at their exit) are put in time order. A
//! call that may block is printed whole when nothing but its own packets
//! happened while it ran, otherwise as `call(...) ...` at its start and
//! `... call(...) = r` at its end. Runs on its own thread; never does
//! ptrace requests.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use crate::capture::background::BackgroundCapture;
use crate::capture::source::{Background, Next, PacketSource, SourceError};
use crate::capture::{LinkType, Packet, Timestamp};
use crate::render::packet::PacketPrinter;
use crate::sniff::driver::{Admit, Driver, Merger, Stop, Summary as DriverSummary};
use crate::sniff::Pipeline;
use crate::wire::packet::decode_captured;

use super::addr::Addr;
use super::event::{CallEvent, ProcKind, TraceEvent};
use super::link::{self, Facts};
use super::linkable::Linkable;
use super::render::{self, Look};
use super::summary::Summary;
use super::watermark::Watermark;

/// How long an item waits before it is printed.
pub const HORIZON: Duration = Duration::from_millis(150);
/// How long calls are kept for linking after they end.
const KEEP_CALLS_NS: i128 = 1_000_000_000;
/// After the program ended, how long the capture goes on after the last
/// call that could send a packet (its FIN, an RST are still on the way).
const LAST_PACKETS_NS: i128 = 100_000_000;
/// How often the driver flushes (and the session takes the tracer's events).
const TICK: Duration = Duration::from_millis(30);
/// How long the loop waits for a packet before it looks at the tracer's
/// events (the end of the program is noticed this late at most).
const IDLE: Duration = Duration::from_millis(10);

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
        /// As the pipeline rendered it, with the call it is tied to.
        text: Vec<u8>,
        facts: Option<Facts>,
        /// The id of the call it is tied to.
        link: Option<u64>,
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

/// The call a packet is tied to: its id, how it is named
/// (`connect(fd 3) in pid 4242`), when it started.
type Link = (u64, String, Timestamp);

/// A packet between `admit` and `packet`: its facts, and the id and start
/// of the call it is tied to (the call's name travels as the annotation).
type Admitted = (Option<Facts>, Option<(u64, Timestamp)>);

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
    /// Packets are captured (the `-c` table has their columns).
    packets: bool,
    /// The tracer's events.
    rx: Receiver<TraceEvent>,
    /// How far the tracer has caught up.
    caught_up: Watermark,
    /// Set once the program ended and its last packets had time to come:
    /// the driver stops the capture then.
    done: Arc<AtomicBool>,
    /// The tracer's channel closed (the program ended).
    ended: bool,
    /// The packet [`Merger::admit`] let through last: its facts and link
    /// (with the call's start), for [`Merger::packet`].
    admitted: Option<Admitted>,
    slots: Vec<Slot>,
    seq: u64,
    announced: HashSet<u64>,
    /// Calls not printed yet, by id.
    calls: HashMap<u64, CallEvent>,
    /// Calls that can cause packets (connect, sends, close, shutdown),
    /// kept a while after they end for linking, by port (the socket's
    /// local port, a connect's target port) and time.
    linkable: Linkable,
    /// Packets looked up in `linkable` (each once, when released).
    link_attempts: u64,
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
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("show", &self.show).finish()
    }
}

impl Session {
    /// A session printing the events from `rx` (and the packets, when
    /// `packets`) as `show` says; `caught_up` is the tracer's progress.
    pub fn new(show: Show, packets: bool, rx: Receiver<TraceEvent>, caught_up: Watermark) -> Self {
        Session {
            show,
            packets,
            rx,
            caught_up,
            done: Arc::new(AtomicBool::new(false)),
            ended: false,
            admitted: None,
            slots: Vec::new(),
            seq: 0,
            announced: HashSet::new(),
            calls: HashMap::new(),
            linkable: Linkable::default(),
            link_attempts: 0,
            hidden_serials: HashSet::new(),
            active: HashSet::new(),
            deferred: HashMap::new(),
            locals: Vec::new(),
            summary: Summary::new(),
            calls_shown: 0,
            packets_shown: 0,
            packets_linked: 0,
            last_sending_call: Timestamp::default(),
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
        self.linkable.insert(c);
    }

    /// Forget linkable calls that ended long before `horizon`.
    fn prune(&mut self, horizon: Timestamp) {
        self.linkable.prune(horizon.as_nanos() - KEEP_CALLS_NS);
    }

    /// The call that caused a packet with these facts, if one is known:
    /// its id, how it is named (`connect(fd 3) in pid 4242`), its start.
    fn link_of(&mut self, f: &Facts) -> Option<Link> {
        self.link_attempts += 1;
        let c = self.linkable.find(f)?;
        let fd = c.fd.map(|f| format!("fd {f}")).unwrap_or_default();
        Some((c.id, format!("{}({fd}) in pid {}", c.call, c.pid), c.start))
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
    fn flush(&mut self, w: &mut dyn Write, horizon: Timestamp) -> io::Result<()> {
        self.slots.sort_by_key(|s| (s.key, s.class, s.seq));
        let mut n = self.slots.iter().take_while(|s| s.key < horizon).count();
        // A call announced at its start whose end is known but not due yet
        // waits, with what follows it: the packets of its time are not all
        // released, and whether it is printed whole depends on them. Its
        // Call slot is keyed by its end, so "not due" is `end >= horizon`
        // (looked up for the due Enter slots only, not a scan of the rest).
        let calls = &self.calls;
        let waiting = |s: &Slot| match &s.item {
            Item::Enter { id, .. } => calls.get(id).is_some_and(|c| c.end >= horizon),
            _ => false,
        };
        if let Some(i) = self.slots[..n].iter().position(waiting) {
            n = i;
        }
        let batch: Vec<Slot> = self.slots.drain(..n).collect();
        let mut combined: HashSet<u64> = HashSet::new();
        let mut keep: Vec<Slot> = Vec::new();
        for (i, slot) in batch.iter().enumerate() {
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
                Item::Packet { text, facts, .. } => {
                    // Counted as printed: after the calls of its socket.
                    if let (Some(f), true) = (facts, self.show.summary) {
                        self.summary.packet(f);
                    }
                    w.write_all(text)?
                }
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
        Ok(())
    }

    /// True if the call `id` follows in `rest` (then the slots still
    /// waiting) with only its own packets, or hidden ones, in between.
    fn adjacent(&self, rest: &[Slot], id: u64) -> bool {
        for s in rest.iter().chain(self.slots.iter()) {
            match &s.item {
                Item::Call { call, .. } if call.id == id => return true,
                Item::Packet { link: Some(l), .. } if *l == id => {}
                Item::Packet {
                    facts, link: None, ..
                } if self.same_socket(id, facts.as_ref()) => {}
                _ => return false,
            }
        }
        false
    }

    /// True if `p` travels on the socket of call `id` (the peer's answer
    /// to what the call did does not make the call look blocked).
    fn same_socket(&self, id: u64, f: Option<&Facts>) -> bool {
        let (Some(c), Some(f)) = (self.calls.get(&id), f) else {
            return false;
        };
        c.socket
            .as_ref()
            .is_some_and(|s| link::direction(s, f).is_some())
    }

    fn dns_packet(&self, f: &Facts) -> bool {
        !self.show.dns && (matches!(f.src.port(), 53 | 5353) || matches!(f.dst.port(), 53 | 5353))
    }

    fn packet_shown(&self, f: Option<&Facts>) -> bool {
        let Some(f) = f else {
            return self.show.all_packets;
        };
        !self.dns_packet(f) && (self.show.all_packets || self.own(f))
    }

    fn emit_call(&mut self, w: &mut dyn Write, c: &CallEvent, resumed: bool) -> io::Result<()> {
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

    fn line(&mut self, w: &mut dyn Write, s: &str) -> io::Result<()> {
        let mut t = s.to_string();
        t.push('\n');
        self.write(w, &t)
    }

    fn write(&mut self, w: &mut dyn Write, s: &str) -> io::Result<()> {
        w.write_all(s.as_bytes())
    }

    /// The `-c` table (to stderr with `--json`: stdout stays one JSON
    /// object per line), with `pipe`'s connections.
    fn write_table(&self, w: &mut dyn Write, pipe: &Pipeline) -> io::Result<()> {
        if !self.show.summary {
            return Ok(());
        }
        let conns = if self.packets {
            pipe.summaries().0
        } else {
            Vec::new()
        };
        if self.show.json {
            w.flush()?;
            let _ = self
                .summary
                .write(&mut io::stderr().lock(), &conns, self.packets);
            Ok(())
        } else {
            self.summary.write(&mut &mut *w, &conns, self.packets)?;
            w.flush()
        }
    }
}

impl Merger for Session {
    fn holds(&self) -> bool {
        true
    }

    fn release_before(&mut self) -> Timestamp {
        // The tracer's progress first, then the events it covers.
        let tracer_at = self.caught_up.get();
        loop {
            match self.rx.try_recv() {
                Ok(e) => self.event(e),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.ended = true;
                    break;
                }
            }
        }
        let now = Timestamp::now();
        if self.ended && now.nanos_since(self.last_sending_call) >= LAST_PACKETS_NS {
            self.done.store(true, Ordering::SeqCst);
        }
        Watermark::cut(tracer_at, now, HORIZON)
    }

    fn admit(&mut self, p: &Packet<'_>) -> Admit {
        let facts = Facts::of(p.ts, &decode_captured(p.link, p.data, p.orig_len));
        let link = facts.as_ref().and_then(|f| self.link_of(f));
        // A linked packet is the program's own by definition (DNS aside).
        let shown = match &link {
            None => self.packet_shown(facts.as_ref()),
            Some(_) => !facts.as_ref().is_some_and(|f| self.dns_packet(f)),
        };
        if !shown {
            return Admit::Hide;
        }
        // The call's name goes out as the annotation (the -w comment) and
        // comes back with the rendered packet.
        let (linked, note) = match link {
            Some((id, tag, start)) => (Some((id, start)), Some(tag)),
            None => (None, None),
        };
        self.admitted = Some((facts, linked));
        Admit::Show(note)
    }

    fn packet(&mut self, p: &Packet<'_>, mut text: Vec<u8>, note: Option<String>) {
        let (facts, linked) = self.admitted.take().unwrap_or_default();
        self.packets_shown += 1;
        let mut key = p.ts;
        let link = linked.map(|(id, start)| {
            let tag = note.as_deref().unwrap_or_default();
            self.packets_linked += 1;
            if self.show.json {
                // Add "caused_by": "..." to the packet's object.
                if let Some(end) = text.iter().rposition(|b| *b == b'}') {
                    let field = format!(",\"caused_by\":{}", serde_json::Value::from(tag));
                    text.splice(end..end, field.into_bytes());
                }
            } else if let Some(nl) = text.iter().position(|b| *b == b'\n') {
                text.splice(nl..nl, format!("  <- {tag}").into_bytes());
            }
            // Print it after the call's line.
            key = key.max(start);
            id
        });
        self.push(key, p.ts, 1, Item::Packet { text, facts, link });
    }

    fn write_before(
        &mut self,
        out: &mut dyn Write,
        _printer: &mut PacketPrinter,
        cut: Timestamp,
    ) -> io::Result<()> {
        self.flush(out, cut)
    }

    fn write_all(&mut self, out: &mut dyn Write, _printer: &mut PacketPrinter) -> io::Result<()> {
        self.flush(
            out,
            Timestamp {
                secs: i64::MAX,
                nanos: 0,
            },
        )
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// Standard output that a reader closed (`| head`) quietly swallows what
/// follows: the program goes on being traced, and the `-w` file written.
struct Quiet<W: Write> {
    inner: W,
    gone: bool,
}

impl<W: Write> Quiet<W> {
    fn check(&mut self, r: io::Result<()>) -> io::Result<()> {
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.gone = true;
                Ok(())
            }
            r => r,
        }
    }
}

impl<W: Write> Write for Quiet<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.gone {
            let r = self.inner.write_all(buf);
            self.check(r)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.gone {
            return Ok(());
        }
        let r = self.inner.flush();
        self.check(r)
    }
}

/// Where the packets come from: the capture, or none (`--no-packets`),
/// which is idle until the program ended.
enum Source {
    Capture(Background),
    Nothing {
        stopped: bool,
        /// Disconnected once the program and its output readers are done:
        /// the loop looks at the session at once instead of after its
        /// idle sleep (10 ms of every calls-only run's end).
        wake: Receiver<()>,
        woken: bool,
    },
}

impl PacketSource for Source {
    fn next(&mut self) -> Result<Next<'_>, SourceError> {
        match self {
            Source::Capture(c) => c.next(),
            Source::Nothing { stopped: true, .. } => Ok(Next::End),
            Source::Nothing { wake, woken, .. } => {
                if *woken {
                    std::thread::sleep(IDLE);
                } else if let Err(RecvTimeoutError::Disconnected) = wake.recv_timeout(IDLE) {
                    *woken = true;
                }
                Ok(Next::Idle)
            }
        }
    }
    fn link_type(&self) -> LinkType {
        match self {
            Source::Capture(c) => c.link_type(),
            // Nothing is read; a link type is still named (for -w).
            Source::Nothing { .. } => LinkType::Ethernet,
        }
    }
    fn stop(&mut self) -> Result<(), SourceError> {
        match self {
            Source::Capture(c) => c.stop(),
            Source::Nothing { stopped, .. } => {
                *stopped = true;
                Ok(())
            }
        }
    }
    fn kernel_stats(&mut self) -> Option<crate::capture::KernelStats> {
        match self {
            Source::Capture(c) => c.kernel_stats(),
            Source::Nothing { .. } => None,
        }
    }
}

/// The printer thread's work, ready to run: the session on the packet
/// loop ([`Driver`]), the `-w` file already created.
pub struct Printer {
    driver: Driver<Source>,
}

/// How the printer thread ended.
pub struct Printed {
    /// The session, with its counters.
    pub session: Session,
    /// `; N packets written to FILE`, with `-w`.
    pub saved: String,
    /// Packets the kernel dropped.
    pub dropped: u64,
    /// With `--follow N`: conversations seen when N was not among them.
    pub unfollowed: Option<usize>,
}

impl Printer {
    /// Set up the loop: packets from `cap` (None: calls only) through
    /// `pipe` onto `session`'s timeline; `-w` to `write` (created now),
    /// recording the interface `iface`.
    pub fn new(
        session: Session,
        pipe: Pipeline,
        cap: Option<BackgroundCapture>,
        write: Option<&Path>,
        iface: &str,
        wake: Receiver<()>,
    ) -> Result<Printer, crate::capture::file::FileError> {
        let following = pipe.following().is_some();
        let source = match cap {
            Some(c) => Source::Capture(Background::new(c).wait(IDLE)),
            None => Source::Nothing {
                stopped: false,
                wake,
                woken: false,
            },
        };
        let mut driver = Driver::new(source, pipe)
            .stop(Stop::Flag(session.done.clone()))
            .live(TICK)
            .summary(if following {
                DriverSummary::Follow
            } else {
                DriverSummary::None
            })
            .hold(Box::new(session));
        if let Some(path) = write {
            driver = driver
                .save(path, false)
                .save_details(Some(iface.to_string()), None)
                .create_file()?;
        }
        Ok(Printer { driver })
    }

    /// Run until the program ended and the capture drained; print the
    /// rest, the `--follow` conversation and the `-c` table.
    pub fn run(self) -> io::Result<Printed> {
        let mut out = Quiet {
            inner: io::stdout(),
            gone: false,
        };
        let (end, pipe, merger) = self.driver.run_merger(&mut out);
        let dropped = end.kernel.map(|k| k.dropped).unwrap_or_default();
        let saved = match &end.saved {
            Some(s) => {
                let mut note = format!(
                    "; {} written to {}",
                    crate::plural::count(s.packets, "packet"),
                    s.path.display()
                );
                if s.options.format == crate::capture::file::Format::Pcap {
                    note.push_str(
                        " (plain pcap, so without the calls as comments: name it .pcapng to keep them)",
                    );
                }
                note
            }
            None => String::new(),
        };
        end.result().map_err(io::Error::other)?;
        let session = merger
            .and_then(|m| m.into_any().downcast::<Session>().ok())
            .ok_or_else(|| io::Error::other("the trace's timeline was lost"))?;
        session.write_table(&mut out, &pipe)?;
        Ok(Printed {
            unfollowed: pipe.unfollowed(),
            session: *session,
            saved,
            dropped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::packet::PrintOptions;

    fn accept(id: u64, start: i64, end: i64) -> CallEvent {
        let at = |s| Timestamp::new(s, 0);
        CallEvent {
            fd: Some(3),
            args: "3".into(),
            ..CallEvent::new(id, (7, 7), "accept", (at(start), at(end)), 4)
        }
    }

    /// A blocking accept from 10 s to 20 s, and (`packet`) another
    /// socket's packet at 12 s, which only the driver holds at first;
    /// what is printed at cut 15 s, then at cut 25 s.
    fn blocking_accept(packet: bool) -> (String, String) {
        let (_tx, rx) = std::sync::mpsc::channel();
        let show = Show {
            all_packets: true,
            ..Show::default()
        };
        let mut s = Session::new(show, true, rx, Watermark::new());
        s.event(TraceEvent::Enter {
            id: 1,
            ts: Timestamp::new(10, 0),
            pid: 7,
            tid: 7,
            text: "accept(3)".into(),
            serial: None,
        });
        s.event(TraceEvent::Call(Box::new(accept(1, 10, 20))));
        let mut printer = PacketPrinter::new(PrintOptions::default());
        let mut first = Vec::new();
        s.write_before(&mut first, &mut printer, Timestamp::new(15, 0))
            .expect("vec");
        if packet {
            // Released by the driver once the cut passed its time.
            let p = Packet {
                ts: Timestamp::new(12, 0),
                data: &[],
                orig_len: 0,
                link: LinkType::Ethernet,
            };
            s.packet(&p, b"OTHER PACKET\n".to_vec(), None);
        }
        let mut then = Vec::new();
        s.write_before(&mut then, &mut printer, Timestamp::new(25, 0))
            .expect("vec");
        let text = |v: Vec<u8>| String::from_utf8_lossy(&v).into_owned();
        (text(first), text(then))
    }

    /// Regression for the move onto the driver: a blocking call whose end
    /// is known waits until the packets of its time are released, so that
    /// a packet of another socket in between still splits it in two.
    #[test]
    fn a_blocking_call_waits_for_the_packets_of_its_time() {
        let (first, then) = blocking_accept(true);
        assert_eq!(first, "", "nothing before the call's packets are in");
        let lines: Vec<&str> = then.lines().collect();
        assert_eq!(lines.len(), 3, "{then}");
        assert!(lines[0].ends_with("accept(3) ..."), "{then}");
        assert_eq!(lines[1], "OTHER PACKET");
        assert!(lines[2].contains("... accept(3) = 4"), "{then}");
        // Nothing in between: printed whole, once.
        let (first, then) = blocking_accept(false);
        assert_eq!(first, "");
        assert_eq!(then.lines().count(), 1, "{then}");
        assert!(
            then.contains("accept(3) = 4") && !then.contains("..."),
            "{then}"
        );
    }

    /// On the driver, flushed every 64 packets: each packet is looked up
    /// once, when released (the peer's replies, which never link, are
    /// not tried again at later flushes), and the program's own data is
    /// tied to the send whose time it falls in, among 200 sends.
    #[test]
    fn each_packet_is_linked_once_and_to_its_own_send() {
        use crate::capture::source::Memory;
        use crate::capture::OwnedPacket;
        use crate::filter::Filter;
        use crate::render::packet::PrintOptions;
        use crate::trace::sockets::SocketInfo;
        use crate::wire::packet::tcp_flags as fl;
        use crate::wire::packet::testframes::tcp;

        let (tx, rx) = std::sync::mpsc::channel();
        let (ours, peer): (std::net::SocketAddr, std::net::SocketAddr) = (
            "127.0.0.1:40000".parse().unwrap(),
            "127.0.0.1:21009".parse().unwrap(),
        );
        let sock = SocketInfo {
            serial: 1,
            family: libc::AF_INET,
            kind: libc::SOCK_STREAM,
            local: Some(Addr::Inet(ours)),
            peer: Some(Addr::Inet(peer)),
            nonblocking: false,
            name_service: false,
        };
        // Send i runs from base + i ms to base + i ms + 100 µs, base 450 ms
        // ago; the tracer caught up to 200 ms ago: every packet is released
        // at the first flush after it is read, and the calls are kept (for
        // 1 s after the cut) unless this test takes over 2.5 s.
        let now = Timestamp::now().as_nanos();
        let at = |ns: i128| {
            Timestamp::new(
                ns.div_euclid(1_000_000_000) as i64,
                ns.rem_euclid(1_000_000_000) as u32,
            )
        };
        let base = now - 450_000_000;
        let ms = |i: u32, us: u32| at(base + i128::from(i) * 1_000_000 + i128::from(us) * 1000);
        let caught_up = Watermark::new();
        caught_up.set(at(now - 200_000_000));
        let mut packets = Vec::new();
        for i in 0..200u32 {
            let mut c = accept(u64::from(i) + 1, 0, 0);
            c.call = "send";
            c.fd = Some(i as i32 + 3);
            c.start = ms(i, 0);
            c.end = ms(i, 100);
            c.socket = Some(sock.clone());
            tx.send(TraceEvent::Call(Box::new(c))).expect("send");
            // Ours, 30 µs into send i; the peer's echo 400 µs in (unlinkable).
            for (data, at) in [
                (tcp(40000, 21009, i, 0, fl::ACK | fl::PSH, b"x"), ms(i, 30)),
                (tcp(21009, 40000, i, 0, fl::ACK | fl::PSH, b"x"), ms(i, 400)),
            ] {
                packets.push(OwnedPacket {
                    ts: at,
                    orig_len: data.len(),
                    data,
                    link: LinkType::Ethernet,
                });
            }
        }
        drop(tx);
        let show = Show {
            look: Look::default(),
            ..Show::default()
        };
        let session = Session::new(show, true, rx, caught_up);
        let pipe = Pipeline::new(Filter::all(), PrintOptions::default());
        let mut out = Vec::new();
        let (end, _, merger) = Driver::new(Memory::new(&packets, LinkType::Ethernet), pipe)
            .live(Duration::ZERO)
            .summary(DriverSummary::None)
            .hold(Box::new(session))
            .run_merger(&mut out);
        assert!(end.error.is_none(), "{:?}", end.error);
        let s = merger
            .and_then(|m| m.into_any().downcast::<Session>().ok())
            .expect("the session back");
        assert_eq!(s.link_attempts, 400, "each packet looked up once");
        assert_eq!(s.packets_shown, 400);
        assert_eq!(s.packets_linked, 200);
        let text = String::from_utf8_lossy(&out);
        let linked: Vec<&str> = text.lines().filter(|l| l.contains("<- send(")).collect();
        assert_eq!(linked.len(), 200, "{text}");
        // Send i is told apart by its fd (i + 3): our packet i is tied to
        // send i, not to a neighbour within SLACK_NS.
        for i in 0..200u32 {
            let seq = format!("seq {i}:{}, ", i + 1);
            let tag = format!("<- send(fd {}) in pid 7", i + 3);
            let ours = text
                .lines()
                .find(|l| l.contains("40000 > 127.0.0.1.21009") && l.contains(&seq))
                .unwrap_or_else(|| panic!("packet {i}:\n{text}"));
            assert!(ours.ends_with(&tag), "{ours}");
        }
        // Only calls near each packet were compared, not all 200.
        assert!(s.linkable.checks <= 400 * 20, "{}", s.linkable.checks);
    }
}
