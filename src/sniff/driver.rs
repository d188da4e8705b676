//! The one packet loop: read -> decode -> filter -> track -> render ->
//! write (`-w`), for every packet source.
//!
//! `sniff` (live capture), `replay` (capture file), the protocol commands'
//! `--sniff` (a capture thread, merged with the program's socket calls and
//! output) and `lab` (a lesson's packets, in memory) all run a [`Driver`].
//! What differs between them is configuration, not code:
//!
//! ```no_run
//! use socklab::capture::file::Reader;
//! use socklab::capture::source::File;
//! use socklab::filter::Filter;
//! use socklab::render::packet::PrintOptions;
//! use socklab::sniff::driver::{Driver, Stop};
//! use socklab::sniff::Pipeline;
//! # fn main() -> anyhow::Result<()> {
//! let source = File::new(Reader::open("lesson.pcap".as_ref())?, 0);
//! let pipe = Pipeline::new(Filter::parse("tcp")?, PrintOptions::default());
//! let end = Driver::new(source, pipe)
//!     .count(Some(10))                       // -c 10
//!     .save("copy.pcap".as_ref(), false)     // -w copy.pcap (created lazily)
//!     .stop(Stop::Signal)                    // Ctrl-C / SIGTERM
//!     .run(std::io::stdout().lock());
//! end.result()?; // output / -w / source errors, after everything was finished
//! # Ok(()) }
//! ```
//!
//! Rules the driver keeps, so no command has to:
//! - **stop**: the stop condition ([`Stop`]) is checked before every read;
//!   a source never blocks longer than its poll interval. On stop the
//!   source is asked to end ([`PacketSource::stop`]; a capture thread
//!   drains what the kernel still holds) and the loop reads to its end;
//! - **count**: `-c N` ends the loop after N packets were shown;
//! - **nothing lost**: whatever ends the loop (end of source, stop, count,
//!   a failed write to the output, a failed write to the `-w` file, a
//!   damaged capture file), the output is flushed and the `-w` file
//!   finished before [`Driver::run`] returns, and the failure is returned
//!   in [`End::error`] for `main` to judge (a broken pipe is a quiet
//!   success there);
//! - **summary**: the per-connection summary (or the `--stats` report) is
//!   written once, at the end, to the output (to stderr with `--json`);
//! - **kernel statistics** are read once from the source at the end.
//!
//! ## Merging events from other threads
//! A program's own events (socket calls reported by `proto::calls`, a
//! traced program's system calls, its output lines) arrive on other
//! threads with their own timestamps, and the capture lags behind them.
//! [`Driver::merge`] takes an [`Inbox`]: anything pushed there with
//! [`Inbox::push`] is printed in time order with the packets, once it is
//! older than the horizon (events stamped earlier but delivered later by
//! the capture thread still go first). Rendered packets, socket-call lines
//! ([`TimelineItem::Call`]) and pre-rendered bytes ([`TimelineItem::Rendered`])
//! share one timeline.
//!
//! ## Holding packets back
//! A traced program's packets must wait for the calls that caused them
//! (the tracer runs late on a loaded machine). [`Driver::hold`] takes a
//! [`Merger`] that holds: each packet read is kept until the merger's
//! [`Merger::release_before`] says its time is safe, then it is admitted
//! (or hidden) and annotated by [`Merger::admit`], and goes through the
//! pipeline and `-w` (with the annotation as its pcapng comment) as any
//! other packet, onto the merger's timeline. Without a merger (sniff,
//! replay, lab) nothing of this runs: each packet goes straight through.
//!
//! Allocation: none per packet in direct mode once the buffers have grown
//! (apart from narration text); in merge mode each shown packet's text is
//! one buffer handed to the timeline.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Pipeline;
use crate::capture::file::{FileError, WriteOptions, Writer};
use crate::capture::source::{Next, PacketSource, SourceError};
use crate::capture::{KernelStats, OwnedPacket, Packet, Timestamp};
use crate::proto::stop;
use crate::render::out::WriteError;
use crate::render::packet::{PacketPrinter, Timeline, TimelineItem};
use crate::render::tree::LEGEND;

/// Sources at least this big (in bytes) get a progress bar when stderr is a terminal.
pub const PROGRESS_MIN_BYTES: u64 = 8 * 1024 * 1024;
/// Packets between two progress updates.
const PROGRESS_EVERY: u64 = 1024;

/// When the loop stops before its source ends.
#[derive(Debug, Clone)]
pub enum Stop {
    /// At the first Ctrl-C or SIGTERM, or when stdout failed ([`stop::requested`]).
    Signal,
    /// When this flag is set (a command that captures while it runs
    /// something else sets it when that is done).
    Flag(Arc<AtomicBool>),
}

impl Stop {
    fn now(&self) -> bool {
        match self {
            Stop::Signal => stop::requested(),
            Stop::Flag(f) => f.load(Ordering::SeqCst),
        }
    }
}

/// Where a summary goes at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    /// No summary.
    None,
    /// "TCP connections: ..." (to stderr when printing JSON).
    Connections,
    /// The `--stats` report instead of packets.
    Stats,
    /// The `--follow N` conversation instead of packets.
    Follow,
}

/// Events from other threads, merged in time order with the packets.
/// Cheap to clone; every clone pushes into the same timeline.
#[derive(Debug, Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<(Timestamp, TimelineItem)>>>);

impl Inbox {
    /// An empty inbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an event that happened at `ts`.
    pub fn push(&self, ts: Timestamp, item: TimelineItem) {
        if let Ok(mut q) = self.0.lock() {
            q.push((ts, item));
        }
    }

    /// Add an event that happened at wall-clock time `at`.
    pub fn push_at(&self, at: SystemTime, item: TimelineItem) {
        self.push(Timestamp::from(at), item);
    }

    fn drain_into(&self, t: &mut Timeline) {
        let items = self
            .0
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default();
        for (ts, item) in items {
            t.push(ts, item);
        }
    }
}

/// What happens to a packet on its way to the pipeline ([`Merger::admit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// Not shown: not decoded, printed or saved.
    Hide,
    /// Shown, with an annotation (the `-w` file's comment for it, pcapng only).
    Show(Option<String>),
}

/// The timeline packets are printed on, in time order with events from
/// other threads, and (when it [`holds`](Merger::holds)) the gate that
/// holds packets back until those events are in.
///
/// The driver calls, at every flush: [`release_before`](Merger::release_before)
/// (take in the other threads' events, say up to when it is safe), then
/// for each packet released [`admit`](Merger::admit) and, once the
/// pipeline rendered it, [`packet`](Merger::packet), then
/// [`write_before`](Merger::write_before) with the same time. At the end,
/// every packet still held is released and [`write_all`](Merger::write_all)
/// writes the rest.
pub trait Merger: Send {
    /// True when packets wait for [`Merger::release_before`]; false when
    /// each goes through as it is read (the default).
    fn holds(&self) -> bool {
        false
    }
    /// Take in what other threads sent; packets stamped before the time
    /// returned are released now, and items before it are due.
    fn release_before(&mut self) -> Timestamp;
    /// A released packet: hidden, or shown with its annotation.
    fn admit(&mut self, _p: &Packet<'_>) -> Admit {
        Admit::Show(None)
    }
    /// A shown packet (it passed the filter), rendered, with its annotation.
    fn packet(&mut self, p: &Packet<'_>, rendered: Vec<u8>, note: Option<String>);
    /// Write the items due before `cut`, in time order.
    fn write_before(
        &mut self,
        out: &mut dyn Write,
        printer: &mut PacketPrinter,
        cut: Timestamp,
    ) -> io::Result<()>;
    /// The end: write everything left.
    fn write_all(&mut self, out: &mut dyn Write, printer: &mut PacketPrinter) -> io::Result<()>;
    /// Back to its own type after the run ([`Driver::run_merger`]).
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;
}

/// [`Driver::merge`]'s merger: the [`Inbox`]'s items and the packets on a
/// [`Timeline`], each printed once older than the horizon; nothing held.
struct InboxTimeline {
    inbox: Inbox,
    horizon: Duration,
    timeline: Timeline,
}

impl Merger for InboxTimeline {
    fn release_before(&mut self) -> Timestamp {
        self.inbox.drain_into(&mut self.timeline);
        Timestamp::from(SystemTime::now() - self.horizon)
    }
    fn packet(&mut self, p: &Packet<'_>, rendered: Vec<u8>, _note: Option<String>) {
        self.timeline.push(p.ts, TimelineItem::Rendered(rendered));
    }
    fn write_before(
        &mut self,
        mut out: &mut dyn Write,
        printer: &mut PacketPrinter,
        cut: Timestamp,
    ) -> io::Result<()> {
        self.timeline.flush_before(&mut out, printer, cut)
    }
    fn write_all(
        &mut self,
        mut out: &mut dyn Write,
        printer: &mut PacketPrinter,
    ) -> io::Result<()> {
        self.inbox.drain_into(&mut self.timeline);
        self.timeline.flush_all(&mut out, printer)
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// The `-w` file: created lazily (with the first packet's link type) or at the end.
struct Save {
    path: PathBuf,
    nano: bool,
    iface: Option<String>,
    snaplen: Option<u32>,
    comment: Option<String>,
    writer: Option<Writer>,
}

impl Save {
    fn options(&self, link: crate::capture::LinkType) -> WriteOptions {
        let mut o = WriteOptions::new(&self.path, link, self.nano);
        o.iface = self.iface.clone();
        o.comment = self.comment.clone();
        if let Some(n) = self.snaplen {
            o.snaplen = n;
        }
        o
    }

    fn writer(&mut self, link: crate::capture::LinkType) -> Result<&mut Writer, FileError> {
        let w = match self.writer.take() {
            Some(w) => w,
            None => Writer::create_with(&self.path, &self.options(link))?,
        };
        Ok(self.writer.insert(w))
    }
}

/// Why a run ended early.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// Writing the packets out (stdout) failed.
    #[error(transparent)]
    Output(#[from] WriteError),
    /// Writing the `-w` file failed.
    #[error(transparent)]
    Save(#[from] FileError),
    /// The source failed (a live capture error, a damaged file).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The filter cannot apply to a link type met in the source.
    #[error(transparent)]
    Filter(#[from] crate::filter::FilterError),
}

/// What the `-w` file holds at the end.
#[derive(Debug, Clone)]
pub struct Saved {
    /// Where.
    pub path: PathBuf,
    /// Packets written (the file holds exactly these).
    pub packets: u64,
    /// Its format.
    pub options: WriteOptions,
}

impl Saved {
    /// `N packets written to FILE (pcap, microsecond timestamps)`.
    pub fn describe(&self) -> String {
        format!(
            "{} written to {} ({})",
            crate::plural::count(self.packets, "packet"),
            if super::is_stdio(&self.path) {
                "standard output".into()
            } else {
                self.path.display().to_string()
            },
            super::describe(&self.options)
        )
    }
}

/// How a run ended.
#[derive(Debug)]
pub struct End {
    /// Packets read from the source.
    pub captured: u64,
    /// Packets that passed the filter.
    pub shown: u64,
    /// The `-w` file, finished.
    pub saved: Option<Saved>,
    /// The kernel's counters, for live sources.
    pub kernel: Option<KernelStats>,
    /// True when the stop condition ended the run (not the source or `-c`).
    pub stopped: bool,
    /// What went wrong, if anything (everything was finished first). When
    /// several things failed, the first one.
    pub error: Option<DriverError>,
}

impl End {
    /// With `-w -`, a reader of the stream that went away (`| tcpdump -r - -c 1`)
    /// is a quiet end, as a closed stdout is for the lines.
    pub fn quiet_broken_pipe(mut self, to_stdout: bool) -> Self {
        if to_stdout {
            if let Some(DriverError::Save(e)) = &self.error {
                if e.is_broken_pipe() {
                    self.error = None;
                }
            }
        }
        self
    }

    /// `Err` with the first failure, if there was one.
    pub fn result(self) -> Result<(), DriverError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Writes through to `inner`, hiding the progress bar around each write so
/// packet lines and the bar do not mix on one terminal.
struct AroundBar<W: Write> {
    inner: W,
    bar: Option<ProgressBar>,
}

impl<W: Write> Write for AroundBar<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &self.bar {
            Some(b) => b.suspend(|| self.inner.write(buf)),
            None => self.inner.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn progress_bar(size: u64) -> Option<ProgressBar> {
    if size < PROGRESS_MIN_BYTES || !io::stderr().is_terminal() {
        return None;
    }
    let style = ProgressStyle::with_template(
        "replay {bar:40.cyan/blue} {binary_bytes}/{binary_total_bytes} ({percent}%) {msg} eta {eta}",
    )
    .ok()?;
    Some(ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr()).with_style(style))
}

/// One run of the packet loop. Build it, then [`Driver::run`].
pub struct Driver<S: PacketSource> {
    source: S,
    pipe: Pipeline,
    count: Option<u64>,
    stop: Stop,
    save: Option<Save>,
    flush_every: Option<Duration>,
    out_buf: usize,
    summary: Summary,
    legend: bool,
    merger: Option<Box<dyn Merger>>,
    progress: bool,
    flush_each: bool,
}

impl<S: PacketSource> Driver<S> {
    /// Packets from `source` through `pipe`; stops on Ctrl-C, no `-w`, no
    /// count, output flushed at the end only, connection summary at the end.
    pub fn new(source: S, pipe: Pipeline) -> Self {
        Driver {
            source,
            pipe,
            count: None,
            stop: Stop::Signal,
            save: None,
            flush_every: None,
            out_buf: 256 * 1024,
            summary: Summary::Connections,
            legend: false,
            merger: None,
            progress: false,
            flush_each: false,
        }
    }

    /// `-c N`: stop after `n` packets were shown.
    pub fn count(mut self, n: Option<u64>) -> Self {
        self.count = n;
        self
    }

    /// When to stop before the source ends.
    pub fn stop(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    /// `-w PATH`: save the packets shown (pcapng if PATH ends in `.pcapng`);
    /// see [`Driver::create_file`] for when it is created.
    pub fn save(mut self, path: &Path, nano: bool) -> Self {
        self.save = Some(Save {
            path: path.to_path_buf(),
            nano,
            iface: None,
            snaplen: None,
            comment: None,
            writer: None,
        });
        self
    }

    /// Create the `-w` file now, with the source's link type (a live
    /// capture's file exists while it runs, and a bad path is reported
    /// before anything starts). Otherwise it is created with the first
    /// shown packet's link type, or at the end.
    pub fn create_file(mut self) -> Result<Self, FileError> {
        let link = self.source.link_type();
        if let Some(s) = &mut self.save {
            s.writer(link)?;
        }
        Ok(self)
    }

    /// Record the interface name and snap length in the `-w` file.
    pub fn save_details(mut self, iface: Option<String>, snaplen: Option<u32>) -> Self {
        if let Some(s) = &mut self.save {
            s.iface = iface;
            s.snaplen = snaplen;
        }
        self
    }

    /// Record `comment` in the `-w` file's section header (pcapng only),
    /// e.g. the decode table, so that a replay decodes as this run did.
    pub fn save_comment(mut self, comment: Option<String>) -> Self {
        if let Some(s) = &mut self.save {
            s.comment = comment;
        }
        self
    }

    /// Flush the output (and the `-w` file) at least this often while
    /// packets keep coming, and after every packet when stdout is a
    /// terminal (live sources; files are flushed at the end).
    pub fn live(mut self, every: Duration) -> Self {
        self.flush_every = Some(every);
        self.out_buf = 64 * 1024;
        self
    }

    /// What to write at the end.
    pub fn summary(mut self, s: Summary) -> Self {
        self.summary = s;
        self
    }

    /// Print the `-v` legend first (when the printer is in text `-v` mode).
    pub fn legend(mut self) -> Self {
        self.legend = true;
        self
    }

    /// Merge events pushed to `inbox` in time order with the packets,
    /// printing each once it is older than `horizon`.
    pub fn merge(mut self, inbox: Inbox, horizon: Duration) -> Self {
        self.merger = Some(Box::new(InboxTimeline {
            inbox,
            horizon,
            timeline: Timeline::new(),
        }));
        self
    }

    /// Print the packets on `merger`'s timeline, held back and annotated
    /// by it when it [`holds`](Merger::holds) (see the module docs).
    pub fn hold(mut self, merger: Box<dyn Merger>) -> Self {
        self.merger = Some(merger);
        self
    }

    /// Flush the output (and the `-w` file) after every packet shown
    /// (`-l`, and `-w -` so a reader of the stream sees each packet at once).
    pub fn flush_each(mut self, on: bool) -> Self {
        self.flush_each = on;
        self
    }

    /// Show a progress bar on a terminal for large sources.
    pub fn progress(mut self) -> Self {
        self.progress = true;
        self
    }

    /// The pipeline (e.g. for its summaries after a run on a borrowed one).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipe
    }

    /// Run to the end (source ended, stop, count, or a failure) and write
    /// everything out to `out`: see the module docs for what is guaranteed.
    pub fn run<W: Write>(self, out: W) -> End {
        self.run_parts(out).0
    }

    /// [`Driver::run`], also giving back the source (for what it knows at
    /// the end, such as a file's skipped packets).
    pub fn run_source<W: Write>(self, out: W) -> (End, S) {
        let (end, _, source) = self.run_parts(out);
        (end, source)
    }

    /// [`Driver::run`], also giving back the pipeline (for the tracker's
    /// summaries) and the source.
    pub fn run_parts<W: Write>(self, out: W) -> (End, Pipeline, S) {
        let (end, pipe, source, _) = self.run_all(out);
        (end, pipe, source)
    }

    /// [`Driver::run`], also giving back the pipeline and the merger
    /// given to [`Driver::hold`] (for what it kept).
    pub fn run_merger<W: Write>(self, out: W) -> (End, Pipeline, Option<Box<dyn Merger>>) {
        let (end, pipe, _, merger) = self.run_all(out);
        (end, pipe, merger)
    }

    fn run_all<W: Write>(mut self, out: W) -> (End, Pipeline, S, Option<Box<dyn Merger>>) {
        let mut end = End {
            captured: 0,
            shown: 0,
            saved: None,
            kernel: None,
            stopped: false,
            error: None,
        };
        let bar = if self.progress {
            self.source
                .progress()
                .and_then(|(_, size)| progress_bar(size))
        } else {
            None
        };
        let tty = io::stdout().is_terminal();
        let mut out = io::BufWriter::with_capacity(
            self.out_buf,
            AroundBar {
                inner: out,
                bar: bar.clone().filter(|_| tty),
            },
        );
        let opts = self.pipe.printer().options();
        let printing = !matches!(self.summary, Summary::Stats | Summary::Follow);
        if self.legend && opts.verbose && !opts.json && printing {
            if let Err(e) = out.write_all(LEGEND.as_bytes()) {
                end.error = Some(WriteError::stdout(e).into());
            }
        }
        // Packets a holding merger keeps until their time is safe.
        let mut held: Vec<OwnedPacket> = Vec::new();
        let mut last_flush = Instant::now();
        // Packets read (a holding merger's are handled later).
        let mut read: u64 = 0;
        let mut stopping = false;
        // Link types the filter was checked against (a pcapng file may mix them).
        let mut links = Vec::with_capacity(1);
        while end.error.is_none() {
            if !stopping && self.stop.now() {
                stopping = true;
                end.stopped = true;
                if let Err(e) = self.source.stop() {
                    end.error = Some(e.into());
                    break;
                }
            }
            // Some(shown) for a packet, None when the source was idle.
            let shown = match self.source.next() {
                Ok(Next::Packet(p)) => {
                    read += 1;
                    match take(
                        &mut self.pipe,
                        &mut self.save,
                        &mut out,
                        &mut self.merger,
                        &mut held,
                        &mut links,
                        &p,
                    ) {
                        Ok(shown) => Some(shown),
                        Err(e) => {
                            end.error = Some(e);
                            break;
                        }
                    }
                }
                Ok(Next::Idle) => None,
                Ok(Next::End) => break,
                Err(e) => {
                    end.error = Some(e.into());
                    break;
                }
            };
            let due = match (shown, self.flush_every) {
                (None, _) => true,
                (Some(true), _) if self.flush_each => true,
                (Some(shown), Some(every)) => {
                    (shown && tty && self.merger.is_none())
                        // The clock is read every 64 packets, not each.
                        || (read % 64 == 0 && last_flush.elapsed() >= every)
                }
                (Some(_), None) => false,
            };
            if due {
                if let Err(e) = flush(
                    &mut out,
                    &mut self.save,
                    &mut self.pipe,
                    &mut self.merger,
                    &mut held,
                ) {
                    end.error = Some(e);
                }
                last_flush = Instant::now();
            }
            if self.count.is_some_and(|c| self.pipe.shown >= c) {
                break;
            }
            if self.pipe.captured % PROGRESS_EVERY == 0 {
                if let (Some(b), Some((at, _))) = (&bar, self.source.progress()) {
                    b.set_position(at);
                }
            }
        }
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        // The end: everything still held is written, whatever happened.
        let out_failed = matches!(end.error, Some(DriverError::Output(_)));
        if !out_failed {
            if let Err(e) = self.finish_output(&mut out, &mut held) {
                end.error.get_or_insert(e);
            }
        }
        if let Some(mut s) = self.save.take() {
            let link = self.source.link_type();
            if s.writer.is_none() && end.error.is_none() {
                if let Err(e) = s.writer(link) {
                    end.error = Some(e.into());
                }
            }
            if let Some(w) = s.writer {
                let (packets, options) = (w.written(), w.options().clone());
                match w.finish() {
                    Ok(_) => {
                        end.saved = Some(Saved {
                            path: s.path,
                            packets,
                            options,
                        })
                    }
                    Err(e) => {
                        end.error.get_or_insert(e.into());
                    }
                }
            }
        }
        if !stopping {
            // Let a capture thread end (and count what the kernel dropped).
            if let Err(e) = self.source.stop() {
                end.error.get_or_insert(e.into());
            }
        }
        end.kernel = self.source.kernel_stats();
        end.captured = self.pipe.captured;
        end.shown = self.pipe.shown;
        (end, self.pipe, self.source, self.merger)
    }

    fn finish_output<W: Write>(
        &mut self,
        out: &mut W,
        held: &mut Vec<OwnedPacket>,
    ) -> Result<(), DriverError> {
        if let Some(m) = &mut self.merger {
            let all = Timestamp {
                secs: i64::MAX,
                nanos: 0,
            };
            release(&mut self.pipe, &mut self.save, m.as_mut(), held, all)?;
            m.write_all(out, self.pipe.printer())
                .map_err(WriteError::stdout)?;
        }
        let opts = self.pipe.printer().options();
        let r = match self.summary {
            Summary::None => Ok(()),
            Summary::Stats => self.pipe.write_stats(out),
            Summary::Follow => self.pipe.write_follow(out),
            Summary::Connections if opts.json => out.flush().map(|_| {
                // The summary is for people; stderr failing is not the run failing.
                let _ = self.pipe.write_summary(&mut io::stderr().lock());
            }),
            Summary::Connections => self.pipe.write_summary(out),
        };
        r.and_then(|_| out.flush())
            .map_err(|e| WriteError::stdout(e).into())
    }
}

/// One packet: check the filter applies to its link type (once per type),
/// then print it and save it if shown, or hold it for the merger. Returns
/// whether it was shown (held: not yet).
fn take<W: Write>(
    pipe: &mut Pipeline,
    save: &mut Option<Save>,
    out: &mut W,
    merger: &mut Option<Box<dyn Merger>>,
    held: &mut Vec<OwnedPacket>,
    links: &mut Vec<crate::capture::LinkType>,
    p: &Packet<'_>,
) -> Result<bool, DriverError> {
    if !links.contains(&p.link) {
        pipe.check_link(p.link)?;
        links.push(p.link);
    }
    match merger {
        None => {
            let shown = pipe
                .handle(out, p)
                .map_err(|e| DriverError::from(WriteError::stdout(e)))?;
            if shown {
                if let Some(s) = save {
                    s.writer(p.link)?.write(p)?;
                }
            }
            Ok(shown)
        }
        Some(m) if m.holds() => {
            held.push(OwnedPacket {
                ts: p.ts,
                data: p.data.to_vec(),
                orig_len: p.orig_len,
                link: p.link,
            });
            Ok(false)
        }
        Some(m) => pass(pipe, save, m.as_mut(), p),
    }
}

/// A packet the merger may see: admitted (or hidden), rendered into its
/// own buffer for the merger's timeline, saved with its annotation.
fn pass(
    pipe: &mut Pipeline,
    save: &mut Option<Save>,
    m: &mut dyn Merger,
    p: &Packet<'_>,
) -> Result<bool, DriverError> {
    let note = match m.admit(p) {
        Admit::Hide => return Ok(false),
        Admit::Show(note) => note,
    };
    // The timeline keeps the text until it is due: its own buffer, handed over.
    let mut buf = Vec::with_capacity(512);
    let shown = pipe
        .handle(&mut buf, p)
        .map_err(|e| DriverError::from(WriteError::stdout(e)))?;
    if shown {
        if let Some(s) = save {
            s.writer(p.link)?.write_commented(p, note.as_deref())?;
        }
        m.packet(p, buf, note);
    }
    Ok(shown)
}

/// Release the held packets stamped before `cut`, in time order.
fn release(
    pipe: &mut Pipeline,
    save: &mut Option<Save>,
    m: &mut dyn Merger,
    held: &mut Vec<OwnedPacket>,
    cut: Timestamp,
) -> Result<(), DriverError> {
    if held.is_empty() {
        return Ok(());
    }
    // Nearly sorted already (the capture's order): a stable sort is cheap.
    held.sort_by_key(|p| p.ts);
    let n = held.iter().take_while(|p| p.ts < cut).count();
    for p in held.drain(..n) {
        pass(pipe, save, m, &p.as_packet())?;
    }
    Ok(())
}

/// Flush the output and the `-w` file; with a merger, first release what
/// it says is safe and print what is due.
fn flush<W: Write>(
    out: &mut W,
    save: &mut Option<Save>,
    pipe: &mut Pipeline,
    merger: &mut Option<Box<dyn Merger>>,
    held: &mut Vec<OwnedPacket>,
) -> Result<(), DriverError> {
    if let Some(m) = merger {
        let cut = m.release_before();
        release(pipe, save, m.as_mut(), held, cut)?;
        m.write_before(out, pipe.printer(), cut)
            .map_err(WriteError::stdout)?;
    }
    out.flush().map_err(WriteError::stdout)?;
    if let Some(w) = save.as_mut().and_then(|s| s.writer.as_mut()) {
        w.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::source::Memory;
    use crate::capture::LinkType;
    use crate::filter::Filter;
    use crate::render::packet::PrintOptions;
    use crate::wire::packet::tcp_flags as fl;
    use crate::wire::packet::testframes::tcp;

    /// Holds packets until time `cut`, hides the odd ones, names the even
    /// ones; records what it saw when.
    struct Gate {
        cut: Timestamp,
        admitted: Vec<i64>,
        /// Packets it had been given at its first `write_before`.
        at_first_write: Option<usize>,
        rendered: Vec<u8>,
    }

    impl Merger for Gate {
        fn holds(&self) -> bool {
            true
        }
        fn release_before(&mut self) -> Timestamp {
            self.cut
        }
        fn admit(&mut self, p: &Packet<'_>) -> Admit {
            self.admitted.push(p.ts.secs);
            if p.ts.secs % 2 == 1 {
                Admit::Hide
            } else {
                Admit::Show(Some(format!("made by call {}", p.ts.secs)))
            }
        }
        fn packet(&mut self, _p: &Packet<'_>, rendered: Vec<u8>, _note: Option<String>) {
            self.rendered.extend(rendered);
        }
        fn write_before(
            &mut self,
            _out: &mut dyn Write,
            _printer: &mut PacketPrinter,
            _cut: Timestamp,
        ) -> io::Result<()> {
            self.at_first_write.get_or_insert(self.admitted.len());
            Ok(())
        }
        fn write_all(&mut self, out: &mut dyn Write, _: &mut PacketPrinter) -> io::Result<()> {
            out.write_all(&self.rendered)
        }
        fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
            self
        }
    }

    #[test]
    fn a_holding_merger_releases_by_its_gate_and_annotates_the_w_file() {
        let packets: Vec<OwnedPacket> = (0..100)
            .map(|i| {
                let data = tcp(40000, 21009, 100 + i as u32, 0, fl::ACK, &[]);
                OwnedPacket {
                    ts: Timestamp::new(i, 0),
                    orig_len: data.len(),
                    data,
                    link: LinkType::Ethernet,
                }
            })
            .collect();
        let path = std::env::temp_dir().join(format!("socklab-hold-{}.pcapng", std::process::id()));
        let gate = Gate {
            cut: Timestamp::new(50, 0),
            admitted: Vec::new(),
            at_first_write: None,
            rendered: Vec::new(),
        };
        let pipe = Pipeline::new(Filter::all(), PrintOptions::default());
        let mut out = Vec::new();
        // Flushed (so released) every 64 packets read.
        let (end, _, merger) = Driver::new(Memory::new(&packets, LinkType::Ethernet), pipe)
            .live(Duration::ZERO)
            .summary(Summary::None)
            .save(&path, false)
            .hold(Box::new(gate))
            .run_merger(&mut out);
        let bytes = std::fs::read(&path).expect("the -w file");
        let _ = std::fs::remove_file(&path);
        assert!(end.error.is_none(), "{:?}", end.error);
        let gate = merger
            .and_then(|m| m.into_any().downcast::<Gate>().ok())
            .expect("the merger back");
        // The first flush came after 64 packets were read: only those
        // before the gate's time had been released.
        assert_eq!(gate.at_first_write, Some(50));
        // At the end every packet was released, in time order, once.
        assert_eq!(gate.admitted, (0..100).collect::<Vec<i64>>());
        // Hidden ones are neither shown nor saved.
        assert_eq!(end.shown, 50);
        assert_eq!(end.saved.as_ref().map(|s| s.packets), Some(50));
        let text = String::from_utf8_lossy(&out);
        assert_eq!(text.lines().count(), 50, "{text}");
        // Each saved packet carries its annotation as its pcapng comment.
        let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
        assert!(has("made by call 0") && has("made by call 98"));
        assert!(!has("made by call 1\0") && !has("made by call 99"));
    }
}
