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
use crate::capture::{KernelStats, Packet, Timestamp};
use crate::proto::stop;
use crate::render::out::WriteError;
use crate::render::packet::{Timeline, TimelineItem};
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
    merge: Option<(Inbox, Duration)>,
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
            merge: None,
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
        self.merge = Some((inbox, horizon));
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
    pub fn run_parts<W: Write>(mut self, out: W) -> (End, Pipeline, S) {
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
        let mut timeline = self.merge.as_ref().map(|_| Timeline::new());
        let mut last_flush = Instant::now();
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
                    match take(
                        &mut self.pipe,
                        &mut self.save,
                        &mut out,
                        &mut timeline,
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
                    (shown && tty && timeline.is_none())
                        // The clock is read every 64 packets, not each.
                        || (self.pipe.captured % 64 == 0 && last_flush.elapsed() >= every)
                }
                (Some(_), None) => false,
            };
            if due {
                if let Err(e) = flush(
                    &mut out,
                    &mut self.save,
                    &mut self.pipe,
                    &self.merge,
                    &mut timeline,
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
            let r = self.finish_output(&mut out, &mut timeline);
            if let Err(e) = r {
                end.error.get_or_insert(WriteError::stdout(e).into());
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
        (end, self.pipe, self.source)
    }

    fn finish_output<W: Write>(
        &mut self,
        out: &mut W,
        timeline: &mut Option<Timeline>,
    ) -> io::Result<()> {
        if let Some(t) = timeline {
            if let Some((inbox, _)) = &self.merge {
                inbox.drain_into(t);
            }
            t.flush_all(out, self.pipe.printer())?;
        }
        let opts = self.pipe.printer().options();
        match self.summary {
            Summary::None => {}
            Summary::Stats => self.pipe.write_stats(out)?,
            Summary::Follow => self.pipe.write_follow(out)?,
            Summary::Connections if opts.json => {
                out.flush()?;
                // The summary is for people; stderr failing is not the run failing.
                let _ = self.pipe.write_summary(&mut io::stderr().lock());
            }
            Summary::Connections => self.pipe.write_summary(out)?,
        }
        out.flush()
    }
}

/// One packet: check the filter applies to its link type (once per type),
/// print it, save it if shown. Returns whether it was shown.
fn take<W: Write>(
    pipe: &mut Pipeline,
    save: &mut Option<Save>,
    out: &mut W,
    timeline: &mut Option<Timeline>,
    links: &mut Vec<crate::capture::LinkType>,
    p: &Packet<'_>,
) -> Result<bool, DriverError> {
    if !links.contains(&p.link) {
        pipe.check_link(p.link)?;
        links.push(p.link);
    }
    let shown = handle(pipe, out, timeline, p)?;
    if shown {
        if let Some(s) = save {
            s.writer(p.link)?.write(p)?;
        }
    }
    Ok(shown)
}

/// Handle one packet: printed straight to `out`, or (merging) into its own
/// buffer on the timeline.
fn handle<W: Write>(
    pipe: &mut Pipeline,
    out: &mut W,
    timeline: &mut Option<Timeline>,
    p: &Packet<'_>,
) -> Result<bool, DriverError> {
    match timeline {
        None => pipe
            .handle(out, p)
            .map_err(|e| WriteError::stdout(e).into()),
        Some(t) => {
            // The timeline keeps the text until it is due: its own buffer, handed over.
            let mut buf = Vec::with_capacity(512);
            let shown = pipe
                .handle(&mut buf, p)
                .map_err(|e| DriverError::from(WriteError::stdout(e)))?;
            if shown {
                t.push(p.ts, TimelineItem::Rendered(buf));
            }
            Ok(shown)
        }
    }
}

/// Flush the output and the `-w` file; when merging, first print what is
/// older than the horizon.
fn flush<W: Write>(
    out: &mut W,
    save: &mut Option<Save>,
    pipe: &mut Pipeline,
    merge: &Option<(Inbox, Duration)>,
    timeline: &mut Option<Timeline>,
) -> Result<(), DriverError> {
    if let (Some(t), Some((inbox, horizon))) = (timeline.as_mut(), merge) {
        inbox.drain_into(t);
        let due = Timestamp::from(SystemTime::now() - *horizon);
        t.flush_before(out, pipe.printer(), due)
            .map_err(WriteError::stdout)?;
    }
    out.flush().map_err(WriteError::stdout)?;
    if let Some(w) = save.as_mut().and_then(|s| s.writer.as_mut()) {
        w.flush()?;
    }
    Ok(())
}
