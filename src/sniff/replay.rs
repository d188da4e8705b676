//! `socklab replay FILE`: the same [`Pipeline`] as live sniffing, fed from a
//! capture file ([`crate::capture::file::Reader`]).
//!
//! Output is identical to `sniff` for the same packets (line, narration,
//! `-v`, `-X`, `--json`, filters, per-connection summary). A damaged file
//! ends the replay with an error naming the byte offset, after everything
//! before the damage has been printed and flushed. Memory stays flat: the
//! reader has one fixed buffer, the pipeline reuses its own.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{write_or_quit, Pipeline};
use crate::capture::file::{link_name, Reader};
use crate::cli::replay::ReplayArgs;
use crate::filter::Filter;
use crate::render::tree::LEGEND;

/// Files at least this big get a progress bar (when stderr is a terminal).
pub const PROGRESS_MIN_BYTES: u64 = 8 * 1024 * 1024;
/// Packets between two progress updates.
const PROGRESS_EVERY: u64 = 1024;
/// Output buffer: large, so the hot loop makes few write calls.
const OUT_BUF: usize = 256 * 1024;

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
    let bar =
        ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr()).with_style(style);
    Some(bar)
}

/// Run `socklab replay`.
pub fn run(args: &ReplayArgs) -> Result<ExitCode> {
    let filter = Filter::parse_words(&args.filter)?;
    // Checked against each link type met in the file (pcapng may hold several).
    let link_check = filter.clone();
    let mut links_checked = Vec::new();
    let expr = args.filter.join(" ");
    let mut reader = Reader::open(&args.file)?;
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);

    let mut opts = args.print.options();
    opts.color &= !args.stats;
    let mut pipe = Pipeline::new(filter, opts);
    if args.stats {
        pipe = pipe.stats_only();
    }
    let bar = progress_bar(size);
    if let Some(b) = &bar {
        b.tick();
    }
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(
        OUT_BUF,
        AroundBar {
            inner: stdout.lock(),
            bar: bar.clone().filter(|_| io::stdout().is_terminal()),
        },
    );
    if opts.verbose && !opts.json && !args.stats {
        write_or_quit(out.write_all(LEGEND.as_bytes()));
    }

    let mut damage = None;
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                damage = Some(e);
                break;
            }
        };
        if !links_checked.contains(&packet.link) {
            if let Err(e) = link_check.check_link(packet.link) {
                write_or_quit(out.flush());
                return Err(e.into());
            }
            links_checked.push(packet.link);
        }
        let r = pipe.handle(&mut out, &packet);
        write_or_quit(r.map(|_| ()));
        if args.count.is_some_and(|c| pipe.shown >= c) {
            break;
        }
        if pipe.captured % PROGRESS_EVERY == 0 {
            if let Some(b) = &bar {
                b.set_position(reader.offset());
            }
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }

    // Everything read before any damage is printed before the error.
    if args.stats {
        write_or_quit(pipe.write_stats(&mut out).and_then(|_| out.flush()));
    } else if args.print.json {
        write_or_quit(out.flush());
        let _ = pipe.write_summary(&mut io::stderr().lock());
    } else {
        write_or_quit(pipe.write_summary(&mut out).and_then(|_| out.flush()));
    }
    drop(out);

    crate::noteln!(
        "{} packets read from {} ({}){}\n{} packets shown{}",
        pipe.captured,
        reader.path(),
        reader.format(),
        if damage.is_some() {
            " before the damage"
        } else {
            ""
        },
        pipe.shown,
        if expr.trim().is_empty() {
            String::new()
        } else {
            format!(" (filter: {expr})")
        }
    );
    let skipped = reader.skipped();
    for s in skipped {
        crate::noteln!(
            "socklab: {} packets not shown: their interface's link type {} ({}) is not one socklab decodes",
            s.packets,
            s.link,
            link_name(s.link)
        );
    }
    if let Some(e) = damage {
        return Err(e.into());
    }
    Ok(if skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
