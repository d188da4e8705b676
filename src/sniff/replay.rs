//! `socklab replay FILE`: the same [`Pipeline`] as live sniffing, fed from a
//! capture file ([`crate::capture::file::Reader`]).
//!
//! Output is identical to `sniff` for the same packets (line, narration,
//! `-v`, `-X`, `--json`, filters, per-connection summary, `-w`), because
//! the loop is the same [`Driver`]. A damaged file ends the replay with an
//! error naming the byte offset, after everything before the damage has
//! been printed and flushed (and the `-w` file finished). Ctrl-C or
//! SIGTERM stops it with its summary. Memory stays flat: the reader has
//! one fixed buffer, the pipeline reuses its own.

use crate::wire::decode_as::DecodeTable;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::driver::{Driver, DriverError, Summary};
use super::Pipeline;
use crate::capture::file::{link_name, Reader};
use crate::capture::source::File;
use crate::filter::Filter;
use crate::render::packet::PrintOptions;

/// What `socklab replay` runs with, validated by `cli`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The capture file.
    pub file: PathBuf,
    /// The filter.
    pub filter: Filter,
    /// The filter as the user wrote it (for the summary line).
    pub filter_text: String,
    /// `-d`, `-dd`, `-ddd`: print the compiled filter and exit.
    pub dump_bpf: u8,
    /// How packets are printed.
    pub print: PrintOptions,
    /// `--stats`: a report instead of the packets.
    pub stats: bool,
    /// `--follow N`: that TCP conversation's byte streams instead of the packets.
    pub follow: Option<u32>,
    /// Stop after this many packets shown.
    pub count: Option<u64>,
    /// Most TCP connections tracked at once.
    pub max_connections: usize,
    /// Recognise course protocols on other ports by their content.
    pub heuristics: bool,
    /// `--decode PORT=PROTO` rules (they win over a saved file's own).
    pub decode: DecodeTable,
    /// `-w FILE`.
    pub write: Option<PathBuf>,
    /// With `-w`: nanosecond timestamps.
    pub nano: bool,
    /// `-l`: write each packet out as soon as it is printed.
    pub line_buffered: bool,
}

/// Run `socklab replay`.
pub fn run(args: &Config) -> Result<ExitCode> {
    let filter = args.filter.clone();
    let expr = &args.filter_text;
    super::check_capture_to_stdout(args.write.as_deref())?;
    let mut reader = Reader::open(&args.file)?;
    if args.dump_bpf > 0 {
        // As `tcpdump -r FILE -d`: the program for the file's link type.
        let link = reader
            .next_packet()?
            .map_or(crate::wire::packet::LinkType::Ethernet, |p| p.link);
        crate::render::out::raw(filter.dump(link, args.dump_bpf)?.as_bytes());
        return Ok(ExitCode::SUCCESS);
    }
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let (path, format) = (reader.path().to_string(), reader.format());

    let mut opts = args.print;
    opts.color &= !args.stats;
    // A file socklab saved says what its ports spoke; --decode wins over it.
    let mut decode = DecodeTable::new();
    for c in reader.section_comments() {
        if let Some(t) = DecodeTable::from_comment(&c) {
            decode.extend(&t);
        }
    }
    decode.extend(&args.decode);
    let to_stdout = args.write.as_deref().is_some_and(super::is_stdio);
    let mut pipe = Pipeline::new(filter, opts)
        .decode(&decode)
        .heuristics(args.heuristics)
        .track_limit(args.max_connections);
    if args.stats {
        pipe = pipe.stats_only();
    }
    if to_stdout {
        pipe = pipe.silent();
    }
    if let Some(n) = args.follow {
        pipe = pipe.follow_only(n);
    }
    let mut driver = Driver::new(File::new(reader, size), pipe)
        .count(args.count)
        .progress()
        .flush_each(args.line_buffered)
        .summary(if to_stdout {
            Summary::None
        } else if args.stats {
            Summary::Stats
        } else if args.follow.is_some() {
            Summary::Follow
        } else if opts.quiet {
            // tcpdump -q prints the packet lines and nothing after them.
            Summary::None
        } else {
            Summary::Connections
        });
    if !to_stdout {
        driver = driver.legend();
    }
    if let Some(w) = &args.write {
        driver = driver.save(w, args.nano);
    }
    let (end, pipe, source) = driver.run_parts(crate::render::out::Stdout(io::stdout().lock()));
    let end = end.quiet_broken_pipe(to_stdout);

    if let Some(saved) = &end.saved {
        crate::noteln!("{}", saved.describe());
    }
    let damaged = matches!(end.error, Some(DriverError::Source(_)));
    crate::noteln!(
        "{} read from {path} ({format}){}{}\n{} shown{}",
        crate::plural::count(end.captured, "packet"),
        if damaged { " before the damage" } else { "" },
        if end.stopped { " before the stop" } else { "" },
        crate::plural::count(end.shown, "packet"),
        if expr.trim().is_empty() {
            String::new()
        } else {
            format!(" (filter: {expr})")
        }
    );
    let skipped = source.reader().skipped();
    for s in skipped {
        crate::noteln!(
            "socklab: {} not shown: their interface's link type {} ({}) is not one socklab decodes",
            crate::plural::count(s.packets, "packet"),
            s.link,
            link_name(s.link)
        );
    }
    let failed = !skipped.is_empty();
    end.result()?;
    if let Some((n, conversations)) = args.follow.zip(pipe.unfollowed()) {
        anyhow::bail!(
            "--follow {n}: {path} has no TCP conversation #{n}{}; conversations are numbered from 1 \
             in the order they start, as the connection summary and --stats show them",
            match conversations {
                0 => " (it has no TCP conversation at all)".to_string(),
                c => format!(" (it has {c}{})", if expr.trim().is_empty() { "" } else { " matching the filter" }),
            }
        );
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
