//! `socklab hexdump [FILE|-]`: offset, hex and ASCII of a file or stdin,
//! streamed (memory stays flat for any size), coloured by byte class on a
//! terminal.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::render::hexdump::HexDump;
use crate::render::out;

use super::input::parse_size;

fn non_negative(text: &str, what: &str) -> Result<u64> {
    let v = parse_size(text, what)?;
    u64::try_from(v).map_err(|_| anyhow::anyhow!("{what} {text}: must be between 0 and 2^64-1"))
}

/// Where to start: `-s N` from the start, `-s -N` from the end (as xxd
/// and hexyl do; before the start means the start, as `tail -c` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// `-s N`: N bytes from the start.
    At(u64),
    /// `-s -N`: the last N bytes.
    FromEnd(u64),
}

fn start(text: &str) -> Result<Start> {
    let v = parse_size(text, "offset (-s)")?;
    let big = || anyhow::anyhow!("offset (-s) {text}: must be within -(2^64-1) and 2^64-1");
    if v < 0 {
        Ok(Start::FromEnd(u64::try_from(-v).map_err(|_| big())?))
    } else {
        Ok(Start::At(u64::try_from(v).map_err(|_| big())?))
    }
}

/// What `socklab hexdump` was asked to do, validated by `cli`.
#[derive(Debug, Clone)]
pub struct Config {
    /// File to dump; `None` or `-` reads stdin.
    pub file: Option<std::path::PathBuf>,
    /// Where to start.
    pub start: Start,
    /// `-s` as typed (for hints).
    pub skip_text: String,
    /// Dump at most this many bytes.
    pub length: Option<u64>,
    /// Bytes per line.
    pub columns: usize,
    /// Bytes per group.
    pub group: usize,
    /// Colour bytes by class.
    pub color: bool,
}

impl Config {
    /// Read `-s` and `-n` as typed (k/M/G suffixes, 0x, negative `-s`).
    pub fn offsets(skip: &str, length: Option<&str>) -> Result<(Start, Option<u64>)> {
        let start = start(skip)?;
        let length = length.map(|t| non_negative(t, "length (-n)")).transpose()?;
        Ok((start, length))
    }
}

/// Skip `n` bytes of a stream that cannot seek.
fn skip_by_reading(r: &mut dyn Read, n: u64) -> io::Result<()> {
    io::copy(&mut r.take(n), &mut io::sink()).map(|_| ())
}

/// Run `socklab hexdump`.
pub fn run(a: &Config) -> Result<ExitCode> {
    let start = a.start;
    let mut skip = match start {
        Start::At(n) => n,
        Start::FromEnd(_) => 0,
    };
    let limit = a.length;
    let mut reader: Box<dyn Read> = match a.file.as_deref() {
        Some(p) if p.as_os_str() != "-" => {
            let mut f = File::open(p).map_err(|e| {
                anyhow::anyhow!("hexdump {}: {}", p.display(), crate::error::describe_io(&e))
            })?;
            if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                let e = io::Error::from_raw_os_error(libc::EISDIR);
                anyhow::bail!(
                    "hexdump {}: {}\n  hint: hexdump reads one file (or stdin with -); \
                     give a file inside the directory, e.g. `ls {}` to pick one",
                    p.display(),
                    crate::error::describe_io(&e),
                    p.display()
                );
            }
            if let Start::FromEnd(back) = start {
                let size = f.seek(SeekFrom::End(0)).map_err(|e| {
                    anyhow::anyhow!(
                        "hexdump {}: a negative offset counts from the end, but the size cannot be known: {}",
                        p.display(),
                        crate::error::describe_io(&e)
                    )
                })?;
                skip = size.saturating_sub(back);
                f.seek(SeekFrom::Start(0)).map_err(|e| {
                    anyhow::anyhow!("hexdump {}: {}", p.display(), crate::error::describe_io(&e))
                })?;
            }
            // Files seek; pipes and terminals are read and thrown away.
            if skip > 0 && f.seek(SeekFrom::Start(skip)).is_err() {
                skip_by_reading(&mut f, skip).with_context(|| {
                    format!(
                        "skipping {skip} {skip_bytes} of {}",
                        p.display(),
                        skip_bytes = crate::plural::noun(skip, "byte")
                    )
                })?;
            }
            Box::new(f)
        }
        _ => {
            if let Start::FromEnd(back) = start {
                // Stdin redirected from a file can seek (xxd -s -N < FILE).
                use std::os::fd::AsFd;
                let seekable = io::stdin()
                    .as_fd()
                    .try_clone_to_owned()
                    .map(File::from)
                    .ok()
                    .and_then(|mut f| {
                        let size = f.seek(SeekFrom::End(0)).ok()?;
                        f.seek(SeekFrom::Start(size.saturating_sub(back))).ok()?;
                        Some((f, size.saturating_sub(back)))
                    });
                if let Some((f, at)) = seekable {
                    skip = at;
                    Box::new(f) as Box<dyn Read>
                } else {
                    anyhow::bail!(
                    "offset (-s) {}: a negative offset counts from the end, and stdin is a pipe, whose end is not known in advance\n  \
                     hint: give the file name instead of -, or `tail -c {} FILE | socklab hexdump`",
                    a.skip_text,
                    a.skip_text.trim_start_matches('-')
                );
                }
            } else {
                let mut stdin = io::stdin().lock();
                skip_by_reading(&mut stdin, skip).context("skipping bytes of stdin")?;
                Box::new(stdin)
            }
        }
    };
    let printer = HexDump::new()
        .columns(a.columns)
        .group(a.group)
        .base(usize::try_from(skip).unwrap_or(usize::MAX))
        .color(a.color);
    let mut w = io::BufWriter::new(out::Stdout(io::stdout().lock()));
    let r = printer
        .write_stream(&mut reader, &mut w, limit)
        .and_then(|_| w.flush());
    if let Err(e) = r {
        // A failed write to stdout is reported as such; anything else was reading.
        out::check()?;
        anyhow::bail!(
            "hexdump {}: {}",
            a.file
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "stdin".into()),
            crate::error::describe_io(&e)
        );
    }
    Ok(ExitCode::SUCCESS)
}
