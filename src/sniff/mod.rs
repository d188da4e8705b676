//! `socklab sniff`: capture live, decode, filter, track, print.
//!
//! The per-packet work is in [`Pipeline`], which knows nothing about where
//! packets come from: live capture here, a capture file in `replay`, a
//! background capture thread in the protocol commands' `--sniff`.

pub mod attach;
pub mod replay;
pub mod stats;

use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::capture::file::{Format, WriteOptions, Writer};
use crate::capture::live::{LiveCapture, LiveConfig};
use crate::capture::privs::{self, Dropped};
use crate::capture::Packet;
use crate::cli::sniff::SniffArgs;
use crate::filter::Filter;
use crate::proto::stop;
use crate::render::packet::{recognise_course_as, PacketPrinter, PacketView, PrintOptions};
use crate::render::tree::LEGEND;
use crate::track::tcp::{ConnSummary, Event, Tracker};
use crate::wire::packet::decode_captured;

/// Decode -> filter -> track -> print, for packets from any source.
/// Holds reusable buffers: no allocation per packet once warmed up (apart
/// from narration text and malformed reasons).
#[derive(Debug)]
pub struct Pipeline {
    filter: Filter,
    tracker: Tracker,
    printer: PacketPrinter,
    events: Vec<Event>,
    /// Traffic on `.0` speaks the course protocol of default port `.1`.
    speaks: Option<(u16, u16)>,
    /// Counters for `--stats`, when asked for.
    stats: Option<stats::Stats>,
    /// Print each packet (off for `--stats`).
    print: bool,
    /// Packets handed to [`Pipeline::handle`].
    pub captured: u64,
    /// Packets that passed the filter and were printed.
    pub shown: u64,
}

impl Pipeline {
    /// A pipeline printing with `opts` the packets that match `filter`.
    pub fn new(filter: Filter, opts: PrintOptions) -> Self {
        Pipeline {
            filter,
            tracker: Tracker::new(),
            printer: PacketPrinter::new(opts),
            events: Vec::with_capacity(8),
            speaks: None,
            stats: None,
            print: true,
            captured: 0,
            shown: 0,
        }
    }

    /// Decode traffic on `port` as the course protocol of its default port
    /// `course_port` (10009, 10000, 5000), e.g. a server started elsewhere.
    pub fn speaks(mut self, port: u16, course_port: u16) -> Self {
        self.speaks = (port != course_port).then_some((port, course_port));
        self
    }

    /// Count packets for [`Pipeline::write_stats`] instead of printing them.
    pub fn stats_only(mut self) -> Self {
        self.stats = Some(stats::Stats::new());
        self.print = false;
        self
    }

    /// Handle one packet; returns true when it matched the filter and was printed.
    pub fn handle<W: Write>(&mut self, w: &mut W, p: &Packet<'_>) -> io::Result<bool> {
        self.captured += 1;
        let d = decode_captured(p.link, p.data, p.orig_len);
        if !self.filter.matches(&d) {
            return Ok(false);
        }
        self.shown += 1;
        self.events.clear();
        let tcp = self.tracker.observe(p.ts, &d, &mut self.events);
        let mut view = PacketView::new(p.ts, self.shown, &d, tcp, &self.events);
        if let Some((port, as_port)) = self.speaks {
            if view.course.is_none() {
                view.course = recognise_course_as(&d, port, as_port);
            }
        }
        if let Some(st) = &mut self.stats {
            st.count(p.ts, &d, view.course.as_ref());
        }
        if self.print {
            self.printer.packet(w, &view)?;
        }
        Ok(true)
    }

    /// The printer, e.g. to print socket-call lines in the same format.
    pub fn printer(&mut self) -> &mut PacketPrinter {
        &mut self.printer
    }

    /// Per-connection summaries, and how many were left out.
    pub fn summaries(&self) -> (Vec<ConnSummary>, u64) {
        self.tracker.summaries()
    }

    /// Write the `--stats` report (nothing unless built with [`Pipeline::stats_only`]).
    pub fn write_stats<W: Write>(&self, w: &mut W) -> io::Result<()> {
        match &self.stats {
            Some(st) => {
                let (tcp, left_out) = self.summaries();
                st.write(w, &tcp, left_out)
            }
            None => Ok(()),
        }
    }

    /// Write the per-connection summary ("TCP connections: ...").
    pub fn write_summary<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let (all, left_out) = self.summaries();
        if all.is_empty() {
            return Ok(());
        }
        writeln!(w, "TCP connections:")?;
        for s in &all {
            writeln!(w, "  {s}")?;
        }
        if left_out > 0 {
            writeln!(w, "  ... and {left_out} more not kept")?;
        }
        Ok(())
    }
}

/// How often buffered output is flushed while packets keep coming.
const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// Run `socklab sniff`.
pub fn run(args: &SniffArgs) -> Result<ExitCode> {
    // Parse the filter before asking for anything privileged.
    let filter = Filter::parse_words(&args.filter)?;
    let expr = args.filter.join(" ");
    let mut cfg = LiveConfig::new(args.iface.clone());
    cfg.snaplen = (args.snaplen > 0).then_some(args.snaplen);
    let mut cap = LiveCapture::open(&cfg)?;
    let dropped = privs::drop_to(args.user.as_deref())?;
    // Created after dropping privileges, so the file belongs to the user.
    let mut save = match &args.write {
        Some(path) => {
            let mut o = WriteOptions::new(path, cap.link_type(), args.nano);
            o.iface = Some(cap.iface().to_string());
            if let Some(n) = cfg.snaplen {
                o.snaplen = u32::try_from(n).unwrap_or(u32::MAX);
            }
            Some(Writer::create_with(path, &o).map_err(|e| privs::write_hint(e, path, &dropped))?)
        }
        None => None,
    };

    // The project's shared Ctrl-C policy: first signal stops and summarises,
    // a second one exits at once.
    stop::install();

    let opts = args.print.options();
    let mut pipe = Pipeline::new(filter, opts);
    crate::noteln!(
        "socklab: listening on {} (link type {}), {}{}; {}; Ctrl-C to stop",
        cap.iface(),
        cap.link_type().name(),
        match cfg.snaplen {
            Some(n) => format!("keeping {n} bytes of each packet"),
            None => "capturing whole packets".into(),
        },
        if cap.ignores_outgoing() {
            ", each loopback packet once (outgoing copies ignored)"
        } else {
            ", both directions"
        },
        match dropped {
            Dropped::ToUser(name, uid, _) => format!("privileges dropped to {name} (uid {uid})"),
            Dropped::Capabilities => "capabilities cleared".into(),
        }
    );

    let tty = io::stdout().is_terminal();
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    if opts.verbose && !opts.json {
        write_or_quit(out.write_all(LEGEND.as_bytes()));
    }
    let mut last_flush = Instant::now();
    while !stop::requested() {
        let packet = match cap.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => {
                write_or_quit(out.flush());
                last_flush = Instant::now();
                continue;
            }
            Err(e) => {
                let _ = out.flush();
                return Err(e.into());
            }
        };
        let shown = match pipe.handle(&mut out, &packet) {
            Ok(s) => s,
            Err(e) => {
                write_or_quit(Err(e));
                false
            }
        };
        if shown {
            if let Some(w) = &mut save {
                if let Err(e) = w.write(&packet) {
                    let _ = out.flush();
                    return Err(e.into());
                }
            }
        }
        if shown && (tty || last_flush.elapsed() >= FLUSH_EVERY) {
            write_or_quit(out.flush());
            if let Some(w) = &mut save {
                w.flush()?;
            }
            last_flush = Instant::now();
        }
        if args.count.is_some_and(|c| pipe.shown >= c) {
            break;
        }
    }
    // Per-connection story: on stdout with the text, on stderr with JSON.
    if args.print.json {
        write_or_quit(out.flush());
        let mut err = io::stderr().lock();
        let _ = pipe.write_summary(&mut err);
    } else {
        write_or_quit(pipe.write_summary(&mut out).and_then(|_| out.flush()));
    }
    if let Some(w) = save {
        let (n, path) = (w.written(), args.write.clone().unwrap_or_default());
        let o = w.options().clone();
        w.finish()?;
        crate::noteln!(
            "{n} packets written to {} ({})",
            path.display(),
            describe(&o)
        );
    }
    let k = cap.stats();
    crate::noteln!(
        "{} packets captured\n{} packets shown{}\n{} packets dropped by the kernel",
        pipe.captured,
        pipe.shown,
        if expr.trim().is_empty() {
            String::new()
        } else {
            format!(" (filter: {expr})")
        },
        k.dropped
    );
    Ok(ExitCode::SUCCESS)
}

/// `pcap, microsecond timestamps` / `pcapng, nanosecond timestamps`.
pub fn describe(o: &WriteOptions) -> String {
    format!(
        "{}, {} timestamps",
        match o.format {
            Format::Pcap => "pcap",
            Format::PcapNg => "pcapng",
        },
        if o.nano { "nanosecond" } else { "microsecond" }
    )
}

/// Quiet success when stdout's reader went away (`| head`); other write
/// errors are reported on stderr and end the program with failure.
pub(crate) fn write_or_quit(r: io::Result<()>) {
    if let Err(e) = r {
        crate::render::out::exit_if_broken(Err(io::Error::new(e.kind(), "")));
        crate::noteln!("socklab: error: writing the output: {e}");
        std::process::exit(1);
    }
}
