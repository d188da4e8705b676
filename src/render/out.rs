//! Writing lines to stdout/stderr, and what a failed write means.
//!
//! Nothing here exits the process: the first failed write to stdout is
//! kept ([`failed`] turns true, so every loop that looks at
//! [`crate::proto::stop::requested`] winds down), later writes are skipped,
//! and [`check`] hands the failure back to `main` as a [`WriteError`].
//! `main` ends quietly with status 0 for a broken pipe (`socklab ... |
//! head`) and reports anything else (ENOSPC, EIO, EBADF) with status 1.
//!
//! While `--sniff` runs, [`redirect`] sends every line (stdout and stderr)
//! to a sink with its wall-clock time instead, so the program's own output
//! can be merged in time order with the packets it caused.

use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

/// Receives redirected output: when it was written, and the bytes (newline included).
pub type Sink = Arc<dyn Fn(SystemTime, Vec<u8>) + Send + Sync>;

static REDIRECTED: AtomicBool = AtomicBool::new(false);
static FAILED: AtomicBool = AtomicBool::new(false);
static FAILURE: Mutex<Option<io::Error>> = Mutex::new(None);

/// A write that failed: what was being written, and the OS error.
#[derive(Debug, thiserror::Error)]
#[error("writing {target}: {}", crate::error::describe_io(.error))]
pub struct WriteError {
    /// `standard output`, or `the file NAME`.
    pub target: String,
    /// The OS error.
    pub error: io::Error,
}

impl WriteError {
    /// A failed write to standard output.
    pub fn stdout(error: io::Error) -> Self {
        WriteError {
            target: "standard output".into(),
            error,
        }
    }

    /// A failed write to the file at `path`.
    pub fn file(path: &Path, error: io::Error) -> Self {
        WriteError {
            target: format!("the file {}", path.display()),
            error,
        }
    }

    /// True when standard output's reader went away (`| head`): not a
    /// failure, the run ends quietly with success.
    pub fn is_broken_pipe(&self) -> bool {
        self.target == "standard output" && self.error.kind() == io::ErrorKind::BrokenPipe
    }
}

/// True when `e` (or one of its causes) is a broken pipe on standard output.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<WriteError>()
            .is_some_and(WriteError::is_broken_pipe)
    })
}

/// Remember the first failed write to stdout; later writes are skipped.
pub fn fail(error: io::Error) {
    if let Ok(mut f) = FAILURE.lock() {
        if f.is_none() {
            *f = Some(error);
        }
    }
    FAILED.store(true, Ordering::SeqCst);
}

/// True once a write to stdout has failed (loops should stop).
pub fn failed() -> bool {
    FAILED.load(Ordering::Relaxed)
}

/// The first failed write to stdout, if any, as an error for `main`.
pub fn check() -> Result<(), WriteError> {
    let e = FAILURE.lock().ok().and_then(|mut f| f.take());
    match e {
        Some(error) => Err(WriteError::stdout(error)),
        None => Ok(()),
    }
}

/// Record `r`'s error (if any) as stdout's failure; for writers that go
/// to stdout outside [`line`] and [`raw`].
pub fn record(r: io::Result<()>) {
    if let Err(e) = r {
        fail(e);
    }
}
static SINK: OnceLock<Mutex<Option<Sink>>> = OnceLock::new();

fn sink_slot() -> &'static Mutex<Option<Sink>> {
    SINK.get_or_init(|| Mutex::new(None))
}

/// Send all output to `sink` (or back to the terminal with `None`).
pub fn redirect(sink: Option<Sink>) {
    if let Ok(mut s) = sink_slot().lock() {
        REDIRECTED.store(sink.is_some(), Ordering::SeqCst);
        *s = sink;
    }
}

/// Hand `bytes` to the sink if output is redirected; true if it was.
fn redirected(bytes: &[u8]) -> bool {
    if !REDIRECTED.load(Ordering::Relaxed) {
        return false;
    }
    let sink = sink_slot().lock().ok().and_then(|s| s.clone());
    match sink {
        Some(f) => {
            f(SystemTime::now(), bytes.to_vec());
            true
        }
        None => false,
    }
}

/// A writer to stdout that keeps its first failure for [`check`] (so a
/// caller that mixes reading and writing can tell which one failed).
#[derive(Debug)]
pub struct Stdout<W: Write>(pub W);

impl<W: Write> Write for Stdout<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).inspect_err(|e| fail(copy(e)))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().inspect_err(|e| fail(copy(e)))
    }
}

/// The same error again (io::Error is not Clone), keeping the errno.
fn copy(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

/// Write `text` plus a newline to stdout and flush (see [`raw`]).
pub fn line(text: &str) {
    let mut buf = Vec::with_capacity(text.len() + 1);
    buf.extend_from_slice(text.as_bytes());
    buf.push(b'\n');
    raw(&buf);
}

/// Write raw bytes to stdout and flush; a failure is kept for [`check`]
/// and turns later writes into no-ops.
pub fn raw(bytes: &[u8]) {
    if failed() || redirected(bytes) {
        return;
    }
    let mut o = io::stdout().lock();
    record(o.write_all(bytes).and_then(|_| o.flush()));
}

/// Write `text` plus a newline to stderr (errors there are ignored).
pub fn note(text: &str) {
    let mut buf = Vec::with_capacity(text.len() + 1);
    buf.extend_from_slice(text.as_bytes());
    buf.push(b'\n');
    if redirected(&buf) {
        return;
    }
    let _ = io::stderr().lock().write_all(&buf);
}

/// `line!("...", args)`: formatted [`line`].
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => { $crate::render::out::line(&format!($($t)*)) };
}

/// `noteln!("...", args)`: formatted [`note`] to stderr.
#[macro_export]
macro_rules! noteln {
    ($($t:tt)*) => { $crate::render::out::note(&format!($($t)*)) };
}
