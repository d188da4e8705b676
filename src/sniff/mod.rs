//! `socklab sniff`: capture live, decode, filter, track, print.
//!
//! The per-packet work is in [`Pipeline`], which knows nothing about where
//! packets come from; the loop around it is [`driver::Driver`], the same
//! for live capture here, a capture file in `replay`, a background capture
//! thread in the protocol commands' `--sniff`, and a lesson's packets in
//! `lab`.

pub mod attach;
pub mod driver;
pub mod ifaces;
pub mod replay;
pub mod stats;

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use crate::capture::file::{Format, WriteOptions};
use crate::capture::live::{LiveCapture, LiveConfig};
use crate::capture::privs::{self, Dropped};
use crate::capture::source::Live;
use crate::capture::Packet;
use crate::filter::Filter;
use crate::proto::stop;
use crate::render::packet::{PacketPrinter, PacketView, PrintOptions};
use crate::track::follow::Follow;
use crate::track::http::HttpStreams;
use crate::track::tcp::{ConnSummary, Event, Tracker};
use crate::wire::course::Course;
use crate::wire::decode_as::{recognise_decoded, DecodeAs, DecodeTable};
use crate::wire::heuristics::{Heuristics, Recognition};
use crate::wire::packet::decode_captured;
use driver::Driver;

/// Decode -> filter -> track -> print, for packets from any source.
/// Holds reusable buffers: no allocation per packet once warmed up (apart
/// from narration text and malformed reasons).
#[derive(Debug)]
pub struct Pipeline {
    filter: Filter,
    tracker: Tracker,
    printer: PacketPrinter,
    events: Vec<Event>,
    /// Ports decoded as course protocols besides the defaults (`--decode`,
    /// what `--sniff` and the lab know, a saved file's table).
    decode: DecodeTable,
    /// Recognition by conversation (off with `--no-heuristics`).
    heuristics: Option<Heuristics>,
    /// What the heuristics learned, with `decode` over it: what is used.
    effective: DecodeTable,
    learned: DecodeTable,
    /// HTTP messages followed across segments.
    http: HttpStreams,
    /// `--follow N`: the conversation followed instead of printing packets.
    follow: Option<Follow>,
    /// Counters for `--stats`, when asked for.
    stats: Option<stats::Stats>,
    /// Print each packet (off for `--stats`).
    print: bool,
    /// The kernel ran the whole filter already (a live capture whose
    /// filter compiled to BPF whole): it is not evaluated again.
    kernel_filtered: bool,
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
            decode: DecodeTable::new(),
            heuristics: Some(Heuristics::new()),
            effective: DecodeTable::new(),
            learned: DecodeTable::new(),
            http: HttpStreams::new(),
            follow: None,
            stats: None,
            print: true,
            kernel_filtered: false,
            captured: 0,
            shown: 0,
        }
    }

    /// Decode traffic on `port` as the course protocol of its default port
    /// `course_port` (10009, 10000, 5000), e.g. a server started elsewhere.
    pub fn speaks(mut self, port: u16, course_port: u16) -> Self {
        if port != course_port {
            self.decode.speaks(port, course_port);
            self.rebuild();
        }
        self
    }

    /// Track at most `limit` TCP connections at once (see [`crate::track::tcp::MAX_CONNECTIONS`]).
    pub fn track_limit(mut self, limit: usize) -> Self {
        self.tracker = Tracker::with_limit(limit);
        self
    }

    /// Also decode by `table` (its rules win over earlier ones for the same port).
    pub fn decode(mut self, table: &DecodeTable) -> Self {
        self.decode.extend(table);
        self.rebuild();
        self
    }

    /// Recognise course protocols by conversation (on unless `on` is false).
    pub fn heuristics(mut self, on: bool) -> Self {
        self.heuristics = on.then(Heuristics::new);
        self
    }

    fn rebuild(&mut self) {
        self.effective = self.learned.clone();
        self.effective.extend(&self.decode);
    }

    /// Feed the heuristics; a recognition the decoding did not already have.
    fn recognise(&mut self, d: &crate::wire::packet::Decoded<'_>) -> Option<Recognition> {
        let r = self.heuristics.as_mut()?.observe(d)?;
        let udp = matches!(d.transport, crate::wire::packet::Transport::Udp(_));
        let by_default = r.proto.default_port() == Some(r.server_port);
        if by_default
            || self
                .decode
                .lookup(udp, r.server_port, r.server_port)
                .is_some()
        {
            return None;
        }
        self.learned.add(DecodeAs {
            port: r.server_port,
            proto: r.proto,
        });
        self.rebuild();
        Some(r)
    }

    /// The decode table in force (what a saved file records).
    pub fn decode_table(&self) -> &DecodeTable {
        &self.decode
    }

    /// Print nothing (`-w -`: standard output carries the capture itself).
    pub fn silent(mut self) -> Self {
        self.print = false;
        self
    }

    /// The kernel already ran the whole filter on every packet (the BPF
    /// program is exact, see `filter::bpf`): do not run it again.
    pub fn filtered_by_kernel(mut self, yes: bool) -> Self {
        self.kernel_filtered = yes;
        self
    }

    /// Count packets for [`Pipeline::write_stats`] instead of printing them.
    pub fn stats_only(mut self) -> Self {
        self.stats = Some(stats::Stats::new());
        self.print = false;
        self
    }

    /// Follow TCP conversation `conn` (as numbered in the output) instead
    /// of printing packets: [`Pipeline::write_follow`] shows it at the end.
    pub fn follow_only(mut self, conn: u32) -> Self {
        self.follow = Some(Follow::new(conn));
        self.print = false;
        self
    }

    /// With [`Pipeline::follow_only`]: the conversation followed.
    pub fn following(&self) -> Option<u32> {
        self.follow.as_ref().map(Follow::conn)
    }

    /// With [`Pipeline::follow_only`]: true once the conversation was seen.
    pub fn followed(&self) -> bool {
        self.follow.as_ref().is_some_and(|f| f.ends().is_some())
    }

    /// With [`Pipeline::follow_only`] and the conversation never seen: how
    /// many conversations were seen (for the command's error).
    pub fn unfollowed(&self) -> Option<usize> {
        (self.following().is_some() && !self.followed()).then(|| self.summaries().0.len())
    }

    /// Write the followed conversation (framing its messages with the
    /// decoding known by now); nothing unless following.
    pub fn write_follow<W: Write>(&mut self, w: &mut W) -> io::Result<()> {
        let color = self.printer.options().color;
        match &mut self.follow {
            Some(f) => {
                f.finish(&self.effective);
                crate::render::follow::write_follow(w, f, color)
            }
            None => Ok(()),
        }
    }

    /// True when some consumer of this pipeline reads the decoded packet
    /// (the printer, `--stats`, `--follow`); false only when the filter
    /// alone decides (`-w` with standard output discarded, `-w -`), as in
    /// `tcpdump -w`. [`Pipeline::handle`] skips decoding, tracking and
    /// rendering then.
    ///
    /// Every field of the pipeline is named here, so that a field added
    /// later (a new consumer) does not compile until it is sorted into
    /// "reads the decoded packet" or "does not".
    pub fn needs_decoding(&self) -> bool {
        let Pipeline {
            // Consumers of the decoded packet.
            print,
            stats,
            follow,
            // Work done for the consumers above (or before decoding), not
            // a reason to decode on its own.
            filter: _,
            tracker: _,
            printer: _,
            events: _,
            decode: _,
            heuristics: _,
            effective: _,
            learned: _,
            http: _,
            kernel_filtered: _,
            captured: _,
            shown: _,
        } = self;
        *print || stats.is_some() || follow.is_some()
    }

    /// Handle one packet; returns true when it matched the filter and was printed.
    pub fn handle<W: Write>(&mut self, w: &mut W, p: &Packet<'_>) -> io::Result<bool> {
        self.captured += 1;
        if !self.needs_decoding() {
            // Nothing is printed, counted or followed from the decoded
            // packet (`-w` with standard output discarded, `-w -`): as `tcpdump -w`,
            // only the filter decides; no decoding, tracking or rendering.
            let pass =
                self.kernel_filtered || self.filter.matches_frame(p.link, p.data, p.orig_len);
            self.shown += u64::from(pass);
            return Ok(pass);
        }
        let d = decode_captured(p.link, p.data, p.orig_len);
        if !self.kernel_filtered && !self.filter.matches(&d) {
            return Ok(false);
        }
        self.shown += 1;
        self.events.clear();
        let tcp = self.tracker.observe(p.ts, &d, &mut self.events);
        let recognised = self.recognise(&d);
        let mut view = PacketView::new(p.ts, self.shown, &d, tcp, &self.events);
        if !self.effective.is_empty() {
            view.course = recognise_decoded(&self.effective, &d);
        }
        if let (Some(f), Some(v)) = (&mut self.follow, &tcp) {
            f.observe(p.ts, &d, v);
        }
        if let Some(v) = &tcp {
            let notes = self.http.observe(&d, v, view.course.as_ref());
            if let (Some(n), None) = (notes, &view.course) {
                view.course = Some(Course::HttpStream(n));
            }
        }
        if let Some(st) = &mut self.stats {
            st.count(p.ts, &d, view.course.as_ref());
        }
        if self.print {
            self.printer.packet(w, &view)?;
            let o = self.printer.options();
            if let (Some(r), true, false) = (recognised, o.verbose, o.json) {
                writeln!(w, "    -- {r}")?;
            }
        }
        Ok(true)
    }

    /// Check that the filter applies to packets of `link` (a pcapng file
    /// may hold several link types; a filter like `ether host` needs one
    /// with Ethernet headers).
    pub fn check_link(
        &self,
        link: crate::capture::LinkType,
    ) -> Result<(), crate::filter::FilterError> {
        self.filter.check_link(link)
    }

    /// The printer, e.g. to print socket-call lines in the same format.
    pub fn printer(&mut self) -> &mut PacketPrinter {
        &mut self.printer
    }

    /// Per-connection summaries, and how many were left out.
    pub fn summaries(&self) -> (Vec<ConnSummary>, u64) {
        self.tracker.summaries()
    }

    /// Write the `--stats` report, as JSON with `--json` (nothing unless
    /// built with [`Pipeline::stats_only`]).
    pub fn write_stats<W: Write>(&self, w: &mut W) -> io::Result<()> {
        match &self.stats {
            Some(st) => {
                let (tcp, left_out) = self.summaries();
                if self.printer.options().json {
                    st.write_json(w, &tcp, left_out)
                } else {
                    st.write(w, &tcp, left_out)
                }
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

/// What `socklab sniff` runs with, validated by `cli` (the filter is parsed
/// before anything privileged is asked for).
#[derive(Debug, Clone)]
pub struct Config {
    /// Interface to capture on.
    pub iface: String,
    /// The filter.
    pub filter: Filter,
    /// The filter as the user wrote it (for the statistics line).
    pub filter_text: String,
    /// `-d`, `-dd`, `-ddd`: print the compiled filter and exit.
    pub dump_bpf: u8,
    /// Keep at most this many bytes of each packet (0: whole packets).
    pub snaplen: usize,
    /// How packets are printed.
    pub print: PrintOptions,
    /// Stop after this many packets shown.
    pub count: Option<u64>,
    /// `--follow N`: that TCP conversation at the end instead of the packets.
    pub follow: Option<u32>,
    /// `-w FILE`.
    pub write: Option<std::path::PathBuf>,
    /// With `-w`: nanosecond timestamps.
    pub nano: bool,
    /// Recognise course protocols on other ports by their content.
    pub heuristics: bool,
    /// `--decode PORT=PROTO` rules.
    pub decode: DecodeTable,
    /// `-Z USER`: who to run as after opening the capture socket.
    pub user: Option<String>,
    /// `-B`: the kernel ring's size in KiB.
    pub buffer_kib: u32,
    /// `-l`: write each packet out as soon as it is printed.
    pub line_buffered: bool,
}

/// True when `path` is `-`: the capture goes to (or comes from) a standard stream.
pub fn is_stdio(path: &std::path::Path) -> bool {
    path.as_os_str() == "-"
}

/// True when standard output is `/dev/null` (the same character device).
fn stdout_is_dev_null() -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    match (
        std::fs::metadata("/proc/self/fd/1"),
        std::fs::metadata("/dev/null"),
    ) {
        (Ok(out), Ok(null)) => out.file_type().is_char_device() && out.rdev() == null.rdev(),
        _ => false,
    }
}

/// `-w -` needs a pipe or a file on standard output: a binary capture on a
/// terminal helps nobody, so it is refused before anything starts.
pub fn check_capture_to_stdout(write: Option<&std::path::Path>) -> Result<()> {
    use std::io::IsTerminal;
    if write.is_some_and(is_stdio) && io::stdout().is_terminal() {
        anyhow::bail!(
            "-w - writes a binary capture to standard output, and standard output is a terminal: \
             pipe it into a program (-w - | tcpdump -r -) or redirect it into a file (-w - > lesson.pcap)"
        );
    }
    Ok(())
}

/// Run `socklab sniff`.
pub fn run(args: &Config) -> Result<ExitCode> {
    let filter = args.filter.clone();
    if args.dump_bpf > 0 {
        // As `tcpdump -i IFACE -d`: the program for the interface's link type.
        let link = crate::capture::live::link_type_of(&args.iface);
        crate::render::out::raw(filter.dump(link, args.dump_bpf)?.as_bytes());
        return Ok(ExitCode::SUCCESS);
    }
    let expr = &args.filter_text;
    check_capture_to_stdout(args.write.as_deref())?;
    let mut cfg = LiveConfig::new(args.iface.clone());
    cfg.snaplen = (args.snaplen > 0).then_some(args.snaplen);
    let buffer = args.buffer_kib as usize * 1024;
    cfg.ring = Some(buffer);
    cfg.rcvbuf = buffer;
    // The kernel drops what the filter rejects; user space checks again.
    let kernel = filter.kernel_program(crate::capture::live::link_type_of(&args.iface))?;
    cfg.kernel_filter = kernel.program().map(<[_]>::to_vec);
    let cap = LiveCapture::open(&cfg)?;
    let dropped = privs::drop_to(args.user.as_deref())?;

    // The project's shared Ctrl-C policy: first signal stops and summarises,
    // a second one exits at once.
    stop::install();

    let opts = args.print;
    crate::noteln!(
        "socklab: listening on {} (link type {}), {}, {}; {}; Ctrl-C to stop",
        cap.iface(),
        cap.link_type().name(),
        match cfg.snaplen {
            Some(n) => format!(
                "keeping {n} {n_bytes} of each packet",
                n_bytes = crate::plural::noun(n, "byte")
            ),
            None => "capturing whole packets".into(),
        },
        cap.directions(),
        match &dropped {
            Dropped::ToUser(name, uid, _) => format!("privileges dropped to {name} (uid {uid})"),
            Dropped::Capabilities => "capabilities cleared".into(),
        }
    );
    if let Some(why) = cap.ring_fallback() {
        crate::noteln!("socklab: {why}");
    }
    if opts.verbose {
        crate::noteln!("{}", kernel.describe());
        if let Some(n) = cap.ring_bytes() {
            crate::noteln!(
                "socklab: packets come through a {} KiB memory-mapped ring (TPACKET_V3)",
                n / 1024
            );
        }
    }
    let iface = cap.iface().to_string();
    let to_stdout = args.write.as_deref().is_some_and(is_stdio);
    let kernel_whole = matches!(kernel, crate::filter::KernelFilter::Whole(_));
    let mut pipe = Pipeline::new(filter, opts)
        .decode(&args.decode)
        .heuristics(args.heuristics)
        .filtered_by_kernel(kernel_whole);
    // `-w FILE > /dev/null`: the lines would be thrown away; do only what
    // `tcpdump -w` does (filter, save), as -v says.
    let discarded = args.write.is_some() && stdout_is_dev_null();
    if discarded && opts.verbose {
        crate::noteln!(
            "socklab: standard output is /dev/null: packets are saved, not decoded or printed"
        );
    }
    if to_stdout || discarded {
        pipe = pipe.silent();
    }
    if let Some(n) = args.follow {
        pipe = pipe.follow_only(n);
    }
    let mut driver = Driver::new(Live::new(cap), pipe)
        .summary(if args.follow.is_some() {
            driver::Summary::Follow
        } else if opts.quiet {
            // tcpdump -q prints the packet lines and nothing after them.
            driver::Summary::None
        } else {
            driver::Summary::Connections
        })
        .count(args.count)
        .live(FLUSH_EVERY)
        .flush_each(args.line_buffered || to_stdout);
    if to_stdout {
        driver = driver.summary(driver::Summary::None);
    } else {
        driver = driver.legend();
    }
    // Created after dropping privileges, so the file belongs to the user.
    if let Some(path) = &args.write {
        driver = driver
            .save(path, args.nano)
            .save_details(
                Some(iface),
                cfg.snaplen.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            )
            .create_file()
            .map_err(|e| privs::write_hint(e, path, &dropped))?;
    }
    let (end, pipe, _) = driver.run_parts(crate::render::out::Stdout(io::stdout().lock()));
    let end = end.quiet_broken_pipe(to_stdout);
    if let Some((n, seen)) = args.follow.zip(pipe.unfollowed()) {
        crate::noteln!(
            "socklab: --follow {n}: no TCP conversation #{n} was seen ({seen} seen; numbered from 1 as they start)"
        );
    }
    // Statistics go to stderr whatever stdout is (tcpdump does the same).
    if let Some(saved) = &end.saved {
        crate::noteln!("{}", saved.describe());
    }
    crate::noteln!(
        "{} captured\n{} shown{}\n{} dropped by the kernel",
        crate::plural::count(end.captured, "packet"),
        crate::plural::count(end.shown, "packet"),
        if expr.trim().is_empty() {
            String::new()
        } else {
            format!(" (filter: {expr})")
        },
        crate::plural::count(end.kernel.unwrap_or_default().dropped, "packet")
    );
    if opts.verbose && kernel.program().is_some() {
        crate::noteln!(
            "{} packets passed the kernel filter",
            end.kernel.unwrap_or_default().received
        );
    }
    end.result()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{LinkType, Timestamp};
    use crate::wire::packet::tcp_flags as fl;
    use crate::wire::packet::testframes::tcp;

    /// A handshake and one data segment each way.
    fn exchange() -> Vec<Vec<u8>> {
        let (c, s) = (40000, 21009);
        vec![
            tcp(c, s, 100, 0, fl::SYN, &[]),
            tcp(s, c, 500, 101, fl::SYN | fl::ACK, &[]),
            tcp(c, s, 101, 501, fl::ACK, &[]),
            tcp(c, s, 101, 501, fl::PSH | fl::ACK, b"12\0"),
            tcp(s, c, 501, 104, fl::PSH | fl::ACK, b"OK\0"),
        ]
    }

    fn feed(pipe: &mut Pipeline) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, f) in exchange().iter().enumerate() {
            let p = Packet {
                ts: Timestamp::new(1, i as u32 * 1000),
                data: f,
                orig_len: f.len(),
                link: LinkType::Ethernet,
            };
            assert!(pipe.handle(&mut out, &p).expect("vec"));
        }
        out
    }

    /// Regression (the -w fast path once skipped `--follow`): every way
    /// a pipeline can be built, each consumer it has sees the decoded
    /// packets, and only one with none skips decoding.
    #[test]
    fn every_consumer_combination_gets_decoded_packets() {
        for mask in 0u8..16 {
            let (silent, stats, follow, print) =
                (mask & 1 != 0, mask & 2 != 0, mask & 4 != 0, mask & 8 != 0);
            let mut pipe = Pipeline::new(Filter::all(), PrintOptions::default());
            if silent {
                pipe = pipe.silent();
            }
            if stats {
                pipe = pipe.stats_only();
            }
            if follow {
                pipe = pipe.follow_only(1);
            }
            let printing = print && !silent && !stats && !follow;
            if !print && !silent && !stats && !follow {
                continue; // the default is printing: covered by `print`
            }
            let what = format!("silent {silent}, stats {stats}, follow {follow}, print {print}");
            let consumers = printing || stats || follow;
            assert_eq!(pipe.needs_decoding(), consumers, "{what}");
            let out = feed(&mut pipe);
            assert_eq!(pipe.shown, 5, "{what}");
            assert_eq!(!out.is_empty(), printing, "{what}: printed");
            assert_eq!(pipe.followed(), follow, "{what}: followed");
            let mut report = Vec::new();
            pipe.write_stats(&mut report).expect("vec");
            let report = String::from_utf8_lossy(&report);
            assert_eq!(report.contains("21009"), stats, "{what}: stats: {report}");
            // Decoding (and so tracking) happened exactly when someone reads it.
            assert_eq!(!pipe.summaries().0.is_empty(), consumers, "{what}: tracked");
        }
    }
}
